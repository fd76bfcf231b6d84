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


def recv_all(sock, limit=None):
    chunks, total = [], 0
    while limit is None or total < limit:
        try:
            chunk = sock.recv(1 << 20)
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
    listener = socket.create_server(("127.0.0.1", args.port))
    if args.ready_file:
        write_file(args.ready_file, str(os.getpid()).encode())
    conn, _ = listener.accept()
    with context.wrap_socket(conn, server_side=True) as tls:
        received = recv_all(tls, args.expect)
        write_file(args.received_file, received)
        if args.reply_file:
            tls.sendall(read_file(args.reply_file))
        try:
            tls.unwrap()
        except (ssl.SSLError, OSError):
            pass


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
    with socket.create_connection(("127.0.0.1", args.port)) as raw:
        with context.wrap_socket(raw) as tls:
            size = args.message_size or len(payload)
            for offset in range(0, len(payload), size):
                tls.sendall(payload[offset:offset + size])
            received = recv_all(tls)  # the server closes after its reply
    write_file(args.received_file, received)


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
    args = parser.parse_args()
    (serve if args.mode == "server" else connect)(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
