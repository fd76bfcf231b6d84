"""A TLS peer for the e2e tests that records exactly what it sent and received.

server: accepts one connection, reads --expect bytes (TLS has no half-close), sends
--reply-file, closes, and writes what it received to --received-file.
client: connects, sends --send-file as --message-size pieces (one sendall each; 0 = one
call), reads everything until EOF, writes it to --received-file. --wait-file delays the
first byte until that file exists; --ready-file is touched once the TLS library is loaded.
"""
import argparse
import os
import socket
import ssl
import sys
import time


def read_file(path):
    with open(path, "rb") as f:
        return f.read()


def write_file(path, data):
    with open(path, "wb") as f:
        f.write(data)


def recv_all(sock, limit=None, read_size=1 << 20):
    chunks, total = [], 0
    while limit is None or total < limit:
        try:
            chunk = sock.recv(read_size if limit is None else min(read_size, limit - total))
        except (ssl.SSLZeroReturnError, ConnectionResetError):
            break
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def serve(args):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)
    if args.unix:
        listener = socket.socket(socket.AF_UNIX)
        listener.bind(args.unix)
        listener.listen()
    else:
        family = socket.AF_INET6 if ":" in args.bind else socket.AF_INET
        listener = socket.create_server((args.bind, args.port), family=family)
    if args.ready_file:
        write_file(args.ready_file, str(os.getpid()).encode())
    reply = read_file(args.reply_file) if args.reply_file else b""
    received = []
    for _ in range(args.connections):
        conn, _ = listener.accept()
        if not args.unix:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no delayed-ACK stalls
        with context.wrap_socket(conn, server_side=True) as tls:
            received.append(recv_all(tls, args.expect, args.read_size))
            tls.sendall(reply)
            try:
                tls.unwrap()
            except (ssl.SSLError, OSError):
                pass
    write_file(args.received_file, b"".join(received))


def connect(args):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    if args.ready_file:
        maps = read_file(f"/proc/{os.getpid()}/maps").decode()
        write_file(args.ready_file, maps.encode())
    if args.wait_file:
        while not os.path.exists(args.wait_file):
            time.sleep(0.01)
    if args.delay:
        time.sleep(args.delay)
    payload = read_file(args.send_file)
    received = []
    for _ in range(args.connections):
        if args.unix:
            raw = socket.socket(socket.AF_UNIX)
            raw.connect(args.unix)
        else:
            raw = socket.create_connection((args.bind, args.port))
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with raw:
            with context.wrap_socket(raw) as tls:
                if args.handshake_file:  # connected and handshaken: say so, then wait
                    write_file(args.handshake_file, str(tls.getsockname()[1]).encode())
                    while not os.path.exists(args.send_after_file):
                        time.sleep(0.01)
                size = args.message_size or len(payload)
                for offset in range(0, len(payload), size):
                    if args.pause_file and offset == args.pause_after:
                        write_file(args.pause_file, b"")
                        while not os.path.exists(args.resume_file):
                            time.sleep(0.01)
                    tls.sendall(payload[offset:offset + size])
                received.append(recv_all(tls))  # the server closes after its reply
    write_file(args.received_file, b"".join(received))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["server", "client"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--send-file")
    parser.add_argument("--reply-file")
    parser.add_argument("--received-file", required=True)
    parser.add_argument("--expect", type=int, help="bytes the server reads before replying")
    parser.add_argument("--message-size", type=int, default=0)
    parser.add_argument("--ready-file")
    parser.add_argument("--wait-file")
    parser.add_argument("--delay", type=float, default=0)
    parser.add_argument("--bind", default="127.0.0.1", help="address to listen on / connect to")
    parser.add_argument("--unix", help="a Unix socket path instead of TCP")
    parser.add_argument("--connections", type=int, default=1, help="connections, one after another")
    parser.add_argument("--read-size", type=int, default=1 << 20, help="server's recv size")
    parser.add_argument("--pause-after", type=int, default=0,
                        help="client: after this many bytes touch --pause-file and wait for "
                             "--resume-file")
    parser.add_argument("--handshake-file",
                        help="client: after the handshake write the local port here and wait "
                             "for --send-after-file before sending")
    parser.add_argument("--send-after-file")
    parser.add_argument("--pause-file")
    parser.add_argument("--resume-file")
    args = parser.parse_args()
    (serve if args.mode == "server" else connect)(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
