//! A file of MockServer expectations as an import (`standin import expectations.json
//! --service team/service`, `POST .../import?format=mockserver`): the same conversion as
//! `PUT /mockserver/expectation`, with ids that stay the same from one import of the file
//! to the next, so that a newer file plans against the older one.

use serde_json::Value;
use standin_import::{Format, ImportError, Imported};

/// Reads `doc` (one expectation or an array of them) from the file `file`.
pub fn read(file: &str, doc: &Value) -> Result<Imported, ImportError> {
    let (items, array) = match doc {
        Value::Array(items) => (items.clone(), true),
        other => (vec![other.clone()], false),
    };
    let mut routes = Vec::with_capacity(items.len());
    for (i, mut item) in items.into_iter().enumerate() {
        let pointer = if array {
            format!("/{i}")
        } else {
            String::new()
        };
        // Without an id MockServer picks a random one; an import picks one by position.
        if let Some(o) = item.as_object_mut()
            && !o.contains_key("id")
        {
            o.insert("id".into(), Value::String(format!("expectation-{}", i + 1)));
        }
        let converted =
            crate::convert::expectation(&item, &pointer, crate::now_ms()).map_err(|e| {
                ImportError {
                    file: file.to_string(),
                    pointer: e.pointer.clone(),
                    line: None,
                    column: None,
                    message: e.message.clone(),
                }
            })?;
        let mut route = converted.route;
        standin_import::plan::stamp(&mut route);
        routes.push(route);
    }
    Ok(Imported {
        source: String::new(),
        format: Format::Mockserver,
        title: None,
        routes,
        warnings: Vec::new(),
    })
}
