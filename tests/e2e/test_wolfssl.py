"""wolfSSL: a C client (wolfSSL_write, wolfSSL_send, wolfSSL_read, wolfSSL_recv, and
wolfSSL_peek, which must not be reported) against a python OpenSSL server, and lighttpd
serving TLS with mod_wolfssl to a python client. Every byte exactly as the peers themselves
sent and received it, under `lib` wolfssl, with the connection's fields."""
import os
import shutil
import subprocess
import unittest

import harness
import tls_side
from harness import data_records, lost_records

WOLFSSL_CLIENT = tls_side.built_program("WOLFSSL_CLIENT", "wolfssl_client")
LIGHTTPD = shutil.which("lighttpd") or "/usr/sbin/lighttpd"
MOD_WOLFSSL = "/usr/lib/lighttpd/mod_wolfssl.so"


class WolfSslTest(unittest.TestCase):
    def setUp(self):
        self.work = harness.Workdir()

    def tearDown(self):
        self.work.cleanup()

    def test_client_against_python_openssl_server(self):
        if not WOLFSSL_CLIENT:
            self.skipTest("wolfssl_client not built (libwolfssl-dev missing at build time)")
        first_write = 1 << 20  # one wolfSSL_write of 1 MiB, then one wolfSSL_send of the rest
        payload, reply = os.urandom(first_write + 50_000), os.urandom(300_000)
        send, reply_path = self.work.file("send"), self.work.file("reply")
        harness.write_bytes(send, payload)
        harness.write_bytes(reply_path, reply)
        port = harness.free_port()
        server = harness.start_peer_server(self.work, port, len(payload), reply_path)
        info_path, received_path = self.work.file("client.info"), self.work.file("client.recv")
        # Only the client is traced (-- COMMAND): the python server's OpenSSL stays out.
        tracer = harness.Tracer(self.work, command=[
            WOLFSSL_CLIENT, "--port", str(port), "--send-file", send, "--first-write",
            str(first_write), "--received-file", received_path, "--info-file", info_path])
        records = tracer.wait()
        self.assertEqual(tracer.returncode, 0, tracer.stderr())
        self.assertEqual(server.wait(timeout=30), 0)
        self.assertEqual(harness.read_bytes(self.work.file("server-received")), payload)
        self.assertEqual(harness.read_bytes(received_path), reply)

        info = tls_side.read_info(info_path)
        self.assertGreater(info["wolfSSL_peek"], 0)
        self.assertGreater(info["wolfSSL_recv"], 0)
        calls = {f: info[f] for f in ("wolfSSL_write", "wolfSSL_send", "wolfSSL_read",
                                      "wolfSSL_recv")}
        tls_side.assert_side(self, records, info["pid"], lib="wolfssl", sent=payload,
                             received=reply, role="client", lport=info["lport"], rport=port,
                             fd=info["fd"], calls=calls)
        # wolfSSL_send is wolfSSL_write with socket flags: its inner wolfSSL_write is folded in.
        writes = [(r["func"], r["len"]) for r in data_records(records, info["pid"], "write")]
        self.assertEqual(writes, [("wolfSSL_write", first_write),
                                  ("wolfSSL_send", len(payload) - first_write)])
        self.assertEqual(lost_records(records), [])

    def test_lighttpd_mod_wolfssl_server(self):
        if not (os.access(LIGHTTPD, os.X_OK) and os.path.exists(MOD_WOLFSSL)):
            self.skipTest("lighttpd with mod_wolfssl not installed (lighttpd-mod-wolfssl)")
        docroot = self.work.file("docroot")
        os.mkdir(docroot)
        body = os.urandom(200_000)
        harness.write_bytes(os.path.join(docroot, "blob.bin"), body)
        port = harness.free_port()
        config = self.work.file("lighttpd.conf")
        harness.write_bytes(config, f"""
server.document-root = "{docroot}"
server.bind = "127.0.0.1"
server.port = {port}
server.errorlog = "{self.work.file('lighttpd.err')}"
server.modules += ("mod_wolfssl")
ssl.engine = "enable"
ssl.pemfile = "{self.work.cert}"
ssl.privkey = "{self.work.key}"
""".encode())
        lighttpd = harness.track(subprocess.Popen([LIGHTTPD, "-D", "-f", config],
                                                  stdout=subprocess.DEVNULL,
                                                  stderr=subprocess.DEVNULL))
        try:
            harness.wait_for_port(port)
            # Started after lighttpd: its libwolfssl is found in its mappings.
            tracer = harness.Tracer(self.work, "-p", str(lighttpd.pid))
            request = (b"GET /blob.bin HTTP/1.1\r\nHost: localhost\r\nUser-Agent: tlstap-e2e\r\n"
                       b"Connection: close\r\n\r\n")
            request_path, received_path = self.work.file("request"), self.work.file("response")
            harness.write_bytes(request_path, request)
            # The client says its port once connected; the go-ahead file is already there.
            port_path, go = self.work.file("client-port"), self.work.file("go")
            harness.write_bytes(go, b"")
            client = harness.run_peer("client", "--port", str(port), "--send-file",
                                      request_path, "--received-file", received_path,
                                      "--handshake-file", port_path, "--send-after-file", go)
            self.assertEqual(client.wait(timeout=60), 0)
            response = harness.read_bytes(received_path)
            client_port = int(harness.read_bytes(port_path))
            self.assertTrue(response.startswith(b"HTTP/1.1 200 OK\r\n"), response[:100])
            self.assertTrue(response.endswith(b"\r\n\r\n" + body))
            tracer.wait_for_bytes(lighttpd.pid, "write", response, 30, "lighttpd's response")
            tls_side.wait_for_close(tracer, lighttpd.pid)
            records = tracer.stop()
        finally:
            lighttpd.terminate()
            lighttpd.wait(timeout=30)
        tls_side.assert_side(self, records, lighttpd.pid, lib="wolfssl", sent=response,
                             received=request, role="server", lport=port, rport=client_port)
        self.assertTrue({r["func"] for r in data_records(records, lighttpd.pid)} <=
                        {"wolfSSL_read", "wolfSSL_write"})
        self.assertEqual({r["comm"] for r in data_records(records)}, {"lighttpd"})
        self.assertEqual(lost_records(records), [])

    def test_openssl_names_aliasing_wolfssl_functions(self):
        """A library whose SSL_write/SSL_read are the very code of its wolfSSL_write/
        wolfSSL_read (a compatibility layer exporting aliases): each call is one record,
        lib wolfssl, whatever name the program called it by."""
        library = self.work.file("libcompat.so")
        program = self.work.file("alias_caller")
        source = self.work.file("alias_caller.c")
        harness.write_bytes(source, b"""
#include <string.h>
int SSL_write(void *ssl, const void *data, int size);
int SSL_read(void *ssl, void *data, int size);
int main(void) {
  char out[6], in[8];
  memcpy(out, "hello!", 6);
  memcpy(in, "abcdefgh", 8);
  return SSL_write(out, out, 6) == 6 && SSL_read(in, in, 8) == 7 ? 0 : 1;
}
""")
        fixture = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "unit",
                               "fixtures", "fake_wolfssl_compat.c")
        subprocess.run(["gcc", "-O1", "-shared", "-fPIC", "-o", library, fixture], check=True)
        subprocess.run(["gcc", "-o", program, source, library, f"-Wl,-rpath,{self.work.path}"],
                       check=True)
        tracer = harness.Tracer(self.work, "--lib", library, command=[program])
        records = tracer.wait()
        self.assertEqual(tracer.returncode, 0, tracer.stderr())
        # Sorted: a write on a session without a socket is held a while (it could be a memory
        # BIO's, whose ciphertext send would say its connection), so the read may come first.
        calls = sorted((r["lib"], r["func"], r["dir"], harness.base64.b64decode(r["data"]))
                       for r in data_records(records))
        self.assertEqual(calls, [("wolfssl", "wolfSSL_read", "read", b"abcdefg"),
                                 ("wolfssl", "wolfSSL_write", "write", b"hello!")])

    def test_ex_forms_and_a_count_pointer_that_is_null(self):
        """wolfSSL 5.7+'s wolfSSL_read_ex/wolfSSL_write_ex (not in Debian 12's wolfSSL, so a
        stand-in library here): the count comes from *rd/*wr; a call given no count pointer
        moved bytes nobody can count, and says so as a lost event."""
        library, program = self.work.file("libwolfssl_ex.so"), self.work.file("ex_caller")
        harness.write_bytes(self.work.file("wolfssl_ex.c"), b"""
#include <stddef.h>
int wolfSSL_write_ex(void *ssl, const void *data, size_t sz, size_t *wr) {
  if (wr) *wr = sz - 1;
  return ssl && data ? 1 : 0;
}
int wolfSSL_read_ex(void *ssl, void *data, size_t sz, size_t *rd) {
  if (rd) *rd = sz / 2;
  return ssl && data ? 1 : 0;
}
""")
        harness.write_bytes(self.work.file("ex_caller.c"), b"""
#include <stddef.h>
#include <string.h>
int wolfSSL_write_ex(void *ssl, const void *data, size_t sz, size_t *wr);
int wolfSSL_read_ex(void *ssl, void *data, size_t sz, size_t *rd);
int main(void) {
  char out[8], in[8];
  size_t n = 0;
  memcpy(out, "written!", 8);
  memcpy(in, "readable", 8);
  int ok = wolfSSL_write_ex(out, out, 8, &n) == 1 && n == 7;
  ok = ok && wolfSSL_read_ex(in, in, 8, &n) == 1 && n == 4;
  ok = ok && wolfSSL_read_ex(in, in, 8, NULL) == 1;
  return ok ? 0 : 1;
}
""")
        subprocess.run(["gcc", "-O1", "-shared", "-fPIC", "-o", library,
                        self.work.file("wolfssl_ex.c")], check=True)
        subprocess.run(["gcc", "-o", program, self.work.file("ex_caller.c"), library,
                        f"-Wl,-rpath,{self.work.path}"], check=True)
        tracer = harness.Tracer(self.work, "--lib", library, command=[program])
        records = tracer.wait()
        self.assertEqual(tracer.returncode, 0, tracer.stderr())
        calls = sorted((r["func"], harness.base64.b64decode(r["data"]))
                       for r in data_records(records))
        self.assertEqual(calls, [("wolfSSL_read_ex", b"read"), ("wolfSSL_write_ex", b"written")])
        self.assertEqual({r["lib"] for r in data_records(records)}, {"wolfssl"})
        # Its bytes are not known: the loss counters count none (as for calls beyond the
        # nesting depth).
        self.assertEqual([(r["events"], r.get("bytes")) for r in lost_records(records)],
                         [(1, 0)])


if __name__ == "__main__":
    harness.main()
