import { useState } from 'preact/hooks';
import { call, get, type ServiceRecord, type TeamRecord, type Usage } from '../lib/api';
import { links, navigate } from '../lib/router';
import { SearchBox } from '../components/Layout';
import { Empty, ErrorBox, Field, Modal, Spinner, Tag, useAsync, When, toast } from '../components/ui';

interface HomeData {
  teams: TeamRecord[];
  services: ServiceRecord[];
  usage: Usage | null;
}

export async function loadUsage(service?: string, signal?: AbortSignal): Promise<Usage | null> {
  try {
    return await get<Usage>(`/usage${service ? `?service=${encodeURIComponent(service)}` : ''}`, signal);
  } catch {
    return null;
  }
}

export function slugify(s: string): string {
  return s
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63);
}

export function NewTeamModal({ onClose }: { onClose: () => void }) {
  const [name, setName] = useState('');
  const [slug, setSlug] = useState('');
  const [slugTouched, setSlugTouched] = useState(false);
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
      if (memo.trim()) body.memo = memo;
      await call('/teams', { method: 'POST', body });
      toast(`Team ${effSlug} created`);
      onClose();
      navigate(links.team(effSlug));
    } catch (e2) {
      setErr(e2);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Modal title="New team" onClose={onClose} testid="new-team-dialog">
      <form onSubmit={submit} class="form">
        <Field label="Name">
          <input class="input" data-testid="team-name-input" value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} placeholder="Payments" />
        </Field>
        <Field label="Slug" hint="Lowercase letters, digits and -; the first segment of its services' paths.">
          <input
            class="input mono"
            data-testid="team-slug-input"
            value={effSlug}
            onInput={(e) => {
              setSlugTouched(true);
              setSlug((e.target as HTMLInputElement).value);
            }}
            placeholder="payments"
            required
          />
        </Field>
        <Field label="Notes (Markdown)">
          <textarea class="input" rows={3} value={memo} onInput={(e) => setMemo((e.target as HTMLTextAreaElement).value)} />
        </Field>
        <ErrorBox error={err} />
        <div class="modal-foot inline">
          <button type="button" class="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="btn btn-primary" disabled={busy || !effSlug} data-testid="team-create-submit">
            Create team
          </button>
        </div>
      </form>
    </Modal>
  );
}

export function HomePage() {
  const st = useAsync<HomeData>(async (signal) => {
    const [teams, services, usage] = await Promise.all([get<TeamRecord[]>('/teams', signal), get<ServiceRecord[]>('/services', signal), loadUsage(undefined, signal)]);
    return { teams, services, usage };
  }, []);
  const [creating, setCreating] = useState(false);

  const d = st.data;
  const usageBy = new Map((d?.usage?.services || []).map((u) => [u.service, u]));
  // Stored use over the last 30 days: survives restarts, and shows which mocks nobody calls.
  const storedBy = new Map((d?.usage?.byService || []).map((u) => [`${u.team}/${u.service}`, u]));
  const serviceCount = d ? d.services.length : 0;
  const routeCount = d ? d.teams.reduce((n, t) => n + (t.routeCount || 0), 0) : 0;

  return (
    <div class="page" data-testid="home-page">
      <div class="page-head">
        <div>
          <h1>Mock services</h1>
          <p class="muted">Teams, their services and the routes standin answers with.</p>
        </div>
        <button type="button" class="btn btn-primary" data-testid="new-team-button" onClick={() => setCreating(true)}>
          + New team
        </button>
      </div>

      <div class="stats" data-testid="stats">
        <div class="stat">
          <span class="stat-n" data-testid="stat-teams">{d ? d.teams.length : '…'}</span>
          <span class="stat-l">teams</span>
        </div>
        <div class="stat">
          <span class="stat-n" data-testid="stat-services">{d ? serviceCount : '…'}</span>
          <span class="stat-l">services</span>
        </div>
        <div class="stat">
          <span class="stat-n" data-testid="stat-routes">{d ? routeCount : '…'}</span>
          <span class="stat-l">routes</span>
        </div>
        <div class="stat">
          <span class="stat-n" data-testid="stat-requests-today">{d ? (d.usage?.today ? d.usage.today.requests : '—') : '…'}</span>
          <span class="stat-l">requests today</span>
        </div>
      </div>

      <div class="home-search">
        <SearchBox big testid="home-search-input" />
      </div>

      <ErrorBox error={st.error} title="Could not load the teams" />
      {st.loading && !d && <Spinner />}
      {d && d.teams.length === 0 && (
        <Empty>
          No teams yet. <button class="btn btn-primary btn-small" onClick={() => setCreating(true)}>Create the first team</button>
        </Empty>
      )}
      {d && (
        <div class="team-grid" data-testid="team-list">
          {d.teams.map((t) => {
            const svcs = d.services.filter((s) => s.team === t.slug);
            return (
              <section class="card team-card" key={t.slug} data-testid={`team-card-${t.slug}`}>
                <div class="card-head">
                  <a href={links.team(t.slug)} class="card-title" data-testid="team-link">
                    {t.name || t.slug}
                  </a>
                  <span class="mono muted small">{t.slug}</span>
                  <span class="grow" />
                  {(t.tags || []).map((tag) => (
                    <Tag key={tag}>{tag}</Tag>
                  ))}
                </div>
                {svcs.length === 0 ? (
                  <p class="muted small pad">No services.</p>
                ) : (
                  <table class="table compact">
                    <thead>
                      <tr>
                        <th>Service</th>
                        <th>Base path</th>
                        <th class="num">Routes</th>
                        <th class="num" title="Calls in the last 30 days">Calls (30 d)</th>
                        <th>Last used</th>
                      </tr>
                    </thead>
                    <tbody>
                      {svcs.map((s) => {
                        const u = usageBy.get(`${s.team}/${s.slug}`);
                        const stored = storedBy.get(`${s.team}/${s.slug}`);
                        const last = [u?.lastAt, stored?.lastUsed].filter((x): x is string => !!x).sort().pop() ?? null;
                        const unused = !!d?.usage?.byService && !last;
                        return (
                          <tr key={s.slug}>
                            <td>
                              <a href={links.service(s.team, s.slug)} data-testid="service-link">
                                {s.name || s.slug}
                              </a>
                            </td>
                            <td class="mono small">{s.effectiveBasePath || s.basePath || `/${s.team}/${s.slug}`}</td>
                            <td class="num">{s.routeCount ?? ''}</td>
                            <td class="num" data-testid="service-calls">{stored ? stored.calls : ''}</td>
                            <td class="small" data-testid="service-last-used">
                              {unused ? <span class="muted" title="No call in the last 30 days">unused</span> : <When iso={last} />}
                            </td>
                          </tr>
                        );
                      })}
                    </tbody>
                  </table>
                )}
              </section>
            );
          })}
        </div>
      )}
      {creating && <NewTeamModal onClose={() => setCreating(false)} />}
    </div>
  );
}
