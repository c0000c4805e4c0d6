//! The Java methods templates call on strings, numbers, lists and maps, with Java's
//! results. A method that does not exist gives null (the reference renders as written);
//! one that throws in Java (an index out of range) fails the render, as it fails
//! Velocity's.

use super::value::{self, List, Map, Obj, V};
use standin_eval::Budget;
use std::cell::RefCell;
use std::rc::Rc;

type R = Result<V, String>;

pub(super) fn call(target: &V, name: &str, args: &[V], budget: &Budget) -> R {
    match (name, args) {
        ("toString", []) => return Ok(V::str(target.text())),
        ("equals", [other]) => return Ok(V::Bool(value::java_equals(target, other))),
        ("hashCode", []) => return Ok(V::Int(java_hash(&target.text()) as i64)),
        _ => {}
    }
    match target {
        V::Str(s) => string(s, name, args, budget),
        V::Int(_) | V::Float(_) | V::Dec(_) => Ok(number(target, name, args)),
        V::Bool(b) => Ok(match (name, args) {
            ("booleanValue", []) => V::Bool(*b),
            _ => V::Null,
        }),
        V::List(l) => list(l, name, args, budget),
        V::Map(m) => map(m, name, args, budget),
        V::Obj(o) => Ok(match (&**o, name, args) {
            (Obj::Foreach { index, .. }, "getCount", []) => V::Int(*index as i64 + 1),
            (Obj::Foreach { index, .. }, "getIndex", []) => V::Int(*index as i64),
            (Obj::Foreach { has_next, .. }, "hasNext" | "getHasNext", []) => V::Bool(*has_next),
            (Obj::Foreach { index, .. }, "isFirst" | "getFirst", []) => V::Bool(*index == 0),
            (Obj::Foreach { has_next, .. }, "isLast" | "getLast", []) => V::Bool(!*has_next),
            (Obj::Entry(k, _), "getKey", []) => V::str(k.as_str()),
            (Obj::Entry(_, v), "getValue", []) => v.clone(),
            (Obj::Xml(nodes), _, _) => super::tools::xml_member(nodes, name, args, budget),
            (Obj::Class(c), "getName", []) => V::str(*c),
            _ => V::Null,
        }),
        V::Null => Ok(V::Null),
    }
}

/// A string of `len` bytes may be built: within the output limit, paid for.
pub(super) fn fits(len: usize, budget: &Budget) -> Result<(), String> {
    if len > super::MAX_OUTPUT {
        return Err(format!(
            "a string of {len} bytes is over the {} limit",
            super::MAX_OUTPUT
        ));
    }
    if !budget.spend_bytes(len, 16) {
        return Err("the template ran out of its work budget".into());
    }
    Ok(())
}

/// Java's `String.hashCode`.
pub(super) fn java_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(c as i32))
}

fn int_arg(v: Option<&V>) -> Option<i64> {
    match v {
        Some(V::Int(i)) => Some(*i),
        _ => None,
    }
}

fn str_arg(v: Option<&V>) -> Option<String> {
    match v {
        Some(V::Null) | None => None,
        Some(v) => Some(v.text()),
    }
}

/// Java regex as Rust regex; the pattern is bounded in size, and its matching in time by
/// construction (no backtracking).
fn regex(pattern: &str, budget: &Budget) -> Result<regex::Regex, String> {
    if !budget.spend(1 + pattern.len() as u64) {
        return Err("the template ran out of its work budget".into());
    }
    regex::RegexBuilder::new(pattern)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| format!("invalid regular expression \"{pattern}\": {e}"))
}

/// Java's replacement syntax (`$1`, `\$`) as the regex crate's (`${1}`, `$$`).
fn replacement(java: &str) -> String {
    let mut out = String::new();
    let mut chars = java.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    if n == '$' {
                        out.push_str("$$");
                    } else {
                        out.push(n);
                    }
                }
            }
            '$' => {
                let mut digits = String::new();
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    digits.push(*d);
                    chars.next();
                }
                out.push_str(&format!("${{{digits}}}"));
            }
            other => out.push(other),
        }
    }
    out
}

fn string(s: &Rc<str>, name: &str, args: &[V], budget: &Budget) -> R {
    if !budget.spend_bytes(s.len(), 16) {
        return Err("the template ran out of its work budget".into());
    }
    let chars = || s.chars().collect::<Vec<char>>();
    let a0 = str_arg(args.first());
    Ok(match (name, args.len()) {
        ("length", 0) => V::Int(s.encode_utf16().count() as i64),
        ("isEmpty", 0) => V::Bool(s.is_empty()),
        ("isBlank", 0) => V::Bool(s.trim().is_empty()),
        ("contains", 1) => V::Bool(a0.is_some_and(|a| s.contains(&a))),
        ("startsWith", 1) => V::Bool(a0.is_some_and(|a| s.starts_with(&a))),
        ("endsWith", 1) => V::Bool(a0.is_some_and(|a| s.ends_with(&a))),
        ("equalsIgnoreCase", 1) => {
            V::Bool(a0.is_some_and(|a| a.to_lowercase() == s.to_lowercase()))
        }
        ("compareTo", 1) => match a0 {
            Some(a) => V::Int(match s.as_ref().cmp(a.as_str()) {
                std::cmp::Ordering::Less => -1,
                std::cmp::Ordering::Equal => 0,
                std::cmp::Ordering::Greater => 1,
            }),
            None => V::Null,
        },
        ("toUpperCase", 0) => V::str(s.to_uppercase()),
        ("toLowerCase", 0) => V::str(s.to_lowercase()),
        ("trim", 0) | ("strip", 0) => V::str(s.trim()),
        ("concat", 1) => {
            let a = a0.unwrap_or_default();
            fits(s.len() + a.len(), budget)?;
            V::str(format!("{s}{a}"))
        }
        ("indexOf", 1) | ("lastIndexOf", 1) => match a0 {
            Some(a) => {
                let found = if name == "indexOf" {
                    s.find(&a)
                } else {
                    s.rfind(&a)
                };
                V::Int(found.map_or(-1, |b| s[..b].chars().count() as i64))
            }
            None => V::Null,
        },
        ("charAt", 1) => {
            let c = chars();
            let i = int_arg(args.first()).unwrap_or(-1);
            match usize::try_from(i).ok().and_then(|i| c.get(i)) {
                Some(ch) => V::str(ch.to_string()),
                None => {
                    return Err(format!(
                        "charAt({i}): index out of range for length {}",
                        c.len()
                    ));
                }
            }
        }
        ("substring", 1 | 2) => {
            let c = chars();
            let len = c.len() as i64;
            let begin = int_arg(args.first());
            let end = if args.len() == 2 {
                int_arg(args.get(1))
            } else {
                Some(len)
            };
            match (begin, end) {
                (Some(b), Some(e)) if 0 <= b && b <= e && e <= len => {
                    V::str(c[b as usize..e as usize].iter().collect::<String>())
                }
                (Some(b), Some(e)) => {
                    return Err(format!(
                        "substring({b}, {e}): out of range for a string of length {len}"
                    ));
                }
                _ => V::Null,
            }
        }
        ("replace", 2) => match (a0, str_arg(args.get(1))) {
            (Some(a), Some(b)) => {
                // The result's size, known before it is built.
                let n = if a.is_empty() {
                    s.chars().count() + 1
                } else {
                    s.matches(a.as_str()).count()
                };
                fits(s.len() + n.saturating_mul(b.len()), budget)?;
                V::str(s.replace(&a, &b))
            }
            _ => V::Null,
        },
        ("replaceAll" | "replaceFirst", 2) => match (a0, str_arg(args.get(1))) {
            (Some(a), Some(b)) => {
                let re = regex(&a, budget)?;
                let rep = replacement(&b);
                // An upper bound of the result's size: each match gets the replacement,
                // and each `$n` in it at most the whole text.
                let n = if name == "replaceAll" {
                    re.find_iter(s).count()
                } else {
                    1
                };
                let per = b.len() + b.matches('$').count().saturating_mul(s.len());
                fits(s.len() + n.saturating_mul(per), budget)?;
                if name == "replaceAll" {
                    V::str(re.replace_all(s, rep.as_str()).into_owned())
                } else {
                    V::str(re.replace(s, rep.as_str()).into_owned())
                }
            }
            _ => V::Null,
        },
        ("matches", 1) => match a0 {
            Some(a) => {
                let re = regex(&format!("^(?:{a})$"), budget)?;
                V::Bool(re.is_match(s))
            }
            None => V::Null,
        },
        ("split", 1 | 2) => match a0 {
            Some(a) => {
                let limit = int_arg(args.get(1)).unwrap_or(0);
                V::list(
                    split(s, &a, limit, budget)?
                        .into_iter()
                        .map(V::str)
                        .collect(),
                )
            }
            None => V::Null,
        },
        ("repeat", 1) => {
            let n = int_arg(args.first()).unwrap_or(0).max(0) as usize;
            if !budget.spend_bytes(s.len().saturating_mul(n), 16)
                || s.len().saturating_mul(n) > super::MAX_OUTPUT
            {
                return Err("repeat: the result would be too large".into());
            }
            V::str(s.repeat(n))
        }
        _ => V::Null,
    })
}

/// Java's `String.split`: a regex (a single character other than a regex metacharacter is
/// taken literally), trailing empty strings dropped when `limit` is 0.
fn split(s: &str, pattern: &str, limit: i64, budget: &Budget) -> Result<Vec<String>, String> {
    let re = regex(pattern, budget)?;
    let mut parts: Vec<String> = if limit > 0 {
        re.splitn(s, limit as usize).map(str::to_string).collect()
    } else {
        re.split(s).map(str::to_string).collect()
    };
    // Java (8+) drops the leading empty string of a zero-width match at 0.
    if parts.len() > 1
        && parts[0].is_empty()
        && re.find(s).is_some_and(|m| m.start() == 0 && m.end() == 0)
    {
        parts.remove(0);
    }
    if limit == 0 {
        while parts.len() > 1 && parts.last().is_some_and(String::is_empty) {
            parts.pop();
        }
        if s.is_empty() {
            return Ok(vec![String::new()]);
        }
    }
    Ok(parts)
}

fn number(n: &V, name: &str, args: &[V]) -> V {
    match (name, args) {
        ("intValue" | "longValue", []) => match n {
            V::Int(i) => V::Int(*i),
            other => V::Int(other.as_f64().unwrap_or(0.0) as i64),
        },
        ("doubleValue" | "floatValue", []) => V::Float(n.as_f64().unwrap_or(0.0)),
        ("compareTo", [other]) => match (n.as_f64(), other.as_f64()) {
            (Some(a), Some(b)) => V::Int(match a.partial_cmp(&b) {
                Some(std::cmp::Ordering::Less) => -1,
                Some(std::cmp::Ordering::Greater) => 1,
                _ => 0,
            }),
            _ => V::Null,
        },
        _ => V::Null,
    }
}

fn list(l: &Rc<RefCell<List>>, name: &str, args: &[V], budget: &Budget) -> R {
    let len = l.borrow().items.len() as i64;
    let at = |i: Option<i64>, max: i64| -> Result<usize, String> {
        match i {
            Some(i) if 0 <= i && i < max => Ok(i as usize),
            Some(i) => Err(format!(
                "{name}: index {i} is out of bounds for length {len}"
            )),
            None => Err(format!("{name}: needs a whole number")),
        }
    };
    Ok(match (name, args) {
        ("size", []) => V::Int(len),
        ("isEmpty", []) => V::Bool(len == 0),
        ("get", [i]) => l.borrow().items[at(int_arg(Some(i)), len)?].clone(),
        ("contains", [x]) => V::Bool(l.borrow().items.iter().any(|v| value::java_equals(v, x))),
        ("indexOf", [x]) => V::Int(
            l.borrow()
                .items
                .iter()
                .position(|v| value::java_equals(v, x))
                .map_or(-1, |p| p as i64),
        ),
        ("add", [x]) => {
            if !budget.spend(1) {
                return Err("the template ran out of its work budget".into());
            }
            l.borrow_mut().items.push(x.clone());
            V::Bool(true)
        }
        ("add", [i, x]) => {
            let i = at(int_arg(Some(i)), len + 1)?;
            l.borrow_mut().items.insert(i, x.clone());
            V::Null
        }
        ("addAll", [V::List(other)]) => {
            let items = other.borrow().items.clone();
            if !budget.spend(items.len() as u64) {
                return Err("the template ran out of its work budget".into());
            }
            l.borrow_mut().items.extend(items);
            V::Bool(true)
        }
        ("set", [i, x]) => {
            let i = at(int_arg(Some(i)), len)?;
            std::mem::replace(&mut l.borrow_mut().items[i], x.clone())
        }
        ("remove", [V::Int(i)]) => {
            let i = at(Some(*i), len)?;
            l.borrow_mut().items.remove(i)
        }
        ("remove", [x]) => {
            let pos = l
                .borrow()
                .items
                .iter()
                .position(|v| value::java_equals(v, x));
            match pos {
                Some(p) => {
                    l.borrow_mut().items.remove(p);
                    V::Bool(true)
                }
                None => V::Bool(false),
            }
        }
        ("subList", [a, b]) => {
            let (a, b) = (int_arg(Some(a)), int_arg(Some(b)));
            match (a, b) {
                (Some(a), Some(b)) if 0 <= a && a <= b && b <= len => {
                    V::list(l.borrow().items[a as usize..b as usize].to_vec())
                }
                _ => return Err(format!("subList: range out of bounds for length {len}")),
            }
        }
        ("clear", []) => {
            l.borrow_mut().items.clear();
            V::Null
        }
        _ => V::Null,
    })
}

fn map(m: &Rc<RefCell<Map>>, name: &str, args: &[V], budget: &Budget) -> R {
    Ok(match (name, args) {
        ("get", [k]) => m.borrow().get(&k.text()).cloned().unwrap_or(V::Null),
        ("getOrDefault", [k, d]) => m.borrow().get(&k.text()).cloned().unwrap_or(d.clone()),
        ("containsKey", [k]) => V::Bool(m.borrow().get(&k.text()).is_some()),
        ("containsValue", [x]) => V::Bool(
            m.borrow()
                .entries
                .iter()
                .any(|(_, v)| value::java_equals(v, x)),
        ),
        ("size", []) => V::Int(m.borrow().entries.len() as i64),
        ("isEmpty", []) => V::Bool(m.borrow().entries.is_empty()),
        ("keySet", []) => V::list(
            m.borrow()
                .entries
                .iter()
                .map(|(k, _)| V::str(k.as_str()))
                .collect(),
        ),
        ("values", []) => V::list(m.borrow().entries.iter().map(|(_, v)| v.clone()).collect()),
        ("entrySet", []) => V::list(
            m.borrow()
                .entries
                .iter()
                .map(|(k, v)| V::Obj(Rc::new(Obj::Entry(k.clone(), v.clone()))))
                .collect(),
        ),
        ("put", [k, v]) => {
            if !budget.spend(1) {
                return Err("the template ran out of its work budget".into());
            }
            m.borrow_mut().put(k.text(), v.clone()).unwrap_or(V::Null)
        }
        ("putAll", [V::Map(other)]) => {
            let entries = other.borrow().entries.clone();
            if !budget.spend(entries.len() as u64) {
                return Err("the template ran out of its work budget".into());
            }
            let mut m = m.borrow_mut();
            for (k, v) in entries {
                m.put(k, v);
            }
            V::Null
        }
        ("remove", [k]) => m.borrow_mut().remove(&k.text()).unwrap_or(V::Null),
        ("clear", []) => {
            m.borrow_mut().entries.clear();
            V::Null
        }
        // MockServer's request model is a Java bean: `getMethod()`, `isSecure()`.
        (getter, [])
            if getter.len() > 3 && (getter.starts_with("get") || getter.starts_with("is")) =>
        {
            let rest = getter
                .strip_prefix("get")
                .or_else(|| getter.strip_prefix("is"))
                .unwrap_or(getter);
            let mut key = String::new();
            let mut chars = rest.chars();
            if let Some(first) = chars.next() {
                key.push(first.to_ascii_lowercase());
                key.push_str(chars.as_str());
            }
            m.borrow().get(&key).cloned().unwrap_or(V::Null)
        }
        _ => V::Null,
    })
}
