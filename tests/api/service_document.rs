//! The service root answers with the JSON service document, with and without a trailing slash.

use crate::support::app::spawn_app;
use odata_feed::odata::model::Model;
use serde_json::Value;

#[tokio::test]
async fn the_service_document_lists_every_entity_set_under_both_root_urls() {
    let app = spawn_app().await;
    let expected: Vec<String> = Model::load().expect("model").entity_sets().iter().map(|s| s.name.clone()).collect();
    assert_eq!(expected.len(), 26);
    for path in ["/odata", "/odata/"] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        let versions: Vec<_> = response.headers().get_all("odata-version").iter().collect();
        assert_eq!(versions, ["4.0"], "exactly one OData-Version header on {path}");
        let content_type = response.headers()["content-type"].to_str().expect("ascii").to_string();
        assert!(content_type.starts_with("application/json;odata.metadata=minimal"), "{content_type}");
        let text = response.text().await.expect("body");
        assert!(
            text.starts_with(&format!("{{\"@odata.context\":\"{}/odata/$metadata\"", app.address)),
            "absolute context first: {text}"
        );
        let body: Value = serde_json::from_str(&text).expect("JSON");
        let entries = body["value"].as_array().expect("value array");
        let names: Vec<&str> = entries.iter().map(|e| e["name"].as_str().expect("name")).collect();
        assert_eq!(names, expected.iter().map(String::as_str).collect::<Vec<_>>());
        assert!(entries.iter().all(|e| e["kind"] == "EntitySet" && e["url"] == e["name"]));
    }
}

#[tokio::test]
async fn an_unknown_path_is_an_odata_json_error() {
    let app = spawn_app().await;
    let response = app.get("/odata/NoSuchSet").await;
    assert_eq!(response.status(), 404);
    assert_eq!(response.headers()["odata-version"], "4.0");
    let body: Value = response.json().await.expect("JSON error");
    assert_eq!(body["error"]["code"], "BIND101");
    assert!(body["error"]["message"].as_str().expect("message").contains("NoSuchSet"));
    let response = app.get("/elsewhere").await;
    assert_eq!(response.status(), 404);
    let body: Value = response.json().await.expect("JSON error");
    assert_eq!(body["error"]["code"], "NotFound");
}

#[tokio::test]
async fn the_service_root_and_metadata_answer_head_and_refuse_writes_with_405() {
    let app = spawn_app().await;
    for path in ["/odata", "/odata/", "/odata/$metadata"] {
        let url = format!("{}{path}", app.address);
        let head = app.client.head(&url).send().await.expect("HEAD is answered");
        assert_eq!(head.status(), 200, "HEAD {path}");
        let post = app.client.post(&url).send().await.expect("POST is answered");
        assert_eq!(post.status(), 405, "POST {path}");
        assert_eq!(post.headers()["allow"], "GET, HEAD");
        let body: Value = post.json().await.expect("JSON error");
        assert_eq!(body["error"]["code"], "MethodNotAllowed");
    }
}
