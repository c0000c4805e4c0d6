//! What importing a document into a service would do, before it is done: routes to
//! create, update and delete, routes left as they are, and the conflicts a person must
//! look at.
//!
//! An imported route carries a fingerprint of itself as imported (in its origin). When
//! the route in the service no longer has that fingerprint, someone edited it after the
//! import: a later import keeps it, and flags it as a conflict when the document changed
//! that operation too (or removed it). Routes that did not come from this format are
//! never touched, and one with the same id as an imported route is a conflict.

use crate::{Format, Imported};
use serde::Serialize;
use serde_json::Value;
use standin_model::Route;
use std::collections::{BTreeMap, BTreeSet};

/// The key in a route's origin document that holds its fingerprint as imported.
pub const FINGERPRINT: &str = "fingerprint";
/// The key in a route's origin document that names the document it came from.
pub const SOURCE: &str = "source";
/// Differences listed per route, at most.
const MAX_DIFFS: usize = 50;
/// A value in a diff longer than this (as JSON) is summarised.
const MAX_VALUE: usize = 2048;

/// The plan for one import into one service.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    pub create: Vec<PlanEntry>,
    pub update: Vec<PlanEntry>,
    pub delete: Vec<PlanEntry>,
    /// Imported routes equal to what the service has.
    pub unchanged: Vec<String>,
    /// Routes edited by hand since their import, for operations the document did not
    /// change: kept as edited.
    pub kept: Vec<PlanEntry>,
    /// Routes the import would overwrite or delete, but which someone edited (or wrote)
    /// by hand: kept, and waiting for a person.
    pub conflicts: Vec<PlanEntry>,
    #[serde(skip)]
    puts: Vec<Route>,
    #[serde(skip)]
    deletes: Vec<String>,
}

/// One route in a plan.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanEntry {
    pub id: String,
    /// `GET /pets/{id}`, when the route came from an operation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// What changes, field by field (updates and conflicts).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub diff: Vec<RouteDiff>,
}

/// One difference between a route as it is and as imported.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RouteDiff {
    /// JSON pointer into the route document.
    pub pointer: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<Value>,
}

impl Plan {
    /// Routes to create or replace, in the document's order.
    pub fn puts(&self) -> &[Route] {
        &self.puts
    }

    /// Ids of routes to delete.
    pub fn deletes(&self) -> &[String] {
        &self.deletes
    }

    pub fn has_conflicts(&self) -> bool {
        !self.conflicts.is_empty()
    }

    /// Nothing to write.
    pub fn is_empty(&self) -> bool {
        self.puts.is_empty() && self.deletes.is_empty()
    }
}

/// Compares what a service has (`current`) with what was imported.
pub fn plan(current: &[Route], imported: &Imported) -> Plan {
    let format = imported.format.name();
    let by_id: BTreeMap<&str, &Route> = current.iter().map(|r| (r.id.as_str(), r)).collect();
    let mut plan = Plan::default();
    let mut seen = BTreeSet::new();
    for new in &imported.routes {
        seen.insert(new.id.as_str());
        let entry = |reason: Option<&str>, diff: Vec<RouteDiff>| PlanEntry {
            id: new.id.clone(),
            operation: operation(new),
            reason: reason.map(str::to_string),
            diff,
        };
        let Some(old) = by_id.get(new.id.as_str()) else {
            plan.create.push(entry(None, Vec::new()));
            plan.puts.push(new.clone());
            continue;
        };
        if imported.format == Format::Native {
            if *old == new {
                plan.unchanged.push(new.id.clone());
            } else {
                plan.update.push(entry(None, diff(old, new)));
                plan.puts.push(new.clone());
            }
            continue;
        }
        if origin_format(old) != Some(format) {
            plan.conflicts.push(entry(
                Some("a route with this id was not imported from this format: it is kept"),
                diff(old, new),
            ));
            continue;
        }
        if !same_source(old, imported) {
            plan.conflicts.push(entry(
                Some("a route with this id came from another document: it is kept"),
                diff(old, new),
            ));
            continue;
        }
        let edited = stamped(old) != Some(fingerprint(old));
        let spec_changed = stamped(old) != stamped(new);
        match (edited, spec_changed) {
            (false, false) => plan.unchanged.push(new.id.clone()),
            (false, true) => {
                plan.update.push(entry(None, diff(old, new)));
                plan.puts.push(new.clone());
            }
            (true, false) => plan.kept.push(entry(
                Some("edited by hand since it was imported; the document did not change it"),
                Vec::new(),
            )),
            (true, true) => plan.conflicts.push(entry(
                Some(
                    "edited by hand since it was imported, and the document changed it: it is kept",
                ),
                diff(old, new),
            )),
        }
    }
    if imported.format != Format::Native {
        for old in current {
            if seen.contains(old.id.as_str())
                || origin_format(old) != Some(format)
                || !same_source(old, imported)
            {
                continue;
            }
            let e = PlanEntry {
                id: old.id.clone(),
                operation: operation(old),
                reason: None,
                diff: Vec::new(),
            };
            if stamped(old) != Some(fingerprint(old)) {
                plan.conflicts.push(PlanEntry {
                    reason: Some("no longer in the document, but edited by hand since it was imported: it is kept".to_string()),
                    ..e
                });
            } else {
                plan.delete.push(e);
                plan.deletes.push(old.id.clone());
            }
        }
    }
    plan
}

/// Whether a route came from the document being imported (a route that does not say
/// which document it came from is taken to be from this one).
fn same_source(r: &Route, imported: &Imported) -> bool {
    match r
        .origin
        .as_ref()
        .and_then(|o| o.document.get(SOURCE))
        .and_then(Value::as_str)
    {
        None => true,
        Some(s) => imported.source.is_empty() || s == imported.source,
    }
}

fn origin_format(r: &Route) -> Option<&str> {
    r.origin.as_ref().map(|o| o.format.as_str())
}

fn operation(r: &Route) -> Option<String> {
    r.origin
        .as_ref()
        .and_then(|o| o.document.get("operation"))
        .and_then(Value::as_str)
        .map(str::to_string)
}

fn stamped(r: &Route) -> Option<String> {
    r.origin
        .as_ref()
        .and_then(|o| o.document.get(FINGERPRINT))
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// A fingerprint of everything in a route but its origin.
pub fn fingerprint(route: &Route) -> String {
    let mut bare = route.clone();
    bare.origin = None;
    let text = serde_json::to_string(&bare).expect("routes serialize");
    format!("{:016x}", crate::openapi::fnv(text.as_bytes()))
}

/// Writes the route's fingerprint into its origin (which it must have): a later import
/// tells by it whether someone edited the route.
pub fn stamp(route: &mut Route) {
    let fp = fingerprint(route);
    if let Some(origin) = route.origin.as_mut()
        && let Value::Object(o) = &mut origin.document
    {
        o.insert(FINGERPRINT.to_string(), Value::String(fp));
    }
}

/// The differences between two routes (origins aside), as pointers with both values.
pub fn diff(old: &Route, new: &Route) -> Vec<RouteDiff> {
    let mut a = serde_json::to_value(old).expect("routes serialize");
    let mut b = serde_json::to_value(new).expect("routes serialize");
    for v in [&mut a, &mut b] {
        if let Value::Object(o) = v {
            o.remove("origin");
        }
    }
    let mut out = Vec::new();
    walk(&a, &b, String::new(), &mut out);
    out
}

fn walk(a: &Value, b: &Value, at: String, out: &mut Vec<RouteDiff>) {
    if a == b || out.len() >= MAX_DIFFS {
        return;
    }
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                let p = format!("{at}/{}", crate::token(k));
                match (x.get(k), y.get(k)) {
                    (Some(u), Some(v)) => walk(u, v, p, out),
                    (u, v) => push(out, p, u, v),
                }
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (u, v)) in x.iter().zip(y).enumerate() {
                walk(u, v, format!("{at}/{i}"), out);
            }
        }
        _ => push(out, at, Some(a), Some(b)),
    }
}

fn push(out: &mut Vec<RouteDiff>, pointer: String, a: Option<&Value>, b: Option<&Value>) {
    if out.len() < MAX_DIFFS {
        out.push(RouteDiff {
            pointer,
            before: a.map(short),
            after: b.map(short),
        });
    }
}

fn short(v: &Value) -> Value {
    let text = v.to_string();
    if text.len() > MAX_VALUE {
        Value::String(format!("<{} bytes of JSON>", text.len()))
    } else {
        v.clone()
    }
}
