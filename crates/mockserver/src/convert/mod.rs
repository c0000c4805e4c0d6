//! MockServer's JSON (expectations and request matchers) into standin's route documents.
//!
//! MockServer's schema is loose: most values may be a string or an object, maps may be
//! objects or arrays of `{name, values}`. This module reads `serde_json::Value`s by hand so
//! that every form is accepted and every refusal names the field (JSON pointer).

use serde_json::{Map, Value};
use standin_model::{
    BodyMatcher, ClientCallback, DocumentTemplate, Fault, Forward, HeaderChanges, HeaderValues,
    HttpRequestMatcher, HttpResponse, HttpRoute, JsonPathMatcher, NamePattern, Origin, PathMatcher,
    ResponseBody, Rewrite, Route, StringMatcher, TemplateEngine,
};
use std::collections::BTreeMap;

mod action;
mod expectation;
mod fields;
mod forward;
mod request;

pub use expectation::expectation;
pub use request::request_matcher;

use action::*;
use expectation::*;
use fields::*;
use forward::*;
use request::*;

/// Why a MockServer document was refused.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub pointer: String,
    pub message: String,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.pointer.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.pointer, self.message)
        }
    }
}

/// `v` as a JSON object, or a refusal at `pointer`.
pub(crate) fn object<'v>(v: &'v Value, pointer: &str) -> R<&'v Map<String, Value>> {
    v.as_object()
        .ok_or_else(|| refuse(pointer, "must be an object"))
}

pub(crate) fn refuse(pointer: &str, message: impl Into<String>) -> Refusal {
    Refusal {
        pointer: pointer.to_string(),
        message: message.into(),
    }
}

pub(crate) type R<T> = Result<T, Refusal>;

/// The content type MockServer gives JSON bodies.
pub(crate) const JSON_UTF8: &str = "application/json; charset=utf-8";

/// An expectation converted: the route, and the expectation as MockServer would echo it.
pub struct Converted {
    pub route: Route,
    pub echo: Value,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Converts `v`, with an empty `httpResponse` when it names no action.
    fn conv(mut v: Value) -> Route {
        if let Some(o) = v.as_object_mut()
            && !ACTIONS.iter().any(|a| o.contains_key(*a))
        {
            o.insert("httpResponse".into(), serde_json::json!({}));
        }
        expectation(&v, "", 0)
            .unwrap_or_else(|e| panic!("{e}"))
            .route
    }

    #[test]
    fn plain_strings_compare_ignoring_case_and_regexes_match_whole() {
        let r = conv(
            json!({"httpRequest": {"method": "GET", "path": "/a/.*"}, "httpResponse": {"body": "x"}}),
        );
        let req = &r.http.as_ref().unwrap().request;
        assert_eq!(
            req.method,
            Some(StringMatcher::EqualsIgnoreCase("GET".into()))
        );
        assert_eq!(req.path, Some(PathMatcher::Regex("(?is)/a/.*".into())));
    }

    #[test]
    fn path_parameters_capture_segments_and_constrain_the_values() {
        let r = conv(
            json!({"httpRequest": {"path": "/cart/{cartId}/item", "pathParameters": {"cartId": ["[A-Z0-9\\-]+"]}}}),
        );
        let req = r.http.unwrap().request;
        assert_eq!(
            req.path,
            Some(PathMatcher::Regex(
                r"(?i)/cart/(?P<cartId>[^/]+)/item".into()
            ))
        );
        assert!(matches!(req.path_values["cartId"], StringMatcher::AnyOf(_)));
    }

    #[test]
    fn negation_optional_keys_and_multiple_values() {
        let r = conv(json!({"httpRequest": {
            "method": "!GET",
            "headers": {"X-A": ["1", "2"], "?X-B": ["b"], "!X-C": []},
            "queryStringParameters": [{"name": "q", "values": ["v"]}]
        }}));
        let req = r.http.unwrap().request;
        assert_eq!(
            req.method,
            Some(StringMatcher::Not(Box::new(
                StringMatcher::EqualsIgnoreCase("GET".into())
            )))
        );
        assert!(matches!(req.headers["X-A"], StringMatcher::AllOf(ref v) if v.len() == 2));
        assert!(
            matches!(req.headers["X-B"], StringMatcher::AnyOf(ref v) if v[0] == StringMatcher::Present(false))
        );
        assert_eq!(req.headers["X-C"], StringMatcher::Present(false));
        assert_eq!(
            req.query_patterns,
            vec![NamePattern {
                name: StringMatcher::EqualsIgnoreCase("q".into()),
                value: StringMatcher::EqualsIgnoreCase("v".into())
            }],
            "query names compare ignoring case"
        );
    }

    #[test]
    fn regex_key_names_become_name_patterns() {
        let r = conv(json!({"httpRequest": {"headers": {"Accept.*": [".*gzip.*"]}}}));
        let req = r.http.unwrap().request;
        assert!(req.headers.is_empty());
        assert_eq!(req.header_patterns.len(), 1);
        assert!(matches!(
            req.header_patterns[0].name,
            StringMatcher::AnyOf(_)
        ));
    }

    #[test]
    fn body_forms() {
        let body = |b: Value| {
            conv(json!({"httpRequest": {"body": b}}))
                .http
                .unwrap()
                .request
                .body
        };
        assert_eq!(
            body(json!("exact")),
            Some(BodyMatcher::Equals("exact".into()))
        );
        assert_eq!(
            body(json!({"type": "STRING", "string": "s", "subString": true})),
            Some(BodyMatcher::Contains("s".into()))
        );
        assert_eq!(
            body(json!({"type": "JSON", "json": "{\"a\":1}"})),
            Some(BodyMatcher::JsonPartial(json!({"a": 1})))
        );
        assert_eq!(
            body(json!({"type": "JSON", "json": {"a": 1}, "matchType": "STRICT"})),
            Some(BodyMatcher::Json(json!({"a": 1})))
        );
        assert_eq!(
            body(json!({"type": "REGEX", "regex": "a.*", "not": true})),
            Some(BodyMatcher::Not(Box::new(BodyMatcher::Regex(
                "(?is)a.*".into()
            ))))
        );
        assert_eq!(
            body(json!({"a": [1]})),
            Some(BodyMatcher::JsonPartial(json!({"a": [1]})))
        );
    }

    #[test]
    fn times_and_ttl() {
        let r = conv(
            json!({"times": {"remainingTimes": 2, "unlimited": false}, "timeToLive": {"timeUnit": "SECONDS", "timeToLive": 60}}),
        );
        assert_eq!(r.times, Some(2));
        assert_eq!(r.expires_at.as_deref(), Some("1970-01-01T00:01:00Z"));
    }

    #[test]
    fn unsupported_things_are_refused_by_name() {
        let err = expectation(
            &json!({"httpResponseTemplate": {"templateType": "HANDLEBARS", "template": "x"}}),
            "",
            0,
        )
        .err()
        .unwrap();
        assert_eq!(err.pointer, "/httpResponseTemplate/templateType");
        assert!(err.message.contains("VELOCITY"), "{}", err.message);
        let err = expectation(
            &json!({"httpRequest": {"body": {"type": "XML_SCHEMA", "xmlSchema": "<x/>"}}}),
            "/0",
            0,
        )
        .err()
        .unwrap();
        assert_eq!(err.pointer, "/0/httpRequest/body/xmlSchema");
        assert!(err.message.contains("xs:schema"), "{}", err.message);
    }

    #[test]
    fn responses_map_status_headers_cookies_and_body_types() {
        let r = conv(json!({"httpResponse": {
            "statusCode": 418, "reasonPhrase": "Teapot",
            "headers": {"X-A": ["1"]}, "cookies": {"s": "v"},
            "body": {"type": "JSON", "json": {"a": 1}},
            "delay": {"timeUnit": "SECONDS", "value": 1},
            "connectionOptions": {"closeSocket": true}
        }}));
        let resp = r.http.unwrap().response;
        assert_eq!(
            (resp.status, resp.reason.as_deref(), resp.delay_ms),
            (418, Some("Teapot"), 1000)
        );
        assert_eq!(
            resp.headers["Set-Cookie"],
            HeaderValues::Many(vec!["s=v".into()])
        );
        assert_eq!(
            resp.headers["Content-Type"],
            HeaderValues::One("application/json; charset=utf-8".into())
        );
        assert_eq!(resp.fault, Some(Fault::CloseAfterResponse));
    }
}
