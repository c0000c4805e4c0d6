//! Parses XPath 1.0 tokens into an [`Expr`] by recursive descent, one function per
//! grammar level of the recommendation (section 3).
//!
//! Recursion happens only where the expression itself nests: parentheses, predicates
//! and function arguments. Each of those counts one level, and more than
//! [`MAX_NESTING`] levels are refused, so that neither this parser nor the evaluator,
//! which recurses along the same structure, can be driven to exhaust the stack.

use super::xpath_lex::{Tok, Token, tokenize};
use super::xpath_syntax::{
    ArithmeticOp, Axis, CompareOp, Expr, Function, NodeTest, PathExpr, PathStart, Step,
};

/// The deepest nesting of parentheses, predicates and function arguments accepted.
pub(super) const MAX_NESTING: usize = 64;

/// Parses a whole expression.
pub(super) fn parse_expression(text: &str) -> Result<Expr, String> {
    let tokens = tokenize(text)?;
    if tokens.is_empty() {
        return Err("the XPath expression is empty".to_string());
    }
    let mut parser = Parser {
        tokens,
        pos: 0,
        depth: 0,
        end: text.len(),
    };
    let expr = parser.or_expr()?;
    match parser.tokens.get(parser.pos) {
        None => Ok(expr),
        Some(t) => Err(format!("unexpected {} at byte {}", t.kind.describe(), t.at)),
    }
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    /// Current nesting of parentheses, predicates and argument lists.
    depth: usize,
    /// The length of the text, reported as the place of an unexpected end.
    end: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.pos).map(|t| &t.kind)
    }

    fn peek_second(&self) -> Option<&Tok> {
        self.tokens.get(self.pos + 1).map(|t| &t.kind)
    }

    fn offset(&self) -> usize {
        self.tokens.get(self.pos).map_or(self.end, |t| t.at)
    }

    fn eat(&mut self, tok: &Tok) -> bool {
        if self.peek() == Some(tok) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// The error for the current token, which does not fit where it stands.
    fn unexpected<T>(&self) -> Result<T, String> {
        match self.tokens.get(self.pos) {
            Some(t) => Err(format!("unexpected {} at byte {}", t.kind.describe(), t.at)),
            None => Err(format!(
                "unexpected end of the expression at byte {}",
                self.end
            )),
        }
    }

    fn expect(&mut self, tok: &Tok) -> Result<(), String> {
        if self.eat(tok) {
            Ok(())
        } else {
            match self.tokens.get(self.pos) {
                Some(t) => Err(format!(
                    "expected {} but found {} at byte {}",
                    tok.describe(),
                    t.kind.describe(),
                    t.at
                )),
                None => Err(format!(
                    "expected {} but the expression ends at byte {}",
                    tok.describe(),
                    self.end
                )),
            }
        }
    }

    /// Enters one level of nesting opened at byte `at`, refusing to go deeper than
    /// [`MAX_NESTING`].
    fn enter(&mut self, at: usize) -> Result<(), String> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(format!(
                "the expression nests parentheses, predicates and function arguments \
                 deeper than {MAX_NESTING} levels at byte {at}"
            ));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    fn or_expr(&mut self) -> Result<Expr, String> {
        let mut operands = vec![self.and_expr()?];
        while self.eat(&Tok::Or) {
            operands.push(self.and_expr()?);
        }
        Ok(single_or(operands, Expr::Or))
    }

    fn and_expr(&mut self) -> Result<Expr, String> {
        let mut operands = vec![self.equality_expr()?];
        while self.eat(&Tok::And) {
            operands.push(self.equality_expr()?);
        }
        Ok(single_or(operands, Expr::And))
    }

    fn equality_expr(&mut self) -> Result<Expr, String> {
        let first = self.relational_expr()?;
        let mut rest = Vec::new();
        while let Some(op) = match self.peek() {
            Some(Tok::Eq) => Some(CompareOp::Eq),
            Some(Tok::Ne) => Some(CompareOp::Ne),
            _ => None,
        } {
            self.pos += 1;
            rest.push((op, self.relational_expr()?));
        }
        Ok(chain(first, rest, Expr::Compare))
    }

    fn relational_expr(&mut self) -> Result<Expr, String> {
        let first = self.additive_expr()?;
        let mut rest = Vec::new();
        while let Some(op) = match self.peek() {
            Some(Tok::Lt) => Some(CompareOp::Lt),
            Some(Tok::Le) => Some(CompareOp::Le),
            Some(Tok::Gt) => Some(CompareOp::Gt),
            Some(Tok::Ge) => Some(CompareOp::Ge),
            _ => None,
        } {
            self.pos += 1;
            rest.push((op, self.additive_expr()?));
        }
        Ok(chain(first, rest, Expr::Compare))
    }

    fn additive_expr(&mut self) -> Result<Expr, String> {
        let first = self.multiplicative_expr()?;
        let mut rest = Vec::new();
        while let Some(op) = match self.peek() {
            Some(Tok::Plus) => Some(ArithmeticOp::Add),
            Some(Tok::Minus) => Some(ArithmeticOp::Subtract),
            _ => None,
        } {
            self.pos += 1;
            rest.push((op, self.multiplicative_expr()?));
        }
        Ok(chain(first, rest, Expr::Arithmetic))
    }

    fn multiplicative_expr(&mut self) -> Result<Expr, String> {
        let first = self.unary_expr()?;
        let mut rest = Vec::new();
        while let Some(op) = match self.peek() {
            Some(Tok::Multiply) => Some(ArithmeticOp::Multiply),
            Some(Tok::Div) => Some(ArithmeticOp::Divide),
            Some(Tok::Mod) => Some(ArithmeticOp::Modulo),
            _ => None,
        } {
            self.pos += 1;
            rest.push((op, self.unary_expr()?));
        }
        Ok(chain(first, rest, Expr::Arithmetic))
    }

    /// Any number of minus signs are counted in a loop rather than by recursion.
    fn unary_expr(&mut self) -> Result<Expr, String> {
        let mut minuses = 0usize;
        while self.eat(&Tok::Minus) {
            minuses += 1;
        }
        let operand = self.union_expr()?;
        if minuses == 0 {
            return Ok(operand);
        }
        Ok(Expr::Minus {
            negate: minuses % 2 == 1,
            operand: Box::new(operand),
        })
    }

    fn union_expr(&mut self) -> Result<Expr, String> {
        let mut operands = vec![self.path_expr()?];
        while self.eat(&Tok::Pipe) {
            operands.push(self.path_expr()?);
        }
        Ok(single_or(operands, Expr::Union))
    }

    fn path_expr(&mut self) -> Result<Expr, String> {
        match self.peek() {
            Some(Tok::Slash) => {
                self.pos += 1;
                let steps = if self.at_step_start() {
                    self.relative_path()?
                } else {
                    Vec::new()
                };
                Ok(path(PathStart::Root, steps))
            }
            Some(Tok::DoubleSlash) => {
                self.pos += 1;
                let mut steps = vec![descendant_or_self()];
                steps.extend(self.relative_path()?);
                Ok(path(PathStart::Root, steps))
            }
            _ if self.at_step_start() => {
                let steps = self.relative_path()?;
                Ok(path(PathStart::Context, steps))
            }
            _ => self.filter_path(),
        }
    }

    /// `FilterExpr`, then optionally `/` or `//` and a relative location path.
    fn filter_path(&mut self) -> Result<Expr, String> {
        let primary = self.primary_expr()?;
        let predicates = self.predicates()?;
        let mut steps = Vec::new();
        if self.eat(&Tok::Slash) {
            steps = self.relative_path()?;
        } else if self.eat(&Tok::DoubleSlash) {
            steps.push(descendant_or_self());
            steps.extend(self.relative_path()?);
        }
        if predicates.is_empty() && steps.is_empty() {
            return Ok(primary);
        }
        Ok(path(
            PathStart::Filter(Box::new(primary), predicates),
            steps,
        ))
    }

    /// Whether the current token begins a location step rather than a primary
    /// expression: a name not followed by `(`, unless it is a node type.
    fn at_step_start(&self) -> bool {
        match self.peek() {
            Some(Tok::Dot | Tok::DotDot | Tok::At | Tok::Star | Tok::PrefixStar(_)) => true,
            Some(Tok::Name { prefix, local }) => {
                self.peek_second() != Some(&Tok::LParen)
                    || (prefix.is_none() && is_node_type(local))
            }
            _ => false,
        }
    }

    fn relative_path(&mut self) -> Result<Vec<Step>, String> {
        let mut steps = vec![self.step()?];
        loop {
            if self.eat(&Tok::Slash) {
                steps.push(self.step()?);
            } else if self.eat(&Tok::DoubleSlash) {
                steps.push(descendant_or_self());
                steps.push(self.step()?);
            } else {
                return Ok(steps);
            }
        }
    }

    fn step(&mut self) -> Result<Step, String> {
        if self.eat(&Tok::Dot) {
            return Ok(plain_step(Axis::SelfNode, NodeTest::Node));
        }
        if self.eat(&Tok::DotDot) {
            return Ok(plain_step(Axis::Parent, NodeTest::Node));
        }
        let axis = self.axis()?;
        let test = self.node_test()?;
        let predicates = self.predicates()?;
        Ok(Step {
            axis,
            test,
            predicates,
        })
    }

    /// `@`, `name::`, or nothing (the child axis).
    fn axis(&mut self) -> Result<Axis, String> {
        if self.eat(&Tok::At) {
            return Ok(Axis::Attribute);
        }
        if let (
            Some(Tok::Name {
                prefix: None,
                local,
            }),
            Some(Tok::ColonColon),
        ) = (self.peek(), self.peek_second())
        {
            let Some(axis) = Axis::from_name(local) else {
                return Err(format!("unknown axis '{local}' at byte {}", self.offset()));
            };
            self.pos += 2;
            return Ok(axis);
        }
        Ok(Axis::Child)
    }

    fn node_test(&mut self) -> Result<NodeTest, String> {
        let at = self.offset();
        let test = match self.peek().cloned() {
            Some(Tok::Star) => NodeTest::AnyName,
            Some(Tok::PrefixStar(prefix)) => NodeTest::AnyInNamespace(prefix),
            Some(Tok::Name { prefix, local }) => {
                if prefix.is_none() && self.peek_second() == Some(&Tok::LParen) {
                    return self.node_type_test(&local, at);
                }
                NodeTest::Name { prefix, local }
            }
            _ => return self.unexpected(),
        };
        self.pos += 1;
        Ok(test)
    }

    /// `node()`, `text()`, `comment()` or `processing-instruction('target'?)`.
    fn node_type_test(&mut self, name: &str, at: usize) -> Result<NodeTest, String> {
        self.pos += 2;
        let test = match name {
            "node" => NodeTest::Node,
            "text" => NodeTest::Text,
            "comment" => NodeTest::Comment,
            "processing-instruction" => match self.peek().cloned() {
                Some(Tok::Literal(target)) => {
                    self.pos += 1;
                    NodeTest::ProcessingInstruction(Some(target))
                }
                _ => NodeTest::ProcessingInstruction(None),
            },
            _ => {
                return Err(format!(
                    "'{name}(' at byte {at} is a function call where a location step \
                     is expected"
                ));
            }
        };
        self.expect(&Tok::RParen)?;
        Ok(test)
    }

    fn predicates(&mut self) -> Result<Vec<Expr>, String> {
        let mut predicates = Vec::new();
        while self.peek() == Some(&Tok::LBracket) {
            self.enter(self.offset())?;
            self.pos += 1;
            predicates.push(self.or_expr()?);
            self.expect(&Tok::RBracket)?;
            self.leave();
        }
        Ok(predicates)
    }

    fn primary_expr(&mut self) -> Result<Expr, String> {
        let at = self.offset();
        match self.peek().cloned() {
            Some(Tok::LParen) => {
                self.enter(at)?;
                self.pos += 1;
                let inner = self.or_expr()?;
                self.expect(&Tok::RParen)?;
                self.leave();
                Ok(inner)
            }
            Some(Tok::Literal(s)) => {
                self.pos += 1;
                Ok(Expr::Literal(s))
            }
            Some(Tok::Number(n)) => {
                self.pos += 1;
                Ok(Expr::Number(n))
            }
            Some(Tok::Variable(v)) => Err(format!(
                "variable references are not supported ('${v}' at byte {at}): \
                 no variables can be bound"
            )),
            Some(Tok::Name { prefix, local }) if self.peek_second() == Some(&Tok::LParen) => {
                self.function_call(prefix, &local, at)
            }
            _ => self.unexpected(),
        }
    }

    fn function_call(
        &mut self,
        prefix: Option<String>,
        local: &str,
        at: usize,
    ) -> Result<Expr, String> {
        let function = match prefix {
            None => Function::from_name(local),
            Some(_) => None,
        };
        let Some(function) = function else {
            let shown = prefix.map_or(local.to_string(), |p| format!("{p}:{local}"));
            return Err(format!("unknown function '{shown}' at byte {at}"));
        };
        self.enter(at)?;
        self.pos += 2;
        let mut args = Vec::new();
        if !self.eat(&Tok::RParen) {
            loop {
                args.push(self.or_expr()?);
                if self.eat(&Tok::RParen) {
                    break;
                }
                if !self.eat(&Tok::Comma) {
                    return Err(match self.tokens.get(self.pos) {
                        Some(t) => format!(
                            "expected ',' or ')' but found {} at byte {}",
                            t.kind.describe(),
                            t.at
                        ),
                        None => format!(
                            "expected ',' or ')' but the expression ends at byte {}",
                            self.end
                        ),
                    });
                }
            }
        }
        self.leave();
        check_arity(function, local, args.len(), at)?;
        Ok(Expr::Call(function, args))
    }
}

fn check_arity(function: Function, name: &str, given: usize, at: usize) -> Result<(), String> {
    let (min, max) = function.arity();
    if given >= min && max.is_none_or(|m| given <= m) {
        return Ok(());
    }
    let wanted = match max {
        Some(m) if m == min => format!("{min}"),
        Some(m) => format!("{min} to {m}"),
        None => format!("at least {min}"),
    };
    let plural = if max == Some(1) && min == 1 {
        "argument"
    } else {
        "arguments"
    };
    Err(format!(
        "function '{name}' takes {wanted} {plural}, not {given} (at byte {at})"
    ))
}

fn is_node_type(name: &str) -> bool {
    matches!(name, "node" | "text" | "comment" | "processing-instruction")
}

/// The operand alone when there is one, else the operator over all of them.
fn single_or(mut operands: Vec<Expr>, make: fn(Vec<Expr>) -> Expr) -> Expr {
    if operands.len() == 1 {
        operands.remove(0)
    } else {
        make(operands)
    }
}

fn chain<Op>(
    first: Expr,
    rest: Vec<(Op, Expr)>,
    make: fn(Box<Expr>, Vec<(Op, Expr)>) -> Expr,
) -> Expr {
    if rest.is_empty() {
        first
    } else {
        make(Box::new(first), rest)
    }
}

fn plain_step(axis: Axis, test: NodeTest) -> Step {
    Step {
        axis,
        test,
        predicates: Vec::new(),
    }
}

/// The step `//` abbreviates.
fn descendant_or_self() -> Step {
    plain_step(Axis::DescendantOrSelf, NodeTest::Node)
}

/// A path, with `descendant-or-self::node()/child::T` fused into `descendant::T` when
/// the child step has no predicates: both select the same nodes, and the fused form
/// visits each node once instead of building the node-set of every node first. With
/// predicates the two differ (`//a[1]` is each parent's first `a`), so those stay.
fn path(start: PathStart, steps: Vec<Step>) -> Expr {
    let mut fused: Vec<Step> = Vec::with_capacity(steps.len());
    for step in steps {
        let fusable = step.axis == Axis::Child && step.predicates.is_empty();
        match fused.last_mut() {
            Some(prev) if fusable && *prev == descendant_or_self() => {
                prev.axis = Axis::Descendant;
                prev.test = step.test;
            }
            _ => fused.push(step),
        }
    }
    Expr::Path(Box::new(PathExpr {
        start,
        steps: fused,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        parse_expression(text).unwrap_err()
    }

    fn steps(text: &str) -> Vec<Step> {
        match parse_expression(text).unwrap() {
            Expr::Path(p) => p.steps,
            other => panic!("not a path: {other:?}"),
        }
    }

    #[test]
    fn errors_say_what_and_where() {
        assert_eq!(err(""), "the XPath expression is empty");
        assert_eq!(err("  "), "the XPath expression is empty");
        assert_eq!(err("count(a))"), "unexpected ')' at byte 8");
        assert_eq!(err("/a["), "unexpected end of the expression at byte 3");
        assert_eq!(
            err("/a[1"),
            "expected ']' but the expression ends at byte 4"
        );
        assert_eq!(err("foo(1)"), "unknown function 'foo' at byte 0");
        assert_eq!(err("x:count(1)"), "unknown function 'x:count' at byte 0");
        assert_eq!(
            err("1 + count()"),
            "function 'count' takes 1 argument, not 0 (at byte 4)"
        );
        assert_eq!(
            err("concat('a')"),
            "function 'concat' takes at least 2 arguments, not 1 (at byte 0)"
        );
        assert_eq!(
            err("substring('a')"),
            "function 'substring' takes 2 to 3 arguments, not 1 (at byte 0)"
        );
        assert_eq!(
            err("true(1)"),
            "function 'true' takes 0 arguments, not 1 (at byte 0)"
        );
        assert!(
            err("$x = 1").starts_with("variable references are not supported ('$x' at byte 0)")
        );
        assert_eq!(err("sideways::a"), "unknown axis 'sideways' at byte 0");
        assert_eq!(err("a b"), "unexpected name 'b' at byte 2");
        assert_eq!(err("/a/"), "unexpected end of the expression at byte 3");
        assert_eq!(err("1 +"), "unexpected end of the expression at byte 3");
        assert_eq!(
            err("a/count(b)"),
            "'count(' at byte 2 is a function call where a location step is expected"
        );
        assert_eq!(err("node(1)"), "expected ')' but found number 1 at byte 5");
        assert_eq!(err("()"), "unexpected ')' at byte 1");
        assert_eq!(err("1e3"), "unexpected name 'e3' at byte 1");
    }

    #[test]
    fn nesting_is_bounded() {
        let ok = format!("{}1{}", "(".repeat(MAX_NESTING), ")".repeat(MAX_NESTING));
        assert!(parse_expression(&ok).is_ok());
        let deep = format!(
            "{}1{}",
            "(".repeat(MAX_NESTING + 1),
            ")".repeat(MAX_NESTING + 1)
        );
        assert!(
            err(&deep).contains("deeper than 64 levels at byte 64"),
            "{}",
            err(&deep)
        );
        let preds = format!(
            "{}{}",
            "a[".repeat(MAX_NESTING + 1),
            "]".repeat(MAX_NESTING + 1)
        );
        assert!(err(&preds).contains("deeper than 64 levels"));
        let args = format!(
            "{}1{}",
            "not(".repeat(MAX_NESTING + 1),
            ")".repeat(MAX_NESTING + 1)
        );
        assert!(err(&args).contains("deeper than 64 levels"));
        // Chains and signs do not nest, however long.
        let long = vec!["1"; 100_000].join("+");
        assert!(parse_expression(&long).is_ok());
        let signs = format!("{}1", "-".repeat(100_001));
        assert_eq!(
            parse_expression(&signs).unwrap(),
            Expr::Minus {
                negate: true,
                operand: Box::new(Expr::Number(1.0))
            }
        );
    }

    #[test]
    fn abbreviations_expand() {
        assert_eq!(steps("."), vec![plain_step(Axis::SelfNode, NodeTest::Node)]);
        assert_eq!(steps(".."), vec![plain_step(Axis::Parent, NodeTest::Node)]);
        let attr = steps("@id");
        assert_eq!(attr[0].axis, Axis::Attribute);
        // `//b` fuses into one descendant step; `//b[1]` must not.
        assert_eq!(steps("//b").len(), 1);
        assert_eq!(steps("//b")[0].axis, Axis::Descendant);
        let positional = steps("//b[1]");
        assert_eq!(positional.len(), 2);
        assert_eq!(positional[0], descendant_or_self());
        assert_eq!(steps("a//@c").len(), 3);
        assert_eq!(steps("a//self::c").len(), 3);
    }

    #[test]
    fn precedence() {
        // `or` binds loosest, then `and`, equality, relational, additive, multiplicative.
        let e = parse_expression("1 or 2 and 3 = 4 < 5 + 6 * 7").unwrap();
        let Expr::Or(parts) = e else { panic!() };
        assert_eq!(parts.len(), 2);
        let Expr::And(parts) = &parts[1] else {
            panic!()
        };
        let Expr::Compare(_, eq) = &parts[1] else {
            panic!()
        };
        assert_eq!(eq[0].0, CompareOp::Eq);
        let Expr::Compare(_, lt) = &eq[0].1 else {
            panic!()
        };
        assert_eq!(lt[0].0, CompareOp::Lt);
        let Expr::Arithmetic(_, add) = &lt[0].1 else {
            panic!()
        };
        assert_eq!(add[0].0, ArithmeticOp::Add);
        assert!(matches!(&add[0].1, Expr::Arithmetic(_, m) if m[0].0 == ArithmeticOp::Multiply));
    }

    #[test]
    fn primaries_paths_and_filters() {
        assert_eq!(parse_expression("'a'").unwrap(), Expr::Literal("a".into()));
        assert_eq!(parse_expression("(2)").unwrap(), Expr::Number(2.0));
        assert!(matches!(
            parse_expression("(//a)[1]/b").unwrap(),
            Expr::Path(p) if matches!(p.start, PathStart::Filter(_, ref preds) if preds.len() == 1) && p.steps.len() == 1
        ));
        assert!(matches!(parse_expression("/").unwrap(), Expr::Path(p) if p.steps.is_empty()));
        assert!(matches!(parse_expression("/ | a").unwrap(), Expr::Union(u) if u.len() == 2));
        assert_eq!(
            steps("processing-instruction('x')")[0].test,
            NodeTest::ProcessingInstruction(Some("x".into()))
        );
        assert_eq!(steps("text()")[0].test, NodeTest::Text);
        assert_eq!(steps("comment()")[0].test, NodeTest::Comment);
        assert_eq!(steps("node()")[0].test, NodeTest::Node);
        assert_eq!(steps("p:*")[0].test, NodeTest::AnyInNamespace("p".into()));
        assert_eq!(
            steps("/child::div/div")[1].test,
            NodeTest::Name {
                prefix: None,
                local: "div".into()
            }
        );
        for axis in [
            "ancestor",
            "ancestor-or-self",
            "attribute",
            "child",
            "descendant",
            "descendant-or-self",
            "following",
            "following-sibling",
            "namespace",
            "parent",
            "preceding",
            "preceding-sibling",
            "self",
        ] {
            assert_eq!(
                steps(&format!("{axis}::node()"))[0].axis,
                Axis::from_name(axis).unwrap()
            );
        }
    }
}
