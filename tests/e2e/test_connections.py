"""Connection identity: every record knows its fd, addresses, role, connection id and
position, for clients and servers, IPv4 and IPv6, calls served from OpenSSL's buffer,
connections opened before tlstap started; close records; state freed after close."""
import json
import os
import subprocess
import unittest

import harness
from harness import captured_bytes, data_records


def by_connection(records, pid):
    conns = {}
    for r in data_records(records, pid):
        conns.setdefault(r["conn"], []).append(r)
    return conns


class ConnectionTest(unittest.TestCase):
    def setUp(self):
        self.work = harness.Workdir()

    def tearDown(self):
        self.work.cleanup()

    def assert_positions_continuous(self, records):
        """pos of each record = bytes of the earlier records of its connection and direction."""
        seen = {}
        for r in records:
            key = (r["conn"], r["dir"])
            self.assertEqual(r["pos"], seen.get(key, 0), r)
            seen[key] = r["pos"] + r["len"]
        return seen

    def exchange(self, payload, reply, bind="127.0.0.1", server_extra=(), client_extra=(),
                 tracer_args=()):
        harness.write_bytes(self.work.file("send"), payload)
        harness.write_bytes(self.work.file("reply"), reply)
        port = harness.free_port()
        tracer = harness.Tracer(self.work, *tracer_args)
        server = harness.start_peer_server(self.work, port, len(payload), self.work.file("reply"),
                                           extra=("--bind", bind, *server_extra))
        client = harness.run_peer("client", "--port", str(port), "--bind", bind, "--send-file",
                                  self.work.file("send"), "--received-file",
                                  self.work.file("client-received"), *client_extra)
        self.assertEqual(client.wait(timeout=120), 0)
        self.assertEqual(server.wait(timeout=120), 0)
        return tracer.stop(), server.pid, client.pid, port

    def check_pair(self, records, server, client, port, address):
        (client_conn,) = by_connection(records, client).values()
        (server_conn,) = by_connection(records, server).values()
        c, s = client_conn[0], server_conn[0]
        self.assertEqual((c["role"], s["role"]), ("client", "server"))
        self.assertEqual((c["raddr"], c["rport"]), (address, port))
        self.assertEqual((s["laddr"], s["lport"]), (address, port))
        self.assertEqual((s["raddr"], s["rport"]), (c["laddr"], c["lport"]))  # the mirror
        self.assertEqual(c["laddr"], address)
        for r in client_conn + server_conn:
            self.assertGreaterEqual(r["fd"], 0)
        client_bytes = self.assert_positions_continuous(client_conn)
        server_bytes = self.assert_positions_continuous(server_conn)
        closes = {r["conn"]: r for r in records if r["type"] == "close"}
        for conn, seen in ((c["conn"], client_bytes), (s["conn"], server_bytes)):
            self.assertIn(conn, closes)
            self.assertEqual(closes[conn]["comm"], c["comm"])  # both peers are python3
            self.assertEqual(closes[conn]["write_bytes"], seen.get((conn, "write"), 0))
            self.assertEqual(closes[conn]["read_bytes"], seen.get((conn, "read"), 0))

    def test_ipv4_client_and_server(self):
        payload, reply = os.urandom(50_000), os.urandom(20_000)
        records, server, client, port = self.exchange(payload, reply,
                                                      client_extra=("--message-size", "1000"))
        self.check_pair(records, server, client, port, "127.0.0.1")
        self.assertEqual(captured_bytes(records, server, "read"), payload)

    def test_ipv6(self):
        payload, reply = os.urandom(10_000), os.urandom(10_000)
        records, server, client, port = self.exchange(payload, reply, bind="::1")
        self.check_pair(records, server, client, port, "::1")

    def test_unix_socket_shown_as_its_path(self):
        path = self.work.file("tls.sock")
        payload, reply = os.urandom(5000), os.urandom(3000)
        records, server, client, _ = self.exchange(payload, reply, server_extra=("--unix", path),
                                                   client_extra=("--unix", path))
        (client_conn,) = by_connection(records, client).values()
        (server_conn,) = by_connection(records, server).values()
        c, s = client_conn[0], server_conn[0]
        self.assertEqual((c["role"], c["raddr"]), ("client", path))
        self.assertEqual((s["role"], s["laddr"]), ("server", path))
        self.assertNotIn("lport", c)
        self.assertEqual(captured_bytes(records, client, "write"), payload)
        self.assertEqual(captured_bytes(records, server, "write"), reply)
        self.assert_positions_continuous(client_conn)

    def test_reads_served_from_openssls_buffer_keep_their_connection(self):
        # One 64 kB write arrives as a few TLS records; the server reads 100 bytes at a time,
        # so most SSL_read_ex calls are served from OpenSSL's buffer without a syscall.
        payload = os.urandom(64_000)
        records, server, client, port = self.exchange(payload, b"ok",
                                                      server_extra=("--read-size", "100"))
        reads = data_records(records, server, "read")
        # A read does not cross a TLS record boundary (16 kB), so a few return less than 100.
        self.assertGreaterEqual(len(reads), 640)
        self.assertLessEqual(len(reads), 650)
        self.check_pair(records, server, client, port, "127.0.0.1")
        self.assertEqual(captured_bytes(records, server, "read"), payload)

    def test_connection_opened_before_tlstap_started(self):
        payload = os.urandom(8_000)
        harness.write_bytes(self.work.file("send"), payload)
        harness.write_bytes(self.work.file("reply"), b"bye")
        port = harness.free_port()
        # A server that goes on listening after this connection, as servers do: for a
        # connection older than tlstap, a listening local port is what says "server".
        server = harness.start_peer_server(self.work, port, len(payload), self.work.file("reply"),
                                           extra=("--connections", "2"))
        paused, resume = self.work.file("paused"), self.work.file("resume")
        client = harness.run_peer("client", "--port", str(port), "--send-file",
                                  self.work.file("send"), "--message-size", "1000",
                                  "--pause-after", "3000", "--pause-file", paused,
                                  "--resume-file", resume,
                                  "--received-file", self.work.file("client-received"))
        harness.wait_for(lambda: os.path.exists(paused), 30, "client to pause")
        tracer = harness.Tracer(self.work)
        harness.write_bytes(resume, b"")
        self.assertEqual(client.wait(timeout=60), 0)
        harness.wait_for(lambda: any(r.get("role") == "server" for r in tracer.records()), 10,
                         "the server's records")
        records = tracer.stop()
        # Positions count from what tlstap saw; addresses and roles are complete.
        self.assertEqual(captured_bytes(records, client.pid, "write"), payload[3000:])
        self.check_pair(records, server.pid, client.pid, port, "127.0.0.1")

    def test_port_and_host_filters(self):
        payload = os.urandom(1000)
        records, server, client, port = self.exchange(
            payload, b"x", tracer_args=("--port", "1", "--port", "2"))
        self.assertEqual(data_records(records), [])
        # Nor close records of the connections filtered out.
        self.assertEqual([r for r in records if r["type"] == "close"], [])
        records, server, client, port = self.exchange(
            payload, b"x", tracer_args=("--host", "10.9.9.9"))
        self.assertEqual(data_records(records), [])
        self.assertEqual([r for r in records if r["type"] == "close"], [])
        records, server, client, port = self.exchange(payload, b"x",
                                                      tracer_args=("--host", "127.0.0.1"))
        self.assertEqual(captured_bytes(records, client, "write"), payload)

    def test_10k_short_connections_leave_no_state(self):
        count = 10_000
        payload = b"ping"
        records, server, client, port = self.exchange(
            payload, b"pong", server_extra=("--connections", str(count)),
            client_extra=("--connections", str(count)), tracer_args=("-v",))
        client_conns = by_connection(records, client)
        self.assertEqual(len(client_conns), count)
        closes = [r for r in records if r["type"] == "close" and r["pid"] == client]
        self.assertEqual(len(closes), count)
        self.assertTrue(all(c["write_bytes"] == 4 and c["read_bytes"] == 4 for c in closes))
        # Each connection had its own id even though the fd number was reused.
        self.assertEqual(len({c["fd"] for c in closes}), 1)
        # tlstap -v reports what it still holds at exit: nothing for the 10k closed connections
        # (the machine's other processes may hold a few BPF entries of their own).
        summary = harness.read_bytes(self.work.file("trace.stderr")).decode()
        self.assertIn("0 connections still tracked", summary)
        entries = int(summary.split("BPF connection state: ")[1].split()[0])
        self.assertLess(entries, 50, summary)


if __name__ == "__main__":
    harness.main()
