import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiError, call, errorText, revisionOf, routePath, servicePath, type Json, type RouteRecord } from '../lib/api';
import { links, navigate, hashQuery } from '../lib/router';
import { METHODS, methodOf, pathMatcherOf, pathStateOf, type PathMode, type PathState, newKey } from '../lib/conditions';
import { checkJson, formatJsonText, lintMessage, maskTemplates } from '../lib/jsonlint';
import { CodeEditor } from '../components/CodeEditor';
import { BodyConditions, StrTable, addStrCondition, useRows } from '../components/Conditions';
import { ConflictBanner, type ConflictInfo } from '../components/Conflict';
import { HistoryView } from '../components/HistoryView';
import { TryPanel } from '../components/TryPanel';
import { ConfirmModal, ErrorBox, Field, Markdown, Menu, MenuItem, Spinner, TagsInput, Tabs, Toggle, When, toast } from '../components/ui';

type BodyKindR = 'json' | 'text' | 'base64' | 'none';
type ReqTab = 'query' | 'headers' | 'cookies' | 'body' | 'pathValues' | 'more';
type MainTab = 'edit' | 'raw' | 'history';

const PREFILL_KEY = 'standin.routePrefill';

/** Keeps a draft for the next "new route" page (from the live log's "Create a route"). */
export function setRoutePrefill(doc: Record<string, any>) {
  try {
    sessionStorage.setItem(PREFILL_KEY, JSON.stringify(doc));
  } catch {
    /* ignore */
  }
}

function takePrefill(): Record<string, any> | null {
  try {
    const t = sessionStorage.getItem(PREFILL_KEY);
    if (!t) return null;
    sessionStorage.removeItem(PREFILL_KEY);
    return JSON.parse(t);
  } catch {
    return null;
  }
}

export function blankRoute(): Record<string, any> {
  return {
    name: '',
    enabled: true,
    priority: 0,
    tags: [],
    memo: '',
    http: {
      request: { method: 'GET', path: '/' },
      response: { status: 200, headers: { 'Content-Type': 'application/json' }, body: { json: {} }, delayMs: 0, templated: false },
    },
  };
}

function docOf(rec: RouteRecord): Record<string, any> {
  const { team: _t, service: _s, meta: _m, ...doc } = rec as Record<string, any>;
  return doc;
}

function bodyFromDoc(doc: any): { kind: BodyKindR; text: string } {
  const b = doc?.http?.response?.body;
  if (!b || typeof b !== 'object') return { kind: 'none', text: '' };
  if ('json' in b) return { kind: 'json', text: JSON.stringify(b.json, null, 2) };
  if ('text' in b) return { kind: 'text', text: String(b.text) };
  if ('base64' in b) return { kind: 'base64', text: String(b.base64) };
  return { kind: 'none', text: '' };
}

function ensureResponse(d: any): any {
  d.http = d.http || {};
  d.http.request = d.http.request || {};
  d.http.response = d.http.response || {};
  return d.http.response;
}

function ensureRequest(d: any): any {
  d.http = d.http || {};
  d.http.request = d.http.request || {};
  return d.http.request;
}

function setOrDelete(obj: any, key: string, v: unknown) {
  if (v === undefined) delete obj[key];
  else obj[key] = v;
}

function headerValue(headers: any, name: string): string {
  if (!headers || typeof headers !== 'object') return '';
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === name.toLowerCase()) return Array.isArray(v) ? String(v[0] ?? '') : String(v);
  return '';
}

// ---------------------------------------------------------------- response headers table

interface HRow {
  key: number;
  name: string;
  value: string;
}

function hRowsFrom(v: Json | undefined): HRow[] {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return [];
  const rows: HRow[] = [];
  for (const [k, val] of Object.entries(v)) {
    if (Array.isArray(val)) val.forEach((x) => rows.push({ key: newKey(), name: k, value: String(x) }));
    else rows.push({ key: newKey(), name: k, value: String(val ?? '') });
  }
  return rows;
}

function hMapOf(rows: HRow[]): Record<string, Json> | undefined {
  const out: Record<string, Json> = {};
  for (const r of rows) {
    if (!r.name.trim()) continue;
    const prev = out[r.name];
    if (prev === undefined) out[r.name] = r.value;
    else out[r.name] = Array.isArray(prev) ? [...prev, r.value] : [prev as string, r.value];
  }
  return Object.keys(out).length ? out : undefined;
}

function ResponseHeaders({ value, onChange, serverError }: { value: Json | undefined; onChange: (v: Json | undefined) => void; serverError?: string | null }) {
  const { rows, setRows } = useRows<HRow>(value, hRowsFrom, hMapOf, onChange);
  const upd = (key: number, p: Partial<HRow>) => setRows(rows.map((r) => (r.key === key ? { ...r, ...p } : r)));
  return (
    <div class="kv" data-testid="resp-headers">
      {rows.length > 0 && (
        <table class="kv-table">
          <thead>
            <tr>
              <th class="kv-name">Header</th>
              <th>Value</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.key}>
                <td>
                  <input class="input input-small mono" value={r.name} placeholder="Content-Type" data-testid="resp-header-name" onInput={(e) => upd(r.key, { name: (e.target as HTMLInputElement).value })} />
                </td>
                <td>
                  <input class="input input-small mono" value={r.value} placeholder="value" data-testid="resp-header-value" onInput={(e) => upd(r.key, { value: (e.target as HTMLInputElement).value })} />
                </td>
                <td>
                  <button type="button" class="icon-btn" aria-label="Remove" onClick={() => setRows(rows.filter((x) => x.key !== r.key))}>
                    ✕
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {serverError && <div class="field-error">{serverError}</div>}
      <button type="button" class="btn btn-small btn-ghost" data-testid="resp-header-add" onClick={() => setRows([...rows, { key: newKey(), name: '', value: '' }])}>
        + Add header
      </button>
    </div>
  );
}

// ---------------------------------------------------------------- the page

interface Loaded {
  rec: RouteRecord | null;
  rev: string | null;
}

export function RouteEditorPage({ team, svc, id }: { team: string; svc: string; id: string | null }) {
  const [loaded, setLoaded] = useState<Loaded | null>(null);
  const [loadErr, setLoadErr] = useState<unknown>(null);
  const [doc, setDocState] = useState<Record<string, any> | null>(null);
  const [original, setOriginal] = useState<string>('');
  const [rawText, setRawText] = useState('');
  const [bodyKind, setBodyKind] = useState<BodyKindR>('json');
  const [bodyText, setBodyText] = useState('');
  const [newId, setNewId] = useState('');
  const [tab, setTab] = useState<MainTab>((hashQuery().get('tab') as MainTab) || 'edit');
  const [reqTab, setReqTab] = useState<ReqTab>('query');
  const [apiErr, setApiErr] = useState<unknown>(null);
  const [conflict, setConflict] = useState<ConflictInfo | null>(null);
  const [saving, setSaving] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const [memoPreview, setMemoPreview] = useState(true);
  const [reloadTick, setReloadTick] = useState(0);

  const applyDoc = (next: Record<string, any>, from: 'form' | 'raw' | 'body' | 'load') => {
    setDocState(next);
    if (from !== 'raw') setRawText(JSON.stringify(next, null, 2));
    if (from === 'raw' || from === 'load') {
      const b = bodyFromDoc(next);
      setBodyKind(b.kind);
      setBodyText(b.text);
    }
  };

  const load = async () => {
    setLoadErr(null);
    setApiErr(null);
    try {
      if (id === null) {
        const d = takePrefill() || blankRoute();
        setNewId(typeof d.id === 'string' ? d.id : '');
        setLoaded({ rec: null, rev: null });
        setOriginal('');
        applyDoc(d, 'load');
      } else {
        const r = await call<RouteRecord>(routePath(team, svc, id));
        const d = docOf(r.data);
        setLoaded({ rec: r.data, rev: revisionOf(r.data, r.etag) });
        setOriginal(JSON.stringify(d));
        applyDoc(d, 'load');
      }
    } catch (e) {
      setLoadErr(e);
    }
  };

  useEffect(() => {
    setDocState(null);
    setLoaded(null);
    setConflict(null);
    load();
  }, [team, svc, id, reloadTick]);

  const templated = !!doc?.http?.response?.templated;
  const contentType = headerValue(doc?.http?.response?.headers, 'content-type');
  const lintBody = bodyKind === 'json' || (bodyKind === 'text' && /json/i.test(contentType));
  const bodyProblem = useMemo(() => {
    if (bodyKind === 'json') return checkJson(bodyText);
    if (bodyKind === 'text' && /json/i.test(contentType)) return checkJson(templated ? maskTemplates(bodyText) : bodyText);
    return null;
  }, [bodyKind, bodyText, templated, contentType]);
  const rawProblem = useMemo(() => checkJson(rawText), [rawText]);

  // Unsaved: the document differs from the stored one, or the body editor holds text that is not in it yet.
  const dirty = doc !== null && (id === null || JSON.stringify(doc) !== original || (bodyKind === 'json' && bodyProblem !== null));
  useEffect(() => {
    if (!dirty) return;
    const h = (e: BeforeUnloadEvent) => {
      e.preventDefault();
    };
    window.addEventListener('beforeunload', h);
    return () => window.removeEventListener('beforeunload', h);
  }, [dirty]);

  // Ctrl/Cmd+S saves.
  const saveRef = useRef<() => void>(() => undefined);
  useEffect(() => {
    const h = (e: KeyboardEvent) => {
      if ((e.ctrlKey || e.metaKey) && e.key === 's') {
        e.preventDefault();
        saveRef.current();
      }
    };
    document.addEventListener('keydown', h);
    return () => document.removeEventListener('keydown', h);
  }, []);

  if (loadErr) return <ErrorBox error={loadErr} title={id ? `Route ${id}` : 'New route'} />;
  if (!doc || !loaded) return <Spinner />;

  const mut = (fn: (d: any) => void) => {
    const next = structuredClone(doc);
    fn(next);
    applyDoc(next, 'form');
  };

  const req = doc.http?.request || {};
  const resp = doc.http?.response || {};
  const pathState = pathStateOf(req.path);
  const method = methodOf(req.method);

  const ptr = apiErr instanceof ApiError ? apiErr.pointer || '' : '';
  const errAt = (prefix: string, exact = false): string | null => {
    if (!ptr) return null;
    if (exact ? ptr === prefix : ptr === prefix || ptr.startsWith(prefix + '/')) return (apiErr as ApiError).message;
    return null;
  };

  const setBody = (kind: BodyKindR, text: string) => {
    setBodyKind(kind);
    setBodyText(text);
    const next = structuredClone(doc);
    assignBody(ensureResponse(next), kind, text);
    applyDoc(next, 'body');
  };

  /** A json body switched to text keeps being served as JSON: it gets the Content-Type json gave it. */
  const switchKind = (k: BodyKindR) => {
    if (k === bodyKind) return;
    let text = bodyText;
    if (k === 'json' && bodyKind === 'none') text = '{}';
    if (k === 'none') text = '';
    const next = structuredClone(doc);
    const r = ensureResponse(next);
    if (bodyKind === 'json' && k === 'text' && !headerValue(r.headers, 'content-type') && /^\s*[[{]/.test(text)) {
      r.headers = { ...(r.headers || {}), 'Content-Type': 'application/json' };
    }
    assignBody(r, k, text);
    setBodyKind(k);
    setBodyText(text);
    applyDoc(next, 'body');
  };

  const onRaw = (text: string) => {
    setRawText(text);
    if (checkJson(text) === null) {
      const v = JSON.parse(text);
      if (v && typeof v === 'object' && !Array.isArray(v)) {
        // A new route's id field follows the document.
        if (id === null) setNewId(typeof v.id === 'string' ? v.id : '');
        applyDoc(v, 'raw');
      }
    }
  };

  const problemBeforeSave = (): string | null => {
    if (tab === 'raw' && rawProblem) return `The raw document is not valid JSON: ${lintMessage(rawProblem)}`;
    if (bodyKind === 'json' && bodyProblem) return `The response body is not valid JSON: ${lintMessage(bodyProblem)}`;
    return null;
  };

  const payload = (): Record<string, any> => {
    const p = structuredClone(doc);
    if (id === null) {
      if (newId.trim()) p.id = newId.trim();
      else delete p.id;
    } else p.id = id;
    return p;
  };

  const save = async (force = false) => {
    const problem = problemBeforeSave();
    if (problem) {
      setApiErr(new Error(problem));
      return;
    }
    setSaving(true);
    setApiErr(null);
    try {
      if (id === null) {
        const r = await call<RouteRecord>(`${servicePath(team, svc)}/routes`, { method: 'POST', body: payload() });
        toast(`Route ${r.data.id} created`);
        navigate(links.route(team, svc, r.data.id));
      } else {
        const r = await call<RouteRecord>(routePath(team, svc, id), { method: 'PUT', body: payload(), ifMatch: force ? null : loaded.rev });
        const d = docOf(r.data);
        setLoaded({ rec: r.data, rev: revisionOf(r.data, r.etag) });
        setOriginal(JSON.stringify(d));
        applyDoc(d, 'load');
        setConflict(null);
        toast('Route saved');
      }
    } catch (e) {
      if (e instanceof ApiError && e.status === 412 && id !== null) {
        const cur = await call<RouteRecord>(routePath(team, svc, id)).catch(() => null);
        setConflict({
          entity: 'route',
          message: e.message,
          current: cur?.data ?? null,
          mine: payload(),
          reload: () => setReloadTick((t) => t + 1),
          overwrite: async () => save(true),
        });
      } else {
        setApiErr(e);
        if (e instanceof ApiError && e.pointer) {
          const p = e.pointer;
          const m = /^\/http\/request\/(query|headers|cookies|body|pathValues|queryPatterns|headerPatterns|cookiePatterns)/.exec(p);
          if (m) {
            setTab('edit');
            setReqTab((m[1].endsWith('Patterns') ? 'more' : m[1]) as ReqTab);
          } else if (p.startsWith('/http')) setTab((t) => (t === 'history' ? 'edit' : t));
        }
      }
    } finally {
      setSaving(false);
    }
  };
  saveRef.current = () => void save();

  const countOf = (v: any) => (v && typeof v === 'object' && !Array.isArray(v) ? Object.keys(v).length : 0);
  const bodyCount = req.body === undefined || req.body === null ? 0 : req.body?.allOf && Object.keys(req.body).length === 1 ? req.body.allOf.length : 1;
  const patternsCount = ['queryPatterns', 'headerPatterns', 'cookiePatterns'].reduce((n, k) => n + (Array.isArray(req[k]) ? req[k].length : 0), 0);

  const knownReq = new Set(['method', 'path', 'query', 'headers', 'cookies', 'body', 'pathValues', 'queryPatterns', 'headerPatterns', 'cookiePatterns']);
  const otherReq = Object.keys(req).filter((k) => !knownReq.has(k));
  const knownResp = new Set(['status', 'headers', 'body', 'delayMs', 'templated', 'fault', 'reason']);
  const otherResp = Object.keys(resp).filter((k) => !knownResp.has(k));
  const otherHttp = Object.keys(doc.http || {}).filter((k) => k !== 'request' && k !== 'response');

  const faultVal = resp.fault === undefined || resp.fault === null ? 'none' : typeof resp.fault === 'string' ? resp.fault : 'rawBytes';

  const addAdvanced = (what: string) => {
    if (what.startsWith('body:')) {
      const kind = what.slice(5);
      mut((d) => {
        const r = ensureRequest(d);
        const add: Record<string, Json> =
          kind === 'jsonPath'
            ? { jsonPath: { path: '$.id' } }
            : kind === 'jsonSchema'
              ? { jsonSchema: { type: 'object', required: [] } }
              : kind === 'xpath'
                ? { xpath: '/root' }
                : kind === 'xml'
                  ? { xml: '<root/>' }
                  : kind === 'notContains'
                    ? { not: { contains: 'text' } }
                    : { contains: '' };
        if (r.body === undefined || r.body === null) r.body = add;
        else if (r.body.allOf && Object.keys(r.body).length === 1) r.body.allOf.push(add);
        else r.body = { allOf: [r.body, add] };
      });
      setReqTab('body');
      return;
    }
    if (what === 'header:absent') {
      mut((d) => (ensureRequest(d).headers = addStrCondition(ensureRequest(d).headers, 'X-Header', { present: false })));
      setReqTab('headers');
    }
    if (what === 'header:schema') {
      mut((d) => (ensureRequest(d).headers = addStrCondition(ensureRequest(d).headers, 'X-Header', { jsonSchema: { type: 'string', minLength: 1 } })));
      setReqTab('headers');
    }
    if (what === 'query:schema') {
      mut((d) => (ensureRequest(d).query = addStrCondition(ensureRequest(d).query, 'param', { jsonSchema: { type: 'integer', minimum: 1 } })));
      setReqTab('query');
    }
    if (what === 'query:not') {
      mut((d) => (ensureRequest(d).query = addStrCondition(ensureRequest(d).query, 'param', { not: 'value' })));
      setReqTab('query');
    }
    if (what === 'path:not') mut((d) => (ensureRequest(d).path = { not: pathMatcherOf({ ...pathState, negate: false }) ?? '/' }));
    if (what === 'pathValue') {
      mut((d) => (ensureRequest(d).pathValues = addStrCondition(ensureRequest(d).pathValues, 'id', { regex: '[0-9]+' })));
      setReqTab('pathValues');
    }
  };

  const setPath = (p: PathState) => mut((d) => setOrDelete(ensureRequest(d), 'path', pathMatcherOf(p)));

  const editorTab = (
    <div class="editor-cols">
      <div class="editor-main">
        {/* ------------------------------------------------ request */}
        <section class="card panel" data-testid="request-panel">
          <div class="panel-head">
            <h2>Request</h2>
            <span class="muted small grow">A request matches when every condition holds.</span>
            <Menu label="+ Advanced condition" testid="advanced-menu" align="right" class="btn-small">
              {(close) => (
                <>
                  {[
                    ['body:jsonPath', 'Body: JSONPath selects a node'],
                    ['body:jsonSchema', 'Body: valid against a JSON Schema'],
                    ['body:xpath', 'Body: XPath (XML)'],
                    ['body:xml', 'Body: XML equals'],
                    ['body:notContains', 'Body: does NOT contain…'],
                    ['query:schema', 'Query parameter: JSON Schema'],
                    ['query:not', 'Query parameter: NOT equal to…'],
                    ['header:absent', 'Header: must be absent'],
                    ['header:schema', 'Header: JSON Schema'],
                    ['pathValue', 'Path value: regex on a {param}'],
                    ['path:not', 'Path: NOT this path'],
                  ].map(([k, label]) => (
                    <MenuItem
                      key={k}
                      testid={`adv-${k.replace(':', '-')}`}
                      onClick={() => {
                        addAdvanced(k);
                        close();
                      }}
                    >
                      {label}
                    </MenuItem>
                  ))}
                </>
              )}
            </Menu>
          </div>
          <div class="req-line">
            <select
              class={`input method-select m-${(method || 'any').toLowerCase()}`}
              value={method}
              data-testid="req-method"
              onChange={(e) => {
                const v = (e.target as HTMLSelectElement).value;
                if (v === 'custom') return;
                mut((d) => setOrDelete(ensureRequest(d), 'method', v === '' ? undefined : v));
              }}
            >
              <option value="">ANY</option>
              {METHODS.map((m) => (
                <option key={m} value={m}>
                  {m}
                </option>
              ))}
              {method === 'custom' && <option value="custom">custom…</option>}
            </select>
            {pathState.custom !== null ? (
              <code class="input mono grow custom-path" title="A path condition the form cannot show; edit it in the Raw JSON tab">
                {JSON.stringify(pathState.custom)}
              </code>
            ) : (
              <>
                <select
                  class="input path-mode"
                  value={pathState.mode}
                  data-testid="req-path-mode"
                  title="pattern: {param}, * and ** have their meaning; exact: the path as written; regex: the whole path"
                  onChange={(e) => {
                    const mode = (e.target as HTMLSelectElement).value as PathMode;
                    setPath({ ...pathState, mode, bare: mode === 'pattern', none: false });
                  }}
                >
                  <option value="pattern">pattern</option>
                  <option value="exact">exact</option>
                  <option value="regex">regex</option>
                </select>
                <input
                  class={`input mono grow ${errAt('/http/request/path') ? 'input-error' : ''}`}
                  value={pathState.value}
                  data-testid="req-path"
                  placeholder={pathState.mode === 'regex' ? '/orders/(?P<n>[0-9]+)' : '/cards/{id}  (empty: any path)'}
                  onInput={(e) => setPath({ ...pathState, value: (e.target as HTMLInputElement).value, none: false })}
                />
                <label class="check small" title="The path must NOT match">
                  <input type="checkbox" checked={pathState.negate} onChange={(e) => setPath({ ...pathState, negate: (e.target as HTMLInputElement).checked })} /> not
                </label>
              </>
            )}
          </div>
          {method === 'custom' && <p class="small muted">The method condition is {JSON.stringify(req.method)} (kept as written; edit it in Raw JSON).</p>}
          {(errAt('/http/request/path') || errAt('/http/request/method')) && (
            <div class="field-error" data-testid="path-error">
              {errAt('/http/request/path') || errAt('/http/request/method')}
            </div>
          )}
          <Tabs<ReqTab>
            active={reqTab}
            onChange={setReqTab}
            testid="request-tabs"
            tabs={[
              { id: 'query', label: 'Query', badge: countOf(req.query) },
              { id: 'headers', label: 'Headers', badge: countOf(req.headers) },
              { id: 'cookies', label: 'Cookies', badge: countOf(req.cookies) },
              { id: 'body', label: 'Body', badge: bodyCount },
              { id: 'pathValues', label: 'Path values', badge: countOf(req.pathValues) },
              { id: 'more', label: 'More', badge: patternsCount + otherReq.length },
            ]}
          />
          <div class="tab-body">
            {reqTab === 'query' && (
              <StrTable value={req.query} onChange={(v) => mut((d) => setOrDelete(ensureRequest(d), 'query', v))} nameLabel="Parameter" namePlaceholder="page" testid="query-table" addLabel="+ Add query parameter" serverError={errAt('/http/request/query')} />
            )}
            {reqTab === 'headers' && (
              <StrTable value={req.headers} onChange={(v) => mut((d) => setOrDelete(ensureRequest(d), 'headers', v))} nameLabel="Header" namePlaceholder="Authorization" testid="headers-table" addLabel="+ Add header" serverError={errAt('/http/request/headers')} />
            )}
            {reqTab === 'cookies' && (
              <StrTable value={req.cookies} onChange={(v) => mut((d) => setOrDelete(ensureRequest(d), 'cookies', v))} nameLabel="Cookie" namePlaceholder="session" testid="cookies-table" addLabel="+ Add cookie" serverError={errAt('/http/request/cookies')} />
            )}
            {reqTab === 'body' && <BodyConditions value={req.body} onChange={(v) => mut((d) => setOrDelete(ensureRequest(d), 'body', v))} serverError={errAt('/http/request/body')} />}
            {reqTab === 'pathValues' && (
              <>
                <p class="muted small">Conditions on the values the path captures: {'{name}'} segments, {'{*name}'} and named regex groups.</p>
                <StrTable value={req.pathValues} onChange={(v) => mut((d) => setOrDelete(ensureRequest(d), 'pathValues', v))} nameLabel="Path value" namePlaceholder="id" testid="pathvalues-table" addLabel="+ Add path value condition" serverError={errAt('/http/request/pathValues')} />
              </>
            )}
            {reqTab === 'more' && (
              <div class="small">
                {patternsCount === 0 && otherReq.length === 0 && <p class="muted">No other conditions.</p>}
                {['queryPatterns', 'headerPatterns', 'cookiePatterns'].map((k) =>
                  Array.isArray(req[k]) && req[k].length ? (
                    <div key={k} class="kept">
                      <strong class="mono">{k}</strong> ({req[k].length}): conditions on names, kept as written — edit them in the Raw JSON tab.
                      <pre class="mono small">{JSON.stringify(req[k], null, 2)}</pre>
                    </div>
                  ) : null,
                )}
                {otherReq.map((k) => (
                  <div key={k} class="kept">
                    <strong class="mono">{k}</strong>: kept as written.
                  </div>
                ))}
                {errAt('/http/request') && <div class="field-error">{errAt('/http/request')}</div>}
              </div>
            )}
          </div>
        </section>

        {/* ------------------------------------------------ response */}
        <section class="card panel" data-testid="response-panel">
          <div class="panel-head">
            <h2>Response</h2>
            <span class="grow" />
          </div>
          <div class="resp-line">
            <Field label="Status" error={errAt('/http/response/status')} class="status-field">
              <input
                class="input mono"
                type="number"
                min={100}
                max={999}
                data-testid="resp-status"
                value={resp.status ?? ''}
                onInput={(e) => {
                  const t = (e.target as HTMLInputElement).value;
                  mut((d) => setOrDelete(ensureResponse(d), 'status', t === '' ? undefined : Number(t)));
                }}
              />
            </Field>
            <Field label="Reason phrase" hint="optional, HTTP/1.1" class="grow">
              <input class="input" value={resp.reason ?? ''} placeholder="(standard)" onInput={(e) => mut((d) => setOrDelete(ensureResponse(d), 'reason', (e.target as HTMLInputElement).value || undefined))} />
            </Field>
            <Field label="Delay (ms)" error={errAt('/http/response/delayMs')} class="delay-field">
              <input
                class="input"
                type="number"
                min={0}
                data-testid="resp-delay"
                value={resp.delayMs ?? 0}
                onInput={(e) => {
                  const t = (e.target as HTMLInputElement).value;
                  mut((d) => setOrDelete(ensureResponse(d), 'delayMs', t === '' ? undefined : Number(t)));
                }}
              />
            </Field>
            <Field label="Fault" error={errAt('/http/response/fault')} class="fault-field">
              <select
                class="input"
                data-testid="resp-fault"
                value={faultVal}
                onChange={(e) => {
                  const v = (e.target as HTMLSelectElement).value;
                  if (v === 'rawBytes') return;
                  mut((d) => setOrDelete(ensureResponse(d), 'fault', v === 'none' ? undefined : v));
                }}
              >
                <option value="none">none</option>
                <option value="closeAfterResponse">close after response</option>
                <option value="dropConnection">drop connection</option>
                {faultVal === 'rawBytes' && <option value="rawBytes">raw bytes (kept)</option>}
              </select>
            </Field>
          </div>
          <div class="field-label">Headers</div>
          <ResponseHeaders value={resp.headers} onChange={(v) => mut((d) => setOrDelete(ensureResponse(d), 'headers', v))} serverError={errAt('/http/response/headers')} />
          <div class="body-toolbar">
            <span class="field-label">Body</span>
            <div class="seg" role="radiogroup" aria-label="Body kind" data-testid="resp-body-kind">
              {(['json', 'text', 'base64', 'none'] as BodyKindR[]).map((k) => (
                <button
                  type="button"
                  key={k}
                  class={`seg-btn ${bodyKind === k ? 'on' : ''}`}
                  data-testid={`body-kind-${k}`}
                  onClick={() => switchKind(k)}
                >
                  {k}
                </button>
              ))}
            </div>
            <Toggle checked={templated} onChange={(v) => mut((d) => (ensureResponse(d).templated = v))} label="templated" testid="resp-templated" />
            {templated && (
              <select
                class="input input-small"
                aria-label="Fake data locale"
                title="The locale of {{fake …}} values"
                data-testid="resp-template-locale"
                value={resp.templateLocale ?? 'en'}
                onChange={(e) => mut((d) => setOrDelete(ensureResponse(d), 'templateLocale', (e.target as HTMLSelectElement).value === 'en' ? undefined : (e.target as HTMLSelectElement).value))}
              >
                <option value="en">en</option>
                <option value="ko_KR">ko_KR</option>
              </select>
            )}
            {templated && (
              <input
                class="input input-small"
                style="width: 7em"
                type="number"
                min="0"
                placeholder="seed"
                aria-label="Template seed"
                title="With a seed, the same request always gets the same random and fake values"
                data-testid="resp-template-seed"
                value={resp.templateSeed ?? ''}
                onInput={(e) => {
                  const t = (e.target as HTMLInputElement).value.trim();
                  mut((d) => setOrDelete(ensureResponse(d), 'templateSeed', t === '' ? undefined : Math.max(0, Math.floor(Number(t)))));
                }}
              />
            )}
            <span class="grow" />
            {templated && <span class="muted small">{"{{request.path.NAME}}, {{request.query.NAME}}, {{request.body}}, {{fake 'name.fullName'}}, {{randomValue type='UUID'}}"}</span>}
            <button
              type="button"
              class="btn btn-small"
              data-testid="resp-format"
              disabled={bodyKind === 'none' || bodyKind === 'base64'}
              onClick={() => {
                const f = formatJsonText(bodyText);
                if (f === null) toast('The body is not JSON; nothing to format', 'info');
                else setBody(bodyKind, f);
              }}
            >
              Format
            </button>
          </div>
          {bodyKind === 'json' && bodyProblem && templated && checkJson(maskTemplates(bodyText)) === null && (
            <div class="warn-box small row gap">
              <span class="grow">Placeholders outside strings make this body text that becomes JSON once rendered; a json body must be JSON as written.</span>
              <button type="button" class="btn btn-small" onClick={() => switchKind('text')} data-testid="body-to-text">
                Make it a text body
              </button>
            </div>
          )}
          {bodyKind !== 'none' ? (
            <CodeEditor
              mode={bodyKind === 'json' || lintBody ? 'json' : 'text'}
              lint={lintBody}
              templated={templated}
              lintTemplates={templated && bodyKind === 'text'}
              value={bodyText}
              onChange={(v) => setBody(bodyKind, v)}
              minHeight={160}
              maxHeight={520}
              testid="response-body-editor"
              extraProblem={errAt('/http/response/body')}
            />
          ) : (
            <p class="muted small">No body.</p>
          )}
          {(otherResp.length > 0 || otherHttp.length > 0) && (
            <div class="kept small">
              Also in this route, kept as written (edit in Raw JSON):{' '}
              {[...otherResp.map((k) => `response.${k}`), ...otherHttp.map((k) => (k === 'alternatives' && Array.isArray(doc.http.alternatives) ? `${doc.http.alternatives.length} alternative answers` : k))].join(', ')}
            </div>
          )}
        </section>

        {/* ------------------------------------------------ settings */}
        <section class="card panel" data-testid="settings-panel">
          <div class="panel-head">
            <h2>Route</h2>
          </div>
          <div class="settings-grid">
            <Field label="Priority" hint="higher wins; negative for fallbacks" error={errAt('/priority')}>
              <input class="input" type="number" data-testid="route-priority" value={doc.priority ?? 0} onInput={(e) => mut((d) => (d.priority = Number((e.target as HTMLInputElement).value) || 0))} />
            </Field>
            <Field label="Serve at most (times)" hint="empty: no limit" error={errAt('/times')}>
              <input
                class="input"
                type="number"
                min={0}
                value={doc.times ?? ''}
                onInput={(e) => {
                  const t = (e.target as HTMLInputElement).value;
                  mut((d) => setOrDelete(d, 'times', t === '' ? undefined : Number(t)));
                }}
              />
            </Field>
            <Field label="Expires at (RFC 3339)" hint="empty: never" error={errAt('/expiresAt')}>
              <input class="input mono" value={doc.expiresAt ?? ''} placeholder="2030-01-01T00:00:00Z" onInput={(e) => mut((d) => setOrDelete(d, 'expiresAt', (e.target as HTMLInputElement).value || undefined))} />
            </Field>
            <Field label="Tags" error={errAt('/tags')}>
              <TagsInput value={doc.tags || []} onChange={(t) => mut((d) => (d.tags = t))} testid="route-tags" />
            </Field>
          </div>
          <div class="memo-route">
            <div class="row gap">
              <span class="field-label">Notes (Markdown)</span>
              <div class="seg">
                <button type="button" class={`seg-btn ${!memoPreview ? 'on' : ''}`} onClick={() => setMemoPreview(false)} data-testid="route-memo-write">
                  Write
                </button>
                <button type="button" class={`seg-btn ${memoPreview ? 'on' : ''}`} onClick={() => setMemoPreview(true)}>
                  Preview
                </button>
              </div>
            </div>
            {memoPreview ? (
              <div class="memo-preview" onDblClick={() => setMemoPreview(false)} title="Double-click to edit">
                {doc.memo ? <Markdown text={doc.memo} /> : <p class="muted small">No notes. Double-click to write some.</p>}
              </div>
            ) : (
              <textarea class="input memo-text" rows={5} data-testid="route-memo" value={doc.memo ?? ''} onInput={(e) => mut((d) => (d.memo = (e.target as HTMLTextAreaElement).value))} />
            )}
          </div>
        </section>
      </div>
      <aside class="editor-side">
        <TryPanel team={team} svc={svc} draft={payload()} draftProblem={problemBeforeSave()} />
      </aside>
    </div>
  );

  const rawTab = (
    <div class="editor-cols">
      <div class="editor-main">
        <section class="card panel">
          <div class="panel-head">
            <h2>Route document</h2>
            <span class="muted small grow">The whole route as JSON, kept in step with the form. Changes apply as soon as the JSON is valid.</span>
            <button
              type="button"
              class="btn btn-small"
              onClick={() => {
                const f = formatJsonText(rawText);
                if (f) onRaw(f);
              }}
            >
              Format
            </button>
          </div>
          {bodyKind === 'json' && bodyProblem && <div class="warn-box small">The response body in the form has a JSON error; this document holds its last valid version.</div>}
          <CodeEditor mode="json" lint value={rawText} onChange={onRaw} minHeight={420} testid="raw-editor" extraProblem={ptr && apiErr ? `${(apiErr as ApiError).message} (at ${ptr})` : null} />
        </section>
      </div>
      <aside class="editor-side">
        <TryPanel team={team} svc={svc} draft={payload()} draftProblem={problemBeforeSave()} />
      </aside>
    </div>
  );

  const rec = loaded.rec;
  return (
    <div class="page route-page" data-testid="route-editor">
      <div class="route-head">
        <div class="route-title">
          <input
            class="input title-input"
            data-testid="route-name"
            value={doc.name ?? ''}
            placeholder={id ?? 'Route name'}
            onInput={(e) => mut((d) => (d.name = (e.target as HTMLInputElement).value))}
            aria-label="Route name"
          />
          <div class="muted small route-sub">
            {id === null ? (
              <label class="inline-field">
                id{' '}
                <input
                  class="input input-small mono"
                  data-testid="route-id"
                  value={newId}
                  placeholder="(assigned when empty)"
                  onInput={(e) => {
                    const v = (e.target as HTMLInputElement).value;
                    setNewId(v);
                    mut((d) => setOrDelete(d, 'id', v.trim() === '' ? undefined : v.trim()));
                  }}
                />
              </label>
            ) : (
              <>
                id <span class="mono" data-testid="route-id-value">{id}</span>
              </>
            )}
            {rec && (
              <>
                {' '}
                · revision {rec.meta.revision} · changed <When iso={rec.meta.updatedAt} /> by {rec.meta.updatedBy}
              </>
            )}
            {errAt('/id') && <span class="field-error"> {errAt('/id')}</span>}
          </div>
        </div>
        <div class="row gap">
          <Toggle checked={doc.enabled !== false} onChange={(v) => mut((d) => (d.enabled = v))} label={doc.enabled !== false ? 'enabled' : 'disabled'} testid="route-enabled" />
          {dirty && id !== null && <span class="dirty-dot" title="Unsaved changes">● unsaved</span>}
          {id !== null && (
            <button type="button" class="btn" disabled={!dirty} onClick={() => setReloadTick((t) => t + 1)} title="Drop your changes">
              Revert
            </button>
          )}
          <button type="button" class="btn btn-primary" disabled={saving || (!dirty && id !== null)} onClick={() => save()} data-testid="route-save" title="Ctrl+S">
            {id === null ? 'Create route' : 'Save'}
          </button>
          {id !== null && (
            <button type="button" class="btn btn-danger-ghost" onClick={() => setDeleting(true)} data-testid="route-delete">
              Delete
            </button>
          )}
        </div>
      </div>

      {conflict && <ConflictBanner info={conflict} onDismiss={() => setConflict(null)} />}
      {apiErr ? (
        <div class="error-box" role="alert" data-testid="save-error">
          <strong>Not saved: </strong>
          {apiErr instanceof ApiError ? apiErr.message : errorText(apiErr)}
          {ptr && (
            <>
              {' '}
              <span class="mono small pointer">at {ptr}</span>
            </>
          )}
        </div>
      ) : null}

      <Tabs<MainTab>
        active={tab}
        onChange={setTab}
        testid="editor-tabs"
        tabs={[
          { id: 'edit', label: 'Editor' },
          { id: 'raw', label: 'Raw JSON' },
          ...(id !== null ? [{ id: 'history' as MainTab, label: 'History' }] : []),
        ]}
      />
      {tab === 'edit' && editorTab}
      {tab === 'raw' && rawTab}
      {tab === 'history' && id !== null && (
        <section class="card panel">
          <HistoryView historyKey={`${team}/${svc}/${id}`} entity="route" onRestored={() => setReloadTick((t) => t + 1)} compact />
        </section>
      )}

      {deleting && id !== null && (
        <ConfirmModal
          title={`Delete route ${id}?`}
          confirmLabel="Delete the route"
          onCancel={() => setDeleting(false)}
          onConfirm={async () => {
            await call(routePath(team, svc, id), { method: 'DELETE', ifMatch: loaded.rev });
            toast(`Route ${id} deleted`);
            setDeleting(false);
            navigate(links.service(team, svc));
          }}
        >
          <p>
            Requests that it answers will go to the next matching route, or get a 404. The history keeps the route; it can be restored from the service's history.
          </p>
        </ConfirmModal>
      )}
    </div>
  );
}

/** Writes the editor's body text into a response document as the body kind says. */
function assignBody(r: any, kind: BodyKindR, text: string) {
  if (kind === 'none') delete r.body;
  else if (kind === 'text') r.body = { text };
  else if (kind === 'base64') r.body = { base64: text };
  else {
    try {
      r.body = { json: JSON.parse(text) };
    } catch {
      /* kept at its last valid value until the text parses */
    }
  }
}
