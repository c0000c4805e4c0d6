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
