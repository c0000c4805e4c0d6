//! Splits an XPath 1.0 expression into tokens.
//!
//! The lexer applies the disambiguation rules of XPath 1.0 section 3.7 that depend on the
//! preceding token: after a token that can end an operand, `*` is multiplication and the
//! names `and`, `or`, `mod` and `div` are operators. The rules that depend on the
//! following token (a name before `(` is a function or node type, before `::` an axis) are
//! left to the parser, which sees the next token anyway.

/// One token and the byte offset where it starts.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Token {
    pub(super) kind: Tok,
    pub(super) at: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    LParen,
    RParen,
    LBracket,
    RBracket,
    Dot,
    DotDot,
    At,
    Comma,
    ColonColon,
    Slash,
    DoubleSlash,
    Pipe,
    Plus,
    Minus,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
    Mod,
    Div,
    Multiply,
    Literal(String),
    Number(f64),
    /// `*` as a name test.
    Star,
    /// `prefix:*`
    PrefixStar(String),
    /// A QName; whether it names an element, a function, a node type or an axis depends
    /// on the token after it.
    Name {
        prefix: Option<String>,
        local: String,
    },
    /// `$name`, which the parser refuses: there are no variables to bind.
    Variable(String),
}

impl Tok {
    /// How the token reads in an error message.
    pub(super) fn describe(&self) -> String {
        let fixed = match self {
            Tok::LParen => "(",
            Tok::RParen => ")",
            Tok::LBracket => "[",
            Tok::RBracket => "]",
            Tok::Dot => ".",
            Tok::DotDot => "..",
            Tok::At => "@",
            Tok::Comma => ",",
            Tok::ColonColon => "::",
            Tok::Slash => "/",
            Tok::DoubleSlash => "//",
            Tok::Pipe => "|",
            Tok::Plus => "+",
            Tok::Minus => "-",
            Tok::Eq => "=",
            Tok::Ne => "!=",
            Tok::Lt => "<",
            Tok::Le => "<=",
            Tok::Gt => ">",
            Tok::Ge => ">=",
            Tok::And => "and",
            Tok::Or => "or",
            Tok::Mod => "mod",
            Tok::Div => "div",
            Tok::Multiply | Tok::Star => "*",
            Tok::Literal(s) => return format!("string literal \"{s}\""),
            Tok::Number(n) => return format!("number {n}"),
            Tok::PrefixStar(p) => return format!("'{p}:*'"),
            Tok::Name {
                prefix: Some(p),
                local,
            } => return format!("name '{p}:{local}'"),
            Tok::Name {
                prefix: None,
                local,
            } => return format!("name '{local}'"),
            Tok::Variable(v) => return format!("variable '${v}'"),
        };
        format!("'{fixed}'")
    }

    /// Whether a `*` or an operator name right after this token is an operator: true
    /// unless this token is `@`, `::`, `(`, `[`, `,` or an operator (XPath 1.0, 3.7).
    fn ends_operand(&self) -> bool {
        !matches!(
            self,
            Tok::At
                | Tok::ColonColon
                | Tok::LParen
                | Tok::LBracket
                | Tok::Comma
                | Tok::Slash
                | Tok::DoubleSlash
                | Tok::Pipe
                | Tok::Plus
                | Tok::Minus
                | Tok::Eq
                | Tok::Ne
                | Tok::Lt
                | Tok::Le
                | Tok::Gt
                | Tok::Ge
                | Tok::And
                | Tok::Or
                | Tok::Mod
                | Tok::Div
                | Tok::Multiply
        )
    }
}

/// Splits `text` into tokens, or says what is wrong and where.
pub(super) fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let mut lexer = Lexer {
        text,
        pos: 0,
        tokens: Vec::new(),
    };
    while lexer.skip_space() {
        let at = lexer.pos;
        let kind = lexer.next_token()?;
        lexer.tokens.push(Token { kind, at });
    }
    Ok(lexer.tokens)
}

struct Lexer<'t> {
    text: &'t str,
    pos: usize,
    tokens: Vec<Token>,
}

impl<'t> Lexer<'t> {
    /// Skips XML white space; false at the end of the text.
    fn skip_space(&mut self) -> bool {
        let rest = &self.text[self.pos..];
        let trimmed = rest.trim_start_matches(is_xml_space);
        self.pos += rest.len() - trimmed.len();
        !trimmed.is_empty()
    }

    fn rest(&self) -> &'t str {
        &self.text[self.pos..]
    }

    fn peek_at(&self, offset: usize) -> Option<char> {
        self.rest()[offset..].chars().next()
    }

    fn operator_expected(&self) -> bool {
        self.tokens.last().is_some_and(|t| t.kind.ends_operand())
    }

    fn next_token(&mut self) -> Result<Tok, String> {
        let c = self.peek_at(0).unwrap_or(' ');
        let second = self.rest()[c.len_utf8()..].chars().next();
        if let Some((tok, len)) = punctuation(c, second) {
            self.pos += len;
            return Ok(tok);
        }
        match c {
            '*' => {
                self.pos += 1;
                Ok(if self.operator_expected() {
                    Tok::Multiply
                } else {
                    Tok::Star
                })
            }
            '.' if second.is_some_and(|d| d.is_ascii_digit()) => Ok(self.number()),
            '.' if second == Some('.') => {
                self.pos += 2;
                Ok(Tok::DotDot)
            }
            '.' => {
                self.pos += 1;
                Ok(Tok::Dot)
            }
            '0'..='9' => Ok(self.number()),
            '"' | '\'' => self.literal(c),
            '$' => self.variable(),
            c if is_name_start(c) => self.name(),
            c => Err(format!("unexpected character '{c}' at byte {}", self.pos)),
        }
    }

    /// `Digits ('.' Digits?)? | '.' Digits`; the text always parses as an `f64`.
    fn number(&mut self) -> Tok {
        let start = self.pos;
        let rest = self.rest();
        let int_len = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        let mut end = int_len;
        if rest[end..].starts_with('.') {
            end += 1;
            let frac = &rest[end..];
            end += frac.len() - frac.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        }
        self.pos += end;
        Tok::Number(self.text[start..self.pos].parse().unwrap_or(f64::NAN))
    }

    fn literal(&mut self, quote: char) -> Result<Tok, String> {
        let start = self.pos;
        let body = &self.rest()[1..];
        match body.find(quote) {
            Some(len) => {
                self.pos += len + 2;
                Ok(Tok::Literal(body[..len].to_string()))
            }
            None => Err(format!(
                "unterminated string literal starting at byte {start}"
            )),
        }
    }

    fn variable(&mut self) -> Result<Tok, String> {
        let start = self.pos;
        self.pos += 1;
        if !self.peek_at(0).is_some_and(is_name_start) {
            return Err(format!("'$' without a variable name at byte {start}"));
        }
        match self.name()? {
            Tok::Name {
                prefix: Some(p),
                local,
            } => Ok(Tok::Variable(format!("{p}:{local}"))),
            Tok::Name {
                prefix: None,
                local,
            } => Ok(Tok::Variable(local)),
            _ => Err(format!("'$' without a variable name at byte {start}")),
        }
    }

    /// An NCName, a QName, `prefix:*`, or an operator name where an operator is expected.
    fn name(&mut self) -> Result<Tok, String> {
        let first = self.ncname();
        if self.operator_expected() {
            let op = match first.as_str() {
                "and" => Some(Tok::And),
                "or" => Some(Tok::Or),
                "mod" => Some(Tok::Mod),
                "div" => Some(Tok::Div),
                _ => None,
            };
            if let Some(op) = op {
                return Ok(op);
            }
        }
        // A single colon continues a QName; a double colon follows an axis name.
        if self.rest().starts_with(':') && !self.rest().starts_with("::") {
            let colon = self.pos;
            self.pos += 1;
            return match self.peek_at(0) {
                Some('*') => {
                    self.pos += 1;
                    Ok(Tok::PrefixStar(first))
                }
                Some(c) if is_name_start(c) => Ok(Tok::Name {
                    prefix: Some(first),
                    local: self.ncname(),
                }),
                _ => Err(format!("a name must follow ':' at byte {colon}")),
            };
        }
        Ok(Tok::Name {
            prefix: None,
            local: first,
        })
    }

    fn ncname(&mut self) -> String {
        let rest = self.rest();
        let len = rest
            .char_indices()
            .find(|&(i, c)| {
                !(if i == 0 {
                    is_name_start(c)
                } else {
                    is_name_char(c)
                })
            })
            .map_or(rest.len(), |(i, _)| i);
        self.pos += len;
        rest[..len].to_string()
    }
}

/// Tokens made only of punctuation, with their length in bytes.
fn punctuation(c: char, second: Option<char>) -> Option<(Tok, usize)> {
    let two = match (c, second) {
        ('/', Some('/')) => Some(Tok::DoubleSlash),
        (':', Some(':')) => Some(Tok::ColonColon),
        ('!', Some('=')) => Some(Tok::Ne),
        ('<', Some('=')) => Some(Tok::Le),
        ('>', Some('=')) => Some(Tok::Ge),
        _ => None,
    };
    if let Some(tok) = two {
        return Some((tok, 2));
    }
    let one = match c {
        '(' => Tok::LParen,
        ')' => Tok::RParen,
        '[' => Tok::LBracket,
        ']' => Tok::RBracket,
        '@' => Tok::At,
        ',' => Tok::Comma,
        '/' => Tok::Slash,
        '|' => Tok::Pipe,
        '+' => Tok::Plus,
        '-' => Tok::Minus,
        '=' => Tok::Eq,
        '<' => Tok::Lt,
        '>' => Tok::Gt,
        _ => return None,
    };
    Some((one, 1))
}

pub(super) fn is_xml_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// Letters and `_` start an NCName. Unicode letters are accepted by their general
/// category, which is close enough to the XML 1.0 name tables for matching names.
fn is_name_start(c: char) -> bool {
    c == '_' || c.is_alphabetic()
}

fn is_name_char(c: char) -> bool {
    is_name_start(c) || c.is_alphanumeric() || matches!(c, '-' | '.' | '\u{B7}')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<Tok> {
        tokenize(text)
            .unwrap()
            .into_iter()
            .map(|t| t.kind)
            .collect()
    }

    fn name(local: &str) -> Tok {
        Tok::Name {
            prefix: None,
            local: local.to_string(),
        }
    }

    #[test]
    fn star_and_operator_names_depend_on_the_preceding_token() {
        assert_eq!(kinds("*"), vec![Tok::Star]);
        assert_eq!(kinds("a * b"), vec![name("a"), Tok::Multiply, name("b")]);
        assert_eq!(
            kinds("div div div"),
            vec![name("div"), Tok::Div, name("div")]
        );
        assert_eq!(kinds("and"), vec![name("and")]);
        assert_eq!(kinds("/and"), vec![Tok::Slash, name("and")]);
        assert_eq!(kinds("@*"), vec![Tok::At, Tok::Star]);
        assert_eq!(
            kinds("2*3"),
            vec![Tok::Number(2.0), Tok::Multiply, Tok::Number(3.0)]
        );
        assert_eq!(kinds(")or("), vec![Tok::RParen, Tok::Or, Tok::LParen]);
        assert_eq!(kinds("*[1]*2")[4..], [Tok::Multiply, Tok::Number(2.0)]);
    }

    #[test]
    fn names_numbers_and_literals() {
        assert_eq!(kinds("a-b"), vec![name("a-b")]);
        assert_eq!(kinds("a - b"), vec![name("a"), Tok::Minus, name("b")]);
        assert_eq!(
            kinds(".5 5. 1.25"),
            vec![Tok::Number(0.5), Tok::Number(5.0), Tok::Number(1.25)]
        );
        assert_eq!(kinds(". .."), vec![Tok::Dot, Tok::DotDot]);
        assert_eq!(
            kinds("p:q p:* child::x"),
            vec![
                Tok::Name {
                    prefix: Some("p".into()),
                    local: "q".into()
                },
                Tok::PrefixStar("p".into()),
                name("child"),
                Tok::ColonColon,
                name("x")
            ]
        );
        assert_eq!(
            kinds(r#"'a"b' "c'd""#),
            vec![Tok::Literal("a\"b".into()), Tok::Literal("c'd".into())]
        );
        assert_eq!(kinds("$v"), vec![Tok::Variable("v".into())]);
        assert_eq!(kinds("élan"), vec![name("élan")]);
        assert_eq!(
            kinds("a<=b!=c>=d"),
            vec![
                name("a"),
                Tok::Le,
                name("b"),
                Tok::Ne,
                name("c"),
                Tok::Ge,
                name("d")
            ]
        );
    }

    #[test]
    fn offsets_and_errors() {
        let tokens = tokenize("  a  |b").unwrap();
        assert_eq!(
            tokens.iter().map(|t| t.at).collect::<Vec<_>>(),
            vec![2, 5, 6]
        );
        assert_eq!(
            tokenize("'abc").unwrap_err(),
            "unterminated string literal starting at byte 0"
        );
        assert_eq!(
            tokenize("a # b").unwrap_err(),
            "unexpected character '#' at byte 2"
        );
        assert_eq!(
            tokenize("p:").unwrap_err(),
            "a name must follow ':' at byte 1"
        );
        assert_eq!(
            tokenize("$").unwrap_err(),
            "'$' without a variable name at byte 0"
        );
        assert_eq!(
            tokenize("!").unwrap_err(),
            "unexpected character '!' at byte 0"
        );
        assert!(tokenize("   ").unwrap().is_empty());
    }
}
