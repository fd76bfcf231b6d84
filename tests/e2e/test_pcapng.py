"""-w FILE: the plaintext as a pcapng capture that tshark dissects as the application protocol
with no Decode As and no preference, also on port 443. Every check compares what tshark reads
from the capture with what the real peers sent (curl --trace, the servers' own reports)."""
import base64
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import unittest

import harness
from test_curl_openssl import curl_trace_bytes

TSHARK = "tshark"
PROGS = harness.PROGS


def tshark(path, *args):
    """Runs tshark on a capture; tshark's own stderr must say nothing about the file (only the
    notice it prints when run as root)."""
    result = subprocess.run([TSHARK, "-r", path, *args], capture_output=True, text=True,
                            timeout=120)
    noise = [line for line in result.stderr.splitlines()
             if line.strip() and "Running as user" not in line]
    assert result.returncode == 0 and not noise, (result.returncode, result.stderr)
    return result.stdout


def fields(path, display_filter, *names):
    args = ["-Y", display_filter, "-T", "fields", "-E", "separator=|"]
    for name in names:
        args += ["-e", name]
    return [tuple(line.split("|")) for line in tshark(path, *args).splitlines() if line]


def follow_raw(path, stream):
    """tshark's Follow TCP Stream, raw: (bytes from the first node, bytes from the second)."""
    out = tshark(path, "-q", "-z", f"follow,tcp,raw,{stream}")
    first, second = bytearray(), bytearray()
    started = False
    for line in out.splitlines():
        if line.startswith("Node 1:"):
            started = True
            continue
        if not started or line.startswith("===") or not line.strip():
            continue
        if line.startswith("\t"):
            second += bytes.fromhex(line.strip())
        else:
            first += bytes.fromhex(line.strip())
    return bytes(first), bytes(second)


def assert_clean(test, path):
    """No malformed packet, no expert error, and no TCP analysis complaint (retransmission,
    lost segment, ...) in a capture of a connection seen whole."""
    test.assertEqual(fields(path, "_ws.malformed || _ws.expert.severity == error", "frame.number"),
                     [])
    test.assertEqual(fields(path, "tcp.analysis.flags", "frame.number", "_ws.expert.message"), [])


def read_text(path):
    with open(path) as f:
        return f.read()


def port_is_free(port):
    try:
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False


class PcapngTest(unittest.TestCase):
    def setUp(self):
        self.work = harness.Workdir()
        self.capture = self.work.file("out.pcapng")

    def tearDown(self):
        self.work.cleanup()

    def start_http11_server(self, port, address="127.0.0.1"):
        ready = self.work.file(f"ready-{port}")
        server = harness.track(subprocess.Popen(
            [harness.PYTHON, os.path.join(PROGS, "http11_echo_server.py"), address, str(port),
             self.work.cert, self.work.key, ready]))
        harness.wait_for(lambda: os.path.exists(ready) or server.poll() is not None, 10,
                         "server to listen")
        self.assertIsNone(server.poll())
        return server

    def curl_keepalive(self, port, host="127.0.0.1"):
        """Three requests on one connection: two GETs and a POST. Returns what curl sent and
        received, from its own trace."""
        trace = self.work.file(f"curl-{port}.trace")
        base = f"https://{host}:{port}"
        subprocess.run(["curl", "-sk", "--http1.1", "--trace", trace, "-o", "/dev/null",
                        f"{base}/first", "--next", "-sk", "--http1.1", "-o", "/dev/null",
                        f"{base}/second?q=1", "--next", "-sk", "--http1.1", "-o", "/dev/null",
                        "-d", "posted body", f"{base}/third"], check=True, timeout=60)
        return curl_trace_bytes(trace)

    def check_http11_capture(self, port, sent, received, address="127.0.0.1"):
        requests = fields(self.capture, "http.request", "http.request.method",
                          "http.request.uri", "tcp.dstport")
        self.assertEqual(requests, [("GET", "/first", str(port)),
                                    ("GET", "/second?q=1", str(port)),
                                    ("POST", "/third", str(port))])
        # Both curl and the server were traced: one TCP stream, each byte once, exactly what
        # curl sent and received.
        streams = {s for (s,) in fields(self.capture, "tcp.len > 0", "tcp.stream")}
        self.assertEqual(streams, {"0"})
        client_to_server, server_to_client = follow_raw(self.capture, 0)
        self.assertEqual(client_to_server, sent)
        self.assertEqual(server_to_client, received)
        ip = "ipv6" if ":" in address else "ip"
        servers = set()
        for src, dst, sport, dport in fields(self.capture, "tcp.len > 0", f"{ip}.src",
                                             f"{ip}.dst", "tcp.srcport", "tcp.dstport"):
            servers.add((dst, dport) if dport == str(port) else (src, sport))
        self.assertEqual(servers, {(address, str(port))})
        # Seen from the start and to the end: SYN, SYN-ACK, and curl's FIN.
        self.assertEqual(len(fields(self.capture, "tcp.flags.syn == 1", "frame.number")), 2)
        self.assertGreaterEqual(len(fields(self.capture, "tcp.flags.fin == 1", "frame.number")),
                                1)
        assert_clean(self, self.capture)
        # One dissector hint for the one stream, naming Wireshark's HTTP heuristic.
        self.assertEqual(fields(self.capture, "exported_pdu", "exported_pdu.heur_prot_name"),
                         [("http_tcp",)])
        comments = [c for (c,) in fields(self.capture, "tcp.len > 0", "frame.comment")]
        self.assertTrue(all(c.startswith(("curl[", "python3[")) and " tid=" in c
                            for c in comments), comments[:5])

    def run_http11(self, port):
        server = self.start_http11_server(port)
        tracer = harness.Tracer(self.work, "-w", self.capture, "--port", str(port))
        sent, received = self.curl_keepalive(port)
        tracer.stop()
        server.kill()
        self.assertEqual(tracer.returncode, 0, tracer.stderr())
        self.assertTrue(sent.startswith(b"GET /first HTTP/1.1\r\n"), sent[:30])
        self.assertEqual(stat.S_IMODE(os.stat(self.capture).st_mode), 0o600)
        self.assertIn("tlstap: pcapng ", tracer.stderr())
        self.check_http11_capture(port, sent, received)

    def test_http11_keepalive_on_a_free_port(self):
        self.run_http11(harness.free_port())

    def test_http11_keepalive_on_port_443(self):
        if not port_is_free(443):
            self.skipTest("port 443 is in use here")
        self.run_http11(443)

    def test_http11_over_ipv6(self):
        port = harness.free_port()
        server = self.start_http11_server(port, "::1")
        tracer = harness.Tracer(self.work, "-w", self.capture, "--port", str(port))
        sent, received = self.curl_keepalive(port, "[::1]")
        tracer.stop()
        server.kill()
        self.check_http11_capture(port, sent, received, "::1")

    def test_http2_headers_decoded(self):
        port = 443 if port_is_free(443) else harness.free_port()
        ready, report = self.work.file("h2-ready"), self.work.file("h2-report.json")
        server = harness.track(subprocess.Popen(
            ["node", os.path.join(PROGS, "node_peers.js"), "http2-server", str(port),
             self.work.cert, self.work.key, ready, report, "2"]))
        harness.wait_for(lambda: os.path.exists(ready), 20, "node to listen")
        tracer = harness.Tracer(self.work, "-w", self.capture, "--port", str(port))
        base = f"https://127.0.0.1:{port}"
        subprocess.run(["curl", "-sk", "--http2", "-o", "/dev/null", f"{base}/h2/one",
                        "--next", "-sk", "--http2", "-o", "/dev/null", "-d", "h2 body",
                        f"{base}/h2/two"], check=True, timeout=60)
        harness.wait_for(lambda: os.path.exists(report), 20, "the server's report")
        tracer.stop()
        server.wait(timeout=10)
        with open(report) as f:
            replies = json.load(f)
        requests = fields(self.capture, "http2.type == 1 && http2.header.name == \":method\"",
                          "http2.headers.method", "http2.headers.path")
        self.assertEqual(requests, [("GET", "/h2/one"), ("POST", "/h2/two")])
        statuses = fields(self.capture, "http2.headers.status", "http2.headers.status")
        self.assertEqual(statuses, [("200",), ("200",)])
        # The response bodies (Wireshark reassembles each stream's DATA frames), as the server
        # says it sent them.
        bodies = fields(self.capture, "http2.body.reassembled.data && tcp.srcport == %d" % port,
                        "http2.body.reassembled.data")
        self.assertEqual([bytes.fromhex(b.replace(":", "")) for (b,) in bodies],
                         [base64.b64decode(r["reply"]) for r in replies])
        self.assertEqual(fields(self.capture, "_ws.malformed || _ws.expert.severity == error",
                                "frame.number"), [])

    def test_truncated_calls_show_as_gaps_at_their_place(self):
        """--max-bytes cuts curl's large reads: each cut is a hole in the sequence space, and
        tshark marks the segment after it "previous segment not captured" exactly there."""
        port = harness.free_port()
        server = self.start_http11_server(port)
        tracer = harness.Tracer(self.work, "-w", self.capture, "--port", str(port),
                                "--comm", "curl", "--max-bytes", "2K")
        body = os.urandom(60_000).hex()
        body_path = self.work.file("body")
        with open(body_path, "w") as f:
            f.write(body)
        subprocess.run(["curl", "-sk", "--http1.1", "-o", "/dev/null", "--data-binary",
                        "@" + body_path, f"https://127.0.0.1:{port}/big"], check=True,
                       timeout=60)
        records = tracer.stop()
        server.kill()
        reads = [r for r in harness.data_records(records, direction="read")]
        writes = [r for r in harness.data_records(records, direction="write")]
        # Every hole in each direction, where the next record starts (relative seq = pos + 1).
        expected = set()
        for stream in (reads, writes):
            for previous, record in zip(stream, stream[1:]):
                captured = len(base64.b64decode(previous["data"]))
                if previous["pos"] + captured < record["pos"]:
                    expected.add((record["dir"] == "write", record["pos"] + 1))
        self.assertTrue(any(w for (w, _) in expected), "the request body was not cut")
        lost = fields(self.capture, "tcp.analysis.lost_segment", "tcp.dstport", "tcp.seq")
        self.assertEqual({(int(p) == port, int(s)) for (p, s) in lost}, expected)

    def test_midstream_connection_has_no_handshake(self):
        """A connection older than tlstap: no SYN (Wireshark shows the stream starting
        midway), its bytes from the first one tlstap saw, a FIN when it closes."""
        port = harness.free_port()
        first, second = b"A" * 100, b"B" * 200
        harness.write_bytes(self.work.file("send"), first + second)
        harness.write_bytes(self.work.file("reply"), b"reply")
        server = harness.start_peer_server(self.work, port, len(first + second),
                                           self.work.file("reply"))
        handshaken, go = self.work.file("handshaken"), self.work.file("go")
        client = harness.run_peer("client", "--port", str(port), "--send-file",
                                  self.work.file("send"), "--message-size", "100",
                                  "--received-file", self.work.file("client-received"),
                                  "--handshake-file", handshaken, "--send-after-file", go)
        harness.wait_for(lambda: os.path.exists(handshaken), 10, "the client's handshake")
        tracer = harness.Tracer(self.work, "-w", self.capture, "-p", str(client.pid))
        harness.write_bytes(go, b"")
        self.assertEqual(client.wait(timeout=30), 0)
        self.assertEqual(server.wait(timeout=30), 0)
        records = tracer.stop()
        self.assertTrue(all(r.get("midstream") for r in harness.data_records(records)), records)
        self.assertEqual(fields(self.capture, "tcp.flags.syn == 1", "frame.number"), [])
        self.assertEqual(len(fields(self.capture, "tcp.flags.fin == 1", "frame.number")), 2)
        sent, received = follow_raw(self.capture, 0)
        self.assertEqual(sent, first + second)
        self.assertEqual(received, harness.read_bytes(self.work.file("client-received")))
        self.assertEqual(received, b"reply")

    def test_stdout_pipe_into_tshark(self):
        """-w - streams the capture to stdout (records are not written there); tshark reads it
        from the pipe."""
        port = harness.free_port()
        server = self.start_http11_server(port)
        stderr_path = self.work.file("pipe.stderr")
        with open(self.capture, "wb") as out, open(stderr_path, "w") as stderr:
            tlstap = harness.track(subprocess.Popen(
                [harness.TLSTAP, "-w", "-", "--port", str(port)], stdout=subprocess.PIPE,
                stderr=stderr))
            reader = subprocess.Popen([TSHARK, "-r", "-", "-w", "-", "-F", "pcapng"],
                                      stdin=tlstap.stdout, stdout=out,
                                      stderr=subprocess.DEVNULL)
            tlstap.stdout.close()
            harness.wait_for(lambda: "Ctrl-C" in read_text(stderr_path), 30, "tlstap")
            sent, received = self.curl_keepalive(port)
            tlstap.send_signal(2)
            self.assertEqual(tlstap.wait(timeout=60), 0, read_text(stderr_path))
            self.assertEqual(reader.wait(timeout=60), 0)
        server.kill()
        self.check_http11_capture(port, sent, received)

    def test_closed_pipe_is_reported_once(self):
        port = harness.free_port()
        server = self.start_http11_server(port)
        stderr = self.work.file("closed.stderr")
        with open(stderr, "w") as err:
            tlstap = harness.track(subprocess.Popen(
                [harness.TLSTAP, "-w", "-", "-o", self.work.file("records.txt"), "--port",
                 str(port)], stdout=subprocess.PIPE, stderr=err))
        tlstap.stdout.close()  # nobody reads the capture
        harness.wait_for(lambda: "Ctrl-C" in read_text(stderr), 30, "tlstap")
        self.curl_keepalive(port)
        harness.wait_for(lambda: "pcapng" in read_text(stderr), 10, "the error")
        tlstap.send_signal(2)
        code = tlstap.wait(timeout=60)
        server.kill()
        text = read_text(stderr)
        self.assertEqual(code, 1, text)
        self.assertEqual(text.count("Broken pipe"), 1, text)
        self.assertRegex(text, r"tlstap: pcapng stdout: \d+ packets .*, \d+ of them not written")
        # The records went on being written to -o.
        self.assertIn("GET /second?q=1 HTTP/1.1", read_text(self.work.file("records.txt")))

    def test_full_disk_is_reported_once(self):
        """/dev/full fails every write with ENOSPC: said once, counted, exit status 1; the
        records still go to -o."""
        port = harness.free_port()
        server = self.start_http11_server(port)
        tracer = harness.Tracer(self.work, "-w", "/dev/full", "--port", str(port))
        self.curl_keepalive(port)
        records = tracer.stop()
        server.kill()
        text = tracer.stderr()
        self.assertEqual(tracer.returncode, 1, text)
        self.assertEqual(text.count("No space left on device"), 1, text)
        self.assertRegex(text, r"tlstap: pcapng /dev/full: \d+ packets .*, \d+ of them not "
                         r"written \(write error\)")
        self.assertTrue(harness.data_records(records))


if __name__ == "__main__":
    if shutil.which(TSHARK) is None:
        # scripts/install-deps.sh installs it; a machine without it cannot run this test.
        print("FAIL: tshark is not installed (scripts/install-deps.sh)", file=sys.stderr)
        sys.exit(1)
    harness.main()
