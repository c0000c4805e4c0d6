//! A Velocity engine of our own for MockServer's `VELOCITY` response templates: the subset
//! of Apache Velocity 2 that MockServer's templates use, with MockServer's request model
//! and tools. Parsed once when an expectation is created; rendered per request on the
//! request's budget (a unit per node, per expression, per loop turn and for the bytes
//! written), with the output capped. There is no class loading, reflection, file or
//! network access: `$import`, `#include`, `#parse` and `getClass` are refused when the
//! template is created, and an unknown method renders as written, as Velocity renders a
//! reference it cannot resolve.

mod parse;
mod tools;
mod value;

use parse::{Expr, Lit, Node, Op, Part, Reference};
use standin_eval::Budget;
use std::collections::HashMap;
use std::rc::Rc;
use value::{Obj, Tool, V};

/// The most a Velocity template may write for one request.
const MAX_OUTPUT: usize = 1024 * 1024;

/// Macros may call each other at most this deep.
const MAX_CALLS: usize = 64;

/// A list built by a range or by repetition may not be longer than this.
const MAX_ITEMS: i64 = 100_000;

/// Roots MockServer's Velocity context has that reach outside the template.
const REFUSED_ROOTS: &[(&str, &str)] = &[(
    "import",
    "$import reads files and URLs, which standin's templates cannot do",
)];

#[derive(Debug)]
pub(crate) struct VelocityTemplate {
    nodes: Vec<Node>,
    /// A template that does not parse is kept, as MockServer keeps it, and fails every
    /// render with the parse error (so the request gets MockServer's 404).
    broken: Option<String>,
}

/// The result of running a template: the output, or why it failed.
pub(crate) type Rendered = Result<String, String>;

impl VelocityTemplate {
    pub(crate) fn compile(source: &str) -> Result<Self, String> {
        match parse::parse(source) {
            Ok(nodes) => {
                check(&nodes)?;
                Ok(VelocityTemplate {
                    nodes,
                    broken: None,
                })
            }
            Err(e) => Ok(VelocityTemplate {
                nodes: Vec::new(),
                broken: Some(format!("the template does not parse: {e}")),
            }),
        }
    }

    /// Renders with `model` (MockServer's request model and dynamic values, as JSON) as
    /// the context.
    pub(crate) fn render(&self, model: &serde_json::Value, budget: &Budget) -> Rendered {
        if let Some(e) = &self.broken {
            return Err(e.clone());
        }
        let mut vars: HashMap<String, V> = HashMap::new();
        if let serde_json::Value::Object(o) = model {
            for (k, v) in o {
                if k == "request" {
                    vars.insert(k.clone(), request_model(v));
                }
            }
        }
        // MockServer's dynamic values: objects that print a fresh value each time.
        for name in DYNAMIC {
            vars.insert(
                name.to_string(),
                V::Obj(Rc::new(Obj::Dynamic(name.to_string()))),
            );
        }
        for (name, tool) in [
            ("json", Tool::Json),
            ("xml", Tool::Xml),
            ("math", Tool::Math),
            ("number", Tool::Number),
            ("date", Tool::Date),
            ("esc", Tool::Esc),
            ("display", Tool::Display),
            ("collection", Tool::Collection),
            ("strings", Tool::Strings),
            ("jsonTransform", Tool::JsonTransform),
            ("dates", Tool::Dates),
            ("calc", Tool::Calc),
            ("jwt", Tool::Jwt),
        ] {
            vars.insert(name.into(), V::Obj(Rc::new(Obj::Tool(tool))));
        }
        let mut e = Eval {
            budget,
            vars,
            out: String::new(),
            flow: Flow::Normal,
            json: None,
            xml: None,
            macros: HashMap::new(),
            calls: 0,
        };
        let result = e.nodes(&self.nodes);
        e.release();
        result?;
        Ok(e.out)
    }
}

/// MockServer's request model: plain Java maps and lists, its query and path parameter
/// maps in `HashMap` order, its header map ignoring case.
fn request_model(v: &serde_json::Value) -> V {
    let V::Map(m) = value::from_json(v) else {
        return V::Null;
    };
    for field in ["queryStringParameters", "pathParameters"] {
        let Some(V::Map(params)) = m.borrow().get(field).cloned() else {
            continue;
        };
        let mut params = params.borrow_mut();
        let entries = std::mem::take(&mut params.entries);
        params.entries = value::java_hash_order(entries);
    }
    if let Some(V::Map(headers)) = m.borrow().get("headers").cloned() {
        headers.borrow_mut().ci = true;
    }
    m.borrow_mut().put("pathGroups".into(), V::list(Vec::new()));
    m.borrow_mut().class = Some("org.mockserver.templates.engine.model.HttpRequestTemplateObject");
    V::Map(m)
}

/// MockServer's dynamic values.
const DYNAMIC: &[&str] = &[
    "now",
    "now_epoch",
    "now_iso_8601",
    "now_rfc_1123",
    "uuid",
    "rand_int",
    "rand_int_10",
    "rand_int_100",
    "rand_bytes",
    "rand_bytes_16",
    "rand_bytes_32",
    "rand_bytes_64",
    "rand_bytes_128",
];

/// A fresh value of a dynamic variable, as MockServer 8.0 prints it.
pub(super) fn dynamic(name: &str) -> String {
    use base64::Engine as _;
    let now = jiff::Timestamp::now();
    let bytes = |n: usize| {
        let b: Vec<u8> = (0..n).map(|_| rand::random::<u8>()).collect();
        base64::engine::general_purpose::STANDARD.encode(b)
    };
    match name {
        "now" | "now_iso_8601" => now.strftime("%Y-%m-%dT%H:%M:%S%.9fZ").to_string(),
        "now_epoch" => now.as_second().to_string(),
        "now_rfc_1123" => now.strftime("%a, %d %b %Y %H:%M:%S GMT").to_string(),
        "uuid" => crate::document::uuid_v4(rand::random::<u128>()),
        "rand_int" => (rand::random::<u32>() % 2_147_483_647).to_string(),
        "rand_int_10" => (rand::random::<u32>() % 10).to_string(),
        "rand_int_100" => (rand::random::<u32>() % 100).to_string(),
        "rand_bytes" => bytes(16),
        other => bytes(
            other
                .rsplit('_')
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(16),
        ),
    }
}

/// Refuses what reaches outside the template, naming it.
fn check(nodes: &[Node]) -> Result<(), String> {
    fn reference(r: &Reference) -> Result<(), String> {
        if let Some((_, why)) = REFUSED_ROOTS.iter().find(|(n, _)| *n == r.root) {
            return Err(format!("{}: {why}", r.source));
        }
        for p in &r.parts {
            match p {
                Part::Call(_, args) => args.iter().try_for_each(expr)?,
                Part::Index(e) => expr(e)?,
                Part::Prop(_) => {}
            }
        }
        Ok(())
    }
    fn expr(e: &Expr) -> Result<(), String> {
        match e {
            Expr::Lit(_) => Ok(()),
            Expr::Interpolated(n) => check(n),
            Expr::Ref(r) => reference(r),
            Expr::List(items) => items.iter().try_for_each(expr),
            Expr::Range(a, b) | Expr::Bin(_, a, b) => {
                expr(a)?;
                expr(b)
            }
            Expr::Map(entries) => entries.iter().try_for_each(|(k, v)| {
                expr(k)?;
                expr(v)
            }),
            Expr::Not(a) | Expr::Neg(a) => expr(a),
        }
    }
    for n in nodes {
        match n {
            Node::Text(_) | Node::Break | Node::Stop | Node::Fail(_) => {}
            Node::Define { body, .. } | Node::Macro { body, .. } => check(body)?,
            Node::Call { args, .. } => args.iter().try_for_each(expr)?,
            Node::Evaluate(e) => expr(e)?,
            Node::Ref(r) | Node::Escaped { reference: r, .. } => reference(r)?,
            Node::Set { target, value } => {
                reference(target)?;
                expr(value)?;
            }
            Node::If {
                branches,
                otherwise,
            } => {
                for (c, body) in branches {
                    expr(c)?;
                    check(body)?;
                }
                if let Some(o) = otherwise {
                    check(o)?;
                }
            }
            Node::Foreach {
                items,
                body,
                otherwise,
                ..
            } => {
                expr(items)?;
                check(body)?;
                if let Some(o) = otherwise {
                    check(o)?;
                }
            }
        }
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Normal,
    Break,
    Stop,
}

struct Eval<'b> {
    budget: &'b Budget,
    vars: HashMap<String, V>,
    out: String,
    flow: Flow,
    /// What `$json.parse` read last: JsonTool keeps it, so `$json.key` reads it.
    json: Option<V>,
    /// What `$xml.parse` read last, for `$xml.find(…)`.
    xml: Option<V>,
    /// Macros defined so far, and how deep calls are nested.
    macros: HashMap<String, (Vec<String>, std::sync::Arc<Vec<Node>>)>,
    calls: usize,
}

/// The error of a render stopped by its budget.
const OVER_BUDGET: &str = "the template ran out of its work budget";

impl Eval<'_> {
    /// Breaks the reference cycles a template may have made between its lists and maps,
    /// which would otherwise leak a little memory with every request.
    fn release(&mut self) {
        let roots: Vec<V> = self
            .vars
            .drain()
            .map(|(_, v)| v)
            .chain(self.json.take())
            .chain(self.xml.take())
            .collect();
        value::break_cycles(roots);
    }

    /// One level deeper into a macro, a `#define`d block or an `#evaluate`: bounded, so
    /// that a template that recurses stops with an error instead of the thread's stack.
    fn enter(&mut self) -> Result<(), String> {
        if self.calls >= MAX_CALLS {
            return Err(format!(
                "macros, #define blocks and #evaluate nest deeper than {MAX_CALLS}"
            ));
        }
        self.calls += 1;
        Ok(())
    }

    fn spend(&self, units: u64) -> Result<(), String> {
        if self.budget.spend(units) {
            Ok(())
        } else {
            Err(OVER_BUDGET.into())
        }
    }

    fn write(&mut self, text: &str) -> Result<(), String> {
        if !self.budget.spend_bytes(text.len(), 16) {
            return Err(OVER_BUDGET.into());
        }
        self.out.push_str(text);
        if self.out.len() > MAX_OUTPUT {
            self.budget.exhaust(standin_eval::Exhausted::Output);
            return Err(format!("the template's output exceeds {MAX_OUTPUT} bytes"));
        }
        Ok(())
    }

    fn nodes(&mut self, nodes: &[Node]) -> Result<(), String> {
        for n in nodes {
            if self.flow != Flow::Normal {
                return Ok(());
            }
            self.spend(1)?;
            self.node(n)?;
        }
        Ok(())
    }

    fn node(&mut self, n: &Node) -> Result<(), String> {
        match n {
            Node::Text(t) => self.write(t),
            Node::Ref(r) => {
                let v = self.reference(r)?;
                if v.is_null() {
                    if r.quiet {
                        Ok(())
                    } else {
                        self.write(&r.source)
                    }
                } else {
                    let text = v.text();
                    self.write(&text)
                }
            }
            Node::Escaped { slashes, reference } => {
                let v = self.reference(reference)?;
                if v.is_null() {
                    let text = "\\".repeat(*slashes) + &reference.source;
                    self.write(&text)
                } else {
                    let mut text = "\\".repeat(slashes / 2);
                    if slashes % 2 == 1 {
                        text.push_str(&reference.source);
                    } else {
                        text.push_str(&v.text());
                    }
                    self.write(&text)
                }
            }
            Node::Set { target, value } => {
                let v = self.expr(value)?;
                self.assign(target, v)
            }
            Node::If {
                branches,
                otherwise,
            } => {
                for (cond, body) in branches {
                    if self.expr(cond)?.truthy() {
                        return self.nodes(body);
                    }
                }
                match otherwise {
                    Some(body) => self.nodes(body),
                    None => Ok(()),
                }
            }
            Node::Foreach {
                var,
                items,
                body,
                otherwise,
            } => {
                let items = self.iterable(items)?;
                if items.is_empty() {
                    if let Some(o) = otherwise {
                        self.nodes(o)?;
                    }
                    return Ok(());
                }
                let saved_var = self.vars.remove(var);
                let saved_loop = self.vars.remove("foreach");
                let len = items.len();
                for (index, item) in items.into_iter().enumerate() {
                    self.spend(1)?;
                    self.vars.insert(var.clone(), item);
                    self.vars.insert(
                        "foreach".into(),
                        V::Obj(Rc::new(Obj::Foreach {
                            index,
                            has_next: index + 1 < len,
                            parent: saved_loop.clone(),
                        })),
                    );
                    self.nodes(body)?;
                    match self.flow {
                        Flow::Break => {
                            self.flow = Flow::Normal;
                            break;
                        }
                        Flow::Stop => break,
                        Flow::Normal => {}
                    }
                }
                restore(&mut self.vars, var, saved_var);
                restore(&mut self.vars, "foreach", saved_loop);
                Ok(())
            }
            Node::Break => {
                self.flow = Flow::Break;
                Ok(())
            }
            Node::Fail(why) => Err(why.clone()),
            Node::Define { name, body } => {
                self.vars
                    .insert(name.clone(), V::Obj(Rc::new(Obj::Block(body.clone()))));
                Ok(())
            }
            Node::Macro { name, params, body } => {
                self.macros
                    .insert(name.clone(), (params.clone(), body.clone()));
                Ok(())
            }
            Node::Call { name, args } => {
                let Some((params, body)) = self.macros.get(name).cloned() else {
                    return Err(format!(
                        "#{name} is not a macro defined before it is called"
                    ));
                };
                self.enter()?;
                self.calls -= 1;
                let values = args
                    .iter()
                    .map(|a| self.expr(a))
                    .collect::<Result<Vec<_>, _>>()?;
                let saved: Vec<(String, Option<V>)> = params
                    .iter()
                    .map(|p| (p.clone(), self.vars.remove(p)))
                    .collect();
                for (p, v) in params.iter().zip(values) {
                    if !v.is_null() {
                        self.vars.insert(p.clone(), v);
                    }
                }
                self.calls += 1;
                let result = self.nodes(&body);
                self.calls -= 1;
                for (p, v) in saved {
                    restore(&mut self.vars, &p, v);
                }
                result
            }
            Node::Evaluate(e) => {
                let text = self.expr(e)?.text();
                self.spend(1 + text.len() as u64)?;
                let nodes = parse::parse(&text).map_err(|e| format!("#evaluate: {e}"))?;
                check(&nodes)?;
                self.enter()?;
                let result = self.nodes(&nodes);
                self.calls -= 1;
                result
            }
            Node::Stop => {
                self.flow = Flow::Stop;
                Ok(())
            }
        }
    }

    /// What `#foreach` walks: a list's items, a map's values, XML nodes; nothing else.
    fn iterable(&mut self, e: &Expr) -> Result<Vec<V>, String> {
        let v = self.expr(e)?;
        let items = match &v {
            V::List(l) => l.borrow().items.clone(),
            V::Map(m) => m.borrow().entries.iter().map(|(_, v)| v.clone()).collect(),
            V::Obj(o) => match &**o {
                Obj::Xml(nodes) => nodes
                    .iter()
                    .map(|n| tools::xml_nodes(vec![n.clone()]))
                    .collect(),
                _ => Vec::new(),
            },
            _ => Vec::new(),
        };
        self.spend(items.len() as u64)?;
        Ok(items)
    }

    fn assign(&mut self, target: &Reference, v: V) -> Result<(), String> {
        let Some((last, init)) = target.parts.split_last() else {
            if v.is_null() {
                self.vars.remove(&target.root);
            } else {
                self.vars.insert(target.root.clone(), v);
            }
            return Ok(());
        };
        let holder = self.walk(&target.root, init)?;
        match (last, &holder) {
            (Part::Prop(key), V::Map(m)) => {
                m.borrow_mut().put(key.clone(), v);
            }
            (Part::Index(i), _) => {
                let i = self.expr(i)?;
                match (&holder, &i) {
                    (V::Map(m), k) => {
                        m.borrow_mut().put(k.text(), v);
                    }
                    (V::List(l), V::Int(n)) => {
                        let mut l = l.borrow_mut();
                        let n = usize::try_from(*n)
                            .ok()
                            .filter(|n| *n < l.items.len())
                            .ok_or_else(|| {
                                format!("{}: index {n} is out of range", target.source)
                            })?;
                        l.items[n] = v;
                    }
                    _ => {}
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn reference(&mut self, r: &Reference) -> Result<V, String> {
        self.walk(&r.root, &r.parts)
    }

    fn walk(&mut self, root: &str, parts: &[Part]) -> Result<V, String> {
        let mut cur = self.vars.get(root).cloned().unwrap_or(V::Null);
        // A `#define`d block is its rendered text wherever it is used.
        if let V::Obj(o) = &cur
            && let Obj::Block(body) = &**o
        {
            let body = body.clone();
            self.enter()?;
            let saved = std::mem::take(&mut self.out);
            let result = self.nodes(&body);
            let text = std::mem::replace(&mut self.out, saved);
            self.calls -= 1;
            result?;
            cur = V::str(text);
        }
        // JsonTool prints what it read, and is null when it read nothing.
        if parts.is_empty()
            && let V::Obj(o) = &cur
            && matches!(**o, Obj::Tool(Tool::Json))
        {
            return Ok(self.json.clone().unwrap_or(V::Null));
        }
        for p in parts {
            if cur.is_null() {
                return Ok(V::Null);
            }
            self.spend(1)?;
            if let V::Obj(o) = &cur
                && matches!(**o, Obj::Tool(Tool::Json))
                && !matches!(p, Part::Call(name, _) if name == "parse")
            {
                match (&self.json, p) {
                    (Some(content), _) => cur = content.clone(),
                    (None, Part::Call(name, _)) => {
                        return Err(format!("$json.{name}(): the JsonTool has read no JSON"));
                    }
                    (None, _) => return Ok(V::Null),
                }
            }
            cur = match p {
                Part::Prop(name) => property(&cur, name, self.budget),
                Part::Call(name, args) => {
                    let args = args
                        .iter()
                        .map(|a| self.expr(a))
                        .collect::<Result<Vec<_>, _>>()?;
                    self.call(&cur, name, &args)?
                }
                Part::Index(i) => {
                    let i = self.expr(i)?;
                    index(&cur, &i)?
                }
            };
        }
        Ok(cur)
    }

    fn call(&mut self, target: &V, name: &str, args: &[V]) -> Result<V, String> {
        if name == "getClass" && args.is_empty() {
            return Ok(V::Obj(Rc::new(Obj::Class(target.java_class()))));
        }
        if let V::Obj(o) = target
            && let Obj::Tool(t) = &**o
        {
            let v = tools::call(*t, name, args, self.budget)?;
            if *t == Tool::Xml && name == "parse" {
                self.xml = (!v.is_null()).then(|| v.clone());
                return Ok(v);
            }
            if *t == Tool::Xml
                && let Some(doc) = self.xml.clone()
            {
                return methods::call(&doc, name, args, self.budget);
            }
            if *t == Tool::Json && name == "parse" {
                // JsonTool answers itself: text that is not JSON leaves it empty, so it
                // prints as null and its methods throw.
                self.json = (!v.is_null()).then(|| v.clone());
                return Ok(target.clone());
            }
            return Ok(v);
        }
        methods::call(target, name, args, self.budget)
    }

    fn expr(&mut self, e: &Expr) -> Result<V, String> {
        self.spend(1)?;
        Ok(match e {
            Expr::Lit(l) => match l {
                Lit::Null => V::Null,
                Lit::Bool(b) => V::Bool(*b),
                Lit::Int(i) => V::Int(*i),
                Lit::Float(f) => V::Float(*f),
                Lit::Str(s) => V::str(s.as_str()),
            },
            Expr::Interpolated(nodes) => {
                let saved = std::mem::take(&mut self.out);
                let result = self.nodes(nodes);
                let text = std::mem::replace(&mut self.out, saved);
                result?;
                V::str(text)
            }
            Expr::Ref(r) => self.reference(r)?,
            Expr::List(items) => V::list(
                items
                    .iter()
                    .map(|i| self.expr(i))
                    .collect::<Result<Vec<_>, _>>()?,
            ),
            Expr::Range(a, b) => {
                let (a, b) = (self.expr(a)?, self.expr(b)?);
                let (Some(a), Some(b)) = (as_int(&a), as_int(&b)) else {
                    return Ok(V::Null);
                };
                let Some(len) = b.checked_sub(a).and_then(i64::checked_abs).map(|n| n + 1) else {
                    return Err(format!(
                        "the range [{a}..{b}] has more than {MAX_ITEMS} items"
                    ));
                };
                if len > MAX_ITEMS {
                    return Err(format!(
                        "the range [{a}..{b}] has more than {MAX_ITEMS} items"
                    ));
                }
                self.spend(len as u64)?;
                let step = if b >= a { 1 } else { -1 };
                V::list((0..len).map(|k| V::Int(a + k * step)).collect())
            }
            Expr::Map(entries) => {
                let mut out = Vec::with_capacity(entries.len());
                for (k, v) in entries {
                    let k = self.expr(k)?.text();
                    let v = self.expr(v)?;
                    match out.iter_mut().find(|(key, _): &&mut (String, V)| *key == k) {
                        Some(slot) => slot.1 = v,
                        None => out.push((k, v)),
                    }
                }
                V::map(out)
            }
            Expr::Not(a) => V::Bool(!self.expr(a)?.truthy()),
            Expr::Neg(a) => match self.expr(a)? {
                V::Int(i) => i.checked_neg().map_or(V::Float(-(i as f64)), V::Int),
                other => other.as_f64().map_or(V::Null, |f| V::Float(-f)),
            },
            Expr::Bin(Op::And, a, b) => V::Bool(self.expr(a)?.truthy() && self.expr(b)?.truthy()),
            Expr::Bin(Op::Or, a, b) => V::Bool(self.expr(a)?.truthy() || self.expr(b)?.truthy()),
            Expr::Bin(op, a, b) => {
                let (a, b) = (self.expr(a)?, self.expr(b)?);
                binary(*op, &a, &b, self.budget)?
            }
        })
    }
}

fn restore(vars: &mut HashMap<String, V>, name: &str, saved: Option<V>) {
    match saved {
        Some(v) => {
            vars.insert(name.to_string(), v);
        }
        None => {
            vars.remove(name);
        }
    }
}

/// An integer from a number or a numeric string, as Velocity's ranges take them.
fn as_int(v: &V) -> Option<i64> {
    match v {
        V::Int(i) => Some(*i),
        V::Float(f) => Some(*f as i64),
        V::Str(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// `.name`: a map's entry, or a getter (`getName()`, `isName()`) of the value.
fn property(v: &V, name: &str, budget: &Budget) -> V {
    if name == "class" {
        return V::Obj(Rc::new(Obj::Class(v.java_class())));
    }
    match v {
        V::Map(m) => {
            let found = m.borrow().get(name).cloned();
            match found {
                Some(v) => v,
                // Velocity reads `entrySet`, `keySet` and `values` as the methods.
                None if matches!(name, "entrySet" | "keySet" | "values") => {
                    methods::call(v, name, &[], budget).unwrap_or(V::Null)
                }
                None => V::Null,
            }
        }
        V::Obj(o) => match &**o {
            Obj::Tool(t) => tools::property(*t, name, budget),
            Obj::Xml(nodes) => tools::xml_member(nodes, name, &[], budget),
            Obj::Foreach {
                index,
                has_next,
                parent,
            } => match name {
                "parent" => parent.clone().unwrap_or(V::Null),
                "count" => V::Int(*index as i64 + 1),
                "index" => V::Int(*index as i64),
                "hasNext" => V::Bool(*has_next),
                "first" => V::Bool(*index == 0),
                "last" => V::Bool(!*has_next),
                _ => V::Null,
            },
            Obj::Class(c) => match name {
                "name" => V::str(*c),
                _ => V::Null,
            },
            Obj::Entry(k, val) => match name {
                "key" => V::str(k.as_str()),
                "value" => val.clone(),
                _ => V::Null,
            },
            _ => V::Null,
        },
        V::List(l) if name == "empty" => V::Bool(l.borrow().items.is_empty()),
        V::Str(s) if name == "empty" => V::Bool(s.is_empty()),
        V::Str(s) if name == "blank" => V::Bool(s.trim().is_empty()),
        _ => V::Null,
    }
}

/// `[i]`: a list's item or a map's entry.
fn index(v: &V, i: &V) -> Result<V, String> {
    Ok(match (v, i) {
        (V::List(l), V::Int(n)) => {
            let l = l.borrow();
            let len = l.items.len() as i64;
            // Velocity 2 counts negative indexes from the end.
            let at = if *n < 0 { len + n } else { *n };
            match usize::try_from(at).ok().and_then(|at| l.items.get(at)) {
                Some(v) => v.clone(),
                None => return Err(format!("index {n} is out of bounds for a list of {len}")),
            }
        }
        (V::Map(m), k) => m.borrow().get(&k.text()).cloned().unwrap_or(V::Null),
        _ => V::Null,
    })
}

/// A number read from a string as Velocity's arithmetic reads one: a whole number, or a
/// double.
fn numeric(v: &V) -> Option<V> {
    match v {
        V::Str(s) => {
            let t = s.trim();
            t.parse::<i64>().map(V::Int).ok().or_else(|| {
                t.parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite())
                    .map(V::Float)
            })
        }
        other if other.is_number() => Some(other.clone()),
        _ => None,
    }
}

/// Velocity's arithmetic and comparisons. A failed operation (a division by zero, a
/// sum of a list) gives null, as Velocity gives it; a remainder of a string throws.
fn binary(op: Op, a: &V, b: &V, budget: &Budget) -> Result<V, String> {
    use std::cmp::Ordering;
    Ok(match op {
        Op::Eq => V::Bool(value::equal(a, b)),
        Op::Ne => V::Bool(!value::equal(a, b)),
        Op::Lt | Op::Le | Op::Gt | Op::Ge => {
            // Only numbers compare; numeric strings are read as numbers.
            let ord = match (numeric(a), numeric(b)) {
                (Some(V::Int(x)), Some(V::Int(y))) => Some(x.cmp(&y)),
                (Some(x), Some(y)) => x
                    .as_f64()
                    .and_then(|x| y.as_f64().and_then(|y| x.partial_cmp(&y))),
                _ => None,
            };
            V::Bool(ord.is_some_and(|o| match op {
                Op::Lt => o == Ordering::Less,
                Op::Le => o != Ordering::Greater,
                Op::Gt => o == Ordering::Greater,
                _ => o != Ordering::Less,
            }))
        }
        Op::Add if matches!(a, V::Str(_)) || matches!(b, V::Str(_)) => {
            if a.is_null() || b.is_null() {
                V::Null
            } else {
                let (a, b) = (a.text(), b.text());
                // Doubling a string in a loop must stop at the output limit.
                methods::fits(a.len() + b.len(), budget)?;
                V::str(a + &b)
            }
        }
        Op::Mod if matches!(a, V::Str(_)) || matches!(b, V::Str(_)) => {
            return Err(format!(
                "{} % {}: a remainder of a string",
                a.text(),
                b.text()
            ));
        }
        // A string divided: whole numbers divide as integers; - and * give doubles.
        Op::Div if matches!(a, V::Str(_)) || matches!(b, V::Str(_)) => {
            match (numeric(a), numeric(b)) {
                (Some(x), Some(y)) => arithmetic(op, &x, &y),
                _ => V::Null,
            }
        }
        Op::Sub | Op::Mul if matches!(a, V::Str(_)) || matches!(b, V::Str(_)) => {
            match (
                numeric(a).and_then(|x| x.as_f64()),
                numeric(b).and_then(|y| y.as_f64()),
            ) {
                (Some(x), Some(y)) => arithmetic(op, &V::Float(x), &V::Float(y)),
                _ => V::Null,
            }
        }
        _ => arithmetic(op, a, b),
    })
}

fn arithmetic(op: Op, a: &V, b: &V) -> V {
    match (a, b) {
        (V::Int(x), V::Int(y)) => {
            let r = match op {
                Op::Add => x.checked_add(*y),
                Op::Sub => x.checked_sub(*y),
                Op::Mul => x.checked_mul(*y),
                Op::Div if *y == 0 => return V::Null,
                Op::Div => x.checked_div(*y),
                Op::Mod if *y == 0 => return V::Null,
                Op::Mod => x.checked_rem(*y),
                _ => None,
            };
            match r {
                Some(r) => V::Int(r),
                None => arithmetic(op, &V::Float(*x as f64), &V::Float(*y as f64)),
            }
        }
        (x, y) if x.is_number() && y.is_number() => {
            let (x, y) = (x.as_f64().unwrap_or(0.0), y.as_f64().unwrap_or(0.0));
            match op {
                Op::Add => V::Float(x + y),
                Op::Sub => V::Float(x - y),
                Op::Mul => V::Float(x * y),
                Op::Div if y == 0.0 => V::Null,
                Op::Div => V::Float(x / y),
                Op::Mod if y == 0.0 => V::Null,
                Op::Mod => V::Float(x % y),
                _ => V::Null,
            }
        }
        _ => V::Null,
    }
}

mod methods;

#[cfg(test)]
mod tests;
