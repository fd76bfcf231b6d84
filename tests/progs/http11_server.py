"""An HTTPS/1.1 server for the HTTP view tests (python's http.server over ssl, keep-alive):
GET serves the files of DIRECTORY (404 for others); POST reads the body (Content-Length or
chunked) and answers 201 Created with "received N bytes". Writes "ready" to READY_FILE once
it listens.
usage: http11_server.py PORT CERT KEY DIRECTORY READY_FILE"""
import functools
import http.server
import ssl
import sys


class Handler(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: several exchanges on one connection

    def do_POST(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            body = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    break
                body += self.rfile.read(size)
                self.rfile.readline()
        else:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        reply = b"received %d bytes\n" % len(body)
        self.send_response(201)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args):
        pass


port, cert, key, directory, ready = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], \
    sys.argv[5]
server = http.server.ThreadingHTTPServer(
    ("127.0.0.1", port), functools.partial(Handler, directory=directory))
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
server.socket = context.wrap_socket(server.socket, server_side=True)
with open(ready, "w") as f:
    f.write("ready")
server.serve_forever()
