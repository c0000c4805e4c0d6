import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { marked } from 'marked';
import DOMPurify from 'dompurify';
import { errorText } from '../lib/api';

// ---------------------------------------------------------------- data loading

export interface AsyncState<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => void;
  setData: (d: T) => void;
}

export function useAsync<T>(fn: (signal: AbortSignal) => Promise<T>, deps: unknown[]): AsyncState<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const ctl = new AbortController();
    setLoading(true);
    fn(ctl.signal).then(
      (d) => {
        if (ctl.signal.aborted) return;
        setData(d);
        setError(null);
        setLoading(false);
      },
      (e) => {
        if (ctl.signal.aborted) return;
        setError(e);
        setLoading(false);
      },
    );
    return () => ctl.abort();
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data, error, loading, reload, setData };
}

// ---------------------------------------------------------------- toasts

type Toast = { id: number; text: string; kind: 'ok' | 'error' | 'info' };
let toasts: Toast[] = [];
const listeners = new Set<(t: Toast[]) => void>();
let toastId = 1;

export function toast(text: string, kind: Toast['kind'] = 'ok') {
  const t = { id: toastId++, text, kind };
  toasts = [...toasts, t];
  listeners.forEach((l) => l(toasts));
  setTimeout(() => {
    toasts = toasts.filter((x) => x.id !== t.id);
    listeners.forEach((l) => l(toasts));
  }, kind === 'error' ? 8000 : 3500);
}

export function Toasts() {
  const [list, setList] = useState<Toast[]>(toasts);
  useEffect(() => {
    listeners.add(setList);
    return () => void listeners.delete(setList);
  }, []);
  return (
    <div class="toasts" role="status" aria-live="polite">
      {list.map((t) => (
        <div key={t.id} class={`toast toast-${t.kind}`} data-testid={`toast-${t.kind}`}>
          {t.text}
        </div>
      ))}
    </div>
  );
}

// ---------------------------------------------------------------- small pieces

export function plural(n: number, word: string, many = `${word}s`): string {
  return `${n} ${n === 1 ? word : many}`;
}

export function ErrorBox({ error, title }: { error: unknown; title?: string }) {
  if (!error) return null;
  return (
    <div class="error-box" role="alert" data-testid="error-box">
      {title && <strong>{title}: </strong>}
      {errorText(error)}
    </div>
  );
}

export function Spinner({ label = 'Loading…' }: { label?: string }) {
  return (
    <div class="spinner" role="status">
      <span class="spin" aria-hidden="true" /> {label}
    </div>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <div class="empty">{children}</div>;
}

export function timeAgo(iso: string | null | undefined): string {
  if (!iso) return 'never';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const s = Math.round((Date.now() - t) / 1000);
  if (s < 5) return 'just now';
  if (s < 60) return `${s} s ago`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min ago`;
  const h = Math.round(m / 60);
  if (h < 48) return `${h} h ago`;
  const d = Math.round(h / 24);
  return `${d} days ago`;
}

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

export function When({ iso }: { iso: string | null | undefined }) {
  return <time title={iso ? formatTime(iso) : undefined}>{timeAgo(iso)}</time>;
}

export function MethodBadge({ method }: { method: string }) {
  const m = method.toUpperCase();
  return <span class={`method m-${/^[A-Z]+$/.test(m) ? m.toLowerCase() : 'other'}`}>{m}</span>;
}

export function StatusBadge({ status }: { status: number | null | undefined }) {
  if (status === null || status === undefined) return <span class="status s-none">—</span>;
  const cls = status >= 500 ? 's5' : status >= 400 ? 's4' : status >= 300 ? 's3' : status >= 200 ? 's2' : 's1';
  return <span class={`status ${cls}`}>{status}</span>;
}

export function Tag({ children }: { children: ComponentChildren }) {
  return <span class="tag">{children}</span>;
}

async function copyText(text: string): Promise<boolean> {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    /* fall back below */
  }
  const ta = document.createElement('textarea');
  ta.value = text;
  ta.setAttribute('readonly', '');
  ta.style.position = 'fixed';
  ta.style.opacity = '0';
  document.body.appendChild(ta);
  ta.select();
  let ok = false;
  try {
    ok = document.execCommand('copy');
  } catch {
    ok = false;
  }
  ta.remove();
  return ok;
}

export function CopyButton({ text, testid, label = 'Copy' }: { text: string; testid?: string; label?: string }) {
  const [done, setDone] = useState(false);
  return (
    <button
      type="button"
      class="btn btn-small btn-ghost"
      data-testid={testid}
      title="Copy to the clipboard"
      onClick={async () => {
        const ok = await copyText(text);
        setDone(true);
        if (!ok) toast('Could not copy; select the text and copy it by hand', 'info');
        setTimeout(() => setDone(false), 1500);
      }}
    >
      {done ? (
        '✓ Copied'
      ) : (
        <>
          <svg viewBox="0 0 16 16" width="12" height="12" aria-hidden="true">
            <rect x="5" y="5" width="9" height="9" rx="1.5" fill="none" stroke="currentColor" stroke-width="1.5" />
            <path d="M3 10.5H2.5A1 1 0 0 1 1.5 9.5v-7a1 1 0 0 1 1-1h7a1 1 0 0 1 1 1V3" fill="none" stroke="currentColor" stroke-width="1.5" />
          </svg>
          {label}
        </>
      )}
    </button>
  );
}

export function Tabs<T extends string>({ tabs, active, onChange, testid }: { tabs: { id: T; label: ComponentChildren; badge?: ComponentChildren }[]; active: T; onChange: (t: T) => void; testid?: string }) {
  return (
    <div class="tabs" role="tablist" data-testid={testid}>
      {tabs.map((t) => (
        <button
          type="button"
          key={t.id}
          role="tab"
          aria-selected={t.id === active}
          class={`tab ${t.id === active ? 'active' : ''}`}
          data-testid={`tab-${t.id}`}
          onClick={() => onChange(t.id)}
        >
          {t.label}
          {t.badge !== undefined && t.badge !== null && t.badge !== 0 && <span class="tab-badge">{t.badge}</span>}
        </button>
      ))}
    </div>
  );
}

// ---------------------------------------------------------------- markdown

marked.setOptions({ gfm: true, breaks: false });

export function renderMarkdown(text: string): string {
  const html = marked.parse(text || '', { async: false }) as string;
  return DOMPurify.sanitize(html, { USE_PROFILES: { html: true } });
}

export function Markdown({ text, class: cls }: { text: string; class?: string }) {
  const html = useMemo(() => renderMarkdown(text), [text]);
  return <div class={`markdown ${cls || ''}`} dangerouslySetInnerHTML={{ __html: html }} />;
}

/** A memo shown as rendered markdown, edited in place. */
export function MemoEditor({ value, onSave, testid = 'memo', emptyText = 'No notes yet.' }: { value: string; onSave: (text: string) => Promise<void>; testid?: string; emptyText?: string }) {
  const [editing, setEditing] = useState(false);
  const [text, setText] = useState(value);
  const [busy, setBusy] = useState(false);
  const [preview, setPreview] = useState(false);
  useEffect(() => {
    if (!editing) setText(value);
  }, [value, editing]);
  if (!editing) {
    return (
      <div class="memo" data-testid={testid}>
        <div class="memo-head">
          <span class="label">Notes</span>
          <button type="button" class="btn btn-small btn-ghost" data-testid={`${testid}-edit`} onClick={() => setEditing(true)}>
            ✎ Edit
          </button>
        </div>
        {value.trim() ? (
          <div onDblClick={() => setEditing(true)} title="Double-click to edit">
            <Markdown text={value} />
          </div>
        ) : (
          <p class="muted memo-empty" onClick={() => setEditing(true)}>
            {emptyText} <span class="link-like">Write some</span>
          </p>
        )}
      </div>
    );
  }
  return (
    <div class="memo editing" data-testid={testid}>
      <div class="memo-head">
        <span class="label">Notes (Markdown)</span>
        <div class="seg">
          <button type="button" class={`seg-btn ${!preview ? 'on' : ''}`} onClick={() => setPreview(false)}>
            Write
          </button>
          <button type="button" class={`seg-btn ${preview ? 'on' : ''}`} onClick={() => setPreview(true)}>
            Preview
          </button>
        </div>
      </div>
      {preview ? (
        <div class="memo-preview">
          <Markdown text={text} />
        </div>
      ) : (
        <textarea
          class="memo-text"
          data-testid={`${testid}-text`}
          value={text}
          rows={Math.min(20, Math.max(5, text.split('\n').length + 1))}
          onInput={(e) => setText((e.target as HTMLTextAreaElement).value)}
          placeholder="What this mocks, who to ask, what is missing…"
        />
      )}
      <div class="row gap">
        <button
          type="button"
          class="btn btn-primary btn-small"
          disabled={busy}
          data-testid={`${testid}-save`}
          onClick={async () => {
            setBusy(true);
            try {
              await onSave(text);
              setEditing(false);
            } catch (e) {
              toast(errorText(e), 'error');
            } finally {
              setBusy(false);
            }
          }}
        >
          Save notes
        </button>
        <button type="button" class="btn btn-small" onClick={() => (setEditing(false), setText(value))}>
          Cancel
        </button>
      </div>
    </div>
  );
}

// ---------------------------------------------------------------- dialogs

export function Modal({ title, onClose, children, footer, wide, testid }: { title: ComponentChildren; onClose: () => void; children: ComponentChildren; footer?: ComponentChildren; wide?: boolean; testid?: string }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') onClose();
    };
    document.addEventListener('keydown', onKey);
    const first = ref.current?.querySelector<HTMLElement>('input, textarea, select, button.btn-primary, button.btn-danger');
    first?.focus();
    return () => document.removeEventListener('keydown', onKey);
  }, []);
  return (
    <div class="modal-backdrop" onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <div class={`modal ${wide ? 'wide' : ''}`} role="dialog" aria-modal="true" ref={ref} data-testid={testid || 'modal'}>
        <div class="modal-head">
          <h2>{title}</h2>
          <button type="button" class="icon-btn" aria-label="Close" onClick={onClose}>
            ✕
          </button>
        </div>
        <div class="modal-body">{children}</div>
        {footer && <div class="modal-foot">{footer}</div>}
      </div>
    </div>
  );
}

export function ConfirmModal({
  title,
  children,
  confirmLabel,
  onConfirm,
  onCancel,
  danger = true,
}: {
  title: string;
  children: ComponentChildren;
  confirmLabel: string;
  onConfirm: () => Promise<void> | void;
  onCancel: () => void;
  danger?: boolean;
}) {
  const [busy, setBusy] = useState(false);
  const [err, setErr] = useState<unknown>(null);
  return (
    <Modal
      title={title}
      onClose={onCancel}
      testid="confirm-dialog"
      footer={
        <>
          <button type="button" class="btn" onClick={onCancel} data-testid="confirm-cancel">
            Cancel
          </button>
          <button
            type="button"
            class={`btn ${danger ? 'btn-danger' : 'btn-primary'}`}
            disabled={busy}
            data-testid="confirm-ok"
            onClick={async () => {
              setBusy(true);
              setErr(null);
              try {
                await onConfirm();
              } catch (e) {
                setErr(e);
                setBusy(false);
              }
            }}
          >
            {confirmLabel}
          </button>
        </>
      }
    >
      {children}
      <ErrorBox error={err} />
    </Modal>
  );
}

// ---------------------------------------------------------------- form helpers

export function Field({ label, hint, error, children, class: cls }: { label: ComponentChildren; hint?: ComponentChildren; error?: string | null; children: ComponentChildren; class?: string }) {
  return (
    <label class={`field ${error ? 'has-error' : ''} ${cls || ''}`}>
      <span class="field-label">{label}</span>
      {children}
      {hint && !error && <span class="field-hint">{hint}</span>}
      {error && (
        <span class="field-error" data-testid="field-error">
          {error}
        </span>
      )}
    </label>
  );
}

export function tagsToText(tags: string[] | undefined): string {
  return (tags || []).join(', ');
}

export function textToTags(text: string): string[] {
  return text
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '');
}

export function TagsInput({ value, onChange, testid }: { value: string[]; onChange: (t: string[]) => void; testid?: string }) {
  const [text, setText] = useState(tagsToText(value));
  const last = useRef(value);
  useEffect(() => {
    if (JSON.stringify(last.current) !== JSON.stringify(value) && JSON.stringify(textToTags(text)) !== JSON.stringify(value)) setText(tagsToText(value));
    last.current = value;
  }, [value]);
  return (
    <input
      type="text"
      class="input"
      data-testid={testid}
      value={text}
      placeholder="tag, another tag"
      onInput={(e) => {
        const t = (e.target as HTMLInputElement).value;
        setText(t);
        onChange(textToTags(t));
      }}
    />
  );
}

/** A menu that opens under its button. */
export function Menu({ label, children, testid, align = 'left', class: cls }: { label: ComponentChildren; children: (close: () => void) => ComponentChildren; testid?: string; align?: 'left' | 'right'; class?: string }) {
  const [open, setOpen] = useState(false);
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!open) return;
    const onDoc = (e: MouseEvent) => {
      if (ref.current && !ref.current.contains(e.target as Node)) setOpen(false);
    };
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && setOpen(false);
    document.addEventListener('mousedown', onDoc);
    document.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('mousedown', onDoc);
      document.removeEventListener('keydown', onKey);
    };
  }, [open]);
  return (
    <div class="menu-wrap" ref={ref}>
      <button type="button" class={`btn ${cls || ''}`} data-testid={testid} aria-haspopup="menu" aria-expanded={open} onClick={() => setOpen(!open)}>
        {label} <span aria-hidden="true">▾</span>
      </button>
      {open && (
        <div class={`menu menu-${align}`} role="menu">
          {children(() => setOpen(false))}
        </div>
      )}
    </div>
  );
}

export function MenuItem({ onClick, children, testid, hint }: { onClick: () => void; children: ComponentChildren; testid?: string; hint?: string }) {
  return (
    <button type="button" role="menuitem" class="menu-item" data-testid={testid} onClick={onClick}>
      <span>{children}</span>
      {hint && <span class="menu-hint">{hint}</span>}
    </button>
  );
}

export function Toggle({ checked, onChange, label, testid, disabled }: { checked: boolean; onChange: (v: boolean) => void; label?: ComponentChildren; testid?: string; disabled?: boolean }) {
  return (
    <label class={`toggle ${checked ? 'on' : ''} ${disabled ? 'disabled' : ''}`}>
      <input type="checkbox" role="switch" checked={checked} disabled={disabled} data-testid={testid} onChange={(e) => onChange((e.target as HTMLInputElement).checked)} />
      <span class="toggle-track" aria-hidden="true">
        <span class="toggle-thumb" />
      </span>
      {label && <span class="toggle-label">{label}</span>}
    </label>
  );
}
