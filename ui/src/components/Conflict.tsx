import { useState } from 'preact/hooks';
import type { Meta } from '../lib/api';
import { errorText } from '../lib/api';
import { formatTime, timeAgo } from './ui';
import { DiffView } from './HistoryView';
import { pretty } from '../lib/diff';

export interface ConflictInfo {
  entity: string;
  message: string;
  /** The record as it is now on the server, when it could be read. */
  current: { meta?: Meta } | null;
  /** The document the save tried to write, to compare with theirs. */
  mine?: Record<string, unknown> | null;
  reload: () => void;
  overwrite: () => Promise<void>;
}

function strip(v: Record<string, any>): Record<string, unknown> {
  const { team: _t, service: _s, meta: _m, effectiveBasePath: _e, routeCount: _r, serviceCount: _c, ...rest } = v;
  return rest;
}

/** Shown when a save answered 412: someone changed the record since it was loaded. */
export function ConflictBanner({ info, onDismiss }: { info: ConflictInfo; onDismiss: () => void }) {
  const [busy, setBusy] = useState(false);
  const [err, setErr] = useState<string | null>(null);
  const m = info.current?.meta;
  return (
    <div class="conflict" role="alert" data-testid="conflict-banner">
      <div class="conflict-icon" aria-hidden="true">⚠</div>
      <div class="conflict-main">
        <strong>
          Not saved: {m ? <span data-testid="conflict-actor">{m.updatedBy}</span> : 'someone'} changed this {info.entity}
          {m ? (
            <>
              {' '}
              {timeAgo(m.updatedAt)} ({formatTime(m.updatedAt)}, now revision {m.revision})
            </>
          ) : null}{' '}
          after you opened it.
        </strong>
        <div class="muted small">{info.message}</div>
        <div class="muted small">Reload to see their version (your edits are dropped), or overwrite it with yours.</div>
        {info.mine && info.current && (
          <details class="top-gap">
            <summary>Compare their version (left) with yours (right)</summary>
            <DiffView before={pretty(strip(info.current))} after={pretty(strip(info.mine))} />
          </details>
        )}
        {err && <div class="field-error">{err}</div>}
        <div class="row gap top-gap">
          <button type="button" class="btn" data-testid="conflict-reload" onClick={() => (onDismiss(), info.reload())}>
            ↻ Reload their version
          </button>
          <button
            type="button"
            class="btn btn-danger"
            disabled={busy}
            data-testid="conflict-overwrite"
            onClick={async () => {
              setBusy(true);
              try {
                await info.overwrite();
                onDismiss();
              } catch (e) {
                setErr(errorText(e));
              } finally {
                setBusy(false);
              }
            }}
          >
            Overwrite anyway
          </button>
          <button type="button" class="btn btn-ghost" onClick={onDismiss}>
            Keep editing
          </button>
        </div>
      </div>
    </div>
  );
}
