//! Compiled XPath 1.0 expressions.

use std::fmt;

use super::xpath_eval::Evaluator;
use super::xpath_parse::parse_expression;
use super::xpath_syntax::Expr;
use super::xpath_value::Value;
use crate::budget::Budget;

/// A node [`XPath::select`] found, owned.
#[derive(Debug, Clone, PartialEq)]
pub struct Selected {
    pub element: bool,
    pub name: String,
    /// An element's XML as written in the document; an attribute's or text's value.
    pub xml: String,
    /// The XPath string-value.
    pub text: String,
    pub attributes: Vec<(String, String)>,
}

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

    /// The nodes the expression selects in `text` (an XML document), in document order,
    /// each described on its own: an element with its XML as written, its attributes and
    /// its string-value; an attribute or text node with its value. An expression whose
    /// result is not a node-set gives that one value. Empty when the text is not XML, the
    /// evaluation fails or the budget runs out.
    pub fn select(&self, text: &str, budget: &Budget) -> Vec<Selected> {
        let Some(doc) = super::parse_document(text, budget) else {
            return Vec::new();
        };
        let evaluator = Evaluator::new(&doc, budget);
        let value = match evaluator.eval(&self.expr, evaluator.root_context()) {
            Ok(v) => v,
            Err(_) => return Vec::new(),
        };
        let out = match value {
            Value::Nodes(nodes) => nodes
                .iter()
                .filter_map(|n| {
                    let value = n.string_value(budget).ok()?.into_owned();
                    let tree = n.tree();
                    // Each node's text is copied: nested elements copy their
                    // descendants' again, so every byte is paid for.
                    if !budget.spend_bytes(value.len() + tree.range().len(), 1) {
                        return None;
                    }
                    Some(match n.kind() {
                        super::xpath_node::Kind::Element => Selected {
                            element: true,
                            name: tree.tag_name().name().to_string(),
                            xml: text.get(tree.range()).unwrap_or_default().to_string(),
                            text: value,
                            attributes: tree
                                .attributes()
                                .map(|a| (a.name().to_string(), a.value().to_string()))
                                .collect(),
                        },
                        _ => Selected {
                            element: false,
                            name: n.local_name().to_string(),
                            xml: value.clone(),
                            text: value,
                            attributes: Vec::new(),
                        },
                    })
                })
                .collect(),
            other => match evaluator.to_string(other) {
                Ok(s) => vec![Selected {
                    element: false,
                    name: String::new(),
                    xml: s.to_string(),
                    text: s.into_owned(),
                    attributes: Vec::new(),
                }],
                Err(_) => Vec::new(),
            },
        };
        if budget.is_exhausted() {
            Vec::new()
        } else {
            out
        }
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
