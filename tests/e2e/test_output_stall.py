"""A stalling output: tlstap writes JSON to a pipe whose reader stops now and then, during a
full-speed bulk transfer between two traced peers. Draining the ring must not wait for the
output: pauses of 300 ms every second cost nothing with the default settings (the output
queue absorbs them), every byte exact. A pause longer than the queue and the ring can hold
loses records, and the loss is counted exactly: captured + lost == moved."""
import base64
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import unittest

import harness

READER = os.path.join(harness.PROGS, "paused_reader.py")
QUEUE_RE = re.compile(r"tlstap: output queue peak ([\d.]+) MiB of ([\d.]+) MiB")


def check_stream(path, payload, client, server):
    """Reads tlstap's JSON lines one at a time (a GiB of them: not all in memory) and checks
    every data record of the two peers against what they moved: the payload from client to
    server, b"ok" back. Returns (bytes shown, bytes reported lost, records that were cut)."""
    expected = {(client, "write"): payload, (server, "read"): payload,
                (server, "write"): b"ok", (client, "read"): b"ok"}
    next_pos = {key: 0 for key in expected}
    shown = lost = truncated = 0
    with open(path, "rb") as f:
        for line in f:
            r = json.loads(line)
            if r["type"] == "lost":
                lost += r["bytes"]
                continue
            key = (r.get("pid"), r.get("dir"))
            if r["type"] != "data" or key not in expected:
                continue
            data = base64.b64decode(r["data"])
            pos = r["pos"]
            if pos < next_pos[key]:
                raise AssertionError(f"{key}: record at {pos} overlaps what ended at "
                                     f"{next_pos[key]}")
            if data != expected[key][pos:pos + len(data)]:
                raise AssertionError(f"{key}: bytes at {pos} differ from what was sent")
            if len(data) < r["len"]:
                truncated += 1
                if r.get("truncated_by") != "ring-buffer-full":
                    raise AssertionError(f"{key}: record at {pos} cut by {r.get('truncated_by')}")
            shown += len(data)
            next_pos[key] = pos + r["len"]
    return shown, lost, truncated


class OutputStallTest(unittest.TestCase):
    def setUp(self):
        self.work = harness.Workdir()
        # The captured JSON (over a GiB) goes to memory when it can: the test is about a
        # pipe that stalls, not about the disk the reader writes to.
        base = "/dev/shm" if os.path.isdir("/dev/shm") else None
        self.out_dir = tempfile.mkdtemp(prefix="tlstap-e2e-stall-", dir=base)

    def tearDown(self):
        self.work.cleanup()
        shutil.rmtree(self.out_dir, ignore_errors=True)

    def transfer_through_paused_pipe(self, size, pause, every, min_pauses, tlstap_args=()):
        payload = os.urandom(size)
        harness.write_bytes(self.work.file("send"), payload)
        harness.write_bytes(self.work.file("reply"), b"ok")
        port = harness.free_port()
        captured = os.path.join(self.out_dir, "trace.jsonl")
        stats = os.path.join(self.out_dir, "reader.json")
        stderr_path = self.work.file("trace.stderr")
        read_end, write_end = os.pipe()
        with open(stderr_path, "w") as stderr:
            tracer = harness.track(subprocess.Popen(
                [harness.TLSTAP, "-f", "json", "--comm", "python3", "--port", str(port),
                 *tlstap_args], stdout=write_end, stderr=stderr))
            reader = harness.track(subprocess.Popen(
                [harness.PYTHON, READER, "--output", captured, "--stats", stats, "--pause",
                 str(pause), "--every", str(every)], stdin=read_end))
        os.close(read_end)
        os.close(write_end)

        def read_stderr():
            with open(stderr_path) as f:
                return f.read()
        harness.wait_for(lambda: "Ctrl-C to stop" in read_stderr() or tracer.poll() is not None,
                         30, "tlstap to attach")
        self.assertIsNone(tracer.poll(), read_stderr())

        server = harness.start_peer_server(self.work, port, len(payload), self.work.file("reply"))
        client = harness.run_peer("client", "--port", str(port), "--send-file",
                                  self.work.file("send"), "--message-size", str(16 * 1024),
                                  "--received-file", self.work.file("client-received"))
        self.assertEqual(client.wait(timeout=300), 0)
        self.assertEqual(server.wait(timeout=300), 0)
        self.assertEqual(harness.read_bytes(self.work.file("server-received")), payload)
        tracer.send_signal(signal.SIGINT)
        self.assertEqual(tracer.wait(timeout=120), 0, read_stderr())
        self.assertEqual(reader.wait(timeout=120), 0)
        with open(stats) as f:
            reader_stats = json.load(f)
        shown, lost, truncated = check_stream(captured, payload, client.pid, server.pid)
        summary = read_stderr()
        print(f"moved {2 * (size + 2)} bytes; shown {shown}, lost {lost} ({truncated} records "
              f"cut); the reader paused {reader_stats['pauses']} times for {pause} s and read "
              f"{reader_stats['bytes']} bytes of JSON")
        print("\n".join(line for line in summary.splitlines() if line.startswith("tlstap:")))
        self.assertGreaterEqual(reader_stats["pauses"], min_pauses, "the output did not stall")
        self.assertIn(f"({lost} bytes)", summary)
        # Every byte the peers moved (payload one way, "ok" back) is shown or counted lost.
        self.assertEqual(shown + lost, 2 * (size + 2))
        return lost, summary

    def test_pauses_of_300ms_every_second_lose_nothing(self):
        # At least one 300 ms pause during the transfer (a quiet machine moves 256 MiB in
        # about two seconds): at full speed that alone is far more than the ring holds.
        lost, summary = self.transfer_through_paused_pipe(256 << 20, pause=0.3, every=1.0,
                                                          min_pauses=1)
        self.assertEqual(lost, 0, "records were lost while the output stalled")
        self.assertIn("lost 0 events (0 bytes)", summary)
        peak = QUEUE_RE.search(summary)
        self.assertIsNotNone(peak, summary)
        self.assertEqual(float(peak.group(2)), 512)
        # The ring alone (32 MiB) would not have held the stall: the queue did.
        self.assertGreater(float(peak.group(1)), 32, summary)

    def test_pause_longer_than_the_queue_holds_counts_the_loss_exactly(self):
        lost, summary = self.transfer_through_paused_pipe(
            128 << 20, pause=2.0, every=2.5, min_pauses=1,
            tlstap_args=("--queue-size", "4M", "--buffer-size", "1M"))
        self.assertGreater(lost, 0, "the pauses lost nothing: no loss to check")
        peak = QUEUE_RE.search(summary)
        self.assertIsNotNone(peak, summary)
        self.assertEqual(float(peak.group(2)), 4)
        self.assertLessEqual(float(peak.group(1)), 4)
        self.assertIn("the ring buffer reader waited", summary)


if __name__ == "__main__":
    harness.main()
