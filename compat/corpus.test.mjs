// Corpus runner: real-world MockServer expectation files (compat/corpus/mockserver/NN-*.json,
// sources in compat/corpus/mockserver/SOURCES.md) loaded into a real MockServer and into standin,
// then probed with requests derived from the files themselves.
//
//   compat/run.sh compat/corpus.test.mjs
//
// For each corpus file and each target:
//   1. PUT /mockserver/reset, then PUT /mockserver/expectation with the file's bytes unchanged
//      (MockServer reads lenient JSON: trailing commas, comments...). The status is recorded.
//   2. One request is derived from every expectation's httpRequest, in file order (method,
//      a concrete path for regex paths and {param} templates, query parameters, headers,
//      cookies, a body for JSON / STRING / exact / BINARY / PARAMETERS / XML matchers; "not"
//      matchers are skipped), plus one request that should match nothing. Both servers get the
//      same sequence (so "times" limits play out the same way).
//   3. The answers are compared: status, content-type and body (as JSON when both sides parse,
//      else as text), each server's own host:port replaced by "{{server}}". Other headers are
//      compared only with CORPUS_COMPARE_HEADERS=all (date, connection, keep-alive,
//      content-length and transfer-encoding are never compared).
// A file "behaves the same" when the load status agrees and every derived request agrees.
//
// Known differences never fail the run: each file's test only reports. The last test fails
// when fewer files behave the same than compat/corpus/mockserver/expected.json {"sameAtLeast": N}
// says (checked only for a full, unfiltered run against both targets).
//
// Environment:
//   COMPAT_TARGETS     comma list of "mockserver", "standin" (default both)
//   STANDIN_BIN, MOCKSERVER_JAR, JAVA, MOCKSERVER_URL, STANDIN_URL  see lib/servers.mjs
//   CORPUS_FILE        only run corpus files whose name contains this
//   CORPUS_DIR         read corpus files from here instead of compat/corpus/mockserver
//   CORPUS_REPORT      also write the summary as JSON to this path
//   CORPUS_REQUEST_TIMEOUT_MS  per-request timeout (default 15000; covers response delays)
//   CORPUS_FILE_TIMEOUT_MS     per-file timeout (default 300000)
//   CORPUS_COMPARE_HEADERS     "content-type" (default) or "all"

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';

import { compatDir, httpCall, standinBin, startTarget } from './lib/servers.mjs';
import { rawRequest } from './lib/rawhttp.mjs';

const REQUEST_TIMEOUT = Number(process.env.CORPUS_REQUEST_TIMEOUT_MS || 15000);
const FILE_TIMEOUT = Number(process.env.CORPUS_FILE_TIMEOUT_MS || 300000);
const COMPARE_ALL_HEADERS = (process.env.CORPUS_COMPARE_HEADERS || 'content-type').toLowerCase() === 'all';
const NEVER_COMPARED = new Set(['date', 'connection', 'keep-alive', 'content-length', 'transfer-encoding']);
const NO_MATCH_PATH = '/standin-corpus/this-path-matches-nothing';

const targets = (process.env.COMPAT_TARGETS || 'mockserver,standin')
  .split(',')
  .map((s) => s.trim().toLowerCase())
  .filter(Boolean);
for (const t of targets) {
  if (t !== 'mockserver' && t !== 'standin') throw new Error(`COMPAT_TARGETS: unknown target ${JSON.stringify(t)}`);
}
const differential = targets.includes('mockserver') && targets.includes('standin');

const corpusDir = process.env.CORPUS_DIR ? path.resolve(process.env.CORPUS_DIR) : path.join(compatDir, 'corpus', 'mockserver');
const fileFilter = process.env.CORPUS_FILE || '';
// Files whose licence lets them live in this repository are in corpusDir; the others, listed in
// SOURCES.md with their repository and commit, are fetched into corpusDir/local (ignored by git)
// by whoever has them, and run too when present. The threshold counts only the first kind.
const listJson = (dir, prefix) =>
  fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => /^\d+-.*\.json$/.test(n)).map((n) => prefix + n) : [];
const allFiles = [...listJson(corpusDir, ''), ...listJson(path.join(corpusDir, 'local'), 'local/')].sort((a, b) =>
  a.replace('local/', '').localeCompare(b.replace('local/', '')),
);
const files = allFiles.filter((n) => n.includes(fileFilter));

// ---------------------------------------------------------------------------------------------
// lenient JSON (trailing commas, // and /* */ comments), only to derive requests; the servers
// always get the file's bytes unchanged

function lenientParse(text) {
  let out = '';
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (j < n && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < n && text[i] !== '\n') i++;
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end === -1 ? n : end + 2;
    } else if (c === '#') {
      while (i < n && text[i] !== '\n') i++;
    } else {
      out += c;
      i++;
    }
  }
  // drop commas that are followed (after whitespace) by a closing bracket
  out = out.replace(/,(\s*[\]}])/g, '$1');
  return JSON.parse(out.replace(/^\uFEFF/, ''));
}

// ---------------------------------------------------------------------------------------------
// a string that a (Java-ish) regex matches: first alternative, one repetition for * and +,
// none for ?, the low bound for {n,m}, an alphanumeric character from a class when it has one

function compileAnchored(re) {
  try {
    return new RegExp(`^(?:${re})$`, 'u');
  } catch {
    try {
      return new RegExp(`^(?:${re})$`);
    } catch {
      return null;
    }
  }
}

/** Whether a matcher string is meant as a regex (a lone "." is taken literally: it matches itself). */
function looksLikeRegex(s) {
  return /[*+?[\]()|\\]|^\^|\$$|\{\d/.test(s);
}

/** A string the matcher accepts: the literal when it is no regex, else an example of the regex. */
function concreteFor(s) {
  if (!looksLikeRegex(s)) return s;
  const ex = exampleFromRegex(s);
  const re = compileAnchored(s);
  if (re && !re.test(ex) && re.test(s)) return s;
  return ex;
}

function exampleFromRegex(src) {
  let pos = 0;
  const peek = () => src[pos];
  const eof = () => pos >= src.length;

  function pickFromClass(body, negated) {
    const re = (() => {
      try {
        return new RegExp(`[${negated ? '^' : ''}${body}]`, 'u');
      } catch {
        try {
          return new RegExp(`[${negated ? '^' : ''}${body}]`);
        } catch {
          return null;
        }
      }
    })();
    const candidates = 'aA1x0bcz-_.~ '.split('');
    if (re) {
      for (const c of candidates) if (re.test(c)) return c;
      for (let code = 33; code < 127; code++) if (re.test(String.fromCharCode(code))) return String.fromCharCode(code);
    }
    if (negated) return 'x';
    const first = body.replace(/^\\/, '')[0];
    return first === undefined ? 'x' : first;
  }

  function parseAlt() {
    const first = parseSeq();
    while (!eof() && peek() === '|') {
      pos++;
      parseSeq(); // other alternatives: consumed, not used
    }
    return first;
  }

  function parseSeq() {
    let out = '';
    while (!eof() && peek() !== '|' && peek() !== ')') {
      const atom = parseAtom();
      out += applyQuantifier(atom);
    }
    return out;
  }

  function applyQuantifier(atom) {
    if (eof()) return atom;
    const c = peek();
    let result = atom;
    if (c === '*' || c === '+') {
      pos++;
    } else if (c === '?') {
      pos++;
      result = '';
    } else if (c === '{') {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(src.slice(pos));
      if (!m) return atom;
      pos += m[0].length;
      result = atom.repeat(Number(m[1]));
    } else {
      return atom;
    }
    if (!eof() && (peek() === '?' || peek() === '+')) pos++; // lazy / possessive
    return result;
  }

  function parseAtom() {
    const c = src[pos++];
    if (c === '(') {
      if (peek() === '?') {
        // (?:...), (?i), (?=...), (?!...), (?<name>...)
        pos++;
        if (peek() === ':') pos++;
        else if (peek() === '=' || peek() === '!') {
          pos++;
          parseAlt();
          if (peek() === ')') pos++;
          return '';
        } else if (peek() === '<' && src[pos + 1] !== '=' && src[pos + 1] !== '!') {
          while (!eof() && peek() !== '>') pos++;
          pos++;
        } else {
          while (!eof() && peek() !== ')' && peek() !== ':') pos++;
          if (peek() === ')') {
            pos++;
            return '';
          }
          pos++;
        }
      }
      const inner = parseAlt();
      if (peek() === ')') pos++;
      return inner;
    }
    if (c === '[') {
      let negated = false;
      if (peek() === '^') {
        negated = true;
        pos++;
      }
      let body = '';
      if (peek() === ']') body += src[pos++];
      while (!eof() && peek() !== ']') {
        if (peek() === '\\') body += src[pos++];
        body += src[pos++];
      }
      pos++;
      return pickFromClass(body, negated);
    }
    if (c === '\\') {
      const e = src[pos++];
      const table = { d: '1', w: 'a', s: ' ', D: 'a', W: '-', S: 'a', b: '', B: '', A: '', z: '', Z: '', n: '\n', t: '\t', r: '\r' };
      if (e in table) return table[e];
      if (e === 'Q') {
        const end = src.indexOf('\\E', pos);
        const lit = src.slice(pos, end === -1 ? src.length : end);
        pos = end === -1 ? src.length : end + 2;
        return lit;
      }
      if (e === 'p' || e === 'P') {
        if (peek() === '{') while (!eof() && src[pos++] !== '}');
        else pos++;
        return 'a';
      }
      return e ?? '';
    }
    if (c === '.') return 'x';
    if (c === '^' || c === '$') return '';
    return c;
  }

  try {
    const out = parseAlt();
    return out;
  } catch {
    return src;
  }
}

/** A value that a MockServer string matcher (literal or regex) accepts. */
function valueForMatcher(s) {
  if (typeof s !== 'string') return null;
  if (s.startsWith('!')) return null; // "not" shorthand
  return concreteFor(s);
}

/** A value for a {"schema": {...}} matcher. */
function valueForSchema(schema) {
  if (!schema || typeof schema !== 'object') return 'abc';
  if (Array.isArray(schema.enum) && schema.enum.length) return String(schema.enum[0]);
  if ('const' in schema) return String(schema.const);
  if (typeof schema.pattern === 'string') return exampleFromRegex(schema.pattern);
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  if (type === 'integer' || type === 'number') return String(schema.minimum ?? 1);
  if (type === 'boolean') return 'true';
  if (schema.format === 'uuid') return '123e4567-e89b-12d3-a456-426614174000';
  if (schema.format === 'date') return '2024-01-01';
  if (schema.format === 'date-time') return '2024-01-01T00:00:00Z';
  const min = Number(schema.minLength || 0);
  return 'abc'.padEnd(Math.max(3, min), 'c');
}

/** Values for one key of a multi-value matcher (headers, query parameters, path parameters). */
function valuesFor(rawValues) {
  const list = Array.isArray(rawValues) ? rawValues : [rawValues];
  const out = [];
  for (const v of list) {
    if (typeof v === 'string') {
      const x = valueForMatcher(v);
      if (x !== null) out.push(x);
    } else if (v && typeof v === 'object') {
      if (v.not === true) continue;
      if (v.schema) out.push(valueForSchema(v.schema));
      else if (typeof v.value === 'string') {
        const x = valueForMatcher(v.value);
        if (x !== null) out.push(x);
      }
    } else if (typeof v === 'number' || typeof v === 'boolean') {
      out.push(String(v));
    }
  }
  return out;
}

/** [[name, [values]]] from {name: [values]} or [{name, values}] (MockServer's two forms). */
function multiMap(m) {
  if (!m) return [];
  const entries = [];
  if (Array.isArray(m)) {
    for (const e of m) {
      if (!e || typeof e !== 'object') continue;
      const name = typeof e.name === 'string' ? e.name : e.name?.value;
      if (typeof name !== 'string' || e.name?.not === true) continue;
      entries.push([name, e.values ?? e.value ?? []]);
    }
  } else if (typeof m === 'object') {
    for (const [k, v] of Object.entries(m)) {
      if (k === 'keyMatchStyle') continue;
      entries.push([k, v]);
    }
  }
  const out = [];
  for (const [rawName, rawValues] of entries) {
    if (rawName.startsWith('!')) continue; // must be absent
    const name = rawName.replace(/^\?/, '');
    let values = valuesFor(rawValues);
    if (values.length === 0 && (Array.isArray(rawValues) ? rawValues.length === 0 : true)) values = [''];
    if (values.length === 0) continue;
    out.push([name, values]);
  }
  return out;
}

function singleMap(m) {
  // cookies: {name: value} or [{name, value}]
  if (!m) return [];
  const out = [];
  const entries = Array.isArray(m) ? m.map((e) => [e?.name, e?.value]) : Object.entries(m);
  for (const [rawName, rawValue] of entries) {
    if (typeof rawName !== 'string' || rawName.startsWith('!')) continue;
    const [value] = valuesFor([rawValue]);
    if (value === undefined) continue;
    out.push([rawName.replace(/^\?/, ''), value]);
  }
  return out;
}

function encodeQuery(pairs) {
  return pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
}

/** {body: Buffer|string, contentType?: string} for a request body matcher, or null. */
function bodyFor(b) {
  if (b === undefined || b === null) return null;
  if (typeof b === 'string') return { body: b };
  if (Array.isArray(b)) return { body: JSON.stringify(b), contentType: 'application/json' };
  if (typeof b !== 'object') return { body: JSON.stringify(b), contentType: 'application/json' };
  if (b.not === true) return null;
  const ct = typeof b.contentType === 'string' ? b.contentType : undefined;
  const type = typeof b.type === 'string' ? b.type.toUpperCase() : undefined;
  const asJson = (j) => (typeof j === 'string' ? j : JSON.stringify(j));
  switch (type) {
    case 'JSON':
      return { body: asJson(b.json ?? b.value ?? {}), contentType: ct || 'application/json' };
    case 'STRING':
      return { body: String(b.string ?? b.value ?? b.xml ?? ''), contentType: ct };
    case 'REGEX':
      return { body: exampleFromRegex(String(b.regex ?? b.value ?? '')), contentType: ct };
    case 'XML':
      return { body: String(b.xml ?? b.value ?? ''), contentType: ct || 'application/xml' };
    case 'BINARY':
      return { body: Buffer.from(String(b.base64Bytes ?? ''), 'base64'), contentType: ct };
    case 'PARAMETERS': {
      const pairs = [];
      for (const [k, vs] of multiMap(b.parameters ?? b.value)) for (const v of vs) pairs.push([k, v]);
      return { body: encodeQuery(pairs), contentType: ct || 'application/x-www-form-urlencoded' };
    }
    case 'JSON_PATH':
    case 'JSON_SCHEMA':
    case 'JSON_RPC':
      return { body: '{}', contentType: ct || 'application/json' };
    case 'XPATH':
    case 'XML_SCHEMA':
      return { body: '<root/>', contentType: ct || 'application/xml' };
    case undefined:
      break;
    default:
      return null;
  }
  // no "type": the keys say what it is, else the object itself is a JSON body
  if ('json' in b) return { body: asJson(b.json), contentType: ct || 'application/json' };
  if ('string' in b) return { body: String(b.string), contentType: ct };
  if ('xml' in b) return { body: String(b.xml), contentType: ct || 'application/xml' };
  if ('base64Bytes' in b) return { body: Buffer.from(String(b.base64Bytes), 'base64'), contentType: ct };
  if ('regex' in b) return { body: exampleFromRegex(String(b.regex)), contentType: ct };
  const keys = Object.keys(b).filter((k) => !['matchType', 'contentType', 'not', 'optional'].includes(k));
  if (keys.length === 1 && keys[0] === 'value' && typeof b.value === 'string') return { body: b.value, contentType: ct };
  return { body: JSON.stringify(b), contentType: 'application/json' };
}

function methodFor(m) {
  if (m === undefined || m === null) return 'GET';
  let s = m;
  if (typeof m === 'object') {
    if (m.not === true) return 'GET';
    s = m.value;
  }
  if (typeof s !== 'string' || s === '' || s.startsWith('!')) return 'GET';
  const v = /^[A-Za-z]+$/.test(s) ? s : exampleFromRegex(s);
  return /^[A-Za-z]+$/.test(v) ? v.toUpperCase() : 'GET';
}

const SKIP_HEADERS = new Set(['host', 'content-length', 'transfer-encoding', 'connection']);

/** The request derived from one expectation, or {skip: reason}. */
function deriveRequest(expectation) {
  if (!expectation || typeof expectation !== 'object') return { skip: 'not an object' };
  const m = expectation.httpRequest;
  if (!m || typeof m !== 'object' || Array.isArray(m)) return { skip: 'no httpRequest object' };
  if ('specUrlOrPayload' in m) return { skip: 'OpenAPI matcher' };
  const method = methodFor(m.method);

  // path
  let rawPath = m.path;
  if (rawPath && typeof rawPath === 'object') rawPath = rawPath.not === true ? undefined : rawPath.value;
  let p;
  let extraQuery = '';
  if (typeof rawPath !== 'string' || rawPath === '' || rawPath.startsWith('!')) {
    p = '/';
  } else if (/\{[A-Za-z_][^}/]*\}/.test(rawPath)) {
    // path template: {name} from pathParameters, else "1"
    const params = new Map(multiMap(m.pathParameters));
    p = rawPath.replace(/\{([A-Za-z_][^}/]*)\}/g, (_, name) => encodeURIComponent(params.get(name)?.[0] ?? '1'));
  } else if (/\?[^=&\s]+=/.test(rawPath)) {
    // a query string written into the path: send it as one
    const i = rawPath.indexOf('?');
    p = rawPath.slice(0, i);
    extraQuery = rawPath.slice(i + 1);
  } else {
    p = concreteFor(rawPath);
  }
  if (!p.startsWith('/')) p = `/${p}`;
  p = p.replace(/[^\x21-\x7e]/g, (c) => encodeURIComponent(c));

  // query string
  const pairs = [];
  for (const [k, vs] of multiMap(m.queryStringParameters)) for (const v of vs) pairs.push([k, v]);
  const qs = [extraQuery, encodeQuery(pairs)].filter(Boolean).join('&');
  const target = qs ? `${p}?${qs}` : p;

  // headers
  const headers = [];
  for (const [k, vs] of multiMap(m.headers)) {
    if (SKIP_HEADERS.has(k.toLowerCase())) continue;
    for (const v of vs) headers.push([k, v]);
  }
  const cookies = singleMap(m.cookies);
  if (cookies.length) headers.push(['Cookie', cookies.map(([k, v]) => `${k}=${v}`).join('; ')]);

  // body
  let body = '';
  const b = bodyFor(m.body);
  if (b && !(typeof b.body === 'string' && b.body === '' && !b.contentType)) {
    body = b.body;
    if (b.contentType && !headers.some(([k]) => k.toLowerCase() === 'content-type')) headers.push(['Content-Type', b.contentType]);
  }
  return { method, path: target, headers, body };
}

function describeRequest(r) {
  const h = r.headers.length ? ` headers=${JSON.stringify(r.headers)}` : '';
  const b = Buffer.isBuffer(r.body) ? ` body=<${r.body.length} bytes>` : r.body ? ` body=${JSON.stringify(clip(r.body, 200))}` : '';
  return `${r.method} ${r.path}${h}${b}`;
}

/** The expectations in a file and the requests derived from them. */
function loadCorpusFile(name) {
  const raw = fs.readFileSync(path.join(corpusDir, name));
  let doc;
  let parseError = null;
  try {
    doc = lenientParse(raw.toString('utf8'));
  } catch (e) {
    parseError = e.message;
  }
  const expectations = doc === undefined ? [] : Array.isArray(doc) ? doc : [doc];
  const requests = [];
  const skipped = [];
  expectations.forEach((e, i) => {
    const r = deriveRequest(e);
    if (r.skip) skipped.push(`expectation ${i + 1}: ${r.skip}`);
    else requests.push({ ...r, from: `expectation ${i + 1}` });
  });
  requests.push({ method: 'GET', path: NO_MATCH_PATH, headers: [], body: '', from: 'no-match probe' });
  return { raw, expectations: expectations.length, parseError, requests, skipped };
}

// ---------------------------------------------------------------------------------------------
// comparing answers

function clip(text, max = 1500) {
  return text.length > max ? `${text.slice(0, max)}… [${text.length - max} more chars]` : text;
}

function normaliseText(text, server) {
  return text
    .split(`${server.host}:${server.port}`)
    .join('{{server}}')
    .split(`localhost:${server.port}`)
    .join('{{server}}');
}

function view(answer, server) {
  if (answer.error) return { error: answer.error };
  const headers = {};
  for (const [name, values] of Object.entries(answer.headers)) {
    if (NEVER_COMPARED.has(name)) continue;
    headers[name] = normaliseText(values.join(', '), server);
  }
  return { status: answer.status, headers, body: normaliseText(answer.body.toString('utf8'), server) };
}

function tryJson(text) {
  if (typeof text !== 'string' || text.trim() === '') return { ok: false };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

function bodiesEqual(a, b) {
  const ja = tryJson(a);
  const jb = tryJson(b);
  if (ja.ok && jb.ok) return isDeepStrictEqual(ja.value, jb.value);
  return a === b;
}

/** Differences (short lines) between MockServer's view and standin's; empty when they agree. */
function differences(ms, st) {
  const out = [];
  if (ms.error || st.error) {
    if (ms.error !== st.error) {
      out.push(`outcome: MockServer ${ms.error ? `error "${ms.error}"` : `status ${ms.status}`}, standin ${st.error ? `error "${st.error}"` : `status ${st.status}`}`);
    }
    return out;
  }
  if (ms.status !== st.status) out.push(`status: MockServer ${ms.status}, standin ${st.status}`);
  const names = COMPARE_ALL_HEADERS ? [...new Set([...Object.keys(ms.headers), ...Object.keys(st.headers)])].sort() : ['content-type'];
  for (const n of names) {
    if ((ms.headers[n] ?? null) !== (st.headers[n] ?? null)) {
      out.push(`header ${n}: MockServer ${JSON.stringify(ms.headers[n] ?? null)}, standin ${JSON.stringify(st.headers[n] ?? null)}`);
    }
  }
  if (!bodiesEqual(ms.body, st.body)) {
    const asJson = tryJson(ms.body).ok && tryJson(st.body).ok;
    out.push(`body differs (${asJson ? 'as JSON' : 'as text'}): MockServer ${JSON.stringify(clip(ms.body, 400))}, standin ${JSON.stringify(clip(st.body, 400))}`);
  }
  return out;
}

/** Headers other than content-type that differ (reported, not counted, unless CORPUS_COMPARE_HEADERS=all). */
function otherHeaderDifferences(ms, st) {
  if (ms.error || st.error || COMPARE_ALL_HEADERS) return [];
  const out = [];
  for (const n of [...new Set([...Object.keys(ms.headers), ...Object.keys(st.headers)])].sort()) {
    if (n === 'content-type') continue;
    if ((ms.headers[n] ?? null) !== (st.headers[n] ?? null)) out.push(`${n}: MockServer ${JSON.stringify(ms.headers[n] ?? null)}, standin ${JSON.stringify(st.headers[n] ?? null)}`);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// running a file against one server

async function runFile(server, loaded) {
  const reset = await httpCall({ port: server.port, method: 'PUT', path: '/mockserver/reset', body: '' });
  const put = await httpCall({
    port: server.port,
    method: 'PUT',
    path: '/mockserver/expectation',
    headers: { 'Content-Type': 'application/json' },
    body: loaded.raw,
    timeoutMs: 60000,
  });
  const answers = [];
  for (const r of loaded.requests) {
    const started = Date.now();
    const answer = await rawRequest({
      host: server.host,
      port: server.port,
      method: r.method,
      path: r.path,
      headers: r.headers,
      body: r.body,
      timeoutMs: REQUEST_TIMEOUT,
    });
    const v = view(answer, server);
    v.ms = Date.now() - started;
    answers.push(v);
  }
  return { reset: reset.status, load: { status: put.status, body: put.body }, answers };
}

// ---------------------------------------------------------------------------------------------
// the suite

const servers = {};
const results = []; // one per file, in order
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
});

function summarise() {
  const same = results.filter((r) => r.same).length;
  const lines = [];
  lines.push('');
  lines.push(`# corpus summary (${targets.join(' vs ')}; ${differential ? 'differential' : 'single target, nothing compared'})`);
  const w = Math.max(...results.map((r) => r.file.length), 4);
  lines.push(`# ${'file'.padEnd(w)}  load ms/st  agree/compared  same`);
  for (const r of results) {
    const load = `${r.load.mockserver ?? '-'}/${r.load.standin ?? '-'}`;
    lines.push(`# ${r.file.padEnd(w)}  ${load.padEnd(10)}  ${`${r.agreeing}/${r.compared}`.padEnd(14)}  ${r.same ? 'yes' : 'NO'}${r.firstDifference ? `  first: ${r.firstDifference.split('\n')[0]}` : ''}`);
  }
  lines.push(`# files behaving the same: ${same} / ${results.length}`);
  const totalReq = results.reduce((a, r) => a + r.compared, 0);
  const totalAgree = results.reduce((a, r) => a + r.agreeing, 0);
  lines.push(`# requests agreeing: ${totalAgree} / ${totalReq}`);
  return { same, text: lines.join('\n'), totalReq, totalAgree };
}

if (files.length === 0) {
  test('corpus files present', () => assert.fail(`no NN-*.json corpus files in ${corpusDir}${fileFilter ? ` matching "${fileFilter}"` : ''}`));
}

describe('MockServer expectation corpus', () => {
  for (const file of files) {
    test(file, { timeout: FILE_TIMEOUT }, async (t) => {
      if (startupError) assert.fail(`server start failed:\n${startupError}`);
      const loaded = loadCorpusFile(file);
      const per = {};
      await Promise.all(
        targets.map(async (name) => {
          per[name] = await runFile(servers[name], loaded);
        }),
      );
      const entry = {
        file,
        expectations: loaded.expectations,
        parseError: loaded.parseError,
        skipped: loaded.skipped,
        load: Object.fromEntries(targets.map((n) => [n, per[n].load.status])),
        compared: 0,
        agreeing: 0,
        same: false,
        firstDifference: null,
        requests: [],
      };
      if (loaded.parseError) t.diagnostic(`the runner could not parse the file (no requests derived): ${loaded.parseError}`);
      for (const s of loaded.skipped) t.diagnostic(`no request derived from ${s}`);

      if (differential) {
        const ms = per.mockserver;
        const st = per.standin;
        const loadAgrees = ms.load.status === st.load.status;
        if (!loadAgrees) {
          entry.firstDifference = `load: PUT /mockserver/expectation answered ${ms.load.status} on MockServer, ${st.load.status} on standin; standin said: ${clip(st.load.body, 600)}${ms.load.status >= 400 ? `; MockServer said: ${clip(ms.load.body, 600)}` : ''}`;
        }
        loaded.requests.forEach((r, i) => {
          const diffs = differences(ms.answers[i], st.answers[i]);
          const other = otherHeaderDifferences(ms.answers[i], st.answers[i]);
          entry.compared++;
          if (diffs.length === 0) entry.agreeing++;
          else if (!entry.firstDifference) entry.firstDifference = `request ${i + 1} (${r.from}) ${describeRequest(r)}\n  ${diffs.join('\n  ')}`;
          entry.requests.push({
            from: r.from,
            request: describeRequest(r),
            agrees: diffs.length === 0,
            differences: diffs,
            otherHeaderDifferences: other,
            mockserver: { status: ms.answers[i].status, error: ms.answers[i].error, contentType: ms.answers[i].headers?.['content-type'] ?? null, ms: ms.answers[i].ms },
            standin: { status: st.answers[i].status, error: st.answers[i].error, contentType: st.answers[i].headers?.['content-type'] ?? null, ms: st.answers[i].ms },
          });
        });
        entry.same = loadAgrees && entry.agreeing === entry.compared;
        entry.loadBodies = loadAgrees ? undefined : { mockserver: clip(ms.load.body, 2000), standin: clip(st.load.body, 2000) };
        t.diagnostic(`load ${ms.load.status}/${st.load.status} (MockServer/standin), requests agreeing ${entry.agreeing}/${entry.compared}: ${entry.same ? 'same' : 'DIFFERS'}`);
        if (entry.firstDifference) t.diagnostic(`first difference: ${entry.firstDifference}`);
      } else {
        const only = per[targets[0]];
        entry.requests = loaded.requests.map((r, i) => ({ from: r.from, request: describeRequest(r), [targets[0]]: { status: only.answers[i].status, error: only.answers[i].error } }));
        t.diagnostic(`load ${only.load.status} on ${targets[0]}; ${loaded.requests.length} requests sent (nothing compared: one target)`);
      }
      results.push(entry);
    });
  }

  test('summary and threshold', () => {
    const { same: sameAll, text, totalReq, totalAgree } = summarise();
    const same = results.filter((r) => r.same && !String(r.file ?? r.name ?? '').startsWith('local/')).length;
    console.log(text);
    const expectedPath = path.join(corpusDir, 'expected.json');
    let sameAtLeast = null;
    try {
      sameAtLeast = JSON.parse(fs.readFileSync(expectedPath, 'utf8')).sameAtLeast;
    } catch {
      // no threshold file
    }
    if (process.env.CORPUS_REPORT) {
      const report = {
        generatedAt: new Date().toISOString(),
        targets,
        standinBin: targets.includes('standin') ? process.env.STANDIN_URL || standinBin() : null,
        mockserver: servers.mockserver?.version ?? null,
        filter: fileFilter || null,
        compareHeaders: COMPARE_ALL_HEADERS ? 'all' : 'content-type',
        totals: { files: results.length, same: sameAll, sameInRepository: same, requests: totalReq, requestsAgreeing: totalAgree, sameAtLeast },
        files: results,
      };
      fs.writeFileSync(process.env.CORPUS_REPORT, `${JSON.stringify(report, null, 2)}\n`);
      console.log(`# report written to ${process.env.CORPUS_REPORT}`);
    }
    if (!differential || fileFilter || files.length !== allFiles.length) {
      console.log('# threshold not checked (filtered run or a single target)');
      return;
    }
    if (typeof sameAtLeast !== 'number') {
      console.log(`# threshold not checked (no {"sameAtLeast": N} in ${expectedPath})`);
      return;
    }
    assert.ok(
      same >= sameAtLeast,
      `only ${same} of ${results.length} corpus files behave the same on MockServer and standin; ${expectedPath} expects at least ${sameAtLeast}`,
    );
    if (same > sameAtLeast) console.log(`# ${same} files behave the same, more than the ${sameAtLeast} in expected.json: raise it`);
  });
});
