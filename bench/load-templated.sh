#!/usr/bin/env bash
# Like load-stubs.sh with one stub, but GET /api/hello answers with a typical JSON
# template: five helpers (now, randomValue, upper, each over range, math) and about 1 KiB
# of output, to compare a templated answer's cost with a static one's.
set -euo pipefail
port=$1
admin="http://127.0.0.1:$((port + 1000))/api/v1"
curl -sf -X POST "$admin/teams" -H 'content-type: application/json' -d '{"slug":"bench"}' >/dev/null
curl -sf -X POST "$admin/teams/bench/services" -H 'content-type: application/json' \
  -d '{"slug":"api","basePath":"/api"}' >/dev/null
python3 - > /tmp/standin-bench-templated.json <<'PY'
import json
template = ('{"id": "{{randomValue type=\'UUID\'}}", "at": "{{now format=\'yyyy-MM-dd\'}}", '
            '"method": "{{upper request.method}}", "items": ['
            '{{#each (range 1 12)}}{"n": {{this}}, "double": {{math this \'*\' 2}}, '
            '"label": "item number {{this}} of the list"}{{#unless @last}}, {{/unless}}{{/each}}]}')
print(json.dumps({"id": "r0", "http": {"request": {"method": "GET", "path": "/hello"},
    "response": {"status": 200, "templated": True,
                 "headers": {"Content-Type": "application/json"}, "body": {"text": template}}}}))
PY
curl -sf -X POST "$admin/teams/bench/services/api/routes" -H 'content-type: application/json' \
  --data-binary @/tmp/standin-bench-templated.json >/dev/null
