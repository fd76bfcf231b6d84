"""Shared pieces of the e2e tests: run tlstap for real, drive real TLS peers, read records.

Every test compares the bytes tlstap captured with the bytes the peer itself says it sent
or received: exact equality, never "contains".
"""
import base64
import errno
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

TLSTAP = os.environ.get("TLSTAP_BIN", os.path.join(os.path.dirname(__file__), "../../build/tlstap"))
PROGS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "progs")
PYTHON = "/usr/bin/python3"  # Debian's python, linked to the system libssl
SKIP_EXIT_CODE = 77

# Every process a test starts; a test that fails half-way must not leave a tracer or a peer
# running into the next test.
_started = []


def track(process):
    _started.append(process)
    return process


def stop_leftovers():
    while _started:
        process = _started.pop()
        if process.poll() is None:
            process.kill()
            process.wait()


def require_bpf():
    """E2E tests need root. Without it they skip, unless TLSTAP_REQUIRE_BPF=1 says a skip is a
    failure (CI)."""
    if os.geteuid() == 0:
        return
    message = "e2e test needs root (CAP_BPF + CAP_PERFMON)"
    if os.environ.get("TLSTAP_REQUIRE_BPF") == "1":
        print(f"FAIL: {message}, and TLSTAP_REQUIRE_BPF=1", file=sys.stderr)
        sys.exit(1)
    print(f"SKIP: {message}", file=sys.stderr)
    sys.exit(SKIP_EXIT_CODE)


def main():
    require_bpf()
    unittest.main(verbosity=2)


_ports_handed_out = set()


def _bindable(family, address, port):
    try:
        with socket.socket(family) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((address, port))
        return True
    except OSError as error:
        # A machine without IPv6 has no ::1 at all: that family does not decide.
        return family == socket.AF_INET6 and error.errno in (errno.EADDRNOTAVAIL,
                                                             errno.EAFNOSUPPORT)


def free_port():
    """A port for a test server, below the kernel's ephemeral range (32768-60999 here): a port
    from that range can be taken by any outgoing connection between this check and the
    server's bind, which made a test fail now and then."""
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        low, _ = (int(x) for x in f.read().split())
    candidates = list(range(20000, max(20001, low)))
    random.shuffle(candidates)
    for port in candidates:
        if port in _ports_handed_out:
            continue
        if not all(_bindable(family, address, port)
                   for family, address in ((socket.AF_INET, "127.0.0.1"),
                                           (socket.AF_INET6, "::1"))):
            continue
        _ports_handed_out.add(port)
        return port
    raise AssertionError("no free port below the ephemeral range")


class Workdir:
    """A temporary directory with a self-signed certificate."""

    def __init__(self):
        self.path = tempfile.mkdtemp(prefix="tlstap-e2e-")
        self.cert = os.path.join(self.path, "cert.pem")
        self.key = os.path.join(self.path, "key.pem")
        # An EC key: handshakes are cheap, so tests with thousands of connections stay fast.
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", self.key, "-out",
                        self.cert, "-days", "1", "-subj", "/CN=localhost"],
                       check=True, capture_output=True)

    def file(self, name):
        return os.path.join(self.path, name)

    def cleanup(self):
        stop_leftovers()
        shutil.rmtree(self.path, ignore_errors=True)


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def write_bytes(path, data):
    with open(path, "wb") as f:
        f.write(data)


def wait_for(predicate, timeout=10.0, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def wait_for_port(port, timeout=10.0):
    """For servers that accept many connections (a probe connection costs one accept)."""
    def listening():
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", port)) == 0
    wait_for(listening, timeout, f"port {port}")


def start_peer_server(workdir, port, expect, reply_path, name="server", extra=()):
    """A tls_peer.py server (one connection unless `extra` says otherwise), returned once it
    listens."""
    ready = workdir.file(f"{name}-ready")
    if os.path.exists(ready):
        os.unlink(ready)  # left by an earlier server of the same test
    server = run_peer("server", "--port", str(port), "--cert", workdir.cert, "--key",
                      workdir.key, "--reply-file", reply_path, "--expect", str(expect),
                      "--ready-file", ready, "--received-file", workdir.file(f"{name}-received"),
                      *extra)
    wait_for(lambda: os.path.exists(ready) or server.poll() is not None, 10, "server to listen")
    return server


def start_nginx(workdir, port, root, server_conf="", workers=1, http2=True):
    """nginx serving `root` over TLS (with HTTP/2 unless told) on 127.0.0.1:`port`, its files
    in `workdir`; `server_conf` goes into the server block."""
    logs = workdir.file("nginx")
    os.makedirs(logs)
    conf = workdir.file("nginx.conf")
    with open(conf, "w") as f:
        f.write(f"""worker_processes {workers};
user root;
error_log {logs}/error.log;
pid {logs}/nginx.pid;
events {{}}
http {{
  access_log off;
  client_body_temp_path {logs}/body;
  proxy_temp_path {logs}/proxy;
  fastcgi_temp_path {logs}/fastcgi;
  uwsgi_temp_path {logs}/uwsgi;
  scgi_temp_path {logs}/scgi;
  types {{ text/plain txt; application/octet-stream bin; }}
  server {{
    listen 127.0.0.1:{port} ssl{" http2" if http2 else ""};
    ssl_certificate {workdir.cert};
    ssl_certificate_key {workdir.key};
    root {root};
    {server_conf}
  }}
}}
""")
    with open(workdir.file("nginx.stderr"), "w") as stderr:
        nginx = track(subprocess.Popen(
            ["nginx", "-p", logs, "-c", conf, "-g", "daemon off;"], stderr=stderr))
    wait_for_port(port)
    return nginx


class Tracer:
    """tlstap writing JSON lines to a file, started and stopped like a user would."""

    def __init__(self, workdir, *args, command=None, name="trace"):
        self.output = workdir.file(f"{name}.jsonl")
        self.stderr_path = workdir.file(f"{name}.stderr")
        if os.path.exists(self.output):  # an earlier tracer's in the same test: tlstap
            os.unlink(self.output)        # does not overwrite files without --force
        argv = [TLSTAP, "-f", "json", "-o", self.output, *args]
        if command:
            argv += ["--", *command]
        self._stderr = open(self.stderr_path, "w+")
        self.process = track(subprocess.Popen(argv, stderr=self._stderr,
                                              stdout=subprocess.DEVNULL))
        if not command:
            wait_for(lambda: "Ctrl-C to stop" in self.stderr() or self.process.poll() is not None,
                     30, "tlstap to attach")
            if self.process.poll() is not None:
                raise AssertionError(f"tlstap exited early: {self.stderr()}")

    def stderr(self):
        with open(self.stderr_path) as f:
            return f.read()

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        self.returncode = self.process.wait(timeout=60)
        self._stderr.close()
        return self.records()

    def wait(self, timeout=120):
        self.returncode = self.process.wait(timeout=timeout)
        self._stderr.close()
        return self.records()

    def records(self):
        with open(self.output) as f:
            return [json.loads(line) for line in f if line.strip()]

    def wait_for_bytes(self, pid, direction, expected, timeout, what):
        """Waits, while tlstap runs, until `pid`'s captured `direction` bytes are `expected`."""
        def captured():
            try:
                return captured_bytes(self.records(), pid, direction) == expected
            except ValueError:  # the line tlstap is writing right now
                return False
        wait_for(captured, timeout, what)


def data_records(records, pid=None, direction=None):
    return [r for r in records if r["type"] == "data" and (pid is None or r["pid"] == pid)
            and (direction is None or r["dir"] == direction)]


def captured_bytes(records, pid, direction):
    """The plaintext one process sent (write) or received (read), in call order."""
    return b"".join(base64.b64decode(r["data"]) for r in data_records(records, pid, direction))


def lost_records(records):
    return [r for r in records if r["type"] == "lost"]


def run_peer(*args, **kwargs):
    """tests/progs/tls_peer.py with Debian's python3 (its ssl module is OpenSSL 3, using
    SSL_read_ex/SSL_write_ex)."""
    return track(subprocess.Popen([PYTHON, os.path.join(PROGS, "tls_peer.py"), *args], **kwargs))


def by_connection(records, pid):
    """{conn id: [records]} of one process's data records, in order."""
    result = {}
    for r in data_records(records, pid):
        result.setdefault(r["conn"], []).append(r)
    return result


def contiguous_stream(records, direction):
    """The bytes of one connection's records in `direction`, checking that every record is
    whole (data == len) and that each starts where the previous one ended (pos)."""
    out, pos = b"", 0
    for r in records:
        if r["dir"] != direction:
            continue
        assert r["pos"] == pos, (r["pos"], pos, r.get("conn"))
        data = base64.b64decode(r["data"])
        assert len(data) == r["len"], r
        out += data
        pos += r["len"]
    return out


def assert_connection_fields(test, records, role, lport, rport, address="127.0.0.1"):
    """Every record carries the real socket's fields, and the connection was seen from its
    start."""
    test.assertTrue(records)
    for r in records:
        test.assertIn("fd", r, r)
        test.assertEqual((r["role"], r["laddr"], r["lport"], r["raddr"], r["rport"]),
                         (role, address, lport, address, rport), r)
        test.assertNotIn("midstream", r)
