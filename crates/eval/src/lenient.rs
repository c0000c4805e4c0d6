//! JSON as MockServer reads it. Its Jackson `ObjectMapper` turns on every relaxation the
//! parser has, and expectation files in the wild rely on them, so the MockServer API and
//! initialization files read JSON the same way (the native API stays strict):
//!
//! - comments: `// line`, `/* block */` and `# line` (YAML style);
//! - field names without quotes (`{path: "/a"}`), and strings in single quotes;
//! - a trailing comma in an array or object (`[1, 2,]`, `{"a": 1,}`), and missing array
//!   values (`[1,,2]` is `[1, null, 2]`);
//! - control characters unescaped inside strings, and a backslash before any character
//!   (`\q` is `q`);
//! - numbers with leading zeros (`007`), and `NaN`, `Infinity`, `-Infinity` (read as
//!   `null`: JSON has no such numbers);
//! - anything after the first complete value is ignored.
//!
//! Strict JSON is tried first; only text it refuses comes here. Errors give the line and
//! column. Depth is bounded like the native reader's.

use serde_json::{Map, Number, Value};

/// The fields MockServer's body reader takes as a body of a kind, with the kind: an object
/// without a `type` but with one of these fields (`{"json": …}`, `{"string": …}`) is a body
/// of that kind, in a matcher or a response.
pub const BODY_FIELDS: &[(&str, &str)] = &[
    ("string", "STRING"),
    ("json", "JSON"),
    ("xml", "XML"),
    ("base64Bytes", "BINARY"),
    ("regex", "REGEX"),
    ("jsonSchema", "JSON_SCHEMA"),
    ("jsonPath", "JSON_PATH"),
    ("xmlSchema", "XML_SCHEMA"),
    ("xpath", "XPATH"),
    ("filePath", "FILE"),
];

/// The kind [`BODY_FIELDS`] gives an object without a `type`, if any.
///
/// ```
/// let o = serde_json::json!({"contentType": "application/json", "json": "{}"});
/// assert_eq!(standin_eval::lenient::implied_body_type(o.as_object().unwrap()), Some("JSON"));
/// ```
pub fn implied_body_type(o: &Map<String, Value>) -> Option<&'static str> {
    if o.keys().any(|k| k.eq_ignore_ascii_case("type")) {
        return None;
    }
    BODY_FIELDS
        .iter()
        .find(|(f, _)| o.keys().any(|k| k.eq_ignore_ascii_case(f)))
        .map(|(_, kind)| *kind)
}

/// Nested arrays and objects deeper than this are refused.
const MAX_DEPTH: usize = 128;

/// Where lenient parsing failed, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LenientError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl std::fmt::Display for LenientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} at line {} column {}",
            self.message, self.line, self.column
        )
    }
}

/// Strict JSON, or else JSON with MockServer's relaxations.
pub fn parse(text: &str) -> Result<Value, LenientError> {
    match serde_json::from_str::<Value>(text) {
        Ok(v) => Ok(v),
        Err(strict) => {
            let mut p = Parser {
                s: text.as_bytes(),
                text,
                i: 0,
                depth: 0,
            };
            p.value().map_err(|mut e| {
                // Say what strict JSON objected to when leniency does not help either.
                if e.message.is_empty() {
                    e.message = strict.to_string();
                }
                e
            })
        }
    }
}

struct Parser<'a> {
    s: &'a [u8],
    text: &'a str,
    i: usize,
    depth: usize,
}

impl Parser<'_> {
    fn error(&self, message: impl Into<String>) -> LenientError {
        let before = &self.text[..self.i.min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        LenientError {
            line,
            column,
            message: message.into(),
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    /// Skips whitespace and comments.
    fn skip(&mut self) -> Result<(), LenientError> {
        loop {
            match self.peek() {
                Some(b' ' | b'\t' | b'\n' | b'\r') => self.i += 1,
                Some(b'#') => self.line_comment(),
                Some(b'/') => match self.s.get(self.i + 1) {
                    Some(b'/') => self.line_comment(),
                    Some(b'*') => {
                        let start = self.i;
                        self.i += 2;
                        loop {
                            match self.peek() {
                                None => {
                                    self.i = start;
                                    return Err(self.error("a /* comment is not closed"));
                                }
                                Some(b'*') if self.s.get(self.i + 1) == Some(&b'/') => {
                                    self.i += 2;
                                    break;
                                }
                                Some(_) => self.i += 1,
                            }
                        }
                    }
                    _ => return Err(self.error("unexpected '/'")),
                },
                _ => return Ok(()),
            }
        }
    }

    fn line_comment(&mut self) {
        while let Some(c) = self.peek() {
            if c == b'\n' {
                break;
            }
            self.i += 1;
        }
    }

    fn value(&mut self) -> Result<Value, LenientError> {
        self.skip()?;
        match self.peek() {
            None => Err(self.error("the JSON ends where a value should be")),
            Some(b'{') => self.object(),
            Some(b'[') => self.array(),
            Some(q @ (b'"' | b'\'')) => self.string(q).map(Value::String),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => {
                let word = self.word().to_string();
                match word.as_str() {
                    "true" => Ok(Value::Bool(true)),
                    "false" => Ok(Value::Bool(false)),
                    "null" | "NaN" | "Infinity" => Ok(Value::Null),
                    "" => Err(self.error(format!(
                        "unexpected character '{}'",
                        self.text[self.i..].chars().next().unwrap_or(' ')
                    ))),
                    other => {
                        self.i -= other.len();
                        Err(self.error(format!("unexpected word \"{other}\"")))
                    }
                }
            }
        }
    }

    /// Letters, digits, `_` and `$`: a bare word or an unquoted field name.
    fn word(&mut self) -> &str {
        let start = self.i;
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80 {
                self.i += 1;
            } else {
                break;
            }
        }
        // Never splits a UTF-8 character: only ASCII stops the scan.
        &self.text[start..self.i]
    }

    fn enter(&mut self) -> Result<(), LenientError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error(format!("the JSON nests deeper than {MAX_DEPTH} levels")));
        }
        Ok(())
    }

    fn object(&mut self) -> Result<Value, LenientError> {
        self.enter()?;
        self.i += 1;
        let mut map = Map::new();
        loop {
            self.skip()?;
            match self.peek() {
                Some(b'}') => {
                    self.i += 1;
                    break;
                }
                None => return Err(self.error("an object is not closed")),
                _ => {}
            }
            let key = match self.peek() {
                Some(q @ (b'"' | b'\'')) => self.string(q)?,
                _ => {
                    let w = self.word().to_string();
                    if w.is_empty() {
                        return Err(self.error("a field name should be here"));
                    }
                    w
                }
            };
            self.skip()?;
            if self.peek() != Some(b':') {
                return Err(self.error(format!("':' should follow the field name \"{key}\"")));
            }
            self.i += 1;
            let v = self.value()?;
            // As Jackson's tree: a repeated field keeps its last value.
            map.insert(key, v);
            self.skip()?;
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    break;
                }
                None => return Err(self.error("an object is not closed")),
                Some(_) => return Err(self.error("',' or '}' should be here")),
            }
        }
        self.depth -= 1;
        Ok(Value::Object(map))
    }

    fn array(&mut self) -> Result<Value, LenientError> {
        self.enter()?;
        self.i += 1;
        let mut items = Vec::new();
        loop {
            self.skip()?;
            match self.peek() {
                Some(b']') => {
                    self.i += 1;
                    break;
                }
                // A missing value: `[,1]` and `[1,,2]` hold nulls.
                Some(b',') => {
                    self.i += 1;
                    items.push(Value::Null);
                    continue;
                }
                None => return Err(self.error("an array is not closed")),
                _ => {}
            }
            items.push(self.value()?);
            self.skip()?;
            match self.peek() {
                // A comma right before `]` is a trailing comma, not a missing value.
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    break;
                }
                None => return Err(self.error("an array is not closed")),
                Some(_) => return Err(self.error("',' or ']' should be here")),
            }
        }
        self.depth -= 1;
        Ok(Value::Array(items))
    }

    fn string(&mut self, quote: u8) -> Result<String, LenientError> {
        let start = self.i;
        self.i += 1;
        let mut out = String::new();
        loop {
            let rest = &self.text[self.i..];
            let Some(c) = rest.chars().next() else {
                self.i = start;
                return Err(self.error("a string is not closed"));
            };
            self.i += c.len_utf8();
            match c {
                c if c as u32 == u32::from(quote) => return Ok(out),
                '\\' => {
                    let Some(e) = self.text[self.i..].chars().next() else {
                        self.i = start;
                        return Err(self.error("a string is not closed"));
                    };
                    self.i += e.len_utf8();
                    match e {
                        'n' => out.push('\n'),
                        't' => out.push('\t'),
                        'r' => out.push('\r'),
                        'b' => out.push('\u{8}'),
                        'f' => out.push('\u{c}'),
                        'u' => out.push(self.unicode_escape()?),
                        // `\"`, `\\`, `\/`, `\'` and any other: the character itself.
                        other => out.push(other),
                    }
                }
                other => out.push(other),
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, LenientError> {
        let digits = self
            .text
            .get(self.i..self.i + 4)
            .filter(|d| d.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| self.error("\\u needs four hex digits"))?;
        self.i += 4;
        Ok(u32::from_str_radix(digits, 16).unwrap_or(0))
    }

    fn unicode_escape(&mut self) -> Result<char, LenientError> {
        let hi = self.hex4()?;
        if (0xD800..0xDC00).contains(&hi) && self.text[self.i..].starts_with("\\u") {
            let back = self.i;
            self.i += 2;
            let lo = self.hex4()?;
            if (0xDC00..0xE000).contains(&lo) {
                let c = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                return Ok(char::from_u32(c).unwrap_or('\u{FFFD}'));
            }
            self.i = back;
        }
        Ok(char::from_u32(hi).unwrap_or('\u{FFFD}'))
    }

    fn number(&mut self) -> Result<Value, LenientError> {
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
            if self.text[self.i..].starts_with("Infinity") {
                self.i += "Infinity".len();
                return Ok(Value::Null);
            }
        }
        let digits = |p: &mut Self| {
            let from = p.i;
            while p.peek().is_some_and(|c| c.is_ascii_digit()) {
                p.i += 1;
            }
            p.i > from
        };
        if !digits(self) {
            return Err(self.error("a number needs digits"));
        }
        let mut float = false;
        if self.peek() == Some(b'.') {
            self.i += 1;
            float = true;
            if !digits(self) {
                return Err(self.error("a number needs digits after '.'"));
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            float = true;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if !digits(self) {
                return Err(self.error("a number needs digits in its exponent"));
            }
        }
        let text = &self.text[start..self.i];
        // Leading zeros are allowed: `007` is 7.
        let (sign, body) = text.strip_prefix('-').map_or(("", text), |b| ("-", b));
        let trimmed = body.trim_start_matches('0');
        let body =
            if trimmed.is_empty() || trimmed.starts_with('.') || trimmed.starts_with(['e', 'E']) {
                format!("0{trimmed}")
            } else {
                trimmed.to_string()
            };
        let normal = format!("{sign}{body}");
        let n = if float {
            normal.parse::<f64>().ok().and_then(Number::from_f64)
        } else {
            normal
                .parse::<i64>()
                .map(Number::from)
                .or_else(|_| normal.parse::<u64>().map(Number::from))
                .ok()
                .or_else(|| normal.parse::<f64>().ok().and_then(Number::from_f64))
        };
        n.map(Value::Number)
            .ok_or_else(|| self.error(format!("\"{text}\" is not a number")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_relaxation_mockserver_turns_on() {
        let cases = [
            ("[{\"a\": 1},]", json!([{"a": 1}])),
            ("{\"a\": 1,}", json!({"a": 1})),
            ("[1,,2]", json!([1, null, 2])),
            ("[,1]", json!([null, 1])),
            ("// c\n{\"a\": /* in */ 1} # end", json!({"a": 1})),
            ("{a: 1, $b_2: 'x'}", json!({"a": 1, "$b_2": "x"})),
            ("{'a': 'it\\'s'}", json!({"a": "it's"})),
            (
                "{\"a\": \"line\nbreak\ttab\"}",
                json!({"a": "line\nbreak\ttab"}),
            ),
            ("{\"a\": \"\\q\\'\\/\"}", json!({"a": "q'/"})),
            (
                "{\"a\": 007, \"b\": -00.5, \"c\": 0e1}",
                json!({"a": 7, "b": -0.5, "c": 0.0}),
            ),
            ("[NaN, Infinity, -Infinity]", json!([null, null, null])),
            ("{\"a\": 1} trailing words", json!({"a": 1})),
            ("{\"a\": 1, \"a\": 2}", json!({"a": 2})),
            ("\"\\ud83d\\ude00\"", json!("😀")),
            ("{한글: '값'}", json!({"한글": "값"})),
        ];
        for (text, want) in cases {
            assert_eq!(parse(text), Ok(want), "{text}");
        }
    }

    #[test]
    fn what_even_jackson_refuses_names_line_and_column() {
        for (text, line, column, words) in [
            ("{\n  \"a\": 1\n  \"b\": 2\n}", 3, 3, "',' or '}'"),
            ("[1, 2", 1, 6, "not closed"),
            ("{\"a\" 1}", 1, 6, "':'"),
            ("{\"a\": tru}", 1, 7, "\"tru\""),
            ("{\"a\": /* open", 1, 7, "comment"),
            ("{\"a\": 'open", 1, 7, "string"),
            ("", 1, 1, "ends"),
        ] {
            let e = parse(text).unwrap_err();
            assert_eq!((e.line, e.column), (line, column), "{text}: {e}");
            assert!(e.message.contains(words), "{text}: {e}");
        }
        let deep = "[".repeat(200);
        assert!(parse(&deep).unwrap_err().message.contains("deeper"));
    }
}
