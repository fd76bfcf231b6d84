#!/usr/bin/env python3
"""Soak: tlstap traces a churning workload for a configurable time; records, loss, tlstap's
memory and its BPF maps' entry counts are reported at the start and the end. They must stay
flat: state that only grows (a map entry per dead thread, per closed connection, per exited
process) shows up here long before it fills a map on a production machine.

The workload, run as uid 65534 (nobody) so that `tlstap -u 65534` sees only it: rounds of one
new server process and one new client process each, --parallel rounds at a time, for
--seconds. Each round picks a stack (OpenSSL client against a python/OpenSSL server, GnuTLS
client (ctypes) against the same, Go client against a Go server), a size (1 B to 1 MiB,
log-uniform) the client sends, in one write or 16 KiB writes, and a reply (1 B to 64 KiB).
Every byte is known: the bytes tlstap reports written and read must equal what the peers
moved, unless it reports loss.

    sudo bench/soak.py --seconds 600          # needs root; takes the e2e lock if asked
"""
import argparse
import json
import math
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROGS = os.path.join(ROOT, "tests", "progs")
PYTHON = "/usr/bin/python3"
NOBODY = 65534
MAPS = ("pending_calls", "threads", "tls_processes", "traced_pids", "ssl_states", "fd_ssl",
        "fd_roles", "sock_roles", "go_calls")


def as_nobody(argv):
    return ["setpriv", "--reuid", str(NOBODY), "--regid", str(NOBODY), "--clear-groups",
            "--inh-caps=-all", *argv]


def bpftool(*args):
    out = subprocess.run(["bpftool", "-j", *args], capture_output=True, text=True, check=True)
    return json.loads(out.stdout or "null") or []


def free_port(rng):
    import socket
    while True:
        port = rng.randint(20000, 32000)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue


class Workload:
    def __init__(self, args, workdir):
        self.args, self.workdir = args, workdir
        self.lock = threading.Lock()
        self.rounds = {"openssl": 0, "gnutls": 0, "go": 0}
        self.failed = []
        self.bytes_moved = 0  # client->server plus server->client, as the peers counted them
        self.stop_at = 0.0
        self.cert, self.key = os.path.join(workdir, "cert.pem"), os.path.join(workdir, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", self.key, "-out",
                        self.cert, "-days", "1", "-subj", "/CN=localhost"],
                       check=True, capture_output=True)
        os.chmod(self.key, 0o644)  # a throwaway test key, read by the nobody peers

    def one_round(self, worker, number, rng):
        stack = ("openssl", "gnutls", "go")[number % 3]
        size = int(math.exp(rng.uniform(0, math.log(1 << 20))))
        reply_size = rng.randint(1, 64 << 10)
        d = os.path.join(self.workdir, f"w{worker}")
        send, reply = os.path.join(d, "send"), os.path.join(d, "reply")
        with open(send, "wb") as f:
            f.write(rng.randbytes(size))
        with open(reply, "wb") as f:
            f.write(rng.randbytes(reply_size))
        got_server, got_client = os.path.join(d, "server-got"), os.path.join(d, "client-got")
        ready = os.path.join(d, "ready")
        for path in (got_server, got_client, ready):
            if os.path.exists(path):
                os.unlink(path)
        port = free_port(rng)
        if stack == "go":
            server = [self.args.go_peer, "raw-server", str(port), self.cert, self.key, ready,
                      str(size), reply, got_server]
            client = [self.args.go_peer, "raw-client", f"127.0.0.1:{port}", send, got_client,
                      str(rng.choice((0, 16384)))]
        else:
            server = [PYTHON, os.path.join(PROGS, "tls_peer.py"), "server", "--port", str(port),
                      "--cert", self.cert, "--key", self.key, "--reply-file", reply, "--expect",
                      str(size), "--ready-file", ready, "--received-file", got_server]
            if stack == "openssl":
                client = [PYTHON, os.path.join(PROGS, "tls_peer.py"), "client", "--port",
                          str(port), "--send-file", send, "--received-file", got_client,
                          "--message-size", str(rng.choice((0, 16384)))]
            else:
                client = [PYTHON, os.path.join(PROGS, "gnutls_peer.py"), "client", "--port",
                          str(port), "--send-file", send, "--received-file", got_client,
                          "--message-size", str(rng.choice((0, 16384)))]
        server_process = subprocess.Popen(as_nobody(server), cwd=d, stdout=subprocess.DEVNULL)
        deadline = time.time() + 10
        while not os.path.exists(ready) and time.time() < deadline:
            time.sleep(0.005)
        client_process = subprocess.Popen(as_nobody(client), cwd=d, stdout=subprocess.DEVNULL)
        ok = client_process.wait(timeout=120) == 0 and server_process.wait(timeout=120) == 0
        if ok:
            with open(got_server, "rb") as f:
                ok = len(f.read()) == size
            with open(got_client, "rb") as f:
                ok = ok and len(f.read()) == reply_size
        with self.lock:
            if ok:
                self.rounds[stack] += 1
                self.bytes_moved += size + reply_size
            else:
                self.failed.append(f"{stack} round {number} (size {size})")

    def worker(self, worker):
        rng = random.Random(worker)
        d = os.path.join(self.workdir, f"w{worker}")
        os.makedirs(d)
        os.chown(d, NOBODY, NOBODY)
        number = worker
        while time.time() < self.stop_at:
            self.one_round(worker, number, rng)
            number += self.args.parallel

    def run(self, seconds):
        self.stop_at = time.time() + seconds
        threads = [threading.Thread(target=self.worker, args=(w,))
                   for w in range(self.args.parallel)]
        for t in threads:
            t.start()
        return threads


def tlstap_maps(before):
    return {m["name"]: m["id"] for m in bpftool("map", "show") if m["id"] not in before
            and m.get("name") in MAPS}


def map_keys(map_id):
    """The keys of a map whose key is one 32-bit number (a pid), as bpftool dumps them."""
    keys = []
    for entry in bpftool("map", "dump", "id", str(map_id)):
        key = entry.get("key")
        if isinstance(key, int):
            keys.append(key)
        elif isinstance(key, list):  # raw bytes, as hex strings
            keys.append(int.from_bytes(bytes(int(b, 16) for b in key[:4]), "little"))
    return keys


def sample(pid, maps):
    with open(f"/proc/{pid}/status") as f:
        rss_kib = int(re.search(r"VmRSS:\s+(\d+) kB", f.read()).group(1))
    entries = {name: len(bpftool("map", "dump", "id", str(map_id)))
               for name, map_id in sorted(maps.items())}
    # Entries of processes that have exited would be a leak; live ones are the machine's own
    # TLS users (anything else running meanwhile).
    tls_pids = map_keys(maps["tls_processes"])
    exited = [p for p in tls_pids if not os.path.exists(f"/proc/{p}")]
    return {"t": time.time(), "rss_mib": rss_kib / 1024, "entries": entries,
            "tls_processes_exited": len(exited)}


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--parallel", type=int, default=2, help="rounds running at once")
    parser.add_argument("--sample-every", type=float, default=30)
    parser.add_argument("--tlstap", default=os.path.join(ROOT, "build", "tlstap"))
    parser.add_argument("--go-peer", default=os.path.join(ROOT, "build", "tests", "e2e",
                                                          "go_peers", "normal"))
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("soak: needs root (tlstap loads BPF; the peers run as nobody)")
    workdir = tempfile.mkdtemp(prefix="tlstap-soak-")
    os.chmod(workdir, 0o755)
    go_copy = os.path.join(workdir, "go_peer")  # readable by nobody wherever the build is
    shutil.copy(args.go_peer, go_copy)
    args.go_peer = go_copy
    workload = Workload(args, workdir)
    before = {m["id"] for m in bpftool("map", "show")}
    stderr_path = os.path.join(workdir, "tlstap.stderr")
    stderr = open(stderr_path, "w+")
    # --lib: the Go peer is a new file; without it the first Go process's calls could come
    # before tlstap finds and attaches to it (README, "Known limits").
    tracer = subprocess.Popen([args.tlstap, "-u", str(NOBODY), "-f", "json", "-o", "/dev/null",
                               "--lib", go_copy], stderr=stderr)
    while "Ctrl-C to stop" not in open(stderr_path).read():
        if tracer.poll() is not None:
            sys.exit(f"soak: tlstap exited: {open(stderr_path).read()}")
        time.sleep(0.05)
    maps = tlstap_maps(before)
    samples = [sample(tracer.pid, maps)]
    started = time.time()
    threads = workload.run(args.seconds)
    while any(t.is_alive() for t in threads):
        time.sleep(min(args.sample_every, max(0.1, workload.stop_at - time.time())))
        samples.append(sample(tracer.pid, maps))
        print(f"soak: {time.time() - started:5.0f} s  rounds {sum(workload.rounds.values())}  "
              f"rss {samples[-1]['rss_mib']:.1f} MiB  entries {samples[-1]['entries']}",
              flush=True)
    for t in threads:
        t.join()
    time.sleep(1)  # exits of the last processes reach BPF and tlstap
    samples.append(sample(tracer.pid, maps))
    tracer.send_signal(signal.SIGINT)
    tracer.wait(timeout=60)
    stderr.close()
    text = open(stderr_path).read()
    summary = re.search(r"tlstap: (\d+) write records \((\d+) bytes\), (\d+) read records "
                        r"\((\d+) bytes\), (\d+) truncated, (\d+) connections? closed; lost (\d+) "
                        r"events \((\d+) bytes\)", text)
    if not summary:
        sys.exit(f"soak: no summary from tlstap:\n{text}")
    w_rec, w_bytes, r_rec, r_bytes, truncated, closed, lost_events, lost_bytes = (
        int(g) for g in summary.groups())
    first, last = samples[0], samples[-1]
    elapsed = time.time() - started
    print()
    print(f"Soak: {elapsed:.0f} s, {sum(workload.rounds.values())} rounds "
          f"({', '.join(f'{k} {v}' for k, v in workload.rounds.items())}), "
          f"{2 * sum(workload.rounds.values())} processes, {len(workload.failed)} failed rounds")
    print(f"  records: {w_rec} write ({w_bytes} bytes), {r_rec} read ({r_bytes} bytes), "
          f"{closed} connections closed, {truncated} truncated")
    print(f"  bytes the peers moved: {workload.bytes_moved}; captured written {w_bytes}, read "
          f"{r_bytes}; lost {lost_events} events ({lost_bytes} bytes)")
    print(f"  tlstap RSS: {first['rss_mib']:.1f} MiB at start, {last['rss_mib']:.1f} MiB at end, "
          f"max {max(s['rss_mib'] for s in samples):.1f} MiB")
    print("  BPF map entries, start -> end (max):")
    for name in sorted(first["entries"]):
        peak = max(s["entries"][name] for s in samples)
        print(f"    {name:14} {first['entries'][name]:6} -> {last['entries'][name]:6} ({peak})")
    for line in text.splitlines():
        if "attached only after" in line or "could not be used" in line:
            print(f"  {line}")
    print(f"  tls_processes entries of processes that had exited, at the end: "
          f"{last['tls_processes_exited']} (the others are live processes using TLS)")
    if workload.failed:
        print(f"  failed rounds: {workload.failed[:10]}")
    exact = w_bytes == workload.bytes_moved and r_bytes == workload.bytes_moved
    print(f"  byte-exact totals: {'yes' if exact else 'NO'}")
    shutil.rmtree(workdir, ignore_errors=True)
    sys.exit(0 if exact and not workload.failed else 1)


if __name__ == "__main__":
    main()
