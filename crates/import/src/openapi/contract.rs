//! An operation's parameters and request body as a [`RequestContract`] whose schemas are
//! self-contained JSON Schema 2020-12: every `$ref` (across files too) is copied under
//! `$defs` once, and OpenAPI 3.0's and Swagger 2.0's dialects (`nullable`, boolean
//! `exclusiveMinimum`, `x-nullable`) are rewritten into JSON Schema.

use super::{Dialect, Reader};
use crate::refs::Loc;
use serde_json::{Map, Value, json};
use standin_model::{ContractBody, ContractParameter, ParameterIn, RequestContract};
use std::collections::HashMap;

/// Keys whose values are data, not schemas: not rewritten.
const DATA_KEYS: &[&str] = &["example", "examples", "default", "enum", "const"];

pub(crate) struct Bundler<'a, 'r> {
    reader: &'a Reader<'r>,
    defs: Map<String, Value>,
    names: HashMap<Loc, String>,
}

impl<'a, 'r> Bundler<'a, 'r> {
    pub(crate) fn new(reader: &'a Reader<'r>) -> Self {
        Bundler {
            reader,
            defs: Map::new(),
            names: HashMap::new(),
        }
    }

    /// `v` (a schema in `file`) as a self-contained JSON Schema 2020-12.
    pub(crate) fn schema(&mut self, v: &Value, file: &str) -> Value {
        let root = self.rewrite(v, file, 0);
        if self.defs.is_empty() {
            return root;
        }
        let defs = std::mem::take(&mut self.defs);
        self.names.clear();
        match root {
            Value::Object(mut o) => {
                o.insert("$defs".into(), Value::Object(defs));
                Value::Object(o)
            }
            other => json!({"allOf": [other], "$defs": defs}),
        }
    }

    fn rewrite(&mut self, v: &Value, file: &str, depth: usize) -> Value {
        if depth > crate::text::MAX_DEPTH {
            return json!({});
        }
        match v {
            Value::Object(o) => {
                if let Some(r) = o.get("$ref").and_then(Value::as_str) {
                    return self.reference(r, file, depth);
                }
                let mut out = Map::with_capacity(o.len());
                for (k, val) in o {
                    let val = if DATA_KEYS.contains(&k.as_str()) {
                        val.clone()
                    } else {
                        self.rewrite(val, file, depth + 1)
                    };
                    out.insert(k.clone(), val);
                }
                dialect(&mut out);
                Value::Object(out)
            }
            Value::Array(a) => {
                Value::Array(a.iter().map(|x| self.rewrite(x, file, depth + 1)).collect())
            }
            other => other.clone(),
        }
    }

    fn reference(&mut self, r: &str, file: &str, depth: usize) -> Value {
        let Ok(loc) = self.reader.docs.target(file, r) else {
            // An unresolvable reference accepts anything rather than refusing every request.
            return json!({});
        };
        if let Some(name) = self.names.get(&loc) {
            return json!({"$ref": format!("#/$defs/{name}")});
        }
        let name = format!("d{}", self.names.len());
        self.names.insert(loc.clone(), name.clone());
        let target = self
            .reader
            .docs
            .get(&loc)
            .cloned()
            .unwrap_or_else(|_| json!({}));
        let bundled = self.rewrite(&target, &loc.file, depth + 1);
        self.defs.insert(name.clone(), bundled);
        json!({"$ref": format!("#/$defs/{name}")})
    }
}

/// OpenAPI 3.0 / Swagger 2.0 keywords in JSON Schema 2020-12's terms.
fn dialect(o: &mut Map<String, Value>) {
    let nullable_3 = o.remove("nullable") == Some(Value::Bool(true));
    let nullable_2 = o.remove("x-nullable") == Some(Value::Bool(true));
    let nullable = nullable_3 || nullable_2;
    if nullable {
        match o.get("type").cloned() {
            Some(Value::String(t)) => {
                o.insert("type".into(), json!([t, "null"]));
            }
            Some(Value::Array(mut ts)) if !ts.contains(&json!("null")) => {
                ts.push(json!("null"));
                o.insert("type".into(), Value::Array(ts));
            }
            _ => {}
        }
        if let Some(Value::Array(e)) = o.get_mut("enum")
            && !e.contains(&Value::Null)
        {
            e.push(Value::Null);
        }
    }
    for (flag, bound) in [
        ("exclusiveMinimum", "minimum"),
        ("exclusiveMaximum", "maximum"),
    ] {
        match o.get(flag) {
            Some(Value::Bool(true)) => {
                if let Some(b) = o.remove(bound) {
                    o.insert(flag.into(), b);
                } else {
                    o.remove(flag);
                }
            }
            Some(Value::Bool(false)) => {
                o.remove(flag);
            }
            _ => {}
        }
    }
    // Swagger 2.0's file type has no JSON Schema counterpart.
    if o.get("type") == Some(&json!("file")) {
        o.remove("type");
    }
}

/// The contract of an operation, from its own parameters and its path item's (the
/// operation's win for the same name and place) and its request body.
pub(crate) fn contract(
    reader: &mut Reader<'_>,
    file: &str,
    pointer: &str,
    item: &Value,
    op: &Map<String, Value>,
) -> Option<RequestContract> {
    let mut c = build(reader, file, item, op)?;
    let main = reader.main_file().to_string();
    c.parameters.retain(|p| {
        let ok = p.location != ParameterIn::Header || crate::header_ok(&p.name, "");
        if !ok {
            reader.warn(
                &main,
                pointer,
                format!(
                    "\"{}\" is not a header name: the parameter is not checked",
                    p.name
                ),
            );
        }
        ok
    });
    // A schema the validator cannot read (an ECMA-only regex, say) would make the route
    // refuse to compile, and the whole import with it: it is left out, with a warning.
    for p in &mut c.parameters {
        if let Some(e) = p.schema.as_ref().and_then(unreadable) {
            reader.warn(
                &main,
                pointer,
                format!(
                    "the schema of {} parameter \"{}\" is not checked: {e}",
                    p.location.as_str(),
                    p.name
                ),
            );
            p.schema = None;
        }
    }
    if let Some(b) = c.body.as_mut()
        && let Some(e) = b.schema.as_ref().and_then(unreadable)
    {
        reader.warn(
            &main,
            &format!("{pointer}/requestBody"),
            format!("the request body's schema is not checked: {e}"),
        );
        b.schema = None;
    }
    Some(c)
}

/// Why the validator standin serves with cannot read `schema`, if it cannot.
fn unreadable(schema: &Value) -> Option<String> {
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .with_pattern_options(jsonschema::PatternOptions::regex())
        .build(schema)
        .err()
        .map(|e| e.to_string())
}

fn build(
    reader: &Reader<'_>,
    file: &str,
    item: &Value,
    op: &Map<String, Value>,
) -> Option<RequestContract> {
    let mut bundler = Bundler {
        reader,
        defs: Map::new(),
        names: HashMap::new(),
    };
    let mut params: Vec<ContractParameter> = Vec::new();
    let mut body = None;
    let lists = [item.get("parameters"), op.get("parameters")];
    for list in lists.into_iter().flatten().filter_map(Value::as_array) {
        for p in list {
            let Ok((p, pfile)) = reader.docs.deref(file, p) else {
                continue;
            };
            let name = p
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let required = p.get("required") == Some(&Value::Bool(true));
            let location = match p.get("in").and_then(Value::as_str) {
                Some("path") => ParameterIn::Path,
                Some("query") => ParameterIn::Query,
                Some("header") => ParameterIn::Header,
                Some("cookie") => ParameterIn::Cookie,
                Some("body") => {
                    let schema = p.get("schema").map(|s| bundler.schema(s, &pfile));
                    let consumes = op
                        .get("consumes")
                        .or_else(|| reader.docs.main().get("consumes"));
                    let media_types = consumes
                        .and_then(Value::as_array)
                        .map(|a| {
                            a.iter()
                                .filter_map(Value::as_str)
                                .map(str::to_string)
                                .collect()
                        })
                        .unwrap_or_else(|| vec!["application/json".to_string()]);
                    body = Some(ContractBody {
                        required,
                        media_types,
                        schema,
                    });
                    continue;
                }
                _ => continue,
            };
            if location == ParameterIn::Header
                && ["accept", "content-type", "authorization"]
                    .contains(&name.to_ascii_lowercase().as_str())
            {
                // OpenAPI says these are described elsewhere and ignored here.
                continue;
            }
            let schema = match reader.dialect {
                Dialect::OpenApi3 => p
                    .get("schema")
                    .or_else(|| {
                        p.get("content")
                            .and_then(Value::as_object)
                            .and_then(|c| c.values().next())
                            .and_then(|m| m.get("schema"))
                    })
                    .map(|s| bundler.schema(s, &pfile)),
                Dialect::Swagger2 => {
                    let mut s = p.as_object().cloned().unwrap_or_default();
                    for k in [
                        "name",
                        "in",
                        "required",
                        "description",
                        "collectionFormat",
                        "allowEmptyValue",
                    ] {
                        s.remove(k);
                    }
                    Some(bundler.schema(&Value::Object(s), &pfile))
                }
            };
            let param = ContractParameter {
                name,
                location,
                required,
                schema,
            };
            match params
                .iter_mut()
                .find(|q| q.name == param.name && q.location == param.location)
            {
                Some(existing) => *existing = param,
                None => params.push(param),
            }
        }
    }
    if reader.dialect == Dialect::OpenApi3
        && let Some(rb) = op.get("requestBody")
        && let Ok((rb, rbfile)) = reader.docs.deref(file, rb)
    {
        let content = rb.get("content").and_then(Value::as_object);
        let media_types: Vec<String> = content
            .map(|c| c.keys().cloned().collect())
            .unwrap_or_default();
        let schema = content
            .and_then(|c| c.iter().find(|(m, _)| m.contains("json")))
            .and_then(|(_, m)| m.get("schema"))
            .map(|s| bundler.schema(s, &rbfile));
        body = Some(ContractBody {
            required: rb.get("required") == Some(&Value::Bool(true)),
            media_types,
            schema,
        });
    }
    (!params.is_empty() || body.is_some()).then_some(RequestContract {
        parameters: params,
        body,
    })
}
