//! A small Mustache engine for MockServer's `httpResponseTemplate` (MUSTACHE).
//!
//! Supported: `{{name}}`, `{{{name}}}` and `{{& name}}` (no escaping in any of them, since
//! the output is JSON, not HTML), dotted paths with array indexes (`request.headers.host.0`),
//! `.` for the current item, sections `{{#x}}…{{/x}}` over lists, objects and truthy values,
//! inverted sections `{{^x}}…{{/x}}`, and comments `{{! … }}`. No partials, no lambdas, no
//! custom delimiters. Rendering is bounded: the output may not exceed `MAX_OUTPUT` bytes and
//! sections may nest at most `MAX_DEPTH` deep. Nothing reaches files, the environment or the
//! network.

use serde_json::Value;

pub(crate) const MAX_OUTPUT: usize = 1024 * 1024;
const MAX_DEPTH: usize = 32;

#[derive(Debug)]
pub(crate) enum Node {
    Text(String),
    Var(Vec<String>),
    Section {
        path: Vec<String>,
        inverted: bool,
        children: Vec<Node>,
    },
}

/// Parses a template; the error says what is wrong and where (byte offset).
pub(crate) fn parse(src: &str) -> Result<Vec<Node>, String> {
    let mut stack: Vec<(Vec<String>, bool, Vec<Node>)> = vec![(Vec::new(), false, Vec::new())];
    let mut rest = src;
    let mut offset = 0;
    while let Some(start) = rest.find("{{") {
        if start > 0 {
            stack
                .last_mut()
                .expect("root")
                .2
                .push(Node::Text(rest[..start].to_string()));
        }
        let after = &rest[start + 2..];
        let (tag, consumed) = if let Some(inner) = after.strip_prefix('{') {
            let end = inner.find("}}}").ok_or_else(|| {
                format!(
                    "\"{{{{{{\" at byte {} is not closed by \"}}}}}}\"",
                    offset + start
                )
            })?;
            (format!("&{}", &inner[..end]), end + 4)
        } else {
            let end = after.find("}}").ok_or_else(|| {
                format!(
                    "\"{{{{\" at byte {} is not closed by \"}}}}\"",
                    offset + start
                )
            })?;
            (after[..end].to_string(), end + 2)
        };
        let tag = tag.trim();
        let (sigil, name) = match tag.chars().next() {
            Some(c @ ('#' | '^' | '/' | '&' | '!')) => (Some(c), tag[1..].trim()),
            _ => (None, tag),
        };
        let path = || {
            name.split('.')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect::<Vec<_>>()
        };
        match sigil {
            Some('!') => {}
            Some('#') | Some('^') => {
                if stack.len() > MAX_DEPTH {
                    return Err(format!("sections nest deeper than {MAX_DEPTH}"));
                }
                stack.push((path(), sigil == Some('^'), Vec::new()));
            }
            Some('/') => {
                let (open, inverted, children) = stack
                    .pop()
                    .filter(|_| !stack.is_empty())
                    .ok_or_else(|| format!("\"{{{{/{name}}}}}\" closes no section"))?;
                if stack.is_empty() {
                    return Err(format!("\"{{{{/{name}}}}}\" closes no section"));
                }
                if open != path() {
                    return Err(format!("\"{{{{/{name}}}}}\" closes \"{}\"", open.join(".")));
                }
                stack.last_mut().expect("parent").2.push(Node::Section {
                    path: open,
                    inverted,
                    children,
                });
            }
            _ => stack
                .last_mut()
                .expect("root")
                .2
                .push(Node::Var(if name == "." { Vec::new() } else { path() })),
        }
        let advance = start + 2 + consumed;
        offset += advance;
        rest = &rest[advance..];
    }
    if !rest.is_empty() {
        stack
            .last_mut()
            .expect("root")
            .2
            .push(Node::Text(rest.to_string()));
    }
    if stack.len() != 1 {
        return Err(format!(
            "section \"{}\" is not closed",
            stack.last().map(|s| s.0.join(".")).unwrap_or_default()
        ));
    }
    Ok(stack.pop().expect("root").2)
}

/// Renders with `context` as the root. Fails only when the output grows too large.
pub(crate) fn render(nodes: &[Node], context: &Value) -> Result<String, String> {
    let mut out = String::new();
    let mut stack = vec![context];
    render_into(nodes, &mut stack, &mut out)?;
    Ok(out)
}

fn render_into<'a>(
    nodes: &[Node],
    stack: &mut Vec<&'a Value>,
    out: &mut String,
) -> Result<(), String> {
    for node in nodes {
        match node {
            Node::Text(t) => out.push_str(t),
            Node::Var(path) => {
                if let Some(v) = lookup(stack, path) {
                    write_value(v, out);
                }
            }
            Node::Section {
                path,
                inverted,
                children,
            } => {
                let value = lookup(stack, path);
                let truthy = value.is_some_and(|v| match v {
                    Value::Null | Value::Bool(false) => false,
                    Value::Array(a) => !a.is_empty(),
                    Value::String(s) => !s.is_empty(),
                    _ => true,
                });
                if *inverted {
                    if !truthy {
                        render_into(children, stack, out)?;
                    }
                } else if let Some(v) = value.filter(|_| truthy) {
                    let items: Vec<&'a Value> = match v {
                        Value::Array(a) => a.iter().collect(),
                        other => vec![other],
                    };
                    for item in items {
                        stack.push(item);
                        render_into(children, stack, out)?;
                        stack.pop();
                    }
                }
            }
        }
        if out.len() > MAX_OUTPUT {
            return Err(format!("the template's output exceeds {MAX_OUTPUT} bytes"));
        }
    }
    Ok(())
}

fn lookup<'a>(stack: &[&'a Value], path: &[String]) -> Option<&'a Value> {
    let Some((first, rest)) = path.split_first() else {
        return stack.last().copied();
    };
    let start = stack.iter().rev().find_map(|frame| child(frame, first))?;
    rest.iter().try_fold(start, |v, key| child(v, key))
}

fn child<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    match v {
        Value::Object(o) => o.get(key).or_else(|| {
            o.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v)
        }),
        Value::Array(a) => key.parse::<usize>().ok().and_then(|i| a.get(i)),
        _ => None,
    }
}

fn write_value(v: &Value, out: &mut String) {
    match v {
        Value::Null => {}
        Value::String(s) => out.push_str(s),
        Value::Array(a) if a.len() == 1 => write_value(&a[0], out),
        other => out.push_str(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn r(t: &str, ctx: Value) -> String {
        render(&parse(t).unwrap(), &ctx).unwrap()
    }

    #[test]
    fn variables_paths_and_indexes() {
        let ctx = json!({"request": {"method": "GET", "headers": {"host": ["a:1"]}, "n": 3}});
        assert_eq!(
            r(
                "{{ request.method }} {{request.headers.host.0}} {{{request.n}}}",
                ctx
            ),
            "GET a:1 3"
        );
    }

    #[test]
    fn sections_iterate_and_invert() {
        let ctx = json!({"items": [{"v": 1}, {"v": 2}], "none": [], "yes": true});
        assert_eq!(
            r(
                "{{#items}}<{{v}}>{{/items}}{{^none}}empty{{/none}}{{#yes}}!{{/yes}}",
                ctx
            ),
            "<1><2>empty!"
        );
    }

    #[test]
    fn missing_values_render_as_nothing_and_comments_vanish() {
        assert_eq!(r("a{{nope.x}}b{{! note }}c", json!({})), "abc");
    }

    #[test]
    fn malformed_templates_are_errors() {
        assert!(parse("{{#a}}x").is_err());
        assert!(parse("{{/a}}").is_err());
        assert!(parse("{{#a}}{{/b}}").is_err());
        assert!(parse("{{a").is_err());
    }

    #[test]
    fn output_is_bounded() {
        let ctx = json!({"a": vec![0; 2000], "s": "x".repeat(1000)});
        let err = render(&parse("{{#a}}{{s}}{{/a}}").unwrap(), &ctx).unwrap_err();
        assert!(err.contains("exceeds"), "{err}");
    }
}
