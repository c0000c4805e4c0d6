import { useEffect, useMemo, useRef } from 'preact/hooks';
import { Compartment, EditorState, RangeSetBuilder, type Extension } from '@codemirror/state';
import {
  Decoration,
  EditorView,
  MatchDecorator,
  ViewPlugin,
  drawSelection,
  highlightActiveLine,
  highlightActiveLineGutter,
  keymap,
  lineNumbers,
  placeholder as placeholderExt,
  type DecorationSet,
  type ViewUpdate,
} from '@codemirror/view';
import { defaultKeymap, history, historyKeymap, indentWithTab } from '@codemirror/commands';
import { bracketMatching, defaultHighlightStyle, foldGutter, foldKeymap, indentOnInput, syntaxHighlighting } from '@codemirror/language';
import { closeBrackets, closeBracketsKeymap } from '@codemirror/autocomplete';
import { searchKeymap, highlightSelectionMatches } from '@codemirror/search';
import { json } from '@codemirror/lang-json';
import { linter, lintGutter, type Diagnostic } from '@codemirror/lint';
import { checkJson, lintMessage, maskTemplates, type LintProblem } from '../lib/jsonlint';

export type EditorMode = 'json' | 'text';

interface Props {
  value: string;
  onChange?: (v: string) => void;
  mode: EditorMode;
  /** Check the text as JSON and show the problems (markers and a list under the editor). */
  lint?: boolean;
  /** Highlight Handlebars placeholders ({{...}}). */
  templated?: boolean;
  /** The JSON check sets placeholders aside (a text body that becomes JSON once rendered). */
  lintTemplates?: boolean;
  readOnly?: boolean;
  minHeight?: number;
  maxHeight?: number;
  testid?: string;
  placeholder?: string;
  /** Extra problems to show in the list (an API error at a line, say). */
  extraProblem?: string | null;
}

const templateMark = Decoration.mark({ class: 'cm-hbs' });
const templateDecorator = new MatchDecorator({
  regexp: /\{\{[^{}\n]*\}\}/g,
  decoration: () => templateMark,
});
const templatePlugin = ViewPlugin.fromClass(
  class {
    decorations: DecorationSet;
    constructor(view: EditorView) {
      this.decorations = templateDecorator.createDeco(view);
    }
    update(u: ViewUpdate) {
      this.decorations = templateDecorator.updateDeco(u, this.decorations);
    }
  },
  { decorations: (v) => v.decorations },
);

// Unclosed "{{" gets a warning mark of its own.
const unclosedPlugin = ViewPlugin.fromClass(
  class {
    decorations: DecorationSet;
    constructor(view: EditorView) {
      this.decorations = this.build(view);
    }
    update(u: ViewUpdate) {
      if (u.docChanged || u.viewportChanged) this.decorations = this.build(u.view);
    }
    build(view: EditorView) {
      const b = new RangeSetBuilder<Decoration>();
      for (const { from, to } of view.visibleRanges) {
        const text = view.state.doc.sliceString(from, to);
        const re = /\{\{(?![^{}\n]*\}\})/g;
        let m: RegExpExecArray | null;
        while ((m = re.exec(text))) b.add(from + m.index, from + m.index + 2, Decoration.mark({ class: 'cm-hbs-open' }));
      }
      return b.finish();
    }
  },
  { decorations: (v) => v.decorations },
);

export function problemOf(text: string, templated: boolean): LintProblem | null {
  return checkJson(templated ? maskTemplates(text) : text);
}

function jsonLinter(templated: boolean): Extension {
  return linter(
    (view): Diagnostic[] => {
      const text = view.state.doc.toString();
      const p = problemOf(text, templated);
      if (!p) return [];
      const to = p.to > p.from ? p.to : Math.min(text.length, p.from + 1);
      return [{ from: p.from, to: Math.max(to, p.from), severity: 'error', message: p.message }];
    },
    { delay: 250 },
  );
}

const theme = EditorView.theme({
  '&': { fontSize: '13px', border: '1px solid var(--border)', borderRadius: '6px', background: '#fff' },
  '&.cm-focused': { outline: '2px solid var(--focus)', outlineOffset: '-1px' },
  '.cm-scroller': { fontFamily: 'var(--mono)', lineHeight: '1.5' },
  '.cm-gutters': { background: '#f7f8fa', borderRight: '1px solid var(--border-soft)', color: '#8a93a3', borderRadius: '6px 0 0 6px' },
  '.cm-hbs': { background: '#fff3d6', color: '#8a4b00', borderRadius: '3px', outline: '1px solid #f0c36d' },
  '.cm-hbs-open': { background: '#ffe0e0', textDecoration: 'underline wavy #c62828' },
});

export function CodeEditor(props: Props) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const lastSet = useRef<string | null>(null);
  const onChange = useRef(props.onChange);
  onChange.current = props.onChange;
  const comps = useRef({ lang: new Compartment(), lint: new Compartment(), tmpl: new Compartment(), ro: new Compartment() });

  const langExt = (p: Props): Extension => (p.mode === 'json' ? json() : []);
  const lintExt = (p: Props): Extension => (p.lint ? [jsonLinter(!!p.lintTemplates), lintGutter()] : []);
  const tmplExt = (p: Props): Extension => (p.templated ? [templatePlugin, unclosedPlugin] : []);
  const roExt = (p: Props): Extension => [EditorState.readOnly.of(!!p.readOnly), EditorView.editable.of(!p.readOnly)];

  useEffect(() => {
    const c = comps.current;
    const v = new EditorView({
      parent: host.current!,
      state: EditorState.create({
        doc: props.value,
        extensions: [
          lineNumbers(),
          highlightActiveLineGutter(),
          foldGutter(),
          history(),
          drawSelection(),
          indentOnInput(),
          syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
          bracketMatching(),
          closeBrackets(),
          highlightActiveLine(),
          highlightSelectionMatches(),
          keymap.of([...closeBracketsKeymap, ...defaultKeymap, ...searchKeymap, ...historyKeymap, ...foldKeymap, indentWithTab]),
          EditorView.lineWrapping,
          theme,
          props.placeholder ? placeholderExt(props.placeholder) : [],
          EditorView.theme({
            '.cm-scroller': { minHeight: `${props.minHeight ?? 120}px`, maxHeight: props.maxHeight ? `${props.maxHeight}px` : 'none' },
            '.cm-content, .cm-gutter': { minHeight: `${props.minHeight ?? 120}px` },
          }),
          c.lang.of(langExt(props)),
          c.lint.of(lintExt(props)),
          c.tmpl.of(tmplExt(props)),
          c.ro.of(roExt(props)),
          EditorView.updateListener.of((u) => {
            if (u.docChanged && onChange.current) {
              const text = u.state.doc.toString();
              if (text !== lastSet.current) onChange.current(text);
            }
          }),
        ],
      }),
    });
    view.current = v;
    return () => {
      v.destroy();
      view.current = null;
    };
  }, []);

  // The value from the parent wins when it differs from what the editor holds.
  useEffect(() => {
    const v = view.current;
    if (!v) return;
    const cur = v.state.doc.toString();
    if (cur !== props.value) {
      lastSet.current = props.value;
      v.dispatch({ changes: { from: 0, to: cur.length, insert: props.value } });
      lastSet.current = null;
    }
  }, [props.value]);

  useEffect(() => {
    const v = view.current;
    if (!v) return;
    const c = comps.current;
    v.dispatch({ effects: [c.lang.reconfigure(langExt(props)), c.lint.reconfigure(lintExt(props)), c.tmpl.reconfigure(tmplExt(props)), c.ro.reconfigure(roExt(props))] });
  }, [props.mode, props.lint, props.templated, props.lintTemplates, props.readOnly]);

  const problem = useMemo(() => (props.lint ? problemOf(props.value, !!props.lintTemplates) : null), [props.value, props.lint, props.lintTemplates]);

  const jumpTo = (pos: number) => {
    const v = view.current;
    if (!v) return;
    v.dispatch({ selection: { anchor: Math.min(pos, v.state.doc.length) }, scrollIntoView: true });
    v.focus();
  };

  return (
    <div class="code-editor" data-testid={props.testid}>
      <div ref={host} class="code-host" />
      {props.lint && (
        <div class={`lint-list ${problem || props.extraProblem ? 'has-problem' : 'ok'}`} data-testid="lint-list">
          {problem ? (
            <button type="button" class="lint-item" data-testid="lint-message" onClick={() => jumpTo(problem.from)}>
              <span class="lint-icon" aria-hidden="true">✕</span> {lintMessage(problem)}
            </button>
          ) : (
            <span class="lint-okay">✓ valid JSON{props.lintTemplates ? ' (placeholders aside)' : ''}</span>
          )}
          {props.extraProblem && (
            <div class="lint-item api" data-testid="lint-message-api">
              <span class="lint-icon" aria-hidden="true">✕</span> {props.extraProblem}
            </div>
          )}
        </div>
      )}
    </div>
  );
}
