"""A TLS server that completes the handshake and then never reads: a client writing a large
buffer to it stays blocked inside SSL_write. Writes its pid to --ready-file once listening;
runs until killed."""
import argparse
import socket
import ssl
import time

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, required=True)
parser.add_argument("--cert", required=True)
parser.add_argument("--key", required=True)
parser.add_argument("--ready-file", required=True)
args = parser.parse_args()
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(args.cert, args.key)
listener = socket.create_server(("127.0.0.1", args.port))
with open(args.ready_file, "w") as f:
    f.write("listening")
connections = []
while True:
    conn, _ = listener.accept()
    connections.append(context.wrap_socket(conn, server_side=True))  # handshake, no reads
    time.sleep(0.01)
