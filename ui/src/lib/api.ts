// A small client for standin's management API (JSON under /api/v1 on the admin listener).

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export interface Meta {
  createdSeq: number;
  revision: number;
  createdAt: string;
  updatedAt: string;
  updatedBy: string;
}

export interface TeamRecord {
  slug: string;
  name?: string;
  memo?: string;
  tags?: string[];
  meta: Meta;
  serviceCount?: number;
  routeCount?: number;
  [key: string]: unknown;
}

export interface ServiceRecord {
  team: string;
  slug: string;
  name?: string;
  memo?: string;
  basePath?: string | null;
  hosts?: string[];
  defaultDelayMs?: number;
  tags?: string[];
  meta: Meta;
  effectiveBasePath?: string;
  routeCount?: number;
  [key: string]: unknown;
}

export interface RouteRecord {
  team: string;
  service: string;
  id: string;
  name?: string;
  memo?: string;
  priority?: number;
  enabled?: boolean;
  tags?: string[];
  http?: any;
  meta: Meta;
  [key: string]: unknown;
}

export interface NearMiss {
  routeId: string;
  routeName?: string;
  failed: string[];
}

export interface EntryView {
  seq: number;
  at: string;
  service: string;
  protocol?: string;
  request: {
    method: string;
    path: string;
    relativePath?: string | null;
    query?: string | null;
    headers: Record<string, string[]>;
    body?: string | null;
    bodyBase64?: string | null;
    bodySize?: number;
    bodyTruncated?: boolean;
  };
  matchedRoute: string | null;
  nearMisses: NearMiss[];
  status: number | null;
  response?: {
    status: number;
    headers: Record<string, string[]>;
    body?: string | null;
    bodyBase64?: string | null;
    bodySize?: number;
    bodyTruncated?: boolean;
  } | null;
  error?: string | null;
  latencyUs?: number | null;
}

export interface ChangeEvent {
  seq: number;
  at: string;
  actor: string;
  kind: 'create' | 'update' | 'delete' | string;
  entity: 'team' | 'service' | 'route' | string;
  key: string;
  batch: string;
  before?: JsonObject | null;
  after?: JsonObject | null;
}

export interface Usage {
  since?: string;
  today?: { date: string; requests: number };
  services: {
    service: string;
    requests: number;
    today: number;
    lastAt: string | null;
    routes: { route: string; hits: number; lastAt: string | null }[];
  }[];
  /** Stored counts over the last `days` days (kept across restarts). */
  fromDay?: string;
  byService?: { team: string; service: string; calls: number; lastUsed?: string | null }[];
  byTeam?: { team: string; calls: number; lastUsed?: string | null }[];
}

export interface Status {
  status: string;
  mockListener?: { address: string };
  [key: string]: unknown;
}

export class ApiError extends Error {
  status: number;
  code: string;
  pointer?: string;
  line?: number;
  column?: number;
  body: any;
  constructor(status: number, body: any, fallback: string) {
    const message = (body && typeof body.message === 'string' && body.message) || fallback;
    super(message);
    this.status = status;
    this.body = body;
    this.code = (body && typeof body.error === 'string' && body.error) || `http_${status}`;
    if (body && typeof body.pointer === 'string') this.pointer = body.pointer;
    if (body && typeof body.line === 'number') this.line = body.line;
    if (body && typeof body.column === 'number') this.column = body.column;
  }
}

const ACTOR_KEY = 'standin.actor';

export function getActor(): string {
  try {
    return localStorage.getItem(ACTOR_KEY) || 'web-ui';
  } catch {
    return 'web-ui';
  }
}

export function setActor(name: string) {
  try {
    if (name.trim()) localStorage.setItem(ACTOR_KEY, name.trim());
    else localStorage.removeItem(ACTOR_KEY);
  } catch {
    /* storage unavailable: keep the default */
  }
}

export interface CallOptions {
  method?: string;
  body?: unknown;
  rawBody?: BodyInit;
  contentType?: string;
  ifMatch?: number | string | null;
  signal?: AbortSignal;
}

export interface ApiResponse<T> {
  data: T;
  etag: string | null;
  status: number;
  headers: Headers;
}

export async function call<T = any>(path: string, opts: CallOptions = {}): Promise<ApiResponse<T>> {
  const method = opts.method || 'GET';
  const headers: Record<string, string> = { Accept: 'application/json' };
  let body: BodyInit | undefined;
  if (opts.rawBody !== undefined) {
    body = opts.rawBody;
    headers['Content-Type'] = opts.contentType || 'application/octet-stream';
  } else if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['Content-Type'] = 'application/json';
  }
  if (method !== 'GET' && method !== 'HEAD') headers['X-Standin-Actor'] = getActor();
  if (opts.ifMatch !== undefined && opts.ifMatch !== null) {
    const v = String(opts.ifMatch);
    headers['If-Match'] = v.startsWith('"') ? v : `"${v}"`;
  }
  let res: Response;
  try {
    res = await fetch(`/api/v1${path}`, { method, headers, body, signal: opts.signal, credentials: 'same-origin' });
  } catch (e) {
    if ((e as any)?.name === 'AbortError') throw e;
    throw new ApiError(0, null, `cannot reach the standin admin API (${(e as Error).message})`);
  }
  const text = await res.text();
  let parsed: any = null;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text;
    }
  }
  if (!res.ok) throw new ApiError(res.status, parsed, `${method} ${path} answered ${res.status}`);
  return { data: parsed as T, etag: res.headers.get('ETag'), status: res.status, headers: res.headers };
}

export async function get<T = any>(path: string, signal?: AbortSignal): Promise<T> {
  return (await call<T>(path, { signal })).data;
}

export const enc = encodeURIComponent;

export function teamPath(team: string) {
  return `/teams/${enc(team)}`;
}
export function servicePath(team: string, svc: string) {
  return `/teams/${enc(team)}/services/${enc(svc)}`;
}
export function routePath(team: string, svc: string, id: string) {
  return `${servicePath(team, svc)}/routes/${enc(id)}`;
}

/** The revision a record carries, from its ETag when the server sent one, else from meta. */
export function revisionOf(rec: { meta?: Meta } | null | undefined, etag?: string | null): string | null {
  if (etag) return etag;
  if (rec && rec.meta && typeof rec.meta.revision === 'number') return `"${rec.meta.revision}"`;
  return null;
}

/** Fields the server adds to stored records; a document sent back must not carry them. */
export function stripRecord<T extends Record<string, any>>(rec: T, extra: string[] = []): Record<string, any> {
  const out: Record<string, any> = {};
  const drop = new Set(['team', 'service', 'meta', 'serviceCount', 'routeCount', 'effectiveBasePath', ...extra]);
  for (const [k, v] of Object.entries(rec)) if (!drop.has(k)) out[k] = v;
  return out;
}

let statusCache: Promise<Status | null> | null = null;

export function loadStatus(force = false): Promise<Status | null> {
  if (!statusCache || force) statusCache = get<Status>('/status').catch(() => null);
  return statusCache;
}

/** The base URL of a service on the mock listener, when the status tells the listener's address. */
export function mockBaseUrl(status: Status | null, basePath: string): string | null {
  const addr = status?.mockListener?.address;
  if (!addr) return null;
  let host = addr;
  const m = /^(.*):(\d+)$/.exec(addr);
  let h = m ? m[1] : addr;
  const port = m ? m[2] : '';
  if (h === '0.0.0.0' || h === '[::]' || h === '::') h = location.hostname.includes(':') ? `[${location.hostname}]` : location.hostname;
  host = port ? `${h}:${port}` : h;
  const bp = basePath === '/' ? '' : basePath.replace(/\/$/, '');
  return `http://${host}${bp}`;
}

export function errorText(e: unknown): string {
  if (e instanceof ApiError) {
    let s = e.message;
    if (e.pointer) s += ` (at ${e.pointer})`;
    else if (e.line) s += ` (line ${e.line}, column ${e.column ?? '?'})`;
    return s;
  }
  if (e instanceof Error) return e.message;
  return String(e);
}
