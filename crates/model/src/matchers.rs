//! Matcher definitions. Each is written as an object with exactly one key naming its kind
//! (`{"regex": "^a"}`), and string conditions also accept a bare string meaning `equals`.

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use std::fmt;
use utoipa::ToSchema;

/// A condition on one string value (a method, a header, a query parameter, a cookie).
///
/// A bare string means `equals`. For headers, query parameters and cookies the condition
/// is applied to all the values the request has for that name: a leaf condition holds when
/// any value satisfies it, `not` holds when its inner condition does not, and `present`
/// checks whether the name is there at all.
#[derive(Debug, Clone, PartialEq, ToSchema)]
pub enum StringMatcher {
    /// Exact, case-sensitive equality. Written as a bare string or `{"equals": ".."}`.
    Equals(String),
    EqualsIgnoreCase(String),
    Contains(String),
    /// A regular expression (Rust `regex` syntax) that must match the whole value.
    Regex(String),
    /// `true`: the name must be present; `false`: it must be absent.
    Present(bool),
    /// The value, read as JSON when it parses (a number, `true`) and as a string
    /// otherwise, is valid against this JSON Schema.
    #[schema(value_type = Object)]
    JsonSchema(serde_json::Value),
    #[schema(no_recursion)]
    Not(Box<StringMatcher>),
    #[schema(no_recursion)]
    AnyOf(Vec<StringMatcher>),
    /// Every condition holds (each may be satisfied by a different value of the name).
    #[schema(no_recursion)]
    AllOf(Vec<StringMatcher>),
    /// The name is present and every one of its values, on its own, satisfies the condition.
    #[schema(no_recursion)]
    Each(Box<StringMatcher>),
}

/// A condition on the request path, relative to the service's base path.
///
/// A bare string is a pattern: literal segments, `{name}` for one segment captured under
/// `name`, `*` for any one segment, and `**` (or `{*name}`) as the last segment for any
/// remainder, possibly empty.
#[derive(Debug, Clone, PartialEq, ToSchema)]
pub enum PathMatcher {
    /// Written as a bare string or `{"pattern": ".."}`.
    Pattern(String),
    /// The path exactly as written: no `{}`, `*` or `**` interpretation.
    Exact(String),
    /// A regular expression that must match the whole relative path; named groups become
    /// path values available to responses.
    Regex(String),
    #[schema(no_recursion)]
    Not(Box<PathMatcher>),
}

/// A condition on the request body.
#[derive(Debug, Clone, PartialEq, ToSchema)]
pub enum BodyMatcher {
    /// The body, as UTF-8, equals this text exactly. A bare string means this.
    Equals(String),
    Contains(String),
    /// A regular expression that must match the whole body.
    Regex(String),
    /// The body is JSON equal to this value (object key order ignored, array order kept).
    #[schema(value_type = Object)]
    Json(serde_json::Value),
    /// The body is JSON containing at least the given fields with these values; arrays
    /// must contain matching elements in any order, extra elements allowed.
    #[schema(value_type = Object)]
    JsonPartial(serde_json::Value),
    /// A JSONPath (RFC 9535) expression that selects at least one node, optionally one
    /// equal to `equals`.
    JsonPath(JsonPathMatcher),
    /// The body is JSON valid against this JSON Schema (draft detected from `$schema`,
    /// 2020-12 by default).
    #[schema(value_type = Object)]
    JsonSchema(serde_json::Value),
    /// The body is XML equal to this document, ignoring whitespace between elements, the
    /// order of attributes and the order of sibling elements. Text `${xmlunit.ignore}`
    /// matches anything and `${xmlunit.isNumber}` any number.
    Xml(String),
    /// An XPath 1.0 expression that selects at least one node (or is true) in the body.
    Xpath(String),
    /// The body is an XML document valid against this XML Schema (XSD 1.0; the subset
    /// docs/matching.md lists).
    XmlSchema(String),
    /// The body is exactly these bytes, written as standard base64.
    Base64(String),
    /// The body is a form (`application/x-www-form-urlencoded`) whose fields satisfy these
    /// conditions, as query parameters do.
    Form(std::collections::BTreeMap<String, StringMatcher>),
    #[schema(no_recursion)]
    Not(Box<BodyMatcher>),
    #[schema(no_recursion)]
    AllOf(Vec<BodyMatcher>),
}

/// `{"path": "$.user.id", "equals": 42}`; without `equals` the path must select something.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JsonPathMatcher {
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub equals: Option<serde_json::Value>,
}

/// Reads `{"kind": value}` with exactly one key, or a bare string when `shorthand` allows.
struct OneKey<T> {
    expecting: &'static str,
    kinds: &'static [&'static str],
    shorthand: Option<fn(String) -> T>,
    dispatch: for<'de> fn(&str, &mut dyn ErasedNext<'de>) -> Result<T, String>,
}

/// Lets the dispatch function read the value after the key without knowing the map type.
trait ErasedNext<'de> {
    fn string(&mut self) -> Result<String, String>;
    fn boolean(&mut self) -> Result<bool, String>;
    fn json(&mut self) -> Result<serde_json::Value, String>;
    fn string_matcher(&mut self) -> Result<StringMatcher, String>;
    fn string_matchers(&mut self) -> Result<Vec<StringMatcher>, String>;
    fn string_map(&mut self) -> Result<std::collections::BTreeMap<String, StringMatcher>, String>;
    fn path_matcher(&mut self) -> Result<PathMatcher, String>;
    fn body_matcher(&mut self) -> Result<BodyMatcher, String>;
    fn body_matchers(&mut self) -> Result<Vec<BodyMatcher>, String>;
    fn json_path(&mut self) -> Result<JsonPathMatcher, String>;
}

/// Wraps a `MapAccess`, keeping its error so that the path to the inner field survives.
struct Next<'a, A, E> {
    map: &'a mut A,
    error: Option<E>,
}

impl<'de, A: MapAccess<'de>> Next<'_, A, A::Error> {
    fn read<T: Deserialize<'de>>(&mut self) -> Result<T, String> {
        self.map.next_value::<T>().map_err(|e| {
            let text = e.to_string();
            self.error = Some(e);
            text
        })
    }
}

impl<'de, A: MapAccess<'de>> ErasedNext<'de> for Next<'_, A, A::Error> {
    fn string(&mut self) -> Result<String, String> {
        self.read()
    }
    fn boolean(&mut self) -> Result<bool, String> {
        self.read()
    }
    fn json(&mut self) -> Result<serde_json::Value, String> {
        self.read()
    }
    fn string_matcher(&mut self) -> Result<StringMatcher, String> {
        self.read()
    }
    fn string_matchers(&mut self) -> Result<Vec<StringMatcher>, String> {
        self.read()
    }
    fn string_map(&mut self) -> Result<std::collections::BTreeMap<String, StringMatcher>, String> {
        self.read()
    }
    fn path_matcher(&mut self) -> Result<PathMatcher, String> {
        self.read()
    }
    fn body_matcher(&mut self) -> Result<BodyMatcher, String> {
        self.read()
    }
    fn body_matchers(&mut self) -> Result<Vec<BodyMatcher>, String> {
        self.read()
    }
    fn json_path(&mut self) -> Result<JsonPathMatcher, String> {
        self.read()
    }
}

impl<'de, T> Visitor<'de> for OneKey<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.expecting)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        match self.shorthand {
            Some(make) => Ok(make(v.to_string())),
            None => Err(E::invalid_type(de::Unexpected::Str(v), &self)),
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<T, A::Error> {
        let Some(key) = map.next_key::<String>()? else {
            return Err(de::Error::custom(format!(
                "expected one of {:?}, found an empty object",
                self.kinds
            )));
        };
        if !self.kinds.contains(&key.as_str()) {
            return Err(de::Error::unknown_variant(&key, self.kinds));
        }
        let mut next = Next {
            map: &mut map,
            error: None,
        };
        let value = match (self.dispatch)(&key, &mut next) {
            Ok(v) => v,
            Err(text) => return Err(next.error.take().unwrap_or_else(|| de::Error::custom(text))),
        };
        if let Some(extra) = map.next_key::<String>()? {
            return Err(de::Error::custom(format!(
                "a matcher has exactly one key; found `{key}` and `{extra}`"
            )));
        }
        Ok(value)
    }
}

const STRING_KINDS: &[&str] = &[
    "equals",
    "equalsIgnoreCase",
    "contains",
    "regex",
    "present",
    "jsonSchema",
    "not",
    "anyOf",
    "allOf",
    "each",
];
const PATH_KINDS: &[&str] = &["pattern", "exact", "regex", "not"];
const BODY_KINDS: &[&str] = &[
    "equals",
    "contains",
    "regex",
    "json",
    "jsonPartial",
    "jsonPath",
    "jsonSchema",
    "xml",
    "xpath",
    "xmlSchema",
    "base64",
    "form",
    "not",
    "allOf",
];

impl<'de> Deserialize<'de> for StringMatcher {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(OneKey {
            expecting: "a string, or an object with one of the keys equals, equalsIgnoreCase, contains, regex, present, jsonSchema, not, anyOf, allOf, each",
            kinds: STRING_KINDS,
            shorthand: Some(StringMatcher::Equals),
            dispatch: |key, next| {
                Ok(match key {
                    "equals" => StringMatcher::Equals(next.string()?),
                    "equalsIgnoreCase" => StringMatcher::EqualsIgnoreCase(next.string()?),
                    "contains" => StringMatcher::Contains(next.string()?),
                    "regex" => StringMatcher::Regex(next.string()?),
                    "present" => StringMatcher::Present(next.boolean()?),
                    "jsonSchema" => StringMatcher::JsonSchema(next.json()?),
                    "not" => StringMatcher::Not(Box::new(next.string_matcher()?)),
                    "anyOf" => StringMatcher::AnyOf(next.string_matchers()?),
                    "each" => StringMatcher::Each(Box::new(next.string_matcher()?)),
                    _ => StringMatcher::AllOf(next.string_matchers()?),
                })
            },
        })
    }
}

impl<'de> Deserialize<'de> for PathMatcher {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(OneKey {
            expecting: "a path pattern string, or an object with one of the keys pattern, exact, regex, not",
            kinds: PATH_KINDS,
            shorthand: Some(PathMatcher::Pattern),
            dispatch: |key, next| {
                Ok(match key {
                    "pattern" => PathMatcher::Pattern(next.string()?),
                    "exact" => PathMatcher::Exact(next.string()?),
                    "regex" => PathMatcher::Regex(next.string()?),
                    _ => PathMatcher::Not(Box::new(next.path_matcher()?)),
                })
            },
        })
    }
}

impl<'de> Deserialize<'de> for BodyMatcher {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(OneKey {
            expecting: "a string, or an object with one of the keys equals, contains, regex, json, jsonPartial, jsonPath, jsonSchema, xml, xpath, base64, form, not, allOf",
            kinds: BODY_KINDS,
            shorthand: Some(BodyMatcher::Equals),
            dispatch: |key, next| {
                Ok(match key {
                    "equals" => BodyMatcher::Equals(next.string()?),
                    "contains" => BodyMatcher::Contains(next.string()?),
                    "regex" => BodyMatcher::Regex(next.string()?),
                    "json" => BodyMatcher::Json(next.json()?),
                    "jsonPartial" => BodyMatcher::JsonPartial(next.json()?),
                    "jsonPath" => BodyMatcher::JsonPath(next.json_path()?),
                    "jsonSchema" => BodyMatcher::JsonSchema(next.json()?),
                    "xml" => BodyMatcher::Xml(next.string()?),
                    "xpath" => BodyMatcher::Xpath(next.string()?),
                    "xmlSchema" => BodyMatcher::XmlSchema(next.string()?),
                    "base64" => BodyMatcher::Base64(next.string()?),
                    "form" => BodyMatcher::Form(next.string_map()?),
                    "not" => BodyMatcher::Not(Box::new(next.body_matcher()?)),
                    _ => BodyMatcher::AllOf(next.body_matchers()?),
                })
            },
        })
    }
}

fn one_key<S: Serializer, V: Serialize + ?Sized>(
    s: S,
    key: &str,
    value: &V,
) -> Result<S::Ok, S::Error> {
    let mut map = s.serialize_map(Some(1))?;
    map.serialize_entry(key, value)?;
    map.end()
}

impl Serialize for StringMatcher {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            StringMatcher::Equals(v) => s.serialize_str(v),
            StringMatcher::EqualsIgnoreCase(v) => one_key(s, "equalsIgnoreCase", v),
            StringMatcher::Contains(v) => one_key(s, "contains", v),
            StringMatcher::Regex(v) => one_key(s, "regex", v),
            StringMatcher::Present(v) => one_key(s, "present", v),
            StringMatcher::JsonSchema(v) => one_key(s, "jsonSchema", v),
            StringMatcher::Not(v) => one_key(s, "not", v),
            StringMatcher::AnyOf(v) => one_key(s, "anyOf", v),
            StringMatcher::AllOf(v) => one_key(s, "allOf", v),
            StringMatcher::Each(v) => one_key(s, "each", v),
        }
    }
}

impl Serialize for PathMatcher {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            PathMatcher::Pattern(v) => s.serialize_str(v),
            PathMatcher::Exact(v) => one_key(s, "exact", v),
            PathMatcher::Regex(v) => one_key(s, "regex", v),
            PathMatcher::Not(v) => one_key(s, "not", v),
        }
    }
}

impl Serialize for BodyMatcher {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            BodyMatcher::Equals(v) => s.serialize_str(v),
            BodyMatcher::Contains(v) => one_key(s, "contains", v),
            BodyMatcher::Regex(v) => one_key(s, "regex", v),
            BodyMatcher::Json(v) => one_key(s, "json", v),
            BodyMatcher::JsonPartial(v) => one_key(s, "jsonPartial", v),
            BodyMatcher::JsonPath(v) => one_key(s, "jsonPath", v),
            BodyMatcher::JsonSchema(v) => one_key(s, "jsonSchema", v),
            BodyMatcher::Xml(v) => one_key(s, "xml", v),
            BodyMatcher::Xpath(v) => one_key(s, "xpath", v),
            BodyMatcher::XmlSchema(v) => one_key(s, "xmlSchema", v),
            BodyMatcher::Base64(v) => one_key(s, "base64", v),
            BodyMatcher::Form(v) => one_key(s, "form", v),
            BodyMatcher::Not(v) => one_key(s, "not", v),
            BodyMatcher::AllOf(v) => one_key(s, "allOf", v),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_string_is_equals_and_round_trips() {
        let m: StringMatcher = serde_json::from_str(r#""GET""#).unwrap();
        assert_eq!(m, StringMatcher::Equals("GET".into()));
        assert_eq!(serde_json::to_string(&m).unwrap(), r#""GET""#);
    }

    #[test]
    fn nested_not_round_trips() {
        let text = r#"{"not":{"regex":"^a"}}"#;
        let m: StringMatcher = serde_json::from_str(text).unwrap();
        assert_eq!(
            m,
            StringMatcher::Not(Box::new(StringMatcher::Regex("^a".into())))
        );
        assert_eq!(serde_json::to_string(&m).unwrap(), text);
    }

    #[test]
    fn two_keys_are_rejected() {
        let err =
            serde_json::from_str::<StringMatcher>(r#"{"equals":"a","regex":"b"}"#).unwrap_err();
        assert!(err.to_string().contains("exactly one key"), "{err}");
    }

    #[test]
    fn unknown_kind_names_the_known_ones() {
        let err = serde_json::from_str::<BodyMatcher>(r#"{"jsonpath":"$.a"}"#).unwrap_err();
        assert!(err.to_string().contains("jsonPath"), "{err}");
    }

    #[test]
    fn inner_type_errors_keep_their_message() {
        let err = serde_json::from_str::<StringMatcher>(r#"{"present":"yes"}"#).unwrap_err();
        assert!(err.to_string().contains("expected a boolean"), "{err}");
    }

    #[test]
    fn body_json_path_with_equals() {
        let m: BodyMatcher =
            serde_json::from_str(r#"{"jsonPath":{"path":"$.a","equals":1}}"#).unwrap();
        assert_eq!(
            m,
            BodyMatcher::JsonPath(JsonPathMatcher {
                path: "$.a".into(),
                equals: Some(serde_json::json!(1))
            })
        );
    }
}
