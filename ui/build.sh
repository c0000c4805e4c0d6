#!/usr/bin/env bash
# Builds the web UI into ui/dist (embedded into the binary by crates/admin/build.rs when it
# exists at cargo build time). Installs the npm packages first when they are missing or
# older than package-lock.json.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "ui: installing npm packages (npm ci)" >&2
  npm ci --no-audit --no-fund
fi
npm run build
