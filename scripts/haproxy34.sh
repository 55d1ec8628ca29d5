#!/usr/bin/env bash
# Builds a runnable HAProxy 3.4 (Debian experimental's package) for this Debian 12 machine, the way
# scripts/haproxy3.sh builds unstable's 3.2, under $HAPROXY34_DIR (default .cache/haproxy34).
# 3.4 is the first line that adds backends at runtime (docs/haproxy-runtime-backends.md); the tests
# run against it with HAPROXY_BIN=<printed path>. Prints the binary's path last, and fails when
# experimental no longer holds the 3.4 line (the suite would silently test something else).
set -euo pipefail
cd "$(dirname "$0")/.."
bin="$(HAPROXY3_DIR="${HAPROXY34_DIR:-$PWD/.cache/haproxy34}" HAPROXY3_SUITE=experimental bash scripts/haproxy3.sh)"
version="$("$bin" -v | sed -n 1p)"
case "$version" in
  "HAProxy version 3.4."*) ;;
  *) echo "haproxy34.sh: Debian experimental's haproxy is '$version', not 3.4: pin the tests to another source of 3.4" >&2; exit 1 ;;
esac
echo "$bin"
