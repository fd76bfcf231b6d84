"""A JVM's TLS (JSSE) is Java code, not a library tlstap attaches to: tlstap must say so, once
per JVM process, instead of staying silent (or advising --lib, which cannot help)."""
import os
import re
import shutil
import subprocess
import sys
import unittest

import harness

JAVA = shutil.which("java")
CLIENT = os.path.join(harness.PROGS, "JsseClient.java")
SAID = ("runs a JVM (it maps libjvm.so): its TLS (JSSE) is Java code, which tlstap does not "
        "capture")


def jvm_lines(stderr):
    """{pid: times said} of the JVM statements in tlstap's stderr."""
    said = {}
    for pid in re.findall(r"^tlstap: process (\d+) \(java\) " + re.escape(SAID) + "$", stderr,
                          re.MULTILINE):
        said[int(pid)] = said.get(int(pid), 0) + 1
    return said


@unittest.skipUnless(JAVA, "no java (scripts/install-deps.sh installs openjdk-17-jdk-headless)")
class JvmTest(unittest.TestCase):
    def setUp(self):
        self.work = harness.Workdir()

    def tearDown(self):
        harness.stop_leftovers()
        self.work.cleanup()

    def test_command_running_jsse_client_is_said_once(self):
        www = self.work.file("www")
        os.mkdir(www)
        body = os.urandom(5000)
        harness.write_bytes(os.path.join(www, "blob"), body)
        port = harness.free_port()
        server = harness.track(subprocess.Popen(
            [harness.PYTHON, os.path.join(harness.PROGS, "https_server.py"), str(port),
             self.work.cert, self.work.key, www], stderr=subprocess.DEVNULL))
        harness.wait_for_port(port)
        output = self.work.file("java-stdout")
        # exec: the traced command's pid is the JVM's.
        tracer = harness.Tracer(self.work, command=[
            "sh", "-c", f"exec {JAVA} -Djdk.internal.httpclient.disableHostnameVerification=true "
            f"{CLIENT} {self.work.cert} https://127.0.0.1:{port}/blob > {output}"])
        records = tracer.wait()
        server.kill()
        stderr = tracer.stderr()
        self.assertEqual(tracer.returncode, 0, stderr)
        # The JVM really did HTTPS: it got the file.
        self.assertEqual(harness.read_bytes(output), b"200\n" + body)
        started = re.search(r"tracing .* for sh \(pid (\d+)\)", stderr)
        self.assertIsNotNone(started, stderr)
        java_pid = int(started.group(1))
        self.assertEqual(jvm_lines(stderr), {java_pid: 1}, stderr)
        # Nothing of it is captured (what the statement is for).
        self.assertEqual(harness.data_records(records, java_pid), [])

    def test_pid_of_a_jvm_is_refused_without_lib_advice(self):
        jvm = harness.track(subprocess.Popen([JAVA, CLIENT, "--idle", "60"],
                                             stdout=subprocess.PIPE))
        self.assertEqual(jvm.stdout.readline(), b"ready\n")  # libjvm.so is mapped by now
        result = subprocess.run([harness.TLSTAP, "-p", str(jvm.pid)], capture_output=True,
                                text=True, timeout=60)
        jvm.kill()
        jvm.wait()
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertEqual(jvm_lines(result.stderr), {jvm.pid: 1}, result.stderr)
        self.assertIn("tlstap: nothing to trace: the traced process has its TLS in its runtime's "
                      "own code (see above)\n", result.stderr)
        self.assertNotIn("--lib", result.stderr)


if __name__ == "__main__":
    harness.main()
