"""python3's ssl module (SSL_write_ex / SSL_read_ex) on both ends: every byte, both
directions, both processes, exact; plus 1 MiB and 16 MiB single writes and 100k small
messages with zero loss."""
import os
import unittest

import harness
from harness import captured_bytes, data_records, lost_records


class PythonSslTest(unittest.TestCase):
    def setUp(self):
        self.work = harness.Workdir()

    def tearDown(self):
        self.work.cleanup()

    def exchange(self, payload, reply, message_size=0, tracer_args=()):
        """Runs a traced python server and client; returns (records, server pid, client pid)."""
        send, reply_path = self.work.file("send"), self.work.file("reply")
        with open(send, "wb") as f:
            f.write(payload)
        with open(reply_path, "wb") as f:
            f.write(reply)
        port = harness.free_port()
        tracer = harness.Tracer(self.work, *tracer_args)
        server = harness.start_peer_server(self.work, port, len(payload), reply_path)
        client = harness.run_peer("client", "--port", str(port), "--send-file", send,
                                  "--message-size", str(message_size),
                                  "--received-file", self.work.file("client-received"))
        self.assertEqual(client.wait(timeout=120), 0)
        self.assertEqual(server.wait(timeout=120), 0)
        records = tracer.stop()
        self.assertEqual(tracer.returncode, 0, tracer.stderr())
        # What the peers themselves say they received is the ground truth for both sides.
        with open(self.work.file("server-received"), "rb") as f:
            self.assertEqual(f.read(), payload)
        with open(self.work.file("client-received"), "rb") as f:
            self.assertEqual(f.read(), reply)
        return records, server.pid, client.pid

    def test_both_directions_exact(self):
        payload, reply = os.urandom(100_000), os.urandom(70_000)
        records, server, client = self.exchange(payload, reply, message_size=4096)
        self.assertEqual(captured_bytes(records, client, "write"), payload)
        self.assertEqual(captured_bytes(records, server, "read"), payload)
        self.assertEqual(captured_bytes(records, server, "write"), reply)
        self.assertEqual(captured_bytes(records, client, "read"), reply)
        functions = {r["func"] for r in data_records(records, client)}
        self.assertEqual(functions, {"SSL_write_ex", "SSL_read_ex"})
        writes = data_records(records, client, "write")
        self.assertEqual([r["len"] for r in writes], [4096] * 24 + [100_000 - 24 * 4096])
        for r in data_records(records, client):
            self.assertEqual(r["comm"], "python3")
            self.assertEqual(r["lib"], "openssl")
            self.assertFalse(r["truncated"])
        self.assertEqual(lost_records(records), [])

    def test_single_large_writes_are_one_record_each(self):
        for size in (1 << 20, 16 << 20):
            with self.subTest(size=size):
                payload = os.urandom(size)
                records, server, client = self.exchange(payload, b"ok",
                                                        tracer_args=("--max-bytes", "16M"))
                writes = data_records(records, client, "write")
                self.assertEqual(len(writes), 1)
                self.assertEqual(writes[0]["len"], size)
                self.assertFalse(writes[0]["truncated"])
                self.assertEqual(captured_bytes(records, client, "write"), payload)
                self.assertEqual(captured_bytes(records, server, "read"), payload)
                self.assertEqual(lost_records(records), [])

    def test_max_bytes_truncates_but_keeps_len(self):
        payload = os.urandom(300_000)
        records, _, client = self.exchange(payload, b"ok", tracer_args=("--max-bytes", "64K"))
        writes = data_records(records, client, "write")
        self.assertEqual(len(writes), 1)
        self.assertEqual(writes[0]["len"], len(payload))
        self.assertTrue(writes[0]["truncated"])
        self.assertEqual(captured_bytes(records, client, "write"), payload[:65536])

    def test_100k_small_messages_zero_loss(self):
        count, size = 100_000, 32
        payload = os.urandom(count * size)
        records, server, client = self.exchange(payload, b"done", message_size=size)
        writes = data_records(records, client, "write")
        self.assertEqual(len(writes), count)
        self.assertEqual(captured_bytes(records, client, "write"), payload)
        self.assertEqual(captured_bytes(records, server, "read"), payload)
        self.assertEqual(lost_records(records), [])


if __name__ == "__main__":
    harness.main()
