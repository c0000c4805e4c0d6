import { useEffect, useRef, useState } from 'preact/hooks';
import type { Json } from '../lib/api';
import {
  BODY_KINDS,
  RowError,
  STR_OPS,
  bodyMatcherOfRows,
  bodyRowsFrom,
  newBodyRow,
  newStrRow,
  strMapOf,
  strRowsFrom,
  type BodyKind,
  type BodyRow,
  type StrOp,
  type StrRow,
} from '../lib/conditions';
import { CodeEditor } from './CodeEditor';
import { Menu, MenuItem } from './ui';

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Keeps local rows for an editor table, re-reading them when the value changes from elsewhere. */
export function useRows<R>(value: Json | undefined, read: (v: Json | undefined) => R[], write: (rows: R[]) => Json | undefined, onChange: (v: Json | undefined) => void) {
  const [rows, setRowsState] = useState<R[]>(() => read(value));
  const [error, setError] = useState<string | null>(null);
  const emitted = useRef<Json | undefined>(value);
  useEffect(() => {
    if (!same(value, emitted.current)) {
      setRowsState(read(value));
      setError(null);
      emitted.current = value;
    }
  }, [value]);
  const setRows = (next: R[]) => {
    setRowsState(next);
    try {
      const v = write(next);
      setError(null);
      emitted.current = v;
      onChange(v);
    } catch (e) {
      if (e instanceof RowError) setError(e.message);
      else throw e;
    }
  };
  return { rows, setRows, error };
}

function opNeedsValue(op: StrOp) {
  return op !== 'present' && op !== 'absent';
}

export function StrTable({
  value,
  onChange,
  nameLabel = 'Name',
  namePlaceholder = 'name',
  testid,
  addLabel = '+ Add',
  serverError,
}: {
  value: Json | undefined;
  onChange: (v: Json | undefined) => void;
  nameLabel?: string;
  namePlaceholder?: string;
  testid?: string;
  addLabel?: string;
  serverError?: string | null;
}) {
  const { rows, setRows, error } = useRows<StrRow>(
    value,
    strRowsFrom,
    (rs) => {
      const m = strMapOf(rs);
      return Object.keys(m).length === 0 && (value === undefined || value === null) ? undefined : m;
    },
    onChange,
  );
  const update = (key: number, patch: Partial<StrRow>) => setRows(rows.map((r) => (r.key === key ? { ...r, ...patch } : r)));
  return (
    <div class="kv" data-testid={testid}>
      {rows.length > 0 && (
        <table class="kv-table">
          <thead>
            <tr>
              <th class="kv-name">{nameLabel}</th>
              <th class="kv-not" title="Negate: the condition must not hold">not</th>
              <th class="kv-op">Condition</th>
              <th>Value</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.key}>
                <td>
                  <input class="input input-small mono" data-testid="kv-name" placeholder={namePlaceholder} value={r.name} onInput={(e) => update(r.key, { name: (e.target as HTMLInputElement).value })} />
                </td>
                <td class="kv-not">
                  <input type="checkbox" title="not" checked={r.negate} data-testid="kv-not" onChange={(e) => update(r.key, { negate: (e.target as HTMLInputElement).checked })} />
                </td>
                <td>
                  <select
                    class="input input-small"
                    data-testid="kv-op"
                    value={r.op}
                    onChange={(e) => {
                      const op = (e.target as HTMLSelectElement).value as StrOp;
                      let v = r.value;
                      if (op === 'jsonSchema' && r.op !== 'jsonSchema') v = '{"type": "string"}';
                      if (op === 'advanced' && r.op !== 'advanced') v = JSON.stringify({ anyOf: [r.value || 'a', 'b'] });
                      if (r.op === 'jsonSchema' || r.op === 'advanced') if (op !== 'jsonSchema' && op !== 'advanced') v = '';
                      update(r.key, { op, value: v, bare: op === 'equals' ? r.bare || r.op !== 'equals' : false });
                    }}
                  >
                    {STR_OPS.map((o) => (
                      <option key={o.op} value={o.op}>
                        {o.label}
                      </option>
                    ))}
                  </select>
                </td>
                <td>
                  {r.op === 'jsonSchema' || r.op === 'advanced' ? (
                    <textarea
                      class="input input-small mono"
                      rows={Math.min(8, Math.max(2, r.value.split('\n').length))}
                      data-testid="kv-value"
                      value={r.value}
                      onInput={(e) => update(r.key, { value: (e.target as HTMLTextAreaElement).value })}
                    />
                  ) : opNeedsValue(r.op) ? (
                    <input class="input input-small mono" data-testid="kv-value" placeholder="value" value={r.value} onInput={(e) => update(r.key, { value: (e.target as HTMLInputElement).value })} />
                  ) : (
                    <span class="muted small">—</span>
                  )}
                </td>
                <td>
                  <button type="button" class="icon-btn" aria-label="Remove" title="Remove" data-testid="kv-remove" onClick={() => setRows(rows.filter((x) => x.key !== r.key))}>
                    ✕
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {rows.length === 0 && <p class="muted small kv-empty">No conditions: any value is accepted.</p>}
      {error && <div class="field-error">{error}</div>}
      {serverError && <div class="field-error" data-testid="server-field-error">{serverError}</div>}
      <button type="button" class="btn btn-small btn-ghost" data-testid={testid ? `${testid}-add` : undefined} onClick={() => setRows([...rows, newStrRow()])}>
        {addLabel}
      </button>
    </div>
  );
}

export function addStrCondition(value: Json | undefined, name: string, cond: Json): Json {
  const base = value && typeof value === 'object' && !Array.isArray(value) ? { ...value } : {};
  let n = name;
  let k = 2;
  while (n in base) n = `${name}${k++}`;
  base[n] = cond;
  return base;
}

function BodyRowEditor({ r, update, remove }: { r: BodyRow; update: (p: Partial<BodyRow>) => void; remove: () => void }) {
  const info = BODY_KINDS.find((k) => k.kind === r.kind);
  return (
    <div class="body-cond" data-testid="body-condition">
      <div class="body-cond-head">
        <select
          class="input input-small"
          value={r.kind}
          data-testid="body-kind"
          onChange={(e) => {
            const kind = (e.target as HTMLSelectElement).value as BodyKind;
            const fresh = newBodyRow(kind);
            const keepText = ['equals', 'contains', 'regex', 'xml', 'xpath', 'base64'];
            const keepJson = ['json', 'jsonPartial'];
            let value = fresh.value;
            if (keepText.includes(kind) && keepText.includes(r.kind)) value = r.value;
            if (keepJson.includes(kind) && keepJson.includes(r.kind)) value = r.value;
            update({ kind, value, path: fresh.path, equals: '', form: r.form, bare: false });
          }}
        >
          {BODY_KINDS.map((k) => (
            <option key={k.kind} value={k.kind}>
              {k.label}
            </option>
          ))}
          {r.kind === 'advanced' && <option value="advanced">custom (JSON)</option>}
        </select>
        <label class="check small" title="The condition must not hold">
          <input type="checkbox" checked={r.negate} onChange={(e) => update({ negate: (e.target as HTMLInputElement).checked })} /> not
        </label>
        <span class="muted small grow">{r.kind === 'advanced' ? 'a condition the form cannot show, kept as written' : info?.hint}</span>
        <button type="button" class="icon-btn" aria-label="Remove" title="Remove" onClick={remove}>
          ✕
        </button>
      </div>
      {(r.kind === 'json' || r.kind === 'jsonPartial' || r.kind === 'jsonSchema' || r.kind === 'advanced') && (
        <CodeEditor mode="json" lint value={r.value} onChange={(v) => update({ value: v })} minHeight={80} maxHeight={320} testid="body-cond-editor" />
      )}
      {(r.kind === 'equals' || r.kind === 'xml') && (
        <textarea class="input mono" rows={Math.min(12, Math.max(3, r.value.split('\n').length))} value={r.value} onInput={(e) => update({ value: (e.target as HTMLTextAreaElement).value })} />
      )}
      {(r.kind === 'contains' || r.kind === 'regex' || r.kind === 'xpath' || r.kind === 'base64') && (
        <input class="input mono" value={r.value} placeholder={r.kind === 'xpath' ? '/order/item[qty > 3]' : r.kind === 'regex' ? '.*"id":\\s*[0-9]+.*' : ''} onInput={(e) => update({ value: (e.target as HTMLInputElement).value })} />
      )}
      {r.kind === 'jsonPath' && (
        <div class="row gap">
          <label class="field grow">
            <span class="field-label">JSONPath</span>
            <input class="input mono" value={r.path} placeholder="$.user.id" data-testid="jsonpath-path" onInput={(e) => update({ path: (e.target as HTMLInputElement).value })} />
          </label>
          <label class="field grow">
            <span class="field-label">selects a node equal to (JSON, optional)</span>
            <input class="input mono" value={r.equals} placeholder='42 or "text"' onInput={(e) => update({ equals: (e.target as HTMLInputElement).value })} />
          </label>
        </div>
      )}
      {r.kind === 'form' && (
        <FormRows rows={r.form} onChange={(form) => update({ form })} />
      )}
    </div>
  );
}

function FormRows({ rows, onChange }: { rows: StrRow[]; onChange: (rows: StrRow[]) => void }) {
  const value = (() => {
    try {
      return strMapOf(rows);
    } catch {
      return undefined;
    }
  })();
  return <StrTable value={value ?? {}} onChange={(v) => onChange(strRowsFrom(v))} nameLabel="Field" namePlaceholder="field" addLabel="+ Add field" />;
}

export function BodyConditions({ value, onChange, serverError }: { value: Json | undefined; onChange: (v: Json | undefined) => void; serverError?: string | null }) {
  const { rows, setRows, error } = useRows<BodyRow>(value, bodyRowsFrom, bodyMatcherOfRows, onChange);
  return (
    <div class="body-conds" data-testid="body-conditions">
      {rows.length === 0 && <p class="muted small kv-empty">No condition on the body.</p>}
      {rows.length > 1 && <p class="muted small">Every condition must hold.</p>}
      {rows.map((r) => (
        <BodyRowEditor key={r.key} r={r} update={(p) => setRows(rows.map((x) => (x.key === r.key ? { ...x, ...p } : x)))} remove={() => setRows(rows.filter((x) => x.key !== r.key))} />
      ))}
      {error && <div class="field-error">{error}</div>}
      {serverError && <div class="field-error" data-testid="server-field-error">{serverError}</div>}
      <Menu label="+ Add body condition" testid="add-body-condition" class="btn-small btn-ghost">
        {(close) =>
          BODY_KINDS.map((k) => (
            <MenuItem
              key={k.kind}
              testid={`add-body-${k.kind}`}
              hint={k.hint}
              onClick={() => {
                setRows([...rows, newBodyRow(k.kind)]);
                close();
              }}
            >
              {k.label}
            </MenuItem>
          ))
        }
      </Menu>
    </div>
  );
}
