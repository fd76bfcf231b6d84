"""--http: curl (keep-alive, three URLs, then a chunked POST) against python's http.server over
ssl, both traced. Every http record's method, path, headers, status, reason and body bytes
equal what curl's own --trace says was sent and received (parsed here independently), and
the bodies equal the files served; each side has its own record (role client and server)."""
import base64
import json
import os
import re
import signal
import subprocess
import unittest

import harness
from test_curl_openssl import curl_trace_bytes


def split_messages(data, responses, bodyless=()):
    """HTTP/1.1 messages in `data` as (start line, [[name, value]...], body bytes). Bodies are
    framed by Content-Length or chunked coding (de-chunked here); messages whose index is in
    `bodyless` (responses to HEAD) have none."""
    messages, pos = [], 0
    while pos < len(data):
        end = data.index(b"\r\n\r\n", pos)
        lines = data[pos:end].decode("latin-1").split("\r\n")
        headers = [[n, v.strip()] for n, v in (line.split(":", 1) for line in lines[1:])]
        pos = end + 4
        fields = {n.lower(): v for n, v in headers}
        body = b""
        if responses and (lines[0].split(" ")[1].startswith("1") or len(messages) in bodyless):
            pass  # 1xx, or the response to HEAD: no body
        elif fields.get("transfer-encoding", "").lower() == "chunked":
            while True:
                line_end = data.index(b"\r\n", pos)
                size = int(data[pos:line_end].split(b";")[0], 16)
                pos = line_end + 2
                if size == 0:
                    pos = data.index(b"\r\n", pos) + 2  # no trailers from curl
                    break
                body += data[pos:pos + size]
                pos += size + 2
        elif "content-length" in fields:
            length = int(fields["content-length"])
            body = data[pos:pos + length]
            pos += length
        elif responses:
            body, pos = data[pos:], len(data)
        messages.append((lines[0], headers, body))
    return messages


def final_responses(messages):
    """Responses as (status line, headers, body, [1xx statuses before it])."""
    out, informational = [], []
    for status_line, headers, body in messages:
        status = int(status_line.split(" ")[1])
        if 100 <= status < 200:
            informational.append(status)
            continue
        out.append((status_line, headers, body, informational))
        informational = []
    return out


def http_records(records, pid):
    return [r for r in records if r["type"] == "http" and r["pid"] == pid]


class HttpViewTest(unittest.TestCase):
    def setUp(self):
        self.work = harness.Workdir()
        self.www = self.work.file("www")
        os.mkdir(self.www)
        self.files = {"/a.txt": b"hello a\n", "/b.bin": os.urandom(30000)}
        for path, content in self.files.items():
            harness.write_bytes(self.www + path, content)
        self.port = harness.free_port()
        ready = self.work.file("ready")
        self.server = harness.track(subprocess.Popen(
            [harness.PYTHON, os.path.join(harness.PROGS, "http11_server.py"), str(self.port),
             self.work.cert, self.work.key, self.www, ready]))
        harness.wait_for(lambda: os.path.exists(ready), 10, "the server to listen")

    def tearDown(self):
        self.work.cleanup()

    def url(self, path):
        return f"https://127.0.0.1:{self.port}{path}"

    def curl(self, name, *args):
        trace = self.work.file(f"{name}.trace")
        curl = subprocess.Popen(["curl", "-sk", "--http1.1", "--trace", trace, *args])
        self.assertEqual(curl.wait(timeout=60), 0)
        sent, received = curl_trace_bytes(trace)
        # curl's --trace shows a 1xx response's head without the empty line that ends it (its
        # debug callback never gets that line): put it back.
        received = re.sub(rb"(HTTP/1\.1 1\d\d [^\r]*\r\n)(?=HTTP/1\.)", rb"\1\r\n", received)
        return curl.pid, split_messages(sent, False), final_responses(split_messages(received, True))

    def assert_exchanges(self, records, pid, role, requests, responses):
        """pid's http records are these exchanges, field by field."""
        got = http_records(records, pid)
        self.assertEqual(len(got), len(requests), got)
        for r, (request_line, req_headers, req_body), \
                (status_line, resp_headers, resp_body, informational) in zip(got, requests, responses):
            method, path, version = request_line.split(" ")
            _, status, reason = status_line.split(" ", 2)
            self.assertEqual(r["role"], role)
            if role == "client":
                self.assertEqual(r["rport"], self.port)
            else:
                self.assertEqual(r["lport"], self.port)
            self.assertEqual((r["version"], r["method"], r["path"]), (version[5:], method, path))
            self.assertEqual(r["authority"], f"127.0.0.1:{self.port}")
            self.assertEqual((r["status"], r["reason"]), (int(status), reason))
            self.assertEqual(r.get("informational", []), informational)
            self.assertEqual(r["req_headers"], req_headers)
            self.assertEqual(r["resp_headers"], resp_headers)
            self.assertEqual(r["req_body_len"], len(req_body))
            self.assertEqual(base64.b64decode(r.get("req_body", "")), req_body)
            self.assertEqual(r["resp_body_len"], len(resp_body))
            self.assertEqual(base64.b64decode(r.get("resp_body", "")), resp_body)
            self.assertGreater(r["latency_ns"], 0)
            self.assertGreaterEqual(r["resp_ts_ns"], r["req_ts_ns"] + r["latency_ns"])
            self.assertNotIn("note", r)
        return got

    def test_keep_alive_and_chunked_post_from_both_sides(self):
        tracer = harness.Tracer(self.work, "--http", "--body-bytes", "64K", "--port",
                                str(self.port))
        outputs = [self.work.file(f"out{i}") for i in range(3)]
        get_pid, get_requests, get_responses = self.curl(
            "get", self.url("/a.txt"), "-o", outputs[0], self.url("/b.bin"), "-o", outputs[1],
            self.url("/missing"), "-o", outputs[2])
        posted = os.urandom(20000)
        harness.write_bytes(self.work.file("post.bin"), posted)
        # Expect: 100-continue: python's server answers 100 Continue before reading the body.
        post_pid, post_requests, post_responses = self.curl(
            "post", "-H", "Transfer-Encoding: chunked", "-H", "Expect: 100-continue", "--data-binary",
            "@" + self.work.file("post.bin"), self.url("/upload"), "-o", self.work.file("out3"))
        records = tracer.stop()
        self.assertEqual(tracer.returncode, 0, tracer.stderr())

        # What curl says it exchanged is what the server served.
        self.assertEqual([m[0] for m in get_requests],
                         ["GET /a.txt HTTP/1.1", "GET /b.bin HTTP/1.1", "GET /missing HTTP/1.1"])
        self.assertEqual([m[0][:12] for m in get_responses],
                         ["HTTP/1.1 200", "HTTP/1.1 200", "HTTP/1.1 404"])
        self.assertEqual(get_responses[0][2], self.files["/a.txt"])
        self.assertEqual(get_responses[1][2], self.files["/b.bin"])
        self.assertEqual(harness.read_bytes(outputs[1]), self.files["/b.bin"])
        self.assertIn(["Transfer-Encoding", "chunked"], post_requests[0][1])
        self.assertEqual(post_requests[0][2], posted)
        self.assertEqual(post_responses[0][2], b"received 20000 bytes\n")
        self.assertEqual(post_responses[0][3], [100])

        # One connection per curl process: its three exchanges, in order.
        client = self.assert_exchanges(records, get_pid, "client", get_requests, get_responses)
        self.assertEqual(len({r["conn"] for r in client}), 1)
        self.assert_exchanges(records, post_pid, "client", post_requests, post_responses)
        # The server's own view of the same exchanges.
        server = [r for r in http_records(records, self.server.pid)]
        by_port = {}
        for r in server:
            by_port.setdefault(r["rport"], []).append(r)
        self.assertEqual(sorted(len(v) for v in by_port.values()), [1, 3])
        get_port = client[0]["lport"]
        served = self.assert_exchanges(by_port[get_port], self.server.pid, "server", get_requests,
                                       get_responses)
        self.assertEqual(len({r["conn"] for r in served}), 1)
        post_port = [p for p in by_port if p != get_port][0]
        self.assert_exchanges(by_port[post_port], self.server.pid, "server", post_requests,
                              post_responses)
        self.assertEqual([r for r in records if r["type"] == "http_skip"], [])
        self.assertEqual(harness.lost_records(records), [])
        # Data records stay in the stream alongside.
        self.assertTrue(harness.data_records(records, get_pid))
        self.assertRegex(tracer.stderr(), r"http: 8 exchanges reported on 4 connections, 0 bytes "
                                          r"skipped in 0 places")

    def test_pipelined_requests_with_head(self):
        # A python client writes three requests in one call (HEAD, GET, GET; the last asks the
        # server to close), then reads everything until the server closes.
        sent, received = self.work.file("sent"), self.work.file("received")
        requests = (b"HEAD /b.bin HTTP/1.1\r\nHost: pipelined\r\n\r\n"
                    b"GET /a.txt HTTP/1.1\r\nHost: pipelined\r\n\r\n"
                    b"GET /b.bin HTTP/1.1\r\nHost: pipelined\r\nConnection: close\r\n\r\n")
        harness.write_bytes(sent, requests)
        client_code = (
            "import socket, ssl, sys\n"
            "context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)\n"
            "context.check_hostname = False\n"
            "context.verify_mode = ssl.CERT_NONE\n"
            "s = context.wrap_socket(socket.create_connection(('127.0.0.1', int(sys.argv[1]))))\n"
            "s.sendall(open(sys.argv[2], 'rb').read())\n"
            "data = b''\n"
            "while True:\n"
            "    chunk = s.recv(65536)\n"
            "    if not chunk:\n"
            "        break\n"
            "    data += chunk\n"
            "open(sys.argv[3], 'wb').write(data)\n")
        tracer = harness.Tracer(self.work, "--http-only", "--body-bytes", "64K", "--port",
                                str(self.port))
        client = harness.track(subprocess.Popen([harness.PYTHON, "-c", client_code,
                                                 str(self.port), sent, received]))
        self.assertEqual(client.wait(timeout=60), 0)
        records = tracer.stop()
        self.assertEqual(tracer.returncode, 0, tracer.stderr())
        expected_requests = split_messages(requests, False)
        expected_responses = final_responses(split_messages(harness.read_bytes(received), True,
                                                            bodyless=(0,)))
        self.assertEqual([m[0][:12] for m in expected_responses], ["HTTP/1.1 200"] * 3)
        self.assertEqual(expected_responses[2][2], self.files["/b.bin"])
        head = [v for n, v in expected_responses[0][1] if n == "Content-Length"]
        self.assertEqual(head, [str(len(self.files["/b.bin"]))])  # a length, and no body
        for pid, role in ((client.pid, "client"), (self.server.pid, "server")):
            got = http_records(records, pid)
            self.assertEqual(len(got), 3, got)
            for r in got:
                self.assertEqual(r["authority"], "pipelined")
            self.assertEqual([r["method"] for r in got], ["HEAD", "GET", "GET"])
            self.assertEqual([r["path"] for r in got], ["/b.bin", "/a.txt", "/b.bin"])
            for r, (request_line, req_headers, _), (status_line, resp_headers, body, _) in zip(
                    got, expected_requests, expected_responses):
                self.assertEqual(r["role"], role)
                self.assertEqual(r["req_headers"], req_headers)
                self.assertEqual(r["resp_headers"], resp_headers)
                self.assertEqual(r["resp_body_len"], len(body))
                self.assertEqual(base64.b64decode(r.get("resp_body", "")), body)
                self.assertNotIn("note", r)
        self.assertEqual([r for r in records if r["type"] == "http_skip"], [])

    @unittest.skipUnless(os.environ.get("GO_PEERS_DIR") and
                         os.path.exists(os.path.join(os.environ["GO_PEERS_DIR"], "normal")),
                         "the Go test peers were not built (no Go)")
    def test_go_net_http_h1_client_and_server(self):
        # Go's transport reads and writes a connection from two goroutines; 6 POSTs over 2
        # connections, each side's exchanges equal to what the Go programs report.
        peer = os.path.join(os.environ["GO_PEERS_DIR"], "normal")
        port = harness.free_port()
        ready = self.work.file("go-ready")
        served_path, fetched_path = self.work.file("served.json"), self.work.file("fetched.json")
        tracer = harness.Tracer(self.work, "--http-only", "--body-bytes", "64K", "--port",
                                str(port), "--lib", peer)
        server = harness.track(subprocess.Popen(
            [peer, "http-server", str(port), self.work.cert, self.work.key, ready, served_path,
             "6", "--h1"]))
        harness.wait_for(lambda: os.path.exists(ready), 10, "Go http server to listen")
        client = harness.track(subprocess.Popen(
            [peer, "http-client", f"https://127.0.0.1:{port}", fetched_path, "6", "10000", "2",
             "--h1"]))
        self.assertEqual(client.wait(timeout=120), 0)
        self.assertEqual(server.wait(timeout=60), 0)
        records = tracer.stop()
        with open(fetched_path) as f:
            fetched = {e["path"]: e for e in json.load(f)}
        self.assertEqual(len(fetched), 6)
        for pid, role in ((client.pid, "client"), (server.pid, "server")):
            got = http_records(records, pid)
            self.assertEqual(sorted(r["path"] for r in got), sorted(fetched), got)
            for r in got:
                e = fetched[r["path"]]
                self.assertEqual((r["role"], r["version"], r["method"], r["status"], r["reason"]),
                                 (role, "1.1", "POST", 200, "OK"))
                self.assertEqual(r["authority"], f"127.0.0.1:{port}")
                self.assertEqual(base64.b64decode(r["req_body"]), base64.b64decode(e["body"]))
                self.assertEqual(r["req_body_len"], 10000)
                self.assertEqual(base64.b64decode(r["resp_body"]), base64.b64decode(e["reply"]))
                self.assertGreater(r["latency_ns"], 0)
                self.assertNotIn("note", r)
        self.assertEqual([r for r in records if r["type"] == "http_skip"], [])

    @unittest.skipUnless(os.environ.get("GO_PEERS_DIR") and
                         os.path.exists(os.path.join(os.environ["GO_PEERS_DIR"], "normal")),
                         "the Go test peers were not built (no Go)")
    def test_go_net_http_h1_mixed_requests_pair_with_their_responses(self):
        # Found by a new user: Go's client writes and reads on different goroutines, so the
        # read record of a response can reach tlstap before the write record of its request.
        # Rounds of GET small, GET 1 MiB, GET small, POST 1 MiB on one keep-alive connection:
        # each record's response is the one the Go client got for that path (the server puts
        # the path in the reply), none missing, no note, nothing skipped.
        peer = os.path.join(os.environ["GO_PEERS_DIR"], "normal")
        port = harness.free_port()
        ready = self.work.file("go-ready")
        served_path, fetched_path = self.work.file("served.json"), self.work.file("fetched.json")
        count = 24
        tracer = harness.Tracer(self.work, "--http-only", "--body-bytes", "64K", "--port",
                                str(port), "--lib", peer)
        server = harness.track(subprocess.Popen(
            [peer, "http-server", str(port), self.work.cert, self.work.key, ready, served_path,
             str(count), "--h1"]))
        harness.wait_for(lambda: os.path.exists(ready), 10, "Go http server to listen")
        client = harness.track(subprocess.Popen(
            [peer, "http-client", f"https://127.0.0.1:{port}", fetched_path, str(count),
             str(1 << 20), "1", "--h1", "--mixed"]))
        self.assertEqual(client.wait(timeout=120), 0)
        self.assertEqual(server.wait(timeout=60), 0)
        records = tracer.stop()
        with open(fetched_path) as f:
            fetched = {e["path"]: e for e in json.load(f)}
        self.assertEqual(len(fetched), count)
        for pid, role in ((client.pid, "client"), (server.pid, "server")):
            got = http_records(records, pid)
            self.assertEqual(sorted(r["path"] for r in got), sorted(fetched), got)
            for r in got:
                e = fetched[r["path"]]
                body = base64.b64decode(e["body"] or "")
                reply = base64.b64decode(e["reply"])
                summary = {k: v for k, v in r.items() if not k.endswith("body")}
                self.assertEqual((r["role"], r["method"], r.get("status")),
                                 (role, "POST" if body else "GET", 200), summary)
                self.assertEqual(r["req_body_len"], len(body))
                self.assertEqual(base64.b64decode(r.get("req_body", "")), body[:65536])
                self.assertEqual(r["resp_body_len"], len(reply), summary)
                self.assertEqual(base64.b64decode(r["resp_body"]), reply[:65536], summary)
                self.assertNotIn("note", r)
        self.assertEqual([r for r in records if r["type"] == "http_skip"], [])

    def test_http_only_leaves_no_data_records(self):
        tracer = harness.Tracer(self.work, "--http-only", "--port", str(self.port))
        pid, requests, responses = self.curl("get", self.url("/a.txt"), "-o",
                                             self.work.file("out"))
        records = tracer.stop()
        self.assertEqual(tracer.returncode, 0, tracer.stderr())
        self.assertEqual(harness.data_records(records), [])
        self.assert_exchanges(records, pid, "client", requests, responses)
        self.assert_exchanges(records, self.server.pid, "server", requests, responses)
        self.assertEqual({r["type"] for r in records}, {"http", "close"})

    def test_default_body_bytes_and_text_block(self):
        output, stderr = self.work.file("trace.txt"), self.work.file("trace.stderr")
        with open(stderr, "w") as err:
            tracer = harness.track(subprocess.Popen(
                [harness.TLSTAP, "--http", "-f", "text", "-o", output, "--port", str(self.port)],
                stderr=err))
        harness.wait_for(lambda: b"Ctrl-C to stop" in harness.read_bytes(stderr), 30, "tlstap")
        pid, requests, responses = self.curl("get", self.url("/a.txt"), "-o",
                                             self.work.file("out1"), self.url("/b.bin"), "-o",
                                             self.work.file("out2"))
        tracer.send_signal(signal.SIGINT)
        self.assertEqual(tracer.wait(timeout=60), 0)
        text = harness.read_bytes(output).decode("ascii")
        lines = text.split("\n")
        clock = r"\d\d:\d\d:\d\d\.\d{6}"
        first = [i for i, line in enumerate(lines) if re.fullmatch(
            clock + rf" curl\[{pid}\] 127\.0\.0\.1:\d+ -> 127\.0\.0\.1:{self.port} client "
            r"HTTP/1\.1 GET /a\.txt -> 200 OK \d+\.\d{3} ms", line)]
        self.assertEqual(len(first), 1, text)
        block = lines[first[0] + 1:]
        request_headers, response_headers = requests[0][1], responses[0][1]
        expected = ([f"  > {n}: {v}" for n, v in request_headers] + ["  request body: 0 bytes"] +
                    [f"  < {n}: {v}" for n, v in response_headers] +
                    ["  response body: 8 bytes:", "hello a", ""])
        self.assertEqual(block[:len(expected)], expected, text)
        # /b.bin: 30000 bytes, the first 4096 shown (the default --body-bytes).
        second = [i for i, line in enumerate(lines) if re.fullmatch(
            clock + rf" curl\[{pid}\] .* GET /b\.bin -> 200 OK \d+\.\d{{3}} ms", line)]
        self.assertEqual(len(second), 1, text)
        self.assertIn("  response body: 30000 bytes, first 4096 shown:", lines[second[0]:])


if __name__ == "__main__":
    harness.main()
