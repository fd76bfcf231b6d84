"""Peers for the GnuTLS e2e tests, each recording exactly what it sent and received.

client        a TLS client using GnuTLS (libgnutls.so.30) through ctypes: sends --send-file
              with the chosen GnuTLS write function, reads with the chosen read function until
              the server closes. With --openssl-port the same process also runs a connection
              through python's ssl module (OpenSSL), interleaved with the GnuTLS one: one
              process, two TLS stacks.
compat-client the same through GnuTLS's OpenSSL compatibility library (SSL_write, SSL_read).
echo-client   a python ssl (OpenSSL) client for an echo server (gnutls-serv --echo): sends each
              --message-size piece and reads its echo back before the next.
server        a python ssl (OpenSSL) server for one connection: reads --expect bytes, replies
              --reply-file, closes; writes what it received and the client's port.
gnutls-pair   gnutls-cli against gnutls-serv --echo, both started by this process.
https-server  a small HTTPS/1.1 file server (python ssl) with keep-alive, writing for each
              connection the exact bytes it received and sent, named by the client's port.
"""
import argparse
import ctypes
import os
import socket
import ssl
import subprocess
import sys
import threading
import time

GNUTLS_CLIENT = 1 << 1
GNUTLS_CRD_CERTIFICATE = 1
GNUTLS_SHUT_RDWR = 0
GNUTLS_RECORD_WAIT = 1
GNUTLS_E_AGAIN = -28
GNUTLS_E_INTERRUPTED = -52


def read_file(path):
    with open(path, "rb") as f:
        return f.read()


def write_file(path, data):
    """Written under another name first: a test polling for the file never sees half of it."""
    with open(path + ".tmp", "wb") as f:
        f.write(data)
    os.rename(path + ".tmp", path)


class RangeSt(ctypes.Structure):
    _fields_ = [("low", ctypes.c_size_t), ("high", ctypes.c_size_t)]


class GnuTls:
    """The few GnuTLS functions the client needs, with their C signatures."""

    def __init__(self, path="libgnutls.so.30"):
        self.lib = ctypes.CDLL(path)
        session, buf, size = ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t
        signatures = {
            "gnutls_certificate_allocate_credentials": (ctypes.c_int, [ctypes.c_void_p]),
            "gnutls_init": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_uint]),
            "gnutls_set_default_priority": (ctypes.c_int, [session]),
            "gnutls_credentials_set": (ctypes.c_int, [session, ctypes.c_int, ctypes.c_void_p]),
            "gnutls_transport_set_int2": (None, [session, ctypes.c_int, ctypes.c_int]),
            "gnutls_handshake": (ctypes.c_int, [session]),
            "gnutls_error_is_fatal": (ctypes.c_int, [ctypes.c_int]),
            "gnutls_strerror": (ctypes.c_char_p, [ctypes.c_int]),
            "gnutls_record_send": (ctypes.c_ssize_t, [session, buf, size]),
            "gnutls_record_send2": (ctypes.c_ssize_t,
                                    [session, buf, size, ctypes.c_size_t, ctypes.c_uint]),
            "gnutls_record_send_range": (ctypes.c_ssize_t,
                                         [session, buf, size, ctypes.POINTER(RangeSt)]),
            "gnutls_record_cork": (None, [session]),
            "gnutls_record_uncork": (ctypes.c_int, [session, ctypes.c_uint]),
            "gnutls_record_recv": (ctypes.c_ssize_t, [session, buf, size]),
            "gnutls_record_recv_seq": (ctypes.c_ssize_t, [session, buf, size, ctypes.c_void_p]),
            "gnutls_bye": (ctypes.c_int, [session, ctypes.c_int]),
            "gnutls_deinit": (None, [session]),
        }
        for name, (restype, argtypes) in signatures.items():
            function = getattr(self.lib, name)
            function.restype, function.argtypes = restype, argtypes

    def check(self, ret, what):
        if ret < 0:
            raise RuntimeError(f"{what}: {self.lib.gnutls_strerror(ret).decode()}")
        return ret


class GnuTlsConnection:
    def __init__(self, gnutls, sock):
        self.g, self.sock = gnutls, sock
        lib = gnutls.lib
        self.cred = ctypes.c_void_p()
        gnutls.check(lib.gnutls_certificate_allocate_credentials(ctypes.byref(self.cred)), "cred")
        self.session = ctypes.c_void_p()
        gnutls.check(lib.gnutls_init(ctypes.byref(self.session), GNUTLS_CLIENT), "init")
        gnutls.check(lib.gnutls_set_default_priority(self.session), "priority")
        gnutls.check(lib.gnutls_credentials_set(self.session, GNUTLS_CRD_CERTIFICATE, self.cred),
                     "credentials")
        lib.gnutls_transport_set_int2(self.session, sock.fileno(), sock.fileno())
        while True:  # no certificate check was asked for: the test's certificate is self-signed
            ret = lib.gnutls_handshake(self.session)
            if ret == 0:
                break
            if lib.gnutls_error_is_fatal(ret):
                gnutls.check(ret, "handshake")

    def _retrying(self, call, what):
        while True:
            ret = call()
            if ret not in (GNUTLS_E_AGAIN, GNUTLS_E_INTERRUPTED):
                return self.g.check(ret, what)

    def send_piece(self, data, api):
        """Sends all of `data` with one GnuTLS write function (several calls when a record
        cannot hold it); `cork` queues it in pieces of at most 1000 bytes and flushes once."""
        lib, buffer = self.g.lib, ctypes.create_string_buffer(data, len(data))
        base = ctypes.addressof(buffer)
        if api == "cork":
            lib.gnutls_record_cork(self.session)
            for offset in range(0, len(data), 1000):
                piece = min(1000, len(data) - offset)
                sent = self._retrying(
                    lambda: lib.gnutls_record_send(self.session, base + offset, piece), "send")
                assert sent == piece, (sent, piece)  # corked: queued whole
            self._retrying(lambda: lib.gnutls_record_uncork(self.session, GNUTLS_RECORD_WAIT),
                           "uncork")
            return
        offset = 0
        while offset < len(data):
            left, at = len(data) - offset, base + offset
            if api == "send":
                call = lambda: lib.gnutls_record_send(self.session, at, left)
            elif api == "send2":
                call = lambda: lib.gnutls_record_send2(self.session, at, left, 0, 0)
            else:  # send_range: conceal the length among left..left+32 bytes
                hidden = RangeSt(left, left + 32)
                call = lambda: lib.gnutls_record_send_range(self.session, at, left,
                                                            ctypes.byref(hidden))
            offset += self._retrying(call, api)

    def receive_all(self, api):
        lib, chunks = self.g.lib, []
        buffer, sequence = ctypes.create_string_buffer(65536), ctypes.create_string_buffer(8)
        while True:
            if api == "recv":
                call = lambda: lib.gnutls_record_recv(self.session, buffer, len(buffer))
            else:
                call = lambda: lib.gnutls_record_recv_seq(self.session, buffer, len(buffer),
                                                          sequence)
            try:
                got = self._retrying(call, api)
            except RuntimeError:  # the server closed without close_notify
                break
            if got == 0:
                break
            chunks.append(buffer.raw[:got])
        return b"".join(chunks)

    def close(self):
        self.g.lib.gnutls_bye(self.session, GNUTLS_SHUT_RDWR)
        self.g.lib.gnutls_deinit(self.session)
        self.sock.close()


def connect_tcp(port):
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def pieces(data, size):
    size = size or len(data) or 1
    return [data[offset:offset + size] for offset in range(0, len(data), size)]


def run_client(args):
    gnutls = GnuTls()
    payload = read_file(args.send_file)
    g = GnuTlsConnection(gnutls, connect_tcp(args.port))
    ports = {"gnutls": g.sock.getsockname()[1]}
    o = None
    if args.openssl_port:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        o = context.wrap_socket(connect_tcp(args.openssl_port))
        ports["openssl"] = o.getsockname()[1]
        openssl_pieces = pieces(read_file(args.openssl_send_file), args.message_size)
    for index, piece in enumerate(pieces(payload, args.message_size)):
        g.send_piece(piece, args.send_api)
        if o and index < len(openssl_pieces):
            o.sendall(openssl_pieces[index])
    if o:
        for piece in openssl_pieces[len(pieces(payload, args.message_size)):]:
            o.sendall(piece)
    write_file(args.received_file, g.receive_all(args.read_api))
    g.close()
    if o:
        chunks = []
        while True:
            try:
                chunk = o.recv(65536)
            except (ssl.SSLZeroReturnError, ConnectionResetError):
                break
            if not chunk:
                break
            chunks.append(chunk)
        write_file(args.openssl_received_file, b"".join(chunks))
        o.close()
    if args.port_file:
        write_file(args.port_file, " ".join(f"{k}={v}" for k, v in ports.items()).encode())


def run_compat_client(args):
    """A client written to OpenSSL's API, run on GnuTLS's OpenSSL compatibility library
    (libgnutls-openssl.so.27, as ssmtp and wput are): its SSL_write calls gnutls_record_send."""
    lib = ctypes.CDLL("libgnutls-openssl.so.27")
    pointer = ctypes.c_void_p
    signatures = {
        "SSL_library_init": (ctypes.c_int, []),
        "SSLv23_client_method": (pointer, []),
        "SSL_CTX_new": (pointer, [pointer]),
        "SSL_CTX_set_verify": (None, [pointer, ctypes.c_int, pointer]),
        "SSL_new": (pointer, [pointer]),
        "SSL_set_fd": (ctypes.c_int, [pointer, ctypes.c_int]),
        "SSL_connect": (ctypes.c_int, [pointer]),
        "SSL_write": (ctypes.c_int, [pointer, pointer, ctypes.c_int]),
        "SSL_read": (ctypes.c_int, [pointer, pointer, ctypes.c_int]),
        "SSL_shutdown": (ctypes.c_int, [pointer]),
        "SSL_free": (None, [pointer]),
    }
    for name, (restype, argtypes) in signatures.items():
        function = getattr(lib, name)
        function.restype, function.argtypes = restype, argtypes
    lib.SSL_library_init()
    context = lib.SSL_CTX_new(lib.SSLv23_client_method())
    lib.SSL_CTX_set_verify(context, 0, None)  # SSL_VERIFY_NONE: a self-signed test certificate
    sock = connect_tcp(args.port)
    tls = lib.SSL_new(context)
    lib.SSL_set_fd(tls, sock.fileno())
    if lib.SSL_connect(tls) != 1:
        raise RuntimeError("SSL_connect failed")
    for piece in pieces(read_file(args.send_file), args.message_size):
        buffer = ctypes.create_string_buffer(piece, len(piece))
        offset = 0
        while offset < len(piece):
            sent = lib.SSL_write(tls, ctypes.addressof(buffer) + offset, len(piece) - offset)
            if sent <= 0:
                raise RuntimeError("SSL_write failed")
            offset += sent
    chunks, buffer = [], ctypes.create_string_buffer(65536)
    while True:
        got = lib.SSL_read(tls, buffer, len(buffer))
        if got <= 0:
            break
        chunks.append(buffer.raw[:got])
    write_file(args.received_file, b"".join(chunks))
    lib.SSL_shutdown(tls)
    lib.SSL_free(tls)
    sock.close()


def run_echo_client(args):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    tls = context.wrap_socket(connect_tcp(args.port))
    if args.port_file:
        write_file(args.port_file, str(tls.getsockname()[1]).encode())
    received = bytearray()
    sent = 0
    for piece in pieces(read_file(args.send_file), args.message_size):
        tls.sendall(piece)
        sent += len(piece)
        while len(received) < sent:
            chunk = tls.recv(65536)
            if not chunk:
                raise RuntimeError("the echo server closed early")
            received += chunk
    write_file(args.received_file, bytes(received))
    tls.close()


def run_server(args):
    """One connection: reads --expect bytes, sends --reply-file, closes with close_notify."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)
    if args.tls12:
        context.maximum_version = ssl.TLSVersion.TLSv1_2
    listener = socket.create_server(("127.0.0.1", args.port))
    write_file(args.ready_file, str(os.getpid()).encode())
    raw, (_, peer_port) = listener.accept()
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    received = bytearray()
    with context.wrap_socket(raw, server_side=True) as tls:
        while len(received) < args.expect:
            chunk = tls.recv(65536)
            if not chunk:
                break
            received += chunk
        tls.sendall(read_file(args.reply_file))
        try:
            tls.unwrap()
        except (ssl.SSLError, OSError):
            pass
    write_file(args.received_file, bytes(received))
    write_file(args.port_file, str(peer_port).encode())


def listening(port):
    """Whether a TCP socket listens on `port`, from /proc (a probe connection would be a
    client of the server too)."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A":
                    return True
    return False


def run_gnutls_pair(args):
    """gnutls-cli against gnutls-serv --echo, both children of this process (so that
    `tlstap -- gnutls_peer.py gnutls-pair` traces both from their start). gnutls-cli's stdin
    gets --send-file; once its stdout has echoed all of it, stdin is closed. With --early-data
    gnutls-cli connects twice (-r) and sends that file as TLS 1.3 early data on the second
    connection. Writes gnutls-cli's stdout and `SERVER_PID CLIENT_PID` to --pids-file."""
    server_argv = ["gnutls-serv", "--echo", "-q", "-p", str(args.port), "--x509certfile",
                   args.cert, "--x509keyfile", args.key]
    client_argv = ["gnutls-cli", "--insecure", "-p", str(args.port), "127.0.0.1", "--logfile",
                   args.received_file + ".log"]
    if args.early_data:
        server_argv.append("--earlydata")
        client_argv += ["-r", f"--earlydata={args.early_data}"]
    server = subprocess.Popen(server_argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 10
        while not listening(args.port):
            if time.time() > deadline or server.poll() is not None:
                raise RuntimeError("gnutls-serv did not listen")
            time.sleep(0.02)
        payload = read_file(args.send_file)
        client = subprocess.Popen(client_argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        client.stdin.write(payload)
        client.stdin.flush()
        echoed = bytearray()
        while len(echoed) < len(payload):
            chunk = os.read(client.stdout.fileno(), 65536)
            if not chunk:
                break
            echoed += chunk
        client.stdin.close()
        echoed += client.stdout.read()
        if client.wait(timeout=30) != 0:
            raise RuntimeError(f"gnutls-cli exited with {client.returncode}")
        write_file(args.received_file, bytes(echoed))
        write_file(args.pids_file, f"{server.pid} {client.pid}".encode())
    finally:
        server.terminate()
        server.wait()


class Connection(threading.Thread):
    """One client of the HTTPS server: requests, answered in order, until the client closes."""

    def __init__(self, tls, directory, log_dir):
        super().__init__(daemon=True)
        self.tls, self.directory, self.log_dir = tls, directory, log_dir
        self.received, self.sent = bytearray(), bytearray()

    def send(self, data):
        self.tls.sendall(data)
        self.sent += data

    def answer(self, request):
        request_line = request.split(b"\r\n", 1)[0].decode("latin-1")
        method, target, version = request_line.split(" ")
        path = os.path.join(self.directory, target.split("?", 1)[0].lstrip("/"))
        if method == "GET" and os.path.isfile(path):
            body, status = read_file(path), "200 OK"
        else:
            body, status = b"not found\n", "404 Not Found"
        self.send(f"{version} {status}\r\nServer: gnutls_peer\r\nContent-Type: "
                  f"application/octet-stream\r\nContent-Length: {len(body)}\r\n\r\n".encode()
                  + body)

    def run(self):
        peer_port = self.tls.getpeername()[1]
        pending = b""
        try:
            while True:
                while b"\r\n\r\n" not in pending:
                    chunk = self.tls.recv(65536)
                    if not chunk:
                        raise EOFError
                    self.received += chunk
                    pending += chunk
                request, pending = pending.split(b"\r\n\r\n", 1)
                self.answer(request)
        except (EOFError, ssl.SSLError, OSError):
            pass
        finally:
            self.tls.close()
            write_file(os.path.join(self.log_dir, f"{peer_port}.received"), bytes(self.received))
            write_file(os.path.join(self.log_dir, f"{peer_port}.sent"), bytes(self.sent))


def run_https_server(args):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)
    listener = socket.create_server(("127.0.0.1", args.port))
    write_file(args.ready_file, str(os.getpid()).encode())
    while True:
        raw, _ = listener.accept()
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            tls = context.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError):
            raw.close()
            continue
        Connection(tls, args.dir, args.log_dir).start()


MODES = {"client": run_client, "compat-client": run_compat_client,
         "echo-client": run_echo_client, "server": run_server, "gnutls-pair": run_gnutls_pair,
         "https-server": run_https_server}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=list(MODES))
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--send-file")
    parser.add_argument("--received-file")
    parser.add_argument("--reply-file", help="server: what it sends once it has read --expect")
    parser.add_argument("--expect", type=int, default=0, help="server: bytes read before replying")
    parser.add_argument("--message-size", type=int, default=0, help="0: all in one piece")
    parser.add_argument("--send-api", choices=["send", "send2", "send_range", "cork"],
                        default="send")
    parser.add_argument("--read-api", choices=["recv", "recv_seq"], default="recv")
    parser.add_argument("--port-file",
                        help="client: the local port(s) it used; server: its client's port")
    parser.add_argument("--openssl-port", type=int, help="client: also a python ssl connection")
    parser.add_argument("--openssl-send-file")
    parser.add_argument("--openssl-received-file")
    parser.add_argument("--tls12", action="store_true",
                        help="server: TLS 1.2 at most (the compatibility library's SSL_read "
                             "takes TLS 1.3's session tickets for the end of the data)")
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--dir", help="https-server: the files it serves")
    parser.add_argument("--log-dir", help="https-server: PORT.received / PORT.sent per client")
    parser.add_argument("--ready-file")
    parser.add_argument("--early-data", help="gnutls-pair: file sent as early data")
    parser.add_argument("--pids-file", help="gnutls-pair: `SERVER_PID CLIENT_PID`")
    args = parser.parse_args()
    MODES[args.mode](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
