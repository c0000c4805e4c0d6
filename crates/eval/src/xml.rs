//! XML body conditions: structural equality and XPath.
//!
//! Documents are read with `roxmltree`, with DTDs refused. Expected documents are parsed
//! once, at compile time, into a plain tree ([`XNode`]) that can be shared between
//! threads. XPath expressions are compiled once into an [`XPath`], evaluated by the
//! engine in the `xpath_*` submodules. Every comparison and evaluation runs on a
//! [`Budget`] and gives up (as a non-match) when it runs out, so no request body or
//! expression can hold a worker for long.

mod xpath;
mod xpath_axes;
mod xpath_eval;
mod xpath_func;
mod xpath_lex;
mod xpath_node;
mod xpath_parse;
mod xpath_syntax;
mod xpath_value;
pub mod xsd;

#[cfg(test)]
mod xpath_tests;

pub use xpath::{Selected, XPath, compile};

use crate::budget::Budget;

/// The deepest element nesting [`parse`] accepts. Building, comparing and dropping an
/// [`XNode`] tree recurses once per level, so the depth must be bounded for the stack's
/// sake; `roxmltree` itself parses any depth without recursion.
const MAX_XNODE_DEPTH: usize = 256;

/// An XML element or text, with what XML equality ignores already dropped.
#[derive(Debug, Clone, PartialEq)]
pub enum XNode {
    Element {
        name: String,
        attributes: Vec<(String, String)>,
        children: Vec<XNode>,
    },
    Text(String),
}

/// Parses XML into a `roxmltree` document with DTDs refused.
fn read(text: &str) -> Result<roxmltree::Document<'_>, roxmltree::Error> {
    let options = roxmltree::ParsingOptions {
        allow_dtd: false,
        ..roxmltree::ParsingOptions::default()
    };
    roxmltree::Document::parse_with_options(text, options)
}

/// Parses XML text into a tree; whitespace-only text is dropped and other text trimmed,
/// comments and processing instructions are dropped, attributes are sorted. Names are
/// `{namespace-uri}local` for namespaced elements and attributes.
pub fn parse(text: &str) -> Result<XNode, String> {
    let doc = read(text).map_err(|e| format!("not well-formed XML: {e}"))?;
    build(doc.root_element())
}

/// Builds the tree with an explicit stack of unfinished elements rather than by
/// recursion, and refuses documents nested deeper than [`MAX_XNODE_DEPTH`].
fn build(root: roxmltree::Node<'_, '_>) -> Result<XNode, String> {
    // Each entry is an element still being built and the iterator over its remaining
    // children.
    let mut stack = vec![(bare_element(root), root.children())];
    loop {
        let (_, children) = stack.last_mut().ok_or("the document has no root element")?;
        match children.next() {
            Some(child) if child.is_element() => {
                if stack.len() >= MAX_XNODE_DEPTH {
                    return Err(format!(
                        "the document nests elements deeper than {MAX_XNODE_DEPTH} levels"
                    ));
                }
                stack.push((bare_element(child), child.children()));
            }
            Some(child) => {
                let text = child.is_text().then(|| child.text()).flatten();
                let trimmed = text.map(str::trim).unwrap_or("");
                if !trimmed.is_empty() {
                    push_child(&mut stack, XNode::Text(trimmed.to_string()));
                }
            }
            None => {
                let (done, _) = stack.pop().ok_or("the document has no root element")?;
                if stack.is_empty() {
                    return Ok(done);
                }
                push_child(&mut stack, done);
            }
        }
    }
}

type BuildStack<'a, 'i> = Vec<(XNode, roxmltree::Children<'a, 'i>)>;

fn push_child(stack: &mut BuildStack<'_, '_>, child: XNode) {
    if let Some((XNode::Element { children, .. }, _)) = stack.last_mut() {
        children.push(child);
    }
}

/// An element with its name and sorted attributes, and no children yet.
fn bare_element(e: roxmltree::Node<'_, '_>) -> XNode {
    let mut attributes: Vec<(String, String)> = e
        .attributes()
        .map(|a| (qualified(a.namespace(), a.name()), a.value().to_string()))
        .collect();
    attributes.sort();
    XNode::Element {
        name: qualified(e.tag_name().namespace(), e.tag_name().name()),
        attributes,
        children: Vec::new(),
    }
}

fn qualified(namespace: Option<&str>, local: &str) -> String {
    match namespace {
        Some(ns) => format!("{{{ns}}}{local}"),
        None => local.to_string(),
    }
}

/// Whether `actual` equals `expected`, ignoring sibling order; expected text may be an
/// XMLUnit placeholder. Spends one unit per node pair compared and per 16 bytes of text,
/// and answers false once the budget is gone.
pub fn equal(expected: &XNode, actual: &XNode, budget: &Budget) -> bool {
    equal_within(expected, actual, budget) && !budget.is_exhausted()
}

/// Where `actual` first departs from `expected`, in words, for near-miss reports: the path
/// of elements down to the first expected node without an equal counterpart. Siblings
/// are compared without regard to order, so "first" is in the expected document's order.
pub fn first_difference(expected: &XNode, actual: &XNode, budget: &Budget) -> String {
    let mut at = String::new();
    let mut e = expected;
    let mut a = actual;
    loop {
        let (
            XNode::Element {
                name: en,
                attributes: ea,
                children: ec,
            },
            XNode::Element {
                name: an,
                attributes: aa,
                children: ac,
            },
        ) = (e, a)
        else {
            return match (e, a) {
                (XNode::Text(t), XNode::Text(u)) => {
                    format!("at {at}: expected text \"{t}\", got \"{u}\"")
                }
                _ => format!("at {at}: expected {}, got {}", describe(e), describe(a)),
            };
        };
        at.push('/');
        at.push_str(en);
        if en != an {
            return format!("at {at}: expected element <{en}>, got <{an}>");
        }
        if let Some((k, v)) = ea
            .iter()
            .find(|(k, v)| !aa.iter().any(|(l, w)| l == k && text_equal(v, w, budget)))
        {
            let got = aa.iter().find(|(l, _)| l == k).map(|(_, w)| w.as_str());
            return match got {
                Some(w) => format!("at {at}: attribute {k} expected \"{v}\", got \"{w}\""),
                None => format!("at {at}: attribute {k}=\"{v}\" is missing"),
            };
        }
        if let Some((k, _)) = aa.iter().find(|(k, _)| !ea.iter().any(|(l, _)| l == k)) {
            return format!("at {at}: unexpected attribute {k}");
        }
        let Some(missing) = ec
            .iter()
            .find(|x| !ac.iter().any(|y| equal_within(x, y, budget)))
        else {
            return format!("at {at}: expected {} children, got {}", ec.len(), ac.len());
        };
        // Follow the actual child that looks like the missing one, if there is one.
        let counterpart = ac.iter().find(|y| match (missing, y) {
            (XNode::Element { name: m, .. }, XNode::Element { name: n, .. }) => m == n,
            (XNode::Text(_), XNode::Text(_)) => true,
            _ => false,
        });
        match counterpart {
            Some(y) if !budget.is_exhausted() => {
                e = missing;
                a = y;
            }
            _ => return format!("at {at}: {} has no counterpart", describe(missing)),
        }
    }
}

fn describe(n: &XNode) -> String {
    match n {
        XNode::Element { name, .. } => format!("element <{name}>"),
        XNode::Text(t) => format!("text \"{t}\""),
    }
}

fn equal_within(expected: &XNode, actual: &XNode, budget: &Budget) -> bool {
    if !budget.spend(1) {
        return false;
    }
    match (expected, actual) {
        (XNode::Text(e), XNode::Text(a)) => text_equal(e, a, budget),
        (
            XNode::Element {
                name: en,
                attributes: ea,
                children: ec,
            },
            XNode::Element {
                name: an,
                attributes: aa,
                children: ac,
            },
        ) => {
            en == an
                && ea.len() == aa.len()
                && ea
                    .iter()
                    .zip(aa)
                    .all(|((ek, ev), (ak, av))| ek == ak && text_equal(ev, av, budget))
                && ec.len() == ac.len()
                && crate::pairing::pair_all(ec, ac, budget, |e, a| equal_within(e, a, budget))
        }
        _ => false,
    }
}

fn text_equal(expected: &str, actual: &str, budget: &Budget) -> bool {
    if !budget.spend(1 + (expected.len() + actual.len()) as u64 / 16) {
        return false;
    }
    match expected {
        "${xmlunit.ignore}" => true,
        "${xmlunit.isNumber}" => actual.trim().parse::<f64>().is_ok(),
        _ => expected == actual,
    }
}

/// Parses a request body for XPath evaluation. Spends one unit per 16 bytes first, so
/// that a body too large for the budget is not parsed at all; refuses DTDs; `None` when
/// the XML is malformed or the budget is gone.
pub fn parse_document<'t>(text: &'t str, budget: &Budget) -> Option<roxmltree::Document<'t>> {
    if !budget.spend(1 + text.len() as u64 / 16) {
        return None;
    }
    read(text).ok()
}

/// Whether the XPath selects at least one node, or evaluates to true, a non-empty string
/// or a number, in the body (which must be UTF-8 XML).
pub fn xpath_matches(x: &XPath, body: &[u8], budget: &Budget) -> bool {
    let Ok(text) = std::str::from_utf8(body) else {
        return false;
    };
    parse_document(text, budget).is_some_and(|doc| x.matches(&doc, budget))
}

/// The XPath's value as a string (XPath's `string()`: the first selected node's text in
/// document order), or empty when the body is not XML, the expression fails or the
/// budget runs out.
pub fn xpath_string(x: &XPath, body: &str, budget: &Budget) -> String {
    match parse_document(body, budget) {
        Some(doc) => x.string_value(&doc, budget),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unlimited() -> Budget {
        Budget::unlimited()
    }

    fn eq(expected: &str, actual: &str) -> bool {
        equal(
            &parse(expected).unwrap(),
            &parse(actual).unwrap(),
            &unlimited(),
        )
    }

    #[test]
    fn the_first_difference_names_the_path_and_what_differs() {
        let b = Budget::unlimited();
        let e = parse(r#"<order id="1"><item><sku>a</sku></item><note>x</note></order>"#).unwrap();
        let diff = |actual: &str| first_difference(&e, &parse(actual).unwrap(), &b);
        assert_eq!(
            diff(r#"<order id="1"><note>x</note><item><sku>b</sku></item></order>"#),
            "at /order/item/sku: expected text \"a\", got \"b\""
        );
        assert_eq!(
            diff(r#"<order id="2"><item><sku>a</sku></item><note>x</note></order>"#),
            "at /order: attribute id expected \"1\", got \"2\""
        );
        assert_eq!(
            diff(r#"<order id="1"><item><sku>a</sku></item></order>"#),
            "at /order: element <note> has no counterpart"
        );
    }

    #[test]
    fn equality_ignores_whitespace_attribute_and_sibling_order() {
        let e = parse(r#"<a x="1" y="2"><b>1</b><c/></a>"#).unwrap();
        let a = parse("<a y=\"2\" x=\"1\">\n  <c/>\n  <b>1</b>\n</a>").unwrap();
        assert!(equal(&e, &a, &unlimited()));
        let other = parse(r#"<a x="1" y="2"><b>2</b><c/></a>"#).unwrap();
        assert!(!equal(&e, &other, &unlimited()));
    }

    #[test]
    fn xmlunit_placeholders() {
        let e = parse("<a><id>${xmlunit.isNumber}</id><note>${xmlunit.ignore}</note></a>").unwrap();
        assert!(equal(
            &e,
            &parse("<a><id>42</id><note>anything</note></a>").unwrap(),
            &unlimited()
        ));
        assert!(!equal(
            &e,
            &parse("<a><id>x</id><note>anything</note></a>").unwrap(),
            &unlimited()
        ));
        assert!(eq(r#"<a k="${xmlunit.ignore}"/>"#, r#"<a k="v"/>"#));
        assert!(eq(r#"<a k="${xmlunit.isNumber}"/>"#, r#"<a k=" 1.5 "/>"#));
    }

    #[test]
    fn parse_normalises_the_tree() {
        let tree = parse(
            "<?xml version='1.0'?><!-- c --><p:a xmlns:p='urn:p' xmlns='urn:d' z='1' p:y='2'>\
             <?pi x?> <b>  t  </b><!-- c --><![CDATA[ cd ]]>x &amp; y</p:a>",
        )
        .unwrap();
        let expected = XNode::Element {
            name: "{urn:p}a".into(),
            attributes: vec![("z".into(), "1".into()), ("{urn:p}y".into(), "2".into())],
            children: vec![
                XNode::Element {
                    name: "{urn:d}b".into(),
                    attributes: vec![],
                    children: vec![XNode::Text("t".into())],
                },
                XNode::Text("cd x & y".into()),
            ],
        };
        assert_eq!(tree, expected);
        assert!(
            parse("not xml")
                .unwrap_err()
                .starts_with("not well-formed XML")
        );
        assert!(parse("<!DOCTYPE a [<!ENTITY e 'x'>]><a>&e;</a>").is_err());
    }

    #[test]
    fn equality_details() {
        assert!(eq("<a><b/><b><c/></b></a>", "<a><b><c/></b><b/></a>"));
        assert!(!eq("<a><b/></a>", "<a><b/><b/></a>"));
        assert!(!eq("<a x='1'/>", "<a y='1'/>"));
        assert!(!eq("<a>t</a>", "<a><t/></a>"));
        assert!(!eq("<a xmlns='urn:x'/>", "<a/>"));
        assert!(eq("<x:a xmlns:x='urn:x'/>", "<y:a xmlns:y='urn:x'/>"));
        // The pairing needs an augmenting path: the first expected child fits both
        // actual children, the second only the first.
        assert!(eq(
            "<r><i>${xmlunit.ignore}</i><i>1</i></r>",
            "<r><i>1</i><i>2</i></r>"
        ));
        assert!(!eq("<r><i>1</i><i>1</i></r>", "<r><i>1</i><i>2</i></r>"));
    }

    #[test]
    fn pairing_finds_a_perfect_matching_when_there_is_one() {
        let budget = unlimited();
        let fits = |e: &Vec<usize>, a: &usize| e.contains(a);
        // Greedy pairing would give expected 0 actual 0 and leave expected 1 stuck.
        assert!(crate::pairing::pair_all(
            &[vec![0, 1], vec![0]],
            &[0, 1],
            &budget,
            fits
        ));
        assert!(!crate::pairing::pair_all(
            &[vec![0], vec![0]],
            &[0, 1],
            &budget,
            fits
        ));
        // A long chain of displacements, solved without recursion.
        let n = 2_000;
        let expected: Vec<Vec<usize>> = (0..n)
            .map(|i| if i == 0 { vec![0] } else { vec![i - 1, i] })
            .collect();
        let mut reversed = expected.clone();
        reversed.reverse();
        let actual: Vec<usize> = (0..n).collect();
        assert!(crate::pairing::pair_all(&reversed, &actual, &budget, fits));
    }

    #[test]
    fn equality_runs_on_the_budget() {
        let children = "<i>1</i>".repeat(300);
        let e = parse(&format!("<r>{children}</r>")).unwrap();
        let a = e.clone();
        assert!(equal(&e, &a, &unlimited()));
        let small = Budget::new(10_000);
        assert!(!equal(&e, &a, &small));
        assert!(small.is_exhausted());
        let enough = Budget::new(1_000_000);
        assert!(equal(&e, &a, &enough));
    }

    #[test]
    fn deep_documents_are_refused_not_overflowed() {
        let ok = format!(
            "{}{}",
            "<a>".repeat(MAX_XNODE_DEPTH),
            "</a>".repeat(MAX_XNODE_DEPTH)
        );
        let tree = parse(&ok).unwrap();
        assert!(equal(&tree, &tree.clone(), &unlimited()));
        let deep = 1_000_000;
        let text = format!("{}{}", "<a>".repeat(deep), "</a>".repeat(deep));
        assert!(parse(&text).unwrap_err().contains("deeper than 256"));
    }

    #[test]
    fn xpath_string_is_the_first_node_text() {
        let body = "<s><b><t>One</t></b><b><t>Two</t></b></s>";
        let s = |e: &str, body: &str| xpath_string(&compile(e).unwrap(), body, &unlimited());
        assert_eq!(s("/s/b/t", body), "One");
        assert_eq!(s("//b[2]/t", body), "Two");
        assert_eq!(s("/x", "not xml"), "");
    }

    #[test]
    fn xpath_selects_or_not() {
        let body = br#"<bookstore><book><price>35</price></book><book><price>10</price></book></bookstore>"#;
        let m = |e: &str, body: &[u8]| xpath_matches(&compile(e).unwrap(), body, &unlimited());
        assert!(m("/bookstore/book[price>30]/price", body));
        assert!(!m("/bookstore/book[price>50]/price", body));
        assert!(!m("/a", b"not xml"));
        assert!(!m("/a", b"<a>\xff</a>"));
        assert!(compile("/a[").is_err());
    }

    #[test]
    fn documents_cost_fuel_before_parsing() {
        let body = format!("<a>{}</a>", "x".repeat(16_000));
        let budget = Budget::new(500);
        assert!(parse_document(&body, &budget).is_none());
        assert!(budget.is_exhausted());
        let budget = Budget::new(2_000);
        assert!(parse_document(&body, &budget).is_some());
        assert!(parse_document("<!DOCTYPE a [<!ENTITY e 'x'>]><a/>", &unlimited()).is_none());
        assert!(parse_document("<a>", &unlimited()).is_none());
    }
}
