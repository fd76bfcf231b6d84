#!/usr/bin/env bash
# Sets everything up on a fresh Debian 12 machine (as root), then shows tlstap at work:
# a local HTTPS server (openssl s_server) and a curl client, traced, their plaintext shown.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/key.pem" -out "$work/cert.pem" \
  -days 1 -subj /CN=localhost 2>/dev/null
port=$((20000 + RANDOM % 20000))
echo "hello from tlstap's demo: this line travelled encrypted" > "$work/hello.txt"
/usr/bin/python3 tests/progs/https_server.py "$port" "$work/cert.pem" "$work/key.pem" "$work" \
  >/dev/null 2>&1 &
sleep 0.7
echo "== tlstap traces every process for 3 s while curl fetches https://127.0.0.1:$port/hello.txt"
echo "== from a python3 HTTPS server: both sides' plaintext is shown"
(sleep 1; curl -sk "https://127.0.0.1:$port/hello.txt" -o /dev/null) &
./build/tlstap --duration 3
