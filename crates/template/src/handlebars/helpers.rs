//! WireMock's helpers. Each takes its evaluated arguments (and, for a block, the block to
//! render) and returns a value. Failures become the render's error; WireMock's inline
//! `[ERROR: …]` texts are kept where WireMock writes them into the body.

use super::parse::Block;
use super::value::{Num, Rich, Value, equal, from_json, jackson_pretty, java_double};
use super::{Data, Fail, Render};
use std::collections::BTreeMap;
use std::rc::Rc;

pub(crate) struct Args<'b> {
    pub params: Vec<Value>,
    pub hash: BTreeMap<String, Value>,
    pub block: Option<&'b Block>,
}

impl Args<'_> {
    fn p(&self, i: usize) -> Value {
        self.params.get(i).cloned().unwrap_or(Value::Null)
    }

    fn text(&self, i: usize) -> String {
        self.p(i).render()
    }

    fn h(&self, k: &str) -> Option<&Value> {
        self.hash.get(k)
    }

    fn h_text(&self, k: &str) -> Option<String> {
        self.hash.get(k).map(Value::render)
    }

    fn h_int(&self, k: &str) -> Option<i64> {
        self.hash.get(k).and_then(|v| v.number()).map(|n| match n {
            Num::Int(i) => i,
            Num::Float(f) => f as i64,
        })
    }
}

const HELPERS: &[&str] = &[
    "if",
    "unless",
    "each",
    "with",
    "lookup",
    "eq",
    "neq",
    "ne",
    "gt",
    "gte",
    "lt",
    "lte",
    "and",
    "or",
    "not",
    "range",
    "array",
    "arrayAdd",
    "arrayRemove",
    "arrayJoin",
    "join",
    "val",
    "assign",
    "math",
    "size",
    "contains",
    "matches",
    "upper",
    "lower",
    "capitalize",
    "capitalizeFirst",
    "trim",
    "abbreviate",
    "substring",
    "replace",
    "defaultIfEmpty",
    "regexExtract",
    "base64",
    "urlEncode",
    "jsonPath",
    "parseJson",
    "toJson",
    "formData",
    "xPath",
    "soapXPath",
    "now",
    "date",
    "parseDate",
    "randomValue",
    "randomInt",
    "randomDecimal",
    "pickRandom",
    "isOdd",
    "isEven",
    "yesno",
    "stripes",
    "cut",
    "slugify",
    "fake",
    "random",
];

pub(crate) fn exists(name: &str) -> bool {
    HELPERS.contains(&name)
}

type Out = Result<Value, String>;

fn fail(m: Fail) -> String {
    m.1
}

pub(crate) fn call(r: &mut Render<'_, '_>, name: &str, a: &Args<'_>) -> Out {
    match name {
        "if" | "unless" => {
            let mut yes = a.p(0).truthy();
            if name == "unless" {
                yes = !yes;
            }
            branch(r, a, yes, Value::Bool(yes))
        }
        "each" => each(r, a),
        "with" => {
            let v = a.p(0);
            let Some(b) = a.block else { return Ok(v) };
            if !v.truthy() {
                return r.render_nodes(&b.inverse).map(Value::str).map_err(fail);
            }
            let locals = b
                .names
                .first()
                .map(|n| vec![(n.clone(), v.clone())])
                .unwrap_or_default();
            let mut out = String::new();
            r.with_frame(&b.body, v, Data::default(), locals, &mut out)
                .map_err(fail)?;
            Ok(Value::str(out))
        }
        "lookup" => {
            let mut v = a.p(0);
            for key in a.params[1.min(a.params.len())..].iter() {
                let key = key.render();
                let direct = v.member(&key);
                v = if matches!(direct, Value::Null) && key.contains('.') {
                    key.split('.').fold(v.clone(), |acc, k| acc.member(k))
                } else {
                    direct
                };
            }
            Ok(v)
        }
        "eq" | "neq" | "ne" | "gt" | "gte" | "lt" | "lte" => {
            let (x, y) = (a.p(0), a.p(1));
            let result = match name {
                "eq" => equal(&x, &y),
                "neq" | "ne" => !equal(&x, &y),
                _ => {
                    let ord = compare(&x, &y);
                    match (name, ord) {
                        (_, None) => false,
                        ("gt", Some(o)) => o.is_gt(),
                        ("gte", Some(o)) => o.is_ge(),
                        ("lt", Some(o)) => o.is_lt(),
                        (_, Some(o)) => o.is_le(),
                    }
                }
            };
            if a.block.is_none()
                && let (Some(yes), Some(no)) = (a.h("yes"), a.h("no"))
            {
                return Ok(if result { yes.clone() } else { no.clone() });
            }
            branch(r, a, result, Value::Bool(result))
        }
        "and" => {
            let v = a.params.iter().all(Value::truthy);
            branch(r, a, v, Value::Bool(v))
        }
        "or" => {
            let v = a.params.iter().any(Value::truthy);
            branch(r, a, v, Value::Bool(v))
        }
        "not" => {
            let v = !a.p(0).truthy();
            branch(r, a, v, Value::Bool(v))
        }
        "range" => {
            let (lo, hi) = (int(&a.p(0)), int(&a.p(1)));
            let (Some(lo), Some(hi)) = (lo, hi) else {
                return Ok(Value::list(Vec::new()));
            };
            if hi.saturating_sub(lo) > 100_000 {
                return Err(format!("range {lo} to {hi} is longer than 100000"));
            }
            spend(r, hi.saturating_sub(lo).max(0) as u64)?;
            Ok(Value::list((lo..=hi).map(Value::Int).collect()))
        }
        "array" => Ok(Value::list(a.params.clone())),
        "arrayAdd" => {
            let mut items = list_of(&a.p(0));
            let item = a.p(1);
            let pos = match a.h("position") {
                None => items.len() as i64,
                Some(v) => match v.render().as_str() {
                    "start" => 0,
                    "end" => items.len() as i64,
                    other => other.parse::<i64>().unwrap_or(items.len() as i64),
                },
            };
            if pos < 0 || pos as usize > items.len() {
                return Ok(Value::str(
                    "[ERROR: position must be greater than or equal to 0 and less than or equal to the size of the list]",
                ));
            }
            items.insert(pos as usize, item);
            Ok(Value::list(items))
        }
        "arrayRemove" => {
            let mut items = list_of(&a.p(0));
            if items.is_empty() {
                return Ok(Value::list(items));
            }
            let pos = match a.h("position") {
                None => items.len() as i64 - 1,
                Some(v) => match v.render().as_str() {
                    "start" => 0,
                    "end" => items.len() as i64 - 1,
                    other => other.parse::<i64>().unwrap_or(-1),
                },
            };
            if pos >= 0 && (pos as usize) < items.len() {
                items.remove(pos as usize);
            }
            Ok(Value::list(items))
        }
        "arrayJoin" | "join" => {
            // join ITEMS SEP, or arrayJoin SEP ITEMS… with prefix/suffix.
            let (sep, items) = if name == "join" {
                // join LIST SEP, or join A B … SEP.
                let n = a.params.len();
                let sep = if n > 0 { a.text(n - 1) } else { String::new() };
                let items = match n {
                    0 | 1 => Vec::new(),
                    2 => list_of(&a.p(0)),
                    _ => a.params[..n - 1].to_vec(),
                };
                (sep, items)
            } else {
                let sep = a.text(0);
                let rest: Vec<Value> = a.params.iter().skip(1).cloned().collect();
                let items = if rest.len() == 1 {
                    list_of(&rest[0])
                } else {
                    rest
                };
                (sep, items)
            };
            let joined = match a.block {
                // Each item through the block (`as |n|` names it).
                Some(b) => {
                    let mut out = String::new();
                    for (i, item) in items.into_iter().enumerate() {
                        if i > 0 {
                            out.push_str(&sep);
                        }
                        let locals = b
                            .names
                            .first()
                            .map(|n| vec![(n.clone(), item.clone())])
                            .unwrap_or_default();
                        r.with_frame(&b.body, item, Data::default(), locals, &mut out)
                            .map_err(fail)?;
                    }
                    out
                }
                None => items
                    .iter()
                    .map(Value::render)
                    .collect::<Vec<_>>()
                    .join(&sep),
            };
            let prefix = a.h_text("prefix").unwrap_or_default();
            let suffix = a.h_text("suffix").unwrap_or_default();
            Ok(Value::str(format!("{prefix}{joined}{suffix}")))
        }
        "val" => {
            let mut v = a.p(0);
            if !v.truthy()
                && !matches!(v, Value::Bool(false) | Value::Int(0))
                && let Some(d) = a.h("or").or_else(|| a.h("default"))
            {
                v = d.clone();
            }
            if let Some(name) = a.h_text("assign") {
                r.set_var(&name, v);
                return Ok(Value::Null);
            }
            Ok(v)
        }
        "assign" => {
            let name = a.text(0);
            let Some(b) = a.block else {
                return Err("assign is a block: {{#assign 'name'}}value{{/assign}}".into());
            };
            let v = r.render_nodes(&b.body).map_err(fail)?;
            r.set_var(&name, Value::str(v));
            Ok(Value::Null)
        }
        "math" => math(a),
        "size" => Ok(a
            .p(0)
            .size()
            .map_or(Value::Int(0), |n| Value::Int(n as i64))),
        "contains" => {
            let (hay, needle) = (a.p(0), a.p(1));
            let found = match &hay {
                Value::List(l) => l
                    .iter()
                    .any(|v| equal(v, &needle) || v.render() == needle.render()),
                other => other.render().contains(&needle.render()),
            };
            branch(r, a, found, Value::Bool(found))
        }
        "matches" => {
            // Java's `matches`: the whole text.
            let re = regex(&format!("^(?:{})$", a.text(1)))?;
            let m = re.is_match(&a.text(0));
            branch(r, a, m, Value::Bool(m))
        }
        "upper" => Ok(Value::str(a.text(0).to_uppercase())),
        "lower" => Ok(Value::str(a.text(0).to_lowercase())),
        "capitalize" => {
            let fully = a.h("fully").is_some_and(Value::truthy);
            Ok(Value::str(
                a.text(0)
                    .split(' ')
                    .map(|w| {
                        if fully {
                            capitalize_first(&w.to_lowercase())
                        } else {
                            capitalize_first(w)
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(" "),
            ))
        }
        "capitalizeFirst" => Ok(Value::str(capitalize_first(&a.text(0)))),
        "trim" => match a.block {
            Some(b) => Ok(Value::str(r.render_nodes(&b.body).map_err(fail)?.trim())),
            None => Ok(Value::str(a.text(0).trim())),
        },
        "abbreviate" => {
            let s = a.text(0);
            let n = int(&a.p(1)).unwrap_or(0).max(0) as usize;
            let chars: Vec<char> = s.chars().collect();
            if n < 4 {
                return Err("abbreviate needs a width of at least 4".into());
            }
            if chars.len() <= n {
                return Ok(Value::str(s));
            }
            Ok(Value::str(format!(
                "{}...",
                chars[..n - 3].iter().collect::<String>()
            )))
        }
        "substring" => {
            let s: Vec<char> = a.text(0).chars().collect();
            let start = int(&a.p(1)).unwrap_or(0);
            if start < 0 || start as usize > s.len() {
                return Err(format!("substring: {start} is outside \"{}\"", a.text(0)));
            }
            let start = start as usize;
            let end = match a.params.get(2) {
                Some(e) => int(e)
                    .unwrap_or(s.len() as i64)
                    .clamp(start as i64, s.len() as i64) as usize,
                None => s.len(),
            };
            Ok(Value::str(s[start..end].iter().collect::<String>()))
        }
        "replace" => Ok(Value::str(a.text(0).replace(&a.text(1), &a.text(2)))),
        "cut" => Ok(Value::str(a.text(0).replace(&a.text(1), ""))),
        "defaultIfEmpty" => {
            let v = a.p(0);
            Ok(if v.render().is_empty() { a.p(1) } else { v })
        }
        "slugify" => {
            let s = a.text(0).to_lowercase();
            let mut out = String::new();
            for c in s.chars() {
                if c.is_alphanumeric() {
                    out.push(c);
                } else if !out.ends_with('-') && !out.is_empty() {
                    out.push('-');
                }
            }
            Ok(Value::str(out.trim_end_matches('-')))
        }
        "regexExtract" => {
            let text = a.text(0);
            let re = regex(&a.text(1))?;
            let budget_ok = r.budget().spend_bytes(text.len(), 16);
            if !budget_ok {
                return Err("the template ran out of its budget".into());
            }
            match a.params.get(2) {
                None => Ok(match re.find(&text) {
                    Some(m) => Value::str(m.as_str()),
                    None => match a.h("default") {
                        Some(d) => d.clone(),
                        None => Value::str(format!("[ERROR: Nothing matched {}]", a.text(1))),
                    },
                }),
                Some(var) => {
                    let name = var.render();
                    // The groups of every match, in order.
                    let groups: Vec<Value> = re
                        .captures_iter(&text)
                        .flat_map(|c| {
                            c.iter()
                                .skip(1)
                                .map(|g| g.map_or(Value::Null, |m| Value::str(m.as_str())))
                                .collect::<Vec<_>>()
                        })
                        .collect();
                    if groups.is_empty() {
                        return Ok(Value::str(format!(
                            "[ERROR: Nothing matched {}]",
                            a.text(1)
                        )));
                    }
                    r.set_var(&name, Value::list(groups));
                    Ok(Value::Null)
                }
            }
        }
        "base64" => {
            use base64::Engine;
            let e = base64::engine::general_purpose::STANDARD;
            let text = match a.block {
                Some(b) => r.render_nodes(&b.body).map_err(fail)?,
                None => a.text(0),
            };
            if a.h("decode").is_some_and(Value::truthy) {
                let bytes = e
                    .decode(text.trim())
                    .map_err(|err| format!("base64: not base64 ({err})"))?;
                Ok(Value::str(String::from_utf8_lossy(&bytes).as_ref()))
            } else {
                let mut out = e.encode(text.as_bytes());
                if a.h("padding").is_some_and(|v| !v.truthy()) {
                    out = out.trim_end_matches('=').to_string();
                }
                Ok(Value::str(out))
            }
        }
        "urlEncode" => {
            let text = match a.block {
                Some(b) => r.render_nodes(&b.body).map_err(fail)?,
                None => a.text(0),
            };
            if a.h("decode").is_some_and(Value::truthy) {
                Ok(Value::str(
                    standin_eval::parse::percent_decode(&text.replace('+', " ")).as_ref(),
                ))
            } else {
                Ok(Value::str(form_encode(&text)))
            }
        }
        "jsonPath" => json_path(r, a),
        "parseJson" => {
            let text = match a.block {
                Some(b) => r.render_nodes(&b.body).map_err(fail)?,
                None => a.text(0),
            };
            let v: serde_json::Value =
                serde_json::from_str(&text).map_err(|e| format!("parseJson: not JSON ({e})"))?;
            let v = from_json(&v);
            // {{parseJson TEXT "name"}} and {{#parseJson "name"}}TEXT{{/parseJson}} assign.
            let name = match a.block {
                Some(_) => a.params.first().map(Value::render),
                None => a.params.get(1).map(Value::render),
            };
            match name {
                Some(name) => {
                    r.set_var(&name, v);
                    Ok(Value::Null)
                }
                None => Ok(v),
            }
        }
        "toJson" => Ok(Value::str(jackson_pretty(&a.p(0).to_json()))),
        "formData" => {
            let text = a.text(0);
            let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
            // Values as sent; `urlDecode=true` decodes them.
            let decode = a.h("urlDecode").is_some_and(Value::truthy);
            for pair in text.split('&').filter(|p| !p.is_empty()) {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                let v = if decode {
                    standin_eval::parse::percent_decode(&v.replace('+', " ")).into_owned()
                } else {
                    v.to_string()
                };
                map.entry(k.to_string()).or_default().push(v);
            }
            let value = Value::Map(Rc::new(
                map.into_iter()
                    .map(|(k, v)| {
                        let items = v.into_iter().map(Value::str).collect();
                        (
                            k,
                            Value::Rich(Rc::new(Rich {
                                text: None,
                                items,
                                named: BTreeMap::new(),
                            })),
                        )
                    })
                    .collect(),
            ));
            match a.params.get(1) {
                Some(name) => {
                    r.set_var(&name.render(), value);
                    Ok(Value::Null)
                }
                None => Ok(value),
            }
        }
        "xPath" | "soapXPath" => {
            let body = a.text(0);
            let mut expr = a.text(1);
            if name == "soapXPath" {
                expr = format!("/Envelope/Body/{}", expr.trim_start_matches('/'));
            }
            let compiled = standin_eval::xml::compile(&expr).map_err(|e| format!("xPath: {e}"))?;
            Ok(Value::str(standin_eval::xml::xpath_string(
                &compiled,
                &body,
                r.budget(),
            )))
        }
        "now" | "date" | "parseDate" => super::dates::call(name, a),
        "randomValue" | "randomInt" | "randomDecimal" | "pickRandom" => random(name, a, &mut r.rng),
        "fake" | "random" => {
            let locale = match a.h_text("locale") {
                None => r.locale,
                Some(l) => super::faker::Locale::parse(&l).ok_or_else(|| {
                    format!("{name}: no locale \"{l}\" (en and ko_KR are available)")
                })?,
            };
            super::faker::generate(&a.text(0), locale, r.fake_rng()).map(Value::str)
        }
        "isOdd" | "isEven" => {
            let n = int(&a.p(0)).unwrap_or(0);
            let odd = n % 2 != 0;
            let yes = if name == "isOdd" { odd } else { !odd };
            let word = if name == "isOdd" { "odd" } else { "even" };
            Ok(if yes {
                a.params.get(1).cloned().unwrap_or(Value::str(word))
            } else {
                Value::Null
            })
        }
        "stripes" => {
            let n = int(&a.p(0)).unwrap_or(0);
            Ok(if n % 2 == 0 { a.p(1) } else { a.p(2) })
        }
        "yesno" => {
            let v = a.p(0);
            let pick = |k: &str, d: &str| a.h_text(k).unwrap_or_else(|| d.to_string());
            Ok(Value::str(match v {
                Value::Null => pick("maybe", "maybe"),
                v if v.truthy() => pick("yes", "yes"),
                _ => pick("no", "no"),
            }))
        }
        other => Err(format!("unknown helper \"{other}\"")),
    }
}

/// Takes `units` of work from the request's budget.
fn spend(r: &Render<'_, '_>, units: u64) -> Result<(), String> {
    if r.budget().spend(units) {
        Ok(())
    } else {
        Err("the template ran out of its budget".into())
    }
}

/// Renders a block's body or inverse by `yes`; without a block, the value itself.
fn branch(r: &mut Render<'_, '_>, a: &Args<'_>, yes: bool, inline: Value) -> Out {
    let Some(b) = a.block else { return Ok(inline) };
    let nodes = if yes { &b.body } else { &b.inverse };
    r.render_nodes(nodes).map(Value::str).map_err(fail)
}

fn each(r: &mut Render<'_, '_>, a: &Args<'_>) -> Out {
    let v = a.p(0);
    let Some(b) = a.block else {
        return Err("each is a block: {{#each items}}…{{/each}}".into());
    };
    let entries = v.entries();
    if entries.is_empty() {
        return r.render_nodes(&b.inverse).map(Value::str).map_err(fail);
    }
    let n = entries.len();
    let mut out = String::new();
    spend(r, n as u64)?;
    for (i, (key, item)) in entries.into_iter().enumerate() {
        let key: Option<Rc<str>> = key.map(Rc::from);
        let data = Data {
            index: Some(i),
            first: i == 0,
            last: i + 1 == n,
            key: key.clone(),
        };
        let mut locals = Vec::new();
        if let Some(name) = b.names.first() {
            locals.push((name.clone(), item.clone()));
        }
        if let Some(name) = b.names.get(1) {
            locals.push((name.clone(), key.map_or(Value::Int(i as i64), Value::Str)));
        }
        r.with_frame(&b.body, item, data, locals, &mut out)
            .map_err(fail)?;
    }
    Ok(Value::str(out))
}

fn compare(x: &Value, y: &Value) -> Option<std::cmp::Ordering> {
    match (x, y) {
        (Value::Str(a), Value::Str(b)) => Some(a.cmp(b)),
        _ => {
            let (a, b) = (x.number()?, y.number()?);
            a.f().partial_cmp(&b.f())
        }
    }
}

fn int(v: &Value) -> Option<i64> {
    v.number().map(|n| match n {
        Num::Int(i) => i,
        Num::Float(f) => f as i64,
    })
}

fn list_of(v: &Value) -> Vec<Value> {
    match v {
        Value::Null => Vec::new(),
        Value::List(l) => (**l).clone(),
        other => {
            let entries = other.entries();
            if entries.is_empty() {
                vec![other.clone()]
            } else {
                entries.into_iter().map(|(_, v)| v).collect()
            }
        }
    }
}

fn capitalize_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

fn regex(src: &str) -> Result<regex::Regex, String> {
    regex::RegexBuilder::new(src)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| format!("not a regular expression: {e}"))
}

/// Java's `URLEncoder`: letters, digits and `.-*_` stay; a space is `+`.
pub(crate) fn form_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'-' | b'*' | b'_' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn math(a: &Args<'_>) -> Out {
    let op = a.text(1);
    let (x, y) = (a.p(0).number(), a.p(2).number());
    let (Some(x), Some(y)) = (x, y) else {
        // WireMock reads what is not a number as 0.
        let x = a.p(0).number().unwrap_or(Num::Int(0));
        let y = a.p(2).number().unwrap_or(Num::Int(0));
        return arith(x, &op, y);
    };
    arith(x, &op, y)
}

fn arith(x: Num, op: &str, y: Num) -> Out {
    match (x, y) {
        (Num::Int(a), Num::Int(b)) => Ok(match op {
            "+" => Value::Int(a.wrapping_add(b)),
            "-" => Value::Int(a.wrapping_sub(b)),
            "*" | "x" => Value::Int(a.wrapping_mul(b)),
            "/" if b == 0 => return Err("division by zero".into()),
            // BigDecimal's division at the dividend's scale: rounded half up.
            "/" => Value::Int((a as f64 / b as f64).round() as i64),
            "%" if b == 0 => return Err("division by zero".into()),
            // i64::MIN % -1 overflows (and would panic): its remainder is 0.
            "%" => Value::Int(a.wrapping_rem(b)),
            other => {
                return Ok(Value::str(format!(
                    "[ERROR: {other} is not a valid mathematical operator]"
                )));
            }
        }),
        _ => {
            let (a, b) = (x.f(), y.f());
            Ok(match op {
                "+" => Value::Float(round_like(a + b, x, y)),
                "-" => Value::Float(round_like(a - b, x, y)),
                "*" | "x" => Value::Float(a * b),
                "/" if b == 0.0 => return Err("division by zero".into()),
                "/" => {
                    // BigDecimal division keeps the first operand's scale, rounding half up.
                    let scale = scale_of(x);
                    let f = 10f64.powi(scale as i32);
                    let q = (a / b * f).round() / f;
                    if scale == 0 {
                        Value::Int(q as i64)
                    } else {
                        Value::Float(q)
                    }
                }
                "%" => Value::Float(a % b),
                other => {
                    return Ok(Value::str(format!(
                        "[ERROR: {other} is not a valid mathematical operator]"
                    )));
                }
            })
        }
    }
}

/// Decimal digits a number was written with (`1.0` → 1, `2.50` → 2).
fn scale_of(n: Num) -> u32 {
    match n {
        Num::Int(_) => 0,
        Num::Float(f) => {
            let s = java_double(f);
            s.split_once('.')
                .map_or(0, |(_, d)| d.trim_end_matches('0').len().max(1) as u32)
        }
    }
}

/// Sums of decimals as BigDecimal gives them (`0.1 + 0.2` is `0.3`).
fn round_like(v: f64, x: Num, y: Num) -> f64 {
    let scale = scale_of(x).max(scale_of(y));
    let f = 10f64.powi(scale as i32);
    (v * f).round() / f
}

fn json_path(r: &mut Render<'_, '_>, a: &Args<'_>) -> Out {
    let source = a.p(0);
    let doc: serde_json::Value = match &source {
        Value::Json(j) => (**j).clone(),
        Value::Map(_) | Value::List(_) => source.to_json(),
        other => match serde_json::from_str(&other.render()) {
            Ok(v) => v,
            Err(_) => return Ok(a.h("default").cloned().unwrap_or(Value::Null)),
        },
    };
    let expr = a.text(1);
    let Ok(path) = serde_json_path::JsonPath::parse(&expr) else {
        return Ok(Value::str(format!(
            "[ERROR: {expr} is not a valid JSONPath expression]"
        )));
    };
    let (nodes, depth) = standin_eval::json::shape(&doc);
    if !r
        .budget()
        .spend(standin_eval::json::json_path_cost(&expr, nodes, depth))
    {
        return Err("the template ran out of its budget".into());
    }
    let found = path.query(&doc).all();
    let definite = !expr.contains("..")
        && !expr.contains('*')
        && !expr.contains('?')
        && !expr.contains(':')
        && !expr.contains(',');
    let v = if definite {
        match found.first() {
            // Objects and arrays stay JSON: they print as JSON, as WireMock prints them.
            Some(v @ (serde_json::Value::Object(_) | serde_json::Value::Array(_))) => {
                Value::Json(Rc::new((*v).clone()))
            }
            Some(v) => from_json(v),
            None => return Ok(a.h("default").cloned().unwrap_or(Value::Null)),
        }
    } else {
        Value::Json(Rc::new(serde_json::Value::Array(
            found.into_iter().cloned().collect(),
        )))
    };
    Ok(v)
}

fn random(name: &str, a: &Args<'_>, rng: &mut Rng) -> Out {
    match name {
        "randomValue" => {
            let kind = a.h_text("type").unwrap_or_else(|| "ALPHANUMERIC".into());
            let len = a.h_int("length").unwrap_or(36).clamp(0, 100_000) as usize;
            let upper = a.h("uppercase").is_some_and(Value::truthy);
            let pool: &[u8] = match kind.as_str() {
                "ALPHANUMERIC" => b"abcdefghijklmnopqrstuvwxyz0123456789",
                "ALPHABETIC" => b"abcdefghijklmnopqrstuvwxyz",
                "NUMERIC" => b"0123456789",
                "HEXADECIMAL" => b"0123456789abcdef",
                "ALPHANUMERIC_AND_SYMBOLS" => {
                    b"abcdefghijklmnopqrstuvwxyz0123456789!@#$%^&*()-_=+[]{};:,.<>/?"
                }
                "UUID" => {
                    let mut b = [0u8; 16];
                    for x in b.iter_mut() {
                        *x = rng.next() as u8;
                    }
                    b[6] = (b[6] & 0x0f) | 0x40;
                    b[8] = (b[8] & 0x3f) | 0x80;
                    const HEX: &[u8; 16] = b"0123456789abcdef";
                    let mut u = String::with_capacity(36);
                    for (i, x) in b.iter().enumerate() {
                        if [4, 6, 8, 10].contains(&i) {
                            u.push('-');
                        }
                        u.push(HEX[(x >> 4) as usize] as char);
                        u.push(HEX[(x & 15) as usize] as char);
                    }
                    return Ok(Value::str(if upper { u.to_uppercase() } else { u }));
                }
                other => return Err(format!("randomValue: unknown type \"{other}\"")),
            };
            let s: String = (0..len)
                .map(|_| pool[(rng.next() % pool.len() as u64) as usize] as char)
                .collect();
            Ok(Value::str(if upper { s.to_uppercase() } else { s }))
        }
        "randomInt" => {
            let lo = a.h_int("lower").unwrap_or(i32::MIN as i64);
            let hi = a.h_int("upper").unwrap_or(i32::MAX as i64);
            if hi <= lo {
                return Ok(Value::Int(lo));
            }
            let span = (hi - lo) as u64;
            Ok(Value::Int(lo + (rng.next() % span) as i64))
        }
        "randomDecimal" => {
            let lo = a
                .h("lower")
                .and_then(Value::number)
                .map_or(f64::MIN / 2.0, Num::f);
            let hi = a
                .h("upper")
                .and_then(Value::number)
                .map_or(f64::MAX / 2.0, Num::f);
            let unit = (rng.next() >> 11) as f64 / (1u64 << 53) as f64;
            Ok(Value::Float(lo + (hi - lo) * unit))
        }
        _ => {
            // pickRandom a b c, or pickRandom LIST
            let items: Vec<Value> = if a.params.len() == 1 {
                list_of(&a.params[0])
            } else {
                a.params.clone()
            };
            if items.is_empty() {
                return Ok(Value::Null);
            }
            match a.h_int("count") {
                // `count` distinct items, in a random order.
                Some(n) => {
                    let mut pool = items;
                    let mut out = Vec::new();
                    for _ in 0..(n.max(0) as usize).min(pool.len()) {
                        let i = (rng.next() % pool.len() as u64) as usize;
                        out.push(pool.swap_remove(i));
                    }
                    Ok(Value::list(out))
                }
                None => Ok(items[(rng.next() % items.len() as u64) as usize].clone()),
            }
        }
    }
}

/// A small generator seeded from the clock and a counter, or from a route's seed: random
/// values need no lock and no entropy source.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn seeded(seed: u64) -> Self {
        Rng(seed)
    }

    pub(crate) fn new() -> Self {
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0x2545_F491_4F6C_DD1D);
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        Rng(t ^ COUNTER.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed))
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}
