import { HistoryView } from '../components/HistoryView';
import { links } from '../lib/router';

export function HistoryPage({ team, svc }: { team: string; svc: string }) {
  return (
    <div class="page" data-testid="history-page">
      <div class="page-head">
        <div>
          <h1>History</h1>
          <p class="muted">
            Every change to <span class="mono">{team}/{svc}</span> and its routes: who, when and what. Pick a change to see its diff; any version can be restored.
          </p>
        </div>
        <a class="btn" href={links.service(team, svc)}>
          ← Back to the service
        </a>
      </div>
      <section class="card panel">
        <HistoryView historyKey={`${team}/${svc}`} />
      </section>
    </div>
  );
}
