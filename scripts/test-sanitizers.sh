#!/usr/bin/env bash
# The sanitizer step of CI: tlstap and its unit tests built with AddressSanitizer and
# UndefinedBehaviorSanitizer (build-asan/, or $BUILD_DIR), then the unit suite and a chosen
# part of the e2e suite run against the sanitized tlstap (ctest hands the e2e harness this
# build's binary as TLSTAP_BIN). Any report stops the program (halt_on_error) and fails the test.
#
# Which e2e tests: the whole e2e suite under ASan would take CI over its 30 minutes, so the
# ones whose traffic goes through the most user-space parsing of traced data and of files:
#   test_connections  connection tracking, /proc/PID/fd and /proc/PID/net parsing, close records
#   test_midstream    calls in flight at attach, half-seen connections, reassembly edge cases
#   test_go           Go function tables (.gopclntab), buildinfo, RET-instruction decoding
#   test_memory_bio   memory-BIO binding of TLS objects to connections (python asyncio)
#   test_loss         the ring buffer overflowing: lost records, truncated calls, reassembly
#   test_discovery    /proc/PID/maps, ELF symbol tables, libraries loaded later
#   test_least_privilege  the capability drop (the sanitizer runtime must not add threads)
#   test_http, test_http2  the HTTP/1.x and HTTP/2 parsers (HPACK through nghttp2) on real traffic
#   test_pcapng       the pcapng writer and TCP synthesizer, read back by tshark
#   test_redact       the --redact sink and its HTTP/1 and HTTP/2 (HPACK) redactors
# test_cli and test_faults (options and fault paths, little parsing of traced data) left the
# list when the whole CI run reached 31 minutes; they run in the main suite.
# Set SANITIZER_E2E to a ctest regex to choose others (e.g. SANITIZER_E2E=. for all).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build-asan}
started=$(date +%s)
# Benchmarks are not run here; -O1 keeps the sanitized code close to what runs in production
# while staying debuggable.
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" \
  -DTLSTAP_SANITIZE="address;undefined" -DTLSTAP_BUILD_BENCH=OFF >/dev/null
cmake --build "$build_dir" -j"$(nproc)"
built=$(date +%s)
echo "test-sanitizers: build took $((built - started)) s"

export ASAN_OPTIONS=halt_on_error=1:abort_on_error=0:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
e2e=${SANITIZER_E2E:-'^e2e_test_(connections|midstream|go|memory_bio|loss|discovery|least_privilege|http|http2|pcapng|redact)$'}
cd "$build_dir"
ctest --output-on-failure --timeout 600 -L unit
# TLSTAP_E2E_LOCK: a lock file shared with other tracers on a development machine (e2e tests
# running at the same time disturb each other).
# As in .ci/run: a failing e2e test is run once more; its first failure stays in the log.
${TLSTAP_E2E_LOCK:+flock "$TLSTAP_E2E_LOCK"} ctest --output-on-failure --timeout 600 \
  --repeat until-pass:2 -L bpf -R "$e2e"
echo "test-sanitizers: build $((built - started)) s, tests $(($(date +%s) - built)) s"
