"""A pre-fork-style TLS server for the e2e tests: the parent only accepts; each connection is
served by a child forked after the accept (as postgres forks a backend per connection), which
does the whole TLS session. So the parent makes no TLS call at all.

Each child reads one HTTP/1.1 request head (up to the blank line), answers with --reply-file
as the body, and exits. The parent appends "CHILD_PID PEER_PORT" to --children-file for each
connection before the child may start (the child waits for the line to be written), and
touches --ready-file once it listens.
"""
import argparse
import os
import signal
import socket
import ssl


def serve(connection, context, reply):
    with context.wrap_socket(connection, server_side=True) as tls:
        request = b""
        while b"\r\n\r\n" not in request:
            chunk = tls.recv(4096)
            if not chunk:
                return
            request += chunk
        head = (f"HTTP/1.1 200 OK\r\nContent-Length: {len(reply)}\r\n"
                "Connection: close\r\n\r\n").encode()
        tls.sendall(head + reply)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--reply-file", required=True)
    parser.add_argument("--children-file", required=True)
    parser.add_argument("--ready-file", required=True)
    args = parser.parse_args()
    with open(args.reply_file, "rb") as f:
        reply = f.read()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children reaped by the kernel
    listener = socket.create_server(("127.0.0.1", args.port))
    open(args.ready_file, "w").close()
    while True:
        connection, peer = listener.accept()
        go_read, go_write = os.pipe()
        child = os.fork()
        if child == 0:
            listener.close()
            os.close(go_write)
            os.read(go_read, 1)  # the parent has written this child's line
            try:
                serve(connection, context, reply)
            finally:
                os._exit(0)
        os.close(go_read)
        with open(args.children_file, "a") as f:
            f.write(f"{child} {peer[1]}\n")
        os.write(go_write, b"g")
        os.close(go_write)
        connection.close()


if __name__ == "__main__":
    main()
