import { render } from 'preact';
import { useEffect } from 'preact/hooks';
import './styles.css';
import { Header, type Crumb } from './components/Layout';
import { Toasts } from './components/ui';
import { links, useHashRoute, type Route } from './lib/router';
import { HomePage } from './pages/Home';
import { TeamPage } from './pages/Team';
import { ServicePage } from './pages/Service';
import { RouteEditorPage } from './pages/RouteEditor';
import { LiveLogPage } from './pages/LiveLog';
import { HistoryPage } from './pages/History';

function crumbsOf(r: Route): Crumb[] {
  const c: Crumb[] = [{ label: 'Home', href: links.home() }];
  if (r.page === 'notfound' || r.page === 'home') return c;
  c.push({ label: r.team, href: links.team(r.team) });
  if (r.page === 'team') return c;
  c.push({ label: r.svc, href: links.service(r.team, r.svc) });
  if (r.page === 'route') c.push({ label: r.id === null ? 'new route' : r.id });
  if (r.page === 'log') c.push({ label: 'Live log' });
  if (r.page === 'history') c.push({ label: 'History' });
  return c;
}

function titleOf(r: Route): string {
  switch (r.page) {
    case 'home':
      return 'standin';
    case 'team':
      return `${r.team} · standin`;
    case 'service':
      return `${r.team}/${r.svc} · standin`;
    case 'route':
      return `${r.id ?? 'new route'} · ${r.team}/${r.svc} · standin`;
    case 'log':
      return `Live log · ${r.team}/${r.svc} · standin`;
    case 'history':
      return `History · ${r.team}/${r.svc} · standin`;
    default:
      return 'standin';
  }
}

function Page({ r }: { r: Route }) {
  switch (r.page) {
    case 'home':
      return <HomePage />;
    case 'team':
      return <TeamPage key={r.team} team={r.team} />;
    case 'service':
      return <ServicePage key={`${r.team}/${r.svc}`} team={r.team} svc={r.svc} />;
    case 'route':
      return <RouteEditorPage key={`${r.team}/${r.svc}/${r.id ?? ''}`} team={r.team} svc={r.svc} id={r.id} />;
    case 'log':
      return <LiveLogPage key={`${r.team}/${r.svc}`} team={r.team} svc={r.svc} />;
    case 'history':
      return <HistoryPage key={`${r.team}/${r.svc}`} team={r.team} svc={r.svc} />;
    default:
      return (
        <div class="page">
          <h1>Not found</h1>
          <p>
            Nothing lives at <span class="mono">{r.hash}</span>. <a href="#/">Go home</a>.
          </p>
        </div>
      );
  }
}

function App() {
  const [r] = useHashRoute();
  useEffect(() => {
    document.title = titleOf(r);
    window.scrollTo(0, 0);
  }, [JSON.stringify(r)]);
  return (
    <>
      <Header crumbs={crumbsOf(r)} />
      <main class="main">
        <Page r={r} />
      </main>
      <Toasts />
    </>
  );
}

render(<App />, document.getElementById('app')!);
