"""GnuTLS (`lib` gnutls): gnutls-cli, gnutls-serv, wget and git (libcurl-gnutls) against
real peers, GnuTLS's other write and read functions driven through ctypes, and one process
using GnuTLS and OpenSSL at once. Every byte both ways is compared with what the peer itself
says it sent or received, and every connection field with the ports the peers report."""
import base64
import os
import re
import shutil
import subprocess
import unittest

import harness
from harness import data_records, lost_records

PEER = os.path.join(harness.PROGS, "gnutls_peer.py")
HAVE_GNUTLS_TOOLS = bool(shutil.which("gnutls-cli") and shutil.which("gnutls-serv"))
COMPAT_LIBRARY = "/usr/lib/x86_64-linux-gnu/libgnutls-openssl.so.27"
GNUTLS_FUNCTIONS = {"gnutls_record_send", "gnutls_record_send2", "gnutls_record_send_range",
                    "gnutls_record_recv", "gnutls_record_recv_seq",
                    "gnutls_record_recv_early_data", "gnutls_record_uncork"}


def run_gnutls_peer(*args, **kwargs):
    return harness.track(subprocess.Popen([harness.PYTHON, PEER, *args], **kwargs))


def peer_command(*args):
    return [harness.PYTHON, PEER, *args]


def echo_text(lines=40):
    """gnutls-serv --echo echoes whole lines, as text: no NUL, no CR, a final newline."""
    return b"\n".join(os.urandom(400).hex().encode() for _ in range(lines)) + b"\n"


def streams(records):
    """{conn: {"read": bytes, "write": bytes}} of data records, each direction checked to be
    contiguous: every record's pos is where the one before it ended."""
    result = {}
    for r in data_records(records):
        side = result.setdefault(r["conn"], {"read": b"", "write": b""})
        data = base64.b64decode(r["data"])
        assert len(data) == r["len"] and not r["truncated"], r
        assert r["pos"] == len(side[r["dir"]]), (r["pos"], len(side[r["dir"]]), r)
        side[r["dir"]] += data
    return result


class GnuTlsTest(unittest.TestCase):
    def setUp(self):
        self.work = harness.Workdir()

    def tearDown(self):
        self.work.cleanup()

    def assert_connection(self, records, role, lport, rport):
        harness.assert_connection_fields(self, records, role, lport, rport)

    def assert_one_connection(self, records, pid, role, lport, rport, sent, received):
        """`pid`'s records are one connection with these ends, moving exactly `sent` and
        `received`; its close record counts them."""
        mine = data_records(records, pid)
        self.assert_connection(mine, role, lport, rport)
        by_conn = streams(mine)
        self.assertEqual(list(by_conn), [mine[0]["conn"]])
        side = by_conn[mine[0]["conn"]]
        self.assertEqual(side["write"], sent)
        self.assertEqual(side["read"], received)
        closes = [r for r in records if r["type"] == "close" and r["conn"] == mine[0]["conn"]]
        self.assertEqual(len(closes), 1, closes)
        self.assertEqual((closes[0]["write_bytes"], closes[0]["read_bytes"]),
                         (len(sent), len(received)))
        for r in mine:
            self.assertEqual((r["lib"], r["comm"]), ("gnutls", mine[0]["comm"]), r)

    def start_server(self, payload, reply, name="server", extra=()):
        """A python ssl (OpenSSL) server, not traced, that reads `payload` and sends `reply`;
        returns (port, process, its files)."""
        harness.write_bytes(self.work.file(f"{name}-reply"), reply)
        port = harness.free_port()
        files = {k: self.work.file(f"{name}-{k}") for k in ("ready", "received", "peer-port")}
        server = run_gnutls_peer("server", "--port", str(port), "--cert", self.work.cert,
                                 "--key", self.work.key, "--reply-file",
                                 self.work.file(f"{name}-reply"), "--expect", str(len(payload)),
                                 "--received-file", files["received"], "--ready-file",
                                 files["ready"], "--port-file", files["peer-port"], *extra)
        harness.wait_for(lambda: os.path.exists(files["ready"]) or server.poll() is not None,
                         10, "server to listen")
        return port, server, files

    @unittest.skipUnless(HAVE_GNUTLS_TOOLS, "gnutls-bin is not installed")
    def test_gnutls_cli_against_an_openssl_server(self):
        payload, reply = os.urandom(50_000), os.urandom(70_000)
        port, server, files = self.start_server(payload, reply)
        harness.write_bytes(self.work.file("stdin"), payload)
        # Started by tlstap: found at its exec, attached before its first TLS call. On the end of
        # its stdin it shuts its side down and prints what comes until the server closes.
        tracer = harness.Tracer(self.work, command=[
            "sh", "-c", 'exec gnutls-cli --insecure -p "$1" --logfile "$2" 127.0.0.1 <"$3" >"$4"',
            "sh", str(port), self.work.file("cli.log"), self.work.file("stdin"),
            self.work.file("cli-stdout")])
        records = tracer.wait()
        self.assertEqual(tracer.returncode, 0, tracer.stderr())
        self.assertEqual(server.wait(timeout=30), 0)
        self.assertEqual(harness.read_bytes(files["received"]), payload)
        self.assertEqual(harness.read_bytes(self.work.file("cli-stdout")), reply)
        cli_pid = data_records(records)[0]["pid"]
        self.assertEqual({r["comm"] for r in data_records(records)}, {"gnutls-cli"})
        self.assertEqual({r["func"] for r in data_records(records)},
                         {"gnutls_record_send", "gnutls_record_recv"})
        peer_port = int(harness.read_bytes(files["peer-port"]))
        self.assert_one_connection(records, cli_pid, "client", peer_port, port, payload, reply)
        self.assertEqual(lost_records(records), [])

    @unittest.skipUnless(HAVE_GNUTLS_TOOLS, "gnutls-bin is not installed")
    def test_gnutls_serv_running_before_tlstap_echoes_to_an_openssl_client(self):
        port = harness.free_port()
        server = harness.track(subprocess.Popen(
            ["gnutls-serv", "--echo", "-q", "-p", str(port), "--x509certfile", self.work.cert,
             "--x509keyfile", self.work.key], stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL))
        harness.wait_for_port(port)  # before tlstap: this probe connection is not traced
        tracer = harness.Tracer(self.work, "-p", str(server.pid))
        texts = [echo_text(40), echo_text(3)]
        ports = []
        for index, text in enumerate(texts):
            harness.write_bytes(self.work.file(f"send-{index}"), text)
            client = run_gnutls_peer("echo-client", "--port", str(port), "--send-file",
                                     self.work.file(f"send-{index}"), "--message-size", "6000",
                                     "--received-file", self.work.file(f"echoed-{index}"),
                                     "--port-file", self.work.file(f"port-{index}"))
            self.assertEqual(client.wait(timeout=60), 0)
            self.assertEqual(harness.read_bytes(self.work.file(f"echoed-{index}")), text)
            ports.append(int(harness.read_bytes(self.work.file(f"port-{index}"))))
        # The server's last write and close are seen before tlstap stops.
        harness.wait_for(lambda: self.count_closes(tracer) == 2, 10, "both close records")
        records = tracer.stop()
        server.kill()
        server.wait()
        self.assertEqual({r["func"] for r in data_records(records)},
                         {"gnutls_record_send", "gnutls_record_recv"})
        by_conn = streams(records)
        self.assertEqual(len(by_conn), 2)
        for text, client_port, (conn, side) in zip(texts, ports, by_conn.items()):
            self.assertEqual(side, {"read": text, "write": text})
            self.assert_connection([r for r in data_records(records) if r["conn"] == conn],
                                   "server", port, client_port)
        self.assertEqual(lost_records(records), [])

    @staticmethod
    def count_closes(tracer):
        try:
            return len([r for r in tracer.records() if r["type"] == "close"])
        except ValueError:  # the line tlstap is writing right now
            return -1

    def run_gnutls_pair(self, text, early_data=None):
        """gnutls-cli and gnutls-serv --echo, both started under tlstap (`--`)."""
        harness.write_bytes(self.work.file("text"), text)
        port = harness.free_port()
        extra = []
        if early_data is not None:
            harness.write_bytes(self.work.file("early"), early_data)
            extra = ["--early-data", self.work.file("early")]
        tracer = harness.Tracer(self.work, command=peer_command(
            "gnutls-pair", "--port", str(port), "--cert", self.work.cert, "--key", self.work.key,
            "--send-file", self.work.file("text"), "--received-file", self.work.file("echoed"),
            "--pids-file", self.work.file("pids"), *extra))
        records = tracer.wait()
        self.assertEqual(tracer.returncode, 0, tracer.stderr())
        self.assertEqual(harness.read_bytes(self.work.file("echoed")), text)
        server_pid, client_pid = map(int, harness.read_bytes(self.work.file("pids")).split())
        return records, port, server_pid, client_pid

    @unittest.skipUnless(HAVE_GNUTLS_TOOLS, "gnutls-bin is not installed")
    def test_gnutls_cli_and_gnutls_serv_both_traced(self):
        text = echo_text(60)
        records, port, server_pid, client_pid = self.run_gnutls_pair(text)
        client = data_records(records, client_pid)
        self.assertTrue(client)
        client_port = client[0]["lport"]  # the client's own report of its end
        self.assert_one_connection(records, client_pid, "client", client_port, port, text, text)
        self.assert_one_connection(records, server_pid, "server", port, client_port, text, text)
        self.assertEqual({r["pid"] for r in data_records(records)}, {server_pid, client_pid})
        self.assertEqual(lost_records(records), [])

    @unittest.skipUnless(HAVE_GNUTLS_TOOLS, "gnutls-bin is not installed")
    def test_tls13_early_data_both_sides(self):
        """gnutls-cli -r --earlydata: the client's early data is sent by gnutls_record_send
        inside the resumed handshake (its gnutls_record_send_early_data only queues it); the
        server copies it out with gnutls_record_recv_early_data before any socket I/O of its own
        is seen in a call: its record still gets the connection, and positions run on."""
        early, text = b"early data, sent in the first flight\n", echo_text(2)
        records, port, server_pid, client_pid = self.run_gnutls_pair(text, early_data=early)
        client = data_records(records, client_pid)
        client_port = client[0]["lport"]
        self.assert_one_connection(records, client_pid, "client", client_port, port, early + text,
                                   text)
        self.assert_one_connection(records, server_pid, "server", port, client_port, text,
                                   early + text)
        server_reads = data_records(records, server_pid, "read")
        self.assertEqual(server_reads[0]["func"], "gnutls_record_recv_early_data")
        self.assertEqual(base64.b64decode(server_reads[0]["data"]), early)
        self.assertEqual({r["func"] for r in server_reads[1:]}, {"gnutls_record_recv"})
        self.assertEqual(lost_records(records), [])

    def start_https_server(self, directory):
        port = harness.free_port()
        logs = self.work.file("https-logs")
        os.makedirs(logs)
        ready = self.work.file("https-ready")
        run_gnutls_peer("https-server", "--port", str(port), "--cert", self.work.cert, "--key",
                        self.work.key, "--dir", directory, "--log-dir", logs, "--ready-file",
                        ready)
        harness.wait_for(lambda: os.path.exists(ready), 10, "https server to listen")
        return port, logs

    def assert_http_connections(self, records, pid, port, logs, count):
        """Each of `pid`'s connections moved exactly what the server says it received and sent
        on the connection from that client port; returns {client port: (sent, received)}."""
        result = {}
        by_conn = streams(data_records(records, pid))
        self.assertEqual(len(by_conn), count)
        for conn, side in by_conn.items():
            mine = [r for r in data_records(records, pid) if r["conn"] == conn]
            client_port = mine[0]["lport"]
            sent_path = os.path.join(logs, f"{client_port}.sent")
            harness.wait_for(lambda: os.path.exists(sent_path), 10, "the server's log")
            self.assertEqual(side["write"],
                             harness.read_bytes(os.path.join(logs, f"{client_port}.received")))
            self.assertEqual(side["read"], harness.read_bytes(sent_path))
            self.assert_connection(mine, "client", client_port, port)
            result[client_port] = (side["write"], side["read"])
        return result

    @unittest.skipUnless(shutil.which("wget"), "wget is not installed")
    def test_wget_fetches_a_file(self):
        www = self.work.file("www")
        os.makedirs(www)
        body = os.urandom(400_000)
        harness.write_bytes(os.path.join(www, "file.bin"), body)
        port, logs = self.start_https_server(www)
        out = self.work.file("got")
        tracer = harness.Tracer(self.work, command=[
            "wget", "-q", "--no-check-certificate", "-O", out,
            f"https://127.0.0.1:{port}/file.bin"])
        records = tracer.wait()
        self.assertEqual(tracer.returncode, 0, tracer.stderr())
        self.assertEqual(harness.read_bytes(out), body)
        wget_pid = data_records(records)[0]["pid"]
        self.assertEqual({(r["comm"], r["lib"]) for r in data_records(records)},
                         {("wget", "gnutls")})
        ((request, response),) = self.assert_http_connections(records, wget_pid, port, logs,
                                                             1).values()
        self.assertTrue(request.startswith(b"GET /file.bin HTTP/1.1\r\n"), request)
        self.assertTrue(request.endswith(b"\r\n\r\n"), request)
        header = (f"HTTP/1.1 200 OK\r\nServer: gnutls_peer\r\nContent-Type: "
                  f"application/octet-stream\r\nContent-Length: {len(body)}\r\n\r\n").encode()
        self.assertEqual(response, header + body)
        self.assertEqual(lost_records(records), [])

    @unittest.skipUnless(shutil.which("git"), "git is not installed")
    def test_git_clone_over_https(self):
        """git's https helper uses libcurl-gnutls: a clone over the dumb HTTP protocol, every
        request and response exact."""
        source, www = self.work.file("source"), self.work.file("www")
        git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org"]
        subprocess.run([*git, "init", "-q", source], check=True)
        harness.write_bytes(os.path.join(source, "file"), os.urandom(20_000).hex().encode())
        subprocess.run([*git, "-C", source, "add", "file"], check=True)
        subprocess.run([*git, "-C", source, "commit", "-q", "-m", "one"], check=True)
        os.makedirs(www)
        bare = os.path.join(www, "repo.git")
        subprocess.run(["git", "clone", "-q", "--bare", source, bare], check=True)
        subprocess.run(["git", "-C", bare, "update-server-info"], check=True)
        port, logs = self.start_https_server(www)
        clone = self.work.file("clone")
        tracer = harness.Tracer(self.work, command=[  # the certificate is self-signed
            "git", "-c", "http.sslVerify=false", "clone", "-q",
            f"https://127.0.0.1:{port}/repo.git", clone])
        records = tracer.wait()
        self.assertEqual(tracer.returncode, 0, tracer.stderr())
        self.assertEqual(harness.read_bytes(os.path.join(clone, "file")),
                         harness.read_bytes(os.path.join(source, "file")))
        helper = {r["pid"] for r in data_records(records)}
        self.assertEqual(len(helper), 1)
        (helper_pid,) = helper
        self.assertEqual({(r["comm"], r["lib"]) for r in data_records(records)},
                         {("git-remote-http", "gnutls")})
        connections = self.assert_http_connections(records, helper_pid, port, logs, 1)
        ((requests, _),) = connections.values()
        paths = re.findall(rb"^GET (\S+) HTTP/1.1\r$", requests, re.MULTILINE)
        self.assertEqual(paths[0], b"/repo.git/info/refs?service=git-upload-pack")
        self.assertGreater(len(paths), 2)
        self.assertEqual(lost_records(records), [])

    def run_ctypes_client(self, send_api, read_api, payload, reply, message_size):
        """tests/progs/gnutls_peer.py's GnuTLS client (ctypes), started by tlstap."""
        port, server, files = self.start_server(payload, reply, name=f"server-{send_api}")
        harness.write_bytes(self.work.file("payload"), payload)
        tracer = harness.Tracer(self.work, command=peer_command(
            "client", "--port", str(port), "--send-file", self.work.file("payload"),
            "--received-file", self.work.file(f"client-received-{send_api}"), "--send-api",
            send_api,
            "--read-api", read_api, "--message-size", str(message_size), "--port-file",
            self.work.file(f"client-ports-{send_api}")), name=f"trace-{send_api}")
        records = tracer.wait()
        self.assertEqual(tracer.returncode, 0, tracer.stderr())
        self.assertEqual(server.wait(timeout=30), 0)
        self.assertEqual(harness.read_bytes(files["received"]), payload)
        self.assertEqual(harness.read_bytes(self.work.file(f"client-received-{send_api}")), reply)
        client_port = int(harness.read_bytes(files["peer-port"]))
        pid = data_records(records)[0]["pid"]
        self.assert_one_connection(records, pid, "client", client_port, port, payload, reply)
        self.assertEqual(lost_records(records), [])
        return records

    def test_each_write_and_read_function(self):
        """One record per call, under the function the program called: gnutls_record_send is a
        tail call of gnutls_record_send2 inside the library, reported once, as itself."""
        payload, reply = os.urandom(40_000), os.urandom(30_000)
        for send_api, read_api in (("send", "recv"), ("send2", "recv_seq"),
                                   ("send_range", "recv")):
            with self.subTest(send_api=send_api):
                records = self.run_ctypes_client(send_api, read_api, payload, reply, 7000)
                writes = data_records(records, direction="write")
                self.assertEqual([r["len"] for r in writes], [7000] * 5 + [5000])
                self.assertEqual({r["func"] for r in writes}, {f"gnutls_record_{send_api}"})
                self.assertEqual({r["func"] for r in data_records(records, direction="read")},
                                 {f"gnutls_record_{read_api}"})

    def test_corked_writes_are_reported_once_with_their_connection(self):
        """gnutls_record_cork: each write only queues (no socket I/O) and is the record;
        gnutls_record_uncork sends the queue with gnutls_record_send, which is not reported
        again, and its socket gives the connection to the writes before it."""
        payload, reply = os.urandom(40_000), os.urandom(3000)
        records = self.run_ctypes_client("cork", "recv", payload, reply, 7000)
        writes = data_records(records, direction="write")
        # gnutls_peer.py queues each 7000-byte piece as 1000-byte writes, then uncorks.
        self.assertEqual([r["len"] for r in writes], [1000] * 40)
        self.assertEqual({r["func"] for r in writes}, {"gnutls_record_send"})

    def test_one_process_with_gnutls_and_openssl(self):
        """python3 with GnuTLS through ctypes and OpenSSL through its ssl module, the two
        connections interleaved: each record under its own stack, nothing twice."""
        g_payload, g_reply = os.urandom(30_000), os.urandom(9000)
        o_payload, o_reply = os.urandom(25_000), os.urandom(11_000)
        g_port, g_server, g_files = self.start_server(g_payload, g_reply, name="g")
        o_port, o_server, o_files = self.start_server(o_payload, o_reply, name="o")
        harness.write_bytes(self.work.file("g-payload"), g_payload)
        harness.write_bytes(self.work.file("o-payload"), o_payload)
        tracer = harness.Tracer(self.work, command=peer_command(
            "client", "--port", str(g_port), "--send-file", self.work.file("g-payload"),
            "--received-file", self.work.file("g-got"), "--openssl-port", str(o_port),
            "--openssl-send-file", self.work.file("o-payload"), "--openssl-received-file",
            self.work.file("o-got"), "--message-size", "4000"))
        records = tracer.wait()
        self.assertEqual(tracer.returncode, 0, tracer.stderr())
        for server in (g_server, o_server):
            self.assertEqual(server.wait(timeout=30), 0)
        self.assertEqual(harness.read_bytes(g_files["received"]), g_payload)
        self.assertEqual(harness.read_bytes(o_files["received"]), o_payload)
        self.assertEqual(harness.read_bytes(self.work.file("g-got")), g_reply)
        self.assertEqual(harness.read_bytes(self.work.file("o-got")), o_reply)
        self.assertEqual(len({r["pid"] for r in data_records(records)}), 1)
        by_lib = {}
        for r in data_records(records):
            by_lib.setdefault(r["lib"], []).append(r)
        self.assertEqual(set(by_lib), {"gnutls", "openssl"})
        self.assertTrue({r["func"] for r in by_lib["gnutls"]} <= GNUTLS_FUNCTIONS)
        self.assertEqual({r["func"] for r in by_lib["openssl"]}, {"SSL_write_ex", "SSL_read_ex"})
        for lib, server_port, files, sent, received in (
                ("gnutls", g_port, g_files, g_payload, g_reply),
                ("openssl", o_port, o_files, o_payload, o_reply)):
            mine = by_lib[lib]
            (side,) = streams(mine).values()
            self.assertEqual(side, {"write": sent, "read": received})
            self.assert_connection(mine, "client", int(harness.read_bytes(files["peer-port"])),
                                   server_port)
        self.assertEqual(lost_records(records), [])

    @unittest.skipUnless(os.path.exists(COMPAT_LIBRARY), "libgnutls-openssl27 is not installed")
    def test_openssl_api_on_gnutls_is_reported_once(self):
        """GnuTLS's OpenSSL compatibility library (ssmtp, wput): its SSL_write and SSL_read
        call gnutls_record_send/recv with the caller's buffer. Both are probed; each call is
        one record, the outer one, the function the program called."""
        payload, reply = os.urandom(40_000), os.urandom(30_000)
        # TLS 1.2: the compatibility library's SSL_read returns 0 for TLS 1.3's tickets.
        port, server, files = self.start_server(payload, reply, extra=["--tls12"])
        harness.write_bytes(self.work.file("payload"), payload)
        # --lib: attached before the client dlopens it (a program linked with it is found at
        # its exec).
        tracer = harness.Tracer(self.work, "--lib", COMPAT_LIBRARY, command=peer_command(
            "compat-client", "--port", str(port), "--send-file", self.work.file("payload"),
            "--received-file", self.work.file("got"), "--message-size", "7000"))
        records = tracer.wait()
        self.assertEqual(tracer.returncode, 0, tracer.stderr())
        self.assertEqual(server.wait(timeout=30), 0)
        self.assertEqual(harness.read_bytes(files["received"]), payload)
        self.assertEqual(harness.read_bytes(self.work.file("got")), reply)
        calls = data_records(records)
        self.assertEqual({(r["lib"], r["func"]) for r in calls},
                         {("openssl", "SSL_write"), ("openssl", "SSL_read")})
        self.assertEqual([r["len"] for r in calls if r["dir"] == "write"], [7000] * 5 + [5000])
        (side,) = streams(records).values()
        self.assertEqual(side, {"write": payload, "read": reply})
        self.assert_connection(calls, "client", int(harness.read_bytes(files["peer-port"])),
                               port)
        self.assertEqual(lost_records(records), [])

    def test_list_targets_shows_the_system_libgnutls(self):
        result = subprocess.run([harness.TLSTAP, "--list-targets"], capture_output=True,
                                text=True, timeout=60)
        self.assertEqual(result.returncode, 0, result.stderr)
        real = os.path.realpath("/usr/lib/x86_64-linux-gnu/libgnutls.so.30")
        if not os.path.exists(real):
            self.skipTest("no libgnutls.so.30")
        lines = result.stdout.splitlines()
        header = lines.index(next(line for line in lines
                                  if line.startswith(f"gnutls {real} (dev ")))
        functions = set()
        for line in lines[header + 1:]:
            if not line.startswith("  "):
                break
            functions.add(line.split()[0])
        self.assertEqual(functions, GNUTLS_FUNCTIONS)


if __name__ == "__main__":
    harness.main()
