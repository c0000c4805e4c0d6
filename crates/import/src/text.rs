//! Text to a JSON value: JSON when it parses as JSON, YAML otherwise, with the line and
//! column of a syntax error.

use crate::ImportError;
use serde_json::Value;

/// Parses `text` (JSON or YAML) from the file `name`.
///
/// ```
/// let v = standin_import::parse_document("a.yaml", "openapi: 3.1.0\ninfo: {title: t}\n").unwrap();
/// assert_eq!(v["info"]["title"], "t");
/// let e = standin_import::parse_document("a.yaml", "a: [1, 2\nb: 3\n").unwrap_err();
/// assert!(e.line.is_some());
/// ```
pub fn parse_document(name: &str, text: &str) -> Result<Value, ImportError> {
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        // JSON is YAML too, but serde_json's errors say more about broken JSON.
        return serde_json::from_str(trimmed).map_err(|e| ImportError {
            file: name.to_string(),
            pointer: String::new(),
            line: Some(e.line()),
            column: Some(e.column()),
            message: format!("invalid JSON: {e}"),
        });
    }
    if let Some(line) = alias_line(trimmed) {
        return Err(ImportError {
            file: name.to_string(),
            pointer: String::new(),
            line: Some(line),
            column: None,
            message: "YAML aliases (*name) are not read: a few of them can expand a small file into a huge one. Write the values out, or send JSON".into(),
        });
    }
    let value: yaml_serde::Value = yaml_serde::from_str(trimmed).map_err(|e| {
        let at = e.location();
        ImportError {
            file: name.to_string(),
            pointer: String::new(),
            line: at.as_ref().map(|l| l.line()),
            column: at.as_ref().map(|l| l.column()),
            message: format!("invalid YAML: {e}"),
        }
    })?;
    to_json(value, 0).map_err(|message| ImportError {
        file: name.to_string(),
        pointer: String::new(),
        line: None,
        column: None,
        message,
    })
}

/// The line of the first YAML alias (`key: *name`, `- *name`, `[*a, *b]`, `<<: *base`) in
/// a document that also defines an anchor (`&name`). Both must stand where a value starts;
/// quoted text and comments are skipped, so `*emphasis*` in a description is not one.
fn alias_line(text: &str) -> Option<usize> {
    if !text.contains('&') || !text.contains('*') {
        return None;
    }
    let anchors = text.lines().any(|l| sigil_at_value(l, '&'));
    if !anchors {
        return None;
    }
    text.lines()
        .position(|l| sigil_at_value(l, '*'))
        .map(|i| i + 1)
}

/// Whether `sigil` followed by a name starts a value on `line`.
fn sigil_at_value(line: &str, sigil: char) -> bool {
    let unquoted = unquoted(line);
    for (i, c) in unquoted.char_indices() {
        if c != sigil {
            continue;
        }
        let before = unquoted[..i].trim_end();
        let at_value = before.is_empty()
            || before.ends_with([':', '[', ',', '{'])
            || before == "-"
            || before.ends_with(" -");
        let after = &unquoted[i + 1..];
        let name_len = after
            .find(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '_' || ch == '-' || ch == '.'))
            .unwrap_or(after.len());
        let rest = after[name_len..].trim_start();
        let ends = match sigil {
            '*' => rest.is_empty() || rest.starts_with([',', ']', '}']),
            _ => rest.is_empty() || after[name_len..].starts_with(' '),
        };
        if at_value && name_len > 0 && ends {
            return true;
        }
    }
    false
}

/// The line with quoted text blanked out and the comment cut off.
fn unquoted(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut quote: Option<char> = None;
    let mut prev = ' ';
    for c in line.chars() {
        match quote {
            Some(q) => {
                if c == q {
                    quote = None;
                }
                out.push(' ');
            }
            None if c == '"' || c == '\'' => {
                quote = Some(c);
                out.push(' ');
            }
            None if c == '#' && (prev == ' ' || prev == '\t') => break,
            None => out.push(c),
        }
        prev = c;
    }
    out
}

/// Nesting deeper than this is refused: the readers recurse along the document.
pub const MAX_DEPTH: usize = 200;

/// YAML to JSON. Mapping keys that YAML reads as numbers or booleans (`200:` under
/// `responses`) become their text, as OpenAPI means them.
fn to_json(v: yaml_serde::Value, depth: usize) -> Result<Value, String> {
    use yaml_serde::Value as Y;
    if depth > MAX_DEPTH {
        return Err(format!("the document nests deeper than {MAX_DEPTH} levels"));
    }
    Ok(match v {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                n.as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .map_or(Value::Null, Value::Number)
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(
            items
                .into_iter()
                .map(|i| to_json(i, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        Y::Mapping(m) => {
            let mut o = serde_json::Map::with_capacity(m.len());
            for (k, v) in m {
                let key = match k {
                    Y::String(s) => s,
                    Y::Number(n) => n.to_string(),
                    Y::Bool(b) => b.to_string(),
                    Y::Null => "null".to_string(),
                    other => {
                        return Err(format!(
                            "a mapping key must be a plain value, not {other:?}"
                        ));
                    }
                };
                o.insert(key, to_json(v, depth + 1)?);
            }
            Value::Object(o)
        }
        Y::Tagged(t) => to_json(t.value, depth + 1)?,
    })
}

/// The line (1-based) of the value a JSON pointer names in block-style YAML, found by
/// following keys and `- ` items by their indentation. `None` for JSON text, or when
/// the path goes through flow style (`{...}`, `[...]`) or cannot be followed; the
/// pointer still says where.
///
/// ```
/// let yaml = "openapi: 3.0.0\npaths:\n  /pets:\n    get:\n      responses: []\n";
/// assert_eq!(standin_import::line_of(yaml, "/paths/~1pets/get/responses"), Some(5));
/// assert_eq!(standin_import::line_of(yaml, "/paths/~1nope"), None);
/// ```
pub fn line_of(text: &str, pointer: &str) -> Option<usize> {
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') || pointer.is_empty() {
        return None;
    }
    let lines: Vec<&str> = text.lines().collect();
    let tokens: Vec<String> = pointer
        .split('/')
        .skip(1)
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect();
    // (the line where the current value starts, the indentation its children must exceed)
    let mut at: usize = 0;
    let mut parent_indent: isize = -1;
    let mut found_line = None;
    for token in &tokens {
        let (line, indent) = find_child(&lines, at, parent_indent, token)?;
        found_line = Some(line + 1);
        at = line;
        parent_indent = indent as isize;
    }
    found_line
}

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

fn significant(line: &str) -> bool {
    let t = line.trim();
    !t.is_empty() && !t.starts_with('#') && t != "---"
}

/// The line of the child `token` of the value at line `from` whose indentation is
/// `parent`, and the indentation the child's own children must exceed.
fn find_child(lines: &[&str], from: usize, parent: isize, token: &str) -> Option<(usize, usize)> {
    let start = if parent < 0 { 0 } else { from };
    // A block sequence may sit at its key's own indentation (`tags:` then `- a`).
    let parent_is_key = parent >= 0 && lines[start].trim_end().ends_with(':');
    let mut child_indent: Option<usize> = None;
    let mut item = 0usize;
    for (i, line) in lines.iter().enumerate().skip(start) {
        if !significant(line) {
            continue;
        }
        let mut ind = indent_of(line);
        let mut body = line.trim_start();
        if parent >= 0 && i == start {
            // On the parent's own line only what follows `key:` or `- ` can be the child.
            match after_key_or_dash(body) {
                Some((offset, rest)) if !rest.trim().is_empty() => {
                    ind += offset;
                    body = rest;
                }
                _ => continue,
            }
        } else if parent >= 0 && (ind as isize) <= parent {
            let sequence_at_key = parent_is_key && ind as isize == parent && body.starts_with('-');
            if !sequence_at_key {
                return None;
            }
        }
        let ci = *child_indent.get_or_insert(ind);
        if ind != ci {
            continue;
        }
        if body == "-" || body.starts_with("- ") {
            if token.parse::<usize>().ok() == Some(item) {
                return Some((i, ind + 1));
            }
            item += 1;
            continue;
        }
        if key_of(body).is_some_and(|k| k == token) {
            return Some((i, ind));
        }
    }
    None
}

/// The offset and the rest of a line after its leading `key:` or `- `.
fn after_key_or_dash(body: &str) -> Option<(usize, &str)> {
    if let Some(rest) = body.strip_prefix("- ") {
        return Some((2, rest));
    }
    key_of(body)?;
    let at = body.find(':')?;
    let rest = &body[at + 1..];
    let skip = rest.len() - rest.trim_start().len();
    Some((at + 1 + skip, rest.trim_start()))
}

/// The key of a `key: value` or `key:` line, unquoted.
fn key_of(body: &str) -> Option<String> {
    if let Some(q) = body.chars().next().filter(|c| *c == '"' || *c == '\'') {
        let end = body[1..].find(q)? + 1;
        let after = body[end + 1..].trim_start();
        return after.starts_with(':').then(|| body[1..end].to_string());
    }
    let at = body
        .find(": ")
        .or_else(|| body.strip_suffix(':').map(|s| s.len()))?;
    let key = &body[..at];
    (!key.starts_with('{') && !key.starts_with('[')).then(|| key.trim_end().to_string())
}

#[cfg(test)]
mod tests {
    use super::line_of;

    const DOC: &str = "# a comment\nopenapi: 3.0.0\npaths:\n  /pets:\n    get:\n      tags:\n      - a\n      - b\n      parameters:\n        - name: id\n          in: path\n        - name: q\n          in: query\n  \"/quoted\":\n    post: {}\ncomponents:\n  schemas: {Pet: {type: object}}\n";

    #[test]
    fn pointers_lead_to_their_lines() {
        let cases = [
            ("/openapi", Some(2)),
            ("/paths", Some(3)),
            ("/paths/~1pets/get", Some(5)),
            ("/paths/~1pets/get/tags/1", Some(8)),
            ("/paths/~1pets/get/parameters/1", Some(12)),
            ("/paths/~1pets/get/parameters/1/in", Some(13)),
            ("/paths/~1pets/get/parameters/0/name", Some(10)),
            ("/paths/~1quoted/post", Some(15)),
            ("/components/schemas", Some(17)),
            // Inside flow style, and paths that do not exist: no line.
            ("/components/schemas/Pet", None),
            ("/paths/~1cats", None),
            ("/paths/~1pets/get/tags/2", None),
        ];
        for (pointer, line) in cases {
            assert_eq!(line_of(DOC, pointer), line, "{pointer}");
        }
    }

    #[test]
    fn yaml_aliases_are_refused_and_emphasis_is_not_one() {
        use super::alias_line;
        let bomb = "a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n";
        assert_eq!(alias_line(bomb), Some(2));
        assert_eq!(
            alias_line("base: &base {x: 1}\nitem:\n  <<: *base\n"),
            Some(3)
        );
        let prose = "description: use *emphasis* here & there\nsummary: R&D - * not an alias\n";
        assert_eq!(alias_line(prose), None);
        assert_eq!(alias_line("k: 'quoted &a'\nv: '*a'\n"), None);
        let e = super::parse_document("a.yaml", bomb).unwrap_err();
        assert!(e.message.contains("aliases"), "{e}");
    }

    #[test]
    fn json_text_has_no_lines_to_find() {
        assert_eq!(line_of("{\"a\": {\"b\": 1}}", "/a/b"), None);
    }
}
