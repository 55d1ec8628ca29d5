# Sourced by scripts/demo.sh and .ci/run: makes sure `node` (and so `npm`, whose launcher runs
# the `node` on PATH) is at least the version package.json's engines names (22.19: what
# @effect/platform-node and vitest need). An older system Node (Debian 12 ships 18; many images
# 20) is left alone: Node 22 is installed from the npm registry into a cache directory of its own
# (the `node` package carries the binary) and put first on PATH for this shell only.
node_ok() { node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 22 || (a === 22 && b >= 19) ? 0 : 1)' 2>/dev/null; }
if ! node_ok; then
  node22="${CLOUDMAP_HAPROXY_NODE_DIR:-$HOME/.cache/cloudmap-haproxy/node22}"
  if [ ! -x "$node22/node_modules/.bin/node" ]; then
    echo "Node.js $(node --version 2>/dev/null || echo missing) is older than 22.19: installing Node.js 22 from the npm registry into $node22"
    npm install --prefix "$node22" --no-audit --no-fund --loglevel=error node@22 >/dev/null
  fi
  export PATH="$node22/node_modules/.bin:$PATH"
  hash -r
  node_ok || { echo "could not get Node.js 22.19 or newer (node --version: $(node --version))" >&2; exit 1; }
fi
