//! The values templates compute with, and how they print (as WireMock's Java prints them:
//! lists `[a, b]`, maps `{k=v}`, whole doubles `7.0`).

use std::collections::BTreeMap;
use std::rc::Rc;

#[derive(Debug, Clone)]
pub(crate) enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Rc<str>),
    List(Rc<Vec<Value>>),
    Map(Rc<BTreeMap<String, Value>>),
    /// JSON from the request body or `parseJson`, printed as JSON.
    Json(Rc<serde_json::Value>),
    /// A value of the request model that prints as text but also has members: the path
    /// (its segments, its path variables), a query parameter or header (its values), the
    /// method. It never equals a plain string, as in WireMock.
    Rich(Rc<Rich>),
}

#[derive(Debug, Default)]
pub(crate) struct Rich {
    pub text: Option<String>,
    pub items: Vec<Value>,
    pub named: BTreeMap<String, Value>,
}

impl Value {
    pub(crate) fn str(s: impl Into<Rc<str>>) -> Value {
        Value::Str(s.into())
    }

    pub(crate) fn list(items: Vec<Value>) -> Value {
        Value::List(Rc::new(items))
    }

    /// Handlebars truthiness: null, false, "", 0 and empty lists are false.
    pub(crate) fn truthy(&self) -> bool {
        match self {
            Value::Null => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::Str(s) => !s.is_empty(),
            Value::List(l) => !l.is_empty(),
            Value::Map(_) => true,
            Value::Json(j) => match &**j {
                serde_json::Value::Null => false,
                serde_json::Value::Bool(b) => *b,
                serde_json::Value::Number(n) => n.as_f64() != Some(0.0),
                serde_json::Value::String(s) => !s.is_empty(),
                serde_json::Value::Array(a) => !a.is_empty(),
                serde_json::Value::Object(_) => true,
            },
            Value::Rich(r) => match &r.text {
                Some(t) => !t.is_empty() || !r.items.is_empty(),
                None => !r.items.is_empty(),
            },
        }
    }

    /// The member `key`: a field, or an index into a list (`0`, `first`, `last`, and
    /// negative indexes counted from `size - 1`, as WireMock counts them).
    pub(crate) fn member(&self, key: &str) -> Value {
        match self {
            Value::Map(m) => m.get(key).cloned().unwrap_or(Value::Null),
            Value::List(l) => index(l, key, |v| v.clone()),
            Value::Rich(r) => match r
                .named
                .get(key)
                .or_else(|| r.named.get(&key.to_ascii_lowercase()))
            {
                Some(v) => v.clone(),
                None => index(&r.items, key, |v| v.clone()),
            },
            Value::Json(j) => match &**j {
                serde_json::Value::Object(o) => o.get(key).map_or(Value::Null, from_json),
                serde_json::Value::Array(a) => index(a, key, from_json),
                _ => Value::Null,
            },
            _ => Value::Null,
        }
    }

    /// Items to iterate over: a list's elements, a map's or object's (key, value) pairs.
    pub(crate) fn entries(&self) -> Vec<(Option<String>, Value)> {
        match self {
            Value::List(l) => l.iter().map(|v| (None, v.clone())).collect(),
            Value::Rich(r) => r.items.iter().map(|v| (None, v.clone())).collect(),
            Value::Map(m) => m
                .iter()
                .map(|(k, v)| (Some(k.clone()), v.clone()))
                .collect(),
            Value::Json(j) => match &**j {
                serde_json::Value::Array(a) => a.iter().map(|v| (None, from_json(v))).collect(),
                serde_json::Value::Object(o) => o
                    .iter()
                    .map(|(k, v)| (Some(k.clone()), from_json(v)))
                    .collect(),
                _ => Vec::new(),
            },
            _ => Vec::new(),
        }
    }

    /// How many items, characters or fields.
    pub(crate) fn size(&self) -> Option<usize> {
        match self {
            // Java counts UTF-16 units.
            Value::Str(s) => Some(s.encode_utf16().count()),
            Value::List(l) => Some(l.len()),
            Value::Map(m) => Some(m.len()),
            Value::Rich(r) => Some(r.items.len()),
            Value::Json(j) => match &**j {
                serde_json::Value::Array(a) => Some(a.len()),
                serde_json::Value::Object(o) => Some(o.len()),
                serde_json::Value::String(s) => Some(s.chars().count()),
                _ => None,
            },
            _ => None,
        }
    }

    /// A number, from a number or text that reads as one.
    pub(crate) fn number(&self) -> Option<Num> {
        match self {
            Value::Int(i) => Some(Num::Int(*i)),
            Value::Float(f) => Some(Num::Float(*f)),
            Value::Str(_) | Value::Rich(_) => parse_num(self.render().trim()),
            Value::Json(j) => match &**j {
                serde_json::Value::Number(n) => n
                    .as_i64()
                    .map(Num::Int)
                    .or_else(|| n.as_f64().map(Num::Float)),
                serde_json::Value::String(s) => parse_num(s.trim()),
                _ => None,
            },
            _ => None,
        }
    }

    /// The text a mustache writes for the value.
    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }

    pub(crate) fn write(&self, out: &mut String) {
        match self {
            Value::Null => {}
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Int(i) => out.push_str(&i.to_string()),
            Value::Float(f) => out.push_str(&java_double(*f)),
            Value::Str(s) => out.push_str(s),
            Value::List(l) => {
                out.push('[');
                for (i, v) in l.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    v.write(out);
                }
                out.push(']');
            }
            Value::Map(m) => {
                out.push('{');
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(k);
                    out.push('=');
                    v.write(out);
                }
                out.push('}');
            }
            // What jsonPath selects: an object pretty, an array compact, as WireMock.
            Value::Json(j) => match &**j {
                serde_json::Value::Null => {}
                serde_json::Value::String(s) => out.push_str(s),
                o @ serde_json::Value::Object(_) => out.push_str(&jackson_pretty(o)),
                other => out.push_str(&other.to_string()),
            },
            Value::Rich(r) => match &r.text {
                Some(t) => out.push_str(t),
                None => {
                    if let Some(first) = r.items.first() {
                        first.write(out);
                    }
                }
            },
        }
    }

    /// The value as JSON (`toJson`).
    pub(crate) fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => (*b).into(),
            Value::Int(i) => (*i).into(),
            Value::Float(f) => {
                serde_json::Number::from_f64(*f).map_or(serde_json::Value::Null, Into::into)
            }
            Value::Str(s) => serde_json::Value::String(s.to_string()),
            Value::List(l) => l.iter().map(Value::to_json).collect(),
            Value::Map(m) => m.iter().map(|(k, v)| (k.clone(), v.to_json())).collect(),
            Value::Json(j) => (**j).clone(),
            Value::Rich(r) => match (&r.text, r.items.len()) {
                (Some(t), _) => serde_json::Value::String(t.clone()),
                (None, 1) => r.items[0].to_json(),
                (None, _) => r.items.iter().map(Value::to_json).collect(),
            },
        }
    }
}

/// A number as templates compute with it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Num {
    Int(i64),
    Float(f64),
}

impl Num {
    pub(crate) fn f(self) -> f64 {
        match self {
            Num::Int(i) => i as f64,
            Num::Float(f) => f,
        }
    }
}

pub(crate) fn parse_num(s: &str) -> Option<Num> {
    if let Ok(i) = s.parse::<i64>() {
        return Some(Num::Int(i));
    }
    s.parse::<f64>()
        .ok()
        .filter(|f| f.is_finite())
        .map(Num::Float)
}

fn index<T>(items: &[T], key: &str, map: impl Fn(&T) -> Value) -> Value {
    let n = items.len() as i64;
    let i = match key {
        "first" => 0,
        "last" => n - 1,
        _ => match key.parse::<i64>() {
            // WireMock reads [-1] as the second-to-last item (size - 1 + n).
            Ok(i) if i < 0 => n - 1 + i,
            Ok(i) => i,
            Err(_) => return Value::Null,
        },
    };
    if i < 0 || i >= n {
        return Value::Null;
    }
    map(&items[i as usize])
}

/// A JSON value as a template value: objects become maps and arrays lists, which print
/// Java-style (`{k=v}`, `[a, b]`), as WireMock prints what `parseJson` returns.
pub(crate) fn from_json(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64().unwrap_or(0.0)),
        },
        serde_json::Value::String(s) => Value::str(s.as_str()),
        serde_json::Value::Array(a) => Value::list(a.iter().map(from_json).collect()),
        serde_json::Value::Object(o) => Value::Map(Rc::new(
            o.iter().map(|(k, v)| (k.clone(), from_json(v))).collect(),
        )),
    }
}

/// Jackson's default pretty printer, as WireMock writes JSON: objects over lines with
/// `"key" : value`, arrays on one line as `[ a, b ]`, empty ones `{ }` and `[ ]`.
pub(crate) fn jackson_pretty(v: &serde_json::Value) -> String {
    fn write(v: &serde_json::Value, indent: usize, out: &mut String) {
        match v {
            serde_json::Value::Object(o) if o.is_empty() => out.push_str("{ }"),
            serde_json::Value::Object(o) => {
                out.push('{');
                for (i, (k, v)) in o.iter().enumerate() {
                    out.push_str(if i == 0 { "\n" } else { ",\n" });
                    out.push_str(&"  ".repeat(indent + 1));
                    out.push_str(&serde_json::Value::String(k.clone()).to_string());
                    out.push_str(" : ");
                    write(v, indent + 1, out);
                }
                out.push('\n');
                out.push_str(&"  ".repeat(indent));
                out.push('}');
            }
            serde_json::Value::Array(a) if a.is_empty() => out.push_str("[ ]"),
            serde_json::Value::Array(a) => {
                out.push_str("[ ");
                for (i, v) in a.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    write(v, indent, out);
                }
                out.push_str(" ]");
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut out = String::new();
    write(v, 0, &mut out);
    out
}

/// Java's `Double.toString` for the values templates meet: `7.0`, `0.3`, `1.0E7`.
pub(crate) fn java_double(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    let a = f.abs();
    if a == 0.0 || (1e-3..1e7).contains(&a) {
        let s = format!("{f}");
        if s.contains('.') { s } else { format!("{s}.0") }
    } else {
        let s = format!("{f:e}");
        let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let mant = if mant.contains('.') {
            mant.to_string()
        } else {
            format!("{mant}.0")
        };
        format!("{mant}E{exp}")
    }
}

/// Equality as WireMock's `eq` sees it: numbers by value within their kind, text with
/// text; a request-model value equals nothing but itself.
pub(crate) fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::Int(x), Value::Float(y)) | (Value::Float(y), Value::Int(x)) => (*x as f64) == *y,
        (Value::Str(x), Value::Str(y)) => x == y,
        (Value::List(x), Value::List(y)) => {
            x.len() == y.len() && x.iter().zip(y.iter()).all(|(a, b)| equal(a, b))
        }
        (Value::Json(x), Value::Json(y)) => x == y,
        (Value::Rich(x), Value::Rich(y)) => Rc::ptr_eq(x, y),
        _ => false,
    }
}
