//! Example values from JSON Schemas (OpenAPI's dialects included): what an imported
//! operation answers when its description has no example.
//!
//! The order of preference for one schema: `example`/`examples`, `default`, `const`,
//! `enum`, then the type: `format` for strings (uuid, email, date, date-time, uri,
//! hostname, ipv4, ipv6, byte), `pattern`, lengths; bounds and `multipleOf` for numbers;
//! `minItems`/`maxItems`/`uniqueItems` for arrays; `required` and then the other
//! properties for objects, and `additionalProperties`. `allOf` merges its branches,
//! `oneOf`/`anyOf` take the first branch, `nullable` and `"type": [.., "null"]` give a
//! non-null value. Recursion through `$ref` is bounded: past [`SOFT_DEPTH`] only
//! required properties and minimal arrays are generated, and past [`HARD_DEPTH`]
//! nothing more is nested.
//!
//! The same seed and schema give the same value. There is no randomness beyond a
//! counter-based generator seeded by the caller.

use crate::Sources;
use crate::refs::Docs;
use regex_syntax::hir::{Class, Hir, HirKind};
use serde_json::{Map, Value, json};

/// Past this depth, objects get only their required properties and arrays their
/// minimum number of items.
pub const SOFT_DEPTH: usize = 6;
/// Past this depth, nothing more is nested: a required object property that would
/// recurse further is left out.
pub const HARD_DEPTH: usize = 12;
/// At most this many items per array, whatever `minItems` says beyond it (a
/// `minItems` above it is honoured up to [`MAX_MIN_ITEMS`]).
const DEFAULT_ITEMS: u64 = 1;
const MAX_MIN_ITEMS: u64 = 64;
/// Optional properties beyond this many are left out.
const MAX_OPTIONAL: usize = 24;

/// An example value for `schema`, a standalone JSON Schema whose `$ref`s point into
/// itself.
///
/// ```
/// use serde_json::json;
/// let schema = json!({"type": "object", "required": ["id", "email"], "properties": {
///     "id": {"type": "string", "format": "uuid"},
///     "email": {"type": "string", "format": "email"},
///     "age": {"type": "integer", "minimum": 18, "maximum": 99}}});
/// let v = standin_import::generate::example(&schema, 7);
/// assert!(v["email"].as_str().unwrap().contains('@'));
/// assert!((18..=99).contains(&v["age"].as_i64().unwrap()));
/// assert_eq!(v, standin_import::generate::example(&schema, 7), "deterministic");
/// ```
pub fn example(schema: &Value, seed: u64) -> Value {
    let sources = Sources::single("schema.json", schema.to_string());
    let docs = Docs::parse(&sources).expect("a JSON value parses");
    Generator::new(&docs, seed).value(docs.main(), "schema.json", None, 0)
}

/// Generates values for schemas inside parsed documents.
pub(crate) struct Generator<'a> {
    docs: &'a Docs,
    state: u64,
    /// Values this generator may still make: a hostile schema (wide self-references,
    /// nested ambiguous `oneOf`s) cannot make it work or allocate without bound.
    budget: usize,
}

/// Values one generator makes at most; past it, every value is the smallest of its type.
pub const MAX_VALUES: usize = 50_000;
/// Strings are at most this long, whatever `minLength` says.
const MAX_STRING: usize = 4096;

impl<'a> Generator<'a> {
    pub(crate) fn new(docs: &'a Docs, seed: u64) -> Self {
        Generator {
            docs,
            state: seed ^ 0x9e37_79b9_7f4a_7c15,
            budget: MAX_VALUES,
        }
    }

    /// splitmix64: small, fast, and the same on every platform.
    fn next(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }

    /// A value for `schema`, found in `file`; `name` is the property it is for, if any.
    pub(crate) fn value(
        &mut self,
        schema: &Value,
        file: &str,
        name: Option<&str>,
        depth: usize,
    ) -> Value {
        // Every path into a schema passes here: the depth and the budget bound the
        // recursion (`A: {allOf: [$ref A]}`) and the work.
        if depth > HARD_DEPTH + 8 || self.budget == 0 {
            return Value::Null;
        }
        self.budget -= 1;
        let Ok((schema, file)) = self.docs.deref(file, schema) else {
            return Value::Null;
        };
        let file = file.as_str();
        let Some(o) = schema.as_object() else {
            // `true` or a non-schema: anything goes.
            return if schema == &Value::Bool(false) {
                Value::Null
            } else {
                json!({})
            };
        };
        if let Some(v) = o.get("example").filter(|v| !v.is_null()) {
            return v.clone();
        }
        if let Some(v) = o
            .get("examples")
            .and_then(Value::as_array)
            .and_then(|a| a.first())
        {
            return v.clone();
        }
        if let Some(v) = o.get("default").filter(|v| !v.is_null()) {
            return v.clone();
        }
        if let Some(v) = o.get("const") {
            return v.clone();
        }
        if let Some(v) = o
            .get("enum")
            .and_then(Value::as_array)
            .and_then(|a| a.iter().find(|v| !v.is_null()).or(a.first()))
        {
            return v.clone();
        }
        if let Some(all) = o.get("allOf").and_then(Value::as_array) {
            return self.all_of(o, all, file, name, depth);
        }
        if let Some(branches) = o
            .get("oneOf")
            .and_then(Value::as_array)
            .filter(|a| !a.is_empty())
        {
            let v = self.one_of(branches, file, name, depth);
            return self.merge_siblings(o, v, file, depth);
        }
        if let Some(first) = o
            .get("anyOf")
            .and_then(Value::as_array)
            .and_then(|a| a.first())
        {
            let v = self.value(first, file, name, depth + 1);
            return self.merge_siblings(o, v, file, depth);
        }
        match schema_type(o) {
            Some("object") => self.object(o, file, depth),
            Some("array") => self.array(o, file, name, depth),
            Some("string") => self.string(o, name),
            Some("integer") => self.integer(o),
            Some("number") => self.number(o),
            Some("boolean") => Value::Bool(true),
            Some("null") => Value::Null,
            _ => json!({}),
        }
    }

    /// `allOf`: the branches' values merged when they are objects (with the schema's own
    /// properties), the first branch's otherwise.
    fn all_of(
        &mut self,
        o: &Map<String, Value>,
        all: &[Value],
        file: &str,
        name: Option<&str>,
        depth: usize,
    ) -> Value {
        let mut merged: Option<Value> = None;
        for branch in all {
            let v = self.value(branch, file, name, depth + 1);
            merged = Some(match (merged, v) {
                // A later branch refines an earlier one (`allOf: [base, {error: {default: ..}}]`).
                (Some(Value::Object(mut a)), Value::Object(b)) => {
                    a.extend(b);
                    Value::Object(a)
                }
                (Some(a), _) => a,
                (None, v) => v,
            });
        }
        let v = merged.unwrap_or_else(|| json!({}));
        self.merge_siblings(o, v, file, depth)
    }

    /// `oneOf`: the first branch whose value does not also fit another branch, as far as
    /// [`Generator::fits`] can tell (types, `required`, `enum`/`const`, property types,
    /// closed objects); the first branch's value when every one is ambiguous.
    fn one_of(
        &mut self,
        branches: &[Value],
        file: &str,
        name: Option<&str>,
        depth: usize,
    ) -> Value {
        let mut first = None;
        for (i, branch) in branches.iter().enumerate().take(16) {
            let v = self.value(branch, file, name, depth + 1);
            let ambiguous = branches
                .iter()
                .enumerate()
                .any(|(j, other)| j != i && self.fits(&v, other, file, 0));
            if !ambiguous {
                return v;
            }
            first.get_or_insert(v);
        }
        first.unwrap_or(Value::Null)
    }

    /// Whether `v` might be valid against `schema`: a cheap check of the keywords that
    /// usually tell `oneOf` branches apart. It errs on "fits".
    fn fits(&self, v: &Value, schema: &Value, file: &str, depth: usize) -> bool {
        if depth > 8 {
            return true;
        }
        let Ok((schema, file)) = self.docs.deref(file, schema) else {
            return true;
        };
        let Some(o) = schema.as_object() else {
            return schema != &Value::Bool(false);
        };
        if let Some(c) = o.get("const")
            && c != v
        {
            return false;
        }
        if let Some(e) = o.get("enum").and_then(Value::as_array)
            && !e.contains(v)
        {
            return false;
        }
        if let Some(t) = o.get("type")
            && !type_fits(t, v, o.get("nullable") == Some(&Value::Bool(true)))
        {
            return false;
        }
        if let Some(all) = o.get("allOf").and_then(Value::as_array)
            && !all.iter().all(|s| self.fits(v, s, &file, depth + 1))
        {
            return false;
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(any) = o.get(key).and_then(Value::as_array)
                && !any.iter().any(|s| self.fits(v, s, &file, depth + 1))
            {
                return false;
            }
        }
        if let Value::Object(obj) = v {
            let props = o.get("properties").and_then(Value::as_object);
            if let Some(req) = o.get("required").and_then(Value::as_array)
                && req
                    .iter()
                    .filter_map(Value::as_str)
                    .any(|k| !obj.contains_key(k))
            {
                return false;
            }
            if let Some(props) = props {
                for (k, pv) in obj {
                    match props.get(k) {
                        Some(ps) if !self.fits(pv, ps, &file, depth + 1) => return false,
                        None if o.get("additionalProperties") == Some(&Value::Bool(false)) => {
                            return false;
                        }
                        _ => {}
                    }
                }
            }
        }
        true
    }

    /// A schema can have `properties` beside `allOf`/`oneOf`: they are added.
    fn merge_siblings(
        &mut self,
        o: &Map<String, Value>,
        v: Value,
        file: &str,
        depth: usize,
    ) -> Value {
        match v {
            Value::Object(mut obj) if o.contains_key("properties") => {
                if let Value::Object(own) = self.object(o, file, depth) {
                    for (k, v) in own {
                        obj.entry(k).or_insert(v);
                    }
                }
                Value::Object(obj)
            }
            v => v,
        }
    }

    fn object(&mut self, o: &Map<String, Value>, file: &str, depth: usize) -> Value {
        let mut out = Map::new();
        let required: Vec<&str> = o
            .get("required")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let props = o.get("properties").and_then(Value::as_object);
        if let Some(props) = props {
            for name in &required {
                let Some(p) = props.get(*name) else { continue };
                // Past the hard depth only what cannot nest is generated: a required
                // property that refers back to its own type has no finite value.
                if depth >= HARD_DEPTH && self.nests(p, file) {
                    continue;
                }
                let v = self.value(p, file, Some(name), depth + 1);
                out.insert(name.to_string(), v);
            }
            if depth >= HARD_DEPTH {
                return Value::Object(out);
            }
            if depth < SOFT_DEPTH {
                for (name, p) in props.iter().take(MAX_OPTIONAL + required.len()) {
                    if out.contains_key(name) || read_only_in_requests(p) {
                        continue;
                    }
                    let v = self.value(p, file, Some(name), depth + 1);
                    out.insert(name.clone(), v);
                }
            }
        }
        for name in &required {
            // Required but not described: any value will do.
            if !out.contains_key(*name) && props.is_none_or(|p| !p.contains_key(*name)) {
                out.insert(name.to_string(), Value::String("string".into()));
            }
        }
        let min = (o.get("minProperties").and_then(Value::as_u64).unwrap_or(0) as usize).min(64);
        let extra = match o.get("additionalProperties") {
            Some(Value::Bool(false)) => None,
            Some(s @ Value::Object(_)) => Some(s),
            _ => None,
        };
        if let Some(schema) = extra
            && (out.is_empty() || out.len() < min)
            && depth < HARD_DEPTH
        {
            let mut i = 1;
            while out.len() < min.max(1) {
                let v = self.value(schema, file, None, depth + 1);
                out.insert(format!("key{i}"), v);
                i += 1;
            }
        }
        Value::Object(out)
    }

    /// Whether a schema's values are objects or arrays (or it cannot be read).
    fn nests(&self, schema: &Value, file: &str) -> bool {
        let Ok((schema, _)) = self.docs.deref(file, schema) else {
            return true;
        };
        match schema.as_object() {
            Some(o) => {
                !matches!(
                    schema_type(o),
                    Some("string" | "integer" | "number" | "boolean" | "null")
                ) || o.contains_key("allOf")
                    || o.contains_key("oneOf")
                    || o.contains_key("anyOf")
            }
            None => false,
        }
    }

    fn array(
        &mut self,
        o: &Map<String, Value>,
        file: &str,
        name: Option<&str>,
        depth: usize,
    ) -> Value {
        let min = o.get("minItems").and_then(Value::as_u64).unwrap_or(0);
        let max = o.get("maxItems").and_then(Value::as_u64);
        let mut n = if depth >= SOFT_DEPTH {
            min
        } else {
            min.max(DEFAULT_ITEMS)
        };
        if let Some(max) = max {
            n = n.min(max);
        }
        n = n.min(MAX_MIN_ITEMS);
        let Some(items) = o.get("items") else {
            return Value::Array((0..n).map(|i| Value::String(format!("item{i}"))).collect());
        };
        if depth >= HARD_DEPTH {
            return Value::Array(Vec::new());
        }
        let unique = o.get("uniqueItems") == Some(&Value::Bool(true));
        let mut out: Vec<Value> = Vec::new();
        let mut tries = 0;
        while (out.len() as u64) < n && tries < n * 4 + 4 {
            tries += 1;
            let v = self.value(items, file, name, depth + 1);
            if unique && out.contains(&v) {
                // A fixed value repeats itself: take the enum's other values, or vary a
                // free string or number.
                if let Some(e) = self.enum_of(items, file) {
                    if let Some(next) = e.iter().find(|x| !out.contains(x)) {
                        out.push(next.clone());
                    }
                    continue;
                }
                match self.vary(v, out.len()) {
                    Some(v) if !out.contains(&v) => out.push(v),
                    _ => {}
                }
                continue;
            }
            out.push(v);
        }
        Value::Array(out)
    }

    fn enum_of(&self, schema: &Value, file: &str) -> Option<Vec<Value>> {
        let (schema, _) = self.docs.deref(file, schema).ok()?;
        if let Some(c) = schema.get("const") {
            return Some(vec![c.clone()]);
        }
        schema.get("enum").and_then(Value::as_array).cloned()
    }

    fn vary(&mut self, v: Value, i: usize) -> Option<Value> {
        match v {
            Value::String(s) => Some(Value::String(format!("{s}{i}"))),
            Value::Number(n) => n.as_i64().map(|n| Value::from(n + i as i64)),
            _ => None,
        }
    }

    fn string(&mut self, o: &Map<String, Value>, name: Option<&str>) -> Value {
        let min = o.get("minLength").and_then(Value::as_u64).unwrap_or(0) as usize;
        let max = o
            .get("maxLength")
            .and_then(Value::as_u64)
            .map(|m| m as usize);
        if let Some(p) = o.get("pattern").and_then(Value::as_str)
            && let Some(s) = self.matching_pattern(p, min, max)
        {
            return Value::String(s);
        }
        let format = o.get("format").and_then(Value::as_str).unwrap_or("");
        let n = self.below(10_000);
        let s = match format {
            "uuid" => self.uuid(),
            "email" | "idn-email" => format!("user{n}@example.com"),
            "date" => format!("2026-{:02}-{:02}", 1 + n % 12, 1 + n % 28),
            "date-time" => format!(
                "2026-{:02}-{:02}T{:02}:{:02}:00Z",
                1 + n % 12,
                1 + n % 28,
                n % 24,
                n % 60
            ),
            "time" => format!("{:02}:{:02}:00Z", n % 24, n % 60),
            "uri" | "url" | "iri" => format!("https://example.com/resource/{n}"),
            "uri-reference" | "iri-reference" => format!("/resource/{n}"),
            "hostname" | "idn-hostname" => format!("host{n}.example.com"),
            "ipv4" => format!("192.0.2.{}", 1 + n % 254),
            "ipv6" => format!("2001:db8::{:x}", 1 + n % 0xfffe),
            "byte" => "c3RhbmRpbg==".to_string(),
            "duration" => format!("PT{}M", 1 + n % 59),
            "password" => "secret".to_string(),
            _ => match name.map(str::to_ascii_lowercase).as_deref() {
                Some(n2) if n2.contains("email") => format!("user{n}@example.com"),
                Some("id") => format!("{n}"),
                Some(n2) if n2.ends_with("url") || n2.ends_with("uri") => {
                    format!("https://example.com/resource/{n}")
                }
                Some(n2) => format!("{n2}-{n}"),
                None => format!("string-{n}"),
            },
        };
        Value::String(fit_length(s, min, max))
    }

    fn uuid(&mut self) -> String {
        let a = self.next();
        let b = self.next();
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            0x8000 | (b >> 48) & 0x3fff,
            b & 0xffff_ffff_ffff
        )
    }

    fn integer(&mut self, o: &Map<String, Value>) -> Value {
        let (lo, hi) = bounds(o);
        let lo = lo.map(|l| l.ceil() as i64);
        let hi = hi.map(|h| h.floor() as i64);
        let (lo, hi) = match (lo, hi) {
            (Some(l), Some(h)) => (l, h.max(l)),
            (Some(l), None) => (l, l.saturating_add(100)),
            (None, Some(h)) => (h.saturating_sub(100).min(h), h),
            (None, None) => (1, 100),
        };
        let span = (hi as i128 - lo as i128 + 1).clamp(1, u64::MAX as i128) as u64;
        let mut v = lo.saturating_add(self.below(span) as i64);
        if let Some(m) = o
            .get("multipleOf")
            .and_then(Value::as_f64)
            .filter(|m| *m >= 1.0 && m.fract() == 0.0)
        {
            let m = m as i64;
            let up = v.div_euclid(m).saturating_add(1).saturating_mul(m);
            let down = v.div_euclid(m).saturating_mul(m);
            v = if down >= lo { down } else { up };
        }
        Value::from(v)
    }

    fn number(&mut self, o: &Map<String, Value>) -> Value {
        let (lo, hi) = bounds(o);
        let (lo, hi) = match (lo, hi) {
            (Some(l), Some(h)) => (l, h.max(l)),
            (Some(l), None) => (l, l + 100.0),
            (None, Some(h)) => (h - 100.0, h),
            (None, None) => (0.0, 100.0),
        };
        if let Some(m) = o
            .get("multipleOf")
            .and_then(Value::as_f64)
            .filter(|m| *m > 0.0)
        {
            let k = (lo / m).ceil();
            return json!(k * m);
        }
        let frac = (self.below(1000) as f64) / 1000.0;
        let v = ((lo + (hi - lo) * frac) * 100.0).round() / 100.0;
        let v = if v < lo || v > hi { lo } else { v };
        serde_json::Number::from_f64(v).map_or(json!(0), Value::Number)
    }

    /// A string that matches `pattern`, when the pattern reads as a regex here (JSON
    /// Schema patterns are ECMA-262; look-around and back-references do not).
    fn matching_pattern(
        &mut self,
        pattern: &str,
        min: usize,
        max: Option<usize>,
    ) -> Option<String> {
        let hir = regex_syntax::ParserBuilder::new()
            .unicode(true)
            .build()
            .parse(pattern)
            .ok()?;
        let mut out = String::new();
        self.hir(&hir, &mut out, 0)?;
        let len = out.chars().count();
        (len >= min && max.is_none_or(|m| len <= m)).then_some(out)
    }

    fn hir(&mut self, h: &Hir, out: &mut String, depth: usize) -> Option<()> {
        if depth > 64 || out.len() > 4096 {
            return None;
        }
        match h.kind() {
            HirKind::Empty | HirKind::Look(_) => {}
            HirKind::Literal(l) => out.push_str(std::str::from_utf8(&l.0).ok()?),
            HirKind::Class(Class::Unicode(c)) => {
                let ranges = c.ranges();
                // Prefer printable ASCII letters and digits when the class has them.
                let pick = ranges
                    .iter()
                    .flat_map(|r| (r.start()..=r.end()).take(64))
                    .filter(|ch| ch.is_ascii_alphanumeric())
                    .collect::<Vec<_>>();
                let ch = if pick.is_empty() {
                    ranges
                        .iter()
                        .flat_map(|r| (r.start()..=r.end()).take(8))
                        .find(|c| !c.is_control())?
                } else {
                    pick[self.below(pick.len() as u64) as usize]
                };
                out.push(ch);
            }
            HirKind::Class(Class::Bytes(c)) => {
                let b = c
                    .ranges()
                    .iter()
                    .flat_map(|r| r.start()..=r.end())
                    .find(u8::is_ascii_graphic)?;
                out.push(b as char);
            }
            HirKind::Repetition(r) => {
                // At least one of an optional part (an empty match is a poor example),
                // and at most two more than the minimum.
                let lo = u64::from(r.min.max(u32::from(r.max != Some(0))));
                let hi = r.max.map_or(lo + 2, |m| u64::from(m).min(lo + 2));
                let n = lo + self.below(hi - lo + 1);
                for _ in 0..n.min(256) {
                    self.hir(&r.sub, out, depth + 1)?;
                }
            }
            HirKind::Capture(c) => self.hir(&c.sub, out, depth + 1)?,
            HirKind::Concat(parts) => {
                for p in parts {
                    self.hir(p, out, depth + 1)?;
                }
            }
            HirKind::Alternation(alts) => {
                let i = self.below(alts.len() as u64) as usize;
                self.hir(&alts[i], out, depth + 1)?;
            }
        }
        Some(())
    }
}

/// A schema's type: `type` (the first non-null one of a list), or what its keywords imply.
fn schema_type(o: &Map<String, Value>) -> Option<&str> {
    match o.get("type") {
        Some(Value::String(t)) => Some(t.as_str()),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .or(Some("null")),
        _ if o.contains_key("properties") || o.contains_key("additionalProperties") => {
            Some("object")
        }
        _ if o.contains_key("items") => Some("array"),
        _ if o.contains_key("pattern")
            || o.contains_key("format")
            || o.contains_key("minLength") =>
        {
            Some("string")
        }
        _ if o.contains_key("minimum") || o.contains_key("maximum") => Some("number"),
        _ => None,
    }
}

/// Whether `v` has one of the types `t` names (`integer` is a number without a fraction).
fn type_fits(t: &Value, v: &Value, nullable: bool) -> bool {
    let one = |t: &str| match t {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "integer" => v.as_f64().is_some_and(|f| f.fract() == 0.0),
        "number" => v.is_number(),
        "boolean" => v.is_boolean(),
        "null" => v.is_null(),
        _ => true,
    };
    (nullable && v.is_null())
        || match t {
            Value::String(t) => one(t),
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).any(one),
            _ => true,
        }
}

/// Inclusive numeric bounds, with OpenAPI 3.0's boolean and 3.1's numeric exclusive ones.
fn bounds(o: &Map<String, Value>) -> (Option<f64>, Option<f64>) {
    let mut lo = o.get("minimum").and_then(Value::as_f64);
    let mut hi = o.get("maximum").and_then(Value::as_f64);
    match o.get("exclusiveMinimum") {
        Some(Value::Bool(true)) => lo = lo.map(next_up),
        Some(Value::Number(n)) => lo = n.as_f64().map(next_up),
        _ => {}
    }
    match o.get("exclusiveMaximum") {
        Some(Value::Bool(true)) => hi = hi.map(next_down),
        Some(Value::Number(n)) => hi = n.as_f64().map(next_down),
        _ => {}
    }
    (lo, hi)
}

fn next_up(x: f64) -> f64 {
    if x.fract() == 0.0 {
        x + 1.0
    } else {
        x + x.abs().max(1.0) * 1e-9
    }
}

fn next_down(x: f64) -> f64 {
    if x.fract() == 0.0 {
        x - 1.0
    } else {
        x - x.abs().max(1.0) * 1e-9
    }
}

fn fit_length(mut s: String, min: usize, max: Option<usize>) -> String {
    let have = s.chars().count();
    let min = min.min(MAX_STRING);
    if have < min {
        s.extend(std::iter::repeat_n('x', min - have));
    }
    if let Some(max) = max
        && s.chars().count() > max
    {
        s = s.chars().take(max).collect();
    }
    s
}

/// `readOnly` properties are in responses, `writeOnly` ones are not; this reads
/// responses, so only `writeOnly` is left out.
fn read_only_in_requests(p: &Value) -> bool {
    p.get("writeOnly") == Some(&Value::Bool(true))
}
