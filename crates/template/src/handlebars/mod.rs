//! Handlebars with WireMock's request model and helpers, so a WireMock stub's template
//! renders unchanged. An engine of our own: parsed once when a route is published,
//! rendered per request on the request's budget (one unit per node, and for the bytes
//! written), with output capped at [`MAX_OUTPUT`] bytes, and no way to reach files, the
//! environment or the network. Expected outputs come from a real WireMock 3.13.2
//! (`tests/cases/handlebars/`, recorded by `compat/wiremock-templates/oracle.mjs`).

mod dates;
mod faker;
mod helpers;
mod ko_kr;
mod model;
mod parse;
mod value;

use crate::TemplateError;
use parse::{Block, Call, Node, Operand, Path};
use standin_eval::Request;
use std::collections::BTreeMap;
use value::Value;

pub(crate) use dates::java_pattern;
pub use faker::{KEYS as FAKE_KEYS, Locale};
pub(crate) use helpers::form_encode;
pub(crate) use value::{jackson_pretty, java_double};

/// How a route's templates draw random and fake values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TemplateOptions {
    /// With a seed, random and fake values are a function of the seed and the request
    /// (method, path, query and body): the same request gets the same answer.
    pub seed: Option<u64>,
    /// The locale of fake values unless a helper names one.
    pub locale: Locale,
}

/// The most a template may write for one request.
pub const MAX_OUTPUT: usize = 4 * 1024 * 1024;

/// Nested blocks and sub-expressions deeper than this are refused when rendering.
const MAX_DEPTH: usize = 64;

/// A compiled Handlebars template.
///
/// ```
/// use standin_template::HandlebarsTemplate;
/// let t = HandlebarsTemplate::compile(
///     "{{#each (split request.query.ids ',')}}{{upper this}}{{#unless @last}}-{{/unless}}{{/each}}",
///     "/body",
/// );
/// assert!(t.is_err(), "split is not one of WireMock's helpers");
/// let t = HandlebarsTemplate::compile("id {{request.path.[1]}}, {{upper request.query.name}}", "/body").unwrap();
/// let headers = http::HeaderMap::new();
/// let req = standin_eval::Request::new("GET", "/users/7", Some("name=ana"), &headers, b"");
/// assert_eq!(t.render(&req, &[]).unwrap(), "id 7, ANA");
/// ```
#[derive(Debug)]
pub struct HandlebarsTemplate {
    nodes: Vec<Node>,
    /// The parts of the request model the template reads (built per render).
    needs: model::Needs,
    /// Byte offsets where lines start, for error lines.
    lines: Vec<usize>,
    options: TemplateOptions,
}

/// A render that failed, with the template line it failed on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderError {
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for RenderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

fn line_starts(text: &str) -> Vec<usize> {
    std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect()
}

fn line_of(lines: &[usize], at: usize) -> usize {
    lines.partition_point(|&s| s <= at).max(1)
}

impl HandlebarsTemplate {
    /// Parses `text` and checks every helper it names; an error carries `pointer` and the
    /// line.
    pub fn compile(text: &str, pointer: &str) -> Result<Self, TemplateError> {
        let lines = line_starts(text);
        let nodes = parse::parse(text).map_err(|e| {
            TemplateError::new(
                pointer,
                format!("line {}: {}", line_of(&lines, e.at), e.message),
            )
        })?;
        check(&nodes).map_err(|(at, m)| {
            TemplateError::new(pointer, format!("line {}: {m}", line_of(&lines, at)))
        })?;
        let needs = model::Needs::of(&nodes);
        Ok(HandlebarsTemplate {
            nodes,
            needs,
            lines,
            options: TemplateOptions::default(),
        })
    }

    /// The same template, drawing random and fake values as `options` say.
    pub fn with_options(mut self, options: TemplateOptions) -> Self {
        self.options = options;
        self
    }

    /// Renders for one request; `path_values` are the route's path variables.
    pub fn render(
        &self,
        req: &Request<'_>,
        path_values: &[(Box<str>, String)],
    ) -> Result<String, RenderError> {
        let root = model::request_root(req, path_values, self.needs);
        let mut r = Render {
            req,
            frames: vec![Frame::new(root.clone())],
            root,
            vars: BTreeMap::new(),
            out_len: 0,
            depth: 0,
            rng: match self.options.seed {
                Some(seed) => helpers::Rng::seeded(seed ^ request_hash(req)),
                None => helpers::Rng::new(),
            },
            fake_rng: None,
            locale: self.options.locale,
        };
        let mut out = String::new();
        r.nodes(&self.nodes, &mut out)
            .map_err(|(at, message)| RenderError {
                line: line_of(&self.lines, at),
                message,
            })?;
        Ok(out)
    }
}

/// FNV-1a over what identifies a request, for seeded templates.
fn request_hash(req: &Request<'_>) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in [
        req.method.as_bytes(),
        req.path.as_bytes(),
        req.query.unwrap_or("").as_bytes(),
        req.body,
    ] {
        for b in part.iter().chain(std::iter::once(&0xff)) {
            h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// Every helper named with arguments must exist: refused when the route is saved.
fn check(nodes: &[Node]) -> Result<(), (usize, String)> {
    fn call(c: &Call, at: usize, block: bool) -> Result<(), (usize, String)> {
        if let Operand::Path(p) = &c.head
            && let Some(name) = p.simple()
            && !helpers::exists(name)
            && (!c.params.is_empty() || !c.hash.is_empty())
            && !block
        {
            return Err((at, format!("unknown helper \"{name}\"")));
        }
        // A fake value named in the template must exist, and so must its locale.
        if let Operand::Path(p) = &c.head
            && matches!(p.simple(), Some("fake" | "random"))
        {
            if let Some(Operand::Str(key)) = c.params.first()
                && faker::resolve(key).is_none()
            {
                return Err((at, faker::unknown(key)));
            }
            if let Some((_, Operand::Str(l))) = c.hash.iter().find(|(k, _)| k == "locale")
                && Locale::parse(l).is_none()
            {
                return Err((
                    at,
                    format!("no locale \"{l}\" (en and ko_KR are available)"),
                ));
            }
        }
        for o in c.params.iter().chain(c.hash.iter().map(|(_, o)| o)) {
            if let Operand::Sub(s) = o {
                call(s, at, false)?;
            }
        }
        if matches!(
            c.head,
            Operand::Str(_)
                | Operand::Int(_)
                | Operand::Float(_)
                | Operand::Bool(_)
                | Operand::Null
        ) && c.params.is_empty()
        {
            return Err((
                at,
                "a mustache holds a name or a helper, not only a literal".into(),
            ));
        }
        Ok(())
    }
    for n in nodes {
        match n {
            Node::Text(_) => {}
            Node::Expr(c, at) => call(c, *at, false)?,
            Node::Block(b) => {
                call(&b.call, b.at, true)?;
                check(&b.body)?;
                check(&b.inverse)?;
            }
        }
    }
    Ok(())
}

struct Frame {
    this: Value,
    data: Data,
    /// Block parameters (`as |item i|`).
    locals: Vec<(String, Value)>,
}

/// The data variables of an `each` iteration (`@index`, `@first`, `@last`, `@key`).
#[derive(Default, Clone)]
pub(crate) struct Data {
    pub index: Option<usize>,
    pub first: bool,
    pub last: bool,
    pub key: Option<std::rc::Rc<str>>,
}

impl Frame {
    fn new(this: Value) -> Self {
        Frame {
            this,
            data: Data::default(),
            locals: Vec::new(),
        }
    }
}

/// What a render needs: the request, the context stack, variables set by `assign`.
pub(crate) struct Render<'r, 'a> {
    req: &'r Request<'a>,
    frames: Vec<Frame>,
    root: Value,
    vars: BTreeMap<String, Value>,
    out_len: usize,
    depth: usize,
    rng: helpers::Rng,
    /// The generator fake values draw from, made on first use from `rng`.
    fake_rng: Option<rand::rngs::SmallRng>,
    locale: Locale,
}

type Fail = (usize, String);

impl Render<'_, '_> {
    fn fake_rng(&mut self) -> &mut rand::rngs::SmallRng {
        use rand::SeedableRng;
        let rng = &mut self.rng;
        // Seeded from `rng` once, on the first fake value.
        self.fake_rng
            .get_or_insert_with(|| rand::rngs::SmallRng::seed_from_u64(rng.next()))
    }

    fn spend(&self, at: usize, units: u64) -> Result<(), Fail> {
        if self.req.budget().spend(units) {
            Ok(())
        } else {
            Err((at, "the template ran out of its budget".into()))
        }
    }

    /// Writes a value's text straight into `out`, and accounts for it.
    fn write(&mut self, at: usize, out: &mut String, v: &Value) -> Result<(), Fail> {
        let before = out.len();
        v.write(out);
        let added = out.len() - before;
        self.out_len += added;
        if self.out_len > MAX_OUTPUT {
            return Err((
                at,
                format!("the template wrote more than {MAX_OUTPUT} bytes"),
            ));
        }
        if !self.req.budget().spend_bytes(added, 64) {
            return Err((at, "the template ran out of its budget".into()));
        }
        Ok(())
    }

    fn emit(&mut self, at: usize, out: &mut String, text: &str) -> Result<(), Fail> {
        self.out_len += text.len();
        if self.out_len > MAX_OUTPUT {
            return Err((
                at,
                format!("the template wrote more than {MAX_OUTPUT} bytes"),
            ));
        }
        if !self.req.budget().spend_bytes(text.len(), 64) {
            return Err((at, "the template ran out of its budget".into()));
        }
        out.push_str(text);
        Ok(())
    }

    fn nodes(&mut self, nodes: &[Node], out: &mut String) -> Result<(), Fail> {
        for n in nodes {
            match n {
                Node::Text(t) => self.emit(0, out, t)?,
                Node::Expr(c, at) => {
                    self.spend(*at, 1)?;
                    let v = self.call(c, *at, None)?;
                    self.write(*at, out, &v)?;
                }
                Node::Block(b) => {
                    self.spend(b.at, 1)?;
                    self.depth += 1;
                    if self.depth > MAX_DEPTH {
                        return Err((b.at, format!("blocks nest deeper than {MAX_DEPTH}")));
                    }
                    let v = self.call(&b.call, b.at, Some(b));
                    self.depth -= 1;
                    self.write(b.at, out, &v?)?;
                }
            }
        }
        Ok(())
    }

    /// Renders `nodes` into `out` with `this` (and data variables) pushed.
    pub(crate) fn with_frame(
        &mut self,
        nodes: &[Node],
        this: Value,
        data: Data,
        locals: Vec<(String, Value)>,
        out: &mut String,
    ) -> Result<(), Fail> {
        self.frames.push(Frame { this, data, locals });
        let r = self.nodes(nodes, out);
        self.frames.pop();
        r
    }

    /// Renders `nodes` in the current context.
    pub(crate) fn render_nodes(&mut self, nodes: &[Node]) -> Result<String, Fail> {
        let mut out = String::new();
        self.nodes(nodes, &mut out)?;
        Ok(out)
    }

    pub(crate) fn set_var(&mut self, name: &str, v: Value) {
        self.vars.insert(name.to_string(), v);
    }

    pub(crate) fn budget(&self) -> &standin_eval::Budget {
        self.req.budget()
    }

    fn call(&mut self, c: &Call, at: usize, block: Option<&Block>) -> Result<Value, Fail> {
        if let Operand::Path(p) = &c.head
            && let Some(name) = p.simple()
            && helpers::exists(name)
            && (block.is_some()
                || !c.params.is_empty()
                || !c.hash.is_empty()
                || !self.has_name(name))
        {
            let params = c
                .params
                .iter()
                .map(|o| self.operand(o, at))
                .collect::<Result<Vec<_>, _>>()?;
            let mut hash = BTreeMap::new();
            for (k, o) in &c.hash {
                let v = self.operand(o, at)?;
                hash.insert(k.clone(), v);
            }
            let args = helpers::Args {
                params,
                hash,
                block,
            };
            return helpers::call(self, name, &args).map_err(|m| (at, m));
        }
        let v = self.operand(&c.head, at)?;
        match block {
            None => Ok(v),
            // `{{#name}}` on a value: each item of a list, or the body with the value.
            Some(b) => {
                if !v.truthy() {
                    return self.render_nodes(&b.inverse).map(Value::str);
                }
                let mut out = String::new();
                if matches!(v, Value::List(_)) {
                    for (_, item) in v.entries() {
                        self.with_frame(&b.body, item, Data::default(), Vec::new(), &mut out)?;
                    }
                } else {
                    self.with_frame(&b.body, v, Data::default(), Vec::new(), &mut out)?;
                }
                Ok(Value::str(out))
            }
        }
    }

    /// Whether `name` is a value in scope (a value shadows a helper of the same name when
    /// it is used bare).
    fn has_name(&self, name: &str) -> bool {
        self.frames
            .iter()
            .any(|f| f.locals.iter().any(|(k, _)| k == name))
            || self.vars.contains_key(name)
    }

    fn operand(&mut self, o: &Operand, at: usize) -> Result<Value, Fail> {
        Ok(match o {
            Operand::Str(s) => Value::str(s.as_str()),
            Operand::Int(i) => Value::Int(*i),
            Operand::Float(f) => Value::Float(*f),
            Operand::Bool(b) => Value::Bool(*b),
            Operand::Null => Value::Null,
            Operand::Path(p) => self.lookup(p),
            Operand::Sub(c) => {
                self.depth += 1;
                if self.depth > MAX_DEPTH {
                    return Err((at, format!("sub-expressions nest deeper than {MAX_DEPTH}")));
                }
                let v = self.call(c, at, None);
                self.depth -= 1;
                v?
            }
        })
    }

    fn lookup(&self, p: &Path) -> Value {
        let frame_at = self.frames.len().saturating_sub(1 + p.up);
        let frame = &self.frames[frame_at];
        let mut parts = p.parts.iter();
        let mut v = if p.data {
            let Some(first) = parts.next() else {
                return Value::Null;
            };
            let d = &frame.data;
            match first.as_str() {
                "root" => self.root.clone(),
                "index" => d.index.map_or(Value::Null, |i| Value::Int(i as i64)),
                "first" if d.index.is_some() => Value::Bool(d.first),
                "last" if d.index.is_some() => Value::Bool(d.last),
                "key" => d.key.clone().map_or(Value::Null, Value::Str),
                _ => Value::Null,
            }
        } else {
            match parts.next() {
                None => frame.this.clone(),
                Some(first) => {
                    let local = self.frames[..=frame_at].iter().rev().find_map(|f| {
                        f.locals
                            .iter()
                            .find(|(k, _)| k == first)
                            .map(|(_, v)| v.clone())
                    });
                    match local {
                        Some(v) => v,
                        None => {
                            let here = frame.this.member(first);
                            if !matches!(here, Value::Null) {
                                here
                            } else if let Some(v) = self.vars.get(first.as_str()) {
                                v.clone()
                            } else {
                                self.root.member(first)
                            }
                        }
                    }
                }
            }
        };
        for part in parts {
            v = v.member(part);
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(template: &str, query: &str) -> Result<String, RenderError> {
        let headers = http::HeaderMap::new();
        let req = Request::new("GET", "/", Some(query), &headers, b"");
        HandlebarsTemplate::compile(template, "/body")
            .unwrap()
            .render(&req, &[])
    }

    #[test]
    fn arithmetic_on_request_values_never_panics() {
        let min = i64::MIN;
        assert_eq!(
            render(
                "{{math request.query.a '%' request.query.b}}",
                &format!("a={min}&b=-1")
            )
            .unwrap(),
            "0"
        );
        assert!(render("{{math request.query.a '/' request.query.b}}", "a=1&b=0").is_err());
        assert_eq!(
            render(
                "{{math request.query.a '+' request.query.b}}",
                &format!("a={}&b=1", i64::MAX)
            )
            .unwrap(),
            min.to_string(),
            "wraps, as Java's long does"
        );
    }
}
