import { useState } from 'preact/hooks';
import { ApiError, call, get, revisionOf, teamPath, type ServiceRecord, type TeamRecord } from '../lib/api';
import { links, navigate } from '../lib/router';
import { ConflictBanner, type ConflictInfo } from '../components/Conflict';
import { ConfirmModal, Empty, ErrorBox, Field, MemoEditor, Modal, Spinner, TagsInput, plural, useAsync, When, toast } from '../components/ui';
import { loadUsage, slugify } from './Home';

interface TeamData {
  team: TeamRecord;
  rev: string | null;
  services: ServiceRecord[];
  usage: Awaited<ReturnType<typeof loadUsage>>;
}

export function NewServiceModal({ team, onClose }: { team: string; onClose: () => void }) {
  const [name, setName] = useState('');
  const [slug, setSlug] = useState('');
  const [slugTouched, setSlugTouched] = useState(false);
  const [basePath, setBasePath] = useState('');
  const [memo, setMemo] = useState('');
  const [err, setErr] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const effSlug = slugTouched ? slug : slugify(name);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setErr(null);
    try {
      const body: Record<string, unknown> = { slug: effSlug };
      if (name.trim()) body.name = name.trim();
      if (basePath.trim()) body.basePath = basePath.trim();
      if (memo.trim()) body.memo = memo;
      await call(`${teamPath(team)}/services`, { method: 'POST', body });
      toast(`Service ${team}/${effSlug} created`);
      onClose();
      navigate(links.service(team, effSlug));
    } catch (e2) {
      setErr(e2);
    } finally {
      setBusy(false);
    }
  };
  const ptr = err instanceof ApiError ? err.pointer : undefined;
  return (
    <Modal title={`New service in ${team}`} onClose={onClose} testid="new-service-dialog">
      <form onSubmit={submit} class="form">
        <Field label="Name">
          <input class="input" data-testid="service-name-input" value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} placeholder="Cards API" />
        </Field>
        <Field label="Slug" error={ptr === '/slug' ? (err as ApiError).message : null}>
          <input
            class="input mono"
            data-testid="service-slug-input"
            value={effSlug}
            onInput={(e) => {
              setSlugTouched(true);
              setSlug((e.target as HTMLInputElement).value);
            }}
            placeholder="cards"
            required
          />
        </Field>
        <Field label="Base path" hint={`Default: /${team}/${effSlug || 'slug'}`} error={ptr === '/basePath' ? (err as ApiError).message : null}>
          <input class="input mono" data-testid="service-basepath-input" value={basePath} onInput={(e) => setBasePath((e.target as HTMLInputElement).value)} placeholder={`/${team}/${effSlug || 'slug'}`} />
        </Field>
        <Field label="Notes (Markdown)">
          <textarea class="input" rows={3} value={memo} onInput={(e) => setMemo((e.target as HTMLTextAreaElement).value)} />
        </Field>
        <ErrorBox error={err} />
        <div class="modal-foot inline">
          <button type="button" class="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="btn btn-primary" disabled={busy || !effSlug} data-testid="service-create-submit">
            Create service
          </button>
        </div>
      </form>
    </Modal>
  );
}

export function TeamPage({ team }: { team: string }) {
  const st = useAsync<TeamData>(
    async (signal) => {
      const [tr, services, usage] = await Promise.all([call<TeamRecord>(teamPath(team), { signal }), get<ServiceRecord[]>(`${teamPath(team)}/services`, signal), loadUsage(undefined, signal)]);
      return { team: tr.data, rev: revisionOf(tr.data, tr.etag), services, usage };
    },
    [team],
  );
  const [creating, setCreating] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const [nameDraft, setNameDraft] = useState<string | null>(null);
  const [tagsDraft, setTagsDraft] = useState<string[] | null>(null);
  const [conflict, setConflict] = useState<ConflictInfo | null>(null);
  const [saveErr, setSaveErr] = useState<unknown>(null);

  if (st.loading && !st.data) return <Spinner />;
  if (st.error && !st.data) return <ErrorBox error={st.error} title={`Team ${team}`} />;
  const d = st.data!;
  const t = d.team;
  const routeTotal = d.services.reduce((n, s) => n + (s.routeCount || 0), 0);
  const usageBy = new Map((d.usage?.services || []).map((u) => [u.service, u]));

  const patch = async (body: Record<string, unknown>, force = false) => {
    setSaveErr(null);
    try {
      const r = await call<TeamRecord>(teamPath(team), { method: 'PATCH', body, ifMatch: force ? null : d.rev });
      st.setData({ ...d, team: r.data, rev: revisionOf(r.data, r.etag) });
      toast('Team saved');
      return true;
    } catch (e) {
      if (e instanceof ApiError && e.status === 412) {
        const cur = await call<TeamRecord>(teamPath(team)).catch(() => null);
        setConflict({
          entity: 'team',
          message: e.message,
          current: cur?.data ?? null,
          reload: () => {
            setNameDraft(null);
            setTagsDraft(null);
            st.reload();
          },
          overwrite: async () => {
            await patch(body, true);
          },
        });
        return false;
      }
      setSaveErr(e);
      throw e;
    }
  };

  const nameVal = nameDraft ?? t.name ?? '';
  const tagsVal = tagsDraft ?? t.tags ?? [];
  const dirty = nameDraft !== null || tagsDraft !== null;

  return (
    <div class="page" data-testid="team-page">
      <div class="page-head">
        <div>
          <h1 data-testid="team-title">{t.name || t.slug}</h1>
          <p class="muted">
            Team <span class="mono">{t.slug}</span> · {plural(d.services.length, 'service')} · {plural(routeTotal, 'route')} · changed <When iso={t.meta?.updatedAt} /> by {t.meta?.updatedBy}
          </p>
        </div>
        <div class="row gap">
          <button type="button" class="btn btn-primary" data-testid="new-service-button" onClick={() => setCreating(true)}>
            + New service
          </button>
          <button type="button" class="btn btn-danger-ghost" data-testid="delete-team-button" onClick={() => setDeleting(true)}>
            Delete team
          </button>
        </div>
      </div>

      {conflict && <ConflictBanner info={conflict} onDismiss={() => setConflict(null)} />}

      <div class="two-col">
        <div class="col-main">
          <section class="card">
            <div class="card-head">
              <h2>Services</h2>
            </div>
            {d.services.length === 0 ? (
              <Empty>
                No services yet.{' '}
                <button class="btn btn-small btn-primary" onClick={() => setCreating(true)}>
                  Create one
                </button>
              </Empty>
            ) : (
              <table class="table" data-testid="team-services">
                <thead>
                  <tr>
                    <th>Service</th>
                    <th>Base path</th>
                    <th class="num">Routes</th>
                    <th class="num">Requests</th>
                    <th>Last used</th>
                  </tr>
                </thead>
                <tbody>
                  {d.services.map((s) => {
                    const u = usageBy.get(`${s.team}/${s.slug}`);
                    return (
                      <tr key={s.slug}>
                        <td>
                          <a href={links.service(team, s.slug)} data-testid="service-link">
                            {s.name || s.slug}
                          </a>{' '}
                          <span class="mono muted small">{s.slug}</span>
                        </td>
                        <td class="mono small">{s.effectiveBasePath || s.basePath}</td>
                        <td class="num">{s.routeCount ?? ''}</td>
                        <td class="num">{u ? u.requests : '—'}</td>
                        <td class="small">
                          <When iso={u?.lastAt ?? null} />
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            )}
          </section>
          <section class="card">
            <MemoEditor value={t.memo || ''} onSave={async (memo) => void (await patch({ memo }))} testid="team-memo" />
          </section>
        </div>
        <aside class="col-side">
          <section class="card pad">
            <h2>Settings</h2>
            <form
              class="form"
              onSubmit={async (e) => {
                e.preventDefault();
                const body: Record<string, unknown> = {};
                if (nameDraft !== null) body.name = nameDraft;
                if (tagsDraft !== null) body.tags = tagsDraft;
                try {
                  if (await patch(body)) {
                    setNameDraft(null);
                    setTagsDraft(null);
                  }
                } catch {
                  /* shown below */
                }
              }}
            >
              <Field label="Name" error={saveErr instanceof ApiError && saveErr.pointer === '/name' ? saveErr.message : null}>
                <input class="input" data-testid="team-rename-input" value={nameVal} onInput={(e) => setNameDraft((e.target as HTMLInputElement).value)} />
              </Field>
              <Field label="Tags">
                <TagsInput value={tagsVal} onChange={setTagsDraft} testid="team-tags-input" />
              </Field>
              <ErrorBox error={saveErr} />
              <div class="row gap">
                <button type="submit" class="btn btn-primary btn-small" disabled={!dirty} data-testid="team-save">
                  Save
                </button>
                {dirty && (
                  <button type="button" class="btn btn-small" onClick={() => (setNameDraft(null), setTagsDraft(null))}>
                    Discard
                  </button>
                )}
              </div>
            </form>
          </section>
        </aside>
      </div>

      {creating && <NewServiceModal team={team} onClose={() => setCreating(false)} />}
      {deleting && (
        <ConfirmModal
          title={`Delete team ${t.slug}?`}
          confirmLabel={d.services.length ? `Delete the team, ${plural(d.services.length, 'service')} and ${plural(routeTotal, 'route')}` : 'Delete the team'}
          onCancel={() => setDeleting(false)}
          onConfirm={async () => {
            await call(`${teamPath(team)}${d.services.length ? '?cascade=true' : ''}`, { method: 'DELETE', ifMatch: d.rev });
            toast(`Team ${team} deleted`);
            setDeleting(false);
            navigate(links.home());
          }}
        >
          {d.services.length ? (
            <>
              <p data-testid="delete-summary">
                This deletes the team <strong>{t.name || t.slug}</strong> and everything in it:{' '}
                <strong>{plural(d.services.length, 'service')}</strong> and <strong>{plural(routeTotal, 'route')}</strong>
                .
              </p>
              <ul class="small">
                {d.services.map((s) => (
                  <li key={s.slug}>
                    <span class="mono">{s.slug}</span> ({plural(s.routeCount ?? 0, 'route')})
                  </li>
                ))}
              </ul>
            </>
          ) : (
            <p data-testid="delete-summary">The team has no services. Its history is kept.</p>
          )}
          <p class="muted small">The history keeps every deleted definition; a route can be restored from it.</p>
        </ConfirmModal>
      )}
    </div>
  );
}

