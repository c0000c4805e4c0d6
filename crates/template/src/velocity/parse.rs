//! Velocity's template language, parsed once: text, references (`$a.b(1)[0]`, `$!a`,
//! `${a}`), the directives `#set`, `#if/#elseif/#else/#end`, `#foreach`, `#break` and
//! `#stop`, comments (`##`, `#* *#`), unparsed blocks (`#[[ ]]#`) and escapes (`\$a`, `\#if`).
//!
//! Whitespace is gobbled as Velocity 2's default `space.gobbling = lines` does: a line that
//! holds only a directive (and spaces) leaves no trace in the output, neither its
//! indentation nor its line end.

/// A parsed node of a template.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    Text(String),
    Ref(Reference),
    /// `\$a` with `slashes` backslashes before the reference.
    Escaped {
        slashes: usize,
        reference: Reference,
    },
    Set {
        target: Reference,
        value: Expr,
    },
    If {
        branches: Vec<(Expr, Vec<Node>)>,
        otherwise: Option<Vec<Node>>,
    },
    Foreach {
        var: String,
        items: Expr,
        body: Vec<Node>,
        otherwise: Option<Vec<Node>>,
    },
    Break,
    Stop,
    /// `#define($name)…#end`: the block, rendered where `$name` is.
    Define {
        name: String,
        body: std::sync::Arc<Vec<Node>>,
    },
    /// `#evaluate(expr)`: the expression's text, parsed and rendered as a template.
    Evaluate(Expr),
    /// `#macro(name $a $b)…#end`.
    Macro {
        name: String,
        params: Vec<String>,
        body: std::sync::Arc<Vec<Node>>,
    },
    /// `#name(arg arg)`: a call of a macro defined before.
    Call {
        name: String,
        args: Vec<Expr>,
    },
    /// A directive that always fails when rendered (`#include`, `#parse`: standin has no
    /// files to read), as it fails in MockServer without the file.
    Fail(String),
}

/// `$root.part.part…` as written.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Reference {
    /// `$!a`: renders nothing when it has no value.
    pub quiet: bool,
    pub root: String,
    pub parts: Vec<Part>,
    /// The reference as written, rendered when it has no value.
    pub source: String,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Part {
    Prop(String),
    Call(String, Vec<Expr>),
    Index(Expr),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Lit {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    Lit(Lit),
    /// A double-quoted string with references or directives in it.
    Interpolated(Vec<Node>),
    Ref(Reference),
    List(Vec<Expr>),
    Range(Box<Expr>, Box<Expr>),
    Map(Vec<(Expr, Expr)>),
    Not(Box<Expr>),
    Neg(Box<Expr>),
    Bin(Op, Box<Expr>, Box<Expr>),
}

/// Blocks nest at most this deep, and expressions at most this deep.
const MAX_NESTING: usize = 64;

/// A parse error with its line and column (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParseError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.column, self.message
        )
    }
}

/// Parses a whole template.
pub(crate) fn parse(src: &str) -> Result<Vec<Node>, ParseError> {
    let mut p = Parser {
        s: src,
        i: 0,
        depth: 0,
        macros: Default::default(),
    };
    let (nodes, end) = p.block(false)?;
    match end {
        Closer::Eof => Ok(nodes),
        other => Err(p.error_at(
            p.i,
            format!("{} without an open #if or #foreach", other.word()),
        )),
    }
}

/// What ended a block.
#[derive(Debug, Clone, PartialEq)]
enum Closer {
    Eof,
    End,
    Else,
    ElseIf(Expr),
}

impl Closer {
    fn word(&self) -> &'static str {
        match self {
            Closer::Eof => "the end of the template",
            Closer::End => "#end",
            Closer::Else => "#else",
            Closer::ElseIf(_) => "#elseif",
        }
    }
}

struct Parser<'s> {
    s: &'s str,
    i: usize,
    depth: usize,
    /// Macros defined so far: `#name(…)` calls one.
    macros: std::collections::HashSet<String>,
}

fn ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// MockServer's Velocity allows hyphens in reference names (`$request.headers.User-Agent`).
fn ref_char(c: char) -> bool {
    ident_char(c) || c == '-'
}

const DIRECTIVES: &[&str] = &[
    "set",
    "if",
    "ifnull",
    "ifnotnull",
    "elseif",
    "else",
    "end",
    "foreach",
    "break",
    "stop",
    "macro",
    "include",
    "parse",
    "evaluate",
    "define",
];

impl<'s> Parser<'s> {
    fn rest(&self) -> &'s str {
        &self.s[self.i..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn error_at(&self, at: usize, message: String) -> ParseError {
        let before = &self.s[..at.min(self.s.len())];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        ParseError {
            line,
            column,
            message,
        }
    }

    fn error(&self, message: impl Into<String>) -> ParseError {
        self.error_at(self.i, message.into())
    }

    fn nest(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(self.error(format!("nesting deeper than {MAX_NESTING}")));
        }
        Ok(())
    }

    /// Whether only spaces and tabs stand between the start of its line and `at`.
    fn starts_line(&self, at: usize) -> bool {
        let line_start = self.s[..at].rfind('\n').map_or(0, |n| n + 1);
        self.s[line_start..at]
            .chars()
            .all(|c| c == ' ' || c == '\t')
    }

    /// Velocity 2's `lines` gobbling for a directive from `start` to the parser's position:
    /// the indentation before a directive that starts its line is dropped; the spaces and
    /// line break after it are dropped when `trailing` says so.
    fn gobble(&mut self, start: usize, text: &mut String, trailing: bool) {
        if self.starts_line(start) {
            let kept = text.trim_end_matches([' ', '\t']).len();
            text.truncate(kept);
        }
        if trailing {
            let after = self.rest();
            let spaces = after.len() - after.trim_start_matches([' ', '\t']).len();
            let tail = &after[spaces..];
            if tail.starts_with("\r\n") {
                self.i += spaces + 2;
            } else if tail.starts_with('\n') {
                self.i += spaces + 1;
            }
        }
    }

    /// Parses nodes until EOF or a block end (`#end`, `#else`, `#elseif`).
    fn block(&mut self, opener_starts_line: bool) -> Result<(Vec<Node>, Closer), ParseError> {
        let mut nodes = Vec::new();
        let mut text = String::new();
        macro_rules! flush {
            () => {
                if !text.is_empty() {
                    nodes.push(Node::Text(std::mem::take(&mut text)));
                }
            };
        }
        while let Some(c) = self.peek() {
            match c {
                '\\' => {
                    let slashes = self.rest().len() - self.rest().trim_start_matches('\\').len();
                    let after = self.i + slashes;
                    let next = self.s[after..].chars().next();
                    if next == Some('$') {
                        let save = self.i;
                        self.i = after;
                        if let Some(reference) = self.reference()? {
                            flush!();
                            nodes.push(Node::Escaped { slashes, reference });
                            continue;
                        }
                        self.i = save;
                    } else if next == Some('#') && self.directive_follows(after + 1) {
                        text.push_str(&"\\".repeat(slashes / 2));
                        self.i = after;
                        if slashes % 2 == 1 {
                            // An escaped directive is text, name and all.
                            text.push('#');
                            self.i += 1;
                            let name_len = self.rest().len()
                                - self.rest().trim_start_matches(ident_char).len();
                            text.push_str(&self.rest()[..name_len]);
                            self.i += name_len;
                        }
                        continue;
                    }
                    text.push_str(&self.s[self.i..after]);
                    self.i = after;
                }
                '$' => {
                    if let Some(r) = self.reference()? {
                        flush!();
                        nodes.push(Node::Ref(r));
                    } else {
                        text.push('$');
                        self.i += 1;
                    }
                }
                '#' => {
                    let start = self.i;
                    let rest = self.rest();
                    if rest.starts_with("##") {
                        let end = rest.find('\n').map_or(rest.len(), |n| n + 1);
                        // A comment alone on its line takes its indentation with it.
                        let line_start = self.s[..start].rfind('\n').map_or(0, |n| n + 1);
                        if self.s[line_start..start]
                            .chars()
                            .all(|c| c == ' ' || c == '\t')
                        {
                            let kept = text.trim_end_matches([' ', '\t']).len();
                            text.truncate(kept);
                        }
                        self.i += end;
                    } else if rest.starts_with("#*") {
                        let end = rest
                            .strip_prefix("#*")
                            .unwrap_or_default()
                            .find("*#")
                            .ok_or_else(|| self.error("a #* comment is not closed by *#"))?;
                        self.i += 2 + end + 2;
                    } else if rest.starts_with("#[[") {
                        let end = rest
                            .strip_prefix("#[[")
                            .unwrap_or_default()
                            .find("]]#")
                            .ok_or_else(|| self.error("#[[ is not closed by ]]#"))?;
                        text.push_str(&rest[3..3 + end]);
                        self.i += 3 + end + 3;
                    } else if let Some((name, formal)) = self.directive_name() {
                        match self.directive(start, &name, formal, &mut text, opener_starts_line)? {
                            Step::Node(n) => {
                                flush!();
                                nodes.push(n);
                            }
                            Step::End(end) => {
                                flush!();
                                return Ok((nodes, end));
                            }
                        }
                    } else {
                        text.push('#');
                        self.i += 1;
                    }
                }
                _ => {
                    let run = self
                        .rest()
                        .find(['\\', '$', '#'])
                        .unwrap_or(self.rest().len());
                    let run = run.max(c.len_utf8());
                    text.push_str(&self.rest()[..run]);
                    self.i += run;
                }
            }
        }
        flush!();
        Ok((nodes, Closer::Eof))
    }

    /// Whether a directive name starts at byte `at` (after a `#`).
    fn directive_follows(&self, at: usize) -> bool {
        let rest = &self.s[at..];
        let rest = rest.strip_prefix('{').unwrap_or(rest);
        DIRECTIVES
            .iter()
            .any(|d| rest.starts_with(d) && !rest[d.len()..].starts_with(|c: char| ident_char(c)))
    }

    /// At `#`: the directive's name if one follows (`#if`, `#{if}`); consumes it.
    fn directive_name(&mut self) -> Option<(String, bool)> {
        let rest = &self.rest()[1..];
        let (formal, body) = match rest.strip_prefix('{') {
            Some(b) => (true, b),
            None => (false, rest),
        };
        let len = body.len() - body.trim_start_matches(ident_char).len();
        if len == 0 || !body.starts_with(ident_start) {
            return None;
        }
        let name = &body[..len];
        // `#elseif` and `#else` share a prefix; the longest name wins, as in Velocity.
        if !DIRECTIVES.contains(&name) && !self.macros.contains(name) {
            // `#end` directly followed by text, e.g. `#endif`: Velocity reads `#end` only in
            // the formal form. Anything else is text.
            return None;
        }
        if formal && !body[len..].starts_with('}') {
            return None;
        }
        self.i += 1 + usize::from(formal) + len + usize::from(formal);
        Some((name.to_string(), formal))
    }

    fn directive(
        &mut self,
        start: usize,
        name: &str,
        _formal: bool,
        text: &mut String,
        opener_starts_line: bool,
    ) -> Result<Step, ParseError> {
        let line = self.starts_line(start);
        match name {
            "set" => {
                self.open_paren("#set")?;
                self.skip_ws();
                let target = self.reference()?.ok_or_else(|| {
                    self.error("#set needs a reference to set, e.g. #set($a = 1)")
                })?;
                if target.quiet {
                    return Err(self.error("#set cannot set a quiet reference ($!)"));
                }
                self.skip_ws();
                if self.peek() != Some('=') {
                    return Err(self.error("#set needs \"=\" after the reference"));
                }
                self.i += 1;
                let value = self.expr()?;
                self.close_paren("#set")?;
                self.gobble(start, text, line);
                Ok(Step::Node(Node::Set { target, value }))
            }
            "if" | "ifnull" | "ifnotnull" => {
                self.open_paren("#if")?;
                let cond = self.expr()?;
                self.close_paren("#if")?;
                // MockServer's #ifnull / #ifnotnull test a reference for null.
                let cond = match name {
                    "ifnull" => Expr::Bin(Op::Eq, Box::new(cond), Box::new(Expr::Lit(Lit::Null))),
                    "ifnotnull" => {
                        Expr::Bin(Op::Ne, Box::new(cond), Box::new(Expr::Lit(Lit::Null)))
                    }
                    _ => cond,
                };
                self.gobble(start, text, true);
                self.nest()?;
                let mut branches = Vec::new();
                let mut otherwise = None;
                let mut cond = Some(cond);
                loop {
                    let (body, end) = self.block(line)?;
                    match end {
                        Closer::ElseIf(next) if otherwise.is_none() => {
                            branches.push((cond.take().expect("set"), body));
                            cond = Some(next);
                        }
                        Closer::Else if otherwise.is_none() => {
                            branches.push((cond.take().expect("set"), body));
                            let (body, end) = self.block(line)?;
                            otherwise = Some(body);
                            match end {
                                Closer::End => break,
                                Closer::Eof => {
                                    return Err(
                                        self.error_at(start, "#if is not closed by #end".into())
                                    );
                                }
                                other => {
                                    return Err(self.error(format!("{} after #else", other.word())));
                                }
                            }
                        }
                        Closer::End => {
                            if let Some(c) = cond.take() {
                                branches.push((c, body));
                            }
                            break;
                        }
                        Closer::Eof => {
                            return Err(self.error_at(start, "#if is not closed by #end".into()));
                        }
                        other => return Err(self.error(format!("{} after #else", other.word()))),
                    }
                }
                self.depth -= 1;
                Ok(Step::Node(Node::If {
                    branches,
                    otherwise,
                }))
            }
            "elseif" => {
                self.open_paren("#elseif")?;
                let cond = self.expr()?;
                self.close_paren("#elseif")?;
                self.gobble(start, text, true);
                Ok(Step::End(Closer::ElseIf(cond)))
            }
            "else" => {
                self.gobble(start, text, true);
                Ok(Step::End(Closer::Else))
            }
            "end" => {
                self.gobble(start, text, line || opener_starts_line);
                Ok(Step::End(Closer::End))
            }
            "foreach" => {
                self.open_paren("#foreach")?;
                self.skip_ws();
                let var = self.reference()?.ok_or_else(|| {
                    self.error("#foreach needs a variable, e.g. #foreach($item in $list)")
                })?;
                if !var.parts.is_empty() || var.quiet {
                    return Err(self.error("#foreach's variable must be a plain name, e.g. $item"));
                }
                self.skip_ws();
                if !self.rest().starts_with("in") || self.rest()[2..].starts_with(ident_char) {
                    return Err(self.error("#foreach needs \"in\" after its variable"));
                }
                self.i += 2;
                let items = self.expr()?;
                self.close_paren("#foreach")?;
                self.gobble(start, text, true);
                self.nest()?;
                let (body, end) = self.block(line)?;
                let (body, otherwise) = match end {
                    Closer::End => (body, None),
                    Closer::Else => {
                        let (other, end) = self.block(line)?;
                        if end != Closer::End {
                            return Err(
                                self.error_at(start, "#foreach is not closed by #end".into())
                            );
                        }
                        (body, Some(other))
                    }
                    _ => return Err(self.error_at(start, "#foreach is not closed by #end".into())),
                };
                self.depth -= 1;
                Ok(Step::Node(Node::Foreach {
                    var: var.root,
                    items,
                    body,
                    otherwise,
                }))
            }
            "break" => {
                self.gobble(start, text, line);
                Ok(Step::Node(Node::Break))
            }
            "stop" => {
                self.gobble(start, text, line);
                Ok(Step::Node(Node::Stop))
            }
            "macro" => {
                self.open_paren("#macro")?;
                self.skip_ws();
                let name = self
                    .ident()
                    .ok_or_else(|| self.error("#macro needs a name, e.g. #macro(greet $who)"))?;
                let mut params = Vec::new();
                loop {
                    self.skip_ws();
                    if self.peek() == Some(',') {
                        self.i += 1;
                        continue;
                    }
                    if self.peek() == Some(')') {
                        self.i += 1;
                        break;
                    }
                    match self.reference()? {
                        Some(r) if r.parts.is_empty() => params.push(r.root),
                        _ => {
                            return Err(
                                self.error("a #macro's parameters are references, e.g. $who")
                            );
                        }
                    }
                }
                self.gobble(start, text, true);
                self.macros.insert(name.clone());
                self.nest()?;
                let (body, end) = self.block(line)?;
                if end != Closer::End {
                    return Err(self.error_at(start, "#macro is not closed by #end".into()));
                }
                self.depth -= 1;
                Ok(Step::Node(Node::Macro {
                    name,
                    params,
                    body: std::sync::Arc::new(body),
                }))
            }
            called if self.macros.contains(called) => {
                self.open_paren(&format!("#{called}"))?;
                let mut args = Vec::new();
                loop {
                    self.skip_ws();
                    match self.peek() {
                        Some(',') => self.i += 1,
                        Some(')') => {
                            self.i += 1;
                            break;
                        }
                        None => return Err(self.error(format!("#{called}: expected \")\""))),
                        // A macro's arguments are values, not expressions.
                        _ => args.push(self.primary()?),
                    }
                }
                self.gobble(start, text, line);
                Ok(Step::Node(Node::Call {
                    name: called.to_string(),
                    args,
                }))
            }
            "include" | "parse" => {
                self.open_paren(&format!("#{name}"))?;
                let _ = self.expr()?;
                self.close_paren(&format!("#{name}"))?;
                self.gobble(start, text, line);
                Ok(Step::Node(Node::Fail(format!(
                    "#{name} reads a file, and standin's templates have none"
                ))))
            }
            "evaluate" => {
                self.open_paren("#evaluate")?;
                let e = self.expr()?;
                self.close_paren("#evaluate")?;
                self.gobble(start, text, line);
                Ok(Step::Node(Node::Evaluate(e)))
            }
            "define" => {
                self.open_paren("#define")?;
                self.skip_ws();
                let r = self
                    .reference()?
                    .ok_or_else(|| self.error("#define needs a name, e.g. #define($block)"))?;
                self.close_paren("#define")?;
                self.gobble(start, text, true);
                self.nest()?;
                let (body, end) = self.block(line)?;
                if end != Closer::End {
                    return Err(self.error_at(start, "#define is not closed by #end".into()));
                }
                self.depth -= 1;
                Ok(Step::Node(Node::Define {
                    name: r.root,
                    body: std::sync::Arc::new(body),
                }))
            }
            other => Err(self.error_at(
                start,
                format!("#{other} is not supported by standin's Velocity templates"),
            )),
        }
    }

    fn skip_ws(&mut self) {
        let rest = self.rest();
        self.i += rest.len() - rest.trim_start().len();
    }

    fn open_paren(&mut self, what: &str) -> Result<(), ParseError> {
        let rest = self.rest();
        let spaces = rest.len() - rest.trim_start_matches([' ', '\t']).len();
        if !rest[spaces..].starts_with('(') {
            return Err(self.error(format!("{what} needs \"(\"")));
        }
        self.i += spaces + 1;
        Ok(())
    }

    fn close_paren(&mut self, what: &str) -> Result<(), ParseError> {
        self.skip_ws();
        if self.peek() != Some(')') {
            return Err(self.error(format!("{what}: expected \")\"")));
        }
        self.i += 1;
        Ok(())
    }

    fn ident(&mut self) -> Option<String> {
        let rest = self.rest();
        if !rest.starts_with(ident_start) {
            return None;
        }
        let len = rest.len() - rest.trim_start_matches(ref_char).len();
        self.i += len;
        Some(rest[..len].to_string())
    }

    /// At `$`: a reference, or `None` (and nothing consumed) when none follows.
    fn reference(&mut self) -> Result<Option<Reference>, ParseError> {
        let start = self.i;
        let rest = self.rest();
        debug_assert!(rest.starts_with('$'));
        let mut j = 1;
        let quiet = rest[j..].starts_with('!');
        if quiet {
            j += 1;
        }
        let formal = rest[j..].starts_with('{');
        if formal {
            j += 1;
        }
        if !rest[j..].starts_with(ident_start) {
            return Ok(None);
        }
        self.i += j;
        let root = self.ident().expect("checked");
        let mut parts = Vec::new();
        loop {
            let rest = self.rest();
            if rest.starts_with('.') && rest[1..].starts_with(ident_start) {
                self.i += 1;
                let name = self.ident().expect("checked");
                if self.peek() == Some('(') {
                    self.i += 1;
                    let args = self.args(')')?;
                    parts.push(Part::Call(name, args));
                } else {
                    parts.push(Part::Prop(name));
                }
            } else if rest.starts_with('[') {
                self.i += 1;
                self.nest()?;
                let index = self.expr()?;
                self.depth -= 1;
                self.skip_ws();
                if self.peek() != Some(']') {
                    return Err(self.error("an index is not closed by \"]\""));
                }
                self.i += 1;
                parts.push(Part::Index(index));
            } else {
                break;
            }
        }
        if formal {
            if self.peek() != Some('}') {
                return Err(self.error("a ${ reference is not closed by \"}\""));
            }
            self.i += 1;
        }
        Ok(Some(Reference {
            quiet,
            root,
            parts,
            source: self.s[start..self.i].to_string(),
        }))
    }

    /// Comma-separated expressions up to `close` (consumed).
    fn args(&mut self, close: char) -> Result<Vec<Expr>, ParseError> {
        self.nest()?;
        let mut args = Vec::new();
        self.skip_ws();
        if self.peek() == Some(close) {
            self.i += 1;
            self.depth -= 1;
            return Ok(args);
        }
        loop {
            args.push(self.expr()?);
            self.skip_ws();
            match self.peek() {
                Some(',') => self.i += 1,
                Some(c) if c == close => {
                    self.i += 1;
                    break;
                }
                _ => return Err(self.error(format!("expected \",\" or \"{close}\""))),
            }
        }
        self.depth -= 1;
        Ok(args)
    }

    fn expr(&mut self) -> Result<Expr, ParseError> {
        self.nest()?;
        let e = self.binary(0)?;
        self.depth -= 1;
        Ok(e)
    }

    /// The operator at the parser's position for precedence `level`, consumed.
    fn operator(&mut self, level: usize) -> Option<Op> {
        self.skip_ws();
        let rest = self.rest();
        let word = |w: &str| rest.starts_with(w) && !rest[w.len()..].starts_with(ident_char);
        let (op, len) = match level {
            0 if rest.starts_with("||") => (Op::Or, 2),
            0 if word("or") => (Op::Or, 2),
            1 if rest.starts_with("&&") => (Op::And, 2),
            1 if word("and") => (Op::And, 3),
            2 if rest.starts_with("==") => (Op::Eq, 2),
            2 if rest.starts_with("!=") => (Op::Ne, 2),
            2 if word("eq") => (Op::Eq, 2),
            2 if word("ne") => (Op::Ne, 2),
            3 if rest.starts_with("<=") => (Op::Le, 2),
            3 if rest.starts_with(">=") => (Op::Ge, 2),
            3 if rest.starts_with('<') => (Op::Lt, 1),
            3 if rest.starts_with('>') => (Op::Gt, 1),
            3 if word("le") => (Op::Le, 2),
            3 if word("ge") => (Op::Ge, 2),
            3 if word("lt") => (Op::Lt, 2),
            3 if word("gt") => (Op::Gt, 2),
            4 if rest.starts_with('+') => (Op::Add, 1),
            4 if rest.starts_with('-') => (Op::Sub, 1),
            5 if rest.starts_with('*') => (Op::Mul, 1),
            5 if rest.starts_with('/') => (Op::Div, 1),
            5 if rest.starts_with('%') => (Op::Mod, 1),
            _ => return None,
        };
        self.i += len;
        Some(op)
    }

    fn binary(&mut self, level: usize) -> Result<Expr, ParseError> {
        if level > 5 {
            return self.unary();
        }
        let mut left = self.binary(level + 1)?;
        while let Some(op) = self.operator(level) {
            let right = self.binary(level + 1)?;
            left = Expr::Bin(op, Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, ParseError> {
        self.skip_ws();
        let rest = self.rest();
        if rest.starts_with('!') {
            self.i += 1;
            self.nest()?;
            let e = self.unary()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(e)));
        }
        if rest.starts_with("not") && !rest[3..].starts_with(ident_char) {
            self.i += 3;
            self.nest()?;
            let e = self.unary()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(e)));
        }
        if rest.starts_with('-') && !rest[1..].starts_with(|c: char| c.is_ascii_digit()) {
            self.i += 1;
            self.nest()?;
            let e = self.unary()?;
            self.depth -= 1;
            return Ok(Expr::Neg(Box::new(e)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, ParseError> {
        self.skip_ws();
        let Some(c) = self.peek() else {
            return Err(self.error("an expression is missing"));
        };
        match c {
            '$' => match self.reference()? {
                Some(r) => Ok(Expr::Ref(r)),
                None => Err(self.error("\"$\" must start a reference such as $name")),
            },
            '"' => self.double_quoted(),
            '\'' => {
                self.i += 1;
                let mut s = String::new();
                loop {
                    let Some(c) = self.peek() else {
                        return Err(self.error("a '…' string is not closed"));
                    };
                    self.i += c.len_utf8();
                    if c == '\'' {
                        if self.peek() == Some('\'') {
                            self.i += 1;
                            s.push('\'');
                            continue;
                        }
                        break;
                    }
                    s.push(c);
                }
                Ok(Expr::Lit(Lit::Str(s)))
            }
            '[' => {
                self.i += 1;
                self.skip_ws();
                if self.peek() == Some(']') {
                    self.i += 1;
                    return Ok(Expr::List(Vec::new()));
                }
                self.nest()?;
                let first = self.expr()?;
                self.skip_ws();
                if self.rest().starts_with("..") {
                    self.i += 2;
                    let last = self.expr()?;
                    self.skip_ws();
                    if self.peek() != Some(']') {
                        return Err(self.error("a range is not closed by \"]\""));
                    }
                    self.i += 1;
                    self.depth -= 1;
                    return Ok(Expr::Range(Box::new(first), Box::new(last)));
                }
                let mut items = vec![first];
                loop {
                    self.skip_ws();
                    match self.peek() {
                        Some(',') => {
                            self.i += 1;
                            items.push(self.expr()?);
                        }
                        Some(']') => {
                            self.i += 1;
                            break;
                        }
                        _ => return Err(self.error("expected \",\" or \"]\" in a list")),
                    }
                }
                self.depth -= 1;
                Ok(Expr::List(items))
            }
            '{' => {
                self.i += 1;
                self.nest()?;
                let mut entries = Vec::new();
                self.skip_ws();
                if self.peek() == Some('}') {
                    self.i += 1;
                } else {
                    loop {
                        let k = self.expr()?;
                        self.skip_ws();
                        if self.peek() != Some(':') {
                            return Err(self.error("expected \":\" in a map"));
                        }
                        self.i += 1;
                        let v = self.expr()?;
                        entries.push((k, v));
                        self.skip_ws();
                        match self.peek() {
                            Some(',') => self.i += 1,
                            Some('}') => {
                                self.i += 1;
                                break;
                            }
                            _ => return Err(self.error("expected \",\" or \"}\" in a map")),
                        }
                    }
                }
                self.depth -= 1;
                Ok(Expr::Map(entries))
            }
            '(' => {
                self.i += 1;
                let e = self.expr()?;
                self.close_paren("a parenthesis")?;
                Ok(e)
            }
            c if c.is_ascii_digit() || c == '-' => self.number(),
            c if ident_start(c) => {
                let start = self.i;
                let word = self.ident().expect("checked");
                match word.as_str() {
                    "true" => Ok(Expr::Lit(Lit::Bool(true))),
                    "false" => Ok(Expr::Lit(Lit::Bool(false))),
                    "null" => Ok(Expr::Lit(Lit::Null)),
                    _ => Err(self.error_at(
                        start,
                        format!(
                            "\"{word}\" is not a value; references start with $, strings are quoted"
                        ),
                    )),
                }
            }
            other => Err(self.error(format!("unexpected \"{other}\" in an expression"))),
        }
    }

    fn number(&mut self) -> Result<Expr, ParseError> {
        let rest = self.rest();
        let mut len = usize::from(rest.starts_with('-'));
        len += rest[len..].len()
            - rest[len..]
                .trim_start_matches(|c: char| c.is_ascii_digit())
                .len();
        let mut float = false;
        if rest[len..].starts_with('.') && rest[len + 1..].starts_with(|c: char| c.is_ascii_digit())
        {
            float = true;
            len += 1;
            len += rest[len..].len()
                - rest[len..]
                    .trim_start_matches(|c: char| c.is_ascii_digit())
                    .len();
        }
        if rest[len..].starts_with(['e', 'E']) {
            let after = &rest[len + 1..];
            let sign = usize::from(after.starts_with(['+', '-']));
            let digits = after[sign..].len()
                - after[sign..]
                    .trim_start_matches(|c: char| c.is_ascii_digit())
                    .len();
            if digits > 0 {
                float = true;
                len += 1 + sign + digits;
            }
        }
        let text = &rest[..len];
        let lit = if float {
            text.parse::<f64>().ok().map(Lit::Float)
        } else {
            text.parse::<i64>().ok().map(Lit::Int)
        };
        let lit = lit.ok_or_else(|| self.error(format!("\"{text}\" is not a number")))?;
        self.i += len;
        Ok(Expr::Lit(lit))
    }

    /// `"…"`: a literal, or a template of its own when it holds `$` or `#`.
    fn double_quoted(&mut self) -> Result<Expr, ParseError> {
        self.i += 1;
        let start = self.i;
        let mut s = String::new();
        loop {
            let Some(c) = self.peek() else {
                return Err(self.error_at(start - 1, "a \"…\" string is not closed".into()));
            };
            self.i += c.len_utf8();
            if c == '"' {
                if self.peek() == Some('"') {
                    self.i += 1;
                    s.push('"');
                    continue;
                }
                break;
            }
            s.push(c);
        }
        if !s.contains(['$', '#']) {
            return Ok(Expr::Lit(Lit::Str(s)));
        }
        let mut inner = Parser {
            s: &s,
            i: 0,
            depth: self.depth,
            macros: self.macros.clone(),
        };
        let (nodes, end) = inner.block(false).map_err(|e| ParseError {
            message: format!("in a string: {}", e.message),
            ..self.error_at(start, String::new())
        })?;
        if end != Closer::Eof {
            return Err(self.error_at(start, format!("{} inside a string", end.word())));
        }
        Ok(Expr::Interpolated(nodes))
    }
}

enum Step {
    Node(Node),
    End(Closer),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(nodes: &[Node]) -> String {
        nodes
            .iter()
            .map(|n| match n {
                Node::Text(t) => t.clone(),
                Node::Ref(r) => format!("<{}>", r.source),
                other => format!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn references_end_where_velocity_ends_them() {
        let n = parse("a $b.c. $!d ${e}f $g.h(1, 'x')[0] $ 5 $9").unwrap();
        assert_eq!(text(&n), "a <$b.c>. <$!d> <${e}>f <$g.h(1, 'x')[0]> $ 5 $9");
    }

    #[test]
    fn directives_alone_on_a_line_leave_no_trace() {
        let n = parse("a\n  #set($x = 1)\nb #set($y = 2) c\n#if(true)\nd\n#end\n").unwrap();
        assert_eq!(n[0], Node::Text("a\n".into()));
        assert!(matches!(n[1], Node::Set { .. }));
        assert_eq!(n[2], Node::Text("b ".into()));
        assert_eq!(n[4], Node::Text(" c\n".into()));
        let Node::If { branches, .. } = &n[5] else {
            panic!("{n:?}")
        };
        assert_eq!(branches[0].1, vec![Node::Text("d\n".into())]);
        assert_eq!(n.len(), 6);
    }

    #[test]
    fn comments_escapes_and_unparsed_blocks() {
        let n = parse("a ## note\nb #* x\ny *# c #[[$raw #if]]# \\#if \\\\").unwrap();
        assert_eq!(text(&n), "a b  c $raw #if #if \\\\");
    }

    #[test]
    fn expressions_have_velocitys_precedence() {
        let n = parse("#set($a = 1 + 2 * 3 == 7 && !false || $b lt -1)").unwrap();
        let Node::Set { value, .. } = &n[0] else {
            panic!()
        };
        let Expr::Bin(Op::Or, left, _) = value else {
            panic!("{value:?}")
        };
        assert!(matches!(**left, Expr::Bin(Op::And, _, _)), "{left:?}");
    }

    #[test]
    fn errors_name_line_and_column() {
        let e = parse("ok\n#if($a)\nx").unwrap_err();
        assert_eq!((e.line, e.column), (2, 1));
        assert!(e.message.contains("not closed"), "{e}");
        let e = parse("#set($a 1)").unwrap_err();
        assert!(e.message.contains("="), "{e}");
        let e = parse("#end").unwrap_err();
        assert!(e.message.contains("#end"), "{e}");
        assert!(matches!(parse("#include('x')").unwrap()[0], Node::Fail(_)));
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = "#if(true)".repeat(100) + &"#end".repeat(100);
        assert!(parse(&deep).unwrap_err().message.contains("nesting"));
        let deep = "#set($a = ".to_string() + &"[".repeat(200) + &"]".repeat(200) + ")";
        assert!(parse(&deep).is_err());
    }
}
