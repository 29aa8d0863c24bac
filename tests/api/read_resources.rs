//! Reading resources of the feed over HTTP: an entity set, one entity by key (single and
//! composite), `/$count`, a property and its raw `/$value`, and what a read-only feed answers
//! to other methods. Every answer is compared with the same question asked in SQL over the
//! demo data.

use crate::support::demo::{DemoApp, declared_properties, enc, header, odata_error, spawn_demo_app};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::BTreeSet;

const CALLS: &str = "FROM conversations WHERE tenant_id = 'contoso' AND media = 'Voice'";

/// One call by SQL: its id, and whether it has a customer last name.
async fn a_call(demo: &DemoApp, with_last_name: bool) -> String {
    let condition = if with_last_name { "IS NOT NULL" } else { "IS NULL" };
    let ids =
        demo.sql_strings(&format!("SELECT id {CALLS} AND customer_last_name {condition} ORDER BY id LIMIT 1")).await;
    ids.into_iter().next().expect("the demo data has such a call")
}

#[tokio::test]
async fn every_call_carries_every_declared_property_with_null_where_the_database_has_none() {
    let demo = spawn_demo_app().await;
    let declared = declared_properties("Calls");
    let rows = demo
        .sql(&format!(
            "SELECT id, customer_last_name, customer_ring_seconds, next_conversation_id, is_consult, \
             duration_seconds, channel_phone_number {CALLS} ORDER BY id"
        ))
        .await;
    let nulls = rows.iter().filter(|r| r.get::<_, Option<String>>(1).is_none()).count();
    assert!(nulls > 0 && nulls < rows.len(), "the demo data has calls with and without a last name");

    let body = demo.json("Calls").await;
    assert!(body.get("@odata.nextLink").is_none(), "all {} calls fit in one default page", rows.len());
    let entities = body["value"].as_array().expect("a value array");
    assert_eq!(entities.len(), rows.len(), "one entity per call of the tenant");
    for (entity, row) in entities.iter().zip(&rows) {
        let object = entity.as_object().expect("an entity is an object");
        let keys: BTreeSet<String> = object.keys().cloned().collect();
        assert_eq!(keys, declared, "the properties of {entity}");
        assert_eq!(entity["id"], json!(row.get::<_, String>(0)));
        assert_eq!(entity["customerLastName"], json!(row.get::<_, Option<String>>(1)), "in {entity}");
        assert_eq!(entity["customerRingDuration"], json!(row.get::<_, Option<i32>>(2)), "in {entity}");
        assert_eq!(entity["nextConversationID"], json!(row.get::<_, Option<String>>(3)), "in {entity}");
        assert_eq!(entity["isConsult"], json!(row.get::<_, Option<bool>>(4)), "in {entity}");
        assert_eq!(entity["durationInSeconds"], json!(row.get::<_, Option<i32>>(5)), "in {entity}");
        assert_eq!(entity["channelPhoneNumber"], json!(row.get::<_, Option<String>>(6)), "in {entity}");
    }
}

#[tokio::test]
async fn a_filter_that_matches_nothing_answers_an_empty_value_array() {
    let demo = spawn_demo_app().await;
    let matching = demo.sql_count(&format!("SELECT count(*) {CALLS} AND duration_seconds < 0")).await;
    assert_eq!(matching, 0);

    let response = demo.get(&format!("Calls?$filter={}", enc("durationInSeconds lt 0"))).await;
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.expect("the whole body arrives");
    let body: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    assert_eq!(body["value"], json!([]), "{text}");
    assert!(body.get("@odata.nextLink").is_none());
}

#[tokio::test]
async fn a_call_is_read_by_its_key() {
    let demo = spawn_demo_app().await;
    let id = a_call(&demo, true).await;
    let row = &demo
        .sql(&format!("SELECT customer_last_name, duration_seconds, is_outbound {CALLS} AND id = '{id}'"))
        .await[0];

    let entity = demo.json(&format!("Calls('{id}')")).await;
    assert_eq!(entity["@odata.context"], json!(format!("{}/$metadata#Calls/$entity", demo.root())));
    assert!(entity.get("value").is_none(), "one entity is not wrapped in a collection: {entity}");
    assert_eq!(entity["id"], json!(id));
    assert_eq!(entity["customerLastName"], json!(row.get::<_, Option<String>>(0)));
    assert_eq!(entity["durationInSeconds"], json!(row.get::<_, Option<i32>>(1)));
    assert_eq!(entity["isOutbound"], json!(row.get::<_, bool>(2)));
}

#[tokio::test]
async fn a_queue_segment_is_read_by_its_composite_key_in_any_order_of_the_key_properties() {
    let demo = spawn_demo_app().await;
    let row = &demo
        .sql(
            "SELECT conversation_id, queue_id, \
             to_char(queued_at_utc AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), duration_seconds, \
             dequeued_reason FROM queue_segments WHERE tenant_id = 'contoso' ORDER BY conversation_id, queue_id, \
             queued_at_utc OFFSET 17 LIMIT 1",
        )
        .await[0];
    let (conversation, queue, queued): (String, String, String) = (row.get(0), row.get(1), row.get(2));

    for path in [
        format!("QueueSegments(conversationId='{conversation}',queueId='{queue}',queuedAtUTC={queued})"),
        format!("QueueSegments(queuedAtUTC={queued},queueId='{queue}',conversationId='{conversation}')"),
    ] {
        let entity = demo.json(&path).await;
        assert_eq!(entity["conversationId"], json!(conversation), "{path}");
        assert_eq!(entity["queueId"], json!(queue), "{path}");
        assert_eq!(entity["durationInSeconds"], json!(row.get::<_, Option<i32>>(3)), "{path}");
        assert_eq!(entity["dequeuedReason"], json!(row.get::<_, Option<String>>(4)), "{path}");
    }
    // Change any one key value and there is no such segment.
    for path in [
        format!("QueueSegments(conversationId='{conversation}',queueId='no-such-queue',queuedAtUTC={queued})"),
        format!("QueueSegments(conversationId='{conversation}',queueId='{queue}',queuedAtUTC=2001-01-01T00:00:00Z)"),
    ] {
        odata_error(demo.get(&path).await, StatusCode::NOT_FOUND).await;
    }
}

#[tokio::test]
async fn an_unknown_key_is_404_with_an_odata_error() {
    let demo = spawn_demo_app().await;
    odata_error(demo.get("Calls('no-such-call')").await, StatusCode::NOT_FOUND).await;
    odata_error(demo.get("Calls('no-such-call')/durationInSeconds").await, StatusCode::NOT_FOUND).await;
    odata_error(demo.get("Calls('no-such-call')/durationInSeconds/$value").await, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn the_count_segment_is_plain_text_equal_to_the_sql_count() {
    let demo = spawn_demo_app().await;
    for (filter, condition) in [(None, "TRUE"), (Some("isOutbound eq true"), "is_outbound")] {
        let expected = demo.sql_count(&format!("SELECT count(*) {CALLS} AND {condition}")).await;
        let path = match filter {
            Some(f) => format!("Calls/$count?$filter={}", enc(f)),
            None => "Calls/$count".to_owned(),
        };
        let response = demo.get(&path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let content_type = header(response.headers(), "content-type").unwrap_or_default();
        assert!(content_type.starts_with("text/plain"), "{path}: {content_type}");
        assert_eq!(response.text().await.expect("a body"), expected.to_string(), "{path}");
    }
}

#[tokio::test]
async fn a_property_of_a_call_is_its_value_with_a_context() {
    let demo = spawn_demo_app().await;
    let id = a_call(&demo, true).await;
    let duration: i32 = demo.sql(&format!("SELECT duration_seconds {CALLS} AND id = '{id}'")).await[0].get(0);
    let last_name: String = demo.sql(&format!("SELECT customer_last_name {CALLS} AND id = '{id}'")).await[0].get(0);

    let body = demo.json(&format!("Calls('{id}')/durationInSeconds")).await;
    assert_eq!(
        body,
        json!({
            "@odata.context": format!("{}/$metadata#Calls('{id}')/durationInSeconds", demo.root()),
            "value": duration,
        })
    );
    let body = demo.json(&format!("Calls('{id}')/customerLastName")).await;
    assert_eq!(body["value"], json!(last_name));
}

#[tokio::test]
async fn the_raw_value_of_a_property_is_plain_text() {
    let demo = spawn_demo_app().await;
    let id = a_call(&demo, true).await;
    let row = &demo.sql(&format!("SELECT duration_seconds, customer_phone_number {CALLS} AND id = '{id}'")).await[0];
    let (duration, phone): (i32, String) = (row.get(0), row.get(1));

    for (property, expected) in [("durationInSeconds", duration.to_string()), ("customerPhoneNumber", phone)] {
        let response = demo.get(&format!("Calls('{id}')/{property}/$value")).await;
        assert_eq!(response.status(), StatusCode::OK, "{property}");
        let content_type = header(response.headers(), "content-type").unwrap_or_default();
        assert!(content_type.starts_with("text/plain"), "{property}: {content_type}");
        assert_eq!(response.text().await.expect("a body"), expected, "{property}/$value");
    }
}

#[tokio::test]
async fn a_null_property_is_204_no_content() {
    let demo = spawn_demo_app().await;
    let id = a_call(&demo, false).await;
    for path in [format!("Calls('{id}')/customerLastName"), format!("Calls('{id}')/customerLastName/$value")] {
        let response = demo.get(&path).await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT, "{path}");
        assert!(response.text().await.expect("a body").is_empty(), "{path}: 204 has no body");
    }
}

#[tokio::test]
async fn writing_methods_are_405_and_allow_get_and_head() {
    let demo = spawn_demo_app().await;
    let id = a_call(&demo, true).await;
    for path in ["Calls".to_owned(), format!("Calls('{id}')"), format!("Calls('{id}')/durationInSeconds")] {
        for method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
            let response =
                demo.request(method.clone(), &demo.url(&path), &[("Content-Type", "application/json")]).await;
            let allow = header(response.headers(), "allow");
            odata_error(response, StatusCode::METHOD_NOT_ALLOWED).await;
            assert_eq!(allow.as_deref(), Some("GET, HEAD"), "{method} {path}");
        }
    }
    // Nothing was written.
    let calls = demo.sql_count(&format!("SELECT count(*) {CALLS}")).await;
    assert_eq!(demo.get("Calls/$count").await.text().await.expect("a body"), calls.to_string());
}

#[tokio::test]
async fn head_answers_like_get_without_a_body() {
    let demo = spawn_demo_app().await;
    let id = a_call(&demo, true).await;
    for (path, media) in [
        ("Calls?$top=3".to_owned(), "application/json"),
        (format!("Calls('{id}')"), "application/json"),
        ("Calls/$count".to_owned(), "text/plain"),
    ] {
        let response = demo.request(Method::HEAD, &demo.url(&path), &[]).await;
        assert_eq!(response.status(), StatusCode::OK, "HEAD {path}");
        assert_eq!(header(response.headers(), "odata-version").as_deref(), Some("4.0"), "HEAD {path}");
        let content_type = header(response.headers(), "content-type").unwrap_or_default();
        assert!(content_type.starts_with(media), "HEAD {path}: {content_type}");
        assert!(response.bytes().await.expect("a body").is_empty(), "HEAD {path} has no body");
    }
    let response = demo.request(Method::HEAD, &demo.url("Calls('no-such-call')"), &[]).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}
