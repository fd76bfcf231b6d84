"""-p PID on a pre-fork server: the TLS is in the children. Without --children tlstap traces
only PID and says, at start, which children it leaves out; with --children it traces them
too, those running at start (nginx's workers) and those forked later (workers respawned on a
reload, a child forked per connection). Captured bytes are compared with what curl itself
says it sent and received (--trace)."""
import os
import signal
import subprocess
import unittest

import harness
from test_curl_openssl import curl_trace_bytes



def process_table():
    """{pid: ppid} of every process."""
    table = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        table[int(name)] = int(stat[stat.rindex(")") + 2:].split()[1])
    return table


def children_of(pid):
    return sorted(child for child, parent in process_table().items() if parent == pid)


def server_stream(records, pid, client_port, direction):
    """The bytes `pid` read or wrote on its connection with curl's local port, checked whole
    and contiguous."""
    connections = [conn for conn in harness.by_connection(records, pid).values()
                   if conn[0].get("rport") == client_port]
    assert len(connections) == 1, (pid, client_port, len(connections))
    return harness.contiguous_stream(connections[0], direction)


class PidTreeTest(unittest.TestCase):
    def setUp(self):
        self.work = harness.Workdir()
        self.curls = 0

    def tearDown(self):
        self.work.cleanup()

    def start_nginx(self, port, root):
        nginx = harness.start_nginx(self.work, port, root, workers=2, http2=False)
        harness.wait_for(lambda: len(children_of(nginx.pid)) == 2, 10, "nginx's 2 workers")
        return nginx

    def curl(self, url):
        """One request on its own connection: (curl's local port, what it sent, what it
        received)."""
        self.curls += 1
        trace = self.work.file(f"curl{self.curls}.trace")
        body = self.work.file(f"curl{self.curls}.body")
        done = subprocess.run(["curl", "-sk", "--http1.1", "--trace", trace, "-o", body, "-w",
                               "%{local_port}", url], capture_output=True, text=True, timeout=30)
        self.assertEqual(done.returncode, 0, done.stderr)
        sent, received = curl_trace_bytes(trace)
        self.assertTrue(sent.startswith(b"GET "), sent)
        return int(done.stdout), sent, received, harness.read_bytes(body)

    def assert_served_by(self, records, pids, client_port, sent, received):
        """The connection with `client_port` is in exactly one of `pids`' records, with curl's
        request as its reads and curl's response as its writes. Returns that pid."""
        serving = [pid for pid in pids
                   if any(r.get("rport") == client_port
                          for r in harness.data_records(records, pid))]
        self.assertEqual(len(serving), 1, (pids, client_port))
        pid = serving[0]
        self.assertEqual(server_stream(records, pid, client_port, "read"), sent)
        self.assertEqual(server_stream(records, pid, client_port, "write"), received)
        return pid

    def test_nginx_master_with_children_traces_workers_present_and_respawned(self):
        root = self.work.file("www")
        os.makedirs(root)
        content = os.urandom(30_000)
        harness.write_bytes(os.path.join(root, "file.bin"), content)
        port = harness.free_port()
        nginx = self.start_nginx(port, root)
        workers = children_of(nginx.pid)
        tracer = harness.Tracer(self.work, "-p", str(nginx.pid), "--children")
        self.assertNotIn("--children to trace", tracer.stderr())
        url = f"https://127.0.0.1:{port}/file.bin"
        before = [self.curl(url) for _ in range(3)]
        # A reload: the master forks new workers (after tlstap started) and retires the old.
        os.kill(nginx.pid, signal.SIGHUP)
        harness.wait_for(lambda: len(children_of(nginx.pid)) == 2 and
                         not set(children_of(nginx.pid)) & set(workers), 20,
                         "nginx's new workers")
        respawned = children_of(nginx.pid)
        after = [self.curl(url) for _ in range(3)]
        records = tracer.stop()
        nginx.terminate()
        nginx.wait(timeout=30)
        self.assertEqual(tracer.returncode, 0, tracer.stderr())
        self.assertEqual(harness.lost_records(records), [])
        self.assertEqual(harness.data_records(records, nginx.pid), [])  # the master: no TLS
        for group, pids in ((before, workers), (after, respawned)):
            for client_port, sent, received, body in group:
                self.assertEqual(body, content)
                self.assertTrue(received.endswith(content))
                self.assert_served_by(records, pids, client_port, sent, received)
        traced = {r["pid"] for r in harness.data_records(records)}
        self.assertTrue(traced <= set(workers) | set(respawned), traced)

    def test_nginx_master_without_children_says_so_and_traces_only_the_master(self):
        root = self.work.file("www")
        os.makedirs(root)
        harness.write_bytes(os.path.join(root, "file.bin"), b"only the master\n")
        port = harness.free_port()
        nginx = self.start_nginx(port, root)
        workers = children_of(nginx.pid)
        tracer = harness.Tracer(self.work, "-p", str(nginx.pid))
        hint = (f"tlstap: pid {nginx.pid} (nginx) has 2 child processes ({workers[0]} nginx, "
                f"{workers[1]} nginx); -p traces only {nginx.pid}: add --children to trace its "
                "descendants too\n")
        self.assertEqual(tracer.stderr().count(hint), 1, tracer.stderr())
        for _ in range(3):
            _, _, _, body = self.curl(f"https://127.0.0.1:{port}/file.bin")
            self.assertEqual(body, b"only the master\n")
        records = tracer.stop()
        nginx.terminate()
        nginx.wait(timeout=30)
        self.assertEqual(tracer.returncode, 0, tracer.stderr())
        # -p keeps its meaning: the workers did the TLS, and they are not traced.
        self.assertEqual(harness.data_records(records), [])
        # No record at all: the hint is said again after the summary.
        stderr = tracer.stderr()
        self.assertEqual(stderr.count(hint), 2, stderr)
        self.assertGreater(stderr.rindex(hint), stderr.index(" attached\n"), stderr)

    def start_forking_server(self, port, reply_path):
        ready = self.work.file("forking-ready")
        server = harness.track(subprocess.Popen(
            [harness.PYTHON, os.path.join(harness.PROGS, "forking_tls_server.py"), "--port",
             str(port), "--cert", self.work.cert, "--key", self.work.key, "--reply-file",
             reply_path, "--children-file", self.work.file("children"), "--ready-file",
             ready]))
        harness.wait_for(lambda: os.path.exists(ready) or server.poll() is not None, 10,
                         "the forking server to listen")
        self.assertIsNone(server.poll())
        return server

    def forked_children(self):
        """{peer port: child pid} as the forking server wrote them."""
        with open(self.work.file("children")) as f:
            return {int(port): int(pid) for pid, port in (line.split() for line in f)}

    def test_children_forked_per_connection_after_start_are_traced(self):
        reply = os.urandom(20_000)
        reply_path = self.work.file("reply")
        harness.write_bytes(reply_path, reply)
        port = harness.free_port()
        server = self.start_forking_server(port, reply_path)
        self.assertEqual(children_of(server.pid), [])  # nothing to find in /proc at start
        tracer = harness.Tracer(self.work, "-p", str(server.pid), "--children")
        results = [self.curl(f"https://127.0.0.1:{port}/{i}") for i in range(4)]
        records = tracer.stop()
        server.terminate()
        server.wait(timeout=30)
        self.assertEqual(tracer.returncode, 0, tracer.stderr())
        self.assertEqual(harness.lost_records(records), [])
        children = self.forked_children()
        self.assertEqual(len(children), 4)
        self.assertNotIn(server.pid, children.values())
        self.assertEqual(harness.data_records(records, server.pid), [])  # it only accepts
        for client_port, sent, received, body in results:
            self.assertEqual(body, reply)
            pid = self.assert_served_by(records, list(children.values()), client_port, sent,
                                        received)
            self.assertEqual(pid, children[client_port])

    def test_without_children_a_forking_server_is_traced_alone(self):
        reply_path = self.work.file("reply")
        harness.write_bytes(reply_path, b"forked\n")
        port = harness.free_port()
        server = self.start_forking_server(port, reply_path)
        tracer = harness.Tracer(self.work, "-p", str(server.pid))
        # No child at start: nothing to hint at.
        self.assertNotIn("child process", tracer.stderr())
        for i in range(2):
            self.assertEqual(self.curl(f"https://127.0.0.1:{port}/{i}")[3], b"forked\n")
        records = tracer.stop()
        server.terminate()
        server.wait(timeout=30)
        self.assertEqual(tracer.returncode, 0, tracer.stderr())
        self.assertEqual(len(self.forked_children()), 2)
        self.assertEqual(harness.data_records(records), [])

    def test_a_program_a_traced_shell_runs_later_is_traced(self):
        """A supervisor with no TLS of its own (sh) starts a TLS client after tlstap started:
        with --children the client is traced from its first call."""
        reply_path = self.work.file("reply")
        harness.write_bytes(reply_path, b"to the shell's curl\n" * 100)
        port = harness.free_port()
        server = self.start_forking_server(port, reply_path)
        go = self.work.file("go")
        trace, body = self.work.file("sh-curl.trace"), self.work.file("sh-curl.body")
        port_file = self.work.file("sh-curl.port")
        script = (f"while [ ! -e {go} ]; do sleep 0.05; done; "
                  f"curl -sk --http1.1 --trace {trace} -o {body} -w '%{{local_port}}' "
                  f"https://127.0.0.1:{port}/ > {port_file}; echo $? > {port_file}.rc")
        shell = harness.track(subprocess.Popen(["/bin/sh", "-c", script]))
        tracer = harness.Tracer(self.work, "-p", str(shell.pid), "--children")
        harness.write_bytes(go, b"")
        self.assertEqual(shell.wait(timeout=30), 0)
        records = tracer.stop()
        server.terminate()
        server.wait(timeout=30)
        self.assertEqual(tracer.returncode, 0, tracer.stderr())
        self.assertEqual(harness.read_bytes(port_file + ".rc"), b"0\n")
        self.assertEqual(harness.read_bytes(body), b"to the shell's curl\n" * 100)
        sent, received = curl_trace_bytes(trace)
        client_port = int(harness.read_bytes(port_file))
        clients = {r["pid"] for r in harness.data_records(records) if r["comm"] == "curl"}
        self.assertEqual(len(clients), 1, clients)
        curl_pid = clients.pop()
        self.assertNotEqual(curl_pid, shell.pid)
        connections = list(harness.by_connection(records, curl_pid).values())
        self.assertEqual(len(connections), 1)
        self.assertEqual(connections[0][0]["lport"], client_port)
        self.assertEqual(harness.contiguous_stream(connections[0], "write"), sent)
        self.assertEqual(harness.contiguous_stream(connections[0], "read"), received)
        # Only the shell's tree: the server's children are not traced.
        self.assertEqual({r["pid"] for r in harness.data_records(records)}, {curl_pid})


if __name__ == "__main__":
    harness.main()
