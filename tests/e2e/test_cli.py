"""Filters, `-- COMMAND`, and the error paths of the command line."""
import os
import re
import shutil
import subprocess
import time
import unittest

import harness
from harness import captured_bytes, data_records


class CliTest(unittest.TestCase):
    def setUp(self):
        self.work = harness.Workdir()

    def tearDown(self):
        self.work.cleanup()

    def start_waiting_client(self, name, payload):
        """A client that has loaded libssl and waits for its go-file before any TLS."""
        send, reply = self.work.file(f"{name}-send"), self.work.file(f"{name}-reply")
        harness.write_bytes(send, payload)
        harness.write_bytes(reply, b"ok-" + name.encode())
        port = harness.free_port()
        server = harness.start_peer_server(self.work, port, len(payload), reply, name=f"{name}-server")
        ready, go = self.work.file(f"{name}-ready"), self.work.file(f"{name}-go")
        client = harness.run_peer("client", "--port", str(port), "--send-file", send,
                                  "--received-file", self.work.file(f"{name}-received"),
                                  "--ready-file", ready, "--wait-file", go)
        harness.wait_for(lambda: os.path.exists(ready), 10, f"{name} client to start")
        return client, server, go

    def test_pid_filter_traces_only_that_process(self):
        payload_a, payload_b = os.urandom(3000), os.urandom(4000)
        client_a, server_a, go_a = self.start_waiting_client("a", payload_a)
        client_b, server_b, go_b = self.start_waiting_client("b", payload_b)
        tracer = harness.Tracer(self.work, "--pid", str(client_a.pid))
        harness.write_bytes(go_a, b"")
        harness.write_bytes(go_b, b"")
        for process in (client_a, server_a, client_b, server_b):
            self.assertEqual(process.wait(timeout=60), 0)
        records = tracer.stop()
        self.assertEqual({r["pid"] for r in data_records(records)}, {client_a.pid})
        self.assertEqual(captured_bytes(records, client_a.pid, "write"), payload_a)
        self.assertEqual(captured_bytes(records, client_a.pid, "read"), b"ok-a")

    def test_command_traces_descendants_and_returns_their_status(self):
        payload = os.urandom(2500)
        send, reply = self.work.file("send"), self.work.file("reply")
        harness.write_bytes(send, payload)
        harness.write_bytes(reply, b"pong")
        port = harness.free_port()
        server = harness.start_peer_server(self.work, port, len(payload), reply)
        client_cmd = (f"{harness.PYTHON} {harness.PROGS}/tls_peer.py client --port {port} "
                      f"--send-file {send} --received-file {self.work.file('got')}")
        tracer = harness.Tracer(self.work, command=["sh", "-c", f"{client_cmd}; exit 7"])
        records = tracer.wait()
        self.assertEqual(tracer.returncode, 7, tracer.stderr())
        self.assertEqual(server.wait(timeout=30), 0)
        pids = {r["pid"] for r in data_records(records)}
        self.assertEqual(len(pids), 1, "only the command's child (python) is traced, not the server")
        (child,) = pids
        self.assertNotEqual(child, tracer.process.pid)
        self.assertEqual(captured_bytes(records, child, "write"), payload)
        self.assertEqual(captured_bytes(records, child, "read"), b"pong")

    def test_tracer_runs_ahead_of_the_command_which_keeps_its_priority(self):
        """tlstap raises its own priority (so it keeps up), never the traced command's."""
        out = self.work.file("priorities")
        script = ("import os; parent = open(f'/proc/{os.getppid()}/stat').read(); "
                  "nice = int(parent.rsplit(')', 1)[1].split()[16]); "
                  f"open({out!r}, 'w').write(f'{{os.nice(0)}} {{nice}}')")
        for args, expected_tracer_nice in (((), -10), (("--nice", "5"), 5)):
            tracer = harness.Tracer(self.work, *args, command=[harness.PYTHON, "-c", script])
            tracer.wait()
            self.assertEqual(tracer.returncode, 0, tracer.stderr())
            own, parent = (int(x) for x in harness.read_bytes(out).split())
            self.assertEqual(own, os.nice(0), "the command kept the priority it was started with")
            self.assertEqual(parent, expected_tracer_nice, "tlstap's own priority")

    def start_pausing_client(self, port, *extra):
        """A client that sends the first 1000 bytes of `send`, touches `paused`, and waits for
        its --resume-file before the rest."""
        return harness.run_peer("client", "--port", str(port), "--send-file",
                                self.work.file("send"), "--received-file", self.work.file("got"),
                                "--message-size", "1000", "--pause-after", "1000",
                                "--pause-file", self.work.file("paused"), *extra)

    def test_records_appear_while_the_traced_process_runs(self):
        """BPF does not wake tlstap per event; its periodic drain must still write a record
        while the traced process runs, not at exit. Only the two peers are traced (--pid), so
        no exec or mmap elsewhere on the machine wakes tlstap instead."""
        payload = os.urandom(2000)
        harness.write_bytes(self.work.file("send"), payload)
        harness.write_bytes(self.work.file("reply"), b"ok")
        port = harness.free_port()
        server = harness.start_peer_server(self.work, port, len(payload), self.work.file("reply"))
        ready, go = self.work.file("ready"), self.work.file("go")
        resume = self.work.file("resume")
        client = self.start_pausing_client(port, "--resume-file", resume, "--ready-file", ready,
                                           "--wait-file", go)
        harness.wait_for(lambda: os.path.exists(ready), 30, "the client to load libssl")
        tracer = harness.Tracer(self.work, "--pid", str(client.pid), "--pid", str(server.pid))
        harness.write_bytes(go, b"")
        harness.wait_for(lambda: os.path.exists(self.work.file("paused")), 30,
                         "the client's first 1000 bytes")
        # The drain runs every 10-100 ms; 5 s leaves room for a loaded CI machine.
        tracer.wait_for_bytes(client.pid, "write", payload[:1000], 5.0,
                              "the record, while the client is paused")
        self.assertIsNone(tracer.process.poll(), "tlstap is still tracing")
        harness.write_bytes(resume, b"")
        self.assertEqual(client.wait(timeout=60), 0)
        self.assertEqual(server.wait(timeout=60), 0)
        records = tracer.stop()
        self.assertEqual(captured_bytes(records, client.pid, "write"), payload)
        self.assertEqual(captured_bytes(records, server.pid, "read"), payload)

    def test_tracing_goes_on_after_a_process_is_killed_inside_ssl_read(self):
        """A server killed while it waits inside SSL_read: what it read before is captured,
        tlstap neither crashes nor stops, and a later exchange is captured exactly."""
        payload = os.urandom(2000)
        harness.write_bytes(self.work.file("send"), payload)
        harness.write_bytes(self.work.file("reply"), b"never sent")
        port = harness.free_port()
        tracer = harness.Tracer(self.work)
        server = harness.start_peer_server(self.work, port, len(payload), self.work.file("reply"))
        client = self.start_pausing_client(port, "--resume-file", self.work.file("never"))
        harness.wait_for(lambda: os.path.exists(self.work.file("paused")), 30,
                         "the client's first 1000 bytes")
        tracer.wait_for_bytes(server.pid, "read", payload[:1000], 10, "the server's first read")

        def blocked_in_a_read():  # inside its next SSL_read, waiting for the socket
            with open(f"/proc/{server.pid}/syscall") as f:
                return f.read().split()[0] in ("0", "45", "7", "232")  # read recvfrom poll epoll_wait

        harness.wait_for(blocked_in_a_read, 10, "the server to block in SSL_read")
        server.kill()
        server.wait()
        client.kill()
        client.wait()

        # Tracing goes on: a later exchange is captured exactly.
        again, reply = os.urandom(3000), os.urandom(500)
        harness.write_bytes(self.work.file("send2"), again)
        harness.write_bytes(self.work.file("reply2"), reply)
        port2 = harness.free_port()
        server2 = harness.start_peer_server(self.work, port2, len(again),
                                            self.work.file("reply2"), name="server2")
        client2 = harness.run_peer("client", "--port", str(port2), "--send-file",
                                   self.work.file("send2"), "--received-file",
                                   self.work.file("got2"))
        self.assertEqual(client2.wait(timeout=60), 0)
        self.assertEqual(server2.wait(timeout=60), 0)
        records = tracer.stop()
        self.assertEqual(tracer.returncode, 0, tracer.stderr())
        self.assertEqual(captured_bytes(records, server.pid, "read"), payload[:1000])
        self.assertEqual(captured_bytes(records, client2.pid, "write"), again)
        self.assertEqual(captured_bytes(records, client2.pid, "read"), reply)
        self.assertEqual(captured_bytes(records, server2.pid, "read"), again)
        self.assertNotIn("malformed", tracer.stderr())

    def test_comm_filter(self):
        payload = os.urandom(1000)
        client, server, go = self.start_waiting_client("c", payload)
        tracer = harness.Tracer(self.work, "--comm", "no-such-comm")
        harness.write_bytes(go, b"")
        self.assertEqual(client.wait(timeout=60), 0)
        server.wait(timeout=60)
        self.assertEqual(data_records(tracer.stop()), [])

    def run_tlstap(self, *args, user=None):
        argv = [harness.TLSTAP, *args]
        if user:
            argv = ["setpriv", "--reuid", user, "--regid", user, "--clear-groups",
                    "--inh-caps=-all", *argv]
        return subprocess.run(argv, capture_output=True, text=True, timeout=60)

    def test_non_root_fails_with_one_clear_line(self):
        result = self.run_tlstap("--duration", "1", user="65534")
        self.assertEqual(result.returncode, 1)
        self.assertEqual(result.stdout, "")
        lines = result.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, result.stderr)
        self.assertIn("missing CAP_BPF and CAP_PERFMON", lines[0])
        self.assertIn("root", lines[0])

    def test_unknown_pid(self):
        result = self.run_tlstap("--pid", "999999999")
        self.assertEqual(result.returncode, 1)
        self.assertIn("no process with pid 999999999", result.stderr)

    def assert_one_error_line(self, result, expected_exit):
        """One line on stderr, nothing on stdout, the expected exit: returns the line."""
        self.assertEqual(result.returncode, expected_exit, result.stderr)
        self.assertEqual(result.stdout, "")
        lines = result.stderr.splitlines()
        self.assertEqual(len(lines), 1, result.stderr)
        return lines[0]

    def test_lib_that_is_not_tls(self):
        result = self.run_tlstap("--lib", "/bin/true", "--duration", "1")
        line = self.assert_one_error_line(result, 1)
        self.assertEqual(line.count("/bin/true"), 1, line)
        self.assertIn("--lib /bin/true: no TLS library found in it", line)

    def test_lib_whose_tls_is_in_a_library_it_loads_names_that_library(self):
        wget = shutil.which("wget")
        if not wget:
            self.skipTest("no wget (scripts/install-deps.sh installs it)")
        result = self.run_tlstap("--lib", wget, "--duration", "1")
        line = self.assert_one_error_line(result, 1)
        self.assertEqual(line.count(wget), 1, line)
        self.assertRegex(line, rf"^tlstap: --lib {re.escape(wget)}: has no TLS functions of its "
                               r"own: they are in libgnutls\.so\.\d+ \(GnuTLS\), which it "
                               r"loads; tlstap attaches to that library by itself, or name it "
                               r"with --lib$")

    def test_command_that_cannot_run_is_said_before_tracing_as_a_shell_says_it(self):
        not_executable = self.work.file("not-executable")
        harness.write_bytes(not_executable, b"#!/bin/sh\nexit 0\n")
        os.chmod(not_executable, 0o644)
        for command, exit_code, reason in (
                ("/nonexistent", 127, "No such file or directory"),
                ("tlstap-no-such-command", 127, "No such file or directory"),
                (not_executable, 126, "Permission denied")):
            with self.subTest(command=command):
                result = self.run_tlstap("--", command, "arg")
                line = self.assert_one_error_line(result, exit_code)
                self.assertEqual(line, f"tlstap: cannot run {command}: {reason}")

    def test_list_targets_names_the_system_libssl(self):
        result = self.run_tlstap("--list-targets")
        self.assertEqual(result.returncode, 0, result.stderr)
        real = os.path.realpath("/usr/lib/x86_64-linux-gnu/libssl.so.3")
        self.assertIn(real, result.stdout)
        for function in ("SSL_read", "SSL_write", "SSL_read_ex", "SSL_write_ex"):
            self.assertIn(function, result.stdout)

    def test_output_file_is_created_private(self):
        out = self.work.file("new.jsonl")
        old_umask = os.umask(0)
        try:
            result = self.run_tlstap("-q", "-f", "json", "-o", out, "--duration", "0.5")
        finally:
            os.umask(old_umask)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(os.stat(out).st_mode & 0o777, 0o600)

    def test_existing_output_file_is_kept_unless_forced(self):
        out = self.work.file("existing.jsonl")
        harness.write_bytes(out, b"old records")
        os.chmod(out, 0o644)
        result = self.run_tlstap("-q", "-f", "json", "-o", out, "--duration", "0.5")
        self.assertEqual(result.returncode, 1)
        self.assertEqual(result.stderr, f"tlstap: {out} exists; use --force to overwrite it\n")
        self.assertEqual(harness.read_bytes(out), b"old records")
        self.assertEqual(os.stat(out).st_mode & 0o777, 0o644)

        result = self.run_tlstap("-q", "--force", "-f", "json", "-o", out, "--duration", "0.5")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(os.stat(out).st_mode & 0o777, 0o600)
        self.assertFalse(harness.read_bytes(out).startswith(b"old"), "truncated")

    def test_output_never_goes_through_a_symlink(self):
        """Another user's link in a shared directory must not make root write elsewhere."""
        victim = self.work.file("victim")
        harness.write_bytes(victim, b"root's file")
        os.chmod(victim, 0o644)
        dangling_target = self.work.file("would-be-created")
        for target in (victim, dangling_target):
            link = self.work.file("link-" + os.path.basename(target))
            os.symlink(target, link)
            for force in ((), ("--force",)):
                result = self.run_tlstap("-q", *force, "-o", link, "--duration", "0.5")
                self.assertEqual(result.returncode, 1)
                self.assertEqual(result.stderr,
                                 f"tlstap: {link} is a symbolic link; tlstap does not write "
                                 "through links (name the file it points to)\n")
        self.assertEqual(harness.read_bytes(victim), b"root's file")
        self.assertEqual(os.stat(victim).st_mode & 0o777, 0o644)
        self.assertFalse(os.path.exists(dangling_target))

    def test_closed_stderr_is_no_crash(self):
        """`tlstap ... 2>&1 | head -c1`: messages nobody reads are dropped; tlstap still ends
        as it should (it used to abort in the summary: exit 134)."""
        read_end, write_end = os.pipe()
        os.close(read_end)
        try:
            result = subprocess.run([harness.TLSTAP, "-o", os.devnull, "--", "true"],
                                    stdout=subprocess.DEVNULL, stderr=write_end, timeout=120)
        finally:
            os.close(write_end)
        self.assertEqual(result.returncode, 0)

    def test_full_disk_is_reported(self):
        payload = os.urandom(1000)
        client, server, go = self.start_waiting_client("d", payload)
        stderr_path = self.work.file("full.stderr")
        with open(stderr_path, "w") as stderr_file:
            tracer_out = harness.track(subprocess.Popen(
                [harness.TLSTAP, "-f", "json", "-o", "/dev/full", "--pid", str(client.pid)],
                stderr=stderr_file))
        harness.wait_for(lambda: "Ctrl-C to stop" in open(stderr_path).read()
                         or tracer_out.poll() is not None, 30, "tlstap to attach")
        harness.write_bytes(go, b"")
        self.assertEqual(client.wait(timeout=60), 0)
        server.wait(timeout=60)
        tracer_out.wait(timeout=30)
        with open(stderr_path) as f:
            stderr = f.read()
        self.assertEqual(tracer_out.returncode, 1, stderr)
        self.assertIn("writing /dev/full: No space left on device", stderr)
        self.assertIn("records were not written", stderr)

    # HTTPS requests with python's ssl (libssl) to URL: the first once GO exists, then one every
    # 0.1 s until COUNT were made; then it idles. libssl is mapped before READY is written.
    HTTPS_LOOP = """
import os, ssl, sys, time, urllib.request
url, count, ready, go = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
context = ssl._create_unverified_context()
open(ready, "w").close()
while not os.path.exists(go):
    time.sleep(0.05)
for _ in range(count):
    urllib.request.urlopen(url, context=context).read()
    time.sleep(0.1)
time.sleep(120)
"""

    def run_into_closed_pipe(self, requests):
        """tlstap -p CLIENT | head -c 100 while CLIENT makes `requests` HTTPS requests. Returns
        (seconds from the first request to tlstap's exit, its exit code, its stderr)."""
        www = self.work.file("www")
        os.mkdir(www)
        harness.write_bytes(os.path.join(www, "blob"), os.urandom(2000))
        port = harness.free_port()
        server = harness.track(subprocess.Popen(
            [harness.PYTHON, os.path.join(harness.PROGS, "https_server.py"), str(port),
             self.work.cert, self.work.key, www], stderr=subprocess.DEVNULL))
        harness.wait_for_port(port)
        ready, go = self.work.file("ready"), self.work.file("go")
        client = harness.track(subprocess.Popen(
            [harness.PYTHON, "-c", self.HTTPS_LOOP, f"https://127.0.0.1:{port}/blob",
             str(requests), ready, go]))
        harness.wait_for(lambda: os.path.exists(ready), 10, "client to load libssl")
        stderr_path = self.work.file("tlstap.stderr")
        with open(stderr_path, "w+") as stderr:
            tracer = harness.track(subprocess.Popen(
                [harness.TLSTAP, "-f", "json", "-p", str(client.pid)], stdout=subprocess.PIPE,
                stderr=stderr))
            head = harness.track(subprocess.Popen(["head", "-c", "100"], stdin=tracer.stdout,
                                                  stdout=subprocess.DEVNULL))
            tracer.stdout.close()  # head is the pipe's only reader
            harness.wait_for(lambda: "Ctrl-C to stop" in harness.read_bytes(stderr_path).decode()
                             or tracer.poll() is not None, 30, "tlstap to attach")
            started = time.monotonic()
            harness.write_bytes(go, b"")
            self.assertEqual(head.wait(timeout=30), 0)
            try:
                code = tracer.wait(timeout=30)
            finally:
                client.kill()
                server.kill()
            return time.monotonic() - started, code, harness.read_bytes(stderr_path).decode()

    def test_closed_pipe_stops_tracing_while_records_flow(self):
        # 200 requests take 20 s: tlstap must stop long before they are done.
        seconds, code, stderr = self.run_into_closed_pipe(200)
        self.assertLess(seconds, 5, stderr)
        self.assertEqual(code, 1, stderr)
        # Seen at the failed write, or by asking the pipe first (between two requests).
        self.assertRegex(stderr, r"tlstap: writing stdout: Broken pipe( \(its reader has "
                                 r"exited\))?; \d+ records were not written\n")
        self.assert_summary_counts_read_as_english(stderr)

    def test_closed_pipe_stops_tracing_when_no_records_follow(self):
        # One request: its records are written and head exits; nothing more is ever written.
        seconds, code, stderr = self.run_into_closed_pipe(1)
        self.assertLess(seconds, 5, stderr)
        self.assertEqual(code, 1, stderr)
        self.assertRegex(stderr, r"tlstap: writing stdout: Broken pipe( \(its reader has "
                                 r"exited\))?; \d+ records were not written\n")
        self.assert_summary_counts_read_as_english(stderr)

    def assert_summary_counts_read_as_english(self, stderr):
        summary = re.search(r"truncated, (\d+) (connections?) closed; .*; (\d+) (targets?) "
                            r"attached\n", stderr)
        self.assertIsNotNone(summary, stderr)
        for count, noun in ((summary[1], summary[2]), (summary[3], summary[4])):
            self.assertEqual(noun.endswith("s"), count != "1", summary[0])
        tracing = re.search(r"tracing (\d+) TLS (targets?);", stderr)
        self.assertIsNotNone(tracing, stderr)
        self.assertEqual(tracing[2].endswith("s"), tracing[1] != "1", tracing[0])


if __name__ == "__main__":
    harness.main()
