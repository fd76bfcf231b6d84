"""A small HTTPS file server (python's http.server over ssl) for the demo and benchmarks.
usage: https_server.py PORT CERT KEY [DIRECTORY]"""
import functools
import http.server
import ssl
import sys

port, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3]
directory = sys.argv[4] if len(sys.argv) > 4 else "."
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=directory)
server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
server.socket = context.wrap_socket(server.socket, server_side=True)
server.serve_forever()
