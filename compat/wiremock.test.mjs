// standin against a real WireMock (3.13.2, the jar in the wiremock npm package), case by
// case (compat/wiremock/cases.json):
//
//   1. the case's mappings are loaded into WireMock, and read back from WireMock's admin API
//      (GET /__admin/mappings): that is what standin imports, WireMock's own serialization;
//   2. standin imports them (POST /api/v1/teams/wm/services/cN/import?format=wiremock) into a
//      service of its own, and every request of the case is sent to both; status, reason,
//      the headers the mappings set, and the body must agree (an unmatched request only by
//      its 404: the bodies of the two 404s differ by design);
//   3. standin's WireMock export of that service is loaded into a fresh WireMock, and the
//      requests sent again: the round trip WireMock → standin → WireMock keeps the behaviour.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { compatDir, httpCall, startStandin, startWireMock } from './lib/servers.mjs';
import { rawRequest } from './lib/rawhttp.mjs';

const cases = JSON.parse(fs.readFileSync(path.join(compatDir, 'wiremock', 'cases.json'), 'utf8'));
let wiremock;
let standin;

before(async () => {
  [wiremock, standin] = await Promise.all([startWireMock(), startStandin()]);
});

after(async () => {
  await Promise.all([wiremock?.stop(), standin?.stop()]);
});

async function loadIntoWireMock(mappings) {
  await wiremock.reset();
  const r = await httpCall({ port: wiremock.port, method: 'POST', path: '/__admin/mappings/import', body: JSON.stringify({ mappings }), headers: { 'Content-Type': 'application/json' } });
  assert.equal(r.status, 200, `WireMock refused the mappings: ${r.body}`);
}

function send(server, prefix, req) {
  return rawRequest({ host: server.host, port: server.port, method: req.method, path: prefix + req.path, headers: req.headers || {}, body: req.body || '', timeoutMs: 10000 });
}

/** The headers a case's mappings set, lower-cased. */
function headersOfInterest(mappings) {
  const names = new Set();
  for (const m of mappings) for (const h of Object.keys(m.response?.headers || {})) names.add(h.toLowerCase());
  return [...names];
}

function bodyOf(r) {
  const text = r.body.toString('utf8');
  const ct = (r.headers['content-type'] || [''])[0];
  if (ct.includes('json')) {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}

function compare(label, expected, got, interest, reasons) {
  if (expected.error || got.error) {
    assert.ok(expected.error && got.error, `${label}: WireMock ${expected.error ? 'failed (' + expected.error + ')' : 'answered ' + expected.status}, standin ${got.error ? 'failed (' + got.error + ')' : 'answered ' + got.status}`);
    return;
  }
  assert.equal(got.status, expected.status, `${label}: status`);
  if (expected.status === 404 && !expected.headers['matched-stub-id']) return;
  if (reasons) assert.equal(got.reason, expected.reason, `${label}: reason phrase`);
  for (const h of interest) assert.deepEqual(got.headers[h], expected.headers[h], `${label}: header ${h}`);
  assert.deepEqual(bodyOf(got), bodyOf(expected), `${label}: body`);
}

cases.forEach((c, i) => {
  test(c.name, { timeout: 60000 }, async () => {
    await loadIntoWireMock(c.mappings);
    const canonical = JSON.parse((await httpCall({ port: wiremock.port, method: 'GET', path: '/__admin/mappings' })).body).mappings;
    const service = `c${i + 1}`;
    const imported = await httpCall({
      host: standin.host,
      port: Number(new URL(standin.adminUrl).port),
      method: 'POST',
      path: `/api/v1/teams/wm/services/${service}/import?format=wiremock`,
      body: JSON.stringify({ mappings: canonical }),
    });
    assert.equal(imported.status, 200, `standin refused the mappings: ${imported.body}`);
    const interest = headersOfInterest(c.mappings);
    const reasons = c.mappings.some((m) => m.response?.statusMessage);
    const expected = [];
    for (const req of c.requests) expected.push(await send(wiremock, '', req));
    for (const [j, req] of c.requests.entries()) {
      const got = await send(standin, `/wm/${service}`, req);
      compare(`request ${j + 1} (${req.method} ${req.path})`, expected[j], got, interest, reasons);
    }
    // Round trip: standin's export, loaded into WireMock, answers as the original did.
    const exported = await httpCall({ port: Number(new URL(standin.adminUrl).port), method: 'GET', path: `/api/v1/teams/wm/services/${service}/export?format=wiremock` });
    assert.equal(exported.status, 200, exported.body);
    const doc = JSON.parse(exported.body);
    assert.deepEqual(doc.meta.standinWarnings, [], 'the export lost something');
    await loadIntoWireMock(doc.mappings);
    for (const [j, req] of c.requests.entries()) {
      const again = await send(wiremock, '', req);
      compare(`round trip, request ${j + 1} (${req.method} ${req.path})`, expected[j], again, interest, reasons);
    }
  });
});
