"""Connections older than tlstap, calls in flight at attach, and short-lived processes: what
tlstap cannot see is said (midstream, a lost record for the unseen call), and what identifies
a process and a connection comes from the kernel at the event, not from /proc afterwards."""
import base64
import os
import subprocess
import time
import unittest

import harness
from harness import data_records


def boot_ticks():
    """The boot-time clock in /proc/PID/stat's unit (clock ticks)."""
    return time.clock_gettime(time.CLOCK_BOOTTIME) * os.sysconf("SC_CLK_TCK")


class MidstreamTest(unittest.TestCase):
    def setUp(self):
        self.work = harness.Workdir()

    def tearDown(self):
        self.work.cleanup()

    def test_server_blocked_in_read_at_attach(self):
        """A server blocked in SSL_read when tlstap starts: that read returns unseen. Its
        connection is marked midstream everywhere, and the unseen call is a lost record on it."""
        port = harness.free_port()
        first, second = b"A" * 100, b"B" * 200
        harness.write_bytes(self.work.file("send"), first + second)
        harness.write_bytes(self.work.file("reply"), b"reply")
        # The server reads 100 bytes at a time: its first read is blocked when tlstap attaches.
        server = harness.start_peer_server(self.work, port, len(first + second),
                                           self.work.file("reply"), extra=("--read-size", "100"))
        handshaken, go = self.work.file("handshaken"), self.work.file("go")
        client = harness.run_peer("client", "--port", str(port), "--send-file",
                                  self.work.file("send"), "--message-size", "100",
                                  "--received-file", self.work.file("client-received"),
                                  "--handshake-file", handshaken, "--send-after-file", go)
        harness.wait_for(lambda: os.path.exists(handshaken), 10, "the client's handshake")
        lport = int(harness.read_bytes(handshaken))
        time.sleep(0.3)  # the server is now inside SSL_read, waiting
        tracer = harness.Tracer(self.work, "--comm", "python3")
        harness.write_bytes(go, b"")
        self.assertEqual(client.wait(timeout=30), 0)
        self.assertEqual(server.wait(timeout=30), 0)
        records = tracer.stop()

        received = harness.read_bytes(self.work.file("server-received"))
        self.assertEqual(received, first + second)
        reads = data_records(records, server.pid, "read")
        # The first 100 bytes went to the read that was in flight: not captured, and said.
        self.assertEqual(b"".join(base64.b64decode(r["data"]) for r in reads), second)
        [conn] = {r["conn"] for r in data_records(records, server.pid)}
        unseen = [r for r in records if r["type"] == "lost" and r.get("conn") == conn]
        self.assertEqual(len(unseen), 1, records)
        self.assertEqual((unseen[0]["reason"], unseen[0]["dir"], unseen[0]["events"]),
                         ("in-flight-at-attach", "read", 1))
        self.assertNotIn("bytes", unseen[0])  # not known, so not said
        for r in data_records(records, server.pid) + data_records(records, client.pid):
            self.assertTrue(r.get("midstream"), r)
        server_side = data_records(records, server.pid)
        self.assertEqual({(r["role"], r["lport"], r["rport"]) for r in server_side},
                         {("server", port, lport)})
        client_side = data_records(records, client.pid)
        self.assertEqual({(r["role"], r["lport"], r["rport"]) for r in client_side},
                         {("client", lport, port)})
        self.assertEqual(b"".join(base64.b64decode(r["data"]) for r in
                                  data_records(records, client.pid, "write")), first + second)
        closes = [r for r in records if r["type"] == "close" and r["pid"] in (server.pid,
                                                                             client.pid)]
        self.assertEqual(len(closes), 2)
        self.assertTrue(all(c.get("midstream") for c in closes), closes)
        self.assertIn("1 call already in flight when tracing started", tracer.stderr())

    def test_connections_seen_from_the_start_are_not_midstream(self):
        port = harness.free_port()
        harness.write_bytes(self.work.file("send"), b"hello")
        harness.write_bytes(self.work.file("reply"), b"world")
        tracer = harness.Tracer(self.work, "--comm", "python3")
        server = harness.start_peer_server(self.work, port, 5, self.work.file("reply"))
        client = harness.run_peer("client", "--port", str(port), "--send-file",
                                  self.work.file("send"), "--received-file",
                                  self.work.file("client-received"))
        self.assertEqual(client.wait(timeout=30), 0)
        self.assertEqual(server.wait(timeout=30), 0)
        records = tracer.stop()
        mine = data_records(records, server.pid) + data_records(records, client.pid)
        self.assertEqual(len(mine), 4)
        self.assertFalse(any("midstream" in r for r in mine), mine)
        self.assertFalse(any(r["type"] == "lost" for r in records))

    def test_short_lived_clients_have_their_start_time_and_role(self):
        """Five parallel curls, gone before tlstap handles their records: the connection id
        carries each process's real start time (from the kernel), and the role is client."""
        port = harness.free_port()
        server = subprocess.Popen(
            ["openssl", "s_server", "-accept", str(port), "-cert", self.work.cert, "-key",
             self.work.key, "-www", "-quiet"], stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        harness.track(server)
        harness.wait_for_port(port)
        before = boot_ticks()
        script = " & ".join(f"curl -sk -o /dev/null https://127.0.0.1:{port}/" for _ in range(5))
        tracer = harness.Tracer(self.work, command=["sh", "-c", script + " & wait"])
        records = tracer.wait()
        after = boot_ticks()
        curl = [r for r in data_records(records) if r["comm"] == "curl"]
        self.assertEqual(len({r["pid"] for r in curl}), 5, curl)
        for r in curl:
            pid, start, fd, generation = r["conn"].split("-")
            self.assertEqual(int(pid), r["pid"])
            self.assertGreaterEqual(int(start), int(before) - 1, r["conn"])
            self.assertLessEqual(int(start), after + 1, r["conn"])
            self.assertEqual(r["role"], "client")
            self.assertEqual(r["rport"], port)
            self.assertNotIn("midstream", r)


if __name__ == "__main__":
    harness.main()
