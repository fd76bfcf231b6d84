"""Go's crypto/tls, compiled into the program: found in the program's own function table
(stripped and PIE builds too), probed at the entry and every RET of (*Conn).Write/Read,
calls keyed by goroutine. Bytes are compared with what the Go and python peers themselves
sent and received; connection fields with the ports they report."""
import base64
import json
import os
import subprocess
import unittest

import harness
from harness import captured_bytes, data_records, lost_records

GO_PEERS_DIR = os.environ.get("GO_PEERS_DIR", "")


def go_peer(form):
    return os.path.join(GO_PEERS_DIR, form)


stream = harness.contiguous_stream
by_connection = harness.by_connection


@unittest.skipUnless(GO_PEERS_DIR and os.path.exists(go_peer("normal")),
                     "Go test peers not built (no go: scripts/install-deps.sh installs golang-go)")
class GoTest(unittest.TestCase):
    def setUp(self):
        self.work = harness.Workdir()

    def tearDown(self):
        self.work.cleanup()

    def assert_go_records(self, records, role, lport, rport):
        harness.assert_connection_fields(self, records, role, lport, rport)
        for r in records:
            self.assertEqual(r["lib"], "go")
            self.assertIn(r["func"], ("crypto/tls.(*Conn).Write", "crypto/tls.(*Conn).Read"))
            self.assertFalse(r["truncated"])

    def test_stripped_pie_client_16mib_write_against_python(self):
        """One 16 MiB (*Conn).Write from a stripped PIE build, a 1 MiB reply: exact."""
        payload = os.urandom(16 << 20)
        reply = os.urandom(1 << 20)
        harness.write_bytes(self.work.file("send"), payload)
        harness.write_bytes(self.work.file("reply"), reply)
        port = harness.free_port()
        server = harness.start_peer_server(self.work, port, len(payload), self.work.file("reply"))
        tracer = harness.Tracer(self.work, "--max-bytes", "32M", command=[
            go_peer("pie_stripped"), "raw-client", f"127.0.0.1:{port}", self.work.file("send"),
            self.work.file("received"), "0"], name="trace")
        records = tracer.wait(timeout=120)
        self.assertEqual(tracer.returncode, 0, tracer.stderr())
        self.assertEqual(server.wait(timeout=30), 0)
        self.assertEqual(harness.read_bytes(self.work.file("server-received")), payload)
        self.assertEqual(harness.read_bytes(self.work.file("received")), reply)
        go = data_records(records)
        pid = go[0]["pid"]
        writes = data_records(records, pid, "write")
        self.assertEqual(len(writes), 1)  # one call, one record
        self.assertEqual(stream(go, "write"), payload)
        self.assertEqual(stream(go, "read"), reply)
        self.assertEqual(lost_records(records), [])
        lport = go[0]["lport"]
        self.assert_go_records(go, "client", lport, port)
        closes = [r for r in records if r["type"] == "close" and r["pid"] == pid]
        self.assertEqual([(c["write_bytes"], c["read_bytes"]) for c in closes],
                         [(len(payload), len(reply))])

    def test_10k_small_writes_from_a_stripped_build(self):
        message, count = 100, 10_000
        payload = os.urandom(message * count)
        harness.write_bytes(self.work.file("send"), payload)
        harness.write_bytes(self.work.file("reply"), b"done")
        port = harness.free_port()
        server = harness.start_peer_server(self.work, port, len(payload), self.work.file("reply"))
        tracer = harness.Tracer(self.work, command=[
            go_peer("stripped"), "raw-client", f"127.0.0.1:{port}", self.work.file("send"),
            self.work.file("received"), str(message)])
        records = tracer.wait(timeout=120)
        self.assertEqual(tracer.returncode, 0, tracer.stderr())
        self.assertEqual(server.wait(timeout=30), 0)
        go = data_records(records)
        writes = [r for r in go if r["dir"] == "write"]
        self.assertEqual(len(writes), count)
        self.assertEqual(stream(go, "write"), payload)
        self.assertEqual(stream(go, "read"), b"done")
        self.assertEqual(lost_records(records), [])

    def test_server_started_before_tlstap_blocked_in_read_across_gc(self):
        """A Go server already running, a goroutine parked in (*Conn).Read while others grow
        their stacks and force collections: the program keeps working (no "unexpected return
        pc"), and its bytes are exact."""
        port = harness.free_port()
        payload = os.urandom(300_000)
        reply = os.urandom(50_000)
        harness.write_bytes(self.work.file("reply"), reply)
        harness.write_bytes(self.work.file("send"), payload)
        ready = self.work.file("go-ready")
        stderr = open(self.work.file("go-server.stderr"), "w+")
        server = harness.track(subprocess.Popen(
            [go_peer("normal"), "raw-server", str(port), self.work.cert, self.work.key, ready,
             str(len(payload)), self.work.file("reply"), self.work.file("go-received"),
             "--gc-while-blocked"], stderr=stderr))
        harness.wait_for(lambda: os.path.exists(ready), 10, "Go server to listen")
        tracer = harness.Tracer(self.work, "-p", str(server.pid))
        client = harness.run_peer("client", "--port", str(port), "--send-file",
                                  self.work.file("send"), "--delay", "1.0",
                                  "--received-file", self.work.file("client-received"))
        self.assertEqual(client.wait(timeout=60), 0)
        self.assertEqual(server.wait(timeout=60), 0)
        records = tracer.stop()
        stderr.seek(0)
        self.assertNotIn("unexpected return pc", stderr.read())
        self.assertEqual(harness.read_bytes(self.work.file("go-received")), payload)
        self.assertEqual(harness.read_bytes(self.work.file("client-received")), reply)
        go = data_records(records, server.pid)
        self.assertEqual(stream(go, "read"), payload)
        self.assertEqual(stream(go, "write"), reply)
        self.assertEqual(go[0]["lport"], port)
        self.assertEqual({r["role"] for r in go}, {"server"})
        self.assertEqual(lost_records(records), [])

    def test_read_in_flight_at_attach_is_said_with_its_size(self):
        """A Go server's goroutine parked in (*Conn).Read on a connection older than tlstap:
        that Read's return is seen without its entry. Its bytes cannot be had, but Go's RET
        says how many: a lost record with that size, then every later byte exact."""
        port = harness.free_port()
        payload = os.urandom(100_000)
        harness.write_bytes(self.work.file("send"), payload)
        harness.write_bytes(self.work.file("reply"), b"done")
        ready, handshaken, go = (self.work.file(n) for n in ("go-ready", "handshaken", "go"))
        server = harness.track(subprocess.Popen(
            [go_peer("normal"), "raw-server", str(port), self.work.cert, self.work.key, ready,
             str(len(payload)), self.work.file("reply"), self.work.file("go-received")]))
        harness.wait_for(lambda: os.path.exists(ready), 10, "Go server to listen")
        client = harness.run_peer("client", "--port", str(port), "--send-file",
                                  self.work.file("send"), "--received-file",
                                  self.work.file("client-received"), "--handshake-file",
                                  handshaken, "--send-after-file", go)
        harness.wait_for(lambda: os.path.exists(handshaken), 10, "client handshake")
        tracer = harness.Tracer(self.work, "-p", str(server.pid))
        harness.write_bytes(go, b"")
        self.assertEqual(client.wait(timeout=60), 0)
        self.assertEqual(server.wait(timeout=60), 0)
        records = tracer.stop()
        self.assertEqual(harness.read_bytes(self.work.file("go-received")), payload)
        [unseen] = lost_records(records)
        self.assertEqual((unseen["reason"], unseen["dir"], unseen["pid"], unseen["events"]),
                         ("in-flight-at-attach", "read", server.pid, 1))
        self.assertGreater(unseen["bytes"], 0)
        got = stream(data_records(records, server.pid), "read")
        # What the unseen Read returned, then exactly the rest.
        self.assertEqual(unseen["bytes"] + len(got), len(payload))
        self.assertEqual(got, payload[unseen["bytes"]:])
        self.assertTrue(all(r["midstream"] for r in data_records(records, server.pid)))
        self.assertIn("1 call already in flight when tracing started returned unseen, "
                      f"{unseen['bytes']} bytes known of them", tracer.stderr())

    def run_http(self, client_form, server_form, extra, count, size, parallel):
        port = harness.free_port()
        ready = self.work.file("http-ready")
        server_report, client_report = self.work.file("server.json"), self.work.file("client.json")
        # --lib attaches to the programs before they run: a process started after tlstap is
        # otherwise attached to a few milliseconds after its exec, and a Go client's first
        # write can come sooner.
        tracer = harness.Tracer(self.work, "--port", str(port), "--lib", go_peer(client_form),
                                "--lib", go_peer(server_form), name="http")
        server = harness.track(subprocess.Popen(
            [go_peer(server_form), "http-server", str(port), self.work.cert, self.work.key, ready,
             server_report, str(count), *extra]))
        harness.wait_for(lambda: os.path.exists(ready), 10, "Go http server to listen")
        client = harness.track(subprocess.Popen(
            [go_peer(client_form), "http-client", f"https://127.0.0.1:{port}", client_report,
             str(count), str(size), str(parallel), *extra]))
        self.assertEqual(client.wait(timeout=120), 0)
        self.assertEqual(server.wait(timeout=60), 0)
        records = tracer.stop()
        with open(server_report) as f:
            served = json.load(f)
        with open(client_report) as f:
            fetched = json.load(f)
        self.assertEqual(len(served), count)
        self.assertEqual(len(fetched), count)
        server_conns = by_connection(records, server.pid)
        client_conns = by_connection(records, client.pid)
        self.assertLessEqual(len(client_conns), parallel)
        # Every connection an exchange travelled on was captured from both ends.
        client_ports = {c[0]["lport"] for c in client_conns.values()}
        self.assertLessEqual({e["port"] for e in served}, client_ports)
        for server_side in server_conns.values():
            rport = server_side[0]["rport"]
            if rport not in client_ports:
                # Go's HTTP/2 transport may dial a spare connection while the first is in its
                # handshake and close it unused: the server wrote its SETTINGS on it, the
                # client wrote nothing and the server read nothing.
                self.assertEqual([r for r in server_side if r["dir"] == "read"], [])
                self.assertNotIn(rport, {e["port"] for e in served})
                continue
            [client_side] = [c for c in client_conns.values() if c[0]["lport"] == rport]
            self.assert_go_records(server_side, "server", port, rport)
            self.assert_go_records(client_side, "client", rport, port)
            # What one side wrote is exactly what the other read.
            request_stream = stream(client_side, "write")
            reply_stream = stream(server_side, "write")
            self.assertEqual(request_stream, stream(server_side, "read"))
            self.assertEqual(reply_stream, stream(client_side, "read"))
            # And it holds the real bodies of this connection's exchanges.
            for exchange in (e for e in served if e["port"] == rport):
                self.assertIn(base64.b64decode(exchange["body"])[:4096], request_stream)
                self.assertIn(base64.b64decode(exchange["reply"])[:4096], reply_stream)
        self.assertEqual(lost_records(records), [])
        return records

    def test_net_http_h2_client_and_server(self):
        """net/http negotiates HTTP/2: a stripped client and a default server, 4 connections."""
        records = self.run_http("stripped", "normal", [], 200, 3000, 4)
        preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
        starts = [base64.b64decode(r["data"]) for r in data_records(records)
                  if r["role"] == "client" and r["dir"] == "write" and r["pos"] == 0]
        self.assertTrue(starts and all(s.startswith(preface) for s in starts), starts[:1])

    def test_net_http_h1_with_1mib_bodies(self):
        records = self.run_http("pie_stripped", "stripped", ["--h1"], 8, 1 << 20, 2)
        first = [base64.b64decode(r["data"]) for r in data_records(records)
                 if r["role"] == "client" and r["dir"] == "write" and r["pos"] == 0]
        self.assertTrue(first and all(s.startswith(b"POST /request/") for s in first))


if __name__ == "__main__":
    harness.main()
