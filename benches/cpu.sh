#!/usr/bin/env bash
# CPU time per request, the server's and wrk's, for three pages: 4-digit "contains" searches,
# area-code searches and /healthz. Steadier than requests per second on a shared machine:
# it divides the CPU the two processes used by the requests answered.
#
#   BENCH_DB=/tmp/bench.sqlite3 benches/cpu.sh [path/to/didport]
#
# BENCH_DB is a database with the numbers imported (`BENCH_DB=… cargo bench --bench search`
# keeps one). Needs wrk and GNU time.
set -euo pipefail
BIN="${1:-target/release/didport}"
DB="${BENCH_DB:?set BENCH_DB to a database with the numbers imported}"
PORT="${BENCH_PORT:-18098}"
SECONDS_EACH="${BENCH_SECONDS:-4}"
WORK="$(mktemp -d)"
trap 'kill "$PID" 2>/dev/null || true; rm -rf "$WORK"' EXIT
DIDPORT_DB="$DB" DIDPORT_LISTEN="127.0.0.1:$PORT" DIDPORT_ADMIN_EMAIL=bench@example.com \
  DIDPORT_SEARCH_RATE_LIMIT=0 DIDPORT_LOG=info "$BIN" serve 2>"$WORK/log" &
PID=$!
URL="http://127.0.0.1:$PORT"
for _ in $(seq 1 100); do curl -fs "$URL/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
lua() { # lua FILE PATH... : a wrk script that rotates through the paths
  { echo "local paths = {"; for p in "${@:2}"; do echo "  \"$p\","; done
    echo "}"; echo "local i = 0"
    echo "request = function() i = i % #paths + 1; return wrk.format(\"GET\", paths[i]) end"; } >"$1"
}
mapfile -t contains < <(for i in $(seq 1 500); do printf '/numbers?q=%04d&match=contains\n' $(( (i * 7919) % 10000 )); done)
lua "$WORK/contains.lua" "${contains[@]}"
lua "$WORK/npa.lua" /numbers?npa=212 /numbers?npa=415 /numbers?npa=312 /numbers?npa=713 \
  /numbers?npa=305 /numbers?npa=206 /numbers?npa=617 /numbers?npa=404 /numbers?npa=602 /numbers?npa=215
lua "$WORK/healthz.lua" /healthz
ticks() { awk '{print $14 + $15}' "/proc/$PID/stat"; }
hz=$(getconf CLK_TCK)
echo "| page | req/s | server CPU per request | wrk CPU per request |"
echo "|---|---|---|---|"
for page in contains npa healthz; do
  wrk -t2 -c16 -d1s -s "$WORK/$page.lua" "$URL" >/dev/null   # warm
  before=$(ticks)
  out=$( { /usr/bin/time -f '%U %S' wrk -t2 -c16 -d"${SECONDS_EACH}s" -s "$WORK/$page.lua" "$URL"; } 2>&1 )
  after=$(ticks)
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  read -r wu ws <<<"$(echo "$out" | tail -1)"
  awk -v p="$page" -v r="$rps" -v s="$SECONDS_EACH" -v t=$((after - before)) -v hz="$hz" -v wu="$wu" -v ws="$ws" \
    'BEGIN { n = r * s; printf "| %s | %.0f | %.1f µs | %.1f µs |\n", p, r, t / hz / n * 1e6, (wu + ws) / n * 1e6 }'
done
