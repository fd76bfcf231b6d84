"""Programs that run OpenSSL over memory BIOs (node, python asyncio) and node's habit of
writing from inside SSL_read: every call is a record, byte-exact, and every record carries the
connection of the real socket (checked against the ports the peers themselves report)."""
import base64
import json
import os
import shutil
import unittest

import harness
from harness import data_records, lost_records

NODE = shutil.which("node") or shutil.which("nodejs")
NODE_PEERS = os.path.join(harness.PROGS, "node_peers.js")
ASYNCIO_PEER = os.path.join(harness.PROGS, "asyncio_peer.py")


by_connection = harness.by_connection
stream = harness.contiguous_stream


class MemoryBioTest(unittest.TestCase):
    def setUp(self):
        self.work = harness.Workdir()

    def tearDown(self):
        self.work.cleanup()

    def assert_connection(self, records, role, lport, rport):
        harness.assert_connection_fields(self, records, role, lport, rport)

    def start_node_server(self, mode, port, count):
        ready = self.work.file(f"{mode}-ready")
        report = self.work.file(f"{mode}-report.json")
        server = harness.track(__import__("subprocess").Popen(
            [NODE, NODE_PEERS, mode, str(port), self.work.cert, self.work.key, ready, report,
             str(count)]))
        harness.wait_for(lambda: os.path.exists(ready), 10, "node server to listen")
        return server, report

    @unittest.skipIf(NODE is None, "node is not installed")
    def test_node_write_inside_read_is_captured(self):
        """tls.connect's callback runs inside SSL_read (handshake done): its write is a record."""
        port = harness.free_port()
        first = b"first line, written from the connect callback\n"
        second = b"second line, written 200 ms later\n"
        harness.write_bytes(self.work.file("reply"), b"ok")
        server = harness.start_peer_server(self.work, port, len(first + second),
                                           self.work.file("reply"))
        report = self.work.file("report.json")
        tracer = harness.Tracer(self.work, command=[NODE, NODE_PEERS, "tls-connect", str(port),
                                                   report])
        records = tracer.wait()
        self.assertEqual(tracer.returncode, 0, tracer.stderr())
        self.assertEqual(server.wait(timeout=30), 0)
        self.assertEqual(harness.read_bytes(self.work.file("server-received")), first + second)
        lport = json.load(open(report))["lport"]
        node_pid = data_records(records)[0]["pid"]
        writes = data_records(records, node_pid, "write")
        self.assertEqual([base64.b64decode(r["data"]) for r in writes], [first, second])
        self.assertEqual([r["pos"] for r in writes], [0, len(first)])
        self.assert_connection(writes, "client", lport, port)
        closes = [r for r in records if r["type"] == "close" and r["pid"] == node_pid]
        self.assertEqual([c["write_bytes"] for c in closes], [len(first + second)])
        self.assertEqual(lost_records(records), [])

    @unittest.skipIf(NODE is None, "node is not installed")
    def test_node_fetch_to_node_https_server(self):
        """undici's fetch() writes each request from inside SSL_read; the node https server
        answers; both sides exact, per connection, with the real sockets' ports."""
        port = harness.free_port()
        body = os.urandom(64 * 1024)
        harness.write_bytes(self.work.file("body"), body)
        tracer = harness.Tracer(self.work, "--comm", "node")
        server, server_report = self.start_node_server("https-server", port, 2)
        client_report = self.work.file("fetch-report.json")
        client = harness.track(__import__("subprocess").Popen(
            [NODE, NODE_PEERS, "fetch", str(port), self.work.file("body"), client_report]))
        self.assertEqual(client.wait(timeout=60), 0)
        self.assertEqual(server.wait(timeout=30), 0)
        records = tracer.stop()

        served = json.load(open(server_report))
        fetched = json.load(open(client_report))
        self.assertEqual(base64.b64decode(served[0]["body"]), body)
        self.assertEqual(base64.b64decode(fetched["post"]), base64.b64decode(served[0]["reply"]))
        self.assertEqual(base64.b64decode(fetched["get"]), base64.b64decode(served[1]["reply"]))

        server_conns = by_connection(records, server.pid)
        client_conns = by_connection(records, client.pid)
        self.assertEqual(len(server_conns), 2, list(server_conns))
        self.assertEqual(len(client_conns), 2, list(client_conns))
        for request in served:
            rport = request["rport"]
            [server_side] = [c for c in server_conns.values() if c[0]["rport"] == rport]
            [client_side] = [c for c in client_conns.values() if c[0]["lport"] == rport]
            self.assert_connection(server_side, "server", port, rport)
            self.assert_connection(client_side, "client", rport, port)
            # What one side wrote is exactly what the other read, and holds the real bodies.
            sent_request = stream(client_side, "write")
            self.assertEqual(sent_request, stream(server_side, "read"))
            self.assertTrue(sent_request.endswith(base64.b64decode(request["body"])))
            sent_reply = stream(server_side, "write")
            self.assertEqual(sent_reply, stream(client_side, "read"))
            self.assertTrue(sent_reply.endswith(base64.b64decode(request["reply"])))
        self.assertEqual(lost_records(records), [])

    @unittest.skipIf(NODE is None, "node is not installed")
    def test_node_https_server_with_concurrent_clients(self):
        """Five connections at once to one node https server (one thread, memory BIOs): every
        record of the server on the connection of the client that sent it, bytes exact."""
        port = harness.free_port()
        count = 5
        tracer = harness.Tracer(self.work, "--comm", "node")
        server, server_report = self.start_node_server("https-server", port, count)
        client_report = self.work.file("http-clients.json")
        client = harness.track(__import__("subprocess").Popen(
            [harness.PYTHON, ASYNCIO_PEER, "http-clients", str(port), client_report,
             str(count)]))
        self.assertEqual(client.wait(timeout=60), 0)
        self.assertEqual(server.wait(timeout=30), 0)
        records = tracer.stop()
        server_conns = by_connection(records, server.pid)
        self.assertEqual(len(server_conns), count)
        for connection in json.load(open(client_report)):
            lport = connection["lport"]
            [server_side] = [c for c in server_conns.values() if c[0]["rport"] == lport]
            self.assert_connection(server_side, "server", port, lport)
            self.assertEqual(stream(server_side, "read"), base64.b64decode(connection["sent"]))
            self.assertEqual(stream(server_side, "write"),
                             base64.b64decode(connection["received"]))
        self.assertEqual(lost_records(records), [])

    @unittest.skipIf(NODE is None, "node is not installed")
    def test_node_http2_server_and_client(self):
        port = harness.free_port()
        tracer = harness.Tracer(self.work, "--comm", "node")
        server, server_report = self.start_node_server("http2-server", port, 2)
        client_report = self.work.file("h2-client.json")
        client = harness.track(__import__("subprocess").Popen(
            [NODE, NODE_PEERS, "http2-client", str(port), client_report]))
        self.assertEqual(client.wait(timeout=60), 0)
        self.assertEqual(server.wait(timeout=30), 0)
        records = tracer.stop()
        lport = json.load(open(client_report))["lport"]
        [server_side] = by_connection(records, server.pid).values()
        [client_side] = by_connection(records, client.pid).values()
        self.assert_connection(server_side, "server", port, lport)
        self.assert_connection(client_side, "client", lport, port)
        self.assertEqual(stream(client_side, "write"), stream(server_side, "read"))
        self.assertEqual(stream(server_side, "write"), stream(client_side, "read"))
        self.assertTrue(stream(client_side, "write").startswith(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"))
        # Each reply body travels in DATA frames: the bytes are in the server's writes.
        for request in json.load(open(server_report)):
            self.assertIn(base64.b64decode(request["reply"]), stream(server_side, "write"))
        self.assertEqual(lost_records(records), [])

    def test_python_asyncio_server_and_clients(self):
        self.run_asyncio_exchange(lambda port: ("--comm", "python3"))

    def test_port_filter_keeps_memory_bio_records_until_their_binding(self):
        """--port cannot be decided in BPF before a memory-BIO connection is bound: the first
        exchange (the server's request read, the client's first write) must not be lost."""
        self.run_asyncio_exchange(lambda port: ("--port", str(port)))

    def run_asyncio_exchange(self, tracer_args):
        port = harness.free_port()
        messages = ["first client", "second client", "third client"]
        ready = self.work.file("asyncio-ready")
        server_report = self.work.file("asyncio-server.json")
        client_report = self.work.file("asyncio-client.json")
        tracer = harness.Tracer(self.work, *tracer_args(port))
        server = harness.track(__import__("subprocess").Popen(
            [harness.PYTHON, ASYNCIO_PEER, "server", str(port), self.work.cert, self.work.key,
             ready, server_report, str(len(messages))]))
        harness.wait_for(lambda: os.path.exists(ready), 10, "asyncio server to listen")
        client = harness.track(__import__("subprocess").Popen(
            [harness.PYTHON, ASYNCIO_PEER, "client", str(port), client_report, *messages]))
        self.assertEqual(client.wait(timeout=60), 0)
        self.assertEqual(server.wait(timeout=30), 0)
        records = tracer.stop()

        served = {c["rport"]: c for c in json.load(open(server_report))}
        server_conns = by_connection(records, server.pid)
        client_conns = by_connection(records, client.pid)
        self.assertEqual(len(server_conns), 3)
        self.assertEqual(len(client_conns), 3)
        for connection in json.load(open(client_report)):
            lport = connection["lport"]
            [client_side] = [c for c in client_conns.values() if c[0]["lport"] == lport]
            [server_side] = [c for c in server_conns.values() if c[0]["rport"] == lport]
            self.assert_connection(client_side, "client", lport, port)
            self.assert_connection(server_side, "server", port, lport)
            self.assertEqual(stream(client_side, "write"), base64.b64decode(connection["sent"]))
            self.assertEqual(stream(client_side, "read"), base64.b64decode(connection["received"]))
            self.assertEqual(stream(server_side, "read"), base64.b64decode(served[lport]["received"]))
            self.assertEqual(stream(server_side, "write"), base64.b64decode(served[lport]["sent"]))
        # A long-lived asyncio server's connections get close records too.
        closes = {r["conn"] for r in records if r["type"] == "close" and r["pid"] == server.pid}
        self.assertEqual(closes, set(server_conns))
        self.assertEqual(lost_records(records), [])


if __name__ == "__main__":
    harness.main()
