import { useEffect, useState } from 'preact/hooks';

export type Route =
  | { page: 'home' }
  | { page: 'team'; team: string }
  | { page: 'service'; team: string; svc: string }
  | { page: 'route'; team: string; svc: string; id: string | null }
  | { page: 'log'; team: string; svc: string }
  | { page: 'history'; team: string; svc: string }
  | { page: 'notfound'; hash: string };

function dec(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

export function parseHash(hash: string): Route {
  let h = hash.replace(/^#/, '');
  const q = h.indexOf('?');
  if (q >= 0) h = h.slice(0, q);
  const parts = h.split('/').filter((p) => p !== '').map(dec);
  if (parts.length === 0) return { page: 'home' };
  if (parts[0] !== 'teams' || parts.length < 2) return { page: 'notfound', hash };
  const team = parts[1];
  if (parts.length === 2) return { page: 'team', team };
  if (parts[2] !== 'services' || parts.length < 4) return { page: 'notfound', hash };
  const svc = parts[3];
  if (parts.length === 4) return { page: 'service', team, svc };
  if (parts.length === 5 && parts[4] === 'log') return { page: 'log', team, svc };
  if (parts.length === 5 && parts[4] === 'history') return { page: 'history', team, svc };
  if (parts.length === 6 && parts[4] === 'routes') {
    return { page: 'route', team, svc, id: parts[5] === 'new' ? null : parts[5] };
  }
  return { page: 'notfound', hash };
}

export function hashQuery(): URLSearchParams {
  const h = location.hash;
  const q = h.indexOf('?');
  return new URLSearchParams(q >= 0 ? h.slice(q + 1) : '');
}

const e = encodeURIComponent;
export const links = {
  home: () => '#/',
  team: (team: string) => `#/teams/${e(team)}`,
  service: (team: string, svc: string) => `#/teams/${e(team)}/services/${e(svc)}`,
  route: (team: string, svc: string, id: string) => `#/teams/${e(team)}/services/${e(svc)}/routes/${e(id)}`,
  newRoute: (team: string, svc: string) => `#/teams/${e(team)}/services/${e(svc)}/routes/new`,
  log: (team: string, svc: string) => `#/teams/${e(team)}/services/${e(svc)}/log`,
  history: (team: string, svc: string) => `#/teams/${e(team)}/services/${e(svc)}/history`,
};

export function navigate(hash: string) {
  if (location.hash === hash) window.dispatchEvent(new HashChangeEvent('hashchange'));
  else location.hash = hash;
}

export function useHashRoute(): [Route, string] {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const on = () => setHash(location.hash);
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return [parseHash(hash), hash];
}
