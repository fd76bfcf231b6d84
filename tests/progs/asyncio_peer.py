"""python asyncio TLS peers (ssl.SSLObject over MemoryBIO) for the e2e tests.

server PORT CERT KEY READY REPORT COUNT: for each of COUNT connections reads one line, replies
  with a reply derived from it, closes; the report lists each connection's client port, what
  it received and what it sent.
client PORT REPORT MESSAGE...: one connection per message, concurrently; sends the message and
  a newline, reads the reply until EOF; the report lists local ports, sent and received bytes.
http-clients PORT REPORT N: N concurrent connections, each sends one HTTP/1.1 GET with
  `Connection: close` and reads the response until EOF; same report.
"""
import asyncio
import base64
import json
import os
import ssl
import sys


def b64(data):
    return base64.b64encode(data).decode()


async def serve(port, cert, key, ready, report_path, count):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    report, finished = [], asyncio.Event()

    async def handle(reader, writer):
        received = await reader.readline()
        reply = b"reply to " + received + os.urandom(3000).hex().encode() + b"\n"
        writer.write(reply)
        await writer.drain()
        peer = writer.get_extra_info("peername")
        report.append({"rport": peer[1], "received": b64(received), "sent": b64(reply)})
        writer.close()
        await writer.wait_closed()
        if len(report) == count:
            finished.set()

    server = await asyncio.start_server(handle, "127.0.0.1", port, ssl=context)
    with open(ready, "w") as f:
        f.write(str(os.getpid()))
    await finished.wait()
    server.close()
    with open(report_path, "w") as f:
        json.dump(report, f)


async def one_client(port, message, newline=True):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context)
    sent = message.encode() + (b"\n" if newline else b"")
    writer.write(sent)
    await writer.drain()
    received = await reader.read()
    lport = writer.get_extra_info("sockname")[1]
    writer.close()
    try:
        await writer.wait_closed()
    except (ssl.SSLError, ConnectionError):
        pass
    return {"lport": lport, "sent": b64(sent), "received": b64(received)}


async def clients(port, report_path, messages, newline=True):
    results = await asyncio.gather(*(one_client(port, m, newline) for m in messages))
    with open(report_path, "w") as f:
        json.dump(results, f)


def main():
    mode, *args = sys.argv[1:]
    if mode == "server":
        port, cert, key, ready, report, count = args
        asyncio.run(serve(int(port), cert, key, ready, report, int(count)))
    elif mode == "http-clients":
        port, report, count = args
        requests = [f"GET /client/{i} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                    f"Connection: close\r\n\r\n" for i in range(int(count))]
        asyncio.run(clients(int(port), report, requests, newline=False))
    else:
        port, report, *messages = args
        asyncio.run(clients(int(port), report, messages))


if __name__ == "__main__":
    main()
