"""Targets that appear after tlstap started: a process started later that loads a copy of
libssl from a new path is found (exec/mmap events) and captured."""
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

    def test_new_process_with_libssl_copy_at_new_path(self):
        libdir = self.work.file("private-lib")
        os.makedirs(libdir)
        copy = os.path.join(libdir, "libssl.so.3")
        shutil.copy(os.path.realpath(SYSTEM_LIBSSL), copy)

        tracer = harness.Tracer(self.work, "-v")  # everything on the machine
        self.assertNotIn(copy, tracer.stderr())
        payload, reply = os.urandom(5000), os.urandom(3000)
        harness.write_bytes(self.work.file("send"), payload)
        harness.write_bytes(self.work.file("reply"), reply)
        port = harness.free_port()
        server = harness.start_peer_server(self.work, port, len(payload), self.work.file("reply"))
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
        payload, reply = os.urandom(4000), os.urandom(2000)
        harness.write_bytes(self.work.file("send"), payload)
        harness.write_bytes(self.work.file("reply"), reply)
        port = harness.free_port()
        server = harness.start_peer_server(self.work, port, len(payload), self.work.file("reply"))
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


if __name__ == "__main__":
    harness.main()
