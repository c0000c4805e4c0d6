import { useEffect, useMemo, useState } from 'preact/hooks';
import { ApiError, call, get, revisionOf, routePath, servicePath, teamPath, type ChangeEvent, type JsonObject, type RouteRecord, type ServiceRecord, type TeamRecord } from '../lib/api';
import { diffLines, pretty, sideBySide } from '../lib/diff';
import { links } from '../lib/router';
import { ConfirmModal, Empty, ErrorBox, Spinner, formatTime, timeAgo, toast } from './ui';

const PAGE = 100;

function withoutMeta(v: JsonObject | null | undefined, hide: boolean): JsonObject | null {
  if (!v) return null;
  if (!hide) return v;
  const { meta: _m, ...rest } = v as Record<string, any>;
  return rest as JsonObject;
}

export function DiffView({ before, after }: { before: string; after: string }) {
  const rows = useMemo(() => sideBySide(diffLines(before, after)), [before, after]);
  const added = rows.filter((r) => r.right.kind === 'add').length;
  const removed = rows.filter((r) => r.left.kind === 'del').length;
  return (
    <div class="diff" data-testid="diff">
      <div class="diff-stats small">
        <span class="add-text">+{added}</span> <span class="del-text">−{removed}</span> lines
      </div>
      <table class="diff-table mono">
        <colgroup>
          <col class="ln" />
          <col />
          <col class="ln" />
          <col />
        </colgroup>
        <thead>
          <tr>
            <th colSpan={2}>before</th>
            <th colSpan={2}>after</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r, i) => (
            <tr key={i}>
              <td class={`ln ${r.left.kind}`}>{r.left.n ?? ''}</td>
              <td class={`code ${r.left.kind}`} data-testid={r.left.kind === 'del' ? 'diff-del' : undefined}>
                {r.left.text}
              </td>
              <td class={`ln ${r.right.kind}`}>{r.right.n ?? ''}</td>
              <td class={`code ${r.right.kind}`} data-testid={r.right.kind === 'add' ? 'diff-add' : undefined}>
                {r.right.text}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** The document to PUT back for an event: the version it recorded, without the server's fields. */
export function versionDocument(ev: ChangeEvent): Record<string, any> | null {
  const src = ev.kind === 'delete' ? ev.before : ev.after;
  if (!src) return null;
  const { team: _t, service: _s, meta: _m, effectiveBasePath: _e, routeCount: _r, serviceCount: _c, ...doc } = src as Record<string, any>;
  return doc;
}

function splitKey(key: string): string[] {
  return key.split('/');
}

async function restore(ev: ChangeEvent): Promise<string> {
  const doc = versionDocument(ev);
  if (!doc) throw new Error('this event holds no version to restore');
  const src = (ev.kind === 'delete' ? ev.before : ev.after) as Record<string, any>;
  if (ev.entity === 'route') {
    const team = String(src.team ?? splitKey(ev.key)[0]);
    const svc = String(src.service ?? splitKey(ev.key)[1]);
    const id = String(src.id ?? splitKey(ev.key).slice(2).join('/'));
    // The list tells whether the route still exists (and its revision) without a 404.
    const routes = await get<RouteRecord[]>(`${servicePath(team, svc)}/routes`);
    const cur = routes.find((r) => r.id === id);
    await call(routePath(team, svc, id), { method: 'PUT', body: doc, ifMatch: cur ? revisionOf(cur) : null });
    return `route ${id}`;
  }
  if (ev.entity === 'service') {
    const team = String(src.team ?? splitKey(ev.key)[0]);
    const slug = String(src.slug ?? splitKey(ev.key)[1]);
    const list = await get<ServiceRecord[]>(`${teamPath(team)}/services`);
    const cur = list.find((s) => s.slug === slug);
    if (cur) {
      const { slug: _s, ...rest } = doc;
      await call(servicePath(team, slug), { method: 'PUT', body: rest, ifMatch: revisionOf(cur) });
    } else await call(`${teamPath(team)}/services`, { method: 'POST', body: { ...doc, slug } });
    return `service ${team}/${slug}`;
  }
  if (ev.entity === 'team') {
    const slug = String(src.slug ?? ev.key);
    const list = await get<TeamRecord[]>('/teams');
    const cur = list.find((t) => t.slug === slug);
    if (cur) {
      const { slug: _s, ...rest } = doc;
      await call(teamPath(slug), { method: 'PUT', body: rest, ifMatch: revisionOf(cur) });
    } else await call('/teams', { method: 'POST', body: { ...doc, slug } });
    return `team ${slug}`;
  }
  throw new Error(`cannot restore a ${ev.entity}`);
}

function eventLink(ev: ChangeEvent): string | null {
  const p = splitKey(ev.key);
  if (ev.entity === 'route' && p.length >= 3) return links.route(p[0], p[1], p.slice(2).join('/'));
  if (ev.entity === 'service' && p.length >= 2) return links.service(p[0], p[1]);
  if (ev.entity === 'team') return links.team(p[0]);
  return null;
}

export function HistoryView({ historyKey, entity, onRestored, compact }: { historyKey: string; entity?: string; onRestored?: () => void; compact?: boolean }) {
  const [events, setEvents] = useState<ChangeEvent[] | null>(null);
  const [more, setMore] = useState(false);
  const [err, setErr] = useState<unknown>(null);
  const [sel, setSel] = useState<number | null>(null);
  const [hideMeta, setHideMeta] = useState(true);
  const [confirm, setConfirm] = useState<ChangeEvent | null>(null);
  const [tick, setTick] = useState(0);

  const q = (before?: number) => {
    const p = new URLSearchParams({ key: historyKey, limit: String(PAGE) });
    if (entity) p.set('entity', entity);
    if (before !== undefined) p.set('before', String(before));
    return `/history?${p}`;
  };

  useEffect(() => {
    const ctl = new AbortController();
    setErr(null);
    get<ChangeEvent[]>(q(), ctl.signal).then(
      (evs) => {
        setEvents(evs);
        setMore(evs.length === PAGE);
        setSel((s) => (s !== null && evs.some((e) => e.seq === s) ? s : evs[0]?.seq ?? null));
      },
      (e) => !ctl.signal.aborted && setErr(e),
    );
    return () => ctl.abort();
  }, [historyKey, entity, tick]);

  const loadMore = async () => {
    if (!events || events.length === 0) return;
    try {
      const evs = await get<ChangeEvent[]>(q(events[events.length - 1].seq));
      setEvents([...events, ...evs]);
      setMore(evs.length === PAGE);
    } catch (e) {
      setErr(e);
    }
  };

  if (err && !events) return <ErrorBox error={err} title="Could not read the history" />;
  if (!events) return <Spinner />;
  if (events.length === 0) return <Empty>No recorded change yet.</Empty>;
  const ev = events.find((e) => e.seq === sel) || null;

  return (
    <div class={`history ${compact ? 'compact' : ''}`} data-testid="history-view">
      <div class="timeline" data-testid="timeline">
        <ol>
          {events.map((e) => (
            <li key={e.seq}>
              <button type="button" class={`event ${e.seq === sel ? 'selected' : ''}`} onClick={() => setSel(e.seq)} data-testid="history-event" data-seq={e.seq} data-kind={e.kind}>
                <span class={`kind-badge k-${e.kind}`}>{e.kind}</span>
                <span class="event-main">
                  <span class="event-key mono">
                    {e.entity} {e.key}
                  </span>
                  <span class="event-meta small muted">
                    {e.actor} · <time title={formatTime(e.at)}>{timeAgo(e.at)}</time> · #{e.seq}
                  </span>
                </span>
              </button>
            </li>
          ))}
        </ol>
        {more && (
          <button type="button" class="btn btn-small btn-ghost" onClick={loadMore}>
            Load older changes
          </button>
        )}
      </div>
      <div class="event-detail" data-testid="event-detail">
        {ev ? (
          <>
            <div class="row gap event-head">
              <span class={`kind-badge k-${ev.kind}`}>{ev.kind}</span>
              <strong class="mono">
                {ev.entity} {ev.key}
              </strong>
              <span class="muted small">
                by <strong>{ev.actor}</strong> on {formatTime(ev.at)}
              </span>
              <span class="grow" />
              {eventLink(ev) && ev.kind !== 'delete' && (
                <a class="btn btn-small btn-ghost" href={eventLink(ev)!}>
                  Open
                </a>
              )}
              <label class="check small">
                <input type="checkbox" checked={hideMeta} onChange={(e) => setHideMeta((e.target as HTMLInputElement).checked)} /> hide meta
              </label>
              <button type="button" class="btn btn-small btn-primary" data-testid="restore-version" onClick={() => setConfirm(ev)} disabled={!versionDocument(ev)}>
                ⟲ Restore this version
              </button>
            </div>
            <p class="muted small">
              {ev.kind === 'delete'
                ? 'Restoring brings back the deleted version (left).'
                : ev.kind === 'create'
                  ? 'Restoring puts back the version this change created (right).'
                  : 'Restoring puts back the version after this change (right).'}
            </p>
            <DiffView before={pretty(withoutMeta(ev.before, hideMeta))} after={pretty(withoutMeta(ev.after, hideMeta))} />
          </>
        ) : (
          <Empty>Pick a change to see what it did.</Empty>
        )}
      </div>
      {confirm && (
        <ConfirmModal
          title="Restore this version?"
          confirmLabel="Restore"
          danger={false}
          onCancel={() => setConfirm(null)}
          onConfirm={async () => {
            try {
              const what = await restore(confirm);
              toast(`Restored ${what} as of change #${confirm.seq}`);
              setConfirm(null);
              setTick((t) => t + 1);
              onRestored && onRestored();
            } catch (e) {
              if (e instanceof ApiError && e.status === 412) throw new Error('It was changed again meanwhile; try once more (the current revision is read each time).');
              throw e;
            }
          }}
        >
          <p>
            Puts the {confirm.entity} <span class="mono">{confirm.key}</span> back as it was {confirm.kind === 'delete' ? 'before it was deleted' : 'after this change'} (change #{confirm.seq} by {confirm.actor},{' '}
            {formatTime(confirm.at)}). The restore is recorded as a new change.
          </p>
        </ConfirmModal>
      )}
    </div>
  );
}
