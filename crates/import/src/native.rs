//! standin's own export of a service: the service and its routes as they are stored,
//! in JSON or YAML, fit to keep in a repository and to import again unchanged.

use crate::{Format, ImportError, Imported};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use standin_model::{Route, Service};

/// The version of the export format.
pub const VERSION: u32 = 1;

/// A service and its routes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Export {
    /// The format's version; `1`.
    pub standin: u32,
    pub team: String,
    pub service: Service,
    pub routes: Vec<Route>,
}

/// Reads an export. Its routes come back exactly as exported, origins included.
pub(crate) fn read(file: &str, doc: &Value) -> Result<Imported, ImportError> {
    let export: Export = serde_path_to_error::deserialize(doc).map_err(|e| {
        let pointer = pointer(e.path());
        ImportError::at(file, &pointer, e.into_inner().to_string())
    })?;
    if export.standin != VERSION {
        return Err(ImportError::at(
            file,
            "/standin",
            format!(
                "version {} of standin's export format is not known here: {VERSION}",
                export.standin
            ),
        ));
    }
    Ok(Imported {
        source: String::new(),
        format: Format::Native,
        title: Some(export.service.name.clone()).filter(|n| !n.is_empty()),
        routes: export.routes,
        warnings: Vec::new(),
    })
}

/// serde_path_to_error's path (`routes[0].http`) as a JSON pointer.
fn pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for seg in path.iter() {
        match seg {
            Segment::Seq { index } => out.push_str(&format!("/{index}")),
            Segment::Map { key } => out.push_str(&format!("/{}", crate::token(key))),
            Segment::Enum { variant } => out.push_str(&format!("/{}", crate::token(variant))),
            Segment::Unknown => {}
        }
    }
    out
}

/// The export as JSON (pretty) or YAML text.
pub fn write(export: &Export, yaml: bool) -> String {
    if yaml {
        // Through a JSON value: YAML would write enum variants as tags (`!json`), which
        // neither JSON tools nor this reader take as the route document's shape.
        let value = serde_json::to_value(export).expect("exports serialize");
        yaml_serde::to_string(&value).expect("exports serialize")
    } else {
        let mut s = serde_json::to_string_pretty(export).expect("exports serialize");
        s.push('\n');
        s
    }
}
