//! The served `$metadata` checked by independent tools: the OASIS XML schema (xmllint), the
//! OASIS `odata-csdl` converter in strict mode, SAP's EDMX parser, the CSDL JSON schema (ajv),
//! and python-odata, a real client that reflects the service from `$metadata`.
//! `scripts/conformance-tools` (run by `scripts/test`) installs them into `.conformance/`.

use crate::support::app::{TestApp, spawn_app};
use odata_feed::odata::model::Model;
use serde_json::Value;
use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn tools() -> PathBuf {
    let dir = Path::new(ROOT).join(".conformance");
    assert!(
        dir.join("node_modules").is_dir() && dir.join("venv").is_dir(),
        "the conformance tools are missing: run scripts/test (or scripts/conformance-tools) first"
    );
    dir
}

fn shared() -> PathBuf {
    let dir = Path::new(ROOT).join("../shared/conformance");
    assert!(dir.is_dir(), "../shared/conformance must sit beside the project");
    dir
}

fn assert_success(what: &str, output: &Output) {
    assert!(
        output.status.success(),
        "{what} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Fetches both representations of `$metadata` into files.
async fn served_metadata(app: &TestApp, dir: &Path) -> (PathBuf, PathBuf) {
    let xml = app.get("/odata/$metadata").await.text().await.expect("XML");
    let json = app.get("/odata/$metadata?$format=json").await.text().await.expect("JSON");
    let (xml_path, json_path) = (dir.join("metadata.xml"), dir.join("metadata.json"));
    std::fs::write(&xml_path, xml).expect("write XML");
    std::fs::write(&json_path, json).expect("write JSON");
    (xml_path, json_path)
}

#[tokio::test]
async fn served_metadata_validates_against_the_oasis_xml_schema() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (xml, _) = served_metadata(&app, dir.path()).await;
    let xsd = shared().join("csdl-schemas/schemas/edmx.xsd");
    let output =
        Command::new("xmllint").arg("--noout").arg("--schema").arg(&xsd).arg(&xml).output().expect("xmllint runs");
    assert_success("xmllint --schema edmx.xsd", &output);
}

#[tokio::test]
async fn served_metadata_passes_odata_csdl_strict_the_sap_parser_and_the_csdl_json_schema() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (xml, json) = served_metadata(&app, dir.path()).await;
    let output = Command::new("node")
        .arg(Path::new(ROOT).join("tests/conformance/check_csdl.js"))
        .arg(&xml)
        .arg(&json)
        .arg(shared().join("csdl-schemas/schemas/csdl.schema.json"))
        .env("NODE_PATH", tools().join("node_modules"))
        .output()
        .expect("node runs");
    assert_success("odata-csdl / sap-ux / ajv", &output);
}

#[tokio::test]
async fn python_odata_reflects_every_set_with_its_properties_keys_and_navigation() {
    let app = spawn_app().await;
    let python = tools().join("venv/bin/python");
    let script = Path::new(ROOT).join("tests/conformance/python_odata_reflect.py");
    let root = format!("{}/odata/", app.address);
    let token = crate::support::app::token_for(crate::support::app::DEFAULT_TENANT);
    let output = tokio::task::spawn_blocking(move || {
        Command::new(python).arg(script).arg(root).env("ODATA_FEED_TOKEN", token).output()
    })
    .await
    .expect("joined")
    .expect("python runs");
    assert_success("python-odata reflection", &output);
    let reflected: Value = serde_json::from_slice(&output.stdout).expect("the script prints JSON");
    let model = Model::load().expect("model");
    let reflected = reflected.as_object().expect("an object of sets");
    assert_eq!(reflected.len(), 26, "python-odata sees every entity set");
    for set in model.entity_sets() {
        let seen = &reflected[&set.name];
        assert_eq!(seen["type"], format!("ContactCenter.{}", set.entity_type), "{}", set.name);
        let expected: Vec<Value> = set
            .properties
            .iter()
            .map(|p| serde_json::json!([p.name, p.edm_type.name(), set.key.contains(&p.name)]))
            .collect();
        assert_eq!(seen["properties"], Value::Array(expected), "{}: properties, types and keys", set.name);
        let navigation: Vec<&str> = set.navigation.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(seen["navigation"], serde_json::json!(navigation), "{}: navigation", set.name);
    }
}
