//! Embeds the feed model (`schema/*.toml`) into the binary, so the one model travels with it.

use std::{env, fs, path::Path};

fn main() {
    let schema_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("schema");
    println!("cargo:rerun-if-changed={}", schema_dir.display());
    let mut files: Vec<_> = fs::read_dir(&schema_dir)
        .expect("schema/ exists")
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    files.sort();
    let mut out = String::from(
        "/// The model files under schema/, as (file name, contents).\npub static SCHEMA_FILES: &[(&str, &str)] = &[\n",
    );
    for path in &files {
        println!("cargo:rerun-if-changed={}", path.display());
        let name = path.file_name().and_then(|n| n.to_str()).expect("utf-8 file name");
        out.push_str(&format!("    ({name:?}, include_str!({:?})),\n", path.display().to_string()));
    }
    out.push_str("];\n");
    let dest = Path::new(&env::var("OUT_DIR").expect("OUT_DIR")).join("schema_files.rs");
    fs::write(dest, out).expect("write schema_files.rs");
}
