#!/usr/bin/env bash
# Builds a runnable HAProxy 3.x for this Debian 12 machine, next to the system's 2.6, so the tests
# can also run against the 3.x lines (HAPROXY_BIN=<printed path>).
# Debian unstable's haproxy (3.2; or experimental's with HAPROXY3_SUITE=experimental, which
# scripts/haproxy34.sh sets) and the libraries it needs newer versions of are downloaded with a
# private apt configuration (nothing in /etc/apt changes, nothing is installed system-wide except
# patchelf), extracted under $HAPROXY3_DIR (default .cache/haproxy3) and the binary is pointed at
# them with patchelf (so master-worker reloads can re-execute it). Prints the binary's path last.
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${HAPROXY3_DIR:-$PWD/.cache/haproxy3}"
suite="${HAPROXY3_SUITE:-sid}"
case "$suite" in
  sid) haproxy_pkg=haproxy ;;
  experimental) haproxy_pkg=haproxy/experimental ;;
  *) echo "haproxy3.sh: HAPROXY3_SUITE must be sid or experimental, not $suite" >&2; exit 1 ;;
esac
bin="$dir/bin/haproxy"
if [ -x "$bin" ] && "$bin" -v >/dev/null 2>&1; then
  "$bin" -v | sed -n 1p >&2
  echo "$bin"
  exit 0
fi
# Only a directory this script made (or an empty one) is wiped.
if [ -d "$dir" ] && [ -n "$(ls -A "$dir")" ] && [ ! -f "$dir/.haproxy3" ]; then
  echo "haproxy3.sh: $dir exists and was not made by this script; choose another HAPROXY3_DIR" >&2
  exit 1
fi
rm -rf "$dir"
mkdir -p "$dir"/{lists/partial,archives/partial,root,bin}
touch "$dir/.haproxy3"
case "$(uname -m)" in
  x86_64) triplet=x86_64-linux-gnu loader=ld-linux-x86-64.so.2 ;;
  aarch64) triplet=aarch64-linux-gnu loader=ld-linux-aarch64.so.1 ;;
  *) echo "haproxy3.sh: unsupported machine $(uname -m)" >&2; exit 1 ;;
esac
echo "deb http://deb.debian.org/debian sid main" > "$dir/sources.list"
# experimental holds only the packages newer than sid's; the libraries still come from sid.
[ "$suite" = sid ] || echo "deb http://deb.debian.org/debian experimental main" >> "$dir/sources.list"
touch "$dir/status"
apt_opts=(
  -o "Dir::Etc::sourcelist=$dir/sources.list" -o "Dir::Etc::sourceparts=-"
  -o "Dir::State::Lists=$dir/lists" -o "Dir::Cache::Archives=$dir/archives"
  -o "Dir::State::status=$dir/status" -o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache="
)
apt-get -q "${apt_opts[@]}" update >&2
(cd "$dir/archives" && apt-get -q "${apt_opts[@]}" download "$haproxy_pkg" libc6 libcrypt1 libjemalloc2 liblua5.4-0 \
  libopentracing-c-wrapper0t64 libopentracing1 libpcre2-8-0 libssl3t64 libstdc++6 libgcc-s1 libzstd1 zlib1g >&2)
for deb in "$dir"/archives/*.deb; do dpkg-deb -x "$deb" "$dir/root"; done
command -v patchelf >/dev/null 2>&1 || { apt-get update >&2 && apt-get install -y --no-install-recommends patchelf >&2; }
libs="$dir/root/usr/lib/$triplet"
cp "$dir/root/usr/sbin/haproxy" "$bin"
patchelf --set-interpreter "$libs/$loader" --force-rpath --set-rpath "$libs" "$bin"
if ldd "$bin" 2>&1 | grep -q "not found"; then
  ldd "$bin" >&2
  echo "haproxy3.sh: a library of Debian $suite's haproxy is missing from the download list above" >&2
  exit 1
fi
"$bin" -v | sed -n 1p >&2
echo "$bin"
