//! The XPath 1.0 core function library (recommendation section 4).
//!
//! The parser has already checked every call's arity, so the argument slices here have
//! the lengths the functions take. Each call spends one unit, and string functions
//! spend one more per 16 bytes of the text they scan or build.

use std::borrow::Cow;
use std::collections::HashMap;

use super::xpath_eval::{Context, Evaluator};
use super::xpath_lex::is_xml_space;
use super::xpath_node::{Kind, Node, text_units};
use super::xpath_syntax::{Expr, Function};
use super::xpath_value::{Eval, Value, round, string_to_number};

impl<'a, 'i> Evaluator<'a, 'i, '_> {
    pub(super) fn call(
        &self,
        function: Function,
        args: &'a [Expr],
        ctx: Context<'a, 'i>,
    ) -> Eval<Value<'a, 'i>> {
        self.spend(1)?;
        match function {
            Function::Last => Ok(Value::Number(ctx.size as f64)),
            Function::Position => Ok(Value::Number(ctx.position as f64)),
            Function::Count => Ok(Value::Number(
                self.nodes_arg(args, ctx, "count()")?.len() as f64
            )),
            Function::Id => self.id(args, ctx),
            Function::LocalName | Function::NamespaceUri | Function::Name => {
                self.name_function(function, args, ctx)
            }
            Function::Boolean => Ok(Value::Boolean(self.boolean(&args[0], ctx)?)),
            Function::Not => Ok(Value::Boolean(!self.boolean(&args[0], ctx)?)),
            Function::True => Ok(Value::Boolean(true)),
            Function::False => Ok(Value::Boolean(false)),
            Function::Lang => Ok(Value::Boolean(self.lang(&args[0], ctx)?)),
            Function::Number => Ok(Value::Number(self.number_of(args, ctx)?)),
            Function::Sum => self.sum(args, ctx),
            Function::Floor => Ok(Value::Number(self.number(&args[0], ctx)?.floor())),
            Function::Ceiling => Ok(Value::Number(self.number(&args[0], ctx)?.ceil())),
            Function::Round => Ok(Value::Number(round(self.number(&args[0], ctx)?))),
            _ => self.string_function(function, args, ctx),
        }
    }

    fn string_function(
        &self,
        function: Function,
        args: &'a [Expr],
        ctx: Context<'a, 'i>,
    ) -> Eval<Value<'a, 'i>> {
        let value = match function {
            Function::String => Value::String(self.string_or_context(args, ctx)?),
            Function::Concat => Value::String(Cow::Owned(self.concat(args, ctx)?)),
            Function::StartsWith => {
                let (s, prefix) = self.two_strings(args, ctx)?;
                Value::Boolean(s.starts_with(&*prefix))
            }
            Function::Contains => {
                let (s, part) = self.two_strings(args, ctx)?;
                Value::Boolean(s.contains(&*part))
            }
            Function::SubstringBefore => {
                let (s, part) = self.two_strings(args, ctx)?;
                let before = s.find(&*part).map_or("", |i| &s[..i]);
                Value::String(Cow::Owned(before.to_string()))
            }
            Function::SubstringAfter => {
                let (s, part) = self.two_strings(args, ctx)?;
                let after = s.find(&*part).map_or("", |i| &s[i + part.len()..]);
                Value::String(Cow::Owned(after.to_string()))
            }
            Function::Substring => Value::String(Cow::Owned(self.substring(args, ctx)?)),
            Function::StringLength => {
                let s = self.string_or_context(args, ctx)?;
                self.spend(text_units(s.len()))?;
                Value::Number(s.chars().count() as f64)
            }
            Function::NormalizeSpace => Value::String(Cow::Owned(self.normalize_space(args, ctx)?)),
            _ => Value::String(Cow::Owned(self.translate(args, ctx)?)),
        };
        Ok(value)
    }

    /// The node-set argument a function such as `count()` or `sum()` requires.
    fn nodes_arg(
        &self,
        args: &'a [Expr],
        ctx: Context<'a, 'i>,
        what: &str,
    ) -> Eval<Vec<Node<'a, 'i>>> {
        self.eval(&args[0], ctx)?.into_nodes(what)
    }

    /// `id()` selects elements by their ID-typed attributes, and only a DTD can type an
    /// attribute as an ID. Documents with a DTD are refused, so no element has an ID and
    /// the result is always empty; the argument is still evaluated for its errors.
    fn id(&self, args: &'a [Expr], ctx: Context<'a, 'i>) -> Eval<Value<'a, 'i>> {
        self.eval(&args[0], ctx)?;
        Ok(Value::Nodes(Vec::new()))
    }

    /// `local-name()`, `namespace-uri()` and `name()` of the first node of the argument,
    /// or of the context node; empty for an empty node-set.
    fn name_function(
        &self,
        function: Function,
        args: &'a [Expr],
        ctx: Context<'a, 'i>,
    ) -> Eval<Value<'a, 'i>> {
        let node = match args.first() {
            Some(arg) => {
                let what = match function {
                    Function::LocalName => "local-name()",
                    Function::NamespaceUri => "namespace-uri()",
                    _ => "name()",
                };
                self.eval(arg, ctx)?.into_nodes(what)?.first().copied()
            }
            None => Some(ctx.node),
        };
        let Some(node) = node else {
            return Ok(Value::String(Cow::Borrowed("")));
        };
        let name = match function {
            Function::LocalName => node.local_name(),
            Function::NamespaceUri => node.namespace_uri(),
            _ => node.qualified_name(),
        };
        self.spend(text_units(name.len()))?;
        Ok(Value::String(Cow::Borrowed(name)))
    }

    fn string_or_context(&self, args: &'a [Expr], ctx: Context<'a, 'i>) -> Eval<Cow<'a, str>> {
        match args.first() {
            Some(arg) => self.string(arg, ctx),
            None => ctx.node.string_value(self.budget),
        }
    }

    /// Both arguments as strings, with fuel spent for scanning them.
    fn two_strings(
        &self,
        args: &'a [Expr],
        ctx: Context<'a, 'i>,
    ) -> Eval<(Cow<'a, str>, Cow<'a, str>)> {
        let first = self.string(&args[0], ctx)?;
        let second = self.string(&args[1], ctx)?;
        self.spend(text_units(first.len() + second.len()))?;
        Ok((first, second))
    }

    fn concat(&self, args: &'a [Expr], ctx: Context<'a, 'i>) -> Eval<String> {
        let mut out = String::new();
        for arg in args {
            let part = self.string(arg, ctx)?;
            self.spend(text_units(part.len()))?;
            out.push_str(&part);
        }
        Ok(out)
    }

    /// `substring(s, start, length?)`: the characters at positions p (counted from 1)
    /// with `round(start) <= p < round(start) + round(length)`. The comparisons are made
    /// in floating point so that NaN and the infinities behave as the recommendation's
    /// examples require (NaN anywhere selects nothing).
    fn substring(&self, args: &'a [Expr], ctx: Context<'a, 'i>) -> Eval<String> {
        let s = self.string(&args[0], ctx)?;
        let start = round(self.number(&args[1], ctx)?);
        let end = match args.get(2) {
            Some(length) => start + round(self.number(length, ctx)?),
            None => f64::INFINITY,
        };
        self.spend(text_units(s.len()))?;
        let picked = s
            .chars()
            .enumerate()
            .filter(|&(i, _)| {
                let p = (i + 1) as f64;
                p >= start && p < end
            })
            .map(|(_, c)| c)
            .collect();
        Ok(picked)
    }

    /// Strips leading and trailing white space and collapses runs of it to one space.
    fn normalize_space(&self, args: &'a [Expr], ctx: Context<'a, 'i>) -> Eval<String> {
        let s = self.string_or_context(args, ctx)?;
        self.spend(text_units(s.len()))?;
        let words: Vec<&str> = s.split(is_xml_space).filter(|w| !w.is_empty()).collect();
        Ok(words.join(" "))
    }

    /// `translate(s, from, to)`: each character of `s` found in `from` is replaced by the
    /// character at the same position in `to`, or removed when `to` is shorter; the first
    /// occurrence in `from` decides. A map keeps the work linear in the lengths.
    fn translate(&self, args: &'a [Expr], ctx: Context<'a, 'i>) -> Eval<String> {
        let s = self.string(&args[0], ctx)?;
        let from = self.string(&args[1], ctx)?;
        let to = self.string(&args[2], ctx)?;
        self.spend(text_units(s.len() + from.len() + to.len()))?;
        let mut map: HashMap<char, Option<char>> = HashMap::new();
        let mut replacements = to.chars();
        for c in from.chars() {
            let replacement = replacements.next();
            map.entry(c).or_insert(replacement);
        }
        Ok(s.chars()
            .filter_map(|c| map.get(&c).copied().unwrap_or(Some(c)))
            .collect())
    }

    /// Whether the context node's language, from the nearest `xml:lang` on it or an
    /// ancestor, is the argument or a sub-language of it, ignoring case.
    fn lang(&self, arg: &'a Expr, ctx: Context<'a, 'i>) -> Eval<bool> {
        let wanted = self.string(arg, ctx)?;
        let mut current = Some(ctx.node);
        while let Some(node) = current {
            self.spend(1)?;
            if node.kind() == Kind::Element
                && let Some(lang) = node.xml_lang()
            {
                self.spend(text_units(lang.len()))?;
                return Ok(language_matches(lang, &wanted));
            }
            current = node.parent();
        }
        Ok(false)
    }

    fn number_of(&self, args: &'a [Expr], ctx: Context<'a, 'i>) -> Eval<f64> {
        match args.first() {
            Some(arg) => self.number(arg, ctx),
            None => self.node_number(ctx.node),
        }
    }

    fn sum(&self, args: &'a [Expr], ctx: Context<'a, 'i>) -> Eval<Value<'a, 'i>> {
        let nodes = self.nodes_arg(args, ctx, "sum()")?;
        let mut total = 0.0;
        for node in nodes {
            self.spend(1)?;
            let text = node.string_value(self.budget)?;
            total += string_to_number(&text);
        }
        Ok(Value::Number(total))
    }
}

/// `lang()`'s test: equal ignoring ASCII case, or a prefix of it followed by `-`.
fn language_matches(lang: &str, wanted: &str) -> bool {
    match lang.get(..wanted.len()) {
        Some(head) if head.eq_ignore_ascii_case(wanted) => {
            lang.len() == wanted.len() || lang.as_bytes()[wanted.len()] == b'-'
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::language_matches;

    #[test]
    fn language_matching() {
        assert!(language_matches("en", "en"));
        assert!(language_matches("EN", "en"));
        assert!(language_matches("en-US", "en"));
        assert!(language_matches("en-us", "EN-US"));
        assert!(!language_matches("en", "en-US"));
        assert!(!language_matches("english", "en"));
        assert!(!language_matches("fr", "en"));
        assert!(!language_matches("é", "e"));
        assert!(!language_matches("x", ""));
    }
}
