//! The values a Velocity template computes with, shaped like the Java objects MockServer
//! hands to Velocity: strings, integers and doubles, booleans, lists and maps (which
//! templates may change: `$list.add(…)`), parsed JSON (which prints as JSON), and the
//! tools and loop state.

use crate::handlebars::java_double;
use std::cell::RefCell;
use std::rc::Rc;

#[derive(Debug, Clone)]
pub(crate) enum V {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// A number parsed from JSON (Java's `BigDecimal`): prints as written, computes as a
    /// double.
    Dec(Rc<str>),
    Str(Rc<str>),
    List(Rc<RefCell<List>>),
    Map(Rc<RefCell<Map>>),
    Obj(Rc<Obj>),
}

/// A Java list.
#[derive(Debug, Default)]
pub(crate) struct List {
    pub items: Vec<V>,
    /// The Java class it stands for, when not an `ArrayList` (JsonTool's arrays).
    pub class: Option<&'static str>,
}

/// A Java map with string keys, in its iteration order; `ci` for MockServer's header map,
/// whose keys ignore case.
#[derive(Debug, Default)]
pub(crate) struct Map {
    pub entries: Vec<(String, V)>,
    pub ci: bool,
    /// The Java class it stands for, when not a plain map (MockServer's request object).
    pub class: Option<&'static str>,
}

impl Map {
    pub(crate) fn get(&self, key: &str) -> Option<&V> {
        self.entries
            .iter()
            .find(|(k, _)| k == key || (self.ci && k.eq_ignore_ascii_case(key)))
            .map(|(_, v)| v)
    }

    /// Sets `key`, returning the value it had.
    pub(crate) fn put(&mut self, key: String, value: V) -> Option<V> {
        match self.entries.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => Some(std::mem::replace(v, value)),
            None => {
                self.entries.push((key, value));
                None
            }
        }
    }

    pub(crate) fn remove(&mut self, key: &str) -> Option<V> {
        let i = self.entries.iter().position(|(k, _)| k == key)?;
        Some(self.entries.remove(i).1)
    }
}

/// Objects with members of their own.
#[derive(Debug)]
pub(crate) enum Obj {
    Tool(Tool),
    /// `$foreach` inside a loop.
    Foreach {
        index: usize,
        has_next: bool,
        /// The enclosing loop's `$foreach`.
        parent: Option<V>,
    },
    /// An entry of `entrySet()`.
    Entry(String, V),
    /// XmlTool's nodes: what `$xml.parse` read (the root element) or `find` selected.
    Xml(Vec<standin_eval::xml::Selected>),
    /// One of MockServer's dynamic values (`$uuid`, `$now_iso_8601`): an object that prints
    /// a fresh value each time but has no string methods.
    Dynamic(String),
    /// The Java class of a value (`$x.class`, `$x.getClass()`): its name, and nothing
    /// else of reflection.
    Class(&'static str),
    /// A date of `$date` (ComparisonDateTool), in UTC.
    Date(jiff::Zoned),
    /// A `#define`d block, rendered where it is referenced.
    Block(std::sync::Arc<Vec<super::parse::Node>>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tool {
    Json,
    Xml,
    Math,
    Number,
    Date,
    Esc,
    Display,
    Collection,
    Strings,
    JsonTransform,
    Dates,
    Calc,
    Jwt,
}

impl V {
    pub(crate) fn str(s: impl Into<Rc<str>>) -> V {
        V::Str(s.into())
    }

    pub(crate) fn list(items: Vec<V>) -> V {
        V::List(Rc::new(RefCell::new(List { items, class: None })))
    }

    pub(crate) fn map(entries: Vec<(String, V)>) -> V {
        V::Map(Rc::new(RefCell::new(Map {
            entries,
            ci: false,
            class: None,
        })))
    }

    /// The Java class MockServer's Velocity would report for this value.
    pub(crate) fn java_class(&self) -> &'static str {
        match self {
            V::Null => "null",
            V::Bool(_) => "java.lang.Boolean",
            V::Int(i) if i32::try_from(*i).is_ok() => "java.lang.Integer",
            V::Int(_) => "java.lang.Long",
            V::Float(_) => "java.lang.Double",
            V::Dec(_) => "java.math.BigDecimal",
            V::Str(_) => "java.lang.String",
            V::List(l) => l.borrow().class.unwrap_or("java.util.ArrayList"),
            V::Map(m) => m.borrow().class.unwrap_or("java.util.LinkedHashMap"),
            V::Obj(o) => match &**o {
                Obj::Tool(_) => "org.apache.velocity.tools.generic.SafeConfig",
                Obj::Foreach { .. } => "org.apache.velocity.runtime.directive.ForeachScope",
                Obj::Entry(..) => "java.util.Map$Entry",
                Obj::Xml(_) => "org.apache.velocity.tools.generic.XmlTool",
                Obj::Dynamic(_) => "org.mockserver.templates.engine.model.TemplateFunction",
                Obj::Class(_) => "java.lang.Class",
                Obj::Block(_) => "org.apache.velocity.runtime.directive.Block$Reference",
                Obj::Date(_) => "java.util.Date",
            },
        }
    }

    pub(crate) fn is_null(&self) -> bool {
        matches!(self, V::Null)
    }

    /// Velocity's `#if` with MockServer's empty check: null, false, empty strings, lists
    /// and maps, and zero are false; everything else is true.
    pub(crate) fn truthy(&self) -> bool {
        match self {
            V::Null => false,
            V::Bool(b) => *b,
            V::Str(s) => !s.is_empty(),
            V::List(l) => !l.borrow().items.is_empty(),
            V::Map(m) => !m.borrow().entries.is_empty(),
            V::Int(i) => *i != 0,
            V::Float(_) | V::Dec(_) => self.as_f64() != Some(0.0),
            V::Obj(_) => true,
        }
    }

    pub(crate) fn as_f64(&self) -> Option<f64> {
        match self {
            V::Int(i) => Some(*i as f64),
            V::Float(f) => Some(*f),
            V::Dec(d) => d.parse().ok(),
            _ => None,
        }
    }

    pub(crate) fn is_number(&self) -> bool {
        matches!(self, V::Int(_) | V::Float(_) | V::Dec(_))
    }

    /// The text Java's `toString` gives, which is what a reference renders.
    pub(crate) fn text(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }

    /// Writes Java's `toString`. Nested lists and maps are followed at most
    /// [`MAX_NESTING`] deep (a list that holds itself prints as Java's
    /// `(this Collection)` there), and writing stops past the output limit: shared lists
    /// nested in each other would print exponentially.
    pub(crate) fn write(&self, out: &mut String) {
        self.write_at(out, 0)
    }

    fn write_at(&self, out: &mut String, depth: usize) {
        if out.len() > super::MAX_OUTPUT {
            return;
        }
        if depth > MAX_NESTING && matches!(self, V::List(_) | V::Map(_)) {
            out.push_str("(this Collection)");
            return;
        }
        match self {
            V::Null => out.push_str("null"),
            V::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            V::Int(i) => out.push_str(&i.to_string()),
            V::Float(f) => out.push_str(&java_double(*f)),
            V::Dec(d) => out.push_str(d),
            V::Str(s) => out.push_str(s),
            V::List(l) => {
                let l = l.borrow();
                out.push('[');
                for (i, v) in l.items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    v.write_at(out, depth + 1);
                }
                out.push(']');
            }
            V::Map(m) => {
                let m = m.borrow();
                out.push('{');
                for (i, (k, v)) in m.entries.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(k);
                    out.push('=');
                    v.write_at(out, depth + 1);
                }
                out.push('}');
            }
            V::Obj(o) => match &**o {
                Obj::Entry(k, v) => {
                    out.push_str(k);
                    out.push('=');
                    v.write(out);
                }
                Obj::Xml(nodes) => {
                    for n in nodes {
                        out.push_str(&n.xml);
                    }
                }
                Obj::Dynamic(name) => out.push_str(&super::dynamic(name)),
                Obj::Class(name) => {
                    out.push_str("class ");
                    out.push_str(name);
                }
                Obj::Block(_) => {}
                // Java's Date.toString.
                Obj::Date(d) => out.push_str(&d.strftime("%a %b %d %H:%M:%S UTC %Y").to_string()),
                Obj::Foreach {
                    index, has_next, ..
                } => {
                    out.push_str(&format!("foreach[index={index}, hasNext={has_next}]"));
                }
                Obj::Tool(t) => out.push_str(&format!("{t:?}Tool")),
            },
        }
    }
}

/// JSON (MockServer's request model) as plain Java values: maps and lists print as
/// `{k=v}` and `[a, b]`.
pub(crate) fn from_json(v: &serde_json::Value) -> V {
    match v {
        serde_json::Value::Null => V::Null,
        serde_json::Value::Bool(b) => V::Bool(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => V::Int(i),
            None => V::Float(n.as_f64().unwrap_or(0.0)),
        },
        serde_json::Value::String(s) => V::str(s.as_str()),
        serde_json::Value::Array(a) => V::list(a.iter().map(from_json).collect()),
        serde_json::Value::Object(o) => {
            V::map(o.iter().map(|(k, v)| (k.clone(), from_json(v))).collect())
        }
    }
}

/// Velocity's `==`: null equals only null; numbers compare by value; values of one kind
/// by Java's `equals`; values of different kinds by their text.
pub(crate) fn equal(a: &V, b: &V) -> bool {
    equal_at(a, b, 0)
}

/// How deep lists and maps are followed when they are compared or printed: a list that
/// holds itself would otherwise recurse until the stack runs out.
pub(crate) const MAX_NESTING: usize = 64;

fn equal_at(a: &V, b: &V, depth: usize) -> bool {
    if depth > MAX_NESTING {
        return false;
    }
    match (a, b) {
        (V::Null, V::Null) => true,
        (V::Null, _) | (_, V::Null) => false,
        (x, y) if x.is_number() && y.is_number() => match (x, y) {
            (V::Int(i), V::Int(j)) => i == j,
            _ => x.as_f64() == y.as_f64(),
        },
        (V::Str(x), V::Str(y)) => x == y,
        (V::Bool(x), V::Bool(y)) => x == y,
        (V::List(x), V::List(y)) => {
            let (x, y) = (x.borrow(), y.borrow());
            x.items.len() == y.items.len()
                && x.items
                    .iter()
                    .zip(&y.items)
                    .all(|(a, b)| java_equals_at(a, b, depth + 1))
        }
        (V::Map(x), V::Map(y)) => {
            let (x, y) = (x.borrow(), y.borrow());
            x.entries.len() == y.entries.len()
                && x.entries
                    .iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| java_equals_at(v, w, depth + 1)))
        }
        (V::Obj(x), V::Obj(y)) => Rc::ptr_eq(x, y),
        (x, y) => x.text() == y.text(),
    }
}

/// Java's `equals`: like [`equal`] but values of different kinds are never equal
/// (`1` does not equal `1.0`, nor `"1"`).
pub(crate) fn java_equals(a: &V, b: &V) -> bool {
    java_equals_at(a, b, 0)
}

fn java_equals_at(a: &V, b: &V, depth: usize) -> bool {
    match (a, b) {
        (V::Int(x), V::Int(y)) => x == y,
        (V::Float(x), V::Float(y)) => x == y,
        (V::Int(_), V::Float(_)) | (V::Float(_), V::Int(_)) => false,
        (V::Dec(x), V::Dec(y)) => x == y,
        (x, y) if std::mem::discriminant(x) != std::mem::discriminant(y) => false,
        (x, y) => equal_at(x, y, depth),
    }
}

/// Empties every list and map reachable from `roots`, so that lists and maps a template
/// made hold each other (`$l.add($l)`) do not outlive the render as reference cycles.
/// Iterative: a container once emptied gives nothing more, so cycles end.
pub(crate) fn break_cycles(roots: impl IntoIterator<Item = V>) {
    let mut stack: Vec<V> = roots.into_iter().collect();
    while let Some(v) = stack.pop() {
        match v {
            V::List(l) => {
                let items = std::mem::take(&mut l.borrow_mut().items);
                stack.extend(items);
            }
            V::Map(m) => {
                let entries = std::mem::take(&mut m.borrow_mut().entries);
                stack.extend(entries.into_iter().map(|(_, v)| v));
            }
            V::Obj(o) => match &*o {
                Obj::Entry(_, e) => stack.push(e.clone()),
                Obj::Foreach {
                    parent: Some(p), ..
                } => stack.push(p.clone()),
                _ => {}
            },
            _ => {}
        }
    }
}

/// Moves out the children of containers this is the last owner of, so that dropping a
/// list nested a hundred thousand deep (`#set($l = [$l])` in a loop) takes a loop, not
/// a recursion as deep as the nesting.
fn drop_flat(mut stack: Vec<V>) {
    while let Some(v) = stack.pop() {
        match v {
            V::List(l) => {
                if let Ok(cell) = Rc::try_unwrap(l) {
                    stack.extend(std::mem::take(&mut cell.into_inner().items));
                }
            }
            V::Map(m) => {
                if let Ok(cell) = Rc::try_unwrap(m) {
                    stack.extend(
                        std::mem::take(&mut cell.into_inner().entries)
                            .into_iter()
                            .map(|(_, v)| v),
                    );
                }
            }
            _ => {}
        }
    }
}

impl Drop for List {
    fn drop(&mut self) {
        if !self.items.is_empty() {
            drop_flat(std::mem::take(&mut self.items));
        }
    }
}

impl Drop for Map {
    fn drop(&mut self) {
        if !self.entries.is_empty() {
            drop_flat(
                std::mem::take(&mut self.entries)
                    .into_iter()
                    .map(|(_, v)| v)
                    .collect(),
            );
        }
    }
}

/// The order Java's `HashMap` iterates `keys` in, when they were put in this order into a
/// map made with the default capacity: by bucket (the spread `String.hashCode` masked by
/// the table size, which doubles past three quarters full), then in insertion order.
/// MockServer's query parameter and path parameter maps, and JSON objects read by
/// `$json.parse`, print in this order.
pub(crate) fn java_hash_order<T>(entries: Vec<(String, T)>) -> Vec<(String, T)> {
    let mut capacity = 16usize;
    while entries.len() > capacity * 3 / 4 {
        capacity *= 2;
    }
    let bucket = |k: &str| {
        let h = super::methods::java_hash(k) as u32;
        ((h ^ (h >> 16)) as usize) & (capacity - 1)
    };
    let mut keyed: Vec<(usize, usize, (String, T))> = entries
        .into_iter()
        .enumerate()
        .map(|(i, e)| (bucket(&e.0), i, e))
        .collect();
    keyed.sort_by_key(|(b, i, _)| (*b, *i));
    keyed.into_iter().map(|(_, _, e)| e).collect()
}
