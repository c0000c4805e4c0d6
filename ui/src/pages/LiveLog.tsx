import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { call, errorText, get, type EntryView } from '../lib/api';
import { links, navigate } from '../lib/router';
import { METHODS } from '../lib/conditions';
import { HeadersView, NearMisses, prettyBody } from '../components/TryPanel';
import { ConfirmModal, Empty, ErrorBox, MethodBadge, StatusBadge, formatTime, toast } from '../components/ui';
import { setRoutePrefill } from './RouteEditor';

const KEEP = 1000;

type Conn = 'connecting' | 'live' | 'polling' | 'paused' | 'error';

function mergeEntries(list: EntryView[], add: EntryView[]): EntryView[] {
  if (add.length === 0) return list;
  const seen = new Set(list.map((e) => e.seq));
  const fresh = add.filter((e) => !seen.has(e.seq));
  if (fresh.length === 0) return list;
  const all = [...fresh, ...list];
  all.sort((a, b) => b.seq - a.seq);
  return all.length > KEEP ? all.slice(0, KEEP) : all;
}

export function routeFromEntry(e: EntryView): Record<string, any> {
  const request: Record<string, any> = { method: e.request.method, path: e.request.relativePath || '/' };
  const q = e.request.query ? new URLSearchParams(e.request.query) : null;
  if (q && [...q.keys()].length) {
    const query: Record<string, string> = {};
    for (const [k, v] of q) if (!(k in query)) query[k] = v;
    request.query = query;
  }
  return {
    name: `${e.request.method} ${e.request.relativePath || '/'}`,
    enabled: true,
    priority: 0,
    tags: [],
    memo: `Created from the request #${e.seq} received ${e.at}.`,
    http: { request, response: { status: 200, delayMs: 0, templated: false } },
  };
}

function timeOf(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleTimeString(undefined, { hour12: false }) + '.' + String(d.getMilliseconds()).padStart(3, '0');
}

function EntryDetail({ e, team, svc, onClose }: { e: EntryView; team: string; svc: string; onClose: () => void }) {
  const r = e.request;
  const url = r.path + (r.query ? `?${r.query}` : '');
  return (
    <div class="entry-detail" data-testid="entry-detail">
      <div class="panel-head">
        <MethodBadge method={r.method} />
        <span class="mono grow ellipsis" title={url}>
          {url}
        </span>
        <button type="button" class="icon-btn" aria-label="Close" onClick={onClose}>
          ✕
        </button>
      </div>
      <div class="row gap wrap small muted">
        <span>#{e.seq}</span>
        <span>{formatTime(e.at)}</span>
        {e.latencyUs !== null && e.latencyUs !== undefined && <span>{(e.latencyUs / 1000).toFixed(1)} ms</span>}
      </div>
      <div class="answered">
        {e.matchedRoute ? (
          <span data-testid="entry-matched">
            Answered by route{' '}
            <a class="mono" href={links.route(team, svc, e.matchedRoute)} data-testid="entry-route-link">
              {e.matchedRoute}
            </a>{' '}
            with <StatusBadge status={e.status} />
          </span>
        ) : (
          <span class="warn-text" data-testid="entry-unmatched">
            No route matched — answered <StatusBadge status={e.status} />
          </span>
        )}
        {e.error && <div class="error-box small">standin's own failure: {e.error}</div>}
      </div>
      <button
        type="button"
        class="btn btn-primary btn-small"
        data-testid="create-route-from-request"
        onClick={() => {
          setRoutePrefill(routeFromEntry(e));
          navigate(links.newRoute(team, svc));
        }}
      >
        + Create a route from this request
      </button>
      {!e.matchedRoute && (
        <section>
          <h3>Near misses</h3>
          <p class="muted small">The routes that came closest, each with every condition that failed.</p>
          <NearMisses entry={e} team={team} svc={svc} />
        </section>
      )}
      <section>
        <h3>Request</h3>
        {r.query && (
          <table class="table compact">
            <tbody>
              {[...new URLSearchParams(r.query)].map(([k, v], i) => (
                <tr key={i}>
                  <td class="mono small hname">?{k}</td>
                  <td class="mono small">{v}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <HeadersView headers={r.headers} />
        {(r.body || r.bodyBase64) && (
          <>
            <div class="field-label">
              Body <span class="muted">({r.bodySize} bytes{r.bodyTruncated ? ', truncated' : ''})</span>
            </div>
            <pre class="body-view mono">{r.body !== null && r.body !== undefined ? prettyBody(r.body, r.headers) : `(binary, base64) ${r.bodyBase64}`}</pre>
          </>
        )}
      </section>
      <section>
        <h3>Response</h3>
        {e.response ? (
          <>
            <HeadersView headers={e.response.headers} />
            <div class="field-label">
              Body <span class="muted">({e.response.bodySize ?? 0} bytes{e.response.bodyTruncated ? ', truncated' : ''})</span>
            </div>
            <pre class="body-view mono" data-testid="entry-response-body">
              {e.response.body !== null && e.response.body !== undefined ? prettyBody(e.response.body, e.response.headers) : e.response.bodyBase64 ? `(binary, base64) ${e.response.bodyBase64}` : '(empty)'}
            </pre>
          </>
        ) : (
          <p class="muted small">No response was sent (the connection was dropped or failed).</p>
        )}
      </section>
    </div>
  );
}

export function LiveLogPage({ team, svc }: { team: string; svc: string }) {
  const service = `${team}/${svc}`;
  const [entries, setEntries] = useState<EntryView[]>([]);
  const [loaded, setLoaded] = useState(false);
  const [err, setErr] = useState<unknown>(null);
  const [conn, setConn] = useState<Conn>('connecting');
  const [missed, setMissed] = useState(0);
  const [sel, setSel] = useState<number | null>(null);
  const [fMethod, setFMethod] = useState('');
  const [fStatus, setFStatus] = useState('');
  const [fMatched, setFMatched] = useState<'all' | 'matched' | 'unmatched'>('all');
  const [fText, setFText] = useState('');
  const [paused, setPaused] = useState(false);
  const [clearing, setClearing] = useState(false);
  const pausedRef = useRef(false);
  const buffer = useRef<EntryView[]>([]);
  pausedRef.current = paused;

  useEffect(() => {
    let closed = false;
    let es: EventSource | null = null;
    let poll: ReturnType<typeof setInterval> | null = null;
    let maxSeq = 0;
    const add = (list: EntryView[]) => {
      for (const e of list) maxSeq = Math.max(maxSeq, e.seq);
      if (pausedRef.current) {
        buffer.current = [...list, ...buffer.current];
        return;
      }
      setEntries((cur) => mergeEntries(cur, list));
    };
    const q = encodeURIComponent(service);
    const startPolling = () => {
      if (poll || closed) return;
      setConn('polling');
      poll = setInterval(async () => {
        try {
          const list = await get<EntryView[]>(`/journal?service=${q}&after=${maxSeq}&limit=500`);
          add(list);
        } catch {
          /* keep trying */
        }
      }, 2000);
    };
    setEntries([]);
    setLoaded(false);
    setSel(null);
    setMissed(0);
    setConn('connecting');
    // Open the stream first so nothing between the first page and the stream is lost;
    // entries are deduplicated by seq.
    if (typeof EventSource !== 'undefined') {
      es = new EventSource(`/api/v1/journal/stream?service=${q}`);
      let opened = false;
      es.addEventListener('open', () => {
        opened = true;
        setConn('live');
      });
      es.addEventListener('entry', (ev) => {
        try {
          add([JSON.parse((ev as MessageEvent).data) as EntryView]);
        } catch {
          /* a malformed event is skipped */
        }
      });
      es.addEventListener('lagged', (ev) => {
        let n = 0;
        try {
          n = JSON.parse((ev as MessageEvent).data).missed || 0;
        } catch {
          /* ignore */
        }
        setMissed((m) => m + n);
        // Fill the gap from the journal.
        get<EntryView[]>(`/journal?service=${q}&limit=100`).then(add, () => undefined);
      });
      es.addEventListener('error', () => {
        if (closed) return;
        if (!opened || es?.readyState === EventSource.CLOSED) {
          es?.close();
          es = null;
          startPolling();
        } else setConn('connecting');
      });
    } else startPolling();

    get<EntryView[]>(`/journal?service=${q}&limit=100`).then(
      (list) => {
        if (closed) return;
        add(list);
        setLoaded(true);
      },
      (e) => {
        if (closed) return;
        setErr(e);
        setLoaded(true);
      },
    );
    return () => {
      closed = true;
      es?.close();
      if (poll) clearInterval(poll);
    };
  }, [service]);

  useEffect(() => {
    if (!paused && buffer.current.length) {
      const b = buffer.current;
      buffer.current = [];
      setEntries((cur) => mergeEntries(cur, b));
    }
  }, [paused]);

  const shown = useMemo(() => {
    const t = fText.trim().toLowerCase();
    return entries.filter((e) => {
      if (fMethod && e.request.method !== fMethod) return false;
      if (fMatched === 'matched' && !e.matchedRoute) return false;
      if (fMatched === 'unmatched' && e.matchedRoute) return false;
      if (fStatus) {
        const s = String(e.status ?? '');
        const f = fStatus.trim().toLowerCase();
        if (/^[1-5]xx$/.test(f)) {
          if (s[0] !== f[0]) return false;
        } else if (!s.startsWith(f)) return false;
      }
      if (t) {
        const hay = `${e.request.method} ${e.request.path}?${e.request.query || ''} ${e.matchedRoute || ''} ${e.request.body || ''} ${e.status ?? ''} ${e.error || ''}`.toLowerCase();
        if (!hay.includes(t)) return false;
      }
      return true;
    });
  }, [entries, fMethod, fMatched, fStatus, fText]);

  const selected = entries.find((e) => e.seq === sel) || null;

  return (
    <div class="page log-page" data-testid="log-page">
      <div class="page-head">
        <div>
          <h1>Live requests</h1>
          <p class="muted">
            What <span class="mono">{service}</span> receives, as it arrives.{' '}
            <span class={`conn conn-${paused ? 'paused' : conn}`} data-testid="log-connection">
              ● {paused ? 'paused' : conn === 'live' ? 'live' : conn === 'polling' ? 'polling every 2 s' : conn}
            </span>
          </p>
        </div>
        <div class="row gap">
          <button type="button" class="btn" onClick={() => setPaused(!paused)} data-testid="log-pause">
            {paused ? `▶ Resume${buffer.current.length ? ` (${buffer.current.length} new)` : ''}` : '❚❚ Pause'}
          </button>
          <button type="button" class="btn btn-danger-ghost" onClick={() => setClearing(true)}>
            Clear
          </button>
        </div>
      </div>
      {missed > 0 && (
        <div class="warn-box small" data-testid="log-lagged">
          The stream fell behind and skipped {missed} entries; the latest were read again from the journal.
        </div>
      )}
      <ErrorBox error={err} title="Could not read the journal" />
      <div class="filters card pad row gap wrap" data-testid="log-filters">
        <select class="input input-small" value={fMethod} onChange={(e) => setFMethod((e.target as HTMLSelectElement).value)} data-testid="log-filter-method">
          <option value="">any method</option>
          {METHODS.map((m) => (
            <option key={m} value={m}>
              {m}
            </option>
          ))}
        </select>
        <input class="input input-small status-filter" placeholder="status: 404, 4xx" value={fStatus} onInput={(e) => setFStatus((e.target as HTMLInputElement).value)} data-testid="log-filter-status" />
        <select class="input input-small" value={fMatched} onChange={(e) => setFMatched((e.target as HTMLSelectElement).value as any)} data-testid="log-filter-matched">
          <option value="all">matched and unmatched</option>
          <option value="matched">matched only</option>
          <option value="unmatched">unmatched only</option>
        </select>
        <input class="input input-small grow" type="search" placeholder="Filter: path, query, body, route…" value={fText} onInput={(e) => setFText((e.target as HTMLInputElement).value)} data-testid="log-filter-text" />
        <span class="muted small">
          {shown.length} of {entries.length}
        </span>
      </div>
      <div class={`log-cols ${selected ? 'with-detail' : ''}`}>
        <div class="card log-list">
          {loaded && entries.length === 0 ? (
            <Empty>
              No request yet. Call the service on the mock listener and it appears here at once.
            </Empty>
          ) : (
            <table class="table log-table" data-testid="log-table">
              <thead>
                <tr>
                  <th>Time</th>
                  <th>Method</th>
                  <th>Path</th>
                  <th>Status</th>
                  <th>Route</th>
                  <th class="num">ms</th>
                </tr>
              </thead>
              <tbody>
                {shown.map((e) => (
                  <tr key={e.seq} class={`log-row ${e.seq === sel ? 'selected' : ''} ${e.matchedRoute ? '' : 'unmatched'}`} onClick={() => setSel(e.seq)} data-testid="log-row" data-seq={e.seq}>
                    <td class="mono small nowrap">{timeOf(e.at)}</td>
                    <td>
                      <MethodBadge method={e.request.method} />
                    </td>
                    <td class="mono small path-cell" title={e.request.path + (e.request.query ? `?${e.request.query}` : '')}>
                      {e.request.relativePath || e.request.path}
                      {e.request.query ? <span class="muted">?{e.request.query}</span> : null}
                    </td>
                    <td>
                      <StatusBadge status={e.status} />
                    </td>
                    <td class="small">{e.matchedRoute ? <span class="mono">{e.matchedRoute}</span> : <span class="warn-text">unmatched</span>}</td>
                    <td class="num small">{e.latencyUs !== null && e.latencyUs !== undefined ? (e.latencyUs / 1000).toFixed(1) : ''}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
        {selected && (
          <aside class="card log-detail">
            <EntryDetail e={selected} team={team} svc={svc} onClose={() => setSel(null)} />
          </aside>
        )}
      </div>
      {clearing && (
        <ConfirmModal
          title="Forget the journal of this service?"
          confirmLabel="Forget its requests"
          onCancel={() => setClearing(false)}
          onConfirm={async () => {
            try {
              await call(`/journal?service=${encodeURIComponent(service)}`, { method: 'DELETE' });
              setEntries([]);
              setSel(null);
              setClearing(false);
              toast('Journal cleared');
            } catch (e) {
              throw new Error(errorText(e));
            }
          }}
        >
          <p>The recorded requests of {service} are forgotten. Definitions and usage counts are not touched.</p>
        </ConfirmModal>
      )}
    </div>
  );
}
