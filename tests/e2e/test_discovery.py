"""Targets that appear after tlstap started: a process started later that loads a copy of
libssl from a new path, a library only visible in another mount namespace, and a statically
linked executable that maps no libssl at all are found (exec/mmap events) and captured."""
import os
import shutil
import subprocess
import unittest

import harness
from harness import captured_bytes, lost_records

SYSTEM_LIBSSL = "/usr/lib/x86_64-linux-gnu/libssl.so.3"


class DiscoveryTest(unittest.TestCase):
    def setUp(self):
        self.work = harness.Workdir()

    def tearDown(self):
        self.work.cleanup()

    def start_server(self, payload_size, reply_size):
        """Random bytes for the client to send (file `send`) and a server that reads them and
        replies with random bytes of its own; returns (payload, reply, port, server)."""
        payload, reply = os.urandom(payload_size), os.urandom(reply_size)
        harness.write_bytes(self.work.file("send"), payload)
        harness.write_bytes(self.work.file("reply"), reply)
        port = harness.free_port()
        server = harness.start_peer_server(self.work, port, len(payload), self.work.file("reply"))
        return payload, reply, port, server

    def test_new_process_with_libssl_copy_at_new_path(self):
        libdir = self.work.file("private-lib")
        os.makedirs(libdir)
        copy = os.path.join(libdir, "libssl.so.3")
        shutil.copy(os.path.realpath(SYSTEM_LIBSSL), copy)

        tracer = harness.Tracer(self.work, "-v")  # everything on the machine
        self.assertNotIn(copy, tracer.stderr())
        payload, reply, port, server = self.start_server(5000, 3000)
        maps_file = self.work.file("client-maps")
        # The client loads the copy, then waits 1 s (the attach deadline) before any TLS.
        client = harness.run_peer("client", "--port", str(port), "--send-file",
                                  self.work.file("send"), "--received-file",
                                  self.work.file("client-received"), "--ready-file", maps_file,
                                  "--delay", "1.0", env={**os.environ, "LD_LIBRARY_PATH": libdir})
        self.assertEqual(client.wait(timeout=60), 0)
        self.assertEqual(server.wait(timeout=60), 0)
        records = tracer.stop()
        self.assertIn(copy, harness.read_bytes(maps_file).decode(), "client did not load the copy")
        self.assertIn(f"attached to {copy}", tracer.stderr())
        self.assertEqual(captured_bytes(records, client.pid, "write"), payload)
        self.assertEqual(captured_bytes(records, client.pid, "read"), reply)
        self.assertEqual(lost_records(records), [])

    def test_library_visible_only_inside_a_mount_namespace(self):
        """Like a container: the client's libssl sits on a tmpfs mounted in the client's own
        mount namespace, invisible from tlstap's. tlstap reaches it via /proc/PID/root."""
        private = self.work.file("ns-lib")
        os.makedirs(private)
        tracer = harness.Tracer(self.work, "-v")
        payload, reply, port, server = self.start_server(4000, 2000)
        client_cmd = (f"mount -t tmpfs tmpfs {private} && "
                      f"cp {os.path.realpath(SYSTEM_LIBSSL)} {private}/libssl.so.3 && "
                      f"LD_LIBRARY_PATH={private} exec {harness.PYTHON} {harness.PROGS}/tls_peer.py "
                      f"client --port {port} --delay 1.0 --send-file {self.work.file('send')} "
                      f"--received-file {self.work.file('client-received')}")
        client = harness.track(subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c", client_cmd]))
        self.assertEqual(client.wait(timeout=60), 0)
        self.assertEqual(server.wait(timeout=60), 0)
        records = tracer.stop()
        self.assertFalse(os.path.exists(os.path.join(private, "libssl.so.3")),
                         "the library must not be visible outside the namespace")
        self.assertIn(f"attached to {private}/libssl.so.3", tracer.stderr())
        # exec keeps the pid: the python client is the unshare child's pid.
        self.assertEqual(captured_bytes(records, client.pid, "write"), payload)
        self.assertEqual(captured_bytes(records, client.pid, "read"), reply)
        self.assertEqual(lost_records(records), [])

    def test_statically_linked_client_started_later(self):
        """OpenSSL linked into the executable (libssl.a): found from the exec event through
        the binary's .symtab; its SSL_write/SSL_read are captured byte for byte."""
        static_client = os.environ.get("STATIC_TLS_CLIENT")
        if not static_client:
            self.skipTest("no static OpenSSL (libssl.a) to build static_tls_client with")
        self.assertTrue(os.access(static_client, os.X_OK), static_client)
        # A private copy: a new file identity, so nothing tlstap saw before can cover it.
        binary = self.work.file("static_tls_client")
        shutil.copy(static_client, binary)
        dynamic = subprocess.run(["readelf", "-d", binary], capture_output=True, text=True)
        self.assertNotIn("libssl", dynamic.stdout, "the client must not load a libssl.so")

        tracer = harness.Tracer(self.work, "-v")
        payload, reply, port, server = self.start_server(20000, 7000)
        # Started after tlstap; it waits 1 s (the attach deadline) before any TLS.
        client = harness.track(subprocess.Popen([binary, str(port), self.work.file("send"),
                                                 self.work.file("client-received"), "1.0"]))
        self.assertEqual(client.wait(timeout=60), 0)
        self.assertEqual(server.wait(timeout=60), 0)
        records = tracer.stop()
        self.assertIn(f"attached to {binary}", tracer.stderr())
        self.assertEqual(harness.read_bytes(self.work.file("client-received")), reply)
        self.assertEqual(captured_bytes(records, client.pid, "write"), payload)
        self.assertEqual(captured_bytes(records, client.pid, "read"), reply)
        (write,) = harness.data_records(records, client.pid, "write")
        self.assertEqual((write["func"], write["len"]), ("SSL_write", len(payload)))
        self.assertEqual(lost_records(records), [])


if __name__ == "__main__":
    harness.main()
