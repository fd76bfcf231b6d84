"""Checks of one side of one TLS connection against what that peer itself says it did: the
e2e tests of the wolfSSL and mbedTLS stacks drive C peers that report their ports, fd and
call counts (tests/progs/wolfssl_client.c, mbedtls_peer.c)."""
import collections
import os

import harness
from harness import captured_bytes, data_records


def built_program(env_name, name):
    """A test program CMake built: from the environment ctest sets, else next to tlstap in
    the build tree (the test run by hand with TLSTAP_BIN). None when it was not built."""
    path = os.environ.get(env_name)
    if path is None:
        path = os.path.join(os.path.dirname(os.path.abspath(harness.TLSTAP)), "tests", "e2e",
                            name)
    return path if path and os.access(path, os.X_OK) else None


def read_info(path):
    """The "key value" lines a C peer writes about itself, values as ints."""
    info = {}
    with open(path) as f:
        for line in f:
            key, value = line.split()
            info[key] = int(value)
    return info


def assert_side(test, records, pid, *, lib, sent, received, role, lport, rport, fd=None,
                calls=None):
    """`pid`'s records are one connection, `lib`'s, with exactly the bytes it sent and
    received, the connection fields its own sockets have, positions without gaps, and one
    close record counting those bytes. `calls`: {func: count} of the calls that moved bytes,
    as the peer counted them: one record per call, none doubled, none from elsewhere.
    Returns the connection's id."""
    side = data_records(records, pid)
    test.assertTrue(side, f"no records of pid {pid}")
    test.assertEqual({r["lib"] for r in side}, {lib})
    test.assertEqual(captured_bytes(records, pid, "write"), sent)
    test.assertEqual(captured_bytes(records, pid, "read"), received)
    test.assertEqual([r for r in side if r["truncated"]], [])
    if calls is not None:
        test.assertEqual(dict(collections.Counter(r["func"] for r in side)),
                         {func: n for func, n in calls.items() if n})
    conns = {r["conn"] for r in side}
    test.assertEqual(len(conns), 1, conns)
    conn = conns.pop()
    expected = {"role": role, "laddr": "127.0.0.1", "lport": lport, "raddr": "127.0.0.1",
                "rport": rport}
    if fd is not None:
        expected["fd"] = fd
    position = {"read": 0, "write": 0}
    for r in side:
        test.assertEqual({key: r.get(key) for key in expected}, expected)
        test.assertGreaterEqual(r.get("fd", -1), 0)
        test.assertNotIn("midstream", r)
        test.assertEqual(r["pos"], position[r["dir"]])
        position[r["dir"]] += r["len"]
    closes = [r for r in records if r["type"] == "close" and r["conn"] == conn]
    test.assertEqual(len(closes), 1, closes)
    close = closes[0]
    test.assertEqual(close["pid"], pid)
    test.assertEqual({key: close.get(key) for key in expected}, expected)
    test.assertEqual((close["write_bytes"], close["read_bytes"]), (len(sent), len(received)))
    return conn


def wait_for_close(tracer, pid, timeout=30):
    """Waits, while tlstap runs, for a close record of `pid`'s."""
    def closed():
        try:
            return any(r["type"] == "close" and r["pid"] == pid for r in tracer.records())
        except ValueError:  # the line tlstap is writing right now
            return False
    harness.wait_for(closed, timeout, f"a close record of pid {pid}")
