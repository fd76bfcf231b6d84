"""curl -> openssl s_server, both traced: every byte each side sent and received, exactly
as curl's own --trace says it sent and received them."""
import os
import re
import subprocess
import unittest

import harness
from harness import captured_bytes, data_records, lost_records


def curl_trace_bytes(path):
    """Parses `curl --trace FILE`: returns (bytes sent, bytes received) in plaintext, i.e. the
    "Send/Recv header" and "Send/Recv data" blocks, not the "SSL data" (handshake) ones."""
    sent, received = bytearray(), bytearray()
    target = None
    with open(path, encoding="latin-1") as f:
        for line in f:
            block = re.match(r"^(=>|<=) (Send|Recv) (header|data|SSL data|\S.*),", line)
            if block:
                kind = block.group(3)
                target = None
                if kind in ("header", "data"):
                    target = sent if block.group(1) == "=>" else received
                continue
            dump = re.match(r"^[0-9a-f]{4}: ", line)
            if dump and target is not None:
                hex_part = line[6:6 + 48]  # 16 bytes as "xx " columns
                target.extend(bytes.fromhex(hex_part.replace(" ", "")))
            elif not dump:
                target = None
    return bytes(sent), bytes(received)


class CurlOpensslTest(unittest.TestCase):
    def setUp(self):
        self.work = harness.Workdir()

    def tearDown(self):
        self.work.cleanup()

    def test_curl_and_s_server_exact(self):
        # s_server's plain mode calls SSL_read/SSL_write itself, prints what it reads from the
        # client to stdout and sends what it reads from stdin: both of its sides are known.
        # (-www/-WWW go through BIO_f_ssl, which calls OpenSSL's internal functions.)
        body = os.urandom(48_000).hex().encode()
        response = b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
        port = harness.free_port()
        server_out = self.work.file("s_server.out")
        with open(server_out, "wb") as out:
            server = subprocess.Popen(["openssl", "s_server", "-accept", str(port), "-cert",
                                       self.work.cert, "-key", self.work.key, "-quiet"],
                                      stdin=subprocess.PIPE, stdout=out,
                                      stderr=subprocess.DEVNULL)
        try:
            harness.wait_for_port(port)
            tracer = harness.Tracer(self.work, "--max-bytes", "1M")
            trace, body_path = self.work.file("curl.trace"), self.work.file("body")
            curl = subprocess.Popen(["curl", "-sk", "--http1.1", "--trace", trace, "-o",
                                     body_path, f"https://127.0.0.1:{port}/doc.txt"])
            harness.wait_for(lambda: harness.read_bytes(server_out).endswith(b"\r\n\r\n"), 30,
                             "the request at s_server")
            server.stdin.write(response)
            server.stdin.flush()
            self.assertEqual(curl.wait(timeout=60), 0)
            records = tracer.stop()
        finally:
            server.kill()
            server.wait()
            server.stdin.close()
        with open(body_path, "rb") as f:
            self.assertEqual(f.read(), body)
        sent, received = curl_trace_bytes(trace)
        with open(server_out, "rb") as f:
            self.assertEqual(f.read(), sent)  # what s_server says it received
        self.assertTrue(sent.startswith(b"GET /doc.txt HTTP/1.1\r\n"), sent[:40])
        self.assertEqual(received, response)

        curl_pid = curl.pid
        self.assertEqual(captured_bytes(records, curl_pid, "write"), sent)
        self.assertEqual(captured_bytes(records, curl_pid, "read"), received)
        self.assertEqual(captured_bytes(records, server.pid, "read"), sent)
        self.assertEqual(captured_bytes(records, server.pid, "write"), response)
        self.assertEqual({r["comm"] for r in data_records(records, server.pid)}, {"openssl"})
        self.assertEqual(lost_records(records), [])

        # Connection identity: curl's records point at s_server's listen address; s_server's
        # are the mirror; each side has one connection, its close record counts its bytes.
        client_records = data_records(records, curl_pid)
        server_records = data_records(records, server.pid)
        self.assertEqual({r["conn"] for r in client_records}, {client_records[0]["conn"]})
        self.assertEqual({r["conn"] for r in server_records}, {server_records[0]["conn"]})
        c, s = client_records[0], server_records[0]
        self.assertEqual((c["role"], c["raddr"], c["rport"]), ("client", "127.0.0.1", port))
        self.assertEqual((s["role"], s["laddr"], s["lport"]), ("server", "127.0.0.1", port))
        self.assertEqual((s["raddr"], s["rport"]), (c["laddr"], c["lport"]))
        for side in (client_records, server_records):
            position = {"read": 0, "write": 0}
            for r in side:
                self.assertEqual(r["pos"], position[r["dir"]])
                position[r["dir"]] += r["len"]
        closes = {r["conn"]: r for r in records if r["type"] == "close"}
        self.assertEqual((closes[c["conn"]]["write_bytes"], closes[c["conn"]]["read_bytes"]),
                         (len(sent), len(received)))


if __name__ == "__main__":
    harness.main()
