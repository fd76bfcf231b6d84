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
    header = struct.pack("<IIIIQQQQQQIBBBB", 1, 7, 7, 0, call_id, 1, 0, len(data), len(data),
                         0, len(data), 1, 0, 0, 0)
    header += struct.pack("<Q", 0)                                   # pos
    header += struct.pack("<iHHH6x16s16s", 3, AF_INET, 443, 50000, b"\x7f\0\0\1", b"\x7f\0\0\1")
    header += b"curl".ljust(16, b"\0")
    assert len(header) == 144, len(header)
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
