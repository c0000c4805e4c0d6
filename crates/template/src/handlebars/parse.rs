//! Handlebars text to a tree, once, when a route is published.
//!
//! As WireMock does, only the part of the text from the first `{{` to the last `}}` is
//! Handlebars; what comes before and after is copied as written. Inside it: mustaches
//! (`{{x}}`, `{{{x}}}`, no HTML escaping), blocks (`{{#if x}}…{{else if y}}…{{else}}…{{/if}}`),
//! comments (`{{! … }}`, `{{!-- … --}}`), whitespace control (`{{~`, `~}}`) and `\{{`.

/// One piece of a template.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    Text(String),
    /// `{{expr}}`: the value, or the helper's output.
    Expr(Call, usize),
    Block(Box<Block>),
}

/// `{{#name …}}body{{else}}inverse{{/name}}`.
#[derive(Debug, Clone)]
pub(crate) struct Block {
    pub call: Call,
    /// `as |item index|`: names for the block's item and index.
    pub names: Vec<String>,
    pub body: Vec<Node>,
    pub inverse: Vec<Node>,
    /// Byte offset of the block's opening tag, for error lines.
    pub at: usize,
}

/// A helper call or a lookup: `name param… key=value…`.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub head: Operand,
    pub params: Vec<Operand>,
    pub hash: Vec<(String, Operand)>,
}

#[derive(Debug, Clone)]
pub(crate) enum Operand {
    Path(Path),
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Null,
    Sub(Box<Call>),
}

/// `a.b.[0]`, `../x`, `@index`, `this`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Path {
    /// How many `../` steps up the context stack.
    pub up: usize,
    /// `@index` and its kind: data variables.
    pub data: bool,
    pub parts: Vec<String>,
}

impl Path {
    /// A single plain name, which may name a helper.
    pub(crate) fn simple(&self) -> Option<&str> {
        (self.up == 0 && !self.data && self.parts.len() == 1).then(|| self.parts[0].as_str())
    }
}

/// Where a parse failed.
#[derive(Debug)]
pub(crate) struct ParseError {
    pub at: usize,
    pub message: String,
}

fn err<T>(at: usize, message: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError {
        at,
        message: message.into(),
    })
}

enum Token {
    Text(String),
    /// The tag's inside (without braces and `~`), its offset, and the `~` on each side.
    Tag {
        inner: String,
        at: usize,
        strip_before: bool,
        strip_after: bool,
    },
}

/// Parses a whole template.
pub(crate) fn parse(text: &str) -> Result<Vec<Node>, ParseError> {
    let (Some(first), Some(last)) = (text.find("{{"), text.rfind("}}")) else {
        return Ok(vec![Node::Text(text.to_string())]);
    };
    if last < first {
        return Ok(vec![Node::Text(text.to_string())]);
    }
    let region_end = last + 2;
    let mut tokens = tokenize(&text[first..region_end], first)?;
    check_nesting(&tokens)?;
    strip_whitespace(&mut tokens);
    let mut nodes = Vec::new();
    if first > 0 {
        nodes.push(Node::Text(text[..first].to_string()));
    }
    let mut iter = tokens.into_iter().peekable();
    let (body, end) = parse_nodes(&mut iter, None)?;
    if let Some((name, at)) = end {
        return err(at, format!("{{{{/{name}}}}} closes no open block"));
    }
    nodes.extend(body);
    if region_end < text.len() {
        nodes.push(Node::Text(text[region_end..].to_string()));
    }
    Ok(nodes)
}

fn tokenize(region: &str, offset: usize) -> Result<Vec<Token>, ParseError> {
    let mut tokens = Vec::new();
    let mut text = String::new();
    let mut i = 0;
    let b = region.as_bytes();
    while i < region.len() {
        if region[i..].starts_with("\\{{") {
            // An escaped mustache is text, up to the next one.
            text.push_str("{{");
            i += 3;
            let next = region[i..].find("{{").map_or(region.len(), |n| i + n);
            text.push_str(&region[i..next]);
            i = next;
            continue;
        }
        if !region[i..].starts_with("{{") {
            let mut next = region[i..].find("{{").map_or(region.len(), |n| i + n);
            // Stop before a `\` that escapes the next `{{`.
            if next > i && region[..next].ends_with('\\') {
                next -= 1;
            }
            let next = if next == i {
                i + region[i..].chars().next().map_or(1, char::len_utf8)
            } else {
                next
            };
            text.push_str(&region[i..next]);
            i = next;
            continue;
        }
        let at = offset + i;
        if !text.is_empty() {
            tokens.push(Token::Text(std::mem::take(&mut text)));
        }
        // Comments.
        if region[i..].starts_with("{{!--") {
            let end = region[i..]
                .find("--}}")
                .ok_or(())
                .or_else(|()| err(at, "a comment {{!-- is not closed by --}}"))?;
            i += end + 4;
            continue;
        }
        if region[i..].starts_with("{{!") || region[i..].starts_with("{{~!") {
            let end = region[i..]
                .find("}}")
                .ok_or(())
                .or_else(|()| err(at, "a comment {{! is not closed by }}"))?;
            i += end + 2;
            continue;
        }
        let triple = region[i..].starts_with("{{{");
        let open = if triple { 3 } else { 2 };
        let close = if triple { "}}}" } else { "}}" };
        let start = i + open;
        let end = find_close(region, start, close).ok_or(()).or_else(|()| {
            err(
                at,
                format!("\"{}\" is not closed by \"{close}\"", &region[i..start]),
            )
        })?;
        let mut inner = &region[start..end];
        let mut strip_before = false;
        let mut strip_after = false;
        if let Some(rest) = inner.strip_prefix('~') {
            strip_before = true;
            inner = rest;
        }
        if let Some(rest) = inner.strip_suffix('~') {
            strip_after = true;
            inner = rest;
        }
        if b.get(start) == Some(&b'{') {
            return err(at, "raw blocks ({{{{ }}}}) are not supported");
        }
        tokens.push(Token::Tag {
            inner: inner.trim().to_string(),
            at,
            strip_before,
            strip_after,
        });
        i = end + close.len();
    }
    if !text.is_empty() {
        tokens.push(Token::Text(text));
    }
    Ok(tokens)
}

/// Blocks and sub-expressions nest at most this deep: parsing and rendering recurse on
/// them, and a template built to be deep must be refused, not overflow the stack.
pub(crate) const MAX_NESTING: usize = 64;

fn check_nesting(tokens: &[Token]) -> Result<(), ParseError> {
    let mut depth = 0usize;
    for t in tokens {
        let Token::Tag { inner, at, .. } = t else {
            continue;
        };
        if inner.starts_with('#') {
            depth += 1;
        } else if inner.starts_with('/') {
            depth = depth.saturating_sub(1);
        }
        // Parentheses outside quotes: sub-expressions.
        let (mut parens, mut max, mut quote) = (0usize, 0usize, None);
        for c in inner.chars() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '"' | '\'') => quote = Some(c),
                (None, '(') => {
                    parens += 1;
                    max = max.max(parens);
                }
                (None, ')') => parens = parens.saturating_sub(1),
                _ => {}
            }
        }
        if depth > MAX_NESTING || max > MAX_NESTING {
            return err(
                *at,
                format!("blocks or sub-expressions nest deeper than {MAX_NESTING}"),
            );
        }
    }
    Ok(())
}

/// The end of a tag: the first `close` outside quotes.
fn find_close(region: &str, start: usize, close: &str) -> Option<usize> {
    let b = region.as_bytes();
    let mut quote: Option<u8> = None;
    let mut i = start;
    while i < b.len() {
        match quote {
            Some(q) if b[i] == q => quote = None,
            Some(_) => {}
            None if b[i] == b'"' || b[i] == b'\'' => quote = Some(b[i]),
            // Bytes, not `&region[i..]`: `i` may sit inside a multi-byte character.
            None if b[i..].starts_with(close.as_bytes()) => return Some(i),
            None => {}
        }
        i += 1;
    }
    // An unbalanced quote: fall back to the first close.
    region[start..].find(close).map(|n| start + n)
}

/// Applies `~`: trims the whitespace of the text next to a tag that asks for it.
fn strip_whitespace(tokens: &mut [Token]) {
    for i in 0..tokens.len() {
        let (before, after) = match &tokens[i] {
            Token::Tag {
                strip_before,
                strip_after,
                ..
            } => (*strip_before, *strip_after),
            Token::Text(_) => continue,
        };
        if before
            && i > 0
            && let Token::Text(t) = &mut tokens[i - 1]
        {
            let kept = t.trim_end().len();
            t.truncate(kept);
        }
        if after && let Some(Token::Text(t)) = tokens.get_mut(i + 1) {
            *t = t.trim_start().to_string();
        }
    }
}

type Tokens = std::iter::Peekable<std::vec::IntoIter<Token>>;

/// Nodes, and the name and offset of the `{{/name}}` that ended them, if one did.
type Parsed = (Vec<Node>, Option<(String, usize)>);

/// Nodes up to the end, a `{{/…}}` or an `{{else}}` of the block `open` (its name).
/// Returns the closing name and offset when a `{{/name}}` ended the list.
fn parse_nodes(tokens: &mut Tokens, open: Option<&str>) -> Result<Parsed, ParseError> {
    let mut nodes = Vec::new();
    while let Some(token) = tokens.peek() {
        match token {
            Token::Text(_) => {
                let Some(Token::Text(t)) = tokens.next() else {
                    unreachable!()
                };
                nodes.push(Node::Text(t));
            }
            Token::Tag { inner, at, .. } => {
                let (inner, at) = (inner.clone(), *at);
                if let Some(name) = inner.strip_prefix('/') {
                    tokens.next();
                    return Ok((nodes, Some((name.trim().to_string(), at))));
                }
                if open.is_some() && (inner == "else" || inner.starts_with("else ") || inner == "^")
                {
                    // The caller reads the else.
                    return Ok((nodes, None));
                }
                tokens.next();
                if let Some(head) = inner.strip_prefix('#') {
                    nodes.push(Node::Block(Box::new(parse_block(tokens, head, at)?)));
                } else if inner.starts_with('^') || inner.starts_with('>') {
                    return err(at, format!("\"{{{{{inner}}}}}\" is not supported"));
                } else {
                    let inner = inner.strip_prefix('&').unwrap_or(&inner);
                    nodes.push(Node::Expr(parse_call(inner, at)?, at));
                }
            }
        }
    }
    Ok((nodes, None))
}

fn parse_block(tokens: &mut Tokens, head: &str, at: usize) -> Result<Block, ParseError> {
    let (head, names) = match head.split_once(" as |") {
        Some((h, rest)) => {
            let inner = rest.trim().trim_end_matches('|');
            (h, inner.split_whitespace().map(str::to_string).collect())
        }
        None => (head, Vec::new()),
    };
    let call = parse_call(head, at)?;
    let name = match &call.head {
        Operand::Path(p) => p.parts.join("."),
        _ => return err(at, "a block starts with a helper name"),
    };
    let (body, end) = parse_nodes(tokens, Some(&name))?;
    let mut block = Block {
        call,
        names,
        body,
        inverse: Vec::new(),
        at,
    };
    match end {
        Some((closing, cat)) => {
            if closing != name {
                return err(cat, format!("{{{{/{closing}}}}} closes {{{{#{name}}}}}"));
            }
            Ok(block)
        }
        None => {
            let Some(Token::Tag { inner, at: eat, .. }) = tokens.next() else {
                return err(
                    at,
                    format!("{{{{#{name}}}}} is not closed by {{{{/{name}}}}}"),
                );
            };
            let rest = inner.strip_prefix("else").unwrap_or("").trim().to_string();
            if rest.is_empty() {
                let (inverse, end) = parse_nodes(tokens, Some(&name))?;
                block.inverse = inverse;
                match end {
                    Some((closing, _)) if closing == name => Ok(block),
                    Some((closing, cat)) => {
                        err(cat, format!("{{{{/{closing}}}}} closes {{{{#{name}}}}}"))
                    }
                    None => err(eat, format!("a second {{{{else}}}} in {{{{#{name}}}}}")),
                }
            } else {
                // `{{else if x}}`: the rest is one more block in the inverse, closed by
                // this block's own closing tag.
                let chained = parse_chain(tokens, &rest, eat, &name)?;
                block.inverse = vec![Node::Block(Box::new(chained))];
                Ok(block)
            }
        }
    }
}

/// `{{else helper args}}…` up to the closing tag of the outer block `name`.
fn parse_chain(
    tokens: &mut Tokens,
    head: &str,
    at: usize,
    name: &str,
) -> Result<Block, ParseError> {
    let call = parse_call(head, at)?;
    let (body, end) = parse_nodes(tokens, Some(name))?;
    let mut block = Block {
        call,
        names: Vec::new(),
        body,
        inverse: Vec::new(),
        at,
    };
    match end {
        Some((closing, _)) if closing == name => Ok(block),
        Some((closing, cat)) => err(cat, format!("{{{{/{closing}}}}} closes {{{{#{name}}}}}")),
        None => {
            let Some(Token::Tag { inner, at: eat, .. }) = tokens.next() else {
                return err(at, format!("{{{{#{name}}}}} is not closed"));
            };
            let rest = inner.strip_prefix("else").unwrap_or("").trim().to_string();
            if rest.is_empty() {
                let (inverse, end) = parse_nodes(tokens, Some(name))?;
                block.inverse = inverse;
                match end {
                    Some((closing, _)) if closing == name => Ok(block),
                    _ => err(eat, format!("{{{{#{name}}}}} is not closed")),
                }
            } else {
                block.inverse = vec![Node::Block(Box::new(parse_chain(
                    tokens, &rest, eat, name,
                )?))];
                Ok(block)
            }
        }
    }
}

/// `name param… key=value…`.
pub(crate) fn parse_call(text: &str, at: usize) -> Result<Call, ParseError> {
    let mut lexer = Lexer { s: text, i: 0, at };
    let call = lexer.call(false)?;
    lexer.skip_ws();
    if lexer.i < text.len() {
        return err(
            at,
            format!("unexpected \"{}\" in \"{text}\"", &text[lexer.i..]),
        );
    }
    Ok(call)
}

struct Lexer<'a> {
    s: &'a str,
    i: usize,
    at: usize,
}

impl Lexer<'_> {
    fn skip_ws(&mut self) {
        while self.s[self.i..].starts_with(char::is_whitespace) {
            self.i += self.s[self.i..].chars().next().map_or(1, char::len_utf8);
        }
    }

    fn peek(&self) -> Option<char> {
        self.s[self.i..].chars().next()
    }

    /// A call up to the end (or `)` when `nested`).
    fn call(&mut self, nested: bool) -> Result<Call, ParseError> {
        self.skip_ws();
        let head = self.operand()?;
        let mut params = Vec::new();
        let mut hash = Vec::new();
        loop {
            self.skip_ws();
            match self.peek() {
                None => break,
                Some(')') if nested => break,
                Some(_) => {}
            }
            // `key=value`?
            let save = self.i;
            if let Some(key) = self.ident()
                && self.s[self.i..].starts_with('=')
            {
                self.i += 1;
                self.skip_ws();
                let value = self.operand()?;
                hash.push((key, value));
                continue;
            }
            self.i = save;
            if !hash.is_empty() {
                return err(self.at, "positional arguments come before key=value ones");
            }
            params.push(self.operand()?);
        }
        Ok(Call { head, params, hash })
    }

    fn ident(&mut self) -> Option<String> {
        let start = self.i;
        while let Some(c) = self.peek() {
            if c.is_alphanumeric() || c == '_' || c == '-' || c == '$' {
                self.i += c.len_utf8();
            } else {
                break;
            }
        }
        (self.i > start).then(|| self.s[start..self.i].to_string())
    }

    fn operand(&mut self) -> Result<Operand, ParseError> {
        self.skip_ws();
        let Some(c) = self.peek() else {
            return err(self.at, "an expression is missing");
        };
        match c {
            '(' => {
                self.i += 1;
                let call = self.call(true)?;
                if self.peek() != Some(')') {
                    return err(self.at, "a sub-expression \"(\" is not closed by \")\"");
                }
                self.i += 1;
                Ok(Operand::Sub(Box::new(call)))
            }
            '"' | '\'' => {
                self.i += 1;
                let mut out = String::new();
                loop {
                    let Some(ch) = self.peek() else {
                        return err(self.at, "a string is not closed");
                    };
                    self.i += ch.len_utf8();
                    if ch == c {
                        break;
                    }
                    if ch == '\\'
                        && let Some(n) = self.peek()
                        && n == c
                    {
                        self.i += n.len_utf8();
                        out.push(n);
                        continue;
                    }
                    out.push(ch);
                }
                Ok(Operand::Str(out))
            }
            _ => {
                let start = self.i;
                while let Some(ch) = self.peek() {
                    if ch.is_whitespace() || ch == ')' || ch == '(' || ch == '=' {
                        break;
                    }
                    if ch == '[' {
                        // A segment in brackets may hold anything but `]`.
                        let close = self.s[self.i..]
                            .find(']')
                            .map_or(self.s.len(), |n| self.i + n + 1);
                        self.i = close;
                        continue;
                    }
                    self.i += ch.len_utf8();
                }
                let word = &self.s[start..self.i];
                if word.is_empty() {
                    return err(self.at, format!("unexpected \"{c}\""));
                }
                Ok(literal(word).unwrap_or_else(|| Operand::Path(path(word))))
            }
        }
    }
}

fn literal(word: &str) -> Option<Operand> {
    match word {
        "true" => return Some(Operand::Bool(true)),
        "false" => return Some(Operand::Bool(false)),
        "null" | "undefined" => return Some(Operand::Null),
        _ => {}
    }
    let first = word.chars().next()?;
    if !(first.is_ascii_digit() || (first == '-' && word.len() > 1)) {
        return None;
    }
    if let Ok(i) = word.parse::<i64>() {
        return Some(Operand::Int(i));
    }
    word.parse::<f64>().ok().map(Operand::Float)
}

fn path(word: &str) -> Path {
    let mut rest = word;
    let mut up = 0;
    while let Some(r) = rest.strip_prefix("../") {
        up += 1;
        rest = r;
    }
    let data = rest.starts_with('@');
    let rest = rest.trim_start_matches('@');
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '[' => {
                for n in chars.by_ref() {
                    if n == ']' {
                        break;
                    }
                    cur.push(n);
                }
                parts.push(std::mem::take(&mut cur));
                if chars.peek() == Some(&'.') {
                    chars.next();
                }
            }
            '.' | '/' => {
                if !cur.is_empty() {
                    parts.push(std::mem::take(&mut cur));
                }
            }
            _ => cur.push(c),
        }
    }
    if !cur.is_empty() {
        parts.push(cur);
    }
    if parts.first().is_some_and(|p| p == "this") {
        parts.remove(0);
    }
    Path { up, data, parts }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_split_on_dots_and_brackets() {
        assert_eq!(
            path("request.query.a.[1]").parts,
            ["request", "query", "a", "1"]
        );
        assert_eq!(
            path("request.headers.[X-Id]").parts,
            ["request", "headers", "X-Id"]
        );
        assert_eq!(path("../name").up, 1);
        assert!(path("@index").data);
        assert!(path("this").parts.is_empty());
    }

    #[test]
    fn deep_nesting_and_multibyte_text_are_refused_or_read_never_a_panic() {
        let deep = "{{#if a}}".repeat(100_000) + &"{{/if}}".repeat(100_000);
        assert!(parse(&deep).unwrap_err().message.contains("nest deeper"));
        let subs = "{{x ".to_string() + &"(".repeat(10_000) + "y" + &")".repeat(10_000) + "}}";
        assert!(parse(&subs).unwrap_err().message.contains("nest deeper"));
        assert!(parse("{{é}} and {{ upper \"ü}}\" }}").is_ok());
        assert!(parse("ä {{é ü}} \\{{ö}} {{").is_ok());
    }

    #[test]
    fn text_outside_the_region_is_kept_and_errors_have_offsets() {
        let nodes = parse("a {{unclosed").unwrap();
        assert!(matches!(&nodes[..], [Node::Text(t)] if t == "a {{unclosed"));
        let e = parse("x {{#if a}} y").unwrap_err();
        assert!(e.message.contains("not closed"), "{}", e.message);
        let e = parse("{{#if a}}{{/each}}").unwrap_err();
        assert!(e.message.contains("closes"), "{}", e.message);
    }
}
