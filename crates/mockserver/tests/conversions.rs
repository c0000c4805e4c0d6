//! MockServer expectations and what standin makes of them, as data.
//!
//! Each file in `tests/fixtures/` is a list of cases: an `expectation` as a MockServer
//! client sends it, and either the `route` document `convert::expectation` turns it into,
//! or the refusal (`pointer` and text the message `contains`) it gets instead. The route
//! is compared as JSON without its `origin`, which only echoes the expectation back; an
//! expectation without an `id` gets a random UUID, written `"(generated)"` in the fixture.
//!
//! The examples come from the unit tests in `src/convert.rs` and from the differential
//! cases in `compat/cases/`, whose `about` names them. When a conversion changes on
//! purpose, the failure prints the new document; `STANDIN_BLESS=1 cargo test -p
//! standin-mockserver --test conversions` rewrites the expected routes in place (read the
//! diff before committing it: it is the change in behaviour).

use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeSet;

/// The fixture files, each run by a test of its own below.
const FILES: &[&str] = &[
    "request_matchers.json",
    "body_matchers.json",
    "responses_and_actions.json",
    "forwards.json",
    "times_and_ttl.json",
    "refusals.json",
];

/// The time conversions run at, 2026-01-01T00:00:00Z, so that a `timeToLive` becomes the
/// same `expiresAt` on every run.
const NOW_MS: u64 = 1_767_225_600_000;

/// What a fixture writes for a route id the converter made up.
const GENERATED_ID: &str = "(generated)";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    /// What the case shows, and where it comes from.
    about: String,
    expectation: Value,
    #[serde(default)]
    route: Option<Value>,
    #[serde(default)]
    refused: Option<Refused>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Refused {
    pointer: String,
    contains: String,
}

#[test]
fn request_matchers() {
    check_file("request_matchers.json");
}

#[test]
fn body_matchers() {
    check_file("body_matchers.json");
}

#[test]
fn responses_and_actions() {
    check_file("responses_and_actions.json");
}

#[test]
fn forwards() {
    check_file("forwards.json");
}

#[test]
fn times_and_ttl() {
    check_file("times_and_ttl.json");
}

#[test]
fn refusals() {
    check_file("refusals.json");
}

/// A fixture file that no test reads would pass silently, whatever it says.
#[test]
fn every_fixture_file_is_checked() {
    let found: BTreeSet<String> = std::fs::read_dir(fixtures_dir())
        .expect("the fixtures directory")
        .map(|entry| entry.expect("a directory entry").file_name())
        .map(|name| name.to_string_lossy().into_owned())
        .collect();
    let checked: BTreeSet<String> = FILES.iter().map(|f| f.to_string()).collect();
    assert_eq!(
        found, checked,
        "add new fixture files to FILES and give each a test"
    );
}

fn fixtures_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn check_file(file: &str) {
    let text = std::fs::read_to_string(fixtures_dir().join(file))
        .unwrap_or_else(|e| panic!("{file}: {e}"));
    let cases: Vec<Case> = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{file} is not a list of cases: {e}"));
    assert!(!cases.is_empty(), "{file} has no cases");
    if std::env::var_os("STANDIN_BLESS").is_some() {
        return bless(file, &text);
    }
    for case in &cases {
        check(file, case);
    }
}

/// Rewrites the expected routes of `file` with what the converter makes now.
fn bless(file: &str, text: &str) {
    let mut cases: Vec<Value> = serde_json::from_str(text).expect("checked above");
    for case in &mut cases {
        if case.get("route").is_none() {
            continue;
        }
        let about = format!("{file}: {}", case["about"]);
        let converted = standin_mockserver::convert::expectation(&case["expectation"], "", NOW_MS)
            .unwrap_or_else(|refusal| panic!("{about}: refused ({refusal})"));
        let route = serde_json::to_value(&converted.route).expect("a route serializes");
        case["route"] = as_written(&case["expectation"], route, &about);
    }
    std::fs::write(
        fixtures_dir().join(file),
        pretty(&Value::from(cases)) + "\n",
    )
    .unwrap_or_else(|e| panic!("{file}: {e}"));
}

#[track_caller]
fn check(file: &str, case: &Case) {
    let about = format!("{file}: {}", case.about);
    let converted = standin_mockserver::convert::expectation(&case.expectation, "", NOW_MS);
    match (&case.route, &case.refused, converted) {
        (Some(expected), None, Ok(converted)) => {
            let route = serde_json::to_value(&converted.route).expect("a route serializes");
            let got = as_written(&case.expectation, route, &about);
            assert!(
                got == *expected,
                "{about}\nexpected {}\ngot      {}",
                pretty(expected),
                pretty(&got)
            );
        }
        (None, Some(refused), Err(refusal)) => {
            assert_eq!(refusal.pointer, refused.pointer, "{about}: {refusal}");
            assert!(
                refusal.message.contains(&refused.contains),
                "{about}: the message should contain {:?}: {refusal}",
                refused.contains
            );
        }
        (Some(_), None, Err(refusal)) => panic!("{about}: refused ({refusal})"),
        (None, Some(_), Ok(converted)) => {
            let route = serde_json::to_value(&converted.route).expect("a route serializes");
            panic!("{about}: accepted as {}", pretty(&route));
        }
        _ => panic!("{about}: a case has either a route or a refusal"),
    }
}

/// The route as the fixtures write it: without `origin`, which must be the expectation as
/// MockServer echoes it under the same id, and with a made-up id replaced by
/// [`GENERATED_ID`] once it is seen to be a random UUID.
fn as_written(expectation: &Value, mut route: Value, about: &str) -> Value {
    let fields = route.as_object_mut().expect("a route is an object");
    let origin = fields
        .remove("origin")
        .expect("a converted route has an origin");
    assert_eq!(origin["format"], "mockserver", "{about}");
    assert_eq!(
        origin["document"]["id"], fields["id"],
        "{about}: the echo has the route's id"
    );
    if expectation.get("id").is_none_or(Value::is_null) {
        let id = fields["id"].as_str().unwrap_or_default();
        let uuid = uuid::Uuid::parse_str(id)
            .unwrap_or_else(|e| panic!("{about}: the made-up id {id:?} is not a UUID: {e}"));
        assert_eq!(
            uuid.get_version_num(),
            4,
            "{about}: {id} is a random (v4) UUID"
        );
        fields.insert("id".into(), Value::from(GENERATED_ID));
    }
    route
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).expect("JSON serializes")
}
