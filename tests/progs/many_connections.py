"""Many TLS connections from many threads at once.

server: a threaded TLS echo server: each connection sends a 4-byte big-endian length and
that many bytes; the server sends the same bytes back and closes.
client: --threads threads, each making --per-thread connections one after another. The
bytes of connection (thread t, index i) come from random.Random(f"{t}-{i}"), 1 to 16384 of
them, so a test can compute them again. Once done, writes {"connections": [[t, i, native
thread id, local port], ...]} as JSON to --report-file (a local port may be reused by a later
connection); exits non-zero if any echo differs."""
import argparse
import json
import os
import random
import socket
import socketserver
import ssl
import struct
import threading
import time


def payload_of(thread, index):
    rng = random.Random(f"{thread}-{index}")
    return rng.randbytes(rng.randint(1, 16384))


def recv_exact(sock, size):
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("closed early")
        data += chunk
    return data


def serve(args):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)

    class Echo(socketserver.BaseRequestHandler):
        def handle(self):
            with context.wrap_socket(self.request, server_side=True) as tls:
                (size,) = struct.unpack(">I", recv_exact(tls, 4))
                tls.sendall(recv_exact(tls, size))
                try:
                    tls.unwrap()
                except (ssl.SSLError, OSError):
                    pass

    socketserver.ThreadingTCPServer.allow_reuse_address = True
    socketserver.ThreadingTCPServer.request_queue_size = 1024
    server = socketserver.ThreadingTCPServer(("127.0.0.1", args.port), Echo)
    server.daemon_threads = True
    with open(args.ready_file, "w") as f:
        f.write("listening")
    server.serve_forever()


def client(args):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with open(args.ready_file, "w") as f:
        f.write("ready")
    while not os.path.exists(args.wait_file):
        time.sleep(0.01)
    connections, failures, lock = [], [], threading.Lock()

    def work(thread):
        tid = threading.get_native_id()
        for index in range(args.per_thread):
            payload = payload_of(thread, index)
            try:
                raw = socket.create_connection(("127.0.0.1", args.port))
                with context.wrap_socket(raw) as tls:
                    port = tls.getsockname()[1]
                    tls.sendall(struct.pack(">I", len(payload)) + payload)
                    echo = recv_exact(tls, len(payload))
                with lock:
                    connections.append([thread, index, tid, port])
                    if echo != payload:
                        failures.append(f"{thread}-{index}: echo differs")
            except Exception as error:  # noqa: BLE001 - every failure is reported
                with lock:
                    failures.append(f"{thread}-{index}: {error!r}")

    threads = [threading.Thread(target=work, args=(t,)) for t in range(args.threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with open(args.report_file, "w") as f:
        json.dump({"connections": connections, "failures": failures}, f)
    raise SystemExit(1 if failures else 0)


parser = argparse.ArgumentParser()
parser.add_argument("mode", choices=["server", "client"])
parser.add_argument("--port", type=int, required=True)
parser.add_argument("--cert")
parser.add_argument("--key")
parser.add_argument("--ready-file", required=True)
parser.add_argument("--wait-file")
parser.add_argument("--report-file")
parser.add_argument("--threads", type=int, default=200)
parser.add_argument("--per-thread", type=int, default=10)
args = parser.parse_args()
(serve if args.mode == "server" else client)(args)
