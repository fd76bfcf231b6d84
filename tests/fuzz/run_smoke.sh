#!/usr/bin/env bash
# Builds the libFuzzer targets in their own clang build directory (sanitizers, coverage)
# and runs their ctest smoke runs. Registered as one test of the main build so that the
# README's single test command covers the fuzzers too.
set -euo pipefail
source_dir=$1
build_dir=$2
CC=clang CXX=clang++ cmake -S "$source_dir" -B "$build_dir" -DTLSTAP_BUILD_FUZZERS=ON \
  -DTLSTAP_BUILD_BENCH=OFF >/dev/null
cmake --build "$build_dir" --target fuzzers -j"$(nproc)"
ctest --test-dir "$build_dir" -L fuzz --output-on-failure
