"""A slow consumer of a pipe, like a user's `tlstap | tool` whose tool stalls now and then:
reads standard input in --chunk pieces and writes them to --output, but every --every seconds
stops reading for --pause seconds. Ends at EOF and writes how many pauses it made and the
bytes it read to --stats (JSON).
"""
import argparse
import fcntl
import json
import os
import sys
import time

F_SETPIPE_SZ = 1031


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--output", required=True)
    parser.add_argument("--stats", required=True)
    parser.add_argument("--pause", type=float, default=0.3)
    parser.add_argument("--every", type=float, default=1.0)
    parser.add_argument("--chunk", type=int, default=1 << 20)
    args = parser.parse_args()
    try:  # reads of a whole chunk, not of the default pipe's 64 KiB
        fcntl.fcntl(0, F_SETPIPE_SZ, args.chunk)
    except OSError:
        pass
    pauses, total = 0, 0
    period_started = time.monotonic()
    with open(args.output, "wb", buffering=0) as out:
        while True:
            chunk = os.read(0, args.chunk)
            if not chunk:
                break
            out.write(chunk)
            total += len(chunk)
            if time.monotonic() - period_started >= args.every - args.pause:
                time.sleep(args.pause)
                pauses += 1
                period_started = time.monotonic()
    with open(args.stats, "w") as f:
        json.dump({"pauses": pauses, "bytes": total}, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
