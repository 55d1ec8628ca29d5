#!/usr/bin/env bash
# Builds a runnable HAProxy 3.4 (Debian experimental's package) for this Debian 12 machine, the way
# scripts/haproxy3.sh builds unstable's 3.2, under $HAPROXY34_DIR (default .cache/haproxy34).
# 3.4 is the first line that adds backends at runtime (docs/haproxy-runtime-backends.md); the tests
# run against it with HAPROXY_BIN=<printed path>. Prints the binary's path last.
set -euo pipefail
cd "$(dirname "$0")/.."
HAPROXY3_DIR="${HAPROXY34_DIR:-$PWD/.cache/haproxy34}" HAPROXY3_SUITE=experimental exec bash scripts/haproxy3.sh
