"""HTTP/2 and gRPC exchange views (--http) against real peers: curl --http2 fetching two files
from nginx on one connection, node's http2 module making gRPC-shaped calls (length-prefixed
messages, trailers, a trailers-only answer), Go's net/http client and server. Every field is
compared with what the peers themselves say they sent and received."""
import base64
import json
import os
import re
import shutil
import subprocess
import unittest
from urllib.parse import quote

import harness

BODY_BYTES = 4096  # --body-bytes default: the first bytes of each body in a record


def http_records(records, pid):
    return sorted((r for r in records if r["type"] == "http" and r["pid"] == pid),
                  key=lambda r: r["stream"])


def pairs(headers):
    return [[name, value] for name, value in headers]


def body(record, prefix):
    return base64.b64decode(record.get(f"{prefix}body", ""))


def curl_exchanges(trace):
    """curl -v's own account of each request ('>' lines) and response ('<' lines)."""
    exchanges = []
    for line in trace.splitlines():
        if line.startswith("> ") and re.match(r"> [A-Z]+ \S+ HTTP/2$", line):
            method, path, _ = line[2:].split(" ")
            exchanges.append({"method": method, "path": path, "request": [], "response": []})
        elif line.startswith("< HTTP/2 "):
            exchanges[-1]["status"] = int(line.split()[2])
        elif line.startswith(("> ", "< ")) and ": " in line:
            name, value = line[2:].rstrip("\r").split(": ", 1)
            exchanges[-1]["request" if line[0] == ">" else "response"].append([name, value])
    return exchanges


class Http2Test(unittest.TestCase):
    def setUp(self):
        self.work = harness.Workdir()

    def tearDown(self):
        self.work.cleanup()

    def assert_exchange_basics(self, record, version="2"):
        self.assertEqual(record["version"], version)
        self.assertNotIn("note", record)
        self.assertGreater(record["latency_ns"], 0)
        self.assertGreaterEqual(record["resp_ts_ns"], record["req_ts_ns"] + record["latency_ns"])

    def start_nginx(self, port, root):
        return harness.start_nginx(self.work, port, root)

    def test_curl_http2_to_nginx_two_streams(self):
        nginx_binary = shutil.which("nginx")
        self.assertIsNotNone(nginx_binary, "nginx is not installed (scripts/install-deps.sh)")
        root = self.work.file("www")
        os.makedirs(root)
        files = {"/hello.txt": b"hello over HTTP/2\n" * 3,
                 "/random.bin": os.urandom(40_000)}  # several DATA frames
        for path, content in files.items():
            harness.write_bytes(root + path, content)
        port = harness.free_port()
        nginx = self.start_nginx(port, root)
        urls = [f"https://127.0.0.1:{port}{path}" for path in files]
        outputs = [self.work.file(f"out{i}") for i in range(len(urls))]
        curl = ["curl", "-sk", "--http2", "-v"]
        for url, out in zip(urls, outputs):
            curl += ["-o", out, url]
        tracer = harness.Tracer(self.work, "--http", command=curl)
        records = tracer.wait()
        nginx.terminate()
        nginx.wait(timeout=30)
        self.assertEqual(tracer.returncode, 0, tracer.stderr())
        for path, out in zip(files, outputs):
            self.assertEqual(harness.read_bytes(out), files[path])

        curl_pid = harness.data_records(records)[0]["pid"]
        stderr = tracer.stderr()
        seen = curl_exchanges(stderr)
        self.assertEqual([e["path"] for e in seen], list(files), stderr)
        self.assertIn("Re-using existing connection", stderr)  # one connection, two streams
        got = http_records(records, curl_pid)
        self.assertEqual(len(got), 2, got)
        self.assertEqual([r["stream"] for r in got], [1, 3])
        self.assertEqual(len({r["conn"] for r in got}), 1)
        for record, expected, (path, content) in zip(got, seen, files.items()):
            self.assert_exchange_basics(record)
            self.assertEqual(record["role"], "client")
            self.assertEqual(record["method"], expected["method"])
            self.assertEqual(record["scheme"], "https")
            self.assertEqual(record["path"], path)
            self.assertEqual(record["status"], expected["status"])
            self.assertEqual(record["status"], 200)
            # curl shows :authority as a Host line; the rest are the fields it sent, in order.
            host = [v for n, v in expected["request"] if n == "Host"]
            self.assertEqual(record["authority"], host[0])
            self.assertEqual(pairs(record["req_headers"]),
                             [h for h in expected["request"] if h[0] != "Host"])
            self.assertEqual(pairs(record["resp_headers"]), expected["response"])
            self.assertEqual(record["req_body_len"], 0)
            self.assertEqual(record["resp_body_len"], len(content))
            self.assertEqual(body(record, "resp_"), content[:BODY_BYTES])

    def test_truncated_reads_never_give_a_wrong_header(self):
        """--max-bytes cuts curl's large reads: the HTTP/2 view gets gaps of known size. What
        it reports must still be exactly what curl saw, or be absent."""
        root = self.work.file("www")
        os.makedirs(root)
        files = {"/big1.bin": os.urandom(60_000), "/small.txt": b"small\n",
                 "/big2.bin": os.urandom(60_000)}
        for path, content in files.items():
            harness.write_bytes(root + path, content)
        port = harness.free_port()
        nginx = self.start_nginx(port, root)
        curl = ["curl", "-sk", "--http2", "-v"]
        for i, path in enumerate(files):
            curl += ["-o", self.work.file(f"out{i}"), f"https://127.0.0.1:{port}{path}"]
        tracer = harness.Tracer(self.work, "--http", "--max-bytes", "1500", command=curl)
        records = tracer.wait()
        nginx.terminate()
        nginx.wait(timeout=30)
        self.assertEqual(tracer.returncode, 0, tracer.stderr())
        curl_pid = harness.data_records(records)[0]["pid"]
        self.assertTrue([r for r in harness.data_records(records, curl_pid) if r["truncated"]])
        seen = {e["path"]: e for e in curl_exchanges(tracer.stderr())}
        got = http_records(records, curl_pid)
        # curl's requests are small (never cut): every exchange is reported with its request.
        self.assertEqual([r["path"] for r in got], list(files))
        for record in got:
            content, expected = files[record["path"]], seen[record["path"]]
            self.assertEqual(record["method"], "GET")
            self.assertEqual(pairs(record["req_headers"]),
                             [h for h in expected["request"] if h[0] != "Host"])
            if "status" in record:
                self.assertEqual(record["status"], 200)
                self.assertEqual(pairs(record["resp_headers"]), expected["response"])
            else:
                self.assertIn("hpack state unknown", record["note"])
            self.assertTrue(content.startswith(body(record, "resp_")), record["path"])
        skips = [r for r in records if r["type"] == "http_skip" and r["pid"] == curl_pid]
        self.assertTrue(skips)
        self.assertEqual({r["dir"] for r in skips}, {"read"})

    def test_connection_older_than_tlstap_is_not_decoded(self):
        """An HTTP/2 connection that began before tlstap: without its preface nothing proves
        where frames start (or what the HPACK tables hold), so it gets no HTTP/2 view - no
        exchange at all rather than a possibly wrong one. Its data records are still there."""
        node = shutil.which("node") or shutil.which("nodejs")
        self.assertIsNotNone(node, "node is not installed")
        peers = os.path.join(harness.PROGS, "node_peers.js")
        port = harness.free_port()
        ready, started, go = (self.work.file(n) for n in ("ready", "started", "go"))
        server = harness.track(subprocess.Popen([node, peers, "http2-server", str(port),
                                                 self.work.cert, self.work.key, ready,
                                                 self.work.file("server.json"), "3"]))
        harness.wait_for(lambda: os.path.exists(ready), 10, "node http2 server to listen")
        client = harness.track(subprocess.Popen([node, peers, "http2-session", str(port),
                                                 started, go, self.work.file("client.json")]))
        harness.wait_for(lambda: os.path.exists(started), 10, "the first request")
        lport = int(harness.read_bytes(started))
        tracer = harness.Tracer(self.work, "--http", "--port", str(port))
        harness.write_bytes(go, b"")
        self.assertEqual(client.wait(timeout=60), 0)
        self.assertEqual(server.wait(timeout=60), 0)
        records = tracer.stop()
        with open(self.work.file("client.json")) as f:
            self.assertEqual(sorted(json.load(f)["replies"]), ["/one", "/three", "/two"])
        client_records = harness.data_records(records, client.pid)
        self.assertTrue([r for r in client_records if r["dir"] == "write"])
        self.assertEqual({(r["lport"], r.get("midstream")) for r in client_records},
                         {(lport, True)})
        self.assertEqual([r for r in records if r["type"] == "http"], [])
        # Not silent: each direction's bytes are said once, at close, as not decoded.
        for pid in (client.pid, server.pid):
            data = harness.data_records(records, pid)
            skips = [r for r in records if r["type"] == "http_skip" and r["pid"] == pid]
            self.assertEqual(sorted((r["dir"], r["bytes"], r["reason"]) for r in skips),
                             sorted((d, sum(r["len"] for r in data if r["dir"] == d),
                                     "midstream http2: frames not decoded")
                                    for d in {r["dir"] for r in data}), pid)

    def test_node_grpc_calls(self):
        node = shutil.which("node") or shutil.which("nodejs")
        self.assertIsNotNone(node, "node is not installed")
        peers = os.path.join(harness.PROGS, "node_peers.js")
        port = harness.free_port()
        ready = self.work.file("ready")
        server_report, client_report = self.work.file("server.json"), self.work.file("client.json")
        tracer = harness.Tracer(self.work, "--http", "--port", str(port), "--lib", node)
        server = harness.track(subprocess.Popen([node, peers, "grpc-server", str(port),
                                                 self.work.cert, self.work.key, ready,
                                                 server_report]))
        harness.wait_for(lambda: os.path.exists(ready), 10, "node gRPC server to listen")
        client = harness.track(subprocess.Popen([node, peers, "grpc-client", str(port),
                                                 client_report]))
        self.assertEqual(client.wait(timeout=60), 0)
        self.assertEqual(server.wait(timeout=60), 0)
        records = tracer.stop()
        with open(server_report) as f:
            served = {call["path"]: call for call in json.load(f)}
        with open(client_report) as f:
            called = json.load(f)

        # What node's client wrote: two messages for Say, one for Missing (node_peers.js).
        request_bodies = {
            "/test.Echo/Say": b"".join(b"\0" + len(m).to_bytes(4, "big") + m
                                       for m in (b"hello", b"x" * 3000)),
            "/test.Echo/Missing": b"\0\0\0\0\1?"}
        for pid, role in ((client.pid, "client"), (server.pid, "server")):
            got = {r["path"]: r for r in http_records(records, pid)}
            self.assertEqual(sorted(got), sorted(request_bodies), f"{role}: {got}")
            for path, record in got.items():
                what = f"{role} {path}"
                self.assert_exchange_basics(record)
                self.assertEqual(record["role"], role)
                self.assertEqual(record["method"], "POST")
                self.assertEqual(record["grpc_service"], "test.Echo", what)
                self.assertEqual(record["grpc_method"], path.rsplit("/", 1)[1], what)
                # The request fields as node's server received them, in order.
                received = served[path]["request_headers"]
                self.assertEqual(record["authority"], received[":authority"])
                self.assertEqual(pairs(record["req_headers"]),
                                 [[n, v] for n, v in received.items() if not n.startswith(":")])
                self.assertEqual(body(record, "req_"), request_bodies[path], what)
                self.assertEqual(record["req_body_len"], len(request_bodies[path]))
                self.assertEqual(record["grpc_req_messages"], served[path]["request_messages"])
                # The response as node's client received it.
                answer = called[path]
                self.assertEqual(record["status"], answer["response_headers"][":status"])
                self.assertEqual(pairs(record["resp_headers"]),
                                 [[n, str(v)] for n, v in answer["response_headers"].items()
                                  if not n.startswith(":")], what)
                self.assertEqual(body(record, "resp_"), base64.b64decode(answer["reply"]))
            say, missing = got["/test.Echo/Say"], got["/test.Echo/Missing"]
            trailers = called["/test.Echo/Say"]["trailers"]
            self.assertEqual(pairs(say["resp_trailers"]), [[n, v] for n, v in trailers.items()])
            self.assertEqual(say["grpc_status"], 5)
            self.assertEqual(trailers["grpc-message"], quote("not found: café 100%", safe=""))
            self.assertEqual(say["grpc_message"], "not found: café 100%")
            self.assertEqual(say["grpc_req_messages"], 2)
            self.assertEqual(say["grpc_resp_messages"], served["/test.Echo/Say"]["response_messages"])
            # Trailers-only: grpc-status in the response headers, no DATA, no trailers.
            self.assertIsNone(called["/test.Echo/Missing"]["trailers"])
            self.assertNotIn("resp_trailers", missing)
            self.assertEqual(missing["grpc_status"], 12)
            self.assertEqual(missing["grpc_message"], "no such method")
            self.assertEqual(missing["grpc_resp_messages"], 0)
        self.assertEqual(harness.lost_records(records), [])

    def test_go_net_http_http2(self):
        peers_dir = os.environ.get("GO_PEERS_DIR")
        if not peers_dir:
            self.skipTest("Go peers not built (golang-go missing)")
        go_peer = os.path.join(peers_dir, "normal")
        port = harness.free_port()
        ready = self.work.file("ready")
        server_report, client_report = self.work.file("server.json"), self.work.file("client.json")
        tracer = harness.Tracer(self.work, "--http", "--port", str(port), "--lib", go_peer)
        server = harness.track(subprocess.Popen([go_peer, "http-server", str(port), self.work.cert,
                                                 self.work.key, ready, server_report, "3"]))
        harness.wait_for(lambda: os.path.exists(ready), 10, "Go http server to listen")
        client = harness.track(subprocess.Popen([go_peer, "http-client",
                                                 f"https://127.0.0.1:{port}", client_report,
                                                 "3", "1000", "1"]))
        self.assertEqual(client.wait(timeout=60), 0)
        self.assertEqual(server.wait(timeout=60), 0)
        records = tracer.stop()
        with open(client_report) as f:
            fetched = {e["path"]: e for e in json.load(f)}
        for pid, role in ((client.pid, "client"), (server.pid, "server")):
            got = http_records(records, pid)
            self.assertEqual(sorted(r["path"] for r in got), sorted(fetched), role)
            for record in got:
                exchange = fetched[record["path"]]
                self.assert_exchange_basics(record)
                self.assertEqual(record["role"], role)
                self.assertEqual(record["method"], "POST")
                self.assertEqual(record["authority"], f"127.0.0.1:{port}")
                self.assertEqual(record["status"], 200)
                self.assertEqual(body(record, "req_"), base64.b64decode(exchange["body"]))
                self.assertEqual(body(record, "resp_"), base64.b64decode(exchange["reply"]))
                self.assertIn(["content-type", "application/octet-stream"],
                              pairs(record["resp_headers"]))
                self.assertNotIn("grpc_service", record)
        self.assertEqual(harness.lost_records(records), [])


    def test_go_net_http_http2_mixed_requests_none_dropped(self):
        # Found by a new user: Go's client can have a stream's response read (and recorded)
        # before the write record of its request HEADERS. Rounds of GET small, GET 1 MiB, GET
        # small, POST 1 MiB on one connection: every stream is reported whole, with the
        # response the Go client got, no note, nothing skipped.
        peers_dir = os.environ.get("GO_PEERS_DIR")
        if not peers_dir:
            self.skipTest("Go peers not built (golang-go missing)")
        go_peer = os.path.join(peers_dir, "normal")
        port = harness.free_port()
        ready = self.work.file("ready")
        server_report, client_report = self.work.file("server.json"), self.work.file("client.json")
        count = 24
        tracer = harness.Tracer(self.work, "--http-only", "--body-bytes", "64K", "--port",
                                str(port), "--lib", go_peer)
        server = harness.track(subprocess.Popen([go_peer, "http-server", str(port), self.work.cert,
                                                 self.work.key, ready, server_report, str(count)]))
        harness.wait_for(lambda: os.path.exists(ready), 10, "Go http server to listen")
        client = harness.track(subprocess.Popen([go_peer, "http-client",
                                                 f"https://127.0.0.1:{port}", client_report,
                                                 str(count), str(1 << 20), "1", "--mixed"]))
        self.assertEqual(client.wait(timeout=120), 0)
        self.assertEqual(server.wait(timeout=60), 0)
        records = tracer.stop()
        with open(client_report) as f:
            fetched = {e["path"]: e for e in json.load(f)}
        self.assertEqual(len(fetched), count)
        for pid, role in ((client.pid, "client"), (server.pid, "server")):
            got = http_records(records, pid)
            self.assertEqual(sorted(r["path"] for r in got), sorted(fetched), role)
            for record in got:
                exchange = fetched[record["path"]]
                sent = base64.b64decode(exchange["body"] or "")
                reply = base64.b64decode(exchange["reply"])
                summary = {k: v for k, v in record.items() if not k.endswith("body")}
                self.assertEqual((record["role"], record["version"], record.get("status")),
                                 (role, "2", 200), summary)
                self.assertEqual(record["method"], "POST" if sent else "GET")
                self.assertEqual(record["req_body_len"], len(sent))
                self.assertEqual(body(record, "req_"), sent[:65536])
                self.assertEqual(record["resp_body_len"], len(reply), summary)
                self.assertEqual(body(record, "resp_"), reply[:65536], summary)
                self.assertNotIn("note", record)
        self.assertEqual([r for r in records if r["type"] == "http_skip"], [])
        self.assertEqual(harness.lost_records(records), [])

if __name__ == "__main__":
    harness.main()
