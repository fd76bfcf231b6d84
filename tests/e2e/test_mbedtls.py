"""mbedTLS: a C peer (mbedtls_ssl_write/mbedtls_ssl_read) as client and as server, talking to
itself and to python OpenSSL peers. Every byte exactly as each peer itself sent and received
it, one record per call that moved bytes, under `lib` mbedtls, with the connection's fields
and close records."""
import os
import unittest

import harness
import tls_side
from harness import lost_records

MBEDTLS_PEER = tls_side.built_program("MBEDTLS_PEER", "mbedtls_peer")


class MbedTlsTest(unittest.TestCase):
    def setUp(self):
        if not MBEDTLS_PEER:
            self.skipTest("mbedtls_peer not built (libmbedtls-dev missing at build time)")
        self.work = harness.Workdir()
        # A 1 MiB write is a loop of mbedtls_ssl_write calls of one record each.
        self.payload, self.reply = os.urandom((1 << 20) + 12_345), os.urandom(300_000)
        self.send, self.reply_path = self.work.file("send"), self.work.file("reply")
        harness.write_bytes(self.send, self.payload)
        harness.write_bytes(self.reply_path, self.reply)
        self.port = harness.free_port()

    def tearDown(self):
        self.work.cleanup()

    def server_args(self):
        return [MBEDTLS_PEER, "server", "--port", str(self.port), "--cert", self.work.cert,
                "--key", self.work.key, "--expect", str(len(self.payload)), "--reply-file",
                self.reply_path, "--received-file", self.work.file("server.recv"),
                "--info-file", self.work.file("server.info"), "--ready-file",
                self.work.file("server.ready")]

    def client_args(self):
        return [MBEDTLS_PEER, "client", "--port", str(self.port), "--send-file", self.send,
                "--received-file", self.work.file("client.recv"), "--info-file",
                self.work.file("client.info")]

    def assert_peer(self, records, name, role, sent, received):
        """The mbedTLS peer `name` (client|server): what it says it did, and tlstap's records
        of it. Returns its info."""
        info = tls_side.read_info(self.work.file(f"{name}.info"))
        self.assertEqual(harness.read_bytes(self.work.file(f"{name}.recv")), received)
        calls = {f: info[f] for f in ("mbedtls_ssl_read", "mbedtls_ssl_write")}
        self.assertGreater(calls["mbedtls_ssl_write"], 1)
        tls_side.assert_side(self, records, info["pid"], lib="mbedtls", sent=sent,
                             received=received, role=role, lport=info["lport"],
                             rport=info["rport"], fd=info["fd"], calls=calls)
        return info

    def test_mbedtls_client_and_server(self):
        ready = self.work.file("server.ready")
        script = ('"$@" & server=$!; '
                  f'while [ ! -e {ready} ]; do kill -0 $server || exit 1; sleep 0.05; done; '
                  + " ".join(self.client_args()) + '; client=$?; wait $server && exit $client')
        tracer = harness.Tracer(self.work, command=["sh", "-c", script, "sh",
                                                    *self.server_args()])
        records = tracer.wait()
        self.assertEqual(tracer.returncode, 0, tracer.stderr())
        client = self.assert_peer(records, "client", "client", self.payload, self.reply)
        server = self.assert_peer(records, "server", "server", self.reply, self.payload)
        self.assertEqual((client["rport"], server["lport"]), (self.port, self.port))
        self.assertEqual(client["lport"], server["rport"])
        self.assertEqual(lost_records(records), [])

    def test_mbedtls_client_with_python_openssl_server(self):
        server = harness.start_peer_server(self.work, self.port, len(self.payload),
                                           self.reply_path)
        tracer = harness.Tracer(self.work, command=self.client_args())  # the client only
        records = tracer.wait()
        self.assertEqual(tracer.returncode, 0, tracer.stderr())
        self.assertEqual(server.wait(timeout=30), 0)
        self.assertEqual(harness.read_bytes(self.work.file("server-received")), self.payload)
        info = self.assert_peer(records, "client", "client", self.payload, self.reply)
        self.assertEqual(info["rport"], self.port)
        self.assertEqual(lost_records(records), [])

    def test_python_openssl_client_with_mbedtls_server(self):
        tracer = harness.Tracer(self.work, command=self.server_args())  # the server only
        harness.wait_for(lambda: os.path.exists(self.work.file("server.ready")), 30,
                         "the mbedTLS server to listen")
        received = self.work.file("python.recv")
        client = harness.run_peer("client", "--port", str(self.port), "--send-file", self.send,
                                  "--received-file", received, "--message-size", "100000")
        self.assertEqual(client.wait(timeout=60), 0)
        records = tracer.wait()
        self.assertEqual(tracer.returncode, 0, tracer.stderr())
        self.assertEqual(harness.read_bytes(received), self.reply)
        info = self.assert_peer(records, "server", "server", self.reply, self.payload)
        self.assertEqual(info["lport"], self.port)
        self.assertEqual(lost_records(records), [])


if __name__ == "__main__":
    harness.main()
