//! XML body conditions: structural equality and XPath.
//!
//! Expected documents are parsed once, at compile time, into a plain tree that can be
//! shared between threads. XPath expressions are checked at compile time; the parsed
//! expression of the XPath crate cannot be shared between threads, so each evaluation
//! builds it again from the checked text (a small, bounded cost paid only by routes that
//! use XPath, and only for requests whose path already matched).

use sxd_document::dom;

/// An XML element or text, with what XML equality ignores already dropped.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum XNode {
    Element {
        name: String,
        attributes: Vec<(String, String)>,
        children: Vec<XNode>,
    },
    Text(String),
}

/// Parses XML text into a tree; whitespace-only text between elements is dropped,
/// attributes are sorted.
pub(crate) fn parse(text: &str) -> Result<XNode, String> {
    let package =
        sxd_document::parser::parse(text).map_err(|e| format!("not well-formed XML: {e:?}"))?;
    let doc = package.as_document();
    let root = doc
        .root()
        .children()
        .into_iter()
        .find_map(|c| c.element())
        .ok_or_else(|| "the document has no root element".to_string())?;
    Ok(element(root))
}

fn qualified(name: sxd_document::QName<'_>) -> String {
    match name.namespace_uri() {
        Some(ns) => format!("{{{ns}}}{}", name.local_part()),
        None => name.local_part().to_string(),
    }
}

fn element(e: dom::Element<'_>) -> XNode {
    let mut attributes: Vec<(String, String)> = e
        .attributes()
        .iter()
        .map(|a| (qualified(a.name()), a.value().to_string()))
        .collect();
    attributes.sort();
    let mut children = Vec::new();
    for c in e.children() {
        match c {
            dom::ChildOfElement::Element(child) => children.push(element(child)),
            dom::ChildOfElement::Text(t) => {
                let text = t.text().trim();
                if !text.is_empty() {
                    children.push(XNode::Text(text.to_string()));
                }
            }
            _ => {}
        }
    }
    XNode::Element {
        name: qualified(e.name()),
        attributes,
        children,
    }
}

/// Whether `actual` equals `expected`, ignoring sibling order; expected text may be an
/// XMLUnit placeholder.
pub(crate) fn equal(expected: &XNode, actual: &XNode) -> bool {
    match (expected, actual) {
        (XNode::Text(e), XNode::Text(a)) => text_equal(e, a),
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
                    .all(|((ek, ev), (ak, av))| ek == ak && text_equal(ev, av))
                && ec.len() == ac.len()
                && crate::predicate::pair_all(ec, ac, equal)
        }
        _ => false,
    }
}

fn text_equal(expected: &str, actual: &str) -> bool {
    match expected {
        "${xmlunit.ignore}" => true,
        "${xmlunit.isNumber}" => actual.trim().parse::<f64>().is_ok(),
        _ => expected == actual,
    }
}

/// Checks that an XPath expression parses.
pub(crate) fn check_xpath(expr: &str) -> Result<(), String> {
    match sxd_xpath::Factory::new().build(expr) {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err("the XPath expression is empty".to_string()),
        Err(e) => Err(format!("invalid XPath: {e}")),
    }
}

/// Whether the XPath selects at least one node, or evaluates to true, a non-empty string
/// or a number, in the body (which must be XML).
pub(crate) fn xpath_matches(expr: &str, body: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(body) else {
        return false;
    };
    let Ok(package) = sxd_document::parser::parse(text) else {
        return false;
    };
    let doc = package.as_document();
    let Ok(Some(xpath)) = sxd_xpath::Factory::new().build(expr) else {
        return false;
    };
    let context = sxd_xpath::Context::new();
    match xpath.evaluate(&context, doc.root()) {
        Ok(sxd_xpath::Value::Nodeset(nodes)) => nodes.size() > 0,
        Ok(sxd_xpath::Value::Boolean(b)) => b,
        Ok(sxd_xpath::Value::String(s)) => !s.is_empty(),
        Ok(sxd_xpath::Value::Number(n)) => !n.is_nan(),
        Err(_) => false,
    }
}

/// The XPath's value as a string (XPath's `string()`: the first selected node's text in
/// document order), or empty when the body is not XML or the expression fails.
pub(crate) fn xpath_string(expr: &str, body: &str) -> String {
    let Ok(package) = sxd_document::parser::parse(body) else {
        return String::new();
    };
    let doc = package.as_document();
    let Ok(Some(xpath)) = sxd_xpath::Factory::new().build(expr) else {
        return String::new();
    };
    match xpath.evaluate(&sxd_xpath::Context::new(), doc.root()) {
        Ok(v) => v.string(),
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equality_ignores_whitespace_attribute_and_sibling_order() {
        let e = parse(r#"<a x="1" y="2"><b>1</b><c/></a>"#).unwrap();
        let a = parse("<a y=\"2\" x=\"1\">\n  <c/>\n  <b>1</b>\n</a>").unwrap();
        assert!(equal(&e, &a));
        let other = parse(r#"<a x="1" y="2"><b>2</b><c/></a>"#).unwrap();
        assert!(!equal(&e, &other));
    }

    #[test]
    fn xmlunit_placeholders() {
        let e = parse("<a><id>${xmlunit.isNumber}</id><note>${xmlunit.ignore}</note></a>").unwrap();
        assert!(equal(
            &e,
            &parse("<a><id>42</id><note>anything</note></a>").unwrap()
        ));
        assert!(!equal(
            &e,
            &parse("<a><id>x</id><note>anything</note></a>").unwrap()
        ));
    }

    #[test]
    fn xpath_string_is_the_first_node_text() {
        let body = "<s><b><t>One</t></b><b><t>Two</t></b></s>";
        assert_eq!(xpath_string("/s/b/t", body), "One");
        assert_eq!(xpath_string("//b[2]/t", body), "Two");
        assert_eq!(xpath_string("/x", "not xml"), "");
    }

    #[test]
    fn xpath_selects_or_not() {
        let body = br#"<bookstore><book><price>35</price></book><book><price>10</price></book></bookstore>"#;
        assert!(xpath_matches("/bookstore/book[price>30]/price", body));
        assert!(!xpath_matches("/bookstore/book[price>50]/price", body));
        assert!(!xpath_matches("/a", b"not xml"));
        assert!(check_xpath("/a[").is_err());
    }
}
