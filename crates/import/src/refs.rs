//! Parsed documents by name, and `$ref` resolution across them: internal JSON pointers
//! (`#/components/schemas/Pet`), files next to the document (`schemas/pet.yaml#/Pet`,
//! `../common.yaml`), and URLs when the caller put their text in [`Sources`] under the
//! URL. Nothing is fetched here.

use crate::{ImportError, Sources, text};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Every parsed document, by name.
pub struct Docs {
    main: String,
    docs: BTreeMap<String, Value>,
    /// Files that are data, not documents (WireMock's `__files/`), as given.
    raw: BTreeMap<String, String>,
}

/// A place in one of the documents: the document's name and a pointer.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Loc {
    pub file: String,
    pub pointer: String,
}

impl Docs {
    pub fn parse(sources: &Sources) -> Result<Docs, ImportError> {
        let mut docs = BTreeMap::new();
        let mut raw = BTreeMap::new();
        if !sources.files.contains_key(&sources.main) || is_data_file(&sources.main) {
            return Err(ImportError::at(
                &sources.main,
                "",
                "the document is missing from the sources (or is a data file under __files/)",
            ));
        }
        for (name, text) in &sources.files {
            if is_data_file(name) {
                raw.insert(name.clone(), text.clone());
            } else {
                docs.insert(name.clone(), text::parse_document(name, text)?);
            }
        }
        Ok(Docs {
            main: sources.main.clone(),
            docs,
            raw,
        })
    }

    /// The names of the parsed documents.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.docs.keys().map(String::as_str)
    }

    pub fn get_file(&self, name: &str) -> Option<&Value> {
        self.docs.get(name)
    }

    /// The names of the data files.
    pub fn raw_names(&self) -> impl Iterator<Item = &str> {
        self.raw.keys().map(String::as_str)
    }

    pub fn raw(&self, name: &str) -> Option<&str> {
        self.raw.get(name).map(String::as_str)
    }

    pub fn main_name(&self) -> &str {
        &self.main
    }

    pub fn main(&self) -> &Value {
        &self.docs[&self.main]
    }

    /// Follows `value`'s `$ref` (and the `$ref`s it leads to) from the document `file`.
    /// Returns the value reached and where it is. A chain of references that comes back
    /// to itself is an error.
    pub fn deref<'a>(
        &'a self,
        file: &str,
        value: &'a Value,
    ) -> Result<(&'a Value, String), String> {
        let mut file = file.to_string();
        let mut value = value;
        let mut seen = BTreeSet::new();
        while let Some(r) = value.get("$ref").and_then(Value::as_str) {
            let loc = self.target(&file, r)?;
            if !seen.insert(loc.clone()) {
                return Err(format!(
                    "\"$ref\": \"{r}\" refers to itself through a chain of references"
                ));
            }
            value = self.get(&loc)?;
            file = loc.file;
        }
        Ok((value, file))
    }

    /// The place a reference written in `file` names.
    pub fn target(&self, file: &str, reference: &str) -> Result<Loc, String> {
        let (path, fragment) = match reference.split_once('#') {
            Some((p, f)) => (p, f),
            None => (reference, ""),
        };
        let file = if path.is_empty() {
            file.to_string()
        } else {
            join(file, path)
        };
        if !self.docs.contains_key(&file) {
            return Err(format!(
                "\"$ref\": \"{reference}\" names the file \"{file}\", which was not given"
            ));
        }
        Ok(Loc {
            file,
            pointer: percent_decode(fragment),
        })
    }

    pub fn get(&self, loc: &Loc) -> Result<&Value, String> {
        let doc = &self.docs[&loc.file];
        if loc.pointer.is_empty() {
            return Ok(doc);
        }
        if !loc.pointer.starts_with('/') {
            return Err(format!(
                "\"#{}\" in {} is not a JSON pointer (anchors are not supported)",
                loc.pointer, loc.file
            ));
        }
        doc.pointer(&loc.pointer)
            .ok_or_else(|| format!("\"{}#{}\" does not exist", loc.file, loc.pointer))
    }
}

/// Files under a `__files/` folder are WireMock's response bodies, not documents.
pub(crate) fn is_data_file(name: &str) -> bool {
    name.starts_with("__files/") || name.contains("/__files/")
}

/// Resolves `path` against the directory of `base`, with `.` and `..` removed.
/// URLs are kept as written.
fn join(base: &str, path: &str) -> String {
    if path.contains("://") {
        return path.to_string();
    }
    let mut parts: Vec<&str> = if path.starts_with('/') {
        Vec::new()
    } else {
        let mut b: Vec<&str> = base.split('/').collect();
        b.pop();
        b
    };
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else {
                    parts.push("..");
                }
            }
            s => parts.push(s),
        }
    }
    parts.retain(|p| !p.is_empty());
    parts.join("/")
}

fn percent_decode(s: &str) -> String {
    if !s.contains('%') {
        return s.to_string();
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The files that `sources` refer to (transitively) and do not contain, as names a
/// caller can read next to the main document and add. URLs are listed too.
///
/// ```
/// use standin_import::{Sources, missing_files};
/// let s = Sources::single("api/openapi.yaml",
///     "openapi: 3.0.0\npaths: {}\ncomponents:\n  schemas:\n    Pet: {$ref: 'schemas/pet.yaml'}\n");
/// assert_eq!(missing_files(&s).unwrap(), vec!["api/schemas/pet.yaml".to_string()]);
/// ```
pub fn missing_files(sources: &Sources) -> Result<Vec<String>, ImportError> {
    let mut missing = BTreeSet::new();
    for (name, text) in &sources.files {
        if is_data_file(name) {
            continue;
        }
        let doc = text::parse_document(name, text)?;
        collect_refs(&doc, &mut |r| {
            let path = r.split('#').next().unwrap_or("");
            if !path.is_empty() {
                let file = join(name, path);
                if !sources.files.contains_key(&file) {
                    missing.insert(file);
                }
            }
        });
    }
    Ok(missing.into_iter().collect())
}

fn collect_refs(v: &Value, f: &mut impl FnMut(&str)) {
    match v {
        Value::Object(o) => {
            if let Some(Value::String(r)) = o.get("$ref") {
                f(r);
            }
            for v in o.values() {
                collect_refs(v, f);
            }
        }
        Value::Array(a) => a.iter().for_each(|v| collect_refs(v, f)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_resolve_against_the_referring_file() {
        assert_eq!(
            join("api/openapi.yaml", "schemas/pet.yaml"),
            "api/schemas/pet.yaml"
        );
        assert_eq!(join("api/openapi.yaml", "./pet.yaml"), "api/pet.yaml");
        assert_eq!(
            join("api/v1/openapi.yaml", "../common.yaml"),
            "api/common.yaml"
        );
        assert_eq!(join("openapi.yaml", "../common.yaml"), "../common.yaml");
        assert_eq!(
            join("a.yaml", "https://x.test/s.yaml"),
            "https://x.test/s.yaml"
        );
    }

    #[test]
    fn a_chain_of_references_that_loops_is_an_error() {
        let s = Sources::single(
            "a.json",
            r##"{"x": {"$ref": "#/y"}, "y": {"$ref": "#/x"}}"##,
        );
        let docs = Docs::parse(&s).unwrap();
        let err = docs.deref("a.json", &docs.main()["x"]).unwrap_err();
        assert!(err.contains("refers to itself"), "{err}");
    }

    #[test]
    fn a_percent_before_a_multibyte_character_is_kept_as_text() {
        assert_eq!(percent_decode("/a%\u{e9}b%41"), "/a%\u{e9}bA");
        assert_eq!(percent_decode("%4"), "%4");
    }

    #[test]
    fn pointers_are_decoded() {
        let s = Sources::single(
            "a.json",
            r##"{"paths": {"/a/{b}": {"get": 1}}, "r": {"$ref": "#/paths/~1a~1%7Bb%7D/get"}}"##,
        );
        let docs = Docs::parse(&s).unwrap();
        let (v, _) = docs.deref("a.json", &docs.main()["r"]).unwrap();
        assert_eq!(v, &serde_json::json!(1));
    }
}
