//! The thirteen XPath axes and node tests.
//!
//! Each axis appends the nodes it visits that pass the node test to a vector, in the
//! axis's own order: document order for forward axes, nearest first for reverse axes,
//! which is the order proximity positions count in. Every traversal is a loop over
//! `roxmltree`'s sibling links, parent links and descendant slices, so a deeply nested
//! document costs no stack. Each visited node spends one unit of fuel, whether it passes
//! the test or not.

use super::xpath_node::{Kind, Node, XML_NAMESPACE, spend};
use super::xpath_syntax::{Axis, NodeTest};
use super::xpath_value::{Eval, Stop};
use crate::budget::Budget;

/// Appends to `out` the nodes on `axis` from `from` that pass `test`.
pub(super) fn collect<'a, 'i>(
    axis: Axis,
    from: Node<'a, 'i>,
    test: &NodeTest,
    budget: &Budget,
    out: &mut Vec<Node<'a, 'i>>,
) -> Eval<()> {
    let mut visit = Visitor {
        test,
        principal: principal_kind(axis),
        budget,
        out,
    };
    match axis {
        Axis::Child => children(from, &mut visit),
        Axis::Descendant => descendants(from, &mut visit),
        Axis::DescendantOrSelf => {
            visit.node(from)?;
            descendants(from, &mut visit)
        }
        Axis::Parent => from.parent().map_or(Ok(()), |p| visit.node(p)),
        Axis::Ancestor => ancestors(from, &mut visit),
        Axis::AncestorOrSelf => {
            visit.node(from)?;
            ancestors(from, &mut visit)
        }
        Axis::FollowingSibling => following_siblings(from, &mut visit),
        Axis::PrecedingSibling => preceding_siblings(from, &mut visit),
        Axis::Following => following(from, &mut visit),
        Axis::Preceding => preceding(from, &mut visit),
        Axis::Attribute => attributes(from, &mut visit),
        Axis::Namespace => namespaces(from, &mut visit),
        Axis::SelfNode => visit.node(from),
    }
}

/// The node kind that `*` and plain names select on an axis (section 2.3).
fn principal_kind(axis: Axis) -> Kind {
    match axis {
        Axis::Attribute => Kind::Attribute,
        Axis::Namespace => Kind::Namespace,
        _ => Kind::Element,
    }
}

struct Visitor<'s, 'a, 'i> {
    test: &'s NodeTest,
    principal: Kind,
    budget: &'s Budget,
    out: &'s mut Vec<Node<'a, 'i>>,
}

impl<'a, 'i> Visitor<'_, 'a, 'i> {
    fn node(&mut self, node: Node<'a, 'i>) -> Eval<()> {
        spend(self.budget, 1)?;
        if passes(self.test, node, self.principal)? {
            self.out.push(node);
        }
        Ok(())
    }

    fn tree(&mut self, node: roxmltree::Node<'a, 'i>) -> Eval<()> {
        self.node(Node::Tree(node))
    }
}

/// Whether `node` passes `test` on an axis whose principal node type is `principal`.
pub(super) fn passes(test: &NodeTest, node: Node<'_, '_>, principal: Kind) -> Eval<bool> {
    let kind = node.kind();
    Ok(match test {
        NodeTest::Node => true,
        NodeTest::Text => kind == Kind::Text,
        NodeTest::Comment => kind == Kind::Comment,
        NodeTest::ProcessingInstruction(target) => {
            kind == Kind::ProcessingInstruction
                && target.as_deref().is_none_or(|t| t == node.local_name())
        }
        NodeTest::AnyName => kind == principal,
        // The prefix is resolved only once a node of the principal type is tested, so a
        // path that never reaches such a node is not in error (as with sxd-xpath).
        NodeTest::AnyInNamespace(prefix) => {
            kind == principal && node.namespace_uri() == resolve_prefix(prefix)?
        }
        NodeTest::Name { prefix, local } => {
            kind == principal
                && node.local_name() == local
                && node.namespace_uri() == prefix.as_deref().map_or(Ok(""), resolve_prefix)?
        }
    })
}

/// The namespace a prefix in the expression stands for. No namespace context is given
/// to expressions, so only `xml`, which the Namespaces recommendation binds by
/// definition, resolves; any other prefix is an error.
fn resolve_prefix(prefix: &str) -> Eval<&'static str> {
    if prefix == "xml" {
        Ok(XML_NAMESPACE)
    } else {
        Err(Stop::Error(format!(
            "the prefix '{prefix}' is not bound to a namespace"
        )))
    }
}

fn children<'a, 'i>(from: Node<'a, 'i>, visit: &mut Visitor<'_, 'a, 'i>) -> Eval<()> {
    if let Node::Tree(n) = from {
        for c in n.children() {
            visit.tree(c)?;
        }
    }
    Ok(())
}

fn descendants<'a, 'i>(from: Node<'a, 'i>, visit: &mut Visitor<'_, 'a, 'i>) -> Eval<()> {
    if let Node::Tree(n) = from {
        for d in n.descendants().skip(1) {
            visit.tree(d)?;
        }
    }
    Ok(())
}

fn ancestors<'a, 'i>(from: Node<'a, 'i>, visit: &mut Visitor<'_, 'a, 'i>) -> Eval<()> {
    let mut current = from.parent();
    while let Some(node) = current {
        visit.node(node)?;
        current = node.parent();
    }
    Ok(())
}

/// Attribute and namespace nodes have no siblings.
fn following_siblings<'a, 'i>(from: Node<'a, 'i>, visit: &mut Visitor<'_, 'a, 'i>) -> Eval<()> {
    if let Node::Tree(n) = from {
        for s in n.next_siblings().skip(1) {
            visit.tree(s)?;
        }
    }
    Ok(())
}

fn preceding_siblings<'a, 'i>(from: Node<'a, 'i>, visit: &mut Visitor<'_, 'a, 'i>) -> Eval<()> {
    if let Node::Tree(n) = from {
        for s in n.prev_siblings().skip(1) {
            visit.tree(s)?;
        }
    }
    Ok(())
}

/// Everything after the node in document order except its descendants. For an
/// attribute or namespace node that includes its element's children, which follow it in
/// document order (section 5: an element's attributes come before its children).
fn following<'a, 'i>(from: Node<'a, 'i>, visit: &mut Visitor<'_, 'a, 'i>) -> Eval<()> {
    let mut current = from.tree();
    if !matches!(from, Node::Tree(_)) {
        for d in current.descendants().skip(1) {
            visit.tree(d)?;
        }
    }
    loop {
        for sibling in current.next_siblings().skip(1) {
            for d in sibling.descendants() {
                visit.tree(d)?;
            }
        }
        match current.parent() {
            Some(p) => current = p,
            None => return Ok(()),
        }
    }
}

/// Everything before the node in document order except its ancestors, nearest first.
/// An attribute's element is one of its ancestors, so the element's preceding nodes are
/// the attribute's too.
fn preceding<'a, 'i>(from: Node<'a, 'i>, visit: &mut Visitor<'_, 'a, 'i>) -> Eval<()> {
    let mut current = from.tree();
    loop {
        for sibling in current.prev_siblings().skip(1) {
            for d in sibling.descendants().rev() {
                visit.tree(d)?;
            }
        }
        match current.parent() {
            Some(p) => current = p,
            None => return Ok(()),
        }
    }
}

fn attributes<'a, 'i>(from: Node<'a, 'i>, visit: &mut Visitor<'_, 'a, 'i>) -> Eval<()> {
    if let Node::Tree(n) = from {
        for i in 0..n.attributes().len() {
            visit.node(Node::Attribute(n, index(i)))?;
        }
    }
    Ok(())
}

/// The element's in-scope namespaces, then the implicit `xml` one unless the document
/// declared it.
fn namespaces<'a, 'i>(from: Node<'a, 'i>, visit: &mut Visitor<'_, 'a, 'i>) -> Eval<()> {
    let Node::Tree(n) = from else { return Ok(()) };
    if !n.is_element() {
        return Ok(());
    }
    let declared = n.namespaces().len();
    for (i, ns) in n.namespaces().enumerate() {
        // `xmlns=""` undeclares the default namespace; `roxmltree` lists it with an empty
        // URI, but it leaves no namespace node.
        if !ns.uri().is_empty() {
            visit.node(Node::Namespace(n, index(i)))?;
        }
    }
    if !n.namespaces().any(|ns| ns.name() == Some("xml")) {
        visit.node(Node::Namespace(n, index(declared)))?;
    }
    Ok(())
}

/// `roxmltree` numbers its nodes and attributes with `u32`, so indexes fit.
fn index(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}
