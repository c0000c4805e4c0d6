// A sample request that a route's conditions accept, for the Try panel and the curl lines.

import type { Json } from './api';
import { bodyRowsFrom, methodOf, pathStateOf, strRowsFrom, type StrRow } from './conditions';

export interface SampleRequest {
  method: string;
  path: string;
  query: string;
  headers: [string, string][];
  body: string;
}

function sampleFromRegex(re: string): string {
  if (/^\^?(\\d|\[0-9\])[+*]?(\{\d+(,\d*)?\})?\$?$/.test(re)) return '1';
  if (/^\^?\[a-z(A-Z)?(0-9)?\][+*]\$?$/.test(re)) return 'abc';
  // A literal regex (no metacharacters but escaped ones) is its own sample.
  if (!/[\\[\](){}.*+?|^$]/.test(re.replace(/\\./g, ''))) return re.replace(/\\(.)/g, '$1');
  const alt = /^\(?([A-Za-z0-9_-]+)\|/.exec(re);
  if (alt) return alt[1];
  return 'x';
}

function sampleOfRow(r: StrRow): string | null {
  if (r.negate) return r.op === 'absent' ? '1' : null;
  switch (r.op) {
    case 'equals':
    case 'equalsIgnoreCase':
    case 'contains':
      return r.value;
    case 'regex':
      return sampleFromRegex(r.value);
    case 'present':
      return '1';
    case 'jsonSchema':
      return /"(integer|number)"/.test(r.value) ? '1' : /"boolean"/.test(r.value) ? 'true' : 'x';
    default:
      return null;
  }
}

function paramSample(name: string, pathValues: StrRow[]): string {
  const cond = pathValues.find((r) => r.name === name);
  if (cond) {
    const s = sampleOfRow(cond);
    if (s !== null && s !== '') return s;
  }
  if (/(^|_|-)?(id|Id|ID)$/.test(name) || /^(n|num|number|count|page|index)$/i.test(name)) return '1';
  return 'sample';
}

export function samplePath(pathCond: Json | undefined, pathValuesCond?: Json): string {
  const p = pathStateOf(pathCond);
  const pv = strRowsFrom(pathValuesCond);
  if (p.none || p.custom !== null || p.negate) return '/';
  if (p.mode === 'exact') return p.value || '/';
  if (p.mode === 'regex') {
    let r = p.value.replace(/^\^/, '').replace(/\$$/, '');
    r = r.replace(/\(\?P?<([A-Za-z_][A-Za-z0-9_]*)>([^()]*)\)/g, (_m, name: string, inner: string) => {
      const c = pv.find((x) => x.name === name);
      const s = c ? sampleOfRow(c) : null;
      return s !== null && s !== '' ? s : sampleFromRegex(inner);
    });
    r = r.replace(/\[0-9\][+*]|\\d[+*]?/g, '1').replace(/\.\*|\.\+|\[\^\/\][+*]/g, 'x').replace(/\\(.)/g, '$1');
    return r.startsWith('/') ? r : '/' + r;
  }
  const segs = p.value.split('/').map((seg) => {
    if (seg === '*') return 'x';
    if (seg === '**') return '';
    let m = /^\{\*([^}]*)\}$/.exec(seg);
    if (m) return 'rest';
    m = /^\{([^}]*)\}$/.exec(seg);
    if (m) return encodeURIComponent(paramSample(m[1], pv));
    return seg;
  });
  let out = segs.join('/').replace(/\/+$/, '');
  if (!out.startsWith('/')) out = '/' + out;
  return out || '/';
}

export function sampleRequest(http: any): SampleRequest {
  const req = (http && http.request) || {};
  let method = methodOf(req.method);
  if (method === '' || method === 'custom') method = typeof req.method === 'string' ? req.method : 'GET';
  const path = samplePath(req.path, req.pathValues);

  const q = new URLSearchParams();
  for (const r of strRowsFrom(req.query)) {
    const s = sampleOfRow(r);
    if (s !== null) q.append(r.name, s);
  }

  const headers: [string, string][] = [];
  for (const r of strRowsFrom(req.headers)) {
    const s = sampleOfRow(r);
    if (s !== null) {
      // A "contains json" Content-Type becomes a real media type.
      if (r.name.toLowerCase() === 'content-type' && r.op === 'contains' && /json/i.test(r.value)) headers.push([r.name, 'application/json']);
      else headers.push([r.name, s]);
    }
  }
  const cookies: string[] = [];
  for (const r of strRowsFrom(req.cookies)) {
    const s = sampleOfRow(r);
    if (s !== null) cookies.push(`${r.name}=${s}`);
  }
  if (cookies.length) headers.push(['Cookie', cookies.join('; ')]);

  let body = '';
  let jsonBody = false;
  for (const b of bodyRowsFrom(req.body)) {
    if (b.negate) continue;
    if (b.kind === 'json' || b.kind === 'jsonPartial') {
      body = b.value;
      jsonBody = true;
    } else if (b.kind === 'jsonSchema') {
      body = sampleFromSchema(b.value);
      jsonBody = true;
    } else if (b.kind === 'equals' || b.kind === 'contains' || b.kind === 'xml') {
      body = b.value;
    } else if (b.kind === 'form') {
      const f = new URLSearchParams();
      for (const r of b.form) {
        const s = sampleOfRow(r);
        if (s !== null) f.append(r.name, s);
      }
      body = f.toString();
      if (!headers.some(([n]) => n.toLowerCase() === 'content-type')) headers.push(['Content-Type', 'application/x-www-form-urlencoded']);
    } else if (b.kind === 'jsonPath') {
      jsonBody = true;
      body = body || '{}';
    }
    if (body) break;
  }
  if (jsonBody && !headers.some(([n]) => n.toLowerCase() === 'content-type')) headers.push(['Content-Type', 'application/json']);
  return { method, path, query: q.toString(), headers, body };
}

/** A small value valid against simple schemas (required properties with their types). */
function sampleFromSchema(text: string): string {
  try {
    const schema = JSON.parse(text);
    return JSON.stringify(valueFor(schema, 0), null, 2);
  } catch {
    return '{}';
  }
}

function valueFor(s: any, depth: number): Json {
  if (!s || typeof s !== 'object' || depth > 5) return null;
  if ('const' in s) return s.const;
  if (Array.isArray(s.enum) && s.enum.length) return s.enum[0];
  if ('example' in s) return s.example;
  if ('default' in s) return s.default;
  const t = Array.isArray(s.type) ? s.type.find((x: string) => x !== 'null') : s.type;
  switch (t) {
    case 'object': {
      const o: Record<string, Json> = {};
      const props = s.properties || {};
      const req: string[] = Array.isArray(s.required) ? s.required : [];
      for (const k of req) o[k] = valueFor(props[k] || {}, depth + 1);
      return o;
    }
    case 'array':
      return s.minItems ? [valueFor(s.items || {}, depth + 1)] : [];
    case 'integer':
    case 'number':
      return typeof s.minimum === 'number' ? s.minimum : 1;
    case 'boolean':
      return true;
    case 'string':
      return 'sample';
    default:
      return s.properties || s.required ? valueFor({ ...s, type: 'object' }, depth) : 'sample';
  }
}

function shq(s: string): string {
  if (/^[A-Za-z0-9_\-./:=@%+,?&]+$/.test(s)) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export function curlLine(baseUrl: string, http: any): string {
  const s = sampleRequest(http);
  const url = baseUrl + (s.path === '/' ? '/' : s.path) + (s.query ? `?${s.query}` : '');
  const parts = ['curl'];
  if (s.method !== 'GET' || s.body) parts.push('-X', s.method);
  parts.push(shq(url));
  for (const [n, v] of s.headers) parts.push('-H', shq(`${n}: ${v}`));
  if (s.body) parts.push('--data-raw', shq(s.body.includes('\n') && s.body.trim().startsWith('{') ? compactJson(s.body) : s.body));
  return parts.join(' ');
}

function compactJson(t: string): string {
  try {
    return JSON.stringify(JSON.parse(t));
  } catch {
    return t;
  }
}
