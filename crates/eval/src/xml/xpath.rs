//! Compiled XPath 1.0 expressions.

use std::fmt;

use super::xpath_eval::Evaluator;
use super::xpath_parse::parse_expression;
use super::xpath_syntax::Expr;
use super::xpath_value::Value;
use crate::budget::Budget;

/// A compiled XPath 1.0 expression. It holds only owned data, so one compiled
/// expression can be shared by every thread that matches requests.
#[derive(Clone)]
pub struct XPath {
    source: String,
    expr: Expr,
}

impl fmt::Debug for XPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("XPath").field(&self.source).finish()
    }
}

/// Compiles an expression, or says what is wrong with it and at which byte offset.
pub fn compile(expr: &str) -> Result<XPath, String> {
    Ok(XPath {
        source: expr.to_string(),
        expr: parse_expression(expr)?,
    })
}

impl XPath {
    /// The expression as it was written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether the expression, evaluated with the document's root as the context node,
    /// selects at least one node, is true, is a non-empty string or is a number other
    /// than NaN. False when the evaluation fails or the budget runs out.
    pub fn matches(&self, doc: &roxmltree::Document, budget: &Budget) -> bool {
        let evaluator = Evaluator::new(doc, budget);
        let truthy = match evaluator.eval(&self.expr, evaluator.root_context()) {
            Ok(Value::Nodes(nodes)) => !nodes.is_empty(),
            Ok(Value::Boolean(b)) => b,
            Ok(Value::String(s)) => !s.is_empty(),
            Ok(Value::Number(n)) => !n.is_nan(),
            Err(_) => false,
        };
        truthy && !budget.is_exhausted()
    }

    /// XPath's `string()` of the result: for a node-set, the string-value of its first
    /// node in document order. Empty when the evaluation fails or the budget runs out.
    pub fn string_value(&self, doc: &roxmltree::Document, budget: &Budget) -> String {
        let evaluator = Evaluator::new(doc, budget);
        let text = evaluator
            .eval(&self.expr, evaluator.root_context())
            .and_then(|value| evaluator.to_string(value));
        match text {
            Ok(text) if !budget.is_exhausted() => text.into_owned(),
            _ => String::new(),
        }
    }
}
