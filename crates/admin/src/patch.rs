//! JSON Merge Patch (RFC 7396) for the `PATCH` endpoints.

use crate::parse_json;
use serde::Serialize;
use standin_app::AppError;

/// Applies a JSON Merge Patch (RFC 7396) to `current` and reads the result back, with
/// errors pointing into the patch.
pub(crate) fn merged<T: Serialize + serde::de::DeserializeOwned>(
    current: &T,
    patch: &serde_json::Value,
) -> Result<T, AppError> {
    if !patch.is_object() {
        return Err(AppError::invalid(
            "/",
            "a merge patch is a JSON object (RFC 7396)",
        ));
    }
    let mut doc = serde_json::to_value(current).expect("documents serialize");
    merge_patch(&mut doc, patch);
    let text = doc.to_string();
    parse_json::<T>(text.as_bytes()).map_err(|e| {
        AppError::invalid(
            e.body.pointer.clone().unwrap_or_else(|| "/".into()),
            e.body.message,
        )
    })
}

/// RFC 7396: objects merge key by key, `null` removes a key, anything else replaces.
pub(crate) fn merge_patch(target: &mut serde_json::Value, patch: &serde_json::Value) {
    let serde_json::Value::Object(changes) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = serde_json::Value::Object(Default::default());
    }
    let serde_json::Value::Object(fields) = target else {
        return;
    };
    for (key, value) in changes {
        if value.is_null() {
            fields.remove(key);
        } else {
            merge_patch(
                fields.entry(key.clone()).or_insert(serde_json::Value::Null),
                value,
            );
        }
    }
}
