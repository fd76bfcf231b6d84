"""A GnuTLS client (ctypes) that loads --library, makes one TLS connection, unloads the
library again (dlclose) and does it all --rounds times in one process. Round N sends
--send-file's Nth piece of --piece-size bytes and reads the reply until the server closes;
all replies go to --received-file. After each dlclose it checks /proc/self/maps and appends
"round N: unloaded" (or "still mapped") to --log-file. Before each round's TLS it waits
--delay seconds, time for a tracer to find the library just loaded."""
import _ctypes
import argparse
import os
import time

from gnutls_peer import GnuTls, GnuTlsConnection, connect_tcp, read_file, write_file

parser = argparse.ArgumentParser()
parser.add_argument("--library", required=True)
parser.add_argument("--port", type=int, required=True)
parser.add_argument("--send-file", required=True)
parser.add_argument("--piece-size", type=int, required=True)
parser.add_argument("--received-file", required=True)
parser.add_argument("--log-file", required=True)
parser.add_argument("--rounds", type=int, default=2)
parser.add_argument("--delay", type=float, default=1.0)
args = parser.parse_args()

payload = read_file(args.send_file)
replies, log = [], []
for round_number in range(args.rounds):
    gnutls = GnuTls(args.library)
    time.sleep(args.delay)
    connection = GnuTlsConnection(gnutls, connect_tcp(args.port))
    piece = payload[round_number * args.piece_size:(round_number + 1) * args.piece_size]
    connection.send_piece(piece, "send")
    replies.append(connection.receive_all("recv"))
    connection.close()
    handle = gnutls.lib._handle
    del connection, gnutls
    _ctypes.dlclose(handle)
    mapped = args.library in read_file(f"/proc/{os.getpid()}/maps").decode()
    log.append(f"round {round_number}: {'still mapped' if mapped else 'unloaded'}")
write_file(args.received_file, b"".join(replies))
write_file(args.log_file, "\n".join(log).encode())
