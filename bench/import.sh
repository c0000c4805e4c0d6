#!/usr/bin/env bash
# Import benchmark: GitHub's REST description (13 MB, from the import corpus) imported
# end to end through `standin import` into a running release server, and mock traffic
# measured beside an import loop.
#
#   bench/import.sh [RUNS]      # default 5
#
# 1. RUNS imports into new services (each creates 1,223 routes and commits them): the
#    median wall time of one `standin import`.
# 2. wrk on the demo route for 10 s alone, then 10 s beside a loop of imports (server on
#    CPU 0, wrk and the imports on CPU 1): req/s and p99 of each.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
runs=${1:-5}
bin=$root/target/release/standin
doc=$root/target/corpus/node_modules/@octokit/openapi/generated/api.github.com.json
(cd "$root" && cargo build --release -p standin)
[[ -f $doc ]] || "$root/crates/import/corpus.sh" --install
command -v wrk >/dev/null || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk; }
data=$(mktemp -d)
mock=18082 admin=19092
taskset -c 0 "$bin" serve --data-dir "$data/d" --mock-addr 127.0.0.1:$mock --admin-addr 127.0.0.1:$admin \
  --log warn --demo >"$data/log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 1 100); do curl -sf -o /dev/null "127.0.0.1:$admin/api/v1/health" && break; sleep 0.2; done
import_one() { "$bin" import "$doc" --service "gh/r$1" --admin "http://127.0.0.1:$admin" >/dev/null 2>&1; }

times=()
for i in $(seq 1 "$runs"); do
  start=$(date +%s%N)
  import_one "t$i"
  times+=($(( ($(date +%s%N) - start) / 1000000 )))
done
median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
echo "GitHub import (1,223 routes, commit included): median ${median} ms of ${runs} runs (${times[*]} ms)"

url="http://127.0.0.1:$mock/demo/petstore/pets"
wrk_line() { taskset -c 1 wrk -t1 -c8 -d10s --latency "$url" | awk '/Requests\/sec/ {r=$2} / 99%/ {p=$2} END {print r " req/s, p99 " p}'; }
echo "mock traffic alone:          $(wrk_line)"
(
  end=$(( $(date +%s) + 11 ))
  n=0
  while [ "$(date +%s)" -lt "$end" ]; do import_one "l$n"; n=$((n + 1)); done
  echo "$n" >"$data/imports"
) &
loop=$!
sleep 0.5
echo "mock traffic beside imports: $(wrk_line)"
wait $loop
echo "imports finished during that run: $(cat "$data/imports")"
