#!/usr/bin/env bash
# End-to-end load test: the release standin binary under wrk, next to a bare hyper server
# (the limit), through the shared harness in ../shared/bench (server pinned to CPU 0, wrk
# to CPU 1, 127.0.0.1 only, every run bounded in time).
#
#   bench/load.sh                       # hello-hyper, standin, standin with the journal off
#   bench/load.sh hello-hyper standin wiremock   # any harness targets (peers need
#                                                # ../shared/bench/install.sh first)
#
# Results are written to bench/results/ and printed.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
shared=${SHARED_BENCH:-$root/../shared/bench}
[[ -x $shared/run.sh ]] || { echo "the shared harness is missing at $shared" >&2; exit 1; }
command -v wrk >/dev/null || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk; }
(cd "$root" && cargo build --release -p standin)
hh=$shared/hello-hyper
if [[ ! -x $hh/target/release/hello-hyper ]]; then
  (cd "$hh" && cargo build --release -q)
fi
mkdir -p "$root/bench/results"
targets=("$@")
((${#targets[@]})) || targets=(hello-hyper standin)
export STANDIN_CMD="$root/bench/standin-under-test.sh {port}"
export STANDIN_SETUP="$root/bench/load-stubs.sh"
export STANDIN_VERSION="$(git -C "$root" rev-parse --short HEAD)"
export OUT_DIR="$root/bench/results"
STANDIN_NAME=standin "$shared/run.sh" "${targets[@]}"
# The same binary with the journal off: what a load-test replica would run.
if [[ $# -eq 0 ]]; then
  STANDIN_NAME=standin-nojournal STANDIN_FLAGS="--journal-capacity 0" "$shared/run.sh" standin
  # MockServer users: 10,000 expectations loaded through PUT /mockserver/expectation, the
  # last one hit (each plain path is a case-insensitive regex route, found by its prefix).
  STANDIN_NAME=standin-mockserver STANDIN_SETUP="$root/bench/load-expectations.sh" ITEMS=10000 \
    "$shared/run.sh" standin
fi
# Metrics off (no per-request counting, no /metrics): what metrics cost.
if [[ $# -eq 0 || -n ${STANDIN_OPS:-} ]]; then
  STANDIN_NAME=standin-nometrics STANDIN_FLAGS="--no-metrics" "$shared/run.sh" standin
  # A backup every 2 s of a store holding GitHub's API (1,100 routes) during the run, and
  # the same store without backups as its baseline.
  STANDIN_NAME=standin-github STANDIN_SETUP="$root/bench/load-backup.sh" "$shared/run.sh" standin
  rm -rf /tmp/standin-bench-backups
  STANDIN_NAME=standin-backup STANDIN_SETUP="$root/bench/load-backup.sh" \
    STANDIN_FLAGS="--config $root/bench/backup-often.toml" "$shared/run.sh" standin
  ls /tmp/standin-bench-backups >/dev/null 2>&1 && echo "backups written: $(ls /tmp/standin-bench-backups | wc -l) files kept"
fi
# With the web UI's live log open on the loaded service (STANDIN_WATCHED=1, or when run
# without arguments): every request is streamed to a watcher as it is journaled.
if [[ $# -eq 0 || -n ${STANDIN_WATCHED:-} ]]; then
  STANDIN_NAME=standin-watched STANDIN_SETUP="$root/bench/load-watched.sh" "$shared/run.sh" standin
fi
