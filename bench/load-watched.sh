#!/usr/bin/env bash
# load-stubs.sh, then a live-log watcher on the loaded service for the rest of the run
# (what the web UI's live log does): GET /api/v1/journal/stream?service=bench/api, read
# and thrown away. The stream ends when standin stops.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
"$here/load-stubs.sh" "$@"
port=$1
setsid curl -sN "http://127.0.0.1:$((port + 1000))/api/v1/journal/stream?service=bench/api" \
  >/dev/null 2>&1 < /dev/null &
