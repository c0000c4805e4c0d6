import { useMemo, useState } from 'preact/hooks';
import { ApiError, call, errorText, get, loadStatus, mockBaseUrl, revisionOf, routePath, servicePath, type RouteRecord, type ServiceRecord, type Status, type Usage } from '../lib/api';
import { links, navigate } from '../lib/router';
import { methodLabel, pathLabel } from '../lib/conditions';
import { curlLine } from '../lib/sample';
import { ConflictBanner, type ConflictInfo } from '../components/Conflict';
import {
  ConfirmModal,
  CopyButton,
  Empty,
  ErrorBox,
  Field,
  MemoEditor,
  Menu,
  MethodBadge,
  Modal,
  Spinner,
  StatusBadge,
  Tag,
  TagsInput,
  Toggle,
  plural,
  useAsync,
  When,
  toast,
} from '../components/ui';
import { loadUsage } from './Home';

interface ServiceData {
  svc: ServiceRecord;
  rev: string | null;
  routes: RouteRecord[];
  usage: Usage | null;
  status: Status | null;
}

export const EXPORT_FORMATS: { format: string; label: string; ext: string }[] = [
  { format: 'yaml', label: 'standin (YAML)', ext: 'yaml' },
  { format: 'json', label: 'standin (JSON)', ext: 'json' },
  { format: 'openapi', label: 'OpenAPI 3.1', ext: 'json' },
  { format: 'wiremock', label: 'WireMock mappings', ext: 'json' },
  { format: 'mockserver', label: 'MockServer expectations', ext: 'json' },
  { format: 'postman', label: 'Postman collection', ext: 'json' },
];

function ImportModal({ team, svc, onClose, onDone }: { team: string; svc: string; onClose: () => void; onDone: () => void }) {
  const [file, setFile] = useState<File | null>(null);
  const [format, setFormat] = useState('auto');
  const [basePath, setBasePath] = useState('drop');
  const [plan, setPlan] = useState<any>(null);
  const [err, setErr] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const run = async (dryRun: boolean) => {
    if (!file) return;
    setBusy(true);
    setErr(null);
    try {
      const text = await file.text();
      const q = new URLSearchParams({ format, basePath, source: file.name });
      if (dryRun) q.set('dryRun', 'true');
      const ct = /\.ya?ml$/i.test(file.name) ? 'application/yaml' : 'application/json';
      const r = await call(`${servicePath(team, svc)}/import?${q}`, { method: 'POST', rawBody: text, contentType: ct });
      if (dryRun) setPlan(r.data);
      else {
        const s = r.data?.summary || {};
        toast(`Imported: ${s.create ?? 0} created, ${s.update ?? 0} updated, ${s.delete ?? 0} deleted`);
        onDone();
        onClose();
      }
    } catch (e) {
      setErr(e);
      setPlan(null);
    } finally {
      setBusy(false);
    }
  };

  const s = plan?.summary;
  return (
    <Modal title={`Import into ${team}/${svc}`} onClose={onClose} wide testid="import-dialog">
      <div class="form">
        <p class="muted small">OpenAPI 3 / Swagger 2, WireMock mappings, MockServer expectations, a Postman collection, a HAR capture or a standin export (JSON or YAML).</p>
        <Field label="File">
          <input
            type="file"
            class="input"
            data-testid="import-file"
            accept=".json,.yaml,.yml,.har"
            onChange={(e) => {
              const f = (e.target as HTMLInputElement).files?.[0] || null;
              setFile(f);
              setPlan(null);
              setErr(null);
            }}
          />
        </Field>
        <div class="row gap">
          <Field label="Format">
            <select class="input" value={format} onChange={(e) => (setFormat((e.target as HTMLSelectElement).value), setPlan(null))}>
              {['auto', 'openapi', 'wiremock', 'mockserver', 'postman', 'har', 'native'].map((f) => (
                <option key={f} value={f}>
                  {f}
                </option>
              ))}
            </select>
          </Field>
          <Field label="Server base path (OpenAPI)">
            <select class="input" value={basePath} onChange={(e) => (setBasePath((e.target as HTMLSelectElement).value), setPlan(null))}>
              <option value="drop">drop: routes have the document's paths</option>
              <option value="keep">keep: routes carry the server's path</option>
            </select>
          </Field>
        </div>
        <ErrorBox error={err} title="The import failed" />
        {s && (
          <div class="import-plan" data-testid="import-plan">
            <h3>What the import would do</h3>
            <div class="chips">
              <span class="chip chip-add">{s.create} to create</span>
              <span class="chip chip-mod">{s.update} to update</span>
              <span class="chip chip-del">{s.delete} to delete</span>
              <span class="chip">{s.unchanged} unchanged</span>
              <span class="chip">{s.kept} kept (edited by hand)</span>
              {s.conflicts > 0 && <span class="chip chip-del">{s.conflicts} conflicts</span>}
              {s.warnings > 0 && <span class="chip chip-warn">{s.warnings} warnings</span>}
            </div>
            {(['create', 'update', 'delete', 'conflicts'] as const).map((k) =>
              plan.plan?.[k]?.length ? (
                <details key={k} open={k !== 'update'}>
                  <summary>
                    {k} ({plan.plan[k].length})
                  </summary>
                  <ul class="small mono">
                    {plan.plan[k].slice(0, 200).map((it: any, i: number) => (
                      <li key={i}>
                        {it.id} {it.operation ? <span class="muted">{it.operation}</span> : null}
                      </li>
                    ))}
                  </ul>
                </details>
              ) : null,
            )}
            {plan.warnings?.length > 0 && (
              <details>
                <summary>warnings ({plan.warnings.length})</summary>
                <ul class="small">
                  {plan.warnings.slice(0, 200).map((w: any, i: number) => (
                    <li key={i}>{typeof w === 'string' ? w : `${w.pointer ? w.pointer + ': ' : ''}${w.message || JSON.stringify(w)}`}</li>
                  ))}
                </ul>
              </details>
            )}
          </div>
        )}
        <div class="modal-foot inline">
          <button type="button" class="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="button" class="btn" disabled={!file || busy} onClick={() => run(true)} data-testid="import-preview">
            Preview
          </button>
          <button type="button" class="btn btn-primary" disabled={!file || busy} onClick={() => run(false)} data-testid="import-apply">
            Import
          </button>
        </div>
      </div>
    </Modal>
  );
}

function ServiceSettings({ d, onSaved, patch }: { d: ServiceData; onSaved: () => void; patch: (body: Record<string, unknown>) => Promise<boolean> }) {
  const s = d.svc;
  const [name, setName] = useState<string | null>(null);
  const [basePath, setBasePath] = useState<string | null>(null);
  const [tags, setTags] = useState<string[] | null>(null);
  const [delay, setDelay] = useState<string | null>(null);
  const [err, setErr] = useState<unknown>(null);
  const dirty = name !== null || basePath !== null || tags !== null || delay !== null;
  const ptr = err instanceof ApiError ? err.pointer : undefined;
  const msg = (p: string) => (ptr === p ? (err as ApiError).message : null);
  return (
    <form
      class="form"
      data-testid="service-settings"
      onSubmit={async (e) => {
        e.preventDefault();
        const body: Record<string, unknown> = {};
        if (name !== null) body.name = name;
        if (basePath !== null) body.basePath = basePath.trim() === '' ? null : basePath.trim();
        if (tags !== null) body.tags = tags;
        if (delay !== null) {
          const n = Number(delay);
          if (!Number.isInteger(n) || n < 0) {
            setErr(new ApiError(400, { error: 'invalid_field', message: 'a whole number of milliseconds, 0 or more', pointer: '/defaultDelayMs' }, ''));
            return;
          }
          body.defaultDelayMs = n;
        }
        setErr(null);
        try {
          if (await patch(body)) {
            setName(null);
            setBasePath(null);
            setTags(null);
            setDelay(null);
            onSaved();
          }
        } catch (e2) {
          setErr(e2);
        }
      }}
    >
      <Field label="Name" error={msg('/name')}>
        <input class="input" data-testid="service-edit-name" value={name ?? s.name ?? ''} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
      </Field>
      <Field label="Base path" hint={`Empty: /${s.team}/${s.slug}`} error={msg('/basePath')}>
        <input class="input mono" data-testid="service-edit-basepath" value={basePath ?? s.basePath ?? ''} placeholder={`/${s.team}/${s.slug}`} onInput={(e) => setBasePath((e.target as HTMLInputElement).value)} />
      </Field>
      <Field label="Tags" error={msg('/tags')}>
        <TagsInput value={tags ?? s.tags ?? []} onChange={setTags} testid="service-edit-tags" />
      </Field>
      <Field label="Default delay (ms)" hint="Added before every answer of this service" error={msg('/defaultDelayMs')}>
        <input class="input" type="number" min={0} data-testid="service-edit-delay" value={delay ?? String(s.defaultDelayMs ?? 0)} onInput={(e) => setDelay((e.target as HTMLInputElement).value)} />
      </Field>
      {err && !(err instanceof ApiError && err.pointer && ['/name', '/basePath', '/tags', '/defaultDelayMs'].includes(err.pointer)) ? <ErrorBox error={err} /> : null}
      <div class="row gap">
        <button type="submit" class="btn btn-primary btn-small" disabled={!dirty} data-testid="service-save">
          Save
        </button>
        {dirty && (
          <button type="button" class="btn btn-small" onClick={() => (setName(null), setBasePath(null), setTags(null), setDelay(null), setErr(null))}>
            Discard
          </button>
        )}
      </div>
    </form>
  );
}

export function ServicePage({ team, svc }: { team: string; svc: string }) {
  const st = useAsync<ServiceData>(
    async (signal) => {
      const [sr, routes, usage, status] = await Promise.all([
        call<ServiceRecord>(servicePath(team, svc), { signal }),
        get<RouteRecord[]>(`${servicePath(team, svc)}/routes`, signal),
        loadUsage(`${team}/${svc}`, signal),
        loadStatus(),
      ]);
      return { svc: sr.data, rev: revisionOf(sr.data, sr.etag), routes, usage, status };
    },
    [team, svc],
  );
  const [filter, setFilter] = useState('');
  const [tagFilter, setTagFilter] = useState('');
  const [showCurl, setShowCurl] = useState(false);
  const [importing, setImporting] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const [conflict, setConflict] = useState<ConflictInfo | null>(null);
  const [busyRoute, setBusyRoute] = useState<string | null>(null);

  const d = st.data;
  const allTags = useMemo(() => {
    const s = new Set<string>();
    d?.routes.forEach((r) => (r.tags || []).forEach((t) => s.add(t)));
    return [...s].sort();
  }, [d?.routes]);

  const hits = useMemo(() => {
    const m = new Map<string, { hits: number; lastAt: string | null }>();
    const u = d?.usage?.services.find((x) => x.service === `${team}/${svc}`);
    u?.routes.forEach((r) => m.set(r.route, r));
    return m;
  }, [d?.usage]);

  if (st.loading && !d) return <Spinner />;
  if (st.error && !d) return <ErrorBox error={st.error} title={`Service ${team}/${svc}`} />;
  const data = d!;
  const s = data.svc;
  const basePath = s.effectiveBasePath || s.basePath || `/${team}/${svc}`;
  const baseUrl = mockBaseUrl(data.status, basePath);
  const svcUsage = data.usage?.services.find((x) => x.service === `${team}/${svc}`);

  const f = filter.trim().toLowerCase();
  const shown = data.routes
    .map((r, i) => ({ r, order: i + 1 }))
    .filter(({ r }) => {
      if (tagFilter && !(r.tags || []).includes(tagFilter)) return false;
      if (!f) return true;
      const hay = [r.id, r.name, r.memo, methodLabel(r.http?.request?.method), pathLabel(r.http?.request?.path), ...(r.tags || []), String(r.http?.response?.status ?? '')].join(' ').toLowerCase();
      return f.split(/\s+/).every((w) => hay.includes(w));
    });

  const patchService = async (body: Record<string, unknown>, force = false): Promise<boolean> => {
    try {
      const r = await call<ServiceRecord>(servicePath(team, svc), { method: 'PATCH', body, ifMatch: force ? null : data.rev });
      st.setData({ ...data, svc: { ...data.svc, ...r.data }, rev: revisionOf(r.data, r.etag) });
      toast('Service saved');
      return true;
    } catch (e) {
      if (e instanceof ApiError && e.status === 412) {
        const cur = await call<ServiceRecord>(servicePath(team, svc)).catch(() => null);
        setConflict({ entity: 'service', message: e.message, current: cur?.data ?? null, reload: st.reload, overwrite: async () => void (await patchService(body, true)) });
        return false;
      }
      throw e;
    }
  };

  const patchRoute = async (r: RouteRecord, body: Record<string, unknown>) => {
    setBusyRoute(r.id);
    try {
      await call(routePath(team, svc, r.id), { method: 'PATCH', body, ifMatch: revisionOf(r) });
      st.reload();
    } catch (e) {
      if (e instanceof ApiError && e.status === 412) toast(`Route ${r.id} was changed by someone else meanwhile; the list is reloaded. Try again.`, 'error');
      else toast(errorText(e), 'error');
      st.reload();
    } finally {
      setBusyRoute(null);
    }
  };

  const move = (idx: number, dir: -1 | 1) => {
    const r = data.routes[idx];
    const other = data.routes[idx + dir];
    if (!other) return;
    const mine = r.priority ?? 0;
    const theirs = other.priority ?? 0;
    const next = dir === -1 ? Math.max(mine, theirs) + (theirs >= mine ? 1 : 0) : Math.min(mine, theirs) - (theirs <= mine ? 1 : 0);
    patchRoute(r, { priority: next });
  };

  return (
    <div class="page" data-testid="service-page">
      <div class="page-head">
        <div>
          <h1 data-testid="service-title">{s.name || s.slug}</h1>
          <p class="muted">
            Service <span class="mono">{s.team}/{s.slug}</span> · {plural(data.routes.length, 'route')}
            {svcUsage ? <> · {svcUsage.requests} requests ({svcUsage.today} today), last <When iso={svcUsage.lastAt} /></> : null}
            {(s.tags || []).map((t) => (
              <Tag key={t}>{t}</Tag>
            ))}
          </p>
        </div>
        <div class="row gap wrap">
          <a class="btn" href={links.log(team, svc)} data-testid="live-log-link">
            ● Live log
          </a>
          <a class="btn" href={links.history(team, svc)} data-testid="history-link">
            ⟲ History
          </a>
          <button type="button" class="btn" data-testid="import-button" onClick={() => setImporting(true)}>
            ⇪ Import
          </button>
          <Menu label="⇩ Export" testid="export-menu" align="right">
            {(close) =>
              EXPORT_FORMATS.map((x) => (
                <a
                  key={x.format}
                  class="menu-item"
                  role="menuitem"
                  data-testid={`export-${x.format}`}
                  href={`/api/v1${servicePath(team, svc)}/export?format=${x.format}${baseUrl && x.format !== 'yaml' && x.format !== 'json' ? `&baseUrl=${encodeURIComponent(baseUrl)}` : ''}`}
                  download={`${team}-${svc}-${x.format}.${x.ext}`}
                  onClick={close}
                >
                  {x.label}
                </a>
              ))
            }
          </Menu>
          <button type="button" class="btn btn-danger-ghost" data-testid="delete-service-button" onClick={() => setDeleting(true)}>
            Delete
          </button>
        </div>
      </div>

      {conflict && <ConflictBanner info={conflict} onDismiss={() => setConflict(null)} />}

      <div class="base-url card pad row gap" data-testid="base-url">
        <span class="label">Base URL</span>
        {baseUrl ? (
          <>
            <code class="mono grow" data-testid="base-url-value">
              {baseUrl}
            </code>
            <CopyButton text={baseUrl} testid="copy-base-url" />
          </>
        ) : (
          <>
            <code class="mono grow">{basePath}</code>
            <span class="muted small">on the mock listener (its address is not known to this page)</span>
          </>
        )}
      </div>

      <div class="two-col">
        <div class="col-main">
          <section class="card">
            <div class="card-head">
              <h2>Routes</h2>
              <span class="muted small">in match order</span>
              <span class="grow" />
              <input class="input input-small filter" type="search" placeholder="Filter by text…" value={filter} data-testid="route-filter" onInput={(e) => setFilter((e.target as HTMLInputElement).value)} />
              <select class="input input-small" value={tagFilter} data-testid="route-tag-filter" onChange={(e) => setTagFilter((e.target as HTMLSelectElement).value)}>
                <option value="">all tags</option>
                {allTags.map((t) => (
                  <option key={t} value={t}>
                    {t}
                  </option>
                ))}
              </select>
              <label class="check small">
                <input type="checkbox" checked={showCurl} onChange={(e) => setShowCurl((e.target as HTMLInputElement).checked)} data-testid="show-curl" /> curl lines
              </label>
              <a class="btn btn-primary btn-small" href={links.newRoute(team, svc)} data-testid="new-route-button">
                + New route
              </a>
            </div>
            {data.routes.length === 0 ? (
              <Empty>
                No routes yet. <a href={links.newRoute(team, svc)}>Add the first route</a> or import a document.
              </Empty>
            ) : (
              <table class="table routes-table" data-testid="routes-table">
                <thead>
                  <tr>
                    <th class="num" title="Match order">#</th>
                    <th>On</th>
                    <th>Method</th>
                    <th>Path</th>
                    <th>Status</th>
                    <th>Name</th>
                    <th class="num">Hits</th>
                    <th>Last hit</th>
                    <th title="Priority: higher wins">Priority</th>
                    <th />
                  </tr>
                </thead>
                <tbody>
                  {shown.map(({ r, order }) => {
                    const h = hits.get(r.id);
                    const idx = order - 1;
                    const curl = baseUrl ? curlLine(baseUrl, r.http) : null;
                    return [
                      <tr key={r.id} class={r.enabled === false ? 'disabled-row' : ''} data-testid="route-row" data-route-id={r.id}>
                        <td class="num muted">{order}</td>
                        <td>
                          <Toggle checked={r.enabled !== false} disabled={busyRoute === r.id} onChange={(v) => patchRoute(r, { enabled: v })} testid={`route-enabled-${r.id}`} />
                        </td>
                        <td>
                          <MethodBadge method={methodLabel(r.http?.request?.method)} />
                        </td>
                        <td class="mono path-cell">
                          <a href={links.route(team, svc, r.id)}>{pathLabel(r.http?.request?.path)}</a>
                        </td>
                        <td>
                          <StatusBadge status={r.http?.response?.status ?? (r.http?.forward ? null : 200)} />
                          {r.http?.alternatives?.length ? <span class="muted small"> +{r.http.alternatives.length}</span> : null}
                        </td>
                        <td>
                          <a href={links.route(team, svc, r.id)} data-testid="route-link">
                            {r.name || r.id}
                          </a>
                          {(r.tags || []).slice(0, 3).map((t) => (
                            <Tag key={t}>{t}</Tag>
                          ))}
                        </td>
                        <td class="num" data-testid="route-hits">
                          {h ? h.hits : 0}
                        </td>
                        <td class="small">
                          <When iso={h?.lastAt ?? null} />
                        </td>
                        <td class="prio">
                          <span class="prio-n">{r.priority ?? 0}</span>
                          <button type="button" class="icon-btn" title="Move up (raise the priority)" disabled={idx === 0 || busyRoute !== null} onClick={() => move(idx, -1)} data-testid="route-up">
                            ▲
                          </button>
                          <button
                            type="button"
                            class="icon-btn"
                            title="Move down (lower the priority)"
                            disabled={idx === data.routes.length - 1 || busyRoute !== null}
                            onClick={() => move(idx, 1)}
                            data-testid="route-down"
                          >
                            ▼
                          </button>
                        </td>
                        <td class="actions">{curl && <CopyButton text={curl} label="curl" testid="copy-curl" />}</td>
                      </tr>,
                      showCurl && curl ? (
                        <tr key={`${r.id}-curl`} class="curl-row">
                          <td />
                          <td colSpan={9}>
                            <code class="mono small curl-line" data-testid="curl-line">
                              {curl}
                            </code>
                          </td>
                        </tr>
                      ) : null,
                    ];
                  })}
                </tbody>
              </table>
            )}
            {data.routes.length > 0 && shown.length === 0 && <Empty>No route matches the filter.</Empty>}
          </section>
        </div>
        <aside class="col-side">
          <section class="card pad">
            <h2>Settings</h2>
            <ServiceSettings key={data.rev || ''} d={data} patch={patchService} onSaved={() => undefined} />
          </section>
          <section class="card">
            <MemoEditor value={s.memo || ''} onSave={async (memo) => void (await patchService({ memo }))} testid="service-memo" />
          </section>
        </aside>
      </div>

      {importing && <ImportModal team={team} svc={svc} onClose={() => setImporting(false)} onDone={st.reload} />}
      {deleting && (
        <ConfirmModal
          title={`Delete service ${team}/${svc}?`}
          confirmLabel={data.routes.length ? `Delete the service and its ${plural(data.routes.length, 'route')}` : 'Delete the service'}
          onCancel={() => setDeleting(false)}
          onConfirm={async () => {
            await call(servicePath(team, svc), { method: 'DELETE', ifMatch: data.rev });
            toast(`Service ${team}/${svc} deleted`);
            setDeleting(false);
            navigate(links.team(team));
          }}
        >
          <p data-testid="delete-summary">
            This deletes the service <strong>{s.name || s.slug}</strong> and its <strong>{plural(data.routes.length, 'route')}</strong>. Requests to <span class="mono">{basePath}</span> will no longer be answered by it.
          </p>
          <p class="muted small">The history keeps every deleted definition.</p>
        </ConfirmModal>
      )}
    </div>
  );
}
