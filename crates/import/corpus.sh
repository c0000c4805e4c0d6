#!/usr/bin/env bash
# Installs the import corpus (real public API descriptions from npm packages nobody here
# wrote) into target/corpus, then runs the corpus tests against it.
#   @readme/oas-examples  OpenAPI 3.0, 3.1 and Swagger 2.0 examples, JSON and YAML
#   @octokit/openapi      GitHub's REST API description (about 13 MB of JSON)
#   har-examples          HAR 1.2 captures (written out as files by corpus/prepare.mjs)
#   openapi-to-postmanv2  Postman's converter, which turns the OpenAPI 3.0 examples into
#                         Postman collections with saved examples (corpus/prepare.mjs)
# With --install it only installs (make test's unit step runs the tests with the rest).
# Versions are pinned in crates/import/corpus/package.json (and its lock file).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
dest="$root/target/corpus"
command -v npm >/dev/null || {
  echo "corpus: npm is needed (apt-get install npm)" >&2
  exit 1
}
if ! cmp -s "$here/corpus/package-lock.json" "$dest/package-lock.json" 2>/dev/null \
  || [ ! -d "$dest/node_modules/@readme/oas-examples" ]; then
  echo "corpus: installing npm packages into $dest" >&2
  mkdir -p "$dest"
  cp "$here/corpus/package.json" "$here/corpus/package-lock.json" "$dest/"
  (cd "$dest" && npm ci --no-audit --no-fund --ignore-scripts)
  rm -rf "$dest/har" "$dest/postman"
fi
if [ ! -d "$dest/har" ] || [ ! -d "$dest/postman" ]; then
  node "$here/corpus/prepare.mjs" "$dest"
fi
[ "${1:-}" = "--install" ] && exit 0
export STANDIN_CORPUS="$dest/node_modules"
cd "$root"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run -p standin-import --test corpus --no-fail-fast
else
  cargo test -p standin-import --test corpus --no-fail-fast
fi
