#!/usr/bin/env bash
# Like load-templated.sh, but the typical case: about 1 KiB of JSON with five helper calls
# in it (request.path, now, randomValue, upper, math), no loop.
set -euo pipefail
port=$1
admin="http://127.0.0.1:$((port + 1000))/api/v1"
curl -sf -X POST "$admin/teams" -H 'content-type: application/json' -d '{"slug":"bench"}' >/dev/null
curl -sf -X POST "$admin/teams/bench/services" -H 'content-type: application/json' \
  -d '{"slug":"api","basePath":"/api"}' >/dev/null
python3 - > /tmp/standin-bench-templated-small.json <<'PY'
import json
filler = ", ".join(f'"field{i}": "a constant value of the answer number {i}"' for i in range(18))
template = ('{"id": "{{randomValue type=\'UUID\'}}", "path": "{{request.path}}", '
            '"at": "{{now format=\'yyyy-MM-dd\'}}", "method": "{{upper request.method}}", '
            '"total": {{math 19 \'*\' 3}}, ' + filler + '}')
print(json.dumps({"id": "r0", "http": {"request": {"method": "GET", "path": "/hello"},
    "response": {"status": 200, "templated": True,
                 "headers": {"Content-Type": "application/json"}, "body": {"text": template}}}}))
PY
curl -sf -X POST "$admin/teams/bench/services/api/routes" -H 'content-type: application/json' \
  --data-binary @/tmp/standin-bench-templated-small.json >/dev/null
