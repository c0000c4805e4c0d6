//! The Velocity tools MockServer puts in a template's context, with the outputs of
//! velocity-tools 3: `$json` (JsonTool), `$xml` (XmlTool), `$math` (MathTool), `$number`
//! (NumberTool), `$date` (ComparisonDateTool), `$esc` (EscapeTool), `$display`
//! (DisplayTool) and `$sorter`/`$collection` (CollectionTool).

use super::value::{self, Obj, Tool, V};
use standin_eval::Budget;
use std::rc::Rc;

type R = Result<V, String>;

pub(super) fn call(tool: Tool, name: &str, args: &[V], budget: &Budget) -> R {
    match tool {
        Tool::Json => Ok(json(name, args, budget)),
        Tool::Xml => Ok(match (name, args) {
            ("parse" | "read", [s]) => {
                let text = s.text();
                if !budget.spend_bytes(text.len(), 16) {
                    return Err("the template ran out of its work budget".into());
                }
                let root = standin_eval::xml::compile("/*").expect("a valid XPath");
                xml_nodes(root.select(&text, budget))
            }
            _ => V::Null,
        }),
        Tool::Math => Ok(math(name, args)),
        Tool::Number => Ok(number(name, args)),
        Tool::Date => Ok(date(name, args)),
        Tool::Esc => Ok(esc(name, args)),
        Tool::Display => Ok(display(name, args)),
        Tool::Collection => Ok(sorter(name, args, budget)),
        Tool::Strings | Tool::JsonTransform | Tool::Dates | Tool::Calc | Tool::Jwt => {
            helper(tool, name, args, budget)
        }
    }
}

/// `$tool.name` as a property: the tool's getter.
pub(super) fn property(tool: Tool, name: &str, budget: &Budget) -> V {
    let mut getter = String::from("get");
    let mut chars = name.chars();
    if let Some(c) = chars.next() {
        getter.push(c.to_ascii_uppercase());
        getter.push_str(chars.as_str());
    }
    call(tool, &getter, &[], budget).unwrap_or(V::Null)
}

/// XmlTool's nodes as a value; null when there are none.
pub(super) fn xml_nodes(nodes: Vec<standin_eval::xml::Selected>) -> V {
    if nodes.is_empty() {
        V::Null
    } else {
        V::Obj(Rc::new(Obj::Xml(nodes)))
    }
}

/// XmlTool's `find`: the nodes the XPath selects in each element of `nodes`.
pub(super) fn xml_find(nodes: &[standin_eval::xml::Selected], expr: &str, budget: &Budget) -> V {
    let Ok(x) = standin_eval::xml::compile(expr) else {
        return V::Null;
    };
    xml_nodes(
        nodes
            .iter()
            .filter(|n| n.element)
            .flat_map(|n| x.select(&n.xml, budget))
            .collect(),
    )
}

/// XmlTool's members: `text`, `name`, `attr(n)`, `size()`, `get(i)`, `find(x)`; any
/// other name is the first node's attribute of that name, or its child elements.
pub(super) fn xml_member(
    nodes: &[standin_eval::xml::Selected],
    name: &str,
    args: &[V],
    budget: &Budget,
) -> V {
    let first = nodes.first();
    match (name, args) {
        ("find", [x]) => xml_find(nodes, &x.text(), budget),
        ("text" | "getText", []) => {
            V::str(nodes.iter().map(|n| n.text.as_str()).collect::<String>())
        }
        ("name" | "getName", []) => first.map_or(V::Null, |n| V::str(n.name.as_str())),
        ("size", []) => V::Int(nodes.len() as i64),
        ("isEmpty", []) => V::Bool(nodes.is_empty()),
        ("get", [V::Int(i)]) => usize::try_from(*i)
            .ok()
            .and_then(|i| nodes.get(i))
            .map_or(V::Null, |n| xml_nodes(vec![n.clone()])),
        ("attr" | "get", [a]) => {
            let a = a.text();
            first
                .and_then(|n| n.attributes.iter().find(|(k, _)| *k == a))
                .map_or(V::Null, |(_, v)| V::str(v.as_str()))
        }
        (other, []) => match first.and_then(|n| n.attributes.iter().find(|(k, _)| k == other)) {
            Some((_, v)) => V::str(v.as_str()),
            None => xml_find(nodes, &format!("/*/{other}"), budget),
        },
        _ => V::Null,
    }
}

fn json(name: &str, args: &[V], budget: &Budget) -> V {
    match (name, args) {
        ("parse", [s]) => {
            let text = s.text();
            if !budget.spend_bytes(text.len(), 4) {
                return V::Null;
            }
            let mut p = JsonReader {
                s: text.as_bytes(),
                i: 0,
                depth: 0,
            };
            match p.value() {
                Some(v) => {
                    p.ws();
                    if p.i == p.s.len() { v } else { V::Null }
                }
                None => V::Null,
            }
        }
        _ => V::Null,
    }
}

/// JSON as velocity-tools' JsonTool reads it (json-simple): objects are `HashMap`s (they
/// print in hash order), numbers are `BigDecimal`s (they print as written).
struct JsonReader<'a> {
    s: &'a [u8],
    i: usize,
    depth: usize,
}

impl JsonReader<'_> {
    fn ws(&mut self) {
        while self.s.get(self.i).is_some_and(u8::is_ascii_whitespace) {
            self.i += 1;
        }
    }

    fn eat(&mut self, word: &str) -> bool {
        if self.s[self.i..].starts_with(word.as_bytes()) {
            self.i += word.len();
            true
        } else {
            false
        }
    }

    fn value(&mut self) -> Option<V> {
        self.ws();
        self.depth += 1;
        if self.depth > 128 {
            return None;
        }
        let v = match *self.s.get(self.i)? {
            b'{' => {
                self.i += 1;
                let mut entries = Vec::new();
                self.ws();
                if !self.eat("}") {
                    loop {
                        self.ws();
                        let key = self.string()?;
                        self.ws();
                        if !self.eat(":") {
                            return None;
                        }
                        let v = self.value()?;
                        match entries
                            .iter_mut()
                            .find(|(k, _): &&mut (String, V)| *k == key)
                        {
                            Some(slot) => slot.1 = v,
                            None => entries.push((key, v)),
                        }
                        self.ws();
                        if self.eat("}") {
                            break;
                        }
                        if !self.eat(",") {
                            return None;
                        }
                    }
                }
                V::map(value::java_hash_order(entries))
            }
            b'[' => {
                self.i += 1;
                let mut items = Vec::new();
                self.ws();
                if !self.eat("]") {
                    loop {
                        items.push(self.value()?);
                        self.ws();
                        if self.eat("]") {
                            break;
                        }
                        if !self.eat(",") {
                            return None;
                        }
                    }
                }
                V::List(Rc::new(std::cell::RefCell::new(value::List {
                    items,
                    class: Some("org.apache.velocity.tools.generic.JsonContent"),
                })))
            }
            b'"' => V::str(self.string()?),
            b't' if self.eat("true") => V::Bool(true),
            b'f' if self.eat("false") => V::Bool(false),
            b'n' if self.eat("null") => V::Null,
            b'-' | b'0'..=b'9' => {
                let start = self.i;
                while self
                    .s
                    .get(self.i)
                    .is_some_and(|c| c.is_ascii_digit() || b"+-.eE".contains(c))
                {
                    self.i += 1;
                }
                let text = std::str::from_utf8(&self.s[start..self.i]).ok()?;
                text.parse::<f64>().ok()?;
                V::Dec(text.into())
            }
            _ => return None,
        };
        self.depth -= 1;
        Some(v)
    }

    fn string(&mut self) -> Option<String> {
        if !self.eat("\"") {
            return None;
        }
        let start = self.i;
        let mut escaped = false;
        while let Some(&c) = self.s.get(self.i) {
            self.i += 1;
            match c {
                b'\\' if !escaped => escaped = true,
                b'"' if !escaped => {
                    let raw = std::str::from_utf8(&self.s[start - 1..self.i]).ok()?;
                    return serde_json::from_str(raw).ok();
                }
                _ => escaped = false,
            }
        }
        None
    }
}

/// A number from a number or a numeric string, as MathTool reads its arguments.
fn num(v: &V) -> Option<V> {
    match v {
        V::Int(_) | V::Float(_) => Some(v.clone()),
        V::Str(s) => {
            let s = s.trim();
            s.parse::<i64>().map(V::Int).ok().or_else(|| {
                s.parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite())
                    .map(V::Float)
            })
        }
        _ => None,
    }
}

/// MathTool's result type: whole results of whole inputs are integers, others doubles.
fn matched(inputs: &[V], out: f64) -> V {
    if out.is_finite()
        && out.fract() == 0.0
        && out.abs() < 9.0e15
        && inputs.iter().all(|v| matches!(v, V::Int(_)))
    {
        V::Int(out as i64)
    } else {
        V::Float(out)
    }
}

fn math(name: &str, args: &[V]) -> V {
    if let ("getTotal" | "getAverage", [V::List(l)]) = (name, args) {
        let items: Option<Vec<V>> = l.borrow().items.iter().map(num).collect();
        let Some(items) = items.filter(|i| !i.is_empty()) else {
            return V::Null;
        };
        let total: f64 = items.iter().filter_map(V::as_f64).sum();
        return if name == "getTotal" {
            matched(&items, total)
        } else {
            matched(&items, total / items.len() as f64)
        };
    }
    let nums: Option<Vec<V>> = args.iter().map(num).collect();
    let Some(nums) = nums else {
        return V::Null;
    };
    let f = |i: usize| nums.get(i).and_then(V::as_f64).unwrap_or(0.0);
    match (name, nums.len()) {
        ("add", n) if n >= 1 => matched(&nums, nums.iter().filter_map(V::as_f64).sum()),
        ("mul", n) if n >= 1 => matched(&nums, nums.iter().filter_map(V::as_f64).product()),
        ("sub", 2) => matched(&nums, f(0) - f(1)),
        ("div", 2) if f(1) == 0.0 => V::Null,
        ("div", 2) => matched(&nums, f(0) / f(1)),
        ("idiv", 2) | ("mod", 2) => {
            let (a, b) = (f(0) as i64, f(1) as i64);
            // Null for a zero divisor, and for i64::MIN / -1 (which overflows).
            let r = if name == "idiv" {
                a.checked_div(b)
            } else {
                a.checked_rem(b)
            };
            r.map_or(V::Null, V::Int)
        }
        ("pow", 2) => matched(&nums, f(0).powf(f(1))),
        ("max", 2) => matched(&nums, f(0).max(f(1))),
        ("min", 2) => matched(&nums, f(0).min(f(1))),
        ("abs", 1) => matched(&nums, f(0).abs()),
        ("ceil", 1) => V::Int(f(0).ceil() as i64),
        ("floor", 1) => V::Int(f(0).floor() as i64),
        // MathTool rounds halves to even.
        ("round", 1) => V::Int(f(0).round_ties_even() as i64),
        ("roundTo", 2) => {
            let places = f(0).max(0.0) as i32;
            let scale = 10f64.powi(places);
            V::Float(round_half_up(f(1) * scale) / scale)
        }
        ("toNumber", 1) => nums[0].clone(),
        ("toInteger", 1) => V::Int(f(0) as i64),
        ("toDouble", 1) => V::Float(f(0)),
        ("getRandom" | "random", 0) => V::Float(rand::random::<f64>()),
        ("random", 2) => {
            let (a, b) = (f(0), f(1));
            if b <= a {
                return V::Null;
            }
            let r = a + rand::random::<f64>() * (b - a);
            matched(
                &nums,
                if nums.iter().all(|v| matches!(v, V::Int(_))) {
                    r.floor()
                } else {
                    r
                },
            )
        }
        _ => V::Null,
    }
}

fn round_half_up(x: f64) -> f64 {
    if x >= 0.0 {
        (x + 0.5).floor()
    } else {
        -((-x + 0.5).floor())
    }
}

/// NumberTool: `format(pattern, n)` with a `DecimalFormat` pattern or a style name
/// (`number`, `integer`, `currency`, `percent`), and the styles as methods.
fn number(name: &str, args: &[V]) -> V {
    match (name, args) {
        ("format", [pattern, n]) => num(n).map_or(V::Null, |n| {
            V::str(format_style(&pattern.text(), n.as_f64().unwrap_or(0.0)))
        }),
        ("format", [n]) | ("number", [n]) => num(n).map_or(V::Null, |n| {
            V::str(format_style("number", n.as_f64().unwrap_or(0.0)))
        }),
        ("integer" | "currency" | "percent", [n]) => num(n).map_or(V::Null, |n| {
            V::str(format_style(name, n.as_f64().unwrap_or(0.0)))
        }),
        ("toNumber", [n]) => num(n).unwrap_or(V::Null),
        _ => V::Null,
    }
}

fn format_style(style: &str, n: f64) -> String {
    match style {
        "number" | "default" => decimal_format("#,##0.###", n),
        "integer" => decimal_format("#,##0", n),
        "currency" => {
            // The JVM's locale in MockServer's image has no country: the generic sign.
            let body = decimal_format("#,##0.00", n.abs());
            if n < 0.0 {
                format!("-\u{a4}{body}")
            } else {
                format!("\u{a4}{body}")
            }
        }
        "percent" => decimal_format("#,##0%", n),
        pattern => decimal_format(pattern, n),
    }
}

/// Java's `DecimalFormat` for the patterns templates use: an optional literal prefix and
/// suffix, `#` and `0` digits, `,` grouping, `.` and fraction digits, `%`; rounding half
/// to even.
fn decimal_format(pattern: &str, n: f64) -> String {
    let pattern = pattern.split(';').next().unwrap_or(pattern);
    let is_digit = |c: char| matches!(c, '#' | '0' | ',' | '.');
    let start = pattern.find(is_digit).unwrap_or(pattern.len());
    let end = pattern.rfind(is_digit).map_or(start, |e| e + 1);
    let (prefix, body, suffix) = (&pattern[..start], &pattern[start..end], &pattern[end..]);
    let percent = prefix.contains('%') || suffix.contains('%');
    let n = if percent { n * 100.0 } else { n };
    let (int_part, frac_part) = body.split_once('.').unwrap_or((body, ""));
    let grouping = int_part
        .rfind(',')
        .map(|g| int_part.len() - g - 1)
        .filter(|g| *g > 0);
    let min_int = int_part.chars().filter(|c| *c == '0').count();
    let min_frac = frac_part.chars().filter(|c| *c == '0').count();
    let max_frac = frac_part.chars().filter(|c| matches!(c, '0' | '#')).count();
    let scale = 10f64.powi(max_frac as i32);
    let scaled = n.abs() * scale;
    // Half-even on the decimal value.
    let floor = scaled.floor();
    let diff = scaled - floor;
    let rounded = if (diff - 0.5).abs() < 1e-9 {
        if floor % 2.0 == 0.0 {
            floor
        } else {
            floor + 1.0
        }
    } else {
        scaled.round()
    };
    let digits = format!("{:.0}", rounded);
    let digits = format!("{:0>width$}", digits, width = max_frac + 1);
    let (ip, fp) = digits.split_at(digits.len() - max_frac);
    let mut ip = ip.trim_start_matches('0').to_string();
    if ip.len() < min_int {
        ip = "0".repeat(min_int - ip.len()) + &ip;
    }
    let mut fp = fp.to_string();
    while fp.len() > min_frac && fp.ends_with('0') {
        fp.pop();
    }
    if let Some(g) = grouping {
        let chars: Vec<char> = ip.chars().collect();
        let mut grouped = String::new();
        for (i, c) in chars.iter().enumerate() {
            if i > 0 && (chars.len() - i).is_multiple_of(g) {
                grouped.push(',');
            }
            grouped.push(*c);
        }
        ip = grouped;
    }
    let mut out = String::new();
    if n < 0.0 && (rounded != 0.0) {
        out.push('-');
    }
    out.push_str(&prefix.replace('\'', ""));
    out.push_str(&ip);
    if !fp.is_empty() {
        out.push('.');
        out.push_str(&fp);
    }
    out.push_str(&suffix.replace('\'', ""));
    out
}

/// ComparisonDateTool: the current time, in UTC, formatted with Java patterns.
fn date(name: &str, args: &[V]) -> V {
    let now = jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC);
    let of = |v: &V| match v {
        V::Obj(o) => match &**o {
            Obj::Date(d) => Some(d.clone()),
            _ => None,
        },
        _ => None,
    };
    let fmt = |z: &jiff::Zoned, p: &str| {
        V::str(z.strftime(&crate::handlebars::java_pattern(p)).to_string())
    };
    let date_v = |z: jiff::Zoned| V::Obj(Rc::new(Obj::Date(z)));
    match (name, args) {
        ("get" | "format", [p]) => fmt(&now, &p.text()),
        ("format", [p, d]) => of(d).map_or(V::Null, |d| fmt(&d, &p.text())),
        ("getDate", []) => date_v(now),
        ("toDate", [p, text]) => parse_date(&p.text(), &text.text()).map_or(V::Null, date_v),
        ("getYear", []) => V::Int(i64::from(now.year())),
        ("getMonth", []) => V::Int(i64::from(now.month()) - 1),
        ("getDay", []) => V::Int(i64::from(now.day())),
        ("getYear", [d]) => of(d).map_or(V::Null, |d| V::Int(i64::from(d.year()))),
        ("getMonth", [d]) => of(d).map_or(V::Null, |d| V::Int(i64::from(d.month()) - 1)),
        ("getDay", [d]) => of(d).map_or(V::Null, |d| V::Int(i64::from(d.day()))),
        ("difference", [a, b]) => match (of(a), of(b)) {
            (Some(a), Some(b)) => V::str(difference(&a, &b)),
            _ => V::Null,
        },
        ("getSystemTime", []) => V::Int(now.timestamp().as_millisecond()),
        ("toString", []) => fmt(&now, "yyyy-MM-dd HH:mm:ss"),
        _ => V::Null,
    }
}

/// A date read with a Java pattern, in UTC (the zone of MockServer's image); a date
/// without a time is at midnight.
fn parse_date(pattern: &str, text: &str) -> Option<jiff::Zoned> {
    let tm =
        jiff::fmt::strtime::BrokenDownTime::parse(crate::handlebars::java_pattern(pattern), text)
            .ok()?;
    let date = tm.to_date().ok()?;
    let time = tm.to_time().unwrap_or(jiff::civil::Time::midnight());
    date.to_datetime(time)
        .to_zoned(jiff::tz::TimeZone::UTC)
        .ok()
}

/// ComparisonDateTool's difference as it prints: the largest whole unit, `2 days`.
fn difference(a: &jiff::Zoned, b: &jiff::Zoned) -> String {
    let ms = (b.timestamp().as_millisecond() - a.timestamp().as_millisecond()).abs();
    const UNITS: &[(&str, i64)] = &[
        ("year", 365 * 86_400_000),
        ("month", 30 * 86_400_000),
        ("week", 7 * 86_400_000),
        ("day", 86_400_000),
        ("hour", 3_600_000),
        ("minute", 60_000),
        ("second", 1000),
        ("millisecond", 1),
    ];
    let (unit, size) = UNITS
        .iter()
        .find(|(_, size)| ms >= *size)
        .copied()
        .unwrap_or(("millisecond", 1));
    let n = ms / size;
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

fn esc(name: &str, args: &[V]) -> V {
    let s = || args.first().map(V::text).unwrap_or_default();
    if args.first().is_some_and(V::is_null) {
        return V::Null;
    }
    match (name, args.len()) {
        ("getD" | "getDollar", 0) => V::str("$"),
        ("getH" | "getHash", 0) => V::str("#"),
        ("getB" | "getBackslash", 0) => V::str("\\"),
        ("getQ" | "getQuote", 0) => V::str("\""),
        ("getS" | "getSingleQuote", 0) => V::str("'"),
        ("getE" | "getExclamation", 0) => V::str("!"),
        ("getN" | "getNewline", 0) => V::str("\n"),
        ("java", 1) => V::str(escape_java(&s(), false)),
        ("javascript", 1) => V::str(escape_java(&s(), true)),
        ("html", 1) => V::str(escape_markup(&s(), false)),
        ("xml", 1) => V::str(escape_markup(&s(), true)),
        ("sql", 1) => V::str(s().replace('\'', "''")),
        ("url", 1) => V::str(crate::handlebars::form_encode(&s())),
        ("unurl", 1) => V::str(url_decode(&s())),
        _ => V::Null,
    }
}

fn escape_java(s: &str, javascript: bool) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\'' if javascript => out.push_str("\\'"),
            '/' if javascript => out.push_str("\\/"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                for unit in c.encode_utf16(&mut [0; 2]) {
                    out.push_str(&format!("\\u{:04X}", unit));
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// HTML 4's entity names for U+00A0 to U+00FF, in order.
const LATIN1_ENTITIES: [&str; 96] = [
    "nbsp", "iexcl", "cent", "pound", "curren", "yen", "brvbar", "sect", "uml", "copy", "ordf",
    "laquo", "not", "shy", "reg", "macr", "deg", "plusmn", "sup2", "sup3", "acute", "micro",
    "para", "middot", "cedil", "sup1", "ordm", "raquo", "frac14", "frac12", "frac34", "iquest",
    "Agrave", "Aacute", "Acirc", "Atilde", "Auml", "Aring", "AElig", "Ccedil", "Egrave", "Eacute",
    "Ecirc", "Euml", "Igrave", "Iacute", "Icirc", "Iuml", "ETH", "Ntilde", "Ograve", "Oacute",
    "Ocirc", "Otilde", "Ouml", "times", "Oslash", "Ugrave", "Uacute", "Ucirc", "Uuml", "Yacute",
    "THORN", "szlig", "agrave", "aacute", "acirc", "atilde", "auml", "aring", "aelig", "ccedil",
    "egrave", "eacute", "ecirc", "euml", "igrave", "iacute", "icirc", "iuml", "eth", "ntilde",
    "ograve", "oacute", "ocirc", "otilde", "ouml", "divide", "oslash", "ugrave", "uacute", "ucirc",
    "uuml", "yacute", "thorn", "yuml",
];

fn escape_markup(s: &str, xml: bool) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' if xml => out.push_str("&apos;"),
            c if !xml && ('\u{a0}'..='\u{ff}').contains(&c) => {
                out.push('&');
                out.push_str(LATIN1_ENTITIES[c as usize - 0xa0]);
                out.push(';');
            }
            c => out.push(c),
        }
    }
    out
}

fn url_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match u8::from_str_radix(&s[i + 1..i + 3], 16) {
                Ok(b) => {
                    out.push(b);
                    i += 2;
                }
                Err(_) => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn display(name: &str, args: &[V]) -> V {
    match (name, args) {
        ("alt", [v]) => {
            if v.is_null() {
                V::str("null")
            } else {
                v.clone()
            }
        }
        ("alt", [v, alt]) => {
            if v.is_null() {
                alt.clone()
            } else {
                v.clone()
            }
        }
        ("truncate", [v]) => truncate(v, 30, "..."),
        ("truncate", [v, V::Int(n)]) => truncate(v, *n, "..."),
        ("truncate", [v, V::Int(n), suffix]) => truncate(v, *n, &suffix.text()),
        ("list", [l]) => list_text(l, ", ", " and "),
        ("list", [l, d]) => list_text(l, &d.text(), &d.text()),
        ("list", [l, d, last]) => list_text(l, &d.text(), &last.text()),
        ("capitalize", [v]) => {
            let s = v.text();
            let mut c = s.chars();
            V::str(c.next().map_or(String::new(), |f| {
                f.to_uppercase().collect::<String>() + c.as_str()
            }))
        }
        ("uncapitalize", [v]) => {
            let s = v.text();
            let mut c = s.chars();
            V::str(c.next().map_or(String::new(), |f| {
                f.to_lowercase().collect::<String>() + c.as_str()
            }))
        }
        ("plural", [V::Int(n), singular]) => {
            let s = singular.text();
            V::str(if *n == 1 { s } else { s + "s" })
        }
        ("plural", [V::Int(n), singular, plural]) => V::str(if *n == 1 {
            singular.text()
        } else {
            plural.text()
        }),
        ("printf" | "message", [format, rest @ ..]) => {
            let format = format.text();
            let args: Vec<String> = rest.iter().map(V::text).collect();
            // Every placeholder may take the longest argument (or a 10,000-wide field).
            let widest = args.iter().map(String::len).max().unwrap_or(0).max(10_100);
            if format.len().saturating_mul(widest) > super::MAX_OUTPUT * 4 {
                return V::Null;
            }
            if name == "printf" {
                V::str(printf(&format, rest))
            } else {
                let mut out = format;
                for (i, v) in args.iter().enumerate() {
                    out = out.replace(&format!("{{{i}}}"), v);
                    if out.len() > super::MAX_OUTPUT {
                        return V::Null;
                    }
                }
                V::str(out)
            }
        }
        ("space", [V::Int(n)]) => V::str(" ".repeat((*n).clamp(0, 10_000) as usize)),
        ("br", [v]) => {
            let s = v.text();
            if s.len().saturating_mul(7) > super::MAX_OUTPUT * 4 {
                return V::Null;
            }
            V::str(s.replace('\n', "<br />\n"))
        }
        _ => V::Null,
    }
}

fn truncate(v: &V, n: i64, suffix: &str) -> V {
    if v.is_null() {
        return V::Null;
    }
    let s: Vec<char> = v.text().chars().collect();
    let n = n.max(0) as usize;
    if s.len() <= n {
        return V::str(s.iter().collect::<String>());
    }
    let keep = n.saturating_sub(suffix.chars().count());
    V::str(s[..keep].iter().collect::<String>() + suffix)
}

fn list_text(l: &V, delim: &str, last: &str) -> V {
    let items: Vec<String> = match l {
        V::List(l) => l.borrow().items.iter().map(V::text).collect(),
        V::Null => return V::Null,
        other => return other.clone(),
    };
    let total: usize = items.iter().map(String::len).sum::<usize>()
        + items.len().saturating_mul(delim.len().max(last.len()));
    if total > super::MAX_OUTPUT {
        return V::Null;
    }
    let mut out = String::new();
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(if i + 1 == items.len() { last } else { delim });
        }
        out.push_str(item);
    }
    V::str(out)
}

/// CollectionTool (`$collection`): `sort(list)` and `sort(list, "property[:asc|:desc]", …)`.
fn sorter(name: &str, args: &[V], budget: &Budget) -> V {
    let ("sort", [list, props @ ..]) = (name, args) else {
        return match (name, args) {
            ("split", [s]) => V::list(s.text().split(',').map(|p| V::str(p.trim())).collect()),
            _ => V::Null,
        };
    };
    let mut items = match list {
        V::List(l) => l.borrow().items.clone(),
        V::Map(m) => m.borrow().entries.iter().map(|(_, v)| v.clone()).collect(),
        _ => return V::Null,
    };
    let n = items.len() as u64;
    if !budget.spend(n * (64 - n.leading_zeros() as u64).max(1)) {
        return V::Null;
    }
    let keys: Vec<(String, bool)> = props
        .iter()
        .flat_map(|p| match p {
            V::List(l) => l.borrow().items.iter().map(V::text).collect::<Vec<_>>(),
            other => vec![other.text()],
        })
        .map(|p| match p.split_once(':') {
            Some((k, dir)) => (k.to_string(), dir.eq_ignore_ascii_case("desc")),
            None => (p, false),
        })
        .collect();
    let field = |v: &V, k: &str| match v {
        V::Map(m) => m.borrow().get(k).cloned().unwrap_or(V::Null),
        _ => V::Null,
    };
    items.sort_by(|a, b| {
        if keys.is_empty() {
            return compare(a, b);
        }
        for (k, desc) in &keys {
            let o = compare(&field(a, k), &field(b, k));
            let o = if *desc { o.reverse() } else { o };
            if o != std::cmp::Ordering::Equal {
                return o;
            }
        }
        std::cmp::Ordering::Equal
    });
    V::list(items)
}

fn compare(a: &V, b: &V) -> std::cmp::Ordering {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(std::cmp::Ordering::Equal),
        _ => a.text().cmp(&b.text()),
    }
}

/// Java's `String.format` for the conversions templates use: `%s`, `%d` and `%f` with
/// flags `0` and `-`, a width and a precision, and `%%` and `%n`.
fn printf(format: &str, args: &[V]) -> String {
    let mut out = String::new();
    let mut next = args.iter();
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = String::new();
        while let Some(&d) = chars.peek() {
            if d.is_ascii_digit() || matches!(d, '-' | '.' | '0' | '+' | ',') {
                spec.push(d);
                chars.next();
            } else {
                break;
            }
        }
        let Some(conv) = chars.next() else { break };
        let left = spec.starts_with('-');
        let zero = spec.trim_start_matches('-').starts_with('0');
        let (width, precision) = match spec.trim_start_matches(['-', '0', '+']).split_once('.') {
            Some((w, p)) => (w.parse().unwrap_or(0), p.parse::<usize>().ok()),
            None => (
                spec.trim_start_matches(['-', '0', '+'])
                    .parse()
                    .unwrap_or(0),
                None,
            ),
        };
        // Bounded like every other output.
        let (width, precision): (usize, Option<usize>) =
            (width.min(10_000), precision.map(|p| p.min(100)));
        let body = match conv {
            '%' => "%".to_string(),
            'n' => "\n".to_string(),
            'd' => next
                .next()
                .and_then(V::as_f64)
                .map_or_else(String::new, |n| (n as i64).to_string()),
            'f' => next
                .next()
                .and_then(V::as_f64)
                .map_or_else(String::new, |n| {
                    format!("{n:.prec$}", prec = precision.unwrap_or(6))
                }),
            _ => next.next().map(V::text).unwrap_or_else(|| "null".into()),
        };
        let len = body.chars().count();
        if len >= width {
            out.push_str(&body);
        } else if left {
            out.push_str(&body);
            out.push_str(&" ".repeat(width - len));
        } else if zero && matches!(conv, 'd' | 'f') {
            let (sign, digits) = body
                .strip_prefix('-')
                .map_or(("", body.as_str()), |d| ("-", d));
            out.push_str(sign);
            out.push_str(&"0".repeat(width - len));
            out.push_str(digits);
        } else {
            out.push_str(&" ".repeat(width - len));
            out.push_str(&body);
        }
    }
    out
}

/// MockServer 8's helper objects, available to its templates beside the velocity-tools:
/// `$strings`, `$jsonTransform`, `$dates`, `$calc` and `$jwt`.
pub(super) fn helper(tool: Tool, name: &str, args: &[V], budget: &Budget) -> R {
    let s = |i: usize| args.get(i).map(V::text).unwrap_or_default();
    let n = |i: usize| args.get(i).and_then(num).and_then(|v| v.as_f64());
    if args.iter().any(V::is_null) {
        return Ok(V::Null);
    }
    if !budget.spend(1 + args.iter().map(|a| a.text().len() as u64 / 16).sum::<u64>()) {
        return Err("the template ran out of its work budget".into());
    }
    Ok(match tool {
        Tool::Strings => match (name, args.len()) {
            ("trim", 1) => V::str(s(0).trim()),
            ("capitalize", 1) => display("capitalize", args),
            ("uppercase", 1) => V::str(s(0).to_uppercase()),
            ("lowercase", 1) => V::str(s(0).to_lowercase()),
            ("urlEncode", 1) => V::str(crate::handlebars::form_encode(&s(0))),
            ("urlDecode", 1) => V::str(url_decode(&s(0))),
            ("base64Encode", 1) => {
                use base64::Engine as _;
                V::str(base64::engine::general_purpose::STANDARD.encode(s(0)))
            }
            ("base64Decode", 1) => {
                use base64::Engine as _;
                match base64::engine::general_purpose::STANDARD.decode(s(0).trim()) {
                    Ok(b) => V::str(String::from_utf8_lossy(&b)),
                    Err(_) => V::Null,
                }
            }
            ("substringBefore", 2) => {
                let (v, sep) = (s(0), s(1));
                V::str(v.split_once(&sep).map_or(v.as_str(), |(a, _)| a))
            }
            ("substringAfter", 2) => {
                let (v, sep) = (s(0), s(1));
                V::str(v.split_once(&sep).map_or("", |(_, b)| b))
            }
            ("length", 1) => V::Int(s(0).encode_utf16().count() as i64),
            ("contains", 2) => V::Bool(s(0).contains(&s(1))),
            ("replace", 3) => {
                let n = if s(1).is_empty() {
                    s(0).chars().count() + 1
                } else {
                    s(0).matches(s(1).as_str()).count()
                };
                super::methods::fits(s(0).len() + n.saturating_mul(s(2).len()), budget)?;
                V::str(s(0).replace(&s(1), &s(2)))
            }
            _ => V::Null,
        },
        Tool::JsonTransform => {
            let parse = |i: usize| serde_json::from_str::<serde_json::Value>(&s(i)).ok();
            match (name, args.len()) {
                ("merge", 2) => match (parse(0), parse(1)) {
                    (
                        Some(serde_json::Value::Object(mut a)),
                        Some(serde_json::Value::Object(b)),
                    ) => {
                        a.extend(b);
                        V::str(serde_json::Value::Object(a).to_string())
                    }
                    _ => V::Null,
                },
                ("sort", 2) => match parse(0) {
                    Some(serde_json::Value::Array(mut items)) => {
                        let field = s(1);
                        items.sort_by(|a, b| {
                            let key = |v: &serde_json::Value| v.get(&field).cloned();
                            match (key(a), key(b)) {
                                (
                                    Some(serde_json::Value::Number(x)),
                                    Some(serde_json::Value::Number(y)),
                                ) => x
                                    .as_f64()
                                    .partial_cmp(&y.as_f64())
                                    .unwrap_or(std::cmp::Ordering::Equal),
                                (x, y) => {
                                    let t = |v: Option<serde_json::Value>| match v {
                                        Some(serde_json::Value::String(s)) => s,
                                        Some(other) => other.to_string(),
                                        None => String::new(),
                                    };
                                    t(x).cmp(&t(y))
                                }
                            }
                        });
                        V::str(serde_json::Value::Array(items).to_string())
                    }
                    _ => V::Null,
                },
                ("arrayAdd", 2) => match parse(0) {
                    Some(serde_json::Value::Array(mut items)) => {
                        items.push(parse(1).unwrap_or_else(|| serde_json::Value::String(s(1))));
                        V::str(serde_json::Value::Array(items).to_string())
                    }
                    _ => V::Null,
                },
                ("remove", 2) => match parse(0) {
                    Some(serde_json::Value::Object(mut o)) => {
                        o.shift_remove(&s(1));
                        V::str(serde_json::Value::Object(o).to_string())
                    }
                    _ => V::Null,
                },
                ("prettyPrint", 1) => match parse(0) {
                    Some(v) => V::str(crate::handlebars::jackson_pretty(&v)),
                    None => V::Null,
                },
                ("field", 2) => match parse(0).as_ref().and_then(|v| v.get(s(1))) {
                    Some(serde_json::Value::String(x)) => V::str(x.as_str()),
                    Some(serde_json::Value::Null) | None => V::Null,
                    Some(other) => V::str(other.to_string()),
                },
                ("size", 1) => match parse(0) {
                    Some(serde_json::Value::Array(a)) => V::Int(a.len() as i64),
                    Some(serde_json::Value::Object(o)) => V::Int(o.len() as i64),
                    _ => V::Null,
                },
                _ => V::Null,
            }
        }
        Tool::Dates => {
            let now = jiff::Timestamp::now();
            let shifted = |secs: f64| {
                now.checked_add(jiff::SignedDuration::from_secs(secs as i64))
                    .map_or(V::Null, |t| V::str(t.to_string()))
            };
            match (name, n(0)) {
                ("format", _) => date("get", args),
                ("toString", _) => V::str(now.to_string()),
                ("plusSeconds", Some(x)) => shifted(x),
                ("plusMinutes", Some(x)) => shifted(x * 60.0),
                ("plusHours", Some(x)) => shifted(x * 3600.0),
                ("plusDays", Some(x)) => shifted(x * 86400.0),
                ("minusSeconds", Some(x)) => shifted(-x),
                ("minusMinutes", Some(x)) => shifted(-x * 60.0),
                ("minusHours", Some(x)) => shifted(-x * 3600.0),
                ("minusDays", Some(x)) => shifted(-x * 86400.0),
                ("epochSeconds", _) => V::Int(now.as_second()),
                ("epochMillis", _) => V::Int(now.as_millisecond()),
                ("epochSecondsPlus", Some(x)) => V::str((now.as_second() + x as i64).to_string()),
                ("epochSecondsMinus", Some(x)) => V::str((now.as_second() - x as i64).to_string()),
                _ => V::Null,
            }
        }
        Tool::Calc => match (name, args.len()) {
            ("randomInt", 2) => match (n(0), n(1)) {
                (Some(a), Some(b))
                    if b >= a && a >= i64::MIN as f64 / 2.0 && b <= i64::MAX as f64 / 2.0 =>
                {
                    let (a, b) = (a as i64, b as i64);
                    let span = (b - a) as u64 + 1;
                    V::Int(a + (rand::random::<u64>() % span) as i64)
                }
                _ => V::Null,
            },
            ("randomDouble", 0) => V::Float(rand::random::<f64>()),
            ("randomDouble", 2) => match (n(0), n(1)) {
                (Some(a), Some(b)) => V::Float(a + rand::random::<f64>() * (b - a)),
                _ => V::Null,
            },
            ("abs", 1) => match args.first().and_then(num) {
                Some(V::Int(i)) => i.checked_abs().map_or(V::Null, V::Int),
                Some(v) => V::Float(v.as_f64().unwrap_or(0.0).abs()),
                None => V::Null,
            },
            ("min" | "max", 2) => match (args.first().and_then(num), args.get(1).and_then(num)) {
                (Some(V::Int(a)), Some(V::Int(b))) => {
                    V::Int(if name == "min" { a.min(b) } else { a.max(b) })
                }
                (Some(a), Some(b)) => {
                    let (a, b) = (a.as_f64().unwrap_or(0.0), b.as_f64().unwrap_or(0.0));
                    V::Float(if name == "min" { a.min(b) } else { a.max(b) })
                }
                _ => V::Null,
            },
            ("round", 2) => match (n(0), n(1)) {
                (Some(v), Some(scale)) => {
                    let f = 10f64.powi(scale as i32);
                    V::Float(round_half_up(v * f) / f)
                }
                _ => V::Null,
            },
            ("format", 2) => match n(0) {
                Some(v) => V::str(decimal_format(&s(1), v)),
                None => V::Null,
            },
            ("ceil", 1) => n(0).map_or(V::Null, |v| V::Float(v.ceil())),
            ("floor", 1) => n(0).map_or(V::Null, |v| V::Float(v.floor())),
            _ => V::Null,
        },
        Tool::Jwt => match (name, args) {
            ("generate", []) => V::str(jwt(&serde_json::Map::new())?),
            ("generate", [V::Map(m)]) => {
                let claims = m
                    .borrow()
                    .entries
                    .iter()
                    .map(|(k, v)| {
                        (
                            k.clone(),
                            match v {
                                V::Int(i) => serde_json::Value::from(*i),
                                V::Bool(b) => serde_json::Value::Bool(*b),
                                other => serde_json::Value::String(other.text()),
                            },
                        )
                    })
                    .collect();
                V::str(jwt(&claims)?)
            }
            ("jwks", []) | ("getJwks", []) => V::str(jwks()),
            _ => V::Null,
        },
        _ => V::Null,
    })
}

/// The RSA key MockServer-style JWTs are signed with: a fixed test key, public in this
/// repository (MockServer makes one per run). Tokens from a mock are never to be trusted.
const JWT_KEY: &[u8] = include_bytes!("jwt-test-key.pk8");

fn jwt_key() -> Result<ring::rsa::KeyPair, String> {
    ring::rsa::KeyPair::from_pkcs8(JWT_KEY).map_err(|e| format!("the JWT key: {e}"))
}

fn b64url(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// An RS256 JWT with the default claims (`sub`, `iss`, `aud`, `iat`, `exp` an hour on) and
/// `claims` over them.
fn jwt(claims: &serde_json::Map<String, serde_json::Value>) -> Result<String, String> {
    let key = jwt_key()?;
    let now = jiff::Timestamp::now().as_second();
    let mut body = serde_json::json!({
        "sub": "mockserver-user",
        "iss": "https://mockserver.example",
        "aud": "mockserver-audience",
        "iat": now,
        "exp": now + 3600,
    });
    if let Some(o) = body.as_object_mut() {
        o.extend(claims.clone());
    }
    let header = serde_json::json!({"alg": "RS256", "typ": "JWT", "kid": "mockserver"});
    let signing_input = format!(
        "{}.{}",
        b64url(header.to_string().as_bytes()),
        b64url(body.to_string().as_bytes())
    );
    let mut sig = vec![0u8; key.public().modulus_len()];
    key.sign(
        &ring::signature::RSA_PKCS1_SHA256,
        &ring::rand::SystemRandom::new(),
        signing_input.as_bytes(),
        &mut sig,
    )
    .map_err(|e| format!("signing the JWT: {e}"))?;
    Ok(format!("{signing_input}.{}", b64url(&sig)))
}

/// The public key of [`jwt`]'s tokens as a JSON Web Key Set.
fn jwks() -> String {
    let Ok(key) = jwt_key() else {
        return "{\"keys\":[]}".into();
    };
    let parts: ring::rsa::PublicKeyComponents<Vec<u8>> = key.public().into();
    let (n, e) = (parts.n, parts.e);
    serde_json::json!({"keys": [{"kty": "RSA", "kid": "mockserver", "use": "sig", "alg": "RS256", "n": b64url(&n), "e": b64url(&e)}]}).to_string()
}
