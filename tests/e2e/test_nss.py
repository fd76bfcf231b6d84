"""NSS through NSPR: NSS's own test programs tstclnt and selfserv (libnss3-tools) against
python's OpenSSL peers and against each other, and an NSS client that does plain file and
socket I/O through the same NSPR functions (tests/progs/nss_mixed_client.c). Every byte each
side sent and received, exactly; nothing of the plain I/O."""
import json
import os
import shutil
import socket
import subprocess
import threading
import unittest

import harness
from harness import captured_bytes, data_records, lost_records

# selfserv's answer to a request for something that is not a file: this header, the request
# itself, then this end mark (cmd/selfserv/selfserv.c).
SELFSERV_HEADER = (b"HTTP/1.0 200 OK\r\nServer: Generic Web Server\r\n"
                   b"Date: Tue, 26 Aug 1997 22:10:05 GMT\r\nContent-type: text/plain\r\n\r\n")
SELFSERV_EOF = b"EOF\r\n\r\n\r\n"


def nss_tool(name):
    for path in (shutil.which(name), f"/usr/lib/nss/{name}"):
        if path and os.access(path, os.X_OK):
            return path
    return None


def nss_database(work):
    """An NSS database (sql:DIR) holding the harness's certificate and key as "server"."""
    db = work.file("nssdb")
    os.mkdir(db)
    p12 = work.file("server.p12")
    for argv in (["openssl", "pkcs12", "-export", "-in", work.cert, "-inkey", work.key, "-out",
                  p12, "-passout", "pass:", "-name", "server"],
                 ["certutil", "-N", "-d", f"sql:{db}", "--empty-password"],
                 ["pk12util", "-i", p12, "-d", f"sql:{db}", "-W", ""]):
        subprocess.run(argv, check=True, capture_output=True)
    return f"sql:{db}"


class PlainServer:
    """A plain TCP server: greets each connection with record-like bytes, keeps what it gets."""

    GREETING = bytes([23, 3, 3, 0, 195]) + b"g" * 195  # 200 bytes, as nss_mixed_client expects

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.received = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        with conn:
            conn.sendall(self.GREETING)
            data = b""
            while chunk := conn.recv(65536):
                data += chunk
        with self.lock:
            self.received.append(data)

    def close(self):
        self.listener.close()


class NssTest(unittest.TestCase):
    def setUp(self):
        self.work = harness.Workdir()

    def tearDown(self):
        self.work.cleanup()

    def require_tools(self):
        tools = {name: nss_tool(name) for name in ("tstclnt", "selfserv", "certutil", "pk12util")}
        missing = [name for name, path in tools.items() if not path]
        if missing:
            self.skipTest(f"no {', '.join(missing)} (libnss3-tools; scripts/install-deps.sh)")
        return tools

    def trace_port(self, port):
        """tlstap on the whole machine (peers started before and after it), but only for
        connections to the test's server: other processes' TLS can neither show up nor fill the
        ring buffer."""
        return harness.Tracer(self.work, "--port", str(port))

    def start_selfserv(self, port, db):
        # Its working directory holds no file the requests name (it serves files it finds).
        server = harness.track(subprocess.Popen(
            [nss_tool("selfserv"), "-d", db, "-n", "server", "-p", str(port)], cwd=self.work.path,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        # The probe connection this costs does no TLS: selfserv closes it without a record.
        harness.wait_for_port(port)
        return server

    def run_tstclnt(self, port, db, request_path, out_path):
        # stdin must be a regular file: on a pipe's end tstclnt polls forever (POLLHUP without
        # POLLIN). It reads stdin with PR_Read and writes what it receives to stdout with
        # PR_Write: plain NSPR I/O in the same process as its TLS calls.
        with open(request_path, "rb") as stdin, open(out_path, "wb") as stdout:
            client = harness.track(subprocess.Popen(
                [nss_tool("tstclnt"), "-h", "127.0.0.1", "-p", str(port), "-d", db, "-o"],
                stdin=stdin, stdout=stdout, stderr=subprocess.DEVNULL))
        return client

    def assert_one_connection(self, records, pid, role, port, funcs):
        """pid's records: all on one connection with the given role and server port, positions
        continuous, each function among `funcs`; its close record counts its bytes. Returns the
        first record."""
        mine = data_records(records, pid)
        self.assertTrue(mine)
        first = mine[0]
        self.assertGreaterEqual(first["fd"], 0)
        for r in mine:
            self.assertEqual((r["lib"], r["conn"], r["fd"], r["role"]),
                             ("nss" if r["func"].startswith("PR_") else "openssl",
                              first["conn"], first["fd"], role), r)
            self.assertIn(r["func"], funcs)
            self.assertFalse(r["truncated"])
            server_end = (r["laddr"], r["lport"]) if role == "server" else (r["raddr"], r["rport"])
            self.assertEqual(server_end, ("127.0.0.1", port))
        position = {"read": 0, "write": 0}
        for r in mine:
            self.assertEqual(r["pos"], position[r["dir"]], r)
            position[r["dir"]] += r["len"]
        closes = [r for r in records if r["type"] == "close" and r["conn"] == first["conn"]]
        self.assertEqual(len(closes), 1)
        self.assertEqual((closes[0]["read_bytes"], closes[0]["write_bytes"]),
                         (position["read"], position["write"]))
        return first

    def assert_mirror(self, client, server):
        self.assertEqual((client["laddr"], client["lport"]), (server["raddr"], server["rport"]))

    def test_tstclnt_to_python_server(self):
        """tstclnt sends its stdin with PR_Send (4000 bytes a call) and receives with 4000-byte
        PR_Recv calls, most of them served from NSS's buffer of a 16 KiB record."""
        self.require_tools()
        db = nss_database(self.work)
        payload, reply = os.urandom(50_000), os.urandom(100_000)
        harness.write_bytes(self.work.file("send"), payload)
        harness.write_bytes(self.work.file("reply"), reply)
        port = harness.free_port()
        tracer = self.trace_port(port)
        server = harness.start_peer_server(self.work, port, len(payload), self.work.file("reply"))
        client = self.run_tstclnt(port, db, self.work.file("send"), self.work.file("stdout"))
        self.assertEqual(client.wait(timeout=60), 0)
        self.assertEqual(server.wait(timeout=60), 0)
        records = tracer.stop()

        self.assertEqual(harness.read_bytes(self.work.file("server-received")), payload)
        self.assertEqual(harness.read_bytes(self.work.file("stdout")), reply)
        self.assertEqual(captured_bytes(records, client.pid, "write"), payload)
        self.assertEqual(captured_bytes(records, client.pid, "read"), reply)
        self.assertEqual(captured_bytes(records, server.pid, "read"), payload)
        self.assertEqual(captured_bytes(records, server.pid, "write"), reply)
        reads = data_records(records, client.pid, "read")
        # 100,000 bytes are 7 records of at most 16 KiB: the other reads did no socket I/O.
        self.assertGreaterEqual(len(reads), 25)
        c = self.assert_one_connection(records, client.pid, "client", port, {"PR_Send", "PR_Recv"})
        s = self.assert_one_connection(records, server.pid, "server", port,
                                       {"SSL_read_ex", "SSL_write_ex"})
        self.assert_mirror(c, s)
        self.assertEqual(lost_records(records), [])

    def python_client_to_selfserv(self, request, expected_response):
        db = nss_database(self.work)
        harness.write_bytes(self.work.file("send"), request)
        port = harness.free_port()
        server = self.start_selfserv(port, db)
        tracer = self.trace_port(port)
        client = harness.run_peer("client", "--port", str(port), "--send-file",
                                  self.work.file("send"), "--message-size", "1000",
                                  "--received-file", self.work.file("client-received"))
        self.assertEqual(client.wait(timeout=60), 0)
        # selfserv closes the connection after its answer: wait for the close record.
        tracer.wait_for_bytes(server.pid, "write", expected_response, 10, "selfserv's answer")
        records = tracer.stop()
        server.kill()
        server.wait()

        self.assertEqual(harness.read_bytes(self.work.file("client-received")),
                         expected_response)
        self.assertEqual(captured_bytes(records, server.pid, "read"), request)
        self.assertEqual(captured_bytes(records, server.pid, "write"), expected_response)
        self.assertEqual(captured_bytes(records, client.pid, "write"), request)
        self.assertEqual(captured_bytes(records, client.pid, "read"), expected_response)
        c = self.assert_one_connection(records, client.pid, "client", port,
                                       {"SSL_read_ex", "SSL_write_ex"})
        s = self.assert_one_connection(records, server.pid, "server", port,
                                       {"PR_Read", "PR_Writev", "PR_Send"})
        self.assert_mirror(c, s)
        self.assertEqual(lost_records(records), [])
        return records, server.pid

    def test_python_client_to_selfserv_answer_by_pr_writev(self):
        """selfserv reads the request with PR_Read and answers with one PR_Writev: its header,
        the request, its end mark."""
        self.require_tools()
        request = (b"GET /not-a-file HTTP/1.0\r\nX-Fill: " + os.urandom(3000).hex().encode() +
                   b"\r\n\r\n")
        records, server = self.python_client_to_selfserv(
            request, SELFSERV_HEADER + request + SELFSERV_EOF)
        self.assertEqual([r["func"] for r in data_records(records, server, "write")],
                         ["PR_Writev"])

    def test_python_client_to_selfserv_sending_a_file(self):
        """A request naming a file: selfserv's PR_TransmitFile, which NSS emulates on SSL
        sockets with NSPR's PR_EmulateSendFile: one PR_Writev of the header and the file's first
        256 KiB (vector elements that end off the 16 KiB chunk grid), PR_Send for the rest."""
        self.require_tools()
        content = os.urandom(400_000)
        path = self.work.file("served-file")
        harness.write_bytes(path, content)
        request = f"GET {path} HTTP/1.0\r\n\r\n".encode()
        records, server = self.python_client_to_selfserv(request, SELFSERV_HEADER + content)
        self.assertEqual({r["func"] for r in data_records(records, server, "write")},
                         {"PR_Writev", "PR_Send"})

    def test_tstclnt_to_selfserv(self):
        self.require_tools()
        db = nss_database(self.work)
        request = b"GET /nothing HTTP/1.0\r\nX-Fill: " + os.urandom(2000).hex().encode() + \
            b"\r\n\r\n"
        harness.write_bytes(self.work.file("request"), request)
        response = SELFSERV_HEADER + request + SELFSERV_EOF
        port = harness.free_port()
        server = self.start_selfserv(port, db)
        tracer = self.trace_port(port)
        client = self.run_tstclnt(port, db, self.work.file("request"), self.work.file("stdout"))
        self.assertEqual(client.wait(timeout=60), 0)
        records = tracer.stop()
        server.kill()
        server.wait()

        self.assertEqual(harness.read_bytes(self.work.file("stdout")), response)
        self.assertEqual(captured_bytes(records, client.pid, "write"), request)
        self.assertEqual(captured_bytes(records, client.pid, "read"), response)
        self.assertEqual(captured_bytes(records, server.pid, "read"), request)
        self.assertEqual(captured_bytes(records, server.pid, "write"), response)
        c = self.assert_one_connection(records, client.pid, "client", port, {"PR_Send", "PR_Recv"})
        s = self.assert_one_connection(records, server.pid, "server", port,
                                       {"PR_Read", "PR_Writev"})
        self.assert_mirror(c, s)
        self.assertEqual(lost_records(records), [])

    def mixed_client(self, *extra):
        """nss_mixed_client against a python TLS server and a plain TCP server, traced alone
        (tlstap -- CLIENT): only its TLS plaintext may be captured."""
        binary = os.environ.get("NSS_MIXED_CLIENT") or os.path.join(
            os.path.dirname(harness.TLSTAP), "tests", "e2e", "nss_mixed_client")
        if not os.access(binary, os.X_OK):
            self.skipTest("no nss_mixed_client: pkg-config found no nss (libnss3-dev, "
                          "libnspr4-dev) when tlstap was built")
        payload, reply = os.urandom(30_001), os.urandom(20_000)
        harness.write_bytes(self.work.file("send"), payload)
        harness.write_bytes(self.work.file("reply"), reply)
        port = harness.free_port()
        server = harness.start_peer_server(self.work, port, len(payload), self.work.file("reply"))
        plain = PlainServer()
        try:
            info_path, plain_file = self.work.file("info"), self.work.file("plain-file")
            tracer = harness.Tracer(self.work, command=[
                binary, "--port", str(port), "--plain-port", str(plain.port), "--plain-file",
                plain_file, "--send-file", self.work.file("send"), "--received-file",
                self.work.file("client-received"), "--info-file", info_path, "--read-size",
                "100", *extra])
            records = tracer.wait(timeout=60)
            self.assertEqual(tracer.returncode, 0, tracer.stderr())
            self.assertEqual(server.wait(timeout=60), 0)
            harness.wait_for(lambda: len(plain.received) == 2, 10, "the plain connections")
        finally:
            plain.close()
        with open(info_path) as f:
            info = json.load(f)
        self.assertEqual(harness.read_bytes(self.work.file("server-received")), payload)
        self.assertEqual(harness.read_bytes(self.work.file("client-received")), reply)
        # The plain I/O really happened, with bytes that look like TLS records.
        self.assertEqual(sum(len(data) for data in plain.received), info["plain_sent"])
        self.assertEqual(info["plain_received"], 2 * len(PlainServer.GREETING))
        self.assertEqual(os.path.getsize(plain_file), info["file_written"])
        self.assertGreater(info["file_written"], 0)

        client = info["pid"]
        self.assertEqual(captured_bytes(records, client, "write"), payload)
        self.assertEqual(captured_bytes(records, client, "read"), reply)
        self.assertEqual({r["func"] for r in data_records(records, client, "write")},
                         {"PR_Write", "PR_Send", "PR_Writev"})
        self.assertEqual({r["func"] for r in data_records(records, client, "read")},
                         {"PR_Read", "PR_Recv"})
        # Every successful TLS call, one record each. The reads are 100-byte calls on 2 records
        # of 16 KiB at most: nearly all of them are served from NSS's buffer, without I/O.
        self.assertEqual(len(data_records(records, client, "write")), info["tls_writes"])
        self.assertEqual(len(data_records(records, client, "read")), info["tls_reads"])
        self.assertGreaterEqual(info["tls_reads"], 200)
        first = self.assert_one_connection(records, client, "client", port,
                                           {"PR_Write", "PR_Send", "PR_Writev", "PR_Read",
                                            "PR_Recv"})
        self.assertEqual((first["laddr"], first["lport"]), ("127.0.0.1", info["tls_lport"]))
        # Nothing else: no record and no close record of the plain socket or the file.
        self.assertEqual([r for r in records if r["type"] == "data" and r["pid"] != client], [])
        self.assertEqual([r["conn"] for r in records if r["type"] == "close"], [first["conn"]])
        self.assertEqual(lost_records(records), [])

    def test_plain_file_and_socket_io_through_nspr_is_not_captured(self):
        self.mixed_client()

    def test_ciphertext_through_nspr_below_the_ssl_layer_is_not_captured(self):
        """An NSPR layer between NSS's SSL layer and the socket calls PR_Send/PR_Recv on the
        socket: those calls, nested in the TLS calls, move the TLS records themselves."""
        self.mixed_client("--layer")


if __name__ == "__main__":
    harness.main()
