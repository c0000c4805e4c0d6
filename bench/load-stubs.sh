#!/usr/bin/env bash
# Loads the harness's stubs through standin's management API (admin port = PORT + 1000):
# STUBS=1 -> GET /api/hello; STUBS=N -> GET /api/item/0..N-1; each answers 200
# application/json {"ok":true}. One service with base path /api holds them.
set -euo pipefail
port=$1 stubs=$2
admin="http://127.0.0.1:$((port + 1000))/api/v1"
curl -sf -X POST "$admin/teams" -H 'content-type: application/json' -d '{"slug":"bench"}' >/dev/null
curl -sf -X POST "$admin/teams/bench/services" -H 'content-type: application/json' \
  -d '{"slug":"api","basePath":"/api"}' >/dev/null
python3 - "$stubs" > /tmp/standin-bench-routes.json <<'PY'
import json, sys
n = int(sys.argv[1])
paths = ["/hello"] if n == 1 else [f"/item/{i}" for i in range(n)]
print(json.dumps([{"id": f"r{i}", "http": {"request": {"method": "GET", "path": p},
                   "response": {"status": 200, "body": {"json": {"ok": True}}}}}
                  for i, p in enumerate(paths)]))
PY
curl -sf -X PUT "$admin/teams/bench/services/api/routes" -H 'content-type: application/json' \
  --data-binary @/tmp/standin-bench-routes.json >/dev/null
