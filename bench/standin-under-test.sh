#!/usr/bin/env bash
# Starts the release build of standin for the shared benchmark harness: mock traffic on
# the port the harness gives, the admin API on that port + 1000, a throwaway data dir.
# Extra flags come from STANDIN_FLAGS (e.g. "--journal-capacity 0").
set -euo pipefail
port=$1
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
data=$(mktemp -d /tmp/standin-bench.XXXXXX)
# shellcheck disable=SC2086
exec "$root/target/release/standin" serve --data-dir "$data" \
  --mock-addr "127.0.0.1:$port" --admin-addr "127.0.0.1:$((port + 1000))" \
  --workers "${STANDIN_WORKERS:-1}" --log warn ${STANDIN_FLAGS:-}
