//! The XPath data model over a `roxmltree` document.
//!
//! `roxmltree` keeps attributes and namespace declarations as data of their element
//! rather than as nodes, so an XPath node is either a tree node or an (element, index)
//! pair naming one of its attributes or in-scope namespaces. Every element also has the
//! namespace node for the `xml` prefix, which XPath requires and `roxmltree` does not
//! list; it takes the index after the listed ones.

use std::borrow::Cow;
use std::cmp::Ordering;

use roxmltree::NodeType;

use super::xpath_value::{Eval, Stop};
use crate::budget::Budget;

/// The namespace the `xml` prefix is bound to by definition.
pub(super) const XML_NAMESPACE: &str = "http://www.w3.org/XML/1998/namespace";

type Tree<'a, 'i> = roxmltree::Node<'a, 'i>;

/// One XPath node.
#[derive(Debug, Clone, Copy)]
pub(super) enum Node<'a, 'i> {
    /// The root, an element, text, a comment or a processing instruction.
    Tree(Tree<'a, 'i>),
    /// The element's attribute at this index.
    Attribute(Tree<'a, 'i>, u32),
    /// The element's in-scope namespace at this index.
    Namespace(Tree<'a, 'i>, u32),
}

/// The kinds of node that name tests and functions tell apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Root,
    Element,
    Attribute,
    Namespace,
    Text,
    Comment,
    ProcessingInstruction,
}

/// A namespace node's prefix (`None` for the default namespace) and URI.
pub(super) struct NamespaceBinding<'a> {
    pub(super) prefix: Option<&'a str>,
    pub(super) uri: &'a str,
}

impl<'a, 'i> Node<'a, 'i> {
    /// Document order: `roxmltree` numbers tree nodes in document order, and an element's
    /// namespace nodes, then its attribute nodes, come after it and before its children.
    fn order_key(&self) -> (u32, u8, u32) {
        match *self {
            Node::Tree(n) => (n.id().get(), 0, 0),
            Node::Namespace(n, i) => (n.id().get(), 1, i),
            Node::Attribute(n, i) => (n.id().get(), 2, i),
        }
    }

    pub(super) fn kind(&self) -> Kind {
        match self {
            Node::Attribute(..) => Kind::Attribute,
            Node::Namespace(..) => Kind::Namespace,
            Node::Tree(n) => match n.node_type() {
                NodeType::Root => Kind::Root,
                NodeType::Element => Kind::Element,
                NodeType::Text => Kind::Text,
                NodeType::Comment => Kind::Comment,
                NodeType::PI => Kind::ProcessingInstruction,
            },
        }
    }

    /// The tree node itself, or the element that owns an attribute or namespace node.
    pub(super) fn tree(&self) -> Tree<'a, 'i> {
        match *self {
            Node::Tree(n) | Node::Attribute(n, _) | Node::Namespace(n, _) => n,
        }
    }

    pub(super) fn parent(&self) -> Option<Node<'a, 'i>> {
        match *self {
            Node::Tree(n) => n.parent().map(Node::Tree),
            Node::Attribute(n, _) | Node::Namespace(n, _) => Some(Node::Tree(n)),
        }
    }

    fn attribute(&self) -> Option<roxmltree::Attribute<'a, 'i>> {
        match *self {
            Node::Attribute(n, i) => n.attributes().nth(i as usize),
            _ => None,
        }
    }

    /// The binding a namespace node stands for.
    pub(super) fn namespace(&self) -> Option<NamespaceBinding<'a>> {
        let Node::Namespace(n, i) = *self else {
            return None;
        };
        match n.namespaces().nth(i as usize) {
            Some(ns) => Some(NamespaceBinding {
                prefix: ns.name(),
                uri: ns.uri(),
            }),
            None => Some(NamespaceBinding {
                prefix: Some("xml"),
                uri: XML_NAMESPACE,
            }),
        }
    }

    /// The local part of the expanded name; empty for nodes without one.
    pub(super) fn local_name(&self) -> &'a str {
        match self {
            Node::Tree(n) => match n.node_type() {
                NodeType::Element => n.tag_name().name(),
                NodeType::PI => n.pi().map_or("", |pi| pi.target),
                _ => "",
            },
            Node::Attribute(..) => self.attribute().map_or("", |a| a.name()),
            Node::Namespace(..) => self.namespace().and_then(|b| b.prefix).unwrap_or(""),
        }
    }

    /// The namespace URI of the expanded name; empty for nodes in no namespace.
    pub(super) fn namespace_uri(&self) -> &'a str {
        match self {
            Node::Tree(n) if n.is_element() => n.tag_name().namespace().unwrap_or(""),
            Node::Attribute(..) => self.attribute().and_then(|a| a.namespace()).unwrap_or(""),
            _ => "",
        }
    }

    /// The name as written in the document, prefix included: `roxmltree` keeps the
    /// source text, and reading the name there gives the prefix the author chose even
    /// when several prefixes are bound to the same namespace.
    pub(super) fn qualified_name(&self) -> &'a str {
        match self {
            Node::Tree(n) if n.is_element() => {
                let source = &n.document().input_text()[n.range().start..];
                let name = source.strip_prefix('<').unwrap_or(source);
                let end = name
                    .find(|c: char| c.is_whitespace() || c == '/' || c == '>')
                    .unwrap_or(name.len());
                &name[..end]
            }
            Node::Attribute(n, _) => match self.attribute() {
                Some(a) => &n.document().input_text()[a.range_qname()],
                None => "",
            },
            _ => self.local_name(),
        }
    }

    /// The string-value (section 5): the text of all descendant text nodes for the root
    /// and elements, the node's own text for the others. Spends one unit per node
    /// visited and one per 16 bytes of text.
    pub(super) fn string_value(&self, budget: &Budget) -> Eval<Cow<'a, str>> {
        let value = match self {
            Node::Attribute(..) => Cow::Borrowed(self.attribute().map_or("", |a| a.value())),
            Node::Namespace(..) => Cow::Borrowed(self.namespace().map_or("", |b| b.uri)),
            Node::Tree(n) => match n.node_type() {
                NodeType::Root | NodeType::Element => return descendant_text(*n, budget),
                NodeType::PI => Cow::Borrowed(n.pi().and_then(|pi| pi.value).unwrap_or("")),
                NodeType::Text | NodeType::Comment => Cow::Borrowed(n.text().unwrap_or("")),
            },
        };
        spend(budget, 1 + text_units(value.len()))?;
        Ok(value)
    }

    /// The value of this element's `xml:lang` attribute, if it has one.
    pub(super) fn xml_lang(&self) -> Option<&'a str> {
        let Node::Tree(n) = self else { return None };
        n.attributes()
            .find(|a| a.namespace() == Some(XML_NAMESPACE) && a.name() == "lang")
            .map(|a| a.value())
    }
}

/// Concatenates the text descendants of `n` in document order. `roxmltree` lists the
/// descendants of a node as a slice, so this needs no recursion however deep the tree;
/// a single text node is borrowed rather than copied.
fn descendant_text<'a>(n: Tree<'a, '_>, budget: &Budget) -> Eval<Cow<'a, str>> {
    let mut value: Cow<'a, str> = Cow::Borrowed("");
    for d in n.descendants() {
        spend(budget, 1)?;
        let Some(text) = d.is_text().then(|| d.text()).flatten() else {
            continue;
        };
        spend(budget, text_units(text.len()))?;
        if value.is_empty() {
            value = Cow::Borrowed(text);
        } else {
            value.to_mut().push_str(text);
        }
    }
    Ok(value)
}

/// Fuel for work on `len` bytes of text: one unit per 16 bytes.
pub(super) fn text_units(len: usize) -> u64 {
    (len / 16) as u64
}

/// Spends `units` or stops the evaluation.
pub(super) fn spend(budget: &Budget, units: u64) -> Eval<()> {
    if budget.spend(units) {
        Ok(())
    } else {
        Err(Stop::Exhausted)
    }
}

impl PartialEq for Node<'_, '_> {
    fn eq(&self, other: &Self) -> bool {
        self.order_key() == other.order_key()
    }
}

impl Eq for Node<'_, '_> {}

impl PartialOrd for Node<'_, '_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Nodes compare in document order. Nodes of different documents are never compared.
impl Ord for Node<'_, '_> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.order_key().cmp(&other.order_key())
    }
}
