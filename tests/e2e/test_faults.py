"""Faults, each with real BPF: a traced process killed in the middle of a large write leaves
no per-thread state behind in BPF; tlstap killed with SIGKILL takes its probes with it and the
traced program runs at full speed again; a library unloaded (dlclose) and loaded again, a
program replaced on disk while it runs, and 2000 connections from 200 threads are still
captured byte for byte; a full disk is said, and what was not written is counted exactly.
(A stdout reader that stops reading: test_output_stall.py.)"""
import json
import os
import random
import re
import shutil
import signal
import subprocess
import time
import unittest

import harness
from harness import captured_bytes, lost_records

STALLED_SERVER = os.path.join(harness.PROGS, "stalled_server.py")
BIO_WRITE_LOOP = os.path.join(harness.PROGS, "bio_write_loop.py")
RELOADING_CLIENT = os.path.join(harness.PROGS, "reloading_client.py")
MANY_CONNECTIONS = os.path.join(harness.PROGS, "many_connections.py")


def bpftool(*args):
    result = subprocess.run(["bpftool", "-j", *args], capture_output=True, text=True, check=True)
    return json.loads(result.stdout or "null")


def map_ids():
    return {m["id"] for m in bpftool("map", "show") or []}


def prog_ids():
    return {p["id"] for p in bpftool("prog", "show") or []}


class BpfMaps:
    """The maps of one tlstap, told apart from everything else loaded by their ids: new since
    just before it started (the e2e lock keeps other tracers away)."""

    def __init__(self, before):
        self.by_name = {m.get("name"): m["id"] for m in bpftool("map", "show") or []
                        if m["id"] not in before}

    def entries(self, name):
        return len(bpftool("map", "dump", "id", str(self.by_name[name])) or [])


class FaultTest(unittest.TestCase):
    def setUp(self):
        self.work = harness.Workdir()

    def tearDown(self):
        self.work.cleanup()

    def test_process_killed_inside_a_large_write_leaves_no_bpf_state(self):
        port = harness.free_port()
        ready = self.work.file("server-ready")
        harness.track(subprocess.Popen([harness.PYTHON, STALLED_SERVER, "--port", str(port),
                                        "--cert", self.work.cert, "--key", self.work.key,
                                        "--ready-file", ready]))
        harness.wait_for(lambda: os.path.exists(ready), 10, "server to listen")
        send = self.work.file("send")
        harness.write_bytes(send, os.urandom(64 << 20))  # far more than the socket buffers
        client_ready, go = self.work.file("client-ready"), self.work.file("go")
        client = harness.run_peer("client", "--port", str(port), "--send-file", send,
                                  "--received-file", self.work.file("got"),
                                  "--ready-file", client_ready, "--wait-file", go)
        harness.wait_for(lambda: os.path.exists(client_ready), 10, "client to start")

        before = map_ids()
        tracer = harness.Tracer(self.work, "--pid", str(client.pid))
        maps = BpfMaps(before)
        baseline = {name: maps.entries(name) for name in ("pending_calls", "threads")}
        harness.write_bytes(go, b"")
        # One SSL_write_ex of 64 MiB, blocked in the kernel: its arguments wait in BPF.
        harness.wait_for(lambda: maps.entries("pending_calls") > baseline["pending_calls"], 20,
                         "the write to be in flight (an entry in pending_calls)")
        time.sleep(0.5)
        self.assertIsNone(client.poll(), "the client must still be inside its write")
        client.kill()
        client.wait()

        def back_to_baseline():
            return {name: maps.entries(name) for name in baseline} == baseline
        harness.wait_for(back_to_baseline, 10, f"BPF per-thread state back to {baseline}")
        records = tracer.stop()
        self.assertEqual(tracer.returncode, 0, tracer.stderr())
        # The killed call never returned: nothing of it may be shown as written.
        self.assertEqual(captured_bytes(records, client.pid, "write"), b"")

    def write_rates(self, rate_file, since, until):
        """Calls/s of the intervals that ended in [since, until]."""
        rates = []
        for line in harness.read_bytes(rate_file).decode().splitlines():
            at, rate = line.split()
            if since <= float(at) <= until:
                rates.append(float(rate))
        return rates

    def measure(self, rate_file, seconds):
        start = time.monotonic()
        time.sleep(seconds)
        rates = self.write_rates(rate_file, start, time.monotonic())
        self.assertGreaterEqual(len(rates), 4, "the workload reports every 0.25 s")
        # The best interval: other work on a shared machine only ever slows one down.
        return max(rates)

    def test_tlstap_killed_with_sigkill_leaves_no_probes_and_full_speed(self):
        rate_file = self.work.file("rates")
        workload = harness.track(subprocess.Popen(
            [harness.PYTHON, BIO_WRITE_LOOP, "--cert", self.work.cert, "--key", self.work.key,
             "--rate-file", rate_file]))
        harness.wait_for(lambda: os.path.exists(rate_file) and
                         len(harness.read_bytes(rate_file).splitlines()) >= 2, 20,
                         "the workload to run")
        untraced = self.measure(rate_file, 3)

        progs_before = prog_ids()
        tracer = harness.Tracer(self.work, "--pid", str(workload.pid))
        tlstap_progs = prog_ids() - progs_before
        self.assertTrue(tlstap_progs)
        perf_before = [p for p in bpftool("perf", "show") or [] if p.get("prog_id") in tlstap_progs]
        self.assertTrue(any(p.get("fd_type", "").startswith("uprobe") or
                            p.get("fd_type", "").startswith("uretprobe") for p in perf_before),
                        f"tlstap's uprobes are listed while it runs: {perf_before}")
        harness.wait_for(lambda: os.path.getsize(tracer.output) > 0, 10, "records")
        traced = self.measure(rate_file, 3)

        tracer.process.send_signal(signal.SIGKILL)
        tracer.process.wait()
        tracer._stderr.close()
        # The kernel frees a killed process's links and programs once their files are closed.
        harness.wait_for(lambda: not (prog_ids() & tlstap_progs), 10,
                         "tlstap's BPF programs to go away")
        leftover = [p for p in bpftool("perf", "show") or [] if p.get("prog_id") in tlstap_progs]
        self.assertEqual(leftover, [])
        after = self.measure(rate_file, 3)
        self.assertIsNone(workload.poll(), "the traced program keeps running")
        workload.kill()
        print(f"SSL_write calls/s: untraced {untraced:.0f}, traced {traced:.0f}, "
              f"after SIGKILL {after:.0f}")
        # Probes cost this workload a visible share (so the comparison can see them) ...
        self.assertLess(traced, untraced * 0.95, "the measurement sees the probes' cost")
        # ... and none of it is left once tlstap is gone.
        self.assertGreater(after, untraced * 0.9)
        self.assertGreater(after, traced * 1.05)

    def test_library_unloaded_and_loaded_again_is_still_captured(self):
        """dlclose takes the library's mapping away; loading it again maps it anew. Each
        round's connection is captured whole."""
        libdir = self.work.file("lib")
        os.makedirs(libdir)
        library = os.path.join(libdir, "libgnutls.so.30")
        shutil.copy(os.path.realpath("/usr/lib/x86_64-linux-gnu/libgnutls.so.30"), library)
        piece, rounds = 7000, 3
        payload, reply = os.urandom(piece * rounds), os.urandom(3000)
        harness.write_bytes(self.work.file("send"), payload)
        harness.write_bytes(self.work.file("reply"), reply)
        port = harness.free_port()
        server = harness.start_peer_server(self.work, port, piece, self.work.file("reply"),
                                           extra=("--connections", str(rounds)))
        tracer = harness.Tracer(self.work, "-v")
        log = self.work.file("log")
        client = harness.track(subprocess.Popen(
            [harness.PYTHON, RELOADING_CLIENT, "--library", library, "--port", str(port),
             "--send-file", self.work.file("send"), "--piece-size", str(piece),
             "--received-file", self.work.file("client-received"), "--log-file", log,
             "--rounds", str(rounds)], cwd=harness.PROGS, env={**os.environ,
                                                                 "PYTHONPATH": harness.PROGS}))
        self.assertEqual(client.wait(timeout=90), 0)
        self.assertEqual(server.wait(timeout=30), 0)
        records = tracer.stop()
        self.assertEqual(harness.read_bytes(log).decode().splitlines(),
                         [f"round {n}: unloaded" for n in range(rounds)])
        self.assertEqual(harness.read_bytes(self.work.file("client-received")), reply * rounds)
        connections = list(harness.by_connection(records, client.pid).values())
        self.assertEqual(len(connections), rounds)
        for n, connection in enumerate(connections):
            self.assertEqual(harness.contiguous_stream(connection, "write"),
                             payload[n * piece:(n + 1) * piece], f"round {n}")
            self.assertEqual(harness.contiguous_stream(connection, "read"), reply, f"round {n}")
        self.assertEqual(lost_records(records), [])

    def test_program_replaced_on_disk_while_running_is_still_captured(self):
        """`mv` of a new build over a running program: the running process keeps the old,
        now deleted file; a process started afterwards runs the new one. Both captured."""
        static_client = os.environ.get("STATIC_TLS_CLIENT")
        if not static_client:
            self.skipTest("no static OpenSSL (libssl.a) to build static_tls_client with")
        binary = self.work.file("client")
        shutil.copy(static_client, binary)
        payload, reply = os.urandom(12000), os.urandom(5000)
        harness.write_bytes(self.work.file("send"), payload)
        harness.write_bytes(self.work.file("reply"), reply)
        port = harness.free_port()
        server = harness.start_peer_server(self.work, port, len(payload), self.work.file("reply"),
                                           extra=("--connections", "2"))
        tracer = harness.Tracer(self.work, "-v")
        # The old file runs, waiting 2 s before any TLS; meanwhile it is replaced.
        old = harness.track(subprocess.Popen([binary, str(port), self.work.file("send"),
                                              self.work.file("old-received"), "2.0"]))
        time.sleep(0.5)
        new_build = self.work.file("client.new")
        shutil.copy(static_client, new_build)
        os.rename(new_build, binary)
        with open(f"/proc/{old.pid}/maps") as f:
            self.assertIn(f"{binary} (deleted)", f.read())
        self.assertEqual(old.wait(timeout=60), 0)
        new = harness.track(subprocess.Popen([binary, str(port), self.work.file("send"),
                                              self.work.file("new-received"), "1.0"]))
        self.assertEqual(new.wait(timeout=60), 0)
        self.assertEqual(server.wait(timeout=30), 0)
        records = tracer.stop()
        for process, received in ((old, "old-received"), (new, "new-received")):
            self.assertEqual(harness.read_bytes(self.work.file(received)), reply)
            self.assertEqual(captured_bytes(records, process.pid, "write"), payload, process.pid)
            self.assertEqual(captured_bytes(records, process.pid, "read"), reply, process.pid)
        self.assertEqual(lost_records(records), [])

    def test_2000_connections_from_200_threads_all_captured_exactly(self):
        port = harness.free_port()
        server_ready, client_ready = self.work.file("server-ready"), self.work.file("client-ready")
        go, report = self.work.file("go"), self.work.file("report")
        harness.track(subprocess.Popen(
            [harness.PYTHON, MANY_CONNECTIONS, "server", "--port", str(port), "--cert",
             self.work.cert, "--key", self.work.key, "--ready-file", server_ready]))
        harness.wait_for(lambda: os.path.exists(server_ready), 10, "server to listen")
        client = harness.track(subprocess.Popen(
            [harness.PYTHON, MANY_CONNECTIONS, "client", "--port", str(port), "--ready-file",
             client_ready, "--wait-file", go, "--report-file", report, "--threads", "200",
             "--per-thread", "10"]))
        harness.wait_for(lambda: os.path.exists(client_ready), 10, "client to start")
        tracer = harness.Tracer(self.work, "--pid", str(client.pid))
        harness.write_bytes(go, b"")
        self.assertEqual(client.wait(timeout=300), 0, harness.read_bytes(report)[:2000])
        records = tracer.stop()
        self.assertEqual(tracer.returncode, 0, tracer.stderr())
        self.assertEqual(lost_records(records), [])
        made = json.loads(harness.read_bytes(report))["connections"]
        self.assertEqual(len(made), 2000)
        # A thread's connections are one after another: its records show them in that order.
        # (Keyed by thread and order, not by local port: a closed connection's port may be
        # taken again by a later one.)
        expected = {}
        for thread, index, tid, lport in made:
            rng = random.Random(f"{thread}-{index}")  # as many_connections.py makes them
            payload = rng.randbytes(rng.randint(1, 16384))
            expected.setdefault(tid, []).append(
                (index, lport, len(payload).to_bytes(4, "big") + payload, payload))
        captured = {}
        for conn, conn_records in harness.by_connection(records, client.pid).items():
            self.assertEqual(len({r["tid"] for r in conn_records}), 1, conn)
            captured.setdefault(conn_records[0]["tid"], []).append(conn_records)
        self.assertEqual(sorted(captured), sorted(expected))
        self.assertEqual(len(captured), 200)
        for tid, conns in captured.items():
            wanted = sorted(expected[tid])
            self.assertEqual(len(conns), len(wanted), tid)
            for conn_records, (index, lport, sent, received) in zip(conns, wanted):
                self.assertEqual({r["lport"] for r in conn_records}, {lport}, (tid, index))
                self.assertEqual(harness.contiguous_stream(conn_records, "write"), sent, lport)
                self.assertEqual(harness.contiguous_stream(conn_records, "read"), received, lport)

    def test_full_disk_is_said_and_what_was_not_written_is_counted(self):
        """A 1 MiB tmpfs fills up part way through: tlstap says so, exits non-zero, and the
        records in the file plus those it counts as not written are all it had."""
        disk = self.work.file("small-disk")
        os.makedirs(disk)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", disk], check=True)
        self.addCleanup(subprocess.run, ["umount", "-l", disk])
        payload = os.urandom(3 << 20)
        harness.write_bytes(self.work.file("send"), payload)
        harness.write_bytes(self.work.file("reply"), b"done")
        port = harness.free_port()
        server = harness.start_peer_server(self.work, port, len(payload), self.work.file("reply"))
        out = os.path.join(disk, "trace.jsonl")
        client_cmd = [harness.PYTHON, os.path.join(harness.PROGS, "tls_peer.py"), "client",
                      "--port", str(port), "--send-file", self.work.file("send"),
                      "--received-file", self.work.file("got"), "--message-size", "16384"]
        result = subprocess.run([harness.TLSTAP, "-f", "json", "-o", out, "--", *client_cmd],
                                capture_output=True, text=True, timeout=120)
        self.assertEqual(server.wait(timeout=30), 0)
        self.assertEqual(result.returncode, 1, result.stderr)
        match = re.search(rf"tlstap: writing {re.escape(out)}: No space left on device; "
                          r"(\d+) records were not written", result.stderr)
        self.assertTrue(match, result.stderr)
        not_written = int(match.group(1))
        summary = re.search(r"tlstap: (\d+) write records \(\d+ bytes\), (\d+) read records "
                            r"\(\d+ bytes\), \d+ truncated, (\d+) connections? closed; lost "
                            r"(\d+) events", result.stderr)
        self.assertTrue(summary, result.stderr)
        writes, reads, closed, lost_events = (int(g) for g in summary.groups())
        self.assertEqual(lost_events, 0)
        with open(out, "rb") as f:
            lines = f.read().split(b"\n")
        complete = [line for line in lines[:-1]]  # the last piece has no newline: cut off
        for line in complete:
            json.loads(line)
        self.assertGreater(len(complete), 0)
        self.assertGreater(not_written, 0)
        self.assertEqual(len(complete) + not_written, writes + reads + closed,
                         "every record is either in the file or counted as not written")

    def test_stdout_reader_that_stops_reading_does_not_keep_tlstap_from_stopping(self):
        """The reader of tlstap's stdout stops reading for good (test_output_stall.py covers
        one that pauses): the queue fills, the ring fills and loses (counted); Ctrl-C still
        stops tlstap within seconds, and it says how many records were not written."""
        payload = os.urandom(32 << 20)
        harness.write_bytes(self.work.file("send"), payload)
        harness.write_bytes(self.work.file("reply"), b"ok")
        port = harness.free_port()
        server = harness.start_peer_server(self.work, port, len(payload), self.work.file("reply"))
        ready, go = self.work.file("ready"), self.work.file("go")
        client = harness.run_peer("client", "--port", str(port), "--send-file",
                                  self.work.file("send"), "--received-file", self.work.file("got"),
                                  "--ready-file", ready, "--wait-file", go, "--message-size", "16384")
        harness.wait_for(lambda: os.path.exists(ready), 10, "client to start")
        unread, stdout = os.pipe()  # nobody ever reads `unread`
        self.addCleanup(os.close, unread)
        stderr_path = self.work.file("stderr")
        with open(stderr_path, "w") as stderr:
            tracer = harness.track(subprocess.Popen(
                [harness.TLSTAP, "-f", "json", "--queue-size", "1M", "--pid", str(client.pid)],
                stdout=stdout, stderr=stderr))
        os.close(stdout)
        harness.wait_for(lambda: "Ctrl-C to stop" in harness.read_bytes(stderr_path).decode(), 30,
                         "tlstap to attach")
        harness.write_bytes(go, b"")
        self.assertEqual(client.wait(timeout=120), 0)
        self.assertEqual(server.wait(timeout=30), 0)
        stop_sent = time.monotonic()
        tracer.send_signal(signal.SIGINT)
        returncode = tracer.wait(timeout=30)
        took = time.monotonic() - stop_sent
        text = harness.read_bytes(stderr_path).decode()
        self.assertEqual(returncode, 1, text)
        self.assertLess(took, 10, "stopped within seconds of Ctrl-C")
        match = re.search(r"tlstap: writing stdout: stopped while it was not being read; (\d+) "
                          r"records were not written", text)
        self.assertTrue(match, text)
        self.assertGreater(int(match.group(1)), 0)
        summary = re.search(r"(\d+) write records \((\d+) bytes\).*lost (\d+) events \((\d+) "
                            r"bytes\)", text)
        self.assertTrue(summary, text)
        # Every byte the client wrote is either in a record or counted as lost.
        self.assertEqual(int(summary.group(2)) + int(summary.group(4)), len(payload), text)


if __name__ == "__main__":
    harness.main()
