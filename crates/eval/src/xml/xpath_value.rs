//! XPath 1.0 values and the conversions between them (recommendation sections 3.4 and 4).

use std::borrow::Cow;

use super::xpath_lex::is_xml_space;
use super::xpath_node::Node;
use super::xpath_syntax::CompareOp;

/// Why an evaluation stopped before it had a value.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Stop {
    /// The budget ran out.
    Exhausted,
    /// The expression is in error for this document, e.g. a function got a number where
    /// it needs a node-set, or a name test uses a prefix that no namespace is bound to.
    Error(String),
}

pub(super) type Eval<T> = Result<T, Stop>;

/// The error for an operation that needs a node-set and got something else.
pub(super) fn not_a_node_set<T>(what: &str) -> Eval<T> {
    Err(Stop::Error(format!("{what} needs a node-set")))
}

/// The four XPath 1.0 types. A node-set is kept in document order without duplicates. A
/// string borrows from the document or the expression where it can, so that literals and
/// node text are not copied per evaluation.
#[derive(Debug, Clone)]
pub(super) enum Value<'a, 'i> {
    Nodes(Vec<Node<'a, 'i>>),
    Boolean(bool),
    Number(f64),
    String(Cow<'a, str>),
}

impl<'a, 'i> Value<'a, 'i> {
    pub(super) fn into_nodes(self, what: &str) -> Eval<Vec<Node<'a, 'i>>> {
        match self {
            Value::Nodes(nodes) => Ok(nodes),
            _ => not_a_node_set(what),
        }
    }
}

/// `string()` of a number: integers without a decimal point, never an exponent, and
/// the special values spelled as XPath spells them.
pub(super) fn number_to_string(n: f64) -> String {
    if n.is_nan() {
        "NaN".to_string()
    } else if n.is_infinite() {
        if n > 0.0 { "Infinity" } else { "-Infinity" }.to_string()
    } else if n == 0.0 {
        // Negative zero too: the recommendation spells both zeros "0".
        "0".to_string()
    } else {
        // Rust's `Display` for f64 prints the shortest digits that read back as the same
        // number, in plain decimal notation, and no fraction for integral values: exactly
        // the form section 4.2 asks for.
        format!("{n}")
    }
}

/// `number()` of a string: optional white space, an optional minus sign, digits with at
/// most one decimal point, optional white space. Anything else (an exponent, a plus sign,
/// `Infinity`) is NaN.
pub(super) fn string_to_number(s: &str) -> f64 {
    let trimmed = s.trim_matches(is_xml_space);
    let unsigned = trimmed.strip_prefix('-').unwrap_or(trimmed);
    let digits = unsigned.bytes().filter(u8::is_ascii_digit).count();
    let dots = unsigned.bytes().filter(|&b| b == b'.').count();
    if digits == 0 || dots > 1 || digits + dots != unsigned.len() {
        return f64::NAN;
    }
    trimmed.parse().unwrap_or(f64::NAN)
}

pub(super) fn number_to_boolean(n: f64) -> bool {
    n != 0.0 && !n.is_nan()
}

pub(super) fn boolean_to_string(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

pub(super) fn boolean_to_number(b: bool) -> f64 {
    if b { 1.0 } else { 0.0 }
}

/// A value that is not a node-set, borrowed for comparison.
#[derive(Debug, Clone, Copy)]
pub(super) enum Atom<'s> {
    Boolean(bool),
    Number(f64),
    String(&'s str),
}

impl Atom<'_> {
    pub(super) fn number(self) -> f64 {
        match self {
            Atom::Boolean(b) => boolean_to_number(b),
            Atom::Number(n) => n,
            Atom::String(s) => string_to_number(s),
        }
    }

    fn boolean(self) -> bool {
        match self {
            Atom::Boolean(b) => b,
            Atom::Number(n) => number_to_boolean(n),
            Atom::String(s) => !s.is_empty(),
        }
    }
}

/// Compares two values neither of which is a node-set (section 3.4): `=` and `!=`
/// compare as booleans if either is one, else as numbers if either is one, else as
/// strings; the relational operators always compare numbers.
pub(super) fn compare_atoms(left: Atom<'_>, op: CompareOp, right: Atom<'_>) -> bool {
    if !op.is_equality() {
        return compare_numbers(left.number(), op, right.number());
    }
    let equal = match (left, right) {
        (Atom::Boolean(_), _) | (_, Atom::Boolean(_)) => left.boolean() == right.boolean(),
        (Atom::Number(_), _) | (_, Atom::Number(_)) => left.number() == right.number(),
        (Atom::String(l), Atom::String(r)) => l == r,
    };
    // IEEE `!=` is exactly the negation of `==`, NaN included, so `!=` needs no rule of
    // its own.
    (op == CompareOp::Eq) == equal
}

/// IEEE comparison, which gives false for NaN except under `!=`.
pub(super) fn compare_numbers(left: f64, op: CompareOp, right: f64) -> bool {
    match op {
        CompareOp::Eq => left == right,
        CompareOp::Ne => left != right,
        CompareOp::Lt => left < right,
        CompareOp::Le => left <= right,
        CompareOp::Gt => left > right,
        CompareOp::Ge => left >= right,
    }
}

/// XPath's `round()`: the nearest integer, halves rounded towards positive infinity, and
/// negative zero for arguments from -0.5 up to (not including) zero.
pub(super) fn round(x: f64) -> f64 {
    if !x.is_finite() {
        return x;
    }
    let floor = x.floor();
    // `x - floor` is exact for doubles, so halves are recognised exactly; adding 0.5
    // before flooring would round 0.49999999999999994 up.
    let rounded = if x - floor >= 0.5 { floor + 1.0 } else { floor };
    if rounded == 0.0 && x < 0.0 {
        -0.0
    } else {
        rounded
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_print_as_xpath_prints_them() {
        let cases = [
            (0.0, "0"),
            (-0.0, "0"),
            (1.0, "1"),
            (-1.0, "-1"),
            (1.5, "1.5"),
            (-0.25, "-0.25"),
            (1.0 / 3.0, "0.3333333333333333"),
            (0.1 + 0.2, "0.30000000000000004"),
            (1e21, "1000000000000000000000"),
            (1e-7, "0.0000001"),
            (123456789012345680.0, "123456789012345680"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "Infinity"),
            (f64::NEG_INFINITY, "-Infinity"),
            (f64::MAX, &format!("17976931348623157{}", "0".repeat(292))),
            (5e-324, &format!("0.{}5", "0".repeat(323))),
        ];
        for (n, s) in cases {
            assert_eq!(number_to_string(n), s, "{n:e}");
        }
    }

    #[test]
    fn strings_read_as_xpath_reads_them() {
        for (s, n) in [
            ("12", 12.0),
            ("  12\n", 12.0),
            ("-3.5", -3.5),
            (".5", 0.5),
            ("5.", 5.0),
            ("-.5", -0.5),
            ("007", 7.0),
        ] {
            assert_eq!(string_to_number(s), n, "{s:?}");
        }
        for s in [
            "", " ", ".", "-", "+1", "1e3", "inf", "Infinity", "NaN", "1.2.3", "- 1", "1 2",
            "0x10", "١",
        ] {
            assert!(string_to_number(s).is_nan(), "{s:?}");
        }
        assert!(string_to_number("-0").is_sign_negative());
    }

    #[test]
    fn rounding() {
        assert_eq!(round(2.5), 3.0);
        assert_eq!(round(-2.5), -2.0);
        assert_eq!(round(2.4999), 2.0);
        assert_eq!(round(0.49999999999999994), 0.0);
        assert!(round(-0.5).is_sign_negative() && round(-0.5) == 0.0);
        assert!(round(-0.3).is_sign_negative());
        assert!(round(0.3).is_sign_positive());
        assert!(round(f64::NAN).is_nan());
        assert_eq!(round(f64::NEG_INFINITY), f64::NEG_INFINITY);
        assert_eq!(round(1e300), 1e300);
    }

    #[test]
    fn atom_comparisons_follow_section_3_4() {
        use Atom::*;
        use CompareOp::*;
        assert!(compare_atoms(Boolean(true), Eq, String("x")));
        assert!(compare_atoms(Boolean(false), Eq, Number(0.0)));
        assert!(compare_atoms(Number(1.0), Eq, String(" 1 ")));
        assert!(!compare_atoms(String("1"), Eq, String(" 1 ")));
        assert!(compare_atoms(String("a"), Ne, String("b")));
        assert!(compare_atoms(Number(f64::NAN), Ne, Number(f64::NAN)));
        assert!(!compare_atoms(Number(f64::NAN), Eq, Number(f64::NAN)));
        assert!(compare_atoms(String("abc"), Ne, Number(1.0)));
        assert!(compare_atoms(String("2"), Gt, String("10")) == (2.0 > 10.0));
        assert!(compare_atoms(Boolean(true), Gt, Boolean(false)));
        assert!(compare_atoms(String("1"), Le, Boolean(true)));
        assert!(!compare_atoms(String("a"), Lt, Number(1.0)));
        assert!(!compare_atoms(String("a"), Ge, Number(1.0)));
    }
}
