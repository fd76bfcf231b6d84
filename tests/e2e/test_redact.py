"""--redact / --redact-header against real peers: the secret header values curl sends and the
servers answer with are masked in every output (JSON data records, the --http view, text,
pcapng), byte for byte, while every other byte is what the peers really sent and received.
The expected bytes come from curl's own trace, masked by the rule written out here
independently of tlstap's code."""
import base64
import json
import os
import re
import secrets
import shutil
import subprocess
import unittest

import harness
from test_curl_openssl import curl_trace_bytes
from test_http2 import curl_exchanges
from test_pcapng import fields, tshark

DEFAULT_NAMES = {"authorization", "cookie", "set-cookie", "proxy-authorization"}
FIELD_LINE = re.compile(rb"^([!#$%&'*+.^_`|~0-9A-Za-z-]+)[ \t]*:([ \t]*)(.*?)(\r?)$", re.S)


def mask_http1(data, names):
    """What --redact makes of an HTTP/1 stream: in every line that begins with a redacted
    field name and a colon, the value (after its leading spaces) becomes '*'s. Returns the
    masked bytes and the number of values masked."""
    lines, masked = [], 0
    for line in data.split(b"\n"):
        match = FIELD_LINE.match(line)
        if match and match.group(1).decode().lower() in names:
            line = line[:match.start(3)] + b"*" * len(match.group(3)) + match.group(4)
            masked += 1
        lines.append(line)
    return b"\n".join(lines), masked


def token():
    return "S3CRET" + secrets.token_hex(12)


def shown_bytes(records):
    """Every byte tlstap wrote about the traffic: data records decoded, and the rest as JSON."""
    out = bytearray()
    for record in records:
        if record["type"] == "data":
            out += base64.b64decode(record["data"])
        else:
            out += json.dumps(record).encode()
    return bytes(out)


class RedactTest(unittest.TestCase):
    def setUp(self):
        self.work = harness.Workdir()

    def tearDown(self):
        self.work.cleanup()

    def assert_nowhere(self, secrets_list, *blobs):
        for secret in secrets_list:
            for blob in blobs:
                self.assertNotIn(secret.encode(), blob)

    def start_echo_server(self, port):
        """python's http.server over ssl, answering each request with its method, path and
        body."""
        ready = self.work.file("ready")
        server = harness.track(subprocess.Popen(
            ["python3", os.path.join(harness.PROGS, "http11_echo_server.py"), "127.0.0.1",
             str(port), self.work.cert, self.work.key, ready]))
        harness.wait_for(lambda: os.path.exists(ready), 10, "server to listen")
        return server

    def test_http1_curl_to_python_every_output(self):
        port = harness.free_port()
        server = self.start_echo_server(port)
        tokens = [token() for _ in range(5)]
        trace = self.work.file("curl.trace")
        url = f"https://127.0.0.1:{port}"
        curl = ["curl", "-sk", "--http1.1", "--trace", trace, "-o", "/dev/null", f"{url}/a",
                "-H", f"Authorization: Bearer {tokens[0]}",
                "-H", f"Cookie: sid={tokens[1]}; theme=dark",
                "-H", f"X-Api-Key: {tokens[2]}", "-H", "X-Other: visible",
                "--next", "-sk", "--http1.1", "-o", "/dev/null", f"{url}/b",
                "-H", f"Proxy-Authorization: Basic {tokens[3]}",
                "--data-binary", f"first line\ncookie: {tokens[4]}\nlast line\n"]
        capture = self.work.file("out.pcapng")
        tracer = harness.Tracer(self.work, "--redact", "--redact-header", "X-Api-Key", "--http",
                                "-w", capture, command=curl)
        records = tracer.wait()
        server.terminate()
        server.wait(timeout=10)
        self.assertEqual(tracer.returncode, 0, tracer.stderr())

        names = DEFAULT_NAMES | {"x-api-key"}
        sent, received = curl_trace_bytes(trace)
        for secret in tokens:  # curl really sent them: the masking below has work to do
            self.assertIn(secret.encode(), sent)
        want_sent, masked_sent = mask_http1(sent, names)
        want_received, masked_received = mask_http1(received, names)
        pid = harness.data_records(records)[0]["pid"]
        self.assertEqual(harness.captured_bytes(records, pid, "write"), want_sent)
        self.assertEqual(harness.captured_bytes(records, pid, "read"), want_received)
        self.assertEqual(masked_received, 1)  # the echoed body's cookie line
        self.assertRegex(tracer.stderr(),
                         rf"redact: {masked_sent + masked_received} header values masked")

        with open(capture, "rb") as f:
            pcapng = f.read()
        self.assert_nowhere(tokens, shown_bytes(records), pcapng)

        exchanges = [r for r in records if r["type"] == "http"]
        self.assertEqual([e["path"] for e in exchanges], ["/a", "/b"])
        first = dict(exchanges[0]["req_headers"])
        self.assertEqual(first["Authorization"], "*" * len(f"Bearer {tokens[0]}"))
        self.assertEqual(first["Cookie"], "*" * len(f"sid={tokens[1]}; theme=dark"))
        self.assertEqual(first["X-Api-Key"], "*" * len(tokens[2]))
        self.assertEqual(first["X-Other"], "visible")
        self.assertEqual(dict(exchanges[1]["req_headers"])["Proxy-Authorization"],
                         "*" * len(f"Basic {tokens[3]}"))

        # Wireshark reads the same masked requests from the capture.
        self.assertEqual(fields(capture, "http.request", "http.request.uri", "http.authorization",
                                "http.cookie"),
                         [("/a", "*" * len(f"Bearer {tokens[0]}"),
                           "*" * len(f"sid={tokens[1]}; theme=dark")), ("/b", "", "")])

    def test_http1_text_output(self):
        port = harness.free_port()
        server = self.start_echo_server(port)
        secret = token()
        out = self.work.file("out.txt")
        result = subprocess.run(
            [harness.TLSTAP, "--redact", "-o", out, "--", "curl", "-sk", "-o", "/dev/null",
             f"https://127.0.0.1:{port}/t", "-H", f"Cookie: {secret}"],
            capture_output=True, text=True, timeout=120)
        server.terminate()
        server.wait(timeout=10)
        self.assertEqual(result.returncode, 0, result.stderr)
        with open(out, "rb") as f:
            text = f.read()
        self.assertNotIn(secret.encode(), text)
        # The text output shows a CR as \r, the line as it was sent.
        self.assertIn(b"\nCookie: " + b"*" * len(secret) + b"\\r\n", text)


    def test_http2_curl_to_nginx(self):
        self.assertIsNotNone(shutil.which("nginx"), "nginx is not installed")
        root = self.work.file("www")
        os.makedirs(root)
        harness.write_bytes(os.path.join(root, "a.txt"), b"first file\n")
        harness.write_bytes(os.path.join(root, "b.txt"), b"second file\n")
        server_cookie = token()
        port = harness.free_port()
        nginx = harness.start_nginx(
            self.work, port, root, f'add_header Set-Cookie "sid={server_cookie}; Path=/";')
        # Long values: nghttp2's encoder puts them in its dynamic table, so the second request
        # refers to the first one's (masked) entries.
        tokens = [token() * 3, token() * 3, token()]
        curl = ["curl", "-sk", "--http2", "-v",
                "-H", f"Authorization: Bearer {tokens[0]}",
                "-H", f"Cookie: a={tokens[1]}", "-H", f"X-Api-Key: {tokens[2]}",
                "-H", "X-Other: visible"]
        for name in ("a.txt", "b.txt"):
            curl += ["-o", "/dev/null", f"https://127.0.0.1:{port}/{name}"]
        capture = self.work.file("out.pcapng")
        tracer = harness.Tracer(self.work, "--redact", "--redact-header", "x-api-key", "--http",
                                "-w", capture, command=curl)
        records = tracer.wait()
        nginx.terminate()
        nginx.wait(timeout=30)
        self.assertEqual(tracer.returncode, 0, tracer.stderr())
        all_secrets = tokens + [server_cookie]
        with open(capture, "rb") as f:
            pcapng = f.read()
        self.assert_nowhere(all_secrets, shown_bytes(records), pcapng)

        # The view: every header as curl says it sent and received it, the secrets as '*'s.
        names = DEFAULT_NAMES | {"x-api-key"}

        def masked(headers):
            return [[n, "*" * len(v) if n.lower() in names else v] for n, v in headers]

        seen = curl_exchanges(tracer.stderr())
        pid = harness.data_records(records)[0]["pid"]
        got = sorted((r for r in records if r["type"] == "http" and r["pid"] == pid),
                     key=lambda r: r["stream"])
        self.assertEqual([r["path"] for r in got], ["/a.txt", "/b.txt"])
        for record, expected in zip(got, seen):
            self.assertEqual(record["req_headers"],
                             masked([h for h in expected["request"] if h[0] != "Host"]))
            # curl -v prints header names as nginx sent them (lower case in HTTP/2).
            self.assertEqual(record["resp_headers"], masked(expected["response"]))
            self.assertEqual(record["status"], 200)
        self.assertIn(["set-cookie", "*" * len(f"sid={server_cookie}; Path=/")],
                      got[0]["resp_headers"])

        # Wireshark decodes the masked header blocks: the same headers, the secrets' values of
        # the same length with none of the secret in them.
        def header_field(name):  # one line per HEADERS packet, its fields' occurrences
            out = tshark(capture, "-Y", "http2.type == 1", "-T", "fields", "-E",
                         "aggregator=\x1f", "-e", name)
            return [line.split("\x1f") for line in out.splitlines()]

        decoded = []
        for names_in_packet, values_in_packet in zip(header_field("http2.header.name"),
                                                     header_field("http2.header.value")):
            self.assertEqual(len(names_in_packet), len(values_in_packet))
            decoded += list(zip(names_in_packet, values_in_packet))
        authorizations = [v for n, v in decoded if n == "authorization"]
        self.assertEqual(len(authorizations), 2, decoded)
        originals = {"authorization": f"Bearer {tokens[0]}", "cookie": f"a={tokens[1]}",
                     "x-api-key": tokens[2], "set-cookie": f"sid={server_cookie}; Path=/"}
        for name, value in decoded:
            if name in originals:
                self.assertEqual(len(value), len(originals[name]), name)
            for secret in all_secrets:  # Huffman-coded on the wire: checked decoded
                self.assertNotIn(secret, value)
        paths = [v for n, v in decoded if n == ":path"]
        self.assertEqual(paths, ["/a.txt", "/b.txt"])
        others = [v for n, v in decoded if n == "x-other"]
        self.assertEqual(others, ["visible", "visible"])
        self.assertRegex(tracer.stderr(), r"redact: \d+ header values masked")


if __name__ == "__main__":
    harness.main()
