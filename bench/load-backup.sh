#!/usr/bin/env bash
# load-stubs.sh, then GitHub's REST API description (about 1,100 routes with generated
# bodies, from the import corpus) in a second service, so the store is large; the server
# runs with bench/backup-often.toml and writes a backup every 2 s for the whole run.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
"$here/load-stubs.sh" "$@"
port=$1
spec=$root/target/corpus/node_modules/@octokit/openapi/generated/api.github.com.json
[[ -f $spec ]] || "$root/crates/import/corpus.sh" --install >/dev/null
"$root/target/release/standin" import "$spec" --service bench/github \
  --admin "http://127.0.0.1:$((port + 1000))" >/dev/null
