#!/bin/bash
# HAProxy wrapper for fault-injection tests, used as HAPROXY_BIN. The master CLI reload re-executes
# argv[0], so `exec -a` keeps reloads going through this script too. Controlled by files in
# $FAULT_DIR:
#   fail-check       `haproxy -c` fails with an ALERT (a candidate the validator rejects)
#   extra.cfg        appended with -f to every start/reload (not to -c): e.g. a bind on a taken
#                    port, so the reload fails after validation passed
real="${REAL_HAPROXY:-$(command -v haproxy)}"
if [[ " $* " == *" -c "* ]]; then
  if [ -e "$FAULT_DIR/fail-check" ]; then
    echo "[ALERT]    (0) : config : injected validation failure for the test" >&2
    exit 1
  fi
  exec "$real" "$@"
fi
# A reload re-executes the master with its previous arguments: drop an earlier injection first.
args=()
while [ $# -gt 0 ]; do
  if [ "$1" = "-f" ] && [ "${2:-}" = "$FAULT_DIR/extra.cfg" ]; then shift 2; continue; fi
  args+=("$1"); shift
done
if [ -e "$FAULT_DIR/extra.cfg" ]; then
  exec -a "$0" "$real" "${args[@]}" -f "$FAULT_DIR/extra.cfg"
fi
exec -a "$0" "$real" "${args[@]}"
