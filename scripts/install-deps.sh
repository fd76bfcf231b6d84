#!/usr/bin/env bash
# Installs everything tlstap needs to build, test and benchmark on Debian 12 (run as root).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
packages=(
  # build
  build-essential cmake pkg-config clang llvm lld libbpf-dev bpftool libelf-dev zlib1g-dev
  libcli11-dev libfmt-dev nlohmann-json3-dev libssl-dev libclang-rt-14-dev clang-format
  # decoding Go functions to find their RET instructions
  libcapstone-dev
  # HPACK (HTTP/2 header compression) for the HTTP/2 view; nginx serves HTTP/2 in its e2e test
  libnghttp2-dev nginx
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  # real TLS peers the e2e tests drive
  openssl curl python3 nodejs util-linux procps
  # wolfSSL and mbedTLS: the e2e tests' own C peers, and lighttpd serving TLS with wolfSSL
  libwolfssl-dev libmbedtls-dev lighttpd lighttpd-mod-wolfssl
  # a JVM (JSSE: TLS tlstap cannot capture and must say so); `java File.java` needs the JDK
  openjdk-17-jdk-headless
  # Go programs (crypto/tls) the Go readers' tests build; binutils' objdump is their oracle
  golang-go binutils
  # NSS: its test programs (tstclnt, selfserv, certutil, pk12util) and the headers the NSS test
  # client in tests/progs is built with
  libnss3-tools libnss3-dev libnspr4-dev
  # GnuTLS peers: gnutls-cli/-serv, wget, git's https helper (libcurl-gnutls), GnuTLS's
  # OpenSSL compatibility library (python loads libgnutls and it through ctypes)
  gnutls-bin wget git libgnutls30 libgnutls-openssl27
  # the pcapng e2e test reads tlstap's captures with Wireshark's dissectors
  tshark
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
