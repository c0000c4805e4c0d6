//! Evaluates a compiled expression against a document, spending fuel as it goes.
//!
//! Every expression evaluated, predicate tested, node visited by an axis and node-set
//! member compared spends at least one unit; text work spends one unit per 16 bytes.
//! The first refused `spend` becomes `Stop::Exhausted`, which every caller passes on
//! with `?`, so the evaluation unwinds at once.

use std::borrow::Cow;
use std::collections::HashSet;

use super::xpath_axes::collect;
use super::xpath_node::{Node, spend, text_units};
use super::xpath_syntax::{ArithmeticOp, CompareOp, Expr, PathExpr, PathStart, Step};
use super::xpath_value::{
    Atom, Eval, Value, boolean_to_number, boolean_to_string, compare_atoms, compare_numbers,
    number_to_boolean, number_to_string, string_to_number,
};
use crate::budget::Budget;

/// The context of an evaluation: a node, its proximity position and the context size.
#[derive(Debug, Clone, Copy)]
pub(super) struct Context<'a, 'i> {
    pub(super) node: Node<'a, 'i>,
    pub(super) position: usize,
    pub(super) size: usize,
}

/// Evaluates expressions against one document under one budget.
pub(super) struct Evaluator<'a, 'i, 'b> {
    root: Node<'a, 'i>,
    pub(super) budget: &'b Budget,
}

impl<'a, 'i, 'b> Evaluator<'a, 'i, 'b> {
    pub(super) fn new(doc: &'a roxmltree::Document<'i>, budget: &'b Budget) -> Self {
        Evaluator {
            root: Node::Tree(doc.root()),
            budget,
        }
    }

    /// The context a whole expression is evaluated in: the root node, alone.
    pub(super) fn root_context(&self) -> Context<'a, 'i> {
        Context {
            node: self.root,
            position: 1,
            size: 1,
        }
    }

    pub(super) fn spend(&self, units: u64) -> Eval<()> {
        spend(self.budget, units)
    }

    pub(super) fn eval(&self, expr: &'a Expr, ctx: Context<'a, 'i>) -> Eval<Value<'a, 'i>> {
        self.spend(1)?;
        Ok(match expr {
            Expr::Or(operands) => Value::Boolean(self.any(operands, ctx, true)?),
            Expr::And(operands) => Value::Boolean(!self.any(operands, ctx, false)?),
            Expr::Compare(first, rest) => self.compare_chain(first, rest, ctx)?,
            Expr::Arithmetic(first, rest) => Value::Number(self.arithmetic(first, rest, ctx)?),
            Expr::Minus { negate, operand } => {
                let n = self.number(operand, ctx)?;
                Value::Number(if *negate { -n } else { n })
            }
            Expr::Union(operands) => Value::Nodes(self.union(operands, ctx)?),
            Expr::Literal(s) => {
                self.spend(text_units(s.len()))?;
                Value::String(Cow::Borrowed(s))
            }
            Expr::Number(n) => Value::Number(*n),
            Expr::Call(function, args) => self.call(*function, args, ctx)?,
            Expr::Path(path) => Value::Nodes(self.path(path, ctx)?),
        })
    }

    /// Whether any operand's boolean value is `wanted`, stopping at the first that is:
    /// `or` looks for a true operand, `and` for a false one.
    fn any(&self, operands: &'a [Expr], ctx: Context<'a, 'i>, wanted: bool) -> Eval<bool> {
        for operand in operands {
            if self.boolean(operand, ctx)? == wanted {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn compare_chain(
        &self,
        first: &'a Expr,
        rest: &'a [(CompareOp, Expr)],
        ctx: Context<'a, 'i>,
    ) -> Eval<Value<'a, 'i>> {
        let mut left = self.eval(first, ctx)?;
        for (op, right) in rest {
            let right = self.eval(right, ctx)?;
            left = Value::Boolean(self.compare(left, *op, right)?);
        }
        Ok(left)
    }

    fn arithmetic(
        &self,
        first: &'a Expr,
        rest: &'a [(ArithmeticOp, Expr)],
        ctx: Context<'a, 'i>,
    ) -> Eval<f64> {
        let mut acc = self.number(first, ctx)?;
        for (op, right) in rest {
            let right = self.number(right, ctx)?;
            acc = match op {
                ArithmeticOp::Add => acc + right,
                ArithmeticOp::Subtract => acc - right,
                ArithmeticOp::Multiply => acc * right,
                ArithmeticOp::Divide => acc / right,
                // Rust's `%` on floats truncates like Java's and ECMAScript's, which is
                // what XPath's `mod` is defined as.
                ArithmeticOp::Modulo => acc % right,
            };
        }
        Ok(acc)
    }

    fn union(&self, operands: &'a [Expr], ctx: Context<'a, 'i>) -> Eval<Vec<Node<'a, 'i>>> {
        let mut all = Vec::new();
        for operand in operands {
            all.extend(
                self.eval(operand, ctx)?
                    .into_nodes("the union operator '|'")?,
            );
        }
        self.sort_unique(&mut all)?;
        Ok(all)
    }

    /// Puts nodes in document order and drops duplicates, spending one unit per node.
    fn sort_unique(&self, nodes: &mut Vec<Node<'a, 'i>>) -> Eval<()> {
        self.spend(nodes.len() as u64)?;
        nodes.sort_unstable();
        nodes.dedup();
        Ok(())
    }

    pub(super) fn path(&self, path: &'a PathExpr, ctx: Context<'a, 'i>) -> Eval<Vec<Node<'a, 'i>>> {
        let mut nodes = match &path.start {
            PathStart::Root => vec![self.root],
            PathStart::Context => vec![ctx.node],
            PathStart::Filter(primary, predicates) => {
                let mut nodes = self
                    .eval(primary, ctx)?
                    .into_nodes("a filter expression with predicates or steps")?;
                // A filter expression's predicates count positions in document order,
                // as on the child axis (section 3.3).
                for predicate in predicates {
                    self.filter(&mut nodes, predicate)?;
                }
                nodes
            }
        };
        for step in &path.steps {
            nodes = self.step(step, &nodes)?;
        }
        Ok(nodes)
    }

    /// Applies one step to every node of a node-set and merges the results.
    fn step(&self, step: &'a Step, context: &[Node<'a, 'i>]) -> Eval<Vec<Node<'a, 'i>>> {
        let mut out = Vec::new();
        let mut candidates = Vec::new();
        for &node in context {
            if step.predicates.is_empty() {
                collect(step.axis, node, &step.test, self.budget, &mut out)?;
                continue;
            }
            // Predicates count positions among one context node's candidates, in the
            // axis's order, so they are filtered before joining the others.
            candidates.clear();
            collect(step.axis, node, &step.test, self.budget, &mut candidates)?;
            for predicate in &step.predicates {
                self.filter(&mut candidates, predicate)?;
            }
            out.extend_from_slice(&candidates);
        }
        // From a single context node a forward axis yields document order already and a
        // reverse axis the exact opposite; from several, results interleave and repeat.
        if context.len() > 1 {
            self.sort_unique(&mut out)?;
        } else if step.axis.is_reverse() {
            out.reverse();
        }
        Ok(out)
    }

    /// Keeps the nodes for which the predicate holds: a number holds at the position it
    /// names, anything else by its boolean value.
    pub(super) fn filter(&self, nodes: &mut Vec<Node<'a, 'i>>, predicate: &'a Expr) -> Eval<()> {
        let size = nodes.len();
        if let Expr::Number(n) = predicate {
            // A constant position needs no evaluation per node.
            self.spend(1)?;
            let wanted = (n.fract() == 0.0 && *n >= 1.0 && *n <= size as f64)
                .then(|| nodes[*n as usize - 1]);
            nodes.clear();
            nodes.extend(wanted);
            return Ok(());
        }
        let mut kept = 0;
        for i in 0..size {
            self.spend(1)?;
            let node = nodes[i];
            let ctx = Context {
                node,
                position: i + 1,
                size,
            };
            let holds = match self.eval(predicate, ctx)? {
                Value::Number(n) => n == (i + 1) as f64,
                other => self.to_boolean(&other),
            };
            if holds {
                nodes[kept] = node;
                kept += 1;
            }
        }
        nodes.truncate(kept);
        Ok(())
    }

    pub(super) fn boolean(&self, expr: &'a Expr, ctx: Context<'a, 'i>) -> Eval<bool> {
        let value = self.eval(expr, ctx)?;
        Ok(self.to_boolean(&value))
    }

    pub(super) fn number(&self, expr: &'a Expr, ctx: Context<'a, 'i>) -> Eval<f64> {
        let value = self.eval(expr, ctx)?;
        self.to_number(&value)
    }

    pub(super) fn string(&self, expr: &'a Expr, ctx: Context<'a, 'i>) -> Eval<Cow<'a, str>> {
        let value = self.eval(expr, ctx)?;
        self.to_string(value)
    }

    pub(super) fn to_boolean(&self, value: &Value<'a, 'i>) -> bool {
        match value {
            Value::Nodes(nodes) => !nodes.is_empty(),
            Value::Boolean(b) => *b,
            Value::Number(n) => number_to_boolean(*n),
            Value::String(s) => !s.is_empty(),
        }
    }

    pub(super) fn to_number(&self, value: &Value<'a, 'i>) -> Eval<f64> {
        Ok(match value {
            Value::Nodes(nodes) => match nodes.first() {
                Some(node) => self.node_number(*node)?,
                None => f64::NAN,
            },
            Value::Boolean(b) => boolean_to_number(*b),
            Value::Number(n) => *n,
            Value::String(s) => {
                self.spend(text_units(s.len()))?;
                string_to_number(s)
            }
        })
    }

    /// `string()`: for a node-set, the string-value of its first node in document order.
    pub(super) fn to_string(&self, value: Value<'a, 'i>) -> Eval<Cow<'a, str>> {
        Ok(match value {
            Value::Nodes(nodes) => match nodes.first() {
                Some(node) => node.string_value(self.budget)?,
                None => Cow::Borrowed(""),
            },
            Value::Boolean(b) => Cow::Borrowed(boolean_to_string(b)),
            Value::Number(n) => Cow::Owned(number_to_string(n)),
            Value::String(s) => s,
        })
    }

    pub(super) fn node_number(&self, node: Node<'a, 'i>) -> Eval<f64> {
        let text = node.string_value(self.budget)?;
        Ok(string_to_number(&text))
    }

    /// Compares two values by the rules of section 3.4.
    fn compare(&self, left: Value<'a, 'i>, op: CompareOp, right: Value<'a, 'i>) -> Eval<bool> {
        match (left, right) {
            (Value::Nodes(l), Value::Nodes(r)) => self.compare_node_sets(&l, op, &r),
            (Value::Nodes(l), other) => self.compare_nodes_atom(&l, op, &other),
            (other, Value::Nodes(r)) => self.compare_nodes_atom(&r, op.mirrored(), &other),
            (l, r) => Ok(compare_atoms(atom(&l), op, atom(&r))),
        }
    }

    /// A node-set against a non-node-set: against a boolean the node-set's boolean
    /// value counts, otherwise the comparison holds if it holds for any one node.
    fn compare_nodes_atom(
        &self,
        nodes: &[Node<'a, 'i>],
        op: CompareOp,
        other: &Value<'a, 'i>,
    ) -> Eval<bool> {
        let other = atom(other);
        if let Atom::Boolean(_) = other {
            return Ok(compare_atoms(Atom::Boolean(!nodes.is_empty()), op, other));
        }
        // Against a string, `=` and `!=` compare strings and the others numbers; against a
        // number, everything compares numbers.
        let as_strings = op.is_equality() && matches!(other, Atom::String(_));
        let number = other.number();
        for &node in nodes {
            self.spend(1)?;
            let text = node.string_value(self.budget)?;
            let holds = if as_strings {
                compare_atoms(Atom::String(&text), op, other)
            } else {
                compare_numbers(string_to_number(&text), op, number)
            };
            if holds {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Two node-sets: the comparison holds if it holds for some pair of members. Rather
    /// than trying every pair, equality looks members up in a set of the other side's
    /// strings, and the relational operators compare extremes, so the work stays
    /// proportional to the members.
    fn compare_node_sets(
        &self,
        left: &[Node<'a, 'i>],
        op: CompareOp,
        right: &[Node<'a, 'i>],
    ) -> Eval<bool> {
        if left.is_empty() || right.is_empty() {
            return Ok(false);
        }
        if op.is_equality() {
            let right_strings = self.string_set(right)?;
            for &node in left {
                self.spend(1)?;
                let text = node.string_value(self.budget)?;
                let holds = match op {
                    CompareOp::Eq => right_strings.contains(&text),
                    _ => right_strings.len() > 1 || !right_strings.contains(&text),
                };
                if holds {
                    return Ok(true);
                }
            }
            return Ok(false);
        }
        let (Some((left_min, left_max)), Some((right_min, right_max))) =
            (self.number_range(left)?, self.number_range(right)?)
        else {
            return Ok(false);
        };
        Ok(match op {
            CompareOp::Lt => left_min < right_max,
            CompareOp::Le => left_min <= right_max,
            CompareOp::Gt => left_max > right_min,
            _ => left_max >= right_min,
        })
    }

    fn string_set(&self, nodes: &[Node<'a, 'i>]) -> Eval<HashSet<Cow<'a, str>>> {
        let mut set = HashSet::with_capacity(nodes.len());
        for &node in nodes {
            self.spend(1)?;
            set.insert(node.string_value(self.budget)?);
        }
        Ok(set)
    }

    /// The least and greatest of the members' numbers, NaN left out: NaN compares false
    /// with everything, so it can never make a relational comparison hold.
    fn number_range(&self, nodes: &[Node<'a, 'i>]) -> Eval<Option<(f64, f64)>> {
        let mut range: Option<(f64, f64)> = None;
        for &node in nodes {
            self.spend(1)?;
            let n = self.node_number(node)?;
            if n.is_nan() {
                continue;
            }
            range = Some(match range {
                Some((lo, hi)) => (lo.min(n), hi.max(n)),
                None => (n, n),
            });
        }
        Ok(range)
    }
}

fn atom<'v>(value: &'v Value<'_, '_>) -> Atom<'v> {
    match value {
        Value::Boolean(b) => Atom::Boolean(*b),
        Value::Number(n) => Atom::Number(*n),
        Value::String(s) => Atom::String(s),
        // Callers handle node-sets before asking for an atom.
        Value::Nodes(nodes) => Atom::Boolean(!nodes.is_empty()),
    }
}
