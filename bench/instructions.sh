#!/usr/bin/env bash
# Instructions per request on the serving path, counted by valgrind's callgrind: exact and
# repeatable, where req/s on a shared machine drifts by a third between identical runs.
#
#   bench/instructions.sh [BINARY] [N] [standin flags...]
#   bench/instructions.sh target/release/standin 2000 --journal-capacity 0
#   STANDIN_STUBS=bench/load-templated.sh bench/instructions.sh   # a templated answer
#
# Runs the binary under callgrind twice, once with no request and once with N sequential
# `GET /api/hello` on one keep-alive connection (the stub of bench/load-stubs.sh), and
# prints (instructions with N) - (instructions with none), divided by N.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=${1:-$root/target/release/standin}
n=${2:-2000}
shift $(( $# > 2 ? 2 : $# ))
command -v valgrind >/dev/null || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q valgrind; }
count() { # requests [standin flags...] -> total instructions
  local requests=$1 port=18400 data out pid
  shift
  data=$(mktemp -d) out=$(mktemp)
  valgrind --tool=callgrind --callgrind-out-file="$out" "$bin" serve --data-dir "$data" \
    --mock-addr 127.0.0.1:$port --admin-addr 127.0.0.1:$((port + 1000)) --workers 1 --log warn "$@" \
    >/dev/null 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do
    curl -s -o /dev/null "127.0.0.1:$((port + 1000))/api/v1/health" && break
    sleep 0.5
  done
  "${STANDIN_STUBS:-$root/bench/load-stubs.sh}" $port 1
  python3 - $port "$requests" <<'PY'
import http.client, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
c = http.client.HTTPConnection("127.0.0.1", port)
for _ in range(n):
    c.request("GET", "/api/hello"); r = c.getresponse(); r.read(); assert r.status == 200
PY
  sleep 1
  kill -INT $pid
  wait $pid 2>/dev/null || true
  grep -E "^(summary|totals):" "$out" | head -1 | awk '{print $2}'
  rm -rf "$data" "$out"
}
base=$(count 0 "$@")
with=$(count "$n" "$@")
echo "instructions per request: $(( (with - base) / n ))  ($n requests; $with - $base)"
