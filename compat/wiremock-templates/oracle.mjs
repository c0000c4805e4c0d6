#!/usr/bin/env node
// Oracle for standin's Handlebars templating: runs every case in
// crates/template/tests/cases/handlebars/*.json against a real WireMock 3.13.2.
//
//   node compat/wiremock-templates/oracle.mjs           compare: exit 1 on any mismatch
//   node compat/wiremock-templates/oracle.mjs --write   record WireMock's answers into the files
//   ... [--only <group>] [--filter <substring of case name>] [--verbose]
//
// For each case: reset WireMock, register one stub that matches any request (or the case's
// urlPathTemplate) and answers with the case's template as its body (transformer
// "response-template"), send the case's request, and read the body back.
// The case format and conventions are described in the README.md beside the case files.

import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoDir = path.resolve(here, '..', '..');
const casesDir = path.join(repoDir, 'crates', 'template', 'tests', 'cases', 'handlebars');

// WireMock formats some dates in the JVM's default zone and locale: pin both, so that the
// recorded answers do not depend on the machine. Set before the JVM starts (servers.mjs passes
// process.env through).
process.env.TZ = 'UTC';
process.env.JAVA_TOOL_OPTIONS = [process.env.JAVA_TOOL_OPTIONS || '', '-Duser.timezone=UTC -Duser.language=en -Duser.country=US -Dfile.encoding=UTF-8']
  .join(' ')
  .trim();

const { startWireMock, httpCall } = await import('../lib/servers.mjs');

const args = process.argv.slice(2);
const write = args.includes('--write');
const verbose = args.includes('--verbose');
const argValue = (flag) => {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
};
const only = argValue('--only');
const filter = argValue('--filter');

const CALL_TIMEOUT_MS = 15000;
const TOTAL_TIMEOUT_MS = 15 * 60 * 1000;

// Key order of a case as written back.
const KEY_ORDER = ['name', 'note', 'template', 'request', 'urlPathTemplate', 'parameters', 'expected', 'shape', 'status', 'wiremockError'];
const KNOWN_KEYS = new Set(KEY_ORDER);
const KNOWN_REQUEST_KEYS = new Set(['method', 'path', 'headers', 'body']);

function orderCase(c) {
  const out = {};
  for (const k of KEY_ORDER) if (c[k] !== undefined) out[k] = c[k];
  return out;
}

function loadGroups() {
  const files = fs
    .readdirSync(casesDir)
    .filter((n) => n.endsWith('.json') && n !== 'known_differences.json')
    .sort();
  const groups = [];
  for (const file of files) {
    const group = file.replace(/\.json$/, '');
    if (only && group !== only) continue;
    const full = path.join(casesDir, file);
    let cases;
    try {
      cases = JSON.parse(fs.readFileSync(full, 'utf8'));
    } catch (e) {
      throw new Error(`${file}: not valid JSON: ${e.message}`);
    }
    if (!Array.isArray(cases)) throw new Error(`${file}: expected a JSON array of cases`);
    const names = new Set();
    cases.forEach((c, i) => {
      const where = `${file}[${i}]`;
      if (typeof c.name !== 'string' || !c.name) throw new Error(`${where}: missing name`);
      if (names.has(c.name)) throw new Error(`${where}: duplicate name ${JSON.stringify(c.name)}`);
      names.add(c.name);
      for (const k of Object.keys(c)) if (!KNOWN_KEYS.has(k)) throw new Error(`${where} (${c.name}): unknown key ${k}`);
      if (typeof c.template !== 'string') throw new Error(`${where} (${c.name}): template must be a string`);
      const r = c.request;
      if (!r || typeof r.path !== 'string' || !r.path.startsWith('/')) throw new Error(`${where} (${c.name}): request.path must start with /`);
      for (const k of Object.keys(r)) if (!KNOWN_REQUEST_KEYS.has(k)) throw new Error(`${where} (${c.name}): unknown request key ${k}`);
      if (c.shape !== undefined && c.expected !== undefined) throw new Error(`${where} (${c.name}): has both expected and shape`);
      if (c.shape !== undefined) new RegExp(c.shape); // throws on a bad regex
    });
    groups.push({ group, file: full, cases });
  }
  return groups;
}

// Send the case's request as-is. Header values may be arrays (one header line per value).
function send(port, request) {
  return new Promise((resolve, reject) => {
    const body = Buffer.from(request.body ?? '', 'utf8');
    const headers = { ...(request.headers || {}) };
    const hasLength = Object.keys(headers).some((h) => h.toLowerCase() === 'content-length');
    if (!hasLength && (body.length > 0 || !['GET', 'HEAD', 'DELETE', 'OPTIONS'].includes((request.method || 'GET').toUpperCase()))) {
      headers['Content-Length'] = String(body.length);
    }
    const req = http.request(
      { host: '127.0.0.1', port, method: request.method || 'GET', path: request.path, headers, agent: false, setHost: !Object.keys(headers).some((h) => h.toLowerCase() === 'host') },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.setTimeout(CALL_TIMEOUT_MS, () => req.destroy(new Error(`timeout after ${CALL_TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

async function runCase(wm, c) {
  const reset = await httpCall({ port: wm.port, method: 'POST', path: '/__admin/reset', timeoutMs: CALL_TIMEOUT_MS });
  if (reset.status !== 200) throw new Error(`POST /__admin/reset answered ${reset.status}: ${reset.body}`);
  const requestPattern = c.urlPathTemplate ? { method: 'ANY', urlPathTemplate: c.urlPathTemplate } : { method: 'ANY', urlPattern: '.*' };
  const response = { status: 200, body: c.template, transformers: ['response-template'] };
  if (c.parameters) response.transformerParameters = c.parameters;
  const mapping = { request: requestPattern, response };
  const reg = await httpCall({
    port: wm.port,
    method: 'POST',
    path: '/__admin/mappings',
    body: JSON.stringify(mapping),
    headers: { 'Content-Type': 'application/json' },
    timeoutMs: CALL_TIMEOUT_MS,
  });
  if (reg.status !== 201) throw new Error(`POST /__admin/mappings answered ${reg.status}: ${reg.body}`);
  return send(wm.port, c.request);
}

async function main() {
  const groups = loadGroups();
  if (groups.length === 0) throw new Error(`no case files in ${casesDir}${only ? ` for --only ${only}` : ''}`);
  const wm = await startWireMock({ timeoutMs: 120000 });
  const watchdog = setTimeout(() => {
    console.error(`oracle: gave up after ${TOTAL_TIMEOUT_MS} ms`);
    wm.stop().finally(() => process.exit(2));
  }, TOTAL_TIMEOUT_MS);
  let total = 0;
  let failed = 0;
  const perGroup = [];
  try {
    for (const g of groups) {
      let groupFailed = 0;
      let ran = 0;
      for (let i = 0; i < g.cases.length; i++) {
        const c = g.cases[i];
        if (filter && !c.name.includes(filter)) continue;
        ran++;
        total++;
        let actual;
        try {
          actual = await runCase(wm, c);
        } catch (e) {
          failed++;
          groupFailed++;
          console.log(`FAIL ${g.group} / ${c.name}: ${e.message}`);
          continue;
        }
        const problems = [];
        if (c.shape !== undefined) {
          if (!new RegExp(c.shape).test(actual.body)) problems.push(`body ${JSON.stringify(actual.body)} does not match shape /${c.shape}/`);
        } else if (!write && actual.body !== c.expected) {
          problems.push(`body\n    expected ${JSON.stringify(c.expected)}\n    actual   ${JSON.stringify(actual.body)}`);
        }
        const expectedStatus = c.status ?? 200;
        if (!write && actual.status !== expectedStatus) problems.push(`status expected ${expectedStatus}, actual ${actual.status}`);
        if (write) {
          if (c.shape === undefined) c.expected = actual.body;
          if (actual.status !== 200) c.status = actual.status;
          else delete c.status;
          g.cases[i] = orderCase(c);
        }
        if (problems.length) {
          failed++;
          groupFailed++;
          console.log(`FAIL ${g.group} / ${c.name}: ${problems.join('; ')}`);
        } else if (verbose) {
          console.log(`ok   ${g.group} / ${c.name}: ${JSON.stringify(actual.body)}`);
        }
      }
      perGroup.push(`${g.group}: ${ran} cases, ${groupFailed} failed`);
      if (write) fs.writeFileSync(g.file, JSON.stringify(g.cases, null, 2) + '\n');
    }
  } finally {
    clearTimeout(watchdog);
    await wm.stop();
  }
  for (const line of perGroup) console.log(line);
  console.log(`${write ? 'write' : 'compare'}: ${total} cases, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(`oracle: ${e.stack || e.message}`);
    process.exit(2);
  },
);
