#!/usr/bin/env bash
# Loads the harness's stubs as MockServer expectations, through MockServer's own API on the
# mock port (PUT /mockserver/expectation), the way MockServer users load thousands of
# them: STUBS=1 -> GET /api/hello; STUBS=N -> GET /api/item/0..N-1; each answers 200
# application/json {"ok":true}. They land in standin's default service at the root.
set -euo pipefail
port=$1 stubs=$2
python3 - "$stubs" > /tmp/standin-bench-expectations.json <<'PY'
import json, sys
n = int(sys.argv[1])
paths = ["/api/hello"] if n == 1 else [f"/api/item/{i}" for i in range(n)]
print(json.dumps([{"httpRequest": {"method": "GET", "path": p},
                   "httpResponse": {"statusCode": 200,
                                    "headers": {"Content-Type": ["application/json"]},
                                    "body": {"ok": True}}}
                  for p in paths]))
PY
curl -sf -X PUT "http://127.0.0.1:$port/mockserver/expectation" -H 'content-type: application/json' \
  --data-binary @/tmp/standin-bench-expectations.json >/dev/null
