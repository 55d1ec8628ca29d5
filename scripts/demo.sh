#!/usr/bin/env bash
# Local demo: the mock Cloud Map (fixtures/demo.json), eight sample backends, and the agent with a
# real HAProxy. Installs what is missing (haproxy via apt-get, npm packages). Any way of stopping it
# stops everything it started: Ctrl-C, SIGTERM (to it or to `npm run demo`), SIGHUP, and even
# SIGKILL of this shell or its parent (a watchdog process then stops the rest).
#   scripts/demo.sh            run until Ctrl-C
#   scripts/demo.sh --check    start, send requests through HAProxy, stop (used by the tests)
# Ports (settings): LISTEN_PORT (8080, HAProxy), HEALTH_PORT (3000, the agent's endpoints),
# MOCK_PORT (4566, the mock Cloud Map), BACKEND_PORT_BASE (9001: the sample backends use it and
# the next 7). Nothing is printed as ready unless the agent answers /readyz; any failure stops
# the demo with its cause and a non-zero exit.
set -euo pipefail
cd "$(dirname "$0")/.."

LISTEN_PORT="${LISTEN_PORT:-8080}"
HEALTH_PORT="${HEALTH_PORT:-3000}"
MOCK_PORT="${MOCK_PORT:-4566}"
BACKEND_PORT_BASE="${BACKEND_PORT_BASE:-9001}"
RUN_DIR="${RUN_DIR:-$PWD/.run/demo}"

fail() {
  echo "demo failed: $*" >&2
  exit 1
}

if ! command -v haproxy >/dev/null 2>&1; then
  echo "installing haproxy (apt-get)..."
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq haproxy >/dev/null
  else sudo apt-get update -qq && sudo apt-get install -y -qq haproxy >/dev/null; fi
fi
. scripts/ensure-node.sh
[ -x node_modules/.bin/bun ] || npm ci --no-audit --no-fund
BUN=node_modules/.bin/bun

# Something already listening on 127.0.0.1:<port>?
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for setting in "LISTEN_PORT=$LISTEN_PORT" "HEALTH_PORT=$HEALTH_PORT" "MOCK_PORT=$MOCK_PORT"; do
  listening "${setting#*=}" && fail "port ${setting#*=} is in use (${setting%%=*}): stop what listens there, or run with ${setting%%=*}=<a free port>"
done
for i in 0 1 2 3 4 5 6 7; do
  port=$((BACKEND_PORT_BASE + i))
  listening "$port" && fail "port $port is in use (a sample backend, BACKEND_PORT_BASE=$BACKEND_PORT_BASE uses it and the next 7): run with BACKEND_PORT_BASE=<another base>"
done
p() { echo $((BACKEND_PORT_BASE + $1)); }

mkdir -p "$RUN_DIR"
CONFIG_DIR="$RUN_DIR/haproxy"
pids=()
# Stops the processes in "$@" (TERM, then KILL after 10 s) and the HAProxy the agent started (its
# pid file), in case the agent could not stop it. Works from the watchdog too (no `wait`: they
# are not its children).
stop_all() {
  local pid alive
  for pid in "$@"; do kill "$pid" 2>/dev/null || true; done
  for _ in $(seq 1 50); do
    alive=0
    for pid in "$@"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.2
  done
  for pid in "$@"; do kill -9 "$pid" 2>/dev/null || true; done
  pid="$(cat "$CONFIG_DIR/haproxy.pid" 2>/dev/null || true)"
  [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
}
cleanup() {
  trap - EXIT INT TERM HUP
  # The watchdog ignores TERM (it must outlive this shell): stop it for good.
  [ -n "${watchdog:-}" ] && kill -KILL "$watchdog" 2>/dev/null
  stop_all "${pids[@]}"
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM
trap 'cleanup; exit 129' HUP

# The demo fixture with its ports moved to BACKEND_PORT_BASE.
"$BUN" -e '
const fs = require("node:fs")
const fixture = JSON.parse(fs.readFileSync("fixtures/demo.json", "utf8"))
const offset = Number(process.argv[1]) - 9001
for (const ns of fixture.namespaces) for (const s of ns.services) for (const i of s.instances) {
  i.attributes.AWS_INSTANCE_PORT = String(Number(i.attributes.AWS_INSTANCE_PORT) + offset)
}
fs.writeFileSync(process.argv[2], JSON.stringify(fixture, null, 2))
' "$BACKEND_PORT_BASE" "$RUN_DIR/fixture.json"

"$BUN" scripts/sample-backends.ts web-1="$(p 0)" web-2="$(p 1)" api-1="$(p 2)" api-2="$(p 3)" admin-1="$(p 4)" \
  web-3="$(p 5)" shop-1="$(p 6)" shop-2="$(p 7)":sick >"$RUN_DIR/backends.log" 2>&1 &
pids+=($!)
"$BUN" src/main.ts mock-cloudmap --port "$MOCK_PORT" --fixture "$RUN_DIR/fixture.json" >"$RUN_DIR/mock.log" 2>&1 &
mock=$!
pids+=($mock)
for _ in $(seq 1 50); do
  listening "$MOCK_PORT" && break
  kill -0 "$mock" 2>/dev/null || fail "the mock Cloud Map stopped: $(tail -5 "$RUN_DIR/mock.log")"
  sleep 0.2
done
listening "$MOCK_PORT" || fail "the mock Cloud Map did not listen on MOCK_PORT=$MOCK_PORT within 10 s (log: $RUN_DIR/mock.log)"

export AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo
export AWS_ENDPOINT_URL_SERVICEDISCOVERY="http://127.0.0.1:$MOCK_PORT"
export NAMESPACE_MAP='[{"namespace":"apps","domainname":"apps.localhost","mode":"host"},{"namespace":"apps","domainname":"localhost","mode":"path"}]'
export STATS_PASSWD="${STATS_PASSWD:-demo-stats}" PROM_PASSWD="${PROM_PASSWD:-demo-metrics}"
export CONFIG_DIR LISTEN_ADDRESS=127.0.0.1 LISTEN_PORT HEALTH_PORT
# The sample backends listen on loopback, which the agent refuses to route to unless admitted.
export ALLOW_INSTANCE_NETWORKS=127.0.0.0/8
# Stopping the demo stops the agent, which lets HAProxy drain this long first.
export DRAIN_SECONDS="${DRAIN_SECONDS:-1}"
# Changes are found through Cloud Map's operations (the change feed) every second; revision polling
# (REVISION_POLL_RATE) only runs if the feed is unavailable.
export CHANGE_FEED_RATE="${CHANGE_FEED_RATE:-1}" REVISION_POLL_RATE="${REVISION_POLL_RATE:-1}"
# Zone affinity: the agent's zone comes from the mock's ECS task metadata stub (us-east-1a).
export ZONE_AFFINITY=true ZONE_AFFINITY_MIN_HEALTHY=1
export ECS_CONTAINER_METADATA_URI_V4="http://127.0.0.1:$MOCK_PORT/task-metadata"
"$BUN" src/main.ts run >"$RUN_DIR/agent.log" 2>&1 &
agent=$!
pids+=($agent)

# The watchdog: if this shell or its parent (npm) goes away without running its traps (SIGKILL,
# or npm killed without passing the signal on), it stops what the demo started.
# It runs in a session of its own: npm stops its script's whole process group when the script dies.
export -f stop_all
export CONFIG_DIR
setsid bash -c '
  trap "" INT TERM HUP
  demo=$1 parent=$2
  shift 2
  while kill -0 "$demo" 2>/dev/null && kill -0 "$parent" 2>/dev/null; do sleep 0.5; done
  kill "$demo" 2>/dev/null
  stop_all "$@"
' demo-watchdog "$$" "$PPID" "${pids[@]}" </dev/null >/dev/null 2>&1 &
watchdog=$!

ready=0
for _ in $(seq 1 150); do
  if curl -fs "http://127.0.0.1:$HEALTH_PORT/readyz" >/dev/null 2>&1; then ready=1; break; fi
  kill -0 "$agent" 2>/dev/null || fail "the agent stopped: $(tail -5 "$RUN_DIR/agent.log")"
  sleep 0.2
done
if [ "$ready" = 0 ]; then
  why="$(curl -s "http://127.0.0.1:$HEALTH_PORT/readyz" 2>&1 || true)"
  fail "the agent is not ready after 30 s: ${why:-no answer on HEALTH_PORT=$HEALTH_PORT}; last log lines: $(tail -5 "$RUN_DIR/agent.log")"
fi

if [ "${1:-}" = "--check" ]; then
  curl -fsS -H "Host: web.apps.localhost" "http://127.0.0.1:$LISTEN_PORT/"
  curl -fsS "http://127.0.0.1:$LISTEN_PORT/api/hello" -H "Host: localhost"
  # shop-2 answers 500 on /healthz: once its HTTP check fails (1 s apart, 3 failures) only shop-1 answers.
  for _ in $(seq 1 80); do
    sick=0
    for _ in 1 2 3 4; do curl -fsS -H "Host: shop.apps.localhost" "http://127.0.0.1:$LISTEN_PORT/" | grep -q shop-2 && sick=1; done
    [ "$sick" = 0 ] && break
    sleep 0.25
  done
  [ "$sick" = 0 ] || fail "shop-2 still served despite its failing HTTP health check"
  echo "shop: only shop-1 served (HTTP health check)"
  feed="$(curl -fsS "http://127.0.0.1:$HEALTH_PORT/status" | tr -d ' \n' | grep -o '"changeFeed":{"state":"[a-z]*"' || true)"
  [ "$feed" = '"changeFeed":{"state":"active"' ] || fail "the change feed is not active: ${feed:-no changeFeed in /status}"
  echo "change feed: active"
  for _ in 1 2 3 4; do curl -fsS -H "Host: web.apps.localhost" "http://127.0.0.1:$LISTEN_PORT/"; done | sort | uniq -c
  # The story the demo tells: web-3, registered in the agent's zone, serves next to web-1.
  AWS_ENDPOINT_URL_SERVICEDISCOVERY="http://127.0.0.1:$MOCK_PORT" "$BUN" scripts/cloudmap.ts register apps web web-3 127.0.0.1 "$(p 5)" us-east-1a
  served=""
  for _ in $(seq 1 40); do
    served="$(for _ in 1 2 3 4 5 6; do curl -fsS -H "Host: web.apps.localhost" "http://127.0.0.1:$LISTEN_PORT/"; done | grep -o 'web-[0-9]' | sort -u | tr '\n' ' ')"
    [ "$served" = "web-1 web-3 " ] && break
    sleep 0.25
  done
  [ "$served" = "web-1 web-3 " ] || fail "after registering web-3 in us-east-1a, web is served by: ${served:-nothing} (expected web-1 and web-3)"
  echo "web-3: registered in the agent's zone, served next to web-1"
  echo "demo OK"
  exit 0
fi

endpoint=""
[ "$MOCK_PORT" = 4566 ] || endpoint="AWS_ENDPOINT_URL_SERVICEDISCOVERY=http://127.0.0.1:$MOCK_PORT "
cat <<MSG

cloudmap-haproxy demo is running (logs in $RUN_DIR). Try:

  curl -H 'Host: web.apps.localhost' http://127.0.0.1:$LISTEN_PORT/        # host mode; zone affinity: web-1 (us-east-1a,
                                                                          # the agent's zone), web-2 (us-east-1b) is backup
  curl -H 'Host: shop.apps.localhost' http://127.0.0.1:$LISTEN_PORT/       # shop-1 only: shop-2 fails its HTTP health
                                                                          # check (service attribute haproxy.check=http)
  curl http://127.0.0.1:$LISTEN_PORT/api/users -H 'Host: localhost'        # path mode, prefix stripped
  curl -H 'Host: admin.apps.localhost' http://127.0.0.1:$LISTEN_PORT/      # SRV-style name _admin._tcp
  curl -u stats_user:$STATS_PASSWD http://127.0.0.1:$LISTEN_PORT/stats     # HAProxy stats page
  curl -u stats:$PROM_PASSWD http://127.0.0.1:$LISTEN_PORT/metrics         # HAProxy Prometheus metrics
  curl http://127.0.0.1:$HEALTH_PORT/status                               # routes, instances, quarantine
  curl http://127.0.0.1:$HEALTH_PORT/metrics                              # the agent's own metrics

Change Cloud Map while it runs (seen through Cloud Map's operations and applied within ~1 s, without
an HAProxy reload):

  ${endpoint}$BUN scripts/cloudmap.ts register apps web web-3 127.0.0.1 $(p 5) us-east-1a   # web-3 serves next to web-1
  ${endpoint}$BUN scripts/cloudmap.ts deregister apps web web-1                      # web-3 alone (still the agent's zone)
  ${endpoint}$BUN scripts/cloudmap.ts deregister apps web web-3                      # web fails over to web-2 (us-east-1b)
  ${endpoint}$BUN scripts/cloudmap.ts list apps

Press Ctrl-C (or kill this process, or the npm running it) to stop everything.
MSG
wait "$agent"
