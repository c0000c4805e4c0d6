import { useEffect, useMemo, useState } from 'preact/hooks';
import { call, servicePath, type EntryView } from '../lib/api';
import { links } from '../lib/router';
import { METHODS } from '../lib/conditions';
import { sampleRequest } from '../lib/sample';
import { ErrorBox, MethodBadge, StatusBadge } from './ui';

export function prettyBody(body: string | null | undefined, headers?: Record<string, string[]>): string {
  if (body === null || body === undefined) return '';
  const ct = headers ? Object.entries(headers).find(([k]) => k.toLowerCase() === 'content-type')?.[1]?.[0] || '' : '';
  const t = body.trim();
  if (/json/i.test(ct) || t.startsWith('{') || t.startsWith('[')) {
    try {
      return JSON.stringify(JSON.parse(body), null, 2);
    } catch {
      return body;
    }
  }
  return body;
}

export function HeadersView({ headers }: { headers: Record<string, string[] | string> | undefined }) {
  const entries = Object.entries(headers || {});
  if (entries.length === 0) return <p class="muted small">No headers.</p>;
  return (
    <table class="table compact headers-view">
      <tbody>
        {entries.flatMap(([k, vs]) =>
          (Array.isArray(vs) ? vs : [vs]).map((v, i) => (
            <tr key={`${k}-${i}`}>
              <td class="mono small hname">{k}</td>
              <td class="mono small">{v}</td>
            </tr>
          )),
        )}
      </tbody>
    </table>
  );
}

export function NearMisses({ entry, team, svc }: { entry: Pick<EntryView, 'nearMisses'>; team: string; svc: string }) {
  if (!entry.nearMisses || entry.nearMisses.length === 0) return <p class="muted small">No route of the service came close (no near misses).</p>;
  return (
    <ol class="near-misses" data-testid="near-misses">
      {entry.nearMisses.map((nm) => (
        <li key={nm.routeId} class="near-miss" data-testid="near-miss">
          <div>
            <a href={links.route(team, svc, nm.routeId)} class="mono">
              {nm.routeId}
            </a>{' '}
            {nm.routeName && <span class="muted">{nm.routeName}</span>} <span class="muted small">· {nm.failed.length} failed</span>
          </div>
          <ul class="failed">
            {nm.failed.map((f, i) => (
              <li key={i} data-testid="failed-condition">
                <span class="x" aria-hidden="true">✕</span> {f}
              </li>
            ))}
          </ul>
        </li>
      ))}
    </ol>
  );
}

function headersToText(h: [string, string][]): string {
  return h.map(([k, v]) => `${k}: ${v}`).join('\n');
}

function textToHeaders(t: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of t.split('\n')) {
    const i = line.indexOf(':');
    if (i <= 0) continue;
    const k = line.slice(0, i).trim();
    const v = line.slice(i + 1).trim();
    if (k) out[k] = k in out ? `${out[k]}, ${v}` : v;
  }
  return out;
}

export function TryPanel({ team, svc, draft, draftProblem }: { team: string; svc: string; draft: any; draftProblem: string | null }) {
  const sample = useMemo(() => sampleRequest(draft?.http), [JSON.stringify(draft?.http?.request)]);
  const [touched, setTouched] = useState(false);
  const [method, setMethod] = useState(sample.method);
  const [path, setPath] = useState(sample.path);
  const [query, setQuery] = useState(sample.query);
  const [headers, setHeaders] = useState(headersToText(sample.headers));
  const [body, setBody] = useState(sample.body);
  const [res, setRes] = useState<EntryView | null>(null);
  const [err, setErr] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [useDraft, setUseDraft] = useState(true);

  const reset = () => {
    setMethod(sample.method);
    setPath(sample.path);
    setQuery(sample.query);
    setHeaders(headersToText(sample.headers));
    setBody(sample.body);
    setTouched(false);
  };
  useEffect(() => {
    if (!touched) reset();
  }, [sample]);

  const touch = <T,>(set: (v: T) => void) => (v: T) => {
    setTouched(true);
    set(v);
  };

  const send = async () => {
    setBusy(true);
    setErr(null);
    try {
      const request: Record<string, unknown> = { method, path: path.startsWith('/') ? path : `/${path}`, headers: textToHeaders(headers) };
      if (query.trim()) request.query = query.replace(/^\?/, '');
      if (body !== '') request.body = body;
      const payload: Record<string, unknown> = { request };
      if (useDraft && draft) payload.route = draft;
      const r = await call<EntryView>(`${servicePath(team, svc)}/try`, { method: 'POST', body: payload });
      setRes(r.data);
    } catch (e) {
      setErr(e);
      setRes(null);
    } finally {
      setBusy(false);
    }
  };

  const isDraft = res && draft && res.matchedRoute !== null && (res.matchedRoute === draft.id || (!draft.id && res.matchedRoute));

  return (
    <div class="try" data-testid="try-panel">
      <div class="panel-head">
        <h2>Try it</h2>
        <span class="grow" />
        {touched && (
          <button type="button" class="btn btn-small btn-ghost" onClick={reset} title="Fill again from the route's conditions">
            ↺ Fill from the route
          </button>
        )}
      </div>
      <p class="muted small try-intro">Answered by the real serving pipeline with your unsaved draft in place of the saved route; nothing is saved or journaled.</p>
      <div class="try-line">
        <select class="input input-small" value={method} data-testid="try-method" onChange={(e) => touch(setMethod)((e.target as HTMLSelectElement).value)}>
          {[...new Set([...METHODS, method])].map((m) => (
            <option key={m} value={m}>
              {m}
            </option>
          ))}
        </select>
        <input class="input input-small mono grow" value={path} data-testid="try-path" onInput={(e) => touch(setPath)((e.target as HTMLInputElement).value)} placeholder="/path relative to the base path" />
      </div>
      <label class="field">
        <span class="field-label">Query</span>
        <input class="input input-small mono" value={query} data-testid="try-query" placeholder="name=value&other=1" onInput={(e) => touch(setQuery)((e.target as HTMLInputElement).value)} />
      </label>
      <label class="field">
        <span class="field-label">Headers (one "Name: value" a line)</span>
        <textarea class="input input-small mono" rows={Math.max(2, headers.split('\n').length)} value={headers} data-testid="try-headers" onInput={(e) => touch(setHeaders)((e.target as HTMLTextAreaElement).value)} />
      </label>
      <label class="field">
        <span class="field-label">Body</span>
        <textarea class="input input-small mono" rows={Math.min(10, Math.max(2, body.split('\n').length))} value={body} data-testid="try-body" onInput={(e) => touch(setBody)((e.target as HTMLTextAreaElement).value)} />
      </label>
      <div class="row gap">
        <button type="button" class="btn btn-primary" disabled={busy} onClick={send} data-testid="try-send">
          ▶ Send
        </button>
        <label class="check small" title="Off: try the saved routes only">
          <input type="checkbox" checked={useDraft} onChange={(e) => setUseDraft((e.target as HTMLInputElement).checked)} /> with my draft
        </label>
      </div>
      {draftProblem && useDraft && <div class="field-error small">{draftProblem}</div>}
      <ErrorBox error={err} title="Try failed" />
      {res && (
        <div class="try-result" data-testid="try-result">
          <div class="row gap result-head">
            <StatusBadge status={res.response?.status ?? res.status} />
            <span class="muted small">{res.latencyUs !== null && res.latencyUs !== undefined ? `${(res.latencyUs / 1000).toFixed(1)} ms` : ''}</span>
            <span class="grow" />
            {res.matchedRoute ? (
              <span class="small" data-testid="try-matched">
                answered by{' '}
                <a class="mono" href={links.route(team, svc, res.matchedRoute)}>
                  {res.matchedRoute}
                </a>
                {isDraft ? ' (this draft)' : ''}
              </span>
            ) : (
              <span class="small warn-text" data-testid="try-unmatched">
                no route matched
              </span>
            )}
          </div>
          {res.error && <div class="error-box small">standin error: {res.error}</div>}
          <details open>
            <summary>Response headers</summary>
            <HeadersView headers={res.response?.headers} />
          </details>
          <div class="field-label">Response body {res.response?.bodySize !== undefined ? <span class="muted">({res.response?.bodySize} bytes)</span> : null}</div>
          <pre class="body-view mono" data-testid="try-response-body">
            {res.response?.body !== null && res.response?.body !== undefined ? prettyBody(res.response.body, res.response.headers) : res.response?.bodyBase64 ? `(binary, base64) ${res.response.bodyBase64}` : '(empty)'}
          </pre>
          {!res.matchedRoute && (
            <>
              <div class="field-label">Near misses</div>
              <NearMisses entry={res} team={team} svc={svc} />
            </>
          )}
        </div>
      )}
      {!res && !err && (
        <p class="muted small">
          The sample request is filled from the route's conditions. <MethodBadge method={method} /> <span class="mono">{path}</span>
        </p>
      )}
    </div>
  );
}
