#!/usr/bin/env python3
"""Writes the seed corpora of the fuzzers into corpus/NAME/ (run from anywhere).

The seeds are small well-formed inputs, so a short smoke run starts from real shapes:
fuzz_event_stream's op format is documented at the top of fuzz_event_stream.cc.
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
AF_INET, AF_UNIX = 2, 1


def write(fuzzer, name, data):
    directory = os.path.join(HERE, "corpus", fuzzer)
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, name), "wb") as f:
        f.write(data)


# --- fuzz_event_stream ---------------------------------------------------------------------
def chunk(call_id, call_len, data, chunk_len=None, tid=1, offset_mode=0, capture_len=None,
          fault=False, hostile_comm=False, short=None, direction=1, function=2, fd=3,
          family=AF_INET):
    """Op 1: a data chunk. offset_mode: 0 first chunk, 1 next expected offset."""
    shape = offset_mode & 3
    if capture_len is None:
        shape |= 0x40
    if fault:
        shape |= 0x20
    if hostile_comm:
        shape |= 0x10
    if short is not None:
        shape |= 0x08
    if chunk_len is None:
        chunk_len = len(data)
    if chunk_len > 255:
        shape |= 0x04  # a u16 chunk length
    out = bytes([1, shape, 0, tid - 1, call_id]) + struct.pack("<Q", 5_000_000_000)
    out += bytes([0]) + struct.pack("<H", call_len)
    if capture_len is not None:
        out += struct.pack("<H", capture_len)
    out += struct.pack("<H", chunk_len) if shape & 0x04 else bytes([chunk_len])
    out += bytes([function, direction])
    out += struct.pack("<H", 0)  # pos
    families = [0, AF_INET, 10, AF_UNIX, 0xffff]
    out += bytes([(fd + 1) | (families.index(family) << 3)]) + struct.pack("<H", 40000)
    assert len(data) < 256
    out += bytes([10, len(data)]) + data
    if short is not None:
        out += bytes([short])
    return out


def close_event(fd=3):
    return bytes([2, 3, 0, 0]) + struct.pack("<I", 1000)[:3] + struct.pack("<I", 2000)[:3] + \
        bytes([(fd + 1) | 8])


def exit_event():
    return bytes([2, 2, 0])


def expire(advance_ms, quiet_10ms):
    return bytes([3]) + struct.pack("<H", advance_ms) + bytes([quiet_10ms])


def raw_data_event(call_id, data):
    header = struct.pack("<IIIIQQQQQQQIBBBB", 1, 7, 7, 0, call_id, 1, 1, 0, len(data), len(data),
                         0, len(data), 1, 0, 0, 0)
    header += struct.pack("<Q", 0)                                   # pos
    header += struct.pack("<iHHH6x16s16s", 3, AF_INET, 443, 50000, b"\x7f\0\0\1", b"\x7f\0\0\1")
    header += b"curl".ljust(16, b"\0")
    assert len(header) == 152, len(header)
    event = header + data
    return bytes([0]) + struct.pack("<H", len(event)) + event


hello = b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"
write("fuzz_event_stream", "single_call", chunk(1, len(hello), hello))
write("fuzz_event_stream", "two_chunks",
      chunk(2, 20000, b"A" * 64, chunk_len=16384) +
      chunk(2, 20000, b"B" * 64, chunk_len=3616, offset_mode=1))
write("fuzz_event_stream", "max_bytes",
      chunk(3, 60000, b"C" * 32, chunk_len=16384, capture_len=20000) +
      chunk(3, 60000, b"D" * 32, chunk_len=3616, offset_mode=1, capture_len=20000))
write("fuzz_event_stream", "lost_tail_then_next_call",
      chunk(4, 40000, b"E" * 16, chunk_len=16384, tid=2) +
      chunk(5, 5, b"hello", tid=2, direction=0, function=1))
write("fuzz_event_stream", "fault_and_expire",
      chunk(6, 50000, b"F", chunk_len=16384, tid=3) +
      chunk(6, 50000, b"", chunk_len=0, offset_mode=1, fault=True, tid=3) +
      chunk(7, 30000, b"G", chunk_len=100, tid=4) + expire(5000, 1))
write("fuzz_event_stream", "connections_close_exit",
      chunk(1, 5, b"hello", fd=3) + chunk(2, 5, b"world", fd=-1, family=0) +
      chunk(3, 2, b"ok", fd=2, family=AF_UNIX, hostile_comm=True) + close_event(3) +
      exit_event())
write("fuzz_event_stream", "raw_events", raw_data_event(9, b"raw event data") +
      chunk(10, 5, b"short", short=3))

# --- fuzz_maps_line ------------------------------------------------------------------------
maps = [
    "7f2c4a1b2000-7f2c4a1d4000 r-xp 00022000 fd:01 1234567                    "
    "/usr/lib/x86_64-linux-gnu/libssl.so.3",
    "7f0000000000-7f0000001000 r-xp 00001000 08:01 77                         "
    "/tmp/my dir/libssl.so.3 (deleted)",
    "7ffd5e9f5000-7ffd5e9f7000 r-xp 00000000 00:00 0                          [vdso]",
    "7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0 ",
    "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]\n",
]
for i, line in enumerate(maps):
    write("fuzz_maps_line", f"line{i}", line.encode())

# --- fuzz_encoding -------------------------------------------------------------------------
write("fuzz_encoding", "http", hello)
write("fuzz_encoding", "utf8", "café € 😀 \u0000\u001f\u007f".encode())
write("fuzz_encoding", "invalid_utf8", b"\xc0\xaf\xed\xa0\x80\xf4\x90\x80\x80\xe2\x82A\xff")
write("fuzz_encoding", "all_bytes", bytes(range(256)))

# --- fuzz_go_tables and fuzz_go_program ------------------------------------------------------
GO_MAGICS = {"1.2": 0xfffffffb, "1.16": 0xfffffffa, "1.18": 0xfffffff0, "1.20": 0xfffffff1}
GO_TEXT = 0x400100
GO_FUNCTIONS = [("crypto/tls.(*Conn).Write", 0x00), ("crypto/tls.(*Conn).Read", 0x20)]
GO_END = 0x40


def pclntab(fmt, functions, end, text_start=0):
    """A Go function table (see src/discover/go_pclntab.h) with these (name, entry)."""
    offsets = fmt in ("1.18", "1.20")
    field = 4 if offsets else 8
    n = len(functions)
    words = 1 if fmt == "1.2" else 8 if offsets else 7
    names = 8 + 8 * words + ((2 * n + 1) * 8 + 8 if fmt == "1.2" else 0)
    table = bytearray(struct.pack("<IBBBB", GO_MAGICS[fmt], 0, 0, 1, 8))
    table += bytes(names - len(table))
    name_offsets = []
    for name, _ in functions:
        name_offsets.append((names if fmt == "1.2" else 0) + len(table) - names)
        table += name.encode() + b"\0"
    table += bytes(-len(table) % 8)
    pcln = 16 if fmt == "1.2" else len(table)
    records = len(table) if fmt == "1.2" else pcln + (2 * n + 1) * field
    funcdata = 0 if fmt == "1.2" else pcln
    table += bytes(records + 16 * n + 8 - len(table))
    struct.pack_into("<Q", table, 8, n)
    if fmt != "1.2":
        first = 3 if offsets else 2
        for w in range(first, first + 4):
            struct.pack_into("<Q", table, 8 + 8 * w, names)
        struct.pack_into("<Q", table, 8 + 8 * (first + 4), pcln)
        if offsets:
            struct.pack_into("<Q", table, 8 + 8 * 2, text_start)
    f = "<I" if field == 4 else "<Q"
    for i, (_, entry) in enumerate(functions):
        record = records + 16 * i
        struct.pack_into(f, table, pcln + 2 * i * field, entry)
        struct.pack_into(f, table, pcln + (2 * i + 1) * field, record - funcdata)
        struct.pack_into(f, table, record, entry)
        struct.pack_into("<I", table, record + field, name_offsets[i])
    struct.pack_into(f, table, pcln + 2 * n * field, end)
    return bytes(table)


def uvarint(n):
    out = bytearray()
    while True:
        out.append((n & 0x7f) | (0x80 if n > 0x7f else 0))
        n >>= 7
        if not n:
            return bytes(out)


def buildinfo_inline(version):
    modinfo = b"S" * 16 + b"path\tgo_tls_client\nbuild\tGOAMD64=v1\n" + b"E" * 16
    return (b"\xff Go buildinf:" + bytes([8, 2]) + bytes(16) + uvarint(len(version)) +
            version + uvarint(len(modinfo)) + modinfo)


# Write: mov rbx, rax; mov eax, 0xc3c3c3c3 (no RET inside); ret; padding. Read: xor eax, eax;
# ret; padding.
GO_CODE = (b"\x48\x89\xc3\xb8\xc3\xc3\xc3\xc3\xc3").ljust(0x20, b"\xcc") + \
    b"\x31\xc0\xc3".ljust(0x20, b"\xcc")


def go_elf(text_start_in_header=True, version=b"go1.21.0"):
    """A small Go-like x86-64 program without section headers or symbols: code, a function
    table (found by the scan), build info (found in the writable segment), and moduledata
    (the text start when the table's header has none, as from Go 1.26)."""
    ro_vaddr, rw_vaddr = 0x500200, 0x600600
    table = pclntab("1.20", [(n, e) for n, e in GO_FUNCTIONS], GO_END,
                    GO_TEXT if text_start_in_header else 0)
    rw = bytearray(buildinfo_inline(version))
    rw += bytes(-len(rw) % 16)
    module = len(rw)
    rw += bytes(23 * 8)
    struct.pack_into("<Q", rw, module, ro_vaddr)                       # pcHeader
    struct.pack_into("<Q", rw, module + 8, ro_vaddr + 8 + 8 * 8)       # funcnametab
    struct.pack_into("<Q", rw, module + 20 * 8, GO_TEXT)               # minpc
    struct.pack_into("<Q", rw, module + 22 * 8, GO_TEXT)               # text
    segments = [(0x100, GO_TEXT, GO_CODE, 5), (0x200, ro_vaddr, table, 4)]
    segments.append((0x200 + len(table) + 0x400 - (0x200 + len(table)) % 0x400 + 0x200,
                     rw_vaddr, bytes(rw), 6))
    out = bytearray(struct.pack("<4sBBBB8xHHIQQQIHHHHHH", b"\x7fELF", 2, 1, 1, 0, 2, 62, 1,
                                GO_TEXT, 64, 0, 0, 64, 56, len(segments), 64, 0, 0))
    for offset, vaddr, content, flags in segments:
        out += struct.pack("<IIQQQQQQ", 1, flags, offset, vaddr, vaddr, len(content),
                           len(content), 0x1000)
    for offset, _, content, _ in segments:
        out += bytes(offset - len(out))
        out += content
    return bytes(out)


for fmt in GO_MAGICS:
    offsets = fmt in ("1.18", "1.20")
    base = 0 if offsets else GO_TEXT
    functions = [(n, e + base) for n, e in GO_FUNCTIONS]
    write("fuzz_go_tables", f"pclntab_{fmt}",
          b"\0" + struct.pack("<Q", GO_TEXT if offsets else 0) +
          pclntab(fmt, functions, GO_END + base))
write("fuzz_go_tables", "buildinfo_inline", b"\1" + buildinfo_inline(b"go1.19.8"))
pointer_form = bytearray(b"\xff Go buildinf:" + bytes([8, 0]) + bytes(48))
struct.pack_into("<QQ", pointer_form, 16, 0xc00000 + 32, 0xc00000 + 48)
struct.pack_into("<QQ", pointer_form, 32, 0xc00000 + 64, 9)
struct.pack_into("<QQ", pointer_form, 48, 0xc00000 + 73, 0)
write("fuzz_go_tables", "buildinfo_pointers", b"\1" + bytes(pointer_form) + b"go1.17.13")
part = 0x200
moduledata = bytearray(part)  # fuzz_go_tables' image: text 0x401000, rodata 0x800000
struct.pack_into("<QQ", moduledata, 0, 0x800000, 0x800000 + 8 + 8 * 8)
struct.pack_into("<Q", moduledata, 20 * 8, 0x401000)
struct.pack_into("<Q", moduledata, 22 * 8, 0x401000)
image = GO_CODE.ljust(part, b"\xcc") + \
    pclntab("1.20", GO_FUNCTIONS, GO_END, 0).ljust(part, b"\0") + bytes(moduledata)
write("fuzz_go_tables", "image_scan", b"\2" + image)
write("fuzz_go_tables", "x86_code", b"\3" + GO_CODE)
write("fuzz_go_tables", "arm64_code",
      b"\4" + b"\x1f\x20\x03\xd5\xc0\x03\x5f\xd6\x00\x00\x00\x00\x20\x00\x5f\xd6")
write("fuzz_go_program", "go_program", go_elf())
write("fuzz_go_program", "go_program_moduledata", go_elf(text_start_in_header=False))
write("fuzz_go_program", "go_program_stack_abi", go_elf(version=b"go1.16.15"))

# --- fuzz_tcp_synthesizer (op format at the top of fuzz_tcp_synthesizer.cc) ------------------
def synth_op(kind, conn, write=False, truncated=False, back=0, data=b""):
    assert len(data) % 16 == 0
    flags = (1 if write else 0) | (2 if truncated else 0) | (4 if back else 0)
    return bytes([(kind << 4) | conn, flags, back, len(data) // 16]) + data


REQUEST = b"GET /index.html HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n\r\n".ljust(64, b" ")
write("fuzz_tcp_synthesizer", "both_ends_http",
      synth_op(0, 0, write=True, data=REQUEST) + synth_op(0, 1, data=REQUEST[:32])
      + synth_op(0, 1, data=REQUEST[32:]) + synth_op(0, 1, write=True, data=b"HTTP/1.1 200 OK\r\n".ljust(32))
      + synth_op(0, 0, data=b"HTTP/1.1 200 OK\r\n".ljust(32)) + synth_op(12, 1) + synth_op(12, 0))
write("fuzz_tcp_synthesizer", "gaps_and_truncation",
      synth_op(0, 2, write=True, data=bytes(range(48))) + synth_op(0, 2, truncated=True,
                                                              data=bytes(32))
      + synth_op(0, 2, back=20, data=bytes(16)) + synth_op(12, 2))
write("fuzz_tcp_synthesizer", "unix_and_ipv6",
      synth_op(0, 3, data=b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".ljust(32, b"\0"))
      + synth_op(0, 4, write=True, data=bytes(255 * 16)[:1600]) + synth_op(12, 3))


# --- fuzz_http2 ----------------------------------------------------------------------------
# Operations on one connection (format at the top of fuzz_http2.cc); HPACK written by hand:
# static-table indexes, literals with incremental indexing (then referred to by dynamic
# index), literals without indexing.
def h2_limits(body=64, header=0xff, pending=8, buffered=0xff):
    return bytes([body, header, pending, buffered])


def h2_op(side, kind, data=b"", n=None):
    ctrl = (1 if side == "responses" else 0) | kind << 1
    length = len(data) if n is None else n
    return bytes([ctrl]) + struct.pack("<H", length) + data


def h2_frame(ftype, flags, stream, payload):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + \
        struct.pack(">I", stream) + payload


def hpack_literal(name, value, indexing=True):
    return bytes([0x40 if indexing else 0x00, len(name)]) + name + bytes([len(value)]) + value


H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
H2_SETTINGS = h2_frame(4, 0, 0, struct.pack(">HI", 1, 4096) + struct.pack(">HI", 5, 16384))
H2_ACK = h2_frame(4, 1, 0, b"")
# :method GET, :scheme https, :path /, :authority (literal, indexed as 62)
H2_GET = bytes([0x82, 0x87, 0x84]) + hpack_literal(b":authority", b"example.com")
H2_GET_AGAIN = bytes([0x82, 0x87, 0x84, 0xbe])  # the authority from the dynamic table
H2_OK = bytes([0x88]) + hpack_literal(b"content-type", b"text/plain", indexing=False)
h2_requests = H2_PREFACE + H2_SETTINGS + H2_ACK + h2_frame(1, 5, 1, H2_GET) + \
    h2_frame(1, 5, 3, H2_GET_AGAIN)
h2_responses = H2_SETTINGS + H2_ACK + h2_frame(1, 4, 1, H2_OK) + h2_frame(0, 0, 1, b"hello ") + \
    h2_frame(1, 4, 3, bytes([0x88])) + h2_frame(0, 1, 1, b"world") + \
    h2_frame(0, 9, 3, b"\x02ok\0\0")
write("fuzz_http2", "two_streams",
      h2_limits() + h2_op("requests", 0, h2_requests) + h2_op("responses", 0, h2_responses) +
      h2_op("requests", 3))
# Go's net/http: stream 1's response read before the write record of its request HEADERS.
write("fuzz_http2", "response_before_request",
      h2_limits() + h2_op("requests", 0, h2_requests[:len(H2_PREFACE + H2_SETTINGS)]) +
      h2_op("responses", 0, h2_responses) +
      h2_op("requests", 0, h2_requests[len(H2_PREFACE + H2_SETTINGS):]) + h2_op("requests", 3))
write("fuzz_http2", "continuation_and_reset",
      h2_limits() + h2_op("requests", 0, H2_PREFACE + H2_SETTINGS + h2_frame(1, 0, 1, H2_GET[:2]) +
                          h2_frame(9, 4, 1, H2_GET[2:]) + h2_frame(3, 0, 1, b"\0\0\0\x08")) +
      h2_op("responses", 0, H2_SETTINGS + h2_frame(7, 0, 0, b"\0\0\0\1\0\0\0\0")) +
      h2_op("requests", 3))
grpc_request = bytes([0x83, 0x87]) + hpack_literal(b":path", b"/pkg.Svc/Do") + \
    hpack_literal(b"content-type", b"application/grpc")
grpc_body = b"\0\0\0\0\3abc\0\0\0\0\0"
grpc_trailers = hpack_literal(b"grpc-status", b"2") + hpack_literal(b"grpc-message", b"a%20b")
write("fuzz_http2", "grpc",
      h2_limits() + h2_op("requests", 0, H2_PREFACE + H2_SETTINGS + h2_frame(1, 4, 1, grpc_request) +
                          h2_frame(0, 0, 1, grpc_body[:4]) + h2_frame(0, 1, 1, grpc_body[4:])) +
      h2_op("responses", 0, H2_SETTINGS + H2_ACK + h2_frame(1, 4, 1, bytes([0x88]) +
                                                           hpack_literal(b"content-type", b"application/grpc")) +
            h2_frame(0, 0, 1, b"\0\0\0\0\1z") + h2_frame(1, 5, 1, grpc_trailers)) +
      h2_op("requests", 3))
# A gap inside stream 1's request header block (both requests undecodable: the second refers
# to the first's table entry), one inside a DATA payload (framing kept), one of unknown size.
write("fuzz_http2", "gaps",
      h2_limits(body=4, pending=2) + h2_op("requests", 0, h2_requests[:66]) +
      h2_op("requests", 1, n=3) + h2_op("requests", 0, h2_requests[69:]) +
      h2_op("responses", 0, h2_responses[:75]) + h2_op("responses", 1, n=3) +
      h2_op("responses", 0, h2_responses[78:]) + h2_op("responses", 2) +
      h2_op("responses", 0, h2_responses[:20]) + h2_op("requests", 3))

# --- fuzz_http2_gaps -----------------------------------------------------------------------
# Its input drives a generator (FuzzedDataProvider): any bytes are a valid start.
write("fuzz_http2_gaps", "counting", bytes(range(256)))
write("fuzz_http2_gaps", "ones", b"\xff" * 200)
write("fuzz_http2_gaps", "mixed", bytes((i * 37 + 11) % 256 for i in range(300)))

# --- fuzz_http2_redactor --------------------------------------------------------------------
# FuzzedDataProvider takes integers (the mode, chunk sizes) from the end and strings from the
# front. Last byte odd: arbitrary bytes (a random-length string: a backslash doubled, then
# "\\" + another byte ends it), here a real stream with secrets in raw and indexed names.
def random_length_string(data):
    return data.replace(b"\\", b"\\\\") + b"\\\x00"


redact_block = (b"\x40\x06cookie\x05a=b12" + b"\x0f\x08\x08Bearer x" +
                b"\x10\x09x-api-key\x82\x1c\x64" + b"\xbe\x20\x82")
redact_stream = (H2_PREFACE + h2_frame(4, 0, 0, b"") +
                 h2_frame(1, 0x24, 1, b"\x00\x00\x00\x00\x10" + redact_block[:9]) +
                 h2_frame(9, 4, 1, redact_block[9:]) + h2_frame(0, 1, 1, b"data"))
write("fuzz_http2_redactor", "arbitrary_stream",
      random_length_string(redact_stream) + bytes([7, 40, 3, 0, 9, 64, 12]) * 6 + b"\x01\x01")
write("fuzz_http2_redactor", "arbitrary_midstream",
      random_length_string(redact_stream[30:]) + bytes([5, 17, 0, 33]) * 8 + b"\x00\x01")
# Last byte even: the generator of real HTTP/2; any bytes drive it.
write("fuzz_http2_redactor", "generator_counting", bytes(range(256)) + b"\x00")
write("fuzz_http2_redactor", "generator_mixed",
      bytes((i * 37 + 11) % 256 for i in range(400)) + b"\x02")

# --- fuzz_http1 ------------------------------------------------------------------------------
def http1_input(ops, body_bytes=64, header_units=16, pending=3, shape=0):
    """Configuration bytes, then (op, payload) pairs as fuzz_http1.cc documents them."""
    out = bytes([body_bytes // 8, header_units, pending - 1, shape])
    for op, payload in ops:
        if op in (0, 1):
            for i in range(0, len(payload), 255):  # records of at most 255 bytes
                piece = payload[i:i + 255]
                out += bytes([op, len(piece)]) + piece
        elif op in (2, 3):
            out += bytes([op, payload])
        elif op in (4, 5):
            length, data = payload
            out += bytes([op, length, len(data)]) + data
        elif op == 6:
            out += bytes([6])
    return out


REQ, RESP = 0, 1
get = b"GET /a HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n"
ok = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
chunked_post = (b"POST /orders HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                b"5;x=y\r\nhello\r\n0\r\nX-Sum: 1\r\n\r\n")
created = b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
write("fuzz_http1", "keep_alive", http1_input(
    [(REQ, get), (RESP, ok), (REQ, chunked_post), (RESP, created), (6, None)]))
write("fuzz_http1", "pipelined", http1_input(
    [(REQ, get * 3), (RESP, ok + b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n" + ok)]))
write("fuzz_http1", "continue_and_hints", http1_input(
    [(REQ, b"PUT /p HTTP/1.1\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n"),
     (RESP, b"HTTP/1.1 100 Continue\r\n\r\n"), (REQ, b"data"),
     (RESP, b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n")],
    shape=1))
write("fuzz_http1", "head_and_close_delimited", http1_input(
    [(REQ, b"HEAD / HTTP/1.1\r\n\r\nGET /old HTTP/1.0\r\n\r\n"),
     (RESP, b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\nHTTP/1.0 200 OK\r\n\r\nuntil close"),
     (6, None)], shape=2))
write("fuzz_http1", "upgrade", http1_input(
    [(REQ, b"GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x02hi"),
     (RESP, b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x00"),
     (6, None)]))
write("fuzz_http1", "connect", http1_input(
    [(REQ, b"CONNECT db:5432 HTTP/1.1\r\n\r\n"),
     (RESP, b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n"),
     (REQ, get), (RESP, ok)]))
write("fuzz_http1", "gaps_and_truncation", http1_input(
    [(REQ, get + get), (4, (len(ok) + 20, ok[:20])), (3, 40), (RESP, b"tail\r\n" + ok),
     (2, 17), (REQ, get), (RESP, ok), (6, None)], body_bytes=8, shape=4))
# Go's net/http: a response read (recorded) before the write record of its request.
write("fuzz_http1", "response_before_request", http1_input(
    [(RESP, ok), (REQ, get), (RESP, ok + b"HTTP/1.1 200 OK\r\nContent-Length: 300\r\n\r\n" +
                              b"z" * 300), (REQ, get + get), (6, None)], body_bytes=16))
write("fuzz_http1", "garbage", http1_input(
    [(REQ, b"\x16\x03\x01\x00junk\r\nmore\r\n" + get), (RESP, b"SSH-2.0\r\n" + ok)],
    header_units=1, pending=1))

# --- fuzz_redacting_sink ---------------------------------------------------------------------
# First byte even: HTTP/1-shaped text with secrets, cut into records, with losses and closes;
# odd: arbitrary bytes. The rest drives the ops (see fuzz_redacting_sink.cc).
write("fuzz_redacting_sink", "text_counting", b"\x00" + bytes(range(256)) * 2)
write("fuzz_redacting_sink", "text_mixed", b"\x02" + bytes((i * 37 + 11) % 256 for i in range(600)))
write("fuzz_redacting_sink", "arbitrary_mixed",
      b"\x01" + bytes((i * 53 + 7) % 256 for i in range(600)))
