// A strict JSON checker that reports where the first error is, with a readable message.
// JSON.parse's messages differ between engines, so the editor uses this one for its
// markers and its list of problems.

export interface LintProblem {
  from: number;
  to: number;
  line: number;
  column: number;
  message: string;
}

class Fail {
  constructor(public pos: number, public message: string, public len = 1) {}
}

function describe(ch: string | undefined): string {
  if (ch === undefined) return 'the end of the text';
  if (ch === '\n') return 'a line break';
  return `'${ch}'`;
}

export function checkJson(text: string): LintProblem | null {
  let i = 0;
  const n = text.length;

  const ws = () => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 32 || c === 9 || c === 10 || c === 13) i++;
      else break;
    }
  };

  const str = () => {
    // at '"'
    const start = i;
    i++;
    while (i < n) {
      const c = text[i];
      if (c === '"') {
        i++;
        return;
      }
      if (c === '\\') {
        const e = text[i + 1];
        if (e === undefined) break;
        if ('"\\/bfnrt'.includes(e)) {
          i += 2;
          continue;
        }
        if (e === 'u') {
          const hex = text.slice(i + 2, i + 6);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw new Fail(i, 'Invalid \\u escape: four hex digits expected', 2);
          i += 6;
          continue;
        }
        throw new Fail(i, `Invalid escape '\\${e}'`, 2);
      }
      if (c === '\n' || c === '\r') throw new Fail(start, 'Unterminated string (a line break inside a string must be written \\n)', i - start);
      if (text.charCodeAt(i) < 0x20) throw new Fail(i, 'Control character inside a string');
      i++;
    }
    throw new Fail(start, 'Unterminated string', Math.max(1, i - start));
  };

  const num = () => {
    const start = i;
    if (text[i] === '-') i++;
    if (text[i] === '0') i++;
    else if (text[i] >= '1' && text[i] <= '9') while (text[i] >= '0' && text[i] <= '9') i++;
    else throw new Fail(start, 'Invalid number', Math.max(1, i - start + 1));
    if (text[i] === '.') {
      i++;
      if (!(text[i] >= '0' && text[i] <= '9')) throw new Fail(start, 'Invalid number: digits expected after the decimal point', i - start + 1);
      while (text[i] >= '0' && text[i] <= '9') i++;
    }
    if (text[i] === 'e' || text[i] === 'E') {
      i++;
      if (text[i] === '+' || text[i] === '-') i++;
      if (!(text[i] >= '0' && text[i] <= '9')) throw new Fail(start, 'Invalid number: digits expected in the exponent', i - start + 1);
      while (text[i] >= '0' && text[i] <= '9') i++;
    }
  };

  const word = (w: string) => {
    if (text.startsWith(w, i)) {
      i += w.length;
      return;
    }
    let end = i;
    while (end < n && /[A-Za-z0-9_]/.test(text[end])) end++;
    throw new Fail(i, `Unexpected token '${text.slice(i, Math.max(end, i + 1))}'; expected a value`, Math.max(1, end - i));
  };

  const value = (depth: number): void => {
    if (depth > 200) throw new Fail(i, 'Nested too deeply');
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') {
          if (text[i] === '}') throw new Fail(i, 'Trailing comma before \'}\'');
          throw new Fail(i, `Expected a property name in double quotes, found ${describe(text[i])}`);
        }
        str();
        ws();
        if (text[i] !== ':') throw new Fail(i, `Expected ':' after the property name, found ${describe(text[i])}`);
        i++;
        value(depth + 1);
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return;
        }
        throw new Fail(i, `Expected ',' or '}' after a property value, found ${describe(text[i])}`);
      }
    }
    if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (text[i] === ']') throw new Fail(i, "Trailing comma before ']'");
        value(depth + 1);
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return;
        }
        throw new Fail(i, `Expected ',' or ']' after an array element, found ${describe(text[i])}`);
      }
    }
    if (c === '"') return str();
    if (c === '-' || (c >= '0' && c <= '9')) return num();
    if (c === 't') return word('true');
    if (c === 'f') return word('false');
    if (c === 'n') return word('null');
    if (c === undefined) throw new Fail(i, 'Unexpected end of the text; expected a value', 0);
    if (c === "'") throw new Fail(i, 'Strings must use double quotes');
    throw new Fail(i, `Expected a value, found ${describe(c)}`);
  };

  try {
    ws();
    if (i >= n) throw new Fail(0, 'Empty document; expected a JSON value', 0);
    value(0);
    ws();
    if (i < n) throw new Fail(i, `Unexpected ${describe(text[i])} after the end of the value`);
    return null;
  } catch (e) {
    if (!(e instanceof Fail)) throw e;
    const pos = Math.min(e.pos, n);
    const { line, column } = lineCol(text, pos);
    return { from: pos, to: Math.min(n, pos + Math.max(0, e.len)), line, column, message: e.message };
  }
}

export function lineCol(text: string, pos: number): { line: number; column: number } {
  let line = 1;
  let last = -1;
  for (let k = 0; k < pos && k < text.length; k++) {
    if (text.charCodeAt(k) === 10) {
      line++;
      last = k;
    }
  }
  return { line, column: pos - last };
}

/** Replace Handlebars placeholders by a number padded with spaces, so the JSON around
 * them can be checked with positions unchanged ("{{x}}" inside a string stays a string). */
export function maskTemplates(text: string): string {
  return text.replace(/\{\{[\s\S]*?\}\}/g, (m) => '0' + m.slice(1).replace(/[^\n]/g, ' '));
}

export function lintMessage(p: LintProblem): string {
  return `Line ${p.line}, column ${p.column}: ${p.message}`;
}

/** Pretty-prints JSON text that may hold Handlebars placeholders, inside strings or in
 * place of values. Returns null when the text is not JSON once placeholders are set aside. */
export function formatJsonText(text: string): string | null {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    /* maybe placeholders */
  }
  const found: string[] = [];
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; ) {
    if (text.startsWith('{{', i)) {
      const end = text.indexOf('}}', i + 2);
      if (end < 0) return null;
      const ph = text.slice(i, end + 2);
      out += inString ? `__standin_inner_${found.length}__` : `"__standin_value_${found.length}__"`;
      found.push(ph);
      i = end + 2;
      continue;
    }
    const c = text[i];
    if (inString && c === '\\') {
      out += text.slice(i, i + 2);
      i += 2;
      continue;
    }
    if (c === '"') inString = !inString;
    out += c;
    i++;
  }
  let pretty: string;
  try {
    pretty = JSON.stringify(JSON.parse(out), null, 2);
  } catch {
    return null;
  }
  return pretty.replace(/"__standin_value_(\d+)__"|__standin_inner_(\d+)__/g, (_m, v: string | undefined, inner: string | undefined) => found[Number(v ?? inner)]);
}
