#!/usr/bin/env bash
# Regenerates the pinned vmlinux.h from the running kernel's BTF.
# The header is pinned (committed) so builds do not depend on the build machine's kernel;
# CO-RE relocations make the compiled program work on other kernels with BTF.
set -euo pipefail
arch=$(uname -m)
out="$(dirname "$0")/../bpf/vmlinux/${arch}/vmlinux.h"
mkdir -p "$(dirname "$out")"
bpftool btf dump file /sys/kernel/btf/vmlinux format c > "$out.tmp"
mv "$out.tmp" "$out"
echo "wrote $out"
