"""node's https client: OpenSSL is linked into the node binary, not a libssl. tlstap finds
it there and captures node's request and the server's response exactly."""
import os
import shutil
import unittest

import harness
from harness import captured_bytes, data_records, lost_records


class NodeTest(unittest.TestCase):
    def setUp(self):
        self.work = harness.Workdir()

    def tearDown(self):
        self.work.cleanup()

    def test_node_https_client_exact(self):
        node = shutil.which("node") or shutil.which("nodejs")
        self.assertIsNotNone(node, "node is not installed")
        body = os.urandom(20_000)
        send = self.work.file("send")
        harness.write_bytes(send, body)
        reply_body = os.urandom(30_000)
        reply = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s" % (
            len(reply_body), reply_body)
        harness.write_bytes(self.work.file("reply"), reply)
        port = harness.free_port()
        # TLS has no half-close, so the server must know the request's length: node sends these
        # headers for https_client.js's request (only the length matters; the bytes compared
        # below are the ones the server really received).
        request_head = (b"POST /upload HTTP/1.1\r\nContent-Length: %d\r\nConnection: close\r\n"
                        b"Host: 127.0.0.1:%d\r\n\r\n" % (len(body), port))
        server = harness.start_peer_server(self.work, port, len(request_head) + len(body),
                                           self.work.file("reply"))
        tracer = harness.Tracer(self.work, "-v", command=[node, os.path.join(
            harness.PROGS, "https_client.js"), str(port), send, self.work.file("received")])
        records = tracer.wait()
        self.assertEqual(tracer.returncode, 0, tracer.stderr())
        self.assertEqual(server.wait(timeout=30), 0)
        self.assertIn(f"attached to {os.path.realpath(node)}", tracer.stderr())

        request = harness.read_bytes(self.work.file("server-received"))
        self.assertTrue(request.endswith(body))
        self.assertEqual(harness.read_bytes(self.work.file("received")), reply_body)
        node_records = [r for r in data_records(records) if r["comm"] == "node"]
        self.assertTrue(node_records, "no records from node")
        node_pid = node_records[0]["pid"]
        self.assertEqual(captured_bytes(records, node_pid, "write"), request)
        self.assertEqual(captured_bytes(records, node_pid, "read"), reply)
        self.assertEqual(lost_records(records), [])


if __name__ == "__main__":
    harness.main()
