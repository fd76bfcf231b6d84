"""Least privilege: once loaded and attached, tlstap keeps only the capabilities later
attaches and discovery need (every thread of it, bounding set included, no_new_privs set), a
program started after the drop, belonging to another user and readable only by them, is
still found, attached to and captured byte for byte, and `-- COMMAND` runs with the
privileges tlstap was given, not the reduced ones."""
import glob
import os
import shutil
import stat
import subprocess
import tempfile
import unittest

import harness
from harness import captured_bytes, lost_records

# Numbers from linux/capability.h, written out here rather than taken from tlstap.
CAP_DAC_READ_SEARCH = 2
CAP_SYS_PTRACE = 19
CAP_SYS_ADMIN = 21
KEPT = sum(1 << c for c in (CAP_DAC_READ_SEARCH, CAP_SYS_PTRACE, CAP_SYS_ADMIN))
NOBODY = 65534


def status_fields(path):
    fields = {}
    with open(path) as f:
        for line in f:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return fields


def thread_capabilities(pid):
    """{tid: fields} for every thread of `pid`."""
    result = {}
    for task in glob.glob(f"/proc/{pid}/task/*"):
        try:
            result[int(os.path.basename(task))] = status_fields(f"{task}/status")
        except FileNotFoundError:
            pass  # a thread that just ended
    return result


class LeastPrivilegeTest(unittest.TestCase):
    def setUp(self):
        self.work = harness.Workdir()
        self.shared = None

    def tearDown(self):
        self.work.cleanup()
        if self.shared:
            shutil.rmtree(self.shared, ignore_errors=True)

    def assert_reduced(self, pid):
        threads = thread_capabilities(pid)
        self.assertTrue(threads)
        for tid, fields in threads.items():
            with self.subTest(tid=tid):
                self.assertEqual(int(fields["CapEff"], 16), KEPT, fields["CapEff"])
                self.assertEqual(int(fields["CapPrm"], 16), KEPT, fields["CapPrm"])
                self.assertEqual(int(fields["CapInh"], 16), 0)
                self.assertEqual(int(fields["CapAmb"], 16), 0)
                self.assertEqual(int(fields["CapBnd"], 16), KEPT, fields["CapBnd"])
                self.assertEqual(fields["NoNewPrivs"], "1")
        return threads

    def test_capabilities_are_dropped_and_a_later_program_is_still_captured(self):
        static_client = os.environ.get("STATIC_TLS_CLIENT")
        if not static_client:
            self.skipTest("no static OpenSSL (libssl.a) to build static_tls_client with")
        tracer = harness.Tracer(self.work, "-v")  # everything on the machine
        self.assert_reduced(tracer.process.pid)

        # Another user's program in that user's own directory, readable by nobody else: a
        # new file identity, so attaching to it happens after the drop, and reading it and
        # its /proc entries needs what tlstap kept (root's own rights do not reach it).
        self.shared = tempfile.mkdtemp(prefix="tlstap-e2e-nobody-")
        os.chmod(self.shared, 0o711)
        home = os.path.join(self.shared, "home")
        os.mkdir(home, 0o700)
        binary = os.path.join(home, "private_client")
        shutil.copy(static_client, binary)
        payload, reply = os.urandom(30000), os.urandom(9000)
        send, received = os.path.join(home, "send"), os.path.join(home, "received")
        harness.write_bytes(send, payload)
        harness.write_bytes(self.work.file("reply"), reply)
        for path in (home, binary, send):
            os.chown(path, NOBODY, NOBODY)
        os.chmod(binary, 0o700)
        os.chmod(send, 0o600)
        port = harness.free_port()
        server = harness.start_peer_server(self.work, port, len(payload), self.work.file("reply"))
        # It waits 1 s (the attach deadline) before any TLS.
        client = harness.track(subprocess.Popen(
            ["setpriv", "--reuid", str(NOBODY), "--regid", str(NOBODY), "--clear-groups",
             "--inh-caps=-all", binary, str(port), send, received, "1.0"]))
        self.assertEqual(client.wait(timeout=60), 0)
        self.assertEqual(server.wait(timeout=60), 0)
        # Once records are in the file, the output thread (it starts with the first records)
        # exists: reduced too.
        tracer.wait_for_bytes(client.pid, "read", reply, 30, "the client's records")
        threads = self.assert_reduced(tracer.process.pid)
        records = tracer.stop()
        self.assertEqual(tracer.returncode, 0, tracer.stderr())
        self.assertGreaterEqual(len(threads), 3, "main, discovery and output threads")
        self.assertIn(f"attached to {binary}", tracer.stderr())
        self.assertEqual(harness.read_bytes(received), reply)
        self.assertEqual(captured_bytes(records, client.pid, "write"), payload)
        self.assertEqual(captured_bytes(records, client.pid, "read"), reply)
        self.assertEqual({r["uid"] for r in harness.data_records(records, client.pid)}, {NOBODY})
        self.assertEqual(lost_records(records), [])

    def test_command_keeps_the_privileges_tlstap_was_given(self):
        out = self.work.file("command-status")
        tracer = harness.Tracer(self.work, command=["sh", "-c", f"cat /proc/self/status > {out}"])
        tracer.wait()
        self.assertEqual(tracer.returncode, 0, tracer.stderr())
        own = status_fields("/proc/self/status")
        command = status_fields(out)
        for field in ("CapEff", "CapPrm", "CapBnd", "NoNewPrivs"):
            self.assertEqual(command[field], own[field], field)


if __name__ == "__main__":
    harness.main()
