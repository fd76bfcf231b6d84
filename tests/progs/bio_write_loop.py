"""A CPU-bound TLS workload in one process, no network: a client and a server SSLObject
connected by memory BIOs; the client writes 64-byte records (SSL_write_ex each) that the
server reads, as fast as it can, forever. Every 0.25 s it appends "<monotonic> <calls>" to
--rate-file: the SSL_write calls made in that interval. Its speed shows what probes cost."""
import argparse
import os
import ssl
import time

parser = argparse.ArgumentParser()
parser.add_argument("--cert", required=True)
parser.add_argument("--key", required=True)
parser.add_argument("--rate-file", required=True)
args = parser.parse_args()

server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
server_context.load_cert_chain(args.cert, args.key)
client_context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
client_context.check_hostname = False
client_context.verify_mode = ssl.CERT_NONE
c_in, c_out, s_in, s_out = (ssl.MemoryBIO() for _ in range(4))
client = client_context.wrap_bio(c_in, c_out)
server = server_context.wrap_bio(s_in, s_out, server_side=True)


def pump():
    s_in.write(c_out.read())
    c_in.write(s_out.read())


for side in (client, server) * 4:  # the handshake, driven by hand
    try:
        side.do_handshake()
    except ssl.SSLWantReadError:
        pass
    pump()
client.do_handshake()
pump()

message = os.urandom(64)
with open(args.rate_file, "a", buffering=1) as rates:
    calls, window_start = 0, time.monotonic()
    while True:
        client.write(message)
        s_in.write(c_out.read())
        server.read(65536)
        calls += 1
        if calls % 256 == 0:
            now = time.monotonic()
            if now - window_start >= 0.25:
                rates.write(f"{now} {calls / (now - window_start):.0f}\n")
                calls, window_start = 0, now
