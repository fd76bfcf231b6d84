#!/usr/bin/env python3
"""tlstap's overhead and throughput benchmark: one run, every figure as a ratio to a floor.

For each scenario (pingpong 64 B and bulk 16 KiB, through SSL_write/SSL_read and through
SSL_write_ex/SSL_read_ex) the same TLS workload (bench/tls_workload: client and server,
two processes over loopback) runs

  untraced   nothing attached
  empty      bench/empty_probes: entry+return uprobes that return 0, on the same four
             functions; the floor any uprobe tracer pays
  file       tlstap -f json -o FILE (a real file), then every byte is checked
  devnull    tlstap -f json > /dev/null (encoding without the disk)

and prints calls/s, MB/s, the cost each traced call adds over untraced (CPU of the two
workload processes, and wall clock), tlstap's added cost over the floor's, tlstap's own CPU
and peak RSS, whether every byte arrived and what tlstap reported lost.

A saturation check follows (or runs alone with --saturate): a 64 KiB ring buffer and
1 MiB writes, far more than tlstap can take; the bytes captured plus the bytes reported
lost must equal the bytes the workload moved, exactly. Then a stalled output (--stall on|off,
on unless --quick or --saturate): tlstap writes JSON into a pipe whose reader stops for 300 ms
every second during a 256 MiB bulk transfer; with the default output queue nothing may be lost.

Run as root from anywhere: python3 bench/run.py [--quick] [--saturate] [--build-dir DIR]
Python 3 standard library only.
"""
import argparse
import base64
import hashlib
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORKLOAD_COMM = "tls_workload"  # tlstap -c filter: only the workload's two processes
PAUSED_READER = os.path.join(ROOT, "tests", "progs", "paused_reader.py")
QUEUE_RE = re.compile(r"tlstap: output queue peak (.*)")
LIBSSL = "/usr/lib/x86_64-linux-gnu/libssl.so.3"
CONFIGS = ["untraced", "empty", "file", "devnull"]
# (name, mode, size, api); api "go": the same workload through Go's crypto/tls
# (bench/go_workload), probed at the entry and every RET of (*Conn).Write/Read.
SCENARIOS = [
    ("pingpong 64B write", "pingpong", 64, "write"),
    ("pingpong 64B write_ex", "pingpong", 64, "write_ex"),
    ("bulk 16KiB write", "bulk", 16384, "write"),
    ("bulk 16KiB write_ex", "bulk", 16384, "write_ex"),
    ("go pingpong 64B", "pingpong", 64, "go"),
    ("go bulk 16KiB", "bulk", 16384, "go"),
]
GO_WORKLOAD_COMM = "go_workload"


def workload_binary(binaries, api):
    return binaries["go_workload"] if api == "go" else binaries["workload"]


def workload_comm(api):
    return GO_WORKLOAD_COMM if api == "go" else WORKLOAD_COMM
SUMMARY_RE = re.compile(
    r"tlstap: (\d+) write records \((\d+) bytes\), (\d+) read records \((\d+) bytes\), "
    r"(\d+) truncated,(?: \d+ connections? closed;)? lost (\d+) events \((\d+) bytes\)")


def fail(message):
    print(f"run.py: {message}", file=sys.stderr)
    sys.exit(1)


# --- processes ------------------------------------------------------------------------------

def run_workload(binaries, mode, size, api, count):
    result = subprocess.run([workload_binary(binaries, api), "--mode", mode, "--api", api, "--count",
                             str(count), "--size", str(size)],
                            capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        fail(f"tls_workload failed ({result.returncode}): {result.stderr.strip()}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def task_cpu_ns(pid):
    """CPU time of every thread of `pid` (ns, from the scheduler: exact, unlike ticks)."""
    total = 0
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                    total += int(f.read().split()[0])
            except (FileNotFoundError, ProcessLookupError):
                pass  # a thread that just ended
    except FileNotFoundError:
        pass
    return total


class Background:
    """A tracer (tlstap or empty_probes) running while the workload runs. Started, waited on
    until it says it is attached, stopped with SIGINT, reaped with its resource usage."""

    def __init__(self, argv, ready_pattern, stdout_path=None, stdout=None):
        self.stdout_file = open(stdout_path, "wb") if stdout_path else None
        self.proc = subprocess.Popen(
            argv, stdout=stdout or self.stdout_file or subprocess.PIPE, stderr=subprocess.PIPE)
        self.lines = []
        self.ready = False
        wake = threading.Event()

        def pump(stream):
            for raw in stream:
                line = raw.decode(errors="replace").rstrip("\n")
                self.lines.append(line)
                if ready_pattern in line:
                    self.ready = True
                    wake.set()
            wake.set()  # the stream closed: the process died or finished

        self.threads = [threading.Thread(target=pump, args=(s,), daemon=True)
                        for s in (self.proc.stderr, self.proc.stdout) if s is not None]
        for t in self.threads:
            t.start()
        wake.wait(60)
        if not self.ready or self.proc.poll() is not None:
            self.proc.kill()
            self.proc.wait()
            fail(f"{argv[0]} did not start: {' | '.join(self.lines)}")

    def wait_idle(self, quiet_ns=2_000_000, period=0.1, limit=30.0):
        """Waits until the tracer has caught up (used < quiet_ns CPU in `period`); returns
        the seconds that took. Its CPU after the workload ended is backlog it still had."""
        started = time.monotonic()
        last = task_cpu_ns(self.proc.pid)
        while time.monotonic() - started < limit:
            time.sleep(period)
            now = task_cpu_ns(self.proc.pid)
            if now - last < quiet_ns:
                return time.monotonic() - started - period
            last = now
        return time.monotonic() - started

    def stop(self):
        self.proc.send_signal(signal.SIGINT)
        _, status, usage = os.wait4(self.proc.pid, 0)
        self.proc.returncode = os.waitstatus_to_exitcode(status)
        for t in self.threads:
            t.join(10)
        if self.stdout_file:
            self.stdout_file.close()
        return usage


def other_tracers():
    """Other tlstap processes: they trace our workload too and skew every figure."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            with open(f"/proc/{pid}/comm") as f:
                comm = f.read().strip()
            if comm in ("tlstap", "empty_probes"):
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    found.append((int(pid), f.read().replace(b"\0", b" ").decode().strip()))
        except OSError:
            pass
    return found


# --- checking what tlstap wrote ---------------------------------------------------------------

def check_json(path, workload):
    """Rebuilds the four plaintext streams (client/server x write/read) from the records of
    the workload's two pids, in file order, and compares them with the workload's hashes."""
    streams = {}
    lost_events = lost_bytes = captured = truncated = page_faults = 0
    client, server = workload["client_pid"], workload["server_pid"]
    with open(path, "rb") as f:
        for line in f:
            record = json.loads(line)
            kind = record.get("type")
            if kind == "lost":
                lost_events += record["events"]
                lost_bytes += record["bytes"]
                continue
            if kind != "data" or record["pid"] not in (client, server):
                continue
            data = base64.b64decode(record["data"])
            captured += len(data)
            if record.get("truncated"):
                truncated += 1
                if record.get("truncated_by") == "page-fault":
                    page_faults += 1
            key = ("client" if record["pid"] == client else "server", record["dir"])
            stream = streams.setdefault(key, [hashlib.sha256(), 0])
            stream[0].update(data)
            stream[1] += len(data)
    mismatches = []
    for side in ("client", "server"):
        for direction, moved in (("write", "written"), ("read", "read")):
            expected_hash = workload[f"{side}_{direction}_sha256"]
            expected_bytes = workload[f"{side}_{moved}"]
            digest, got = streams.get((side, direction), [hashlib.sha256(), 0])
            if digest.hexdigest() != expected_hash:
                mismatches.append(f"{side} {direction}: {got} of {expected_bytes} bytes")
    return {"ok": not mismatches, "mismatches": mismatches, "lost_events": lost_events,
            "lost_bytes": lost_bytes, "captured": captured, "truncated": truncated,
            "page_faults": page_faults}


def parse_summary(lines):
    for line in lines:
        m = SUMMARY_RE.search(line)
        if m:
            n = [int(x) for x in m.groups()]
            return {"write_records": n[0], "write_bytes": n[1], "read_records": n[2],
                    "read_bytes": n[3], "truncated": n[4], "lost_events": n[5], "lost_bytes": n[6]}
    return None


# --- one measurement ----------------------------------------------------------------------

def wait_for_detaching_tracers(timeout=60):
    """tlstap returns at once and leaves removing its probes to a child, `tlstap-detach`;
    until it is done they still trap (inert): no run is measured meanwhile."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        busy = False
        for pid in os.listdir("/proc"):
            try:
                with open(f"/proc/{pid}/stat") as f:
                    stat = f.read()
            except OSError:
                continue
            comm, state = stat[stat.find("(") + 1:stat.rfind(")")], stat[stat.rfind(")") + 2]
            if comm == "tlstap-detach" and state != "Z":
                busy = True
        if not busy:
            return
        time.sleep(0.1)


def measure(binaries, config, scenario, count, workdir, extra_tlstap_args=(),
            warm_page_cache=True):
    _, mode, size, api = scenario
    wait_for_detaching_tracers()
    if config == "untraced":
        return {"workload": run_workload(binaries, mode, size, api, count)}
    if config == "empty":
        probed = ["--go", binaries["go_workload"]] if api == "go" else ["--lib", LIBSSL]
        tracer = Background([binaries["empty"], *probed], "ready")
        workload = run_workload(binaries, mode, size, api, count)
        tracer.stop()
        if tracer.proc.returncode != 0:
            fail(f"empty_probes failed: {' | '.join(tracer.lines)}")
        return {"workload": workload}

    out_path = os.path.join(workdir, "trace.json")
    argv = [binaries["tlstap"], "-f", "json", "-c", workload_comm(api), *extra_tlstap_args]
    if config == "file":
        argv += ["-o", out_path]
        if warm_page_cache:
            # On a VM whose host takes freed memory back, the first write into a page the
            # guest freed costs an exit to the hypervisor: a run right after a big file was
            # deleted is slower than the same run later. Writing (and deleting) as much as
            # this run will write puts every file run in the same state, so the table
            # compares tlstap's runs and not the host's memory reclaim.
            per_call = size * 4 // 3 + 300  # base64 + the record's other fields
            plain_write_mb_per_s(workdir, count * per_call * (2 if mode == "bulk" else 4))
        tracer = Background(argv, "tracing")
    else:
        # stdout redirected, not `-o /dev/null`: tlstap makes its output file 0600, and
        # doing that to /dev/null as root would lock every other user out of it.
        tracer = Background(argv, "tracing", stdout_path="/dev/null")
    cpu_before = task_cpu_ns(tracer.proc.pid)
    workload = run_workload(binaries, mode, size, api, count)
    lag = tracer.wait_idle()
    cpu_ns = task_cpu_ns(tracer.proc.pid) - cpu_before
    usage = tracer.stop()
    if tracer.proc.returncode != 0:
        fail(f"tlstap exited with {tracer.proc.returncode}: {' | '.join(tracer.lines)}")
    summary = parse_summary(tracer.lines)
    if summary is None:
        fail(f"no summary from tlstap: {' | '.join(tracer.lines)}")
    result = {"workload": workload, "tlstap_cpu_s": cpu_ns / 1e9, "lag_s": lag,
              "tlstap_total_cpu_s": usage.ru_utime + usage.ru_stime,
              "peak_rss_mib": usage.ru_maxrss / 1024, "summary": summary}
    if config == "file":
        result["check"] = check_json(out_path, workload)
        result["file_mib"] = os.path.getsize(out_path) / (1 << 20)
        os.unlink(out_path)
    else:
        # Without the records, the counts are what can be checked.
        w = workload
        writes = w["client_written"] + w["server_written"]
        reads = w["server_read"] + w["client_read"]
        ok = (summary["write_bytes"] == writes and summary["read_bytes"] == reads and
              summary["lost_events"] == 0 and summary["truncated"] == 0)
        result["check"] = {"ok": ok, "lost_events": summary["lost_events"],
                           "lost_bytes": summary["lost_bytes"],
                           "mismatches": [] if ok else [
                               f"summary: {summary['write_bytes']}/{writes} written, "
                               f"{summary['read_bytes']}/{reads} read"]}
    return result


# --- the table ------------------------------------------------------------------------------

# A bulk run moves at most this much each way: its JSON (base64 of both the client's and the
# server's copy, ~2.7x) then fits in what this machine's page cache takes at full speed, so
# the table measures tlstap, not the disk. The disk's own limit is shown by --sustained.
BULK_BYTES_CAP = 256 << 20


def calibrate(binaries, scenario, target_seconds):
    """A count that makes the untraced workload run about target_seconds (bulk: capped)."""
    _, mode, size, api = scenario
    probe = 2000 if mode == "pingpong" else 1000
    # Twice, the slower counts: one lucky probe once made a run ten times too long.
    per_iteration = max(run_workload(binaries, mode, size, api, probe)["seconds"] / probe
                        for _ in range(2))
    count = max(200, int(target_seconds / per_iteration))
    if mode == "bulk":
        count = min(count, BULK_BYTES_CAP // size)
    return count


def median(values):
    return statistics.median(values) if values else float("nan")


def summarize(runs):
    """Medians over rounds of one (scenario, config)."""
    w = [r["workload"] for r in runs]
    s = {"calls": w[0]["calls"], "calls_per_s": median([x["calls_per_s"] for x in w]),
         "mb_per_s": median([x["mb_per_s"] for x in w]),
         "cpu_per_call_us": median([x["cpu_seconds"] / x["calls"] * 1e6 for x in w]),
         "wall_per_call_us": median([x["seconds"] / x["calls"] * 1e6 for x in w]),
         "seconds": median([x["seconds"] for x in w])}
    if "tlstap_cpu_s" in runs[0]:
        s["tlstap_us_per_call"] = median(
            [r["tlstap_cpu_s"] / r["workload"]["calls"] * 1e6 for r in runs])
        s["tlstap_core"] = median(
            [r["tlstap_cpu_s"] / (r["workload"]["seconds"] + r["lag_s"]) for r in runs])
        s["lag_s"] = max(r["lag_s"] for r in runs)
        s["rss_mib"] = max(r["peak_rss_mib"] for r in runs)
        s["ok"] = all(r["check"]["ok"] for r in runs)
        s["lost_events"] = sum(r["check"]["lost_events"] for r in runs)
        s["lost_bytes"] = sum(r["check"]["lost_bytes"] for r in runs)
        s["mismatches"] = [m for r in runs for m in r["check"]["mismatches"]]
    return s


def fmt(value, spec, width):
    if value is None or (isinstance(value, float) and value != value):
        return "-".rjust(width)
    return format(value, spec).rjust(width)


def print_table(results):
    header = (f"{'scenario':<22} {'config':<9} {'calls/s':>9} {'MB/s':>8} {'+us/call':>9} "
              f"{'+us/call':>9} {'x floor':>8} {'x floor':>8} {'tlstap':>8} {'tlstap':>7} "
              f"{'peak':>7} {'bytes':>6} {'lost':>10}")
    header2 = (f"{'':<22} {'':<9} {'':>9} {'':>8} {'(cpu)':>9} {'(wall)':>9} {'(cpu)':>8} "
               f"{'(wall)':>8} {'us/call':>8} {'%core':>7} {'RSS MiB':>7} {'exact':>6} "
               f"{'ev/bytes':>10}")
    print(header)
    print(header2)
    print("-" * len(header))
    for name, by_config in results.items():
        base = by_config["untraced"]
        floor = by_config["empty"]
        floor_cpu = floor["cpu_per_call_us"] - base["cpu_per_call_us"]
        floor_wall = floor["wall_per_call_us"] - base["wall_per_call_us"]
        for config in CONFIGS:
            s = by_config[config]
            add_cpu = add_wall = ratio_cpu = ratio_wall = None
            if config != "untraced":
                add_cpu = s["cpu_per_call_us"] - base["cpu_per_call_us"]
                add_wall = s["wall_per_call_us"] - base["wall_per_call_us"]
            if config in ("file", "devnull"):
                # A floor lost in the noise (under 0.05 us) makes a ratio meaningless.
                ratio_cpu = add_cpu / floor_cpu if floor_cpu > 0.05 else None
                ratio_wall = add_wall / floor_wall if floor_wall > 0.05 else None
            traced = "tlstap_us_per_call" in s
            print(f"{name if config == 'untraced' else '':<22} {config:<9} "
                  f"{fmt(s['calls_per_s'], ',.0f', 9)} {fmt(s['mb_per_s'], '.1f', 8)} "
                  f"{fmt(add_cpu, '+.2f', 9)} {fmt(add_wall, '+.2f', 9)} "
                  f"{fmt(ratio_cpu, '.2f', 8)} {fmt(ratio_wall, '.2f', 8)} "
                  f"{fmt(s.get('tlstap_us_per_call'), '.2f', 8)} "
                  f"{fmt(s['tlstap_core'] * 100 if traced else None, '.0f', 7)} "
                  f"{fmt(s.get('rss_mib'), '.0f', 7)} "
                  f"{('yes' if s['ok'] else 'NO') if traced else '-':>6} "
                  f"{(str(s['lost_events']) + '/' + str(s['lost_bytes'])) if traced else '-':>10}")
        print()
    for name, by_config in results.items():
        for config in ("file", "devnull"):
            for m in by_config[config].get("mismatches", []):
                print(f"!!! {name} / {config}: bytes differ: {m}")


LEGEND = """\
+us/call (cpu):  extra CPU of the two workload processes per SSL call, vs untraced (uprobe
                 work runs in the traced process, so this is the per-call cost tracing adds)
+us/call (wall): extra wall time per call (pingpong: latency; bulk: the slower side)
x floor:         tlstap's added cost / empty probes' added cost (target: <= 1.25)
tlstap us/call:  tlstap's own CPU (all threads) per workload call, including its backlog
%core:           tlstap's CPU / (workload time + time tlstap needed to catch up)
bytes exact:     file: SHA-256 of the client's and server's write and read streams rebuilt
                 from the JSON equal the workload's; devnull: the summary's byte counts match
lost:            events/bytes tlstap reported lost (lost records / exit summary)"""


# --- saturation -----------------------------------------------------------------------------

def accounting_run(binaries, workdir, name, size, count, tlstap_args=(), warm_page_cache=True):
    """One bulk transfer traced to a JSON file; True if captured + lost == moved exactly."""
    scenario = (name, "bulk", size, "write")
    r = measure(binaries, "file", scenario, count, workdir, extra_tlstap_args=tlstap_args,
                warm_page_cache=warm_page_cache)
    w, c = r["workload"], r["check"]
    moved = w["client_written"] + w["server_read"] + w["server_written"] + w["client_read"]
    accounted = c["captured"] + c["lost_bytes"]
    ok = accounted == moved and c["page_faults"] == 0
    print(f"  {name:<11} {w['mb_per_s']:8.1f} MB/s  moved {moved:>11} B = captured "
          f"{c['captured']:>11} + lost {c['lost_bytes']:>11} ({c['lost_events']} events, "
          f"{c['truncated']} truncated records)  "
          f"{'OK' if ok else '!!! MISMATCH: ' + str(accounted - moved) + ' B unaccounted'}")
    if c["page_faults"]:
        print(f"  !!! {c['page_faults']} records truncated by page faults: not counted as lost")
    return ok, r


def saturate(binaries, workdir, quick):
    """Overload tlstap (64 KiB ring buffer) and check the loss accounting byte for byte:
    captured + lost == moved, for every call the workload made."""
    print("Saturation: tlstap --buffer-size 64K -f json -o FILE; captured + lost must equal "
          "the bytes moved")
    cases = [("bulk 1MiB", 1 << 20, 40 if quick else 200),
             ("bulk 16KiB", 16384, 2000 if quick else 20000)]
    all_ok = True
    for name, size, count in cases:
        ok, _ = accounting_run(binaries, workdir, name, size, count, ("--buffer-size", "64K"))
        all_ok &= ok
    if not all_ok:
        print("!!! SATURATION ACCOUNTING MISMATCH: tlstap lost bytes it did not report "
              "(or reported bytes it did not lose)")
    return all_ok


def plain_write_mb_per_s(workdir, total_bytes):
    """How fast this machine takes a file of total_bytes written in 256 KiB blocks (what
    tlstap's output does), page cache and disk together."""
    path = os.path.join(workdir, "plain-write")
    block = os.urandom(256 << 10)
    started = time.monotonic()
    with open(path, "wb", buffering=0) as f:
        for _ in range(max(1, total_bytes // len(block))):
            f.write(block)
    seconds = time.monotonic() - started
    os.unlink(path)
    return total_bytes / seconds / 1e6


def sustained(binaries, workdir, seconds):
    """A long full-speed transfer to a JSON file: when the file grows faster than the disk
    takes it, tlstap falls behind and loses; the loss must be reported exactly."""
    size = 16384
    count = int(seconds * 480e6 / size)  # ~the speed of the traced transfer (the floor's)
    print(f"Sustained: bulk 16 KiB writes for ~{seconds:.0f} s, tlstap -f json -o FILE (default "
          "ring); loss is allowed here, silent loss is not")
    # base64 of both the client's and the server's copy, plus ~300 bytes of fields per record
    json_bytes = 2 * count * (size * 4 // 3 + 300)
    disk_rate = plain_write_mb_per_s(workdir, json_bytes)
    ok, r = accounting_run(binaries, workdir, "bulk 16KiB", size, count, warm_page_cache=False)
    json_mb = r["file_mib"] * (1 << 20) / 1e6
    json_rate = json_mb / (r["workload"]["seconds"] + r["lag_s"])
    print(f"  tlstap wrote {json_mb:,.0f} MB of JSON at {json_rate:,.0f} MB/s; just before, this "
          f"machine took a {json_bytes / 1e6:,.0f} MB file of plain writes at {disk_rate:,.0f} MB/s")
    return ok


def stalled_output(binaries, workdir, quick):
    """A bulk transfer traced to a pipe whose reader stops reading for 300 ms every second
    (tests/progs/paused_reader.py): the output queue must absorb the stalls, nothing lost."""
    size = 16384
    count = (64 if quick else 256) * (1 << 20) // size
    print(f"Stalled output: bulk 16 KiB writes, {count * size >> 20} MiB each way, tlstap -f json "
          "into a pipe whose reader pauses 300 ms every second (default queue and ring)")
    # The reader's file in memory when possible: the pipe stalls, not the reader's disk.
    out_dir = "/dev/shm" if os.path.isdir("/dev/shm") else workdir
    out_path = os.path.join(out_dir, f"tlstap-bench-stall-{os.getpid()}.json")
    stats_path = os.path.join(workdir, "reader-stats.json")
    reader = subprocess.Popen([sys.executable, PAUSED_READER, "--output", out_path, "--stats",
                               stats_path, "--pause", "0.3", "--every", "1"],
                              stdin=subprocess.PIPE)
    try:
        tracer = Background([binaries["tlstap"], "-f", "json", "-c", WORKLOAD_COMM], "tracing",
                            stdout=reader.stdin)
        reader.stdin.close()  # tlstap holds the write end: EOF when it exits
        workload = run_workload(binaries, "bulk", size, "write", count)
        tracer.wait_idle()
        tracer.stop()
        reader.wait(timeout=120)
        with open(stats_path) as f:
            pauses = json.load(f)["pauses"]
        check = check_json(out_path, workload)
    finally:
        if reader.poll() is None:
            reader.kill()
        if os.path.exists(out_path):
            os.unlink(out_path)
    w = workload
    moved = w["client_written"] + w["server_read"] + w["server_written"] + w["client_read"]
    queue = next((m.group(1) for m in map(QUEUE_RE.search, tracer.lines) if m), "not reported")
    ok = check["ok"] and check["lost_bytes"] == 0 and check["captured"] == moved
    print(f"  {w['mb_per_s']:8.1f} MB/s  moved {moved} B, captured {check['captured']} B, lost "
          f"{check['lost_bytes']} B; the reader paused {pauses} times; output queue peak "
          f"{queue}  {'OK' if ok else '!!! LOSS OR MISMATCH'}")
    return ok


# --- main -----------------------------------------------------------------------------------

def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--build-dir", default=os.path.join(ROOT, "build"))
    parser.add_argument("--quick", action="store_true", help="~20 s smoke run")
    parser.add_argument("--saturate", action="store_true", help="only the saturation check")
    parser.add_argument("--no-saturate", action="store_true", help="skip the saturation check")
    parser.add_argument("--sustained", type=float, metavar="SECS",
                        help="also a long bulk transfer to a JSON file (default: 3 s; 0: none; "
                        "--quick: none)")
    parser.add_argument("--stall", choices=("on", "off"),
                        help="the stalled-output run (default: on; --quick, --saturate: off)")
    parser.add_argument("--seconds", type=float, help="untraced duration of each workload run")
    parser.add_argument("--rounds", type=int, help="repetitions (medians are shown)")
    parser.add_argument("--only", help="run only the scenarios whose name contains this")
    parser.add_argument("--json", help="also write every measurement to this file")
    args = parser.parse_args()
    if os.geteuid() != 0:
        fail("needs root (CAP_BPF + CAP_PERFMON) to attach uprobes")
    binaries = {"tlstap": os.path.join(args.build_dir, "tlstap"),
                "workload": os.path.join(args.build_dir, "bench", "tls_workload"),
                "empty": os.path.join(args.build_dir, "bench", "empty_probes"),
                "go_workload": os.path.join(args.build_dir, "bench", "go_workload")}
    for path in binaries.values():
        if not os.access(path, os.X_OK):
            fail(f"{path} is missing: build first (scripts/build.sh; Go: golang-go)")
    seconds = args.seconds or (0.3 if args.quick else 1.5)
    rounds = args.rounds or (1 if args.quick else 2)

    others = other_tracers()
    if others:
        print(f"!!! WARNING: {len(others)} other tracer processes are running; they trace the "
              "workload too and skew every figure:")
        for pid, cmdline in others:
            print(f"!!!   {pid} {cmdline}")
    print(f"tlstap benchmark: {os.cpu_count()} CPUs, {os.uname().release}, load "
          f"{os.getloadavg()[0]:.2f}; ~{seconds} s per run, {rounds} round(s), medians\n")

    if args.only and not any(args.only in s[0] for s in SCENARIOS):
        fail(f"--only {args.only!r} matches no scenario: "
             f"{', '.join(s[0] for s in SCENARIOS)}")
    started = time.monotonic()
    raw = {}
    with tempfile.TemporaryDirectory(prefix="tlstap-bench-") as workdir:
        os.chmod(workdir, 0o700)
        ok = True
        if not args.saturate:
            results = {}
            for scenario in SCENARIOS:
                name = scenario[0]
                if args.only and args.only not in name:
                    continue
                count = calibrate(binaries, scenario, seconds)
                runs = {c: [] for c in CONFIGS}
                # Configs interleaved within each round: a slow minute hits all of them.
                for _ in range(rounds):
                    for config in CONFIGS:
                        runs[config].append(measure(binaries, config, scenario, count, workdir))
                raw[name] = runs
                results[name] = {c: summarize(runs[c]) for c in CONFIGS}
                print(f"  {name}: {count} iterations, done at {time.monotonic() - started:.0f} s",
                      file=sys.stderr)
            print()
            print_table(results)
            print(LEGEND)
            print()
            ok = all(results[n][c]["ok"] for n in results for c in ("file", "devnull"))
        if not args.no_saturate:
            ok &= saturate(binaries, workdir, args.quick)
        sustained_seconds = args.sustained if args.sustained is not None else (
            0 if args.quick or args.saturate else 3)
        if sustained_seconds > 0:
            print()
            ok &= sustained(binaries, workdir, sustained_seconds)
        stall = args.stall or ("off" if args.quick or args.saturate else "on")
        if stall == "on":
            print()
            ok &= stalled_output(binaries, workdir, args.quick)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(raw, f, indent=1, default=str)
    print(f"\n{'all bytes accounted for' if ok else '!!! SOME BYTES WERE NOT ACCOUNTED FOR'}; "
          f"total {time.monotonic() - started:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
