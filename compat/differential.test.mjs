// Differential runner: standin against a real MockServer.
//
//   node --test compat/differential.test.mjs
//
// Case format: compat/cases/README.md. For each case and each target: PUT /mockserver/reset,
// PUT /mockserver/expectation with the case's expectations (as one array), then send the
// requests in order over a raw socket (lib/rawhttp.mjs) and collect status, headers and body.
//
// Environment:
//   COMPAT_TARGETS   comma list of "mockserver", "standin" (default both). With one target the
//                    per-request "expect" fields are checked instead of comparing servers.
//   COMPAT_CASES_DIR read case files from here instead of compat/cases
//   MOCKSERVER_URL, STANDIN_URL  use an already running server instead of starting one
//   COMPAT_CASES     only run case files whose name contains this (e.g. "smoke")
//   COMPAT_CASE      only run cases whose name contains this (case-insensitive)
//   COMPAT_CASE_TIMEOUT_MS   per-case timeout (default 60000)
//   COMPAT_REQUEST_TIMEOUT_MS per-request timeout (default 20000)
//   STANDIN_BIN, MOCKSERVER_JAR, JAVA  see lib/servers.mjs
//
// Beyond compat/cases/README.md the runner also uses these optional fields:
//   requests[].compareBody = false: compare only the status and headers of this answer (for
//     refusals, whose wording is MockServer's own).
//   requests[].expect = {status, body, headers}: what MockServer answers (checked against
//     MockServer whenever it runs; against standin only when standin runs alone and the case
//     has no "differs"). body: string -> text (or JSON when both sides parse); other -> JSON.
//     headers: {lowercase-name: "exact value" | null for absent}.
// Setup (reset + expectation load) must succeed on MockServer (200, then 201) for a case to be
// valid; standin's setup statuses are compared to MockServer's.
// Each server's own address ("127.0.0.1:PORT", "localhost:PORT") is replaced by
// "{{server}}" in bodies and compared headers before comparing, so echoed Host headers agree.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';

import { compatDir, httpCall, startTarget } from './lib/servers.mjs';
import { rawRequest } from './lib/rawhttp.mjs';

const IGNORED_HEADERS = new Set(['date', 'connection', 'keep-alive', 'content-length']);
const CASE_TIMEOUT = Number(process.env.COMPAT_CASE_TIMEOUT_MS || 60000);
const REQUEST_TIMEOUT = Number(process.env.COMPAT_REQUEST_TIMEOUT_MS || 20000);

const targets = (process.env.COMPAT_TARGETS || 'mockserver,standin')
  .split(',')
  .map((s) => s.trim().toLowerCase())
  .filter(Boolean);
for (const t of targets) {
  if (t !== 'mockserver' && t !== 'standin') throw new Error(`COMPAT_TARGETS: unknown target ${JSON.stringify(t)}`);
}
const differential = targets.includes('mockserver') && targets.includes('standin');

// ---------------------------------------------------------------------------------------------
// load cases (synchronously, so node:test sees every test up front)

const casesDir = process.env.COMPAT_CASES_DIR ? path.resolve(process.env.COMPAT_CASES_DIR) : path.join(compatDir, 'cases');
const fileFilter = process.env.COMPAT_CASES || '';
const caseFilter = (process.env.COMPAT_CASE || '').toLowerCase();
const files = fs
  .readdirSync(casesDir)
  .filter((n) => n.endsWith('.json') && n.includes(fileFilter))
  .sort();

function loadFile(name) {
  const text = fs.readFileSync(path.join(casesDir, name), 'utf8');
  let doc;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    return { error: `not valid JSON: ${e.message}` };
  }
  if (!doc || !Array.isArray(doc.cases)) return { error: 'top level must be an object with a "cases" array' };
  const problems = [];
  const seen = new Set();
  doc.cases.forEach((c, i) => {
    const where = `cases[${i}]${c && c.name ? ` (${c.name})` : ''}`;
    if (!c || typeof c.name !== 'string' || !c.name) problems.push(`${where}: "name" must be a non-empty string`);
    else if (seen.has(c.name)) problems.push(`${where}: duplicate name`);
    else seen.add(c.name);
    if (!Array.isArray(c?.expectations)) problems.push(`${where}: "expectations" must be an array`);
    if (!Array.isArray(c?.requests) || c.requests.length === 0) problems.push(`${where}: "requests" must be a non-empty array`);
    else
      c.requests.forEach((r, j) => {
        if (!r || typeof r.path !== 'string') problems.push(`${where}.requests[${j}]: "path" must be a string`);
        if (r?.body !== undefined && typeof r.body !== 'string') problems.push(`${where}.requests[${j}]: "body" must be a string (use bodyBase64 for bytes)`);
        if (r?.compareBody !== undefined && typeof r.compareBody !== 'boolean') problems.push(`${where}.requests[${j}]: "compareBody" must be true or false`);
        if (r?.body !== undefined && r?.bodyBase64 !== undefined) problems.push(`${where}.requests[${j}]: give "body" or "bodyBase64", not both`);
      });
    if (c?.compareHeaders !== undefined && !Array.isArray(c.compareHeaders)) problems.push(`${where}: "compareHeaders" must be an array`);
    if (!(c?.differs === null || c?.differs === undefined || typeof c.differs === 'string')) problems.push(`${where}: "differs" must be null or a string`);
  });
  return { doc, problems };
}

// ---------------------------------------------------------------------------------------------
// running one case against one server

function describeRequest(r) {
  const hdrs = r.headers ? ` headers=${JSON.stringify(r.headers)}` : '';
  const body = r.bodyBase64 !== undefined ? ` bodyBase64=${JSON.stringify(r.bodyBase64)}` : r.body ? ` body=${JSON.stringify(r.body)}` : '';
  return `${r.method || 'GET'} ${r.path}${hdrs}${body}`;
}

function normaliseText(text, server) {
  return text
    .split(`${server.host}:${server.port}`)
    .join('{{server}}')
    .split(`localhost:${server.port}`)
    .join('{{server}}');
}

/** The comparable view of one answer: {status, headers: {name: value|null}, body, json?} or {error}. */
function view(answer, compareHeaders, server) {
  if (answer.error) return { error: answer.error };
  const headers = {};
  for (const name of compareHeaders) {
    const values = answer.headers[name];
    headers[name] = values ? normaliseText(values.join(', '), server) : null;
  }
  const text = normaliseText(answer.body.toString('utf8'), server);
  return { status: answer.status, headers, body: text };
}

function tryJson(text) {
  if (typeof text !== 'string' || text.trim() === '') return { ok: false };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

/** Compare two bodies: structurally when both are JSON, else as text. */
function bodiesEqual(a, b) {
  const ja = tryJson(a);
  const jb = tryJson(b);
  if (ja.ok && jb.ok) return isDeepStrictEqual(ja.value, jb.value);
  return a === b;
}

function viewsEqual(a, b, compareHeaders, compareBody = true) {
  if (a.error || b.error) return a.error === b.error;
  if (a.status !== b.status) return false;
  if (compareHeaders.some((n) => a.headers[n] !== b.headers[n])) return false;
  return !compareBody || bodiesEqual(a.body, b.body);
}

/** Differences between two views, as short lines. */
function diffViews(a, b, labelA, labelB, compareHeaders, compareBody = true) {
  const out = [];
  if (a.error || b.error) {
    out.push(`outcome: ${labelA} ${a.error ? `error "${a.error}"` : `status ${a.status}`}, ${labelB} ${b.error ? `error "${b.error}"` : `status ${b.status}`}`);
    return out;
  }
  if (a.status !== b.status) out.push(`status: ${labelA} ${a.status}, ${labelB} ${b.status}`);
  for (const name of compareHeaders) {
    if (a.headers[name] !== b.headers[name]) out.push(`header ${name}: ${labelA} ${JSON.stringify(a.headers[name])}, ${labelB} ${JSON.stringify(b.headers[name])}`);
  }
  if (compareBody && !bodiesEqual(a.body, b.body)) out.push(`body differs${tryJson(a.body).ok && tryJson(b.body).ok ? ' (compared as JSON)' : ' (compared as text)'}`);
  return out;
}

function clip(text, max = 3000) {
  return text.length > max ? `${text.slice(0, max)}… [${text.length - max} more chars]` : text;
}

function showView(v) {
  if (v.error) return `  error: ${v.error}`;
  const hdrs = Object.entries(v.headers)
    .map(([n, x]) => `    ${n}: ${x === null ? '(absent)' : x}`)
    .join('\n');
  return `  status: ${v.status}\n  headers:\n${hdrs}\n  body: ${clip(JSON.stringify(v.body))}`;
}

/** Check a view against a request's "expect"; returns a list of problems. */
function checkExpect(v, expect) {
  const problems = [];
  if (!expect) return problems;
  if (v.error) return [`expected an answer, got error "${v.error}"`];
  if (expect.status !== undefined && v.status !== expect.status) problems.push(`status: expected ${expect.status}, got ${v.status}`);
  if (expect.body !== undefined) {
    if (typeof expect.body === 'string') {
      if (!bodiesEqual(expect.body, v.body)) problems.push(`body: expected ${JSON.stringify(expect.body)}, got ${clip(JSON.stringify(v.body), 1500)}`);
    } else {
      const got = tryJson(v.body);
      if (!got.ok || !isDeepStrictEqual(got.value, expect.body)) {
        problems.push(`body: expected JSON ${clip(JSON.stringify(expect.body), 1500)}, got ${clip(JSON.stringify(v.body), 1500)}`);
      }
    }
  }
  for (const [name, want] of Object.entries(expect.headers || {})) {
    const got = v.headers[name.toLowerCase()];
    if (got !== want) problems.push(`header ${name}: expected ${JSON.stringify(want)}, got ${JSON.stringify(got ?? null)}`);
  }
  return problems;
}

async function runCase(server, c, compareHeaders) {
  const setup = {};
  const reset = await httpCall({ port: server.port, method: 'PUT', path: '/mockserver/reset', body: '' });
  setup.reset = { status: reset.status, body: reset.body };
  if (c.expectations.length > 0) {
    const put = await httpCall({
      port: server.port,
      method: 'PUT',
      path: '/mockserver/expectation',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(c.expectations),
    });
    setup.expectation = { status: put.status, body: put.body };
  }
  // Read the compared headers plus any named by "expect" (those are only checked against expect).
  const names = new Set(compareHeaders);
  for (const r of c.requests) for (const n of Object.keys(r.expect?.headers || {})) names.add(n.toLowerCase());
  const answers = [];
  for (const r of c.requests) {
    const answer = await rawRequest({
      host: server.host,
      port: server.port,
      method: r.method || 'GET',
      path: r.path,
      headers: r.headers || {},
      body: r.bodyBase64 !== undefined ? Buffer.from(r.bodyBase64, 'base64') : r.body || '',
      timeoutMs: REQUEST_TIMEOUT,
    });
    answers.push(view(answer, [...names], server));
  }
  return { setup, answers };
}

function setupProblems(name, setup) {
  const out = [];
  if (setup.reset.status !== 200) out.push(`${name}: PUT /mockserver/reset answered ${setup.reset.status}: ${clip(setup.reset.body, 800)}`);
  if (setup.expectation && setup.expectation.status !== 201) {
    out.push(`${name}: PUT /mockserver/expectation answered ${setup.expectation.status}: ${clip(setup.expectation.body, 2000)}`);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// the suite

const servers = {};
const notes = []; // differs-case outcomes, summarised at the end

let startupError = null;
before(async () => {
  const started = await Promise.allSettled(
    targets.map(async (t) => {
      servers[t] = await startTarget(t);
    }),
  );
  const failed = started.filter((r) => r.status === 'rejected');
  if (failed.length) startupError = failed.map((r) => r.reason?.message || String(r.reason)).join('\n');
}, { timeout: 150000 });

after(async () => {
  await Promise.all(Object.values(servers).map((s) => s.stop()));
  if (notes.length) {
    console.log(`\n# differential notes (${notes.length} case(s) marked "differs"):`);
    for (const n of notes) console.log(`#   ${n}`);
  }
});

if (files.length === 0) {
  test('case files present', () => assert.fail(`no *.json case files in ${casesDir}${fileFilter ? ` matching "${fileFilter}"` : ''}`));
}

for (const file of files) {
  const loaded = loadFile(file);
  describe(file, () => {
    if (loaded.error || loaded.problems.length) {
      test('file is well formed', () => {
        assert.fail(`${file}: ${loaded.error || loaded.problems.join('\n')}`);
      });
      if (loaded.error) return;
    }
    for (const c of loaded.doc.cases) {
      if (!c || typeof c.name !== 'string' || !Array.isArray(c.requests) || !Array.isArray(c.expectations)) continue;
      if (caseFilter && !c.name.toLowerCase().includes(caseFilter)) continue;
      const differs = typeof c.differs === 'string' && c.differs.length > 0 ? c.differs : null;
      const compareHeaders = [...new Set(['content-type', ...(c.compareHeaders || []).map((h) => String(h).toLowerCase())])].filter(
        (h) => !IGNORED_HEADERS.has(h),
      );

      test(c.name, { timeout: CASE_TIMEOUT }, async (t) => {
        if (startupError) assert.fail(`server start failed:\n${startupError}`);
        const results = {};
        await Promise.all(
          targets.map(async (name) => {
            results[name] = await runCase(servers[name], c, compareHeaders);
          }),
        );

        const failures = [];

        // MockServer is the reference: its setup must work, and its answers must meet "expect".
        if (results.mockserver) {
          failures.push(...setupProblems('mockserver (the case itself is invalid)', results.mockserver.setup));
          c.requests.forEach((r, i) => {
            const probs = checkExpect(results.mockserver.answers[i], r.expect);
            if (probs.length) {
              failures.push(
                `request ${i + 1} ${describeRequest(r)}: MockServer does not answer as "expect" says:\n  ${probs.join('\n  ')}\nMockServer answered:\n${showView(results.mockserver.answers[i])}`,
              );
            }
          });
        }

        if (!differential && results.standin) {
          failures.push(...setupProblems('standin', results.standin.setup));
          if (!differs) {
            c.requests.forEach((r, i) => {
              const probs = checkExpect(results.standin.answers[i], r.expect);
              if (probs.length) {
                failures.push(`request ${i + 1} ${describeRequest(r)}: standin does not answer as "expect" says:\n  ${probs.join('\n  ')}\nstandin answered:\n${showView(results.standin.answers[i])}`);
              }
            });
          }
        }

        if (differential) {
          const mismatches = [];
          const ms = results.mockserver;
          const st = results.standin;
          if (st.setup.reset.status !== ms.setup.reset.status) {
            mismatches.push(`setup: PUT /mockserver/reset answered ${st.setup.reset.status} on standin, ${ms.setup.reset.status} on MockServer\n  standin body: ${clip(st.setup.reset.body, 800)}`);
          }
          if (ms.setup.expectation && st.setup.expectation.status !== ms.setup.expectation.status) {
            mismatches.push(
              `setup: PUT /mockserver/expectation answered ${st.setup.expectation.status} on standin, ${ms.setup.expectation.status} on MockServer\n  standin body: ${clip(st.setup.expectation.body, 2000)}`,
            );
          }
          c.requests.forEach((r, i) => {
            const a = ms.answers[i];
            const b = st.answers[i];
            const compareBody = r.compareBody !== false;
            if (!viewsEqual(a, b, compareHeaders, compareBody)) {
              mismatches.push(
                `request ${i + 1}: ${describeRequest(r)}\n  ${diffViews(b, a, 'standin', 'MockServer', compareHeaders, compareBody).join('\n  ')}\nMockServer answered:\n${showView(a)}\nstandin answered:\n${showView(b)}`,
              );
            }
          });

          if (differs) {
            if (mismatches.length) {
              const msg = `differs as noted ("${differs}"): ${mismatches.length} mismatch(es); first: ${mismatches[0].split('\n').slice(0, 2).join(' / ')}`;
              t.diagnostic(msg);
              notes.push(`${file} :: ${c.name}: still differs`);
            } else {
              t.diagnostic(`marked "differs" but standin now answers exactly as MockServer; remove the note: "${differs}"`);
              notes.push(`${file} :: ${c.name}: marked differs but NOW AGREES (remove the "differs" note)`);
            }
          } else {
            failures.push(...mismatches);
          }
        }

        if (failures.length) {
          assert.fail(`${file} :: ${c.name}\n${c.source ? `source: ${c.source}\n` : ''}\n${failures.join('\n\n')}`);
        }
      });
    }
  });
}
