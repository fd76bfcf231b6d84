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
openssl s_server -accept "$port" -cert "$work/cert.pem" -key "$work/key.pem" -www -quiet \
  >/dev/null 2>&1 &
sleep 0.5
echo "== tlstap -- curl -sk https://127.0.0.1:$port/  (both sides are traced: s_server too)"
# Trace everything on the machine for 3 seconds while curl makes one request.
(sleep 1; curl -sk "https://127.0.0.1:$port/" -o /dev/null) &
./build/tlstap --duration 3 --max-bytes 600
