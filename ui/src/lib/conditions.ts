// Maps the request conditions of a route document (docs/matching.md) to the rows the
// editor's tables show, and back. A condition a row cannot show is kept as it was
// written ("advanced" rows hold its JSON), so nothing is lost on a round trip.

import type { Json } from './api';

let nextKey = 1;
export const newKey = () => nextKey++;

// ---------------------------------------------------------------- strings

export type StrOp = 'equals' | 'equalsIgnoreCase' | 'contains' | 'regex' | 'present' | 'absent' | 'jsonSchema' | 'advanced';

export const STR_OPS: { op: StrOp; label: string }[] = [
  { op: 'equals', label: 'equals' },
  { op: 'equalsIgnoreCase', label: 'equals (ignore case)' },
  { op: 'contains', label: 'contains' },
  { op: 'regex', label: 'matches regex' },
  { op: 'present', label: 'is present' },
  { op: 'absent', label: 'is absent' },
  { op: 'jsonSchema', label: 'valid against JSON Schema' },
  { op: 'advanced', label: 'any of / all of / each (JSON)' },
];

export interface StrRow {
  key: number;
  name: string;
  op: StrOp;
  value: string;
  negate: boolean;
  /** Written as a bare string (`"x"` rather than `{"equals": "x"}`). */
  bare: boolean;
}

function isObj(v: unknown): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function single(v: Record<string, Json>): [string, Json] | null {
  const ks = Object.keys(v);
  return ks.length === 1 ? [ks[0], v[ks[0]]] : null;
}

function simpleStr(m: Json): Omit<StrRow, 'key' | 'name' | 'negate'> | null {
  if (typeof m === 'string') return { op: 'equals', value: m, bare: true };
  if (!isObj(m)) return null;
  const s = single(m);
  if (!s) return null;
  const [k, v] = s;
  if ((k === 'equals' || k === 'equalsIgnoreCase' || k === 'contains' || k === 'regex') && typeof v === 'string') {
    return { op: k, value: v, bare: false };
  }
  if (k === 'present' && typeof v === 'boolean') return { op: v ? 'present' : 'absent', value: '', bare: false };
  if (k === 'jsonSchema' && isObj(v)) return { op: 'jsonSchema', value: JSON.stringify(v, null, 2), bare: false };
  return null;
}

export function strRowFrom(name: string, m: Json): StrRow {
  const direct = simpleStr(m);
  if (direct) return { key: newKey(), name, negate: false, ...direct };
  if (isObj(m)) {
    const s = single(m);
    if (s && s[0] === 'not') {
      const inner = simpleStr(s[1]);
      if (inner) return { key: newKey(), name, negate: true, ...inner };
    }
  }
  return { key: newKey(), name, op: 'advanced', value: JSON.stringify(m), negate: false, bare: false };
}

export class RowError extends Error {}

export function strMatcherOf(r: StrRow): Json {
  let m: Json;
  switch (r.op) {
    case 'equals':
      m = r.bare ? r.value : { equals: r.value };
      break;
    case 'equalsIgnoreCase':
    case 'contains':
    case 'regex':
      m = { [r.op]: r.value };
      break;
    case 'present':
      m = { present: true };
      break;
    case 'absent':
      m = { present: false };
      break;
    case 'jsonSchema': {
      const v = parseJsonOr(r.value, `the JSON Schema of "${r.name}"`);
      if (!isObj(v)) throw new RowError(`the JSON Schema of "${r.name}" must be an object`);
      m = { jsonSchema: v };
      break;
    }
    default:
      m = parseJsonOr(r.value, `the condition of "${r.name}"`);
  }
  return r.negate ? { not: m } : m;
}

function parseJsonOr(text: string, what: string): Json {
  try {
    return JSON.parse(text);
  } catch {
    throw new RowError(`${what} is not valid JSON`);
  }
}

export function strRowsFrom(map: Json | undefined): StrRow[] {
  if (!isObj(map)) return [];
  return Object.entries(map).map(([k, v]) => strRowFrom(k, v));
}

/** Rows to a name -> condition object; rows without a name are left out. Later rows with
 * the same name as an earlier one are combined with allOf. */
export function strMapOf(rows: StrRow[]): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const r of rows) {
    if (!r.name.trim()) continue;
    const m = strMatcherOf(r);
    if (r.name in out) {
      const prev = out[r.name];
      out[r.name] = isObj(prev) && Array.isArray(prev.allOf) && Object.keys(prev).length === 1 ? { allOf: [...prev.allOf, m] } : { allOf: [prev, m] };
    } else out[r.name] = m;
  }
  return out;
}

export function newStrRow(op: StrOp = 'equals', value = ''): StrRow {
  return { key: newKey(), name: '', op, value, negate: false, bare: op === 'equals' };
}

// ---------------------------------------------------------------- body

export type BodyKind =
  | 'equals'
  | 'contains'
  | 'regex'
  | 'json'
  | 'jsonPartial'
  | 'jsonPath'
  | 'jsonSchema'
  | 'xml'
  | 'xpath'
  | 'form'
  | 'base64'
  | 'advanced';

export const BODY_KINDS: { kind: BodyKind; label: string; hint: string; advanced?: boolean }[] = [
  { kind: 'jsonPartial', label: 'JSON contains (partial)', hint: 'the body is JSON containing these fields; arrays may have more elements' },
  { kind: 'json', label: 'JSON equals', hint: 'the body is JSON equal to this value (key order ignored)' },
  { kind: 'equals', label: 'Text equals', hint: 'the body is exactly this text' },
  { kind: 'contains', label: 'Text contains', hint: 'the body contains this text' },
  { kind: 'regex', label: 'Matches regex', hint: 'the regex matches the whole body' },
  { kind: 'form', label: 'Form fields', hint: 'a URL-encoded form whose fields meet these conditions' },
  { kind: 'jsonPath', label: 'JSONPath', hint: 'the JSONPath selects a node (optionally equal to a value)', advanced: true },
  { kind: 'jsonSchema', label: 'JSON Schema', hint: 'the body is JSON valid against this schema', advanced: true },
  { kind: 'xml', label: 'XML equals', hint: 'XML equal to this, ignoring whitespace and order', advanced: true },
  { kind: 'xpath', label: 'XPath', hint: 'the XPath 1.0 expression selects something in the XML body', advanced: true },
  { kind: 'base64', label: 'Bytes (base64)', hint: 'the body is exactly these bytes', advanced: true },
];

export interface BodyRow {
  key: number;
  kind: BodyKind;
  negate: boolean;
  bare: boolean;
  /** Text, regex, XML, XPath, base64, or the JSON text of a JSON value / schema / advanced condition. */
  value: string;
  /** jsonPath: the path and the optional JSON text of the value it must select. */
  path: string;
  equals: string;
  /** form: the field conditions. */
  form: StrRow[];
}

function blankBody(kind: BodyKind): BodyRow {
  return { key: newKey(), kind, negate: false, bare: false, value: '', path: '', equals: '', form: [] };
}

export function newBodyRow(kind: BodyKind): BodyRow {
  const r = blankBody(kind);
  if (kind === 'json' || kind === 'jsonPartial') r.value = '{\n  \n}';
  if (kind === 'jsonSchema') r.value = '{\n  "type": "object",\n  "required": []\n}';
  if (kind === 'jsonPath') r.path = '$.';
  return r;
}

function simpleBody(m: Json): BodyRow | null {
  if (typeof m === 'string') return { ...blankBody('equals'), bare: true, value: m };
  if (!isObj(m)) return null;
  const s = single(m);
  if (!s) return null;
  const [k, v] = s;
  if ((k === 'equals' || k === 'contains' || k === 'regex' || k === 'xml' || k === 'xpath' || k === 'base64') && typeof v === 'string') {
    return { ...blankBody(k), value: v };
  }
  if (k === 'json' || k === 'jsonPartial') return { ...blankBody(k), value: JSON.stringify(v, null, 2) };
  if (k === 'jsonSchema' && isObj(v)) return { ...blankBody('jsonSchema'), value: JSON.stringify(v, null, 2) };
  if (k === 'jsonPath' && isObj(v) && typeof v.path === 'string' && Object.keys(v).every((x) => x === 'path' || x === 'equals')) {
    return { ...blankBody('jsonPath'), path: v.path, equals: 'equals' in v ? JSON.stringify(v.equals) : '' };
  }
  if (k === 'form' && isObj(v)) return { ...blankBody('form'), form: strRowsFrom(v) };
  return null;
}

function bodyRowFrom(m: Json): BodyRow {
  const direct = simpleBody(m);
  if (direct) return direct;
  if (isObj(m)) {
    const s = single(m);
    if (s && s[0] === 'not') {
      const inner = simpleBody(s[1]);
      if (inner) return { ...inner, negate: true };
    }
  }
  return { ...blankBody('advanced'), value: JSON.stringify(m, null, 2) };
}

export function bodyRowsFrom(m: Json | undefined): BodyRow[] {
  if (m === undefined || m === null) return [];
  if (isObj(m)) {
    const s = single(m);
    if (s && s[0] === 'allOf' && Array.isArray(s[1]) && s[1].length > 1) return s[1].map(bodyRowFrom);
  }
  return [bodyRowFrom(m)];
}

function bodyMatcherOf(r: BodyRow): Json {
  let m: Json;
  switch (r.kind) {
    case 'equals':
      m = r.bare ? r.value : { equals: r.value };
      break;
    case 'contains':
    case 'regex':
    case 'xml':
    case 'xpath':
    case 'base64':
      m = { [r.kind]: r.value };
      break;
    case 'json':
    case 'jsonPartial':
      m = { [r.kind]: parseJsonOr(r.value, 'the JSON of the body condition') };
      break;
    case 'jsonSchema': {
      const v = parseJsonOr(r.value, 'the JSON Schema of the body condition');
      if (!isObj(v)) throw new RowError('the JSON Schema of the body condition must be an object');
      m = { jsonSchema: v };
      break;
    }
    case 'jsonPath': {
      const jp: Record<string, Json> = { path: r.path };
      if (r.equals.trim() !== '') jp.equals = parseJsonOr(r.equals, 'the value the JSONPath must select');
      m = { jsonPath: jp };
      break;
    }
    case 'form':
      m = { form: strMapOf(r.form) };
      break;
    default:
      m = parseJsonOr(r.value, 'the advanced body condition');
  }
  return r.negate ? { not: m } : m;
}

/** undefined: no body condition. */
export function bodyMatcherOfRows(rows: BodyRow[]): Json | undefined {
  if (rows.length === 0) return undefined;
  if (rows.length === 1) return bodyMatcherOf(rows[0]);
  return { allOf: rows.map(bodyMatcherOf) };
}

// ---------------------------------------------------------------- path and method

export type PathMode = 'pattern' | 'exact' | 'regex';

export interface PathState {
  mode: PathMode;
  value: string;
  negate: boolean;
  bare: boolean;
  /** A path condition the form cannot show (kept as written). */
  custom: Json | null;
  none: boolean;
}

function simplePath(m: Json): Omit<PathState, 'negate' | 'custom' | 'none'> | null {
  if (typeof m === 'string') return { mode: 'pattern', value: m, bare: true };
  if (!isObj(m)) return null;
  const s = single(m);
  if (!s) return null;
  if ((s[0] === 'pattern' || s[0] === 'exact' || s[0] === 'regex') && typeof s[1] === 'string') {
    return { mode: s[0], value: s[1], bare: false };
  }
  return null;
}

export function pathStateOf(m: Json | undefined): PathState {
  if (m === undefined || m === null) return { mode: 'pattern', value: '', negate: false, bare: true, custom: null, none: true };
  const d = simplePath(m);
  if (d) return { ...d, negate: false, custom: null, none: false };
  if (isObj(m)) {
    const s = single(m);
    if (s && s[0] === 'not') {
      const inner = simplePath(s[1]);
      if (inner) return { ...inner, negate: true, custom: null, none: false };
    }
  }
  return { mode: 'pattern', value: '', negate: false, bare: false, custom: m, none: false };
}

export function pathMatcherOf(p: PathState): Json | undefined {
  if (p.custom !== null) return p.custom;
  if (p.value === '') return undefined;
  const m: Json = p.mode === 'pattern' && p.bare ? p.value : { [p.mode]: p.value };
  return p.negate ? { not: m } : m;
}

export const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'];

/** The method a form select shows: '' for any method, 'custom' for a condition it cannot show. */
export function methodOf(m: Json | undefined): string {
  if (m === undefined || m === null) return '';
  if (typeof m === 'string') return m.toUpperCase() === m && METHODS.includes(m) ? m : 'custom';
  if (isObj(m)) {
    const s = single(m);
    if (s && s[0] === 'equals' && typeof s[1] === 'string' && METHODS.includes(s[1])) return s[1];
  }
  return 'custom';
}

/** A short text for a condition, for tables and summaries. */
export function methodLabel(m: Json | undefined): string {
  const v = methodOf(m);
  if (v === '') return 'ANY';
  if (v !== 'custom') return v;
  return typeof m === 'string' ? m : 'custom';
}

export function pathLabel(m: Json | undefined): string {
  if (m === undefined || m === null) return '(any path)';
  const p = pathStateOf(m);
  if (p.custom !== null) return JSON.stringify(p.custom);
  const pre = p.negate ? 'not ' : '';
  if (p.mode === 'pattern') return pre + p.value;
  return `${pre}${p.mode}: ${p.value}`;
}
