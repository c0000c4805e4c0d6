//! Embeds the web UI (`ui/dist`, built by `make ui`) into the admin crate when it exists.
//! Without it the binary still builds; its `/` then says how to build the UI.
//! `STANDIN_UI_DIST` points at another built UI.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let ui = manifest.join("../../ui");
    let dist = std::env::var_os("STANDIN_UI_DIST")
        .map(PathBuf::from)
        .unwrap_or_else(|| ui.join("dist"));
    println!("cargo::rerun-if-env-changed=STANDIN_UI_DIST");
    // The directories' times change when a build adds or removes files; each file is
    // watched for its content.
    if ui.is_dir() {
        println!("cargo::rerun-if-changed={}", ui.display());
    }
    let mut files = Vec::new();
    if dist.join("index.html").is_file() {
        collect(&dist, &dist, &mut files);
    }
    files.sort();
    let mut out = String::from("/// The built web UI: (path under `/`, contents).\n");
    out.push_str("pub(crate) static ASSETS: &[(&str, &[u8])] = &[\n");
    for (rel, abs) in &files {
        println!("cargo::rerun-if-changed={}", abs.display());
        writeln!(
            out,
            "    ({rel:?}, include_bytes!({:?})),",
            abs.display().to_string()
        )
        .unwrap();
    }
    out.push_str("];\n");
    let dest = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("ui_assets.rs");
    std::fs::write(dest, out).unwrap();
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) {
    println!("cargo::rerun-if-changed={}", dir.display());
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(root, &path, out);
        } else if let Ok(rel) = path.strip_prefix(root) {
            let rel = rel.to_string_lossy().replace('\\', "/");
            // Source maps stay out of the binary.
            if !rel.ends_with(".map") {
                out.push((format!("/{rel}"), path.canonicalize().unwrap_or(path)));
            }
        }
    }
}
