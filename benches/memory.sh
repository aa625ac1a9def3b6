#!/usr/bin/env bash
# Where the server's memory goes, step by step: `didport serve` on a database of 1,000,000
# numbers (BENCH_DB, e.g. the one `BENCH_DB=… cargo bench --bench search` keeps), measured
# from /proc after each step. Needs curl and wrk.
#
#   cargo build --release && BENCH_DB=/tmp/bench.sqlite3 benches/memory.sh [path/to/didport]
set -euo pipefail
BIN="${1:-target/release/didport}"
DB="${BENCH_DB:?set BENCH_DB to a database with the numbers imported}"
PORT="${BENCH_PORT:-18099}"
WORK="$(mktemp -d)"
trap 'kill "$PID" 2>/dev/null || true; rm -rf "$WORK"' EXIT
cp "$DB" "$WORK/db.sqlite3"
DIDPORT_DB="$WORK/db.sqlite3" DIDPORT_LISTEN="127.0.0.1:$PORT" DIDPORT_ADMIN_EMAIL=bench@example.com \
  DIDPORT_SEARCH_RATE_LIMIT=0 DIDPORT_LOG=warn "$BIN" serve 2>"$WORK/log" &
PID=$!
URL="http://127.0.0.1:$PORT"
for _ in $(seq 1 100); do curl -fs "$URL/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
mem() {
  local rss hwm thr
  rss=$(awk '/^VmRSS/ {print $2}' "/proc/$PID/status")
  hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$PID/status")
  thr=$(ls "/proc/$PID/task" | wc -l)
  printf '| %s | %.1f MiB | %.1f MiB | %s |\n' "$1" "$(echo "$rss/1024" | bc -l)" "$(echo "$hwm/1024" | bc -l)" "$thr"
}
echo "| step | resident | peak | threads |"
echo "|---|---|---|---|"
sleep 1
mem "started, idle"
for q in "npa=212" "state=TX" "q=5555&match=contains" "q=1234&match=ends" "q=FLOWERS&match=contains"; do
  wrk -t2 -c16 -d3s "$URL/numbers?$q" >/dev/null
done
mem "after 15 s of searches on 16 connections (page caches warm)"
sleep 5
mem "idle again 5 s later"
# A sign-in on each password thread: their Argon2 working memory (19 MiB each).
CSRF=$(curl -fs -c "$WORK/jar" "$URL/login" | sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' | head -1)
SIGNINS=()
for _ in 1 2 3 4 5 6; do
  curl -s -o /dev/null -b "$WORK/jar" -c "$WORK/jar" --data-urlencode "email=nobody@example.com" \
    --data-urlencode "password=not the password" --data-urlencode "csrf=$CSRF" "$URL/login" &
  SIGNINS+=($!)
done
wait "${SIGNINS[@]}"
mem "after sign-ins on every password thread"
