#!/usr/bin/env bash
# `npm test`: the suite, on a fresh machine too. Installs what is missing first: Node.js 22.19+
# (scripts/ensure-node.sh), the npm packages (npm ci), and Debian's haproxy, chromium (the status
# page test) and prometheus (promtool) with apt-get as root (sudo otherwise). Arguments go to
# vitest (`npm test -- --reporter=json ...`).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/ensure-node.sh
missing=()
command -v haproxy >/dev/null 2>&1 || missing+=(haproxy)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing with apt-get: ${missing[*]}"
  sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  DEBIAN_FRONTEND=noninteractive $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
[ -x node_modules/.bin/vitest ] || npm ci --no-audit --no-fund
exec node_modules/.bin/vitest run "$@"
