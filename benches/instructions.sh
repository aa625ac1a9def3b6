#!/usr/bin/env bash
# Instructions the server executes per request (valgrind's callgrind), for area-code searches,
# 4-digit "contains" searches and /healthz: exact and repeatable where timings on a shared
# machine are not, so a small change can be measured. System calls are not counted, and a
# large memcpy counts one instruction a byte (`rep movsb`), so read differences, not totals.
#
#   BENCH_DB=/tmp/bench.sqlite3 benches/instructions.sh [path/to/didport]
#
# Needs valgrind and curl. Leaves callgrind.out.* in a temporary folder it names, for
# `callgrind_annotate --inclusive=yes` (where the instructions went).
set -euo pipefail
BIN="${1:-target/release/didport}"
DB="${BENCH_DB:?set BENCH_DB to a database with the numbers imported}"
PORT="${BENCH_PORT:-18097}"
ROUNDS="${BENCH_ROUNDS:-20}"
WORK="$(mktemp -d)"
URL="http://127.0.0.1:$PORT"
measure() { # measure NAME PATH... : instructions per request over ROUNDS rounds of the paths
  local name=$1; shift
  DIDPORT_DB="$DB" DIDPORT_LISTEN="127.0.0.1:$PORT" DIDPORT_ADMIN_EMAIL=bench@example.com \
    DIDPORT_SEARCH_RATE_LIMIT=0 DIDPORT_LOG=info \
    valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$WORK/callgrind.out.$name" \
    "$BIN" serve 2>"$WORK/log.$name" &
  local pid=$!
  for _ in $(seq 1 300); do curl -fs "$URL/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
  for p in "$@"; do curl -fs "$URL$p" >/dev/null; done   # warm: statements, caches
  callgrind_control -i on "$pid" >/dev/null 2>&1
  for _ in $(seq 1 "$ROUNDS"); do for p in "$@"; do curl -fs "$URL$p" >/dev/null; done; done
  callgrind_control -i off "$pid" >/dev/null 2>&1
  callgrind_control -d "$pid" >/dev/null 2>&1
  kill "$pid"; wait "$pid" 2>/dev/null || true
  local n=$(( ROUNDS * $# ))
  local total
  total=$(cat "$WORK"/callgrind.out."$name"* | awk '/^totals:/ {s += $2} END {print s}')
  printf '| %s | %d | %d |\n' "$name" "$n" $(( total / n ))
}
echo "| page | requests | instructions per request |"
echo "|---|---|---|"
measure npa /numbers?npa=212 /numbers?npa=415 /numbers?npa=312 /numbers?npa=713 /numbers?npa=305
measure contains '/numbers?q=4567&match=contains' '/numbers?q=0918&match=contains' \
  '/numbers?q=3301&match=contains' '/numbers?q=7720&match=contains' '/numbers?q=5142&match=contains'
measure healthz /healthz /healthz /healthz /healthz /healthz
echo "profiles: $WORK"
