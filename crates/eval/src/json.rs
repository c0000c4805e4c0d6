//! JSON comparisons and the bounds that let JSON work be charged before it runs.

use crate::Budget;
use serde_json::Value;

/// How many values `v` holds (itself included) and how deeply it nests.
pub fn shape(v: &Value) -> (u64, u64) {
    match v {
        Value::Array(items) => items.iter().fold((1, 1), |(n, d), x| {
            let (xn, xd) = shape(x);
            (n + xn, d.max(xd + 1))
        }),
        Value::Object(map) => map.values().fold((1, 1), |(n, d), x| {
            let (xn, xd) = shape(x);
            (n + xn, d.max(xd + 1))
        }),
        _ => (1, 0),
    }
}

/// An upper bound on the work of a JSONPath query over a document of `nodes` values
/// nested `depth` deep. A descendant segment (`..`) visits every node below each node it
/// starts from, and a node has at most `depth` ancestors, so each `..` after the first
/// multiplies the work by at most `depth + 1`; every other segment visits each node at
/// most once.
pub fn json_path_cost(text: &str, nodes: u64, depth: u64) -> u64 {
    let mut descendants = 0u32;
    let mut segments = 1u64;
    let mut quote = None;
    let mut prev = ' ';
    for c in text.chars() {
        match quote {
            Some(q) if c == q && prev != '\\' => quote = None,
            Some(_) => {}
            None => match c {
                '\'' | '"' => quote = Some(c),
                '.' if prev == '.' => descendants += 1,
                '.' | '[' | '?' => segments += 1,
                _ => {}
            },
        }
        prev = if prev == '.' && c == '.' { ' ' } else { c };
    }
    let fan = (depth + 1).saturating_pow(descendants.saturating_sub(1));
    nodes.saturating_mul(segments).saturating_mul(fan)
}

/// JsonUnit's placeholders, as MockServer and WireMock read them in expected JSON:
/// `${json-unit.ignore}`, `${json-unit.ignore-element}`, `${json-unit.any-string}`,
/// `${json-unit.any-number}`, `${json-unit.any-boolean}`. `None` when `expected` is not one.
fn placeholder(expected: &Value, actual: &Value) -> Option<bool> {
    let Value::String(s) = expected else {
        return None;
    };
    Some(match s.as_str() {
        "${json-unit.ignore}" | "${json-unit.ignore-element}" => true,
        "${json-unit.any-string}" => actual.is_string(),
        "${json-unit.any-number}" => actual.is_number(),
        "${json-unit.any-boolean}" => actual.is_boolean(),
        _ => return None,
    })
}

/// `${json-unit.ignore-element}`: matches any value, and a field that is absent too.
fn ignores_absence(expected: &Value) -> bool {
    expected.as_str() == Some("${json-unit.ignore-element}")
}

/// JSON equality where `1` equals `1.0`, object key order does not matter, and JsonUnit
/// placeholders in `a` (the expected side) stand for what they say.
pub fn json_eq(a: &Value, b: &Value) -> bool {
    json_eq_in(a, b, &Budget::unlimited())
}

/// [`json_eq`] spending one unit per value compared.
pub fn json_eq_in(a: &Value, b: &Value, budget: &Budget) -> bool {
    if !budget.spend(1) {
        return false;
    }
    if let Some(result) = placeholder(a, b) {
        return result;
    }
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            match (x.as_i64(), y.as_i64(), x.as_u64(), y.as_u64()) {
                (Some(p), Some(q), _, _) => p == q,
                (_, _, Some(p), Some(q)) => p == q,
                _ => x.as_f64() == y.as_f64(),
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_eq_in(p, q, budget))
        }
        (Value::Object(x), Value::Object(y)) => {
            let mut present = 0;
            for (k, v) in x {
                match y.get(k) {
                    Some(w) if json_eq_in(v, w, budget) => present += 1,
                    None if ignores_absence(v) => {}
                    _ => return false,
                }
            }
            present == y.len()
        }
        _ => a == b,
    }
}

/// Whether `actual` contains `expected`: objects may have extra keys, arrays may have extra
/// elements and any order (each expected element needs its own matching actual element).
pub fn json_contains(actual: &Value, expected: &Value) -> bool {
    json_contains_in(actual, expected, &Budget::unlimited())
}

/// [`json_contains`] spending fuel for every value and every pairing it tries.
pub fn json_contains_in(actual: &Value, expected: &Value, budget: &Budget) -> bool {
    if !budget.spend(1) {
        return false;
    }
    if let Some(result) = placeholder(expected, actual) {
        return result;
    }
    match (actual, expected) {
        (Value::Object(a), Value::Object(e)) => e.iter().all(|(k, v)| match a.get(k) {
            Some(w) => json_contains_in(w, v, budget),
            None => ignores_absence(v),
        }),
        (Value::Array(a), Value::Array(e)) => {
            e.len() <= a.len()
                && crate::pairing::pair_all(e, a, budget, |x, y| json_contains_in(y, x, budget))
        }
        _ => json_eq_in(expected, actual, budget),
    }
}

#[cfg(test)]
mod absent_tests {
    use super::*;
    use serde_json::json;

    /// As JsonUnit (and so MockServer): `ignore-element` also stands for a missing
    /// field; `ignore` needs the field.
    #[test]
    fn ignore_element_matches_an_absent_field_and_ignore_does_not() {
        let e = json!({"id": 1, "at": "${json-unit.ignore-element}"});
        for actual in [json!({"id": 1, "at": "x"}), json!({"id": 1})] {
            assert!(json_eq(&e, &actual), "{actual}");
            assert!(json_contains(&actual, &e), "{actual}");
        }
        assert!(!json_eq(&e, &json!({"id": 2})));
        assert!(
            !json_eq(&e, &json!({"id": 1, "other": 2})),
            "strict: no extra field"
        );
        let strict = json!({"id": 1, "at": "${json-unit.ignore}"});
        assert!(!json_eq(&strict, &json!({"id": 1})));
        assert!(!json_contains(&json!({"id": 1}), &strict));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_unit_placeholders() {
        let expected = json!({"id": "${json-unit.any-number}", "ok": "${json-unit.any-boolean}", "x": "${json-unit.ignore}"});
        assert!(json_contains(
            &json!({"id": 5, "ok": true, "x": [1]}),
            &expected
        ));
        assert!(!json_contains(
            &json!({"id": "5", "ok": true, "x": 1}),
            &expected
        ));
        assert!(
            !json_contains(&json!({"id": 5, "ok": true}), &expected),
            "ignore still needs the key"
        );
        assert!(json_eq(
            &json!(["${json-unit.ignore-element}", 2]),
            &json!([{"a": 1}, 2])
        ));
    }

    #[test]
    fn partial_arrays_pair_elements_without_greed() {
        let actual = json!({"items": [{"a": 1, "b": 2}, {"a": 1}]});
        assert!(json_contains(
            &actual,
            &json!({"items": [{"a": 1}, {"a": 1, "b": 2}]})
        ));
        assert!(!json_contains(
            &actual,
            &json!({"items": [{"a": 1, "b": 2}, {"a": 1, "b": 2}]})
        ));
    }

    #[test]
    fn numbers_compare_by_value() {
        assert!(json_eq(&json!(1), &json!(1.0)));
        assert!(!json_eq(&json!(1), &json!(2)));
        assert!(!json_eq(&json!(1), &json!("1")));
    }

    #[test]
    fn partial_ignores_extra_fields_and_array_order() {
        let actual = json!({"a": 1, "b": [3, 2, 1], "c": {"d": true, "e": null}});
        assert!(json_contains(
            &actual,
            &json!({"b": [1, 3], "c": {"d": true}})
        ));
        assert!(!json_contains(&actual, &json!({"b": [4]})));
        assert!(
            !json_contains(&actual, &json!({"b": [1, 1]})),
            "each expected element needs its own match"
        );
        assert!(!json_contains(&actual, &json!({"z": 1})));
    }
}
