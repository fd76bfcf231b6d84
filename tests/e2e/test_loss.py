"""An overloaded tracer: a tiny ring buffer and a fast bulk transfer. Loss must be said, and
every byte that is shown must sit at its true position: for each record, data equals the
payload at [pos, pos + captured), gaps in pos add up to the bytes reported lost."""
import base64
import os
import unittest

import harness
from harness import data_records, lost_records


class LossTest(unittest.TestCase):
    def setUp(self):
        self.work = harness.Workdir()

    def tearDown(self):
        self.work.cleanup()

    def test_losses_are_counted_and_positions_stay_true(self):
        message, count = 32 * 1024, 2000  # 64 MiB in 32 KiB calls through a 64 KiB ring
        payload = os.urandom(message * count)
        harness.write_bytes(self.work.file("send"), payload)
        harness.write_bytes(self.work.file("reply"), b"ok")
        port = harness.free_port()
        tracer = harness.Tracer(self.work, "--buffer-size", "64K", "--comm", "python3")
        server = harness.start_peer_server(self.work, port, len(payload), self.work.file("reply"))
        client = harness.run_peer("client", "--port", str(port), "--send-file",
                                  self.work.file("send"), "--message-size", str(message),
                                  "--received-file", self.work.file("client-received"))
        self.assertEqual(client.wait(timeout=300), 0)
        self.assertEqual(server.wait(timeout=300), 0)
        records = tracer.stop()

        writes = data_records(records, client.pid, "write")
        shown = 0
        expected_pos = 0
        for r in writes:
            data = base64.b64decode(r["data"])
            self.assertGreaterEqual(r["pos"], expected_pos)
            self.assertEqual(r["len"], message)
            self.assertEqual(data, payload[r["pos"]:r["pos"] + len(data)], r["pos"])
            if len(data) < r["len"]:
                self.assertEqual(r["truncated_by"], "ring-buffer-full")
            shown += len(data)
            expected_pos = r["pos"] + r["len"]
        # Every byte both peers moved (payload one way, "ok" back) is shown or counted lost.
        peers = data_records(records, client.pid) + data_records(records, server.pid)
        shown_all = sum(len(base64.b64decode(r["data"])) for r in peers)
        lost_bytes = sum(r["bytes"] for r in lost_records(records))
        self.assertEqual(shown_all + lost_bytes, 2 * (len(payload) + 2))
        print(f"shown {shown_all} bytes, lost {lost_bytes} bytes "
              f"in {sum(r['events'] for r in lost_records(records))} events")
        self.assertGreater(lost_bytes, 0, "the ring buffer was not overloaded: no loss to check")
        summary = tracer.stderr()
        self.assertIn(f"({lost_bytes} bytes)", summary)


if __name__ == "__main__":
    harness.main()
