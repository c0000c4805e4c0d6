// A line diff by longest common subsequence, for the history view.

export type DiffOp = { kind: 'same' | 'add' | 'del'; text: string; a?: number; b?: number };

export function diffLines(before: string, after: string): DiffOp[] {
  const a = before === '' ? [] : before.split('\n');
  const b = after === '' ? [] : after.split('\n');
  // Trim the common head and tail so the table stays small for long documents.
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  const am = a.slice(head, a.length - tail);
  const bm = b.slice(head, b.length - tail);
  const ops: DiffOp[] = [];
  for (let k = 0; k < head; k++) ops.push({ kind: 'same', text: a[k], a: k + 1, b: k + 1 });
  const n = am.length;
  const m = bm.length;
  if (n * m > 4_000_000) {
    // Too large for the table: show the middle as removed then added.
    am.forEach((t, k) => ops.push({ kind: 'del', text: t, a: head + k + 1 }));
    bm.forEach((t, k) => ops.push({ kind: 'add', text: t, b: head + k + 1 }));
  } else {
    const w = m + 1;
    const lcs = new Uint32Array((n + 1) * (m + 1));
    for (let i = n - 1; i >= 0; i--) {
      for (let j = m - 1; j >= 0; j--) {
        lcs[i * w + j] = am[i] === bm[j] ? lcs[(i + 1) * w + j + 1] + 1 : Math.max(lcs[(i + 1) * w + j], lcs[i * w + j + 1]);
      }
    }
    let i = 0;
    let j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && am[i] === bm[j]) {
        ops.push({ kind: 'same', text: am[i], a: head + i + 1, b: head + j + 1 });
        i++;
        j++;
      } else if (j < m && (i >= n || lcs[i * w + j + 1] >= lcs[(i + 1) * w + j])) {
        ops.push({ kind: 'add', text: bm[j], b: head + j + 1 });
        j++;
      } else {
        ops.push({ kind: 'del', text: am[i], a: head + i + 1 });
        i++;
      }
    }
  }
  for (let k = 0; k < tail; k++) {
    const ai = a.length - tail + k;
    const bi = b.length - tail + k;
    ops.push({ kind: 'same', text: a[ai], a: ai + 1, b: bi + 1 });
  }
  return ops;
}

export type SideRow = {
  left: { n?: number; text: string; kind: 'same' | 'del' | 'empty' };
  right: { n?: number; text: string; kind: 'same' | 'add' | 'empty' };
};

/** Pairs removed and added lines side by side. */
export function sideBySide(ops: DiffOp[]): SideRow[] {
  const rows: SideRow[] = [];
  let k = 0;
  while (k < ops.length) {
    const op = ops[k];
    if (op.kind === 'same') {
      rows.push({ left: { n: op.a, text: op.text, kind: 'same' }, right: { n: op.b, text: op.text, kind: 'same' } });
      k++;
      continue;
    }
    const dels: DiffOp[] = [];
    const adds: DiffOp[] = [];
    while (k < ops.length && ops[k].kind !== 'same') {
      if (ops[k].kind === 'del') dels.push(ops[k]);
      else adds.push(ops[k]);
      k++;
    }
    const len = Math.max(dels.length, adds.length);
    for (let r = 0; r < len; r++) {
      const d = dels[r];
      const a = adds[r];
      rows.push({
        left: d ? { n: d.a, text: d.text, kind: 'del' } : { text: '', kind: 'empty' },
        right: a ? { n: a.b, text: a.text, kind: 'add' } : { text: '', kind: 'empty' },
      });
    }
  }
  return rows;
}

/** Stable pretty JSON (keys in their stored order). */
export function pretty(v: unknown): string {
  if (v === undefined || v === null) return '';
  return JSON.stringify(v, null, 2);
}
