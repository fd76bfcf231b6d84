#!/usr/bin/env bash
# Installs dependencies, builds, and runs the whole test suite: unit tests, e2e tests with
# real BPF against real TLS peers (label bpf), fuzz smoke runs and benchmark smoke runs.
# Set TLSTAP_REQUIRE_BPF=1 to make e2e tests that cannot load BPF fail instead of skip.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
cd "${BUILD_DIR:-build}"
ctest --output-on-failure --timeout 600 "$@"
