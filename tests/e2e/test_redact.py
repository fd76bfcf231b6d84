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
import subprocess
import unittest

import harness
from test_curl_openssl import curl_trace_bytes
from test_pcapng import fields

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


if __name__ == "__main__":
    harness.main()
