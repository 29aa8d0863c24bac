//! `$metadata` over HTTP: XML for Power Query whatever it lists in Accept, JSON only when asked
//! for explicitly, and the protocol version negotiated to 4.0.

use crate::support::app::spawn_app;
use serde_json::Value;

/// The Accept header Power Query sends (observed from Excel).
const POWER_QUERY_ACCEPT: &str = "application/json;odata.metadata=minimal;q=1.0,application/json;odata=minimalmetadata;q=0.9,application/atomsvc+xml;q=0.8,application/atom+xml;q=0.8,application/xml;q=0.7,text/plain;q=0.7";

#[tokio::test]
async fn metadata_is_xml_for_power_query_even_though_it_prefers_json() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(format!("{}/odata/$metadata", app.address))
        .header("Accept", POWER_QUERY_ACCEPT)
        .header("OData-MaxVersion", "4.0")
        .header("MaxDataServiceVersion", "3.0")
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/xml");
    let versions: Vec<_> = response.headers().get_all("odata-version").iter().collect();
    assert_eq!(versions, ["4.0"]);
    let body = response.text().await.expect("body");
    assert!(body.starts_with("<?xml"), "{}", &body[..80.min(body.len())]);
    assert!(body.contains(r#"<EntitySet Name="Calls" EntityType="ContactCenter.Call">"#));
}

#[tokio::test]
async fn metadata_is_json_csdl_when_asked_by_format_or_by_accept_alone() {
    let app = spawn_app().await;
    for (path, accept) in
        [("/odata/$metadata?$format=json", "application/xml"), ("/odata/$metadata", "application/json")]
    {
        let response =
            app.client.get(format!("{}{path}", app.address)).header("Accept", accept).send().await.expect("answered");
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(response.headers()["content-type"], "application/json", "{path}");
        let body: Value = response.json().await.expect("JSON");
        assert_eq!(body["$Version"], "4.0");
        assert_eq!(body["ContactCenter"]["Feed"]["$Kind"], "EntityContainer");
    }
}

#[tokio::test]
async fn a_client_limited_to_odata_3_gets_a_clear_error() {
    let app = spawn_app().await;
    for path in ["/odata/", "/odata/$metadata"] {
        let response = app
            .client
            .get(format!("{}{path}", app.address))
            .header("OData-MaxVersion", "3.0")
            .send()
            .await
            .expect("answered");
        assert_eq!(response.status(), 406, "{path}");
        assert_eq!(response.headers().get_all("odata-version").iter().count(), 1);
        let body: Value = response.json().await.expect("OData error");
        assert_eq!(body["error"]["code"], "UnsupportedVersion");
        assert!(body["error"]["message"].as_str().expect("message").contains("4.0"));
    }
}

#[tokio::test]
async fn an_unsupported_metadata_format_is_refused() {
    let app = spawn_app().await;
    let response = app.get("/odata/$metadata?$format=atom").await;
    assert_eq!(response.status(), 406);
    let body: Value = response.json().await.expect("OData error");
    assert_eq!(body["error"]["code"], "UnsupportedFormat");
}

#[test]
fn the_committed_edmx_matches_what_the_model_generates() {
    let model = odata_feed::odata::model::Model::load().expect("model");
    let csdl = odata_feed::odata::csdl::render(&model, &odata_feed::odata::capabilities::IMPLEMENTED);
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("edmx");
    for (file, generated) in
        [(odata_feed::odata::csdl::XML_FILE, &csdl.xml), (odata_feed::odata::csdl::JSON_FILE, &csdl.json)]
    {
        let committed = std::fs::read_to_string(dir.join(file)).unwrap_or_default();
        assert!(
            &committed == generated,
            "edmx/{file} is out of date with schema/: run `odata-feed metadata --write edmx/` and commit it"
        );
    }
}

#[tokio::test]
async fn the_served_metadata_is_the_committed_edmx() {
    let app = spawn_app().await;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("edmx");
    let xml = app.get("/odata/$metadata").await.text().await.expect("XML");
    let json = app.get("/odata/$metadata?$format=json").await.text().await.expect("JSON");
    assert_eq!(xml, std::fs::read_to_string(dir.join("metadata.xml")).expect("edmx/metadata.xml"));
    assert_eq!(json, std::fs::read_to_string(dir.join("metadata.json")).expect("edmx/metadata.json"));
}

#[tokio::test]
async fn metadata_is_sent_gzip_compressed_when_the_client_accepts_it() {
    use std::io::Read;
    let app = spawn_app().await;
    let response = app
        .client
        .get(format!("{}/odata/$metadata", app.address))
        .header("Accept-Encoding", "gzip, deflate")
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-encoding"], "gzip");
    assert_eq!(response.headers()["vary"], "Accept-Encoding");
    let compressed = response.bytes().await.expect("body");
    let mut xml = String::new();
    flate2::read::GzDecoder::new(&compressed[..]).read_to_string(&mut xml).expect("valid gzip");
    let committed = std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("edmx/metadata.xml"))
        .expect("edmx");
    assert_eq!(xml, committed);
    assert!(compressed.len() * 5 < committed.len(), "compressed to a fraction of {} bytes", committed.len());
}

#[tokio::test]
async fn the_format_option_is_read_by_the_shared_query_parser() {
    let app = spawn_app().await;
    let response = app.get("/odata/$metadata?%24FORMAT=json").await;
    assert_eq!(response.status(), 200, "option names are case-insensitive and may be percent-encoded");
    assert_eq!(response.headers()["content-type"], "application/json");
    let response = app.get("/odata/$metadata?$format=json&format=xml").await;
    assert_eq!(response.status(), 400, "a system option given twice is a syntax error");
    assert_eq!(response.headers()["odata-version"], "4.0");
    let body: Value = response.json().await.expect("OData error");
    assert!(body["error"]["code"].as_str().expect("code").starts_with("SYNTAX"), "{body}");
}
