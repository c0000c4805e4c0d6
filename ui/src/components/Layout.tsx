import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { get, getActor, setActor, type RouteRecord, type ServiceRecord, type TeamRecord } from '../lib/api';
import { links, navigate } from '../lib/router';
import { methodLabel, pathLabel } from '../lib/conditions';
import { MethodBadge, Tag } from './ui';

export interface Crumb {
  label: ComponentChildren;
  href?: string;
}

interface SearchResult {
  teams: TeamRecord[];
  services: ServiceRecord[];
  routes: RouteRecord[];
}

function useSearch(q: string, limit: number) {
  const [res, setRes] = useState<SearchResult | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    const text = q.trim();
    if (!text) {
      setRes(null);
      return;
    }
    const ctl = new AbortController();
    const t = setTimeout(() => {
      setBusy(true);
      get<SearchResult>(`/search?q=${encodeURIComponent(text)}&limit=${limit}`, ctl.signal)
        .then((r) => setRes(r), () => setRes({ teams: [], services: [], routes: [] }))
        .finally(() => !ctl.signal.aborted && setBusy(false));
    }, 180);
    return () => {
      clearTimeout(t);
      ctl.abort();
    };
  }, [q, limit]);
  return { res, busy };
}

function resultLinks(r: SearchResult) {
  const items: { href: string; kind: string; title: ComponentChildren; sub: ComponentChildren }[] = [];
  for (const t of r.teams) items.push({ href: links.team(t.slug), kind: 'team', title: t.name || t.slug, sub: <span class="mono">{t.slug}</span> });
  for (const s of r.services)
    items.push({
      href: links.service(s.team, s.slug),
      kind: 'service',
      title: s.name || s.slug,
      sub: (
        <>
          <span class="mono">
            {s.team}/{s.slug}
          </span>
          {(s.tags || []).slice(0, 3).map((t) => (
            <Tag key={t}>{t}</Tag>
          ))}
        </>
      ),
    });
  for (const rt of r.routes)
    items.push({
      href: links.route(rt.team, rt.service, rt.id),
      kind: 'route',
      title: rt.name || rt.id,
      sub: (
        <>
          <MethodBadge method={methodLabel(rt.http?.request?.method)} /> <span class="mono">{pathLabel(rt.http?.request?.path)}</span>{' '}
          <span class="muted">
            in {rt.team}/{rt.service}
          </span>
        </>
      ),
    });
  return items;
}

export function SearchResults({ res, onPick }: { res: SearchResult; onPick?: () => void }) {
  const items = resultLinks(res);
  if (items.length === 0) return <div class="search-none">Nothing found.</div>;
  return (
    <ul class="search-results" data-testid="search-results">
      {items.map((it, i) => (
        <li key={i}>
          <a href={it.href} class="search-result" data-testid="search-result" onClick={() => onPick && onPick()}>
            <span class={`kind kind-${it.kind}`}>{it.kind}</span>
            <span class="sr-main">
              <span class="sr-title">{it.title}</span>
              <span class="sr-sub">{it.sub}</span>
            </span>
          </a>
        </li>
      ))}
    </ul>
  );
}

export function SearchBox({ big, testid = 'search-input' }: { big?: boolean; testid?: string }) {
  const [q, setQ] = useState('');
  const [open, setOpen] = useState(false);
  const { res, busy } = useSearch(q, big ? 20 : 8);
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const onDoc = (e: MouseEvent) => {
      if (ref.current && !ref.current.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener('mousedown', onDoc);
    return () => document.removeEventListener('mousedown', onDoc);
  }, []);
  return (
    <div class={`search ${big ? 'search-big' : ''}`} ref={ref}>
      <span class="search-icon" aria-hidden="true">
        <svg viewBox="0 0 16 16" width="14" height="14">
          <circle cx="7" cy="7" r="5" fill="none" stroke="currentColor" stroke-width="1.6" />
          <path d="M11 11l3.5 3.5" stroke="currentColor" stroke-width="1.6" stroke-linecap="round" />
        </svg>
      </span>
      <input
        type="search"
        class="input"
        data-testid={testid}
        placeholder={big ? 'Search teams, services, routes, tags and notes…' : 'Search…'}
        value={q}
        onInput={(e) => {
          setQ((e.target as HTMLInputElement).value);
          setOpen(true);
        }}
        onFocus={() => setOpen(true)}
        onKeyDown={(e) => {
          if (e.key === 'Escape') setOpen(false);
          if (e.key === 'Enter' && res) {
            const first = resultLinks(res)[0];
            if (first) {
              setOpen(false);
              navigate(first.href);
            }
          }
        }}
        aria-label="Search"
      />
      {busy && <span class="search-busy spin" aria-hidden="true" />}
      {open && res && q.trim() && (
        <div class={big ? 'search-inline' : 'search-pop'}>
          <SearchResults
            res={res}
            onPick={() => {
              setOpen(false);
              setQ('');
            }}
          />
        </div>
      )}
    </div>
  );
}

function ActorBox() {
  const [name, setName] = useState(getActor());
  return (
    <label class="actor" title="Your name is recorded in the history with every change you make">
      <span class="actor-label">you are</span>
      <input
        class="input input-small"
        data-testid="actor-input"
        value={name}
        onInput={(e) => setName((e.target as HTMLInputElement).value)}
        onBlur={() => {
          setActor(name);
          setName(getActor());
        }}
        onKeyDown={(e) => e.key === 'Enter' && (e.target as HTMLInputElement).blur()}
      />
    </label>
  );
}

export function Header({ crumbs }: { crumbs: Crumb[] }) {
  return (
    <header class="app-header">
      <div class="header-row">
        <a class="brand" href="#/" data-testid="brand">
          <svg viewBox="0 0 20 20" width="20" height="20" aria-hidden="true">
            <rect width="20" height="20" rx="5" fill="#2457c5" />
            <path d="M5 13.8c1.2 1 2.8 1.5 4.5 1.5 2.4 0 3.9-1.1 3.9-2.9 0-1.6-1.1-2.4-3.4-2.9-1.6-.4-2.3-.7-2.3-1.4 0-.6.6-1.1 1.8-1.1 1.1 0 2.1.4 3 1l1-1.6C12.4 5.6 11.1 5.1 9.5 5.1 7.2 5.1 5.8 6.3 5.8 8c0 1.8 1.2 2.5 3.4 3 1.6.4 2.2.7 2.2 1.4 0 .7-.7 1.2-1.9 1.2-1.4 0-2.6-.5-3.6-1.4z" fill="#fff" />
          </svg>
          <span>standin</span>
        </a>
        <nav class="crumbs" aria-label="Breadcrumb" data-testid="breadcrumb">
          {crumbs.map((c, i) => (
            <span key={i} class="crumb">
              {i > 0 && <span class="crumb-sep">/</span>}
              {c.href && i < crumbs.length - 1 ? <a href={c.href}>{c.label}</a> : <span class="crumb-current">{c.label}</span>}
            </span>
          ))}
        </nav>
        <div class="header-right">
          <SearchBox />
          <ActorBox />
        </div>
      </div>
    </header>
  );
}
