//! A small Mustache engine with the jmustache behaviour MockServer's MUSTACHE templates
//! rely on.
//!
//! Supported: `{{name}}` (HTML-escaped, as jmustache does), `{{{name}}}` and `{{& name}}`
//! (not escaped), dotted paths with array indexes (`request.headers.host.0`), `.` and `this`
//! for the current item, sections `{{#x}}…{{/x}}` over lists, objects and truthy values,
//! inverted sections `{{^x}}…{{/x}}`, the loop values `-first`, `-last` and `-index`
//! (1-based), Java map views `entrySet` (`key`/`value`), `keySet` and `values`, comments
//! `{{! … }}`, and MockServer's `{{#jsonPath}}expr{{/jsonPath}}` which evaluates a JSONPath
//! over the request body and makes the result available as `jsonPathResult`, and
//! `{{#xPath}}expr{{/xPath}}` which writes the XPath's string value over an XML body.
//! No partials, lambdas or custom delimiters. Rendering is bounded: the output may not
//! exceed `MAX_OUTPUT` bytes and sections nest at most `MAX_DEPTH` deep. Nothing reaches
//! files, the environment or the network.

use serde_json::{Map, Value, json};
use standin_eval::Budget;
use std::borrow::Cow;

pub(crate) const MAX_OUTPUT: usize = 1024 * 1024;
const MAX_DEPTH: usize = 32;

#[derive(Debug)]
pub(crate) enum Node {
    Text(String),
    Var {
        path: Vec<String>,
        escape: bool,
    },
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
        let path = || -> Vec<String> {
            if name == "." {
                Vec::new()
            } else {
                name.split('.')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            }
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
                if stack.len() < 2 {
                    return Err(format!("\"{{{{/{name}}}}}\" closes no section"));
                }
                let (open, inverted, children) = stack.pop().expect("checked");
                if open != path() {
                    return Err(format!("\"{{{{/{name}}}}}\" closes \"{}\"", open.join(".")));
                }
                stack.last_mut().expect("parent").2.push(Node::Section {
                    path: open,
                    inverted,
                    children,
                });
            }
            Some('&') => stack.last_mut().expect("root").2.push(Node::Var {
                path: path(),
                escape: false,
            }),
            _ => stack.last_mut().expect("root").2.push(Node::Var {
                path: path(),
                escape: true,
            }),
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

/// One level of the context stack: a value, or an item of a section's list.
enum Frame<'a> {
    Value(Cow<'a, Value>),
    Item {
        item: Cow<'a, Value>,
        index: usize,
        len: usize,
    },
}

struct State<'b> {
    /// Spent per node rendered, per item iterated and per byte written: nested sections
    /// over large lists multiply, and the budget is what bounds them.
    budget: &'b Budget,
    out: String,
    /// Values set while rendering (`jsonPathResult`).
    vars: Map<String, Value>,
    /// The request body as JSON, for `{{#jsonPath}}`.
    body: Option<Value>,
    /// The request body as text, for `{{#xPath}}`.
    text: String,
}

/// Renders with `context` as the root; `body` is the request body as JSON, if it is JSON.
/// Fails when the output grows too large or the budget runs out.
pub(crate) fn render(
    nodes: &[Node],
    context: &Value,
    body: Option<Value>,
    text: &str,
    budget: &Budget,
) -> Result<String, String> {
    let mut st = State {
        budget,
        out: String::new(),
        vars: Map::new(),
        body,
        text: text.to_string(),
    };
    let mut stack = vec![Frame::Value(Cow::Borrowed(context))];
    render_into(nodes, &mut stack, &mut st)?;
    Ok(st.out)
}

fn render_into<'a>(
    nodes: &[Node],
    stack: &mut Vec<Frame<'a>>,
    st: &mut State<'_>,
) -> Result<(), String> {
    for node in nodes {
        if !st.budget.spend(1) {
            return Err(OVER_BUDGET.into());
        }
        match node {
            Node::Text(t) => {
                st.budget.spend_bytes(t.len(), 64);
                st.out.push_str(t)
            }
            Node::Var { path, escape } => {
                if let Some(v) = lookup(stack, &st.vars, path) {
                    let text = display(&v);
                    st.budget.spend_bytes(text.len(), 16);
                    if *escape {
                        escape_html(&text, &mut st.out)
                    } else {
                        st.out.push_str(&text)
                    }
                }
            }
            Node::Section {
                path,
                inverted,
                children,
            } if path.len() == 1 && path[0] == "jsonPath" && !inverted => {
                let expr = render_inner(children, stack, st)?;
                let result = json_path(&expr, st.body.as_ref(), st.budget);
                st.vars.insert("jsonPathResult".into(), result);
            }
            Node::Section {
                path,
                inverted,
                children,
            } if path.len() == 1 && path[0] == "xPath" && !inverted => {
                let expr = render_inner(children, stack, st)?;
                if let Ok(x) = standin_eval::xml::compile(&expr) {
                    st.out
                        .push_str(&standin_eval::xml::xpath_string(&x, &st.text, st.budget));
                }
            }
            Node::Section {
                path,
                inverted,
                children,
            } => {
                let value = lookup(stack, &st.vars, path).map(Cow::into_owned);
                // The value is copied for the section: pay for its size.
                if let Some(v) = &value {
                    st.budget.spend(standin_eval::json::shape(v).0);
                }
                let truthy = value.as_ref().is_some_and(|v| match v {
                    Value::Null | Value::Bool(false) => false,
                    Value::Array(a) => !a.is_empty(),
                    Value::String(s) => !s.is_empty(),
                    _ => true,
                });
                if *inverted {
                    if !truthy {
                        render_into(children, stack, st)?;
                    }
                } else if let Some(v) = value.filter(|_| truthy) {
                    match v {
                        Value::Array(items) => {
                            let len = items.len();
                            for (index, item) in items.into_iter().enumerate() {
                                stack.push(Frame::Item {
                                    item: Cow::Owned(item),
                                    index,
                                    len,
                                });
                                render_into(children, stack, st)?;
                                stack.pop();
                            }
                        }
                        other => {
                            stack.push(Frame::Value(Cow::Owned(other)));
                            render_into(children, stack, st)?;
                            stack.pop();
                        }
                    }
                }
            }
        }
        if st.out.len() > MAX_OUTPUT {
            // Output size is a budget like work: over it, the request is over budget.
            st.budget.exhaust(standin_eval::Exhausted::Output);
            return Err(format!("the template's output exceeds {MAX_OUTPUT} bytes"));
        }
        if st.budget.is_exhausted() {
            return Err(OVER_BUDGET.into());
        }
    }
    Ok(())
}

/// The error of a render stopped by its budget; callers learn why from the budget.
pub(crate) const OVER_BUDGET: &str = "the template ran out of its work budget";

/// Renders a section's children on their own (the expression of `{{#jsonPath}}` or
/// `{{#xPath}}`), trimmed.
fn render_inner<'a>(
    children: &[Node],
    stack: &mut Vec<Frame<'a>>,
    st: &State<'_>,
) -> Result<String, String> {
    st.budget.spend(st.vars.len() as u64);
    let mut inner = State {
        budget: st.budget,
        out: String::new(),
        vars: st.vars.clone(),
        body: None,
        text: String::new(),
    };
    render_into(children, stack, &mut inner)?;
    Ok(inner.out.trim().to_string())
}

fn json_path(expr: &str, body: Option<&Value>, budget: &Budget) -> Value {
    let (Some(body), Ok(path)) = (body, serde_json_path::JsonPath::parse(expr)) else {
        return Value::Null;
    };
    let (nodes, depth) = standin_eval::json::shape(body);
    if !budget.spend(standin_eval::json::json_path_cost(expr, nodes, depth)) {
        return Value::Null;
    }
    let nodes = path.query(body).all();
    match nodes.as_slice() {
        [] => Value::Null,
        [one] => (*one).clone(),
        many => Value::Array(many.iter().map(|v| (*v).clone()).collect()),
    }
}

fn lookup<'a>(
    stack: &'a [Frame<'a>],
    vars: &Map<String, Value>,
    path: &[String],
) -> Option<Cow<'a, Value>> {
    let Some((first, rest)) = path.split_first() else {
        return stack.last().map(|f| match f {
            Frame::Value(v) | Frame::Item { item: v, .. } => Cow::Borrowed(v.as_ref()),
        });
    };
    let start: Cow<'a, Value> = stack
        .iter()
        .rev()
        .find_map(|frame| match frame {
            Frame::Item { item, index, len } => match first.as_str() {
                "this" => Some(Cow::Borrowed(item.as_ref())),
                "-first" => Some(Cow::Owned(json!(*index == 0))),
                "-last" => Some(Cow::Owned(json!(*index + 1 == *len))),
                "-index" => Some(Cow::Owned(json!(*index + 1))),
                _ => child(item, first),
            },
            Frame::Value(v) => child(v, first),
        })
        .or_else(|| vars.get(first).cloned().map(Cow::Owned))?;
    rest.iter().try_fold(start, |v, key| match v {
        Cow::Borrowed(b) => child(b, key),
        Cow::Owned(o) => child(&o, key).map(|c| Cow::Owned(c.into_owned())),
    })
}

/// A field of an object (case-insensitive fallback, as MockServer's header maps), an
/// element of a list, or a Java map view of an object.
fn child<'a>(v: &'a Value, key: &str) -> Option<Cow<'a, Value>> {
    match v {
        Value::Object(o) => match o.get(key).or_else(|| {
            o.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v)
        }) {
            Some(found) => Some(Cow::Borrowed(found)),
            None => match key {
                "entrySet" => Some(Cow::Owned(Value::Array(
                    o.iter()
                        .map(|(k, v)| json!({"key": k, "value": v}))
                        .collect(),
                ))),
                "keySet" => Some(Cow::Owned(Value::Array(
                    o.keys().map(|k| json!(k)).collect(),
                ))),
                "values" => Some(Cow::Owned(Value::Array(o.values().cloned().collect()))),
                _ => None,
            },
        },
        Value::Array(a) => key
            .parse::<usize>()
            .ok()
            .and_then(|i| a.get(i))
            .map(Cow::Borrowed),
        _ => None,
    }
}

/// How jmustache prints a value: strings as is, lists and maps as Java's `toString`.
fn display(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(a) => format!("[{}]", a.iter().map(display).collect::<Vec<_>>().join(", ")),
        Value::Object(o) => format!(
            "{{{}}}",
            o.iter()
                .map(|(k, v)| format!("{k}={}", display(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => other.to_string(),
    }
}

fn escape_html(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '`' => out.push_str("&#x60;"),
            '=' => out.push_str("&#x3D;"),
            other => out.push(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(t: &str, ctx: Value) -> String {
        render(&parse(t).unwrap(), &ctx, None, "", &Budget::unlimited()).unwrap()
    }

    #[test]
    fn variables_paths_indexes_and_escaping() {
        let ctx = json!({"request": {"method": "GET", "headers": {"Host": ["a:1"]}, "body": "<a href='x'>"}});
        assert_eq!(
            r(
                "{{ request.method }} {{request.headers.host.0}}",
                ctx.clone()
            ),
            "GET a:1"
        );
        assert_eq!(
            r(
                "{{ request.body }}|{{{ request.body }}}|{{& request.body}}",
                ctx
            ),
            "&lt;a href&#x3D;&#39;x&#39;&gt;|<a href='x'>|<a href='x'>"
        );
    }

    #[test]
    fn sections_iterate_with_loop_values_and_invert() {
        let ctx = json!({"items": [{"v": 1}, {"v": 2}, {"v": 3}], "none": [], "yes": true});
        assert_eq!(
            r(
                "{{#items}}{{^-first}}, {{/-first}}{{-index}}:{{v}}{{#-last}}!{{/-last}}{{/items}}",
                ctx.clone()
            ),
            "1:1, 2:2, 3:3!"
        );
        assert_eq!(r("{{^none}}empty{{/none}}{{#yes}}y{{/yes}}", ctx), "emptyy");
    }

    #[test]
    fn java_map_views() {
        let ctx = json!({"q": {"a": ["1"], "b": ["2", "3"]}});
        assert_eq!(
            r(
                "{{#q.entrySet}}{{key}}={{value.0}};{{/q.entrySet}}",
                ctx.clone()
            ),
            "a=1;b=2;"
        );
        assert_eq!(
            r("{{#q.keySet}}{{this}} {{/q.keySet}}", ctx.clone()),
            "a b "
        );
        assert_eq!(r("{{{q}}}", ctx), "{a=[1], b=[2, 3]}");
    }

    #[test]
    fn json_path_sections_set_the_result() {
        let body = json!({"store": {"book": [{"title": "A"}, {"title": "B"}], "bicycle": {"color": "red"}}});
        let nodes = parse("{{#jsonPath}}$.store.book{{/jsonPath}}{{#jsonPathResult}}{{title}} {{/jsonPathResult}}{{#jsonPath}}$.store.bicycle.color{{/jsonPath}}{{jsonPathResult}}").unwrap();
        assert_eq!(
            render(&nodes, &json!({}), Some(body), "", &Budget::unlimited()).unwrap(),
            "A B red"
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
        let err = render(
            &parse("{{#a}}{{s}}{{/a}}").unwrap(),
            &ctx,
            None,
            "",
            &Budget::unlimited(),
        )
        .unwrap_err();
        assert!(err.contains("exceeds"), "{err}");
    }
}
