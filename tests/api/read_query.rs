//! `$select`, `$orderby`, `$top`, `$skip`, `$count` and `$format` over HTTP, each compared
//! with the same query written by hand in SQL over the demo data.

use crate::support::demo::{
    DemoApp, declared_properties, difference, enc, header, odata_error, spawn_demo_app, strings,
};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::BTreeSet;

const CALLS: &str = "FROM conversations WHERE tenant_id = 'contoso' AND media = 'Voice'";

fn entities(body: &Value) -> &Vec<Value> {
    body["value"].as_array().unwrap_or_else(|| panic!("no value array in {body}"))
}

/// The ids SQL returns for `tail` (conditions, ORDER BY, LIMIT ...) over the calls.
async fn sql_ids(demo: &DemoApp, tail: &str) -> Vec<String> {
    demo.sql_strings(&format!("SELECT id {CALLS} {tail}")).await
}

#[tokio::test]
async fn select_returns_only_the_chosen_properties_and_the_context_lists_them() {
    let demo = spawn_demo_app().await;
    let rows = demo.sql(&format!("SELECT id, duration_seconds, customer_last_name {CALLS} ORDER BY id")).await;

    let body = demo.json("Calls?$select=durationInSeconds,id,customerLastName").await;
    assert_eq!(
        body["@odata.context"],
        json!(format!("{}/$metadata#Calls(durationInSeconds,id,customerLastName)", demo.root()))
    );
    let entities = entities(&body);
    assert_eq!(entities.len(), rows.len());
    let expected_keys: BTreeSet<&str> = ["id", "durationInSeconds", "customerLastName"].into();
    for (entity, row) in entities.iter().zip(&rows) {
        let keys: BTreeSet<&str> = entity.as_object().expect("an object").keys().map(String::as_str).collect();
        assert_eq!(keys, expected_keys, "{entity}");
        assert_eq!(entity["id"], json!(row.get::<_, String>(0)));
        assert_eq!(entity["durationInSeconds"], json!(row.get::<_, Option<i32>>(1)));
        assert_eq!(entity["customerLastName"], json!(row.get::<_, Option<String>>(2)), "a selected null is sent");
    }
}

#[tokio::test]
async fn select_star_returns_every_property() {
    let demo = spawn_demo_app().await;
    let declared = declared_properties("Calls");

    let body = demo.json("Calls?$select=*&$top=5").await;
    let context = body["@odata.context"].as_str().expect("a context");
    let plain = format!("{}/$metadata#Calls", demo.root());
    assert!(context == plain || context == format!("{plain}(*)"), "{context}");
    assert_eq!(entities(&body).len(), 5);
    for entity in entities(&body) {
        let keys: BTreeSet<String> = entity.as_object().expect("an object").keys().cloned().collect();
        assert_eq!(keys, declared);
    }
}

/// Each `$orderby` gives the ids its SQL `ORDER BY` gives.
async fn orders_match_sql(demo: &DemoApp, cases: &[(&str, &str)]) {
    for (orderby, sql) in cases {
        let expected = sql_ids(demo, sql).await;
        let body = demo.json(&format!("Calls?$orderby={}&$select=id", enc(orderby))).await;
        let actual = strings(entities(&body), "id");
        assert_eq!(actual, expected, "$orderby={orderby}: {}", difference(&expected, &actual));
    }
}

#[tokio::test]
async fn orderby_several_keys_ascending_and_descending_matches_sql() {
    let demo = spawn_demo_app().await;
    let cases = [
        (
            "durationInSeconds desc,customerLastName,id",
            "ORDER BY duration_seconds DESC, customer_last_name ASC NULLS FIRST, id",
        ),
        ("isOutbound,startedAtUTC desc", "ORDER BY is_outbound, started_at_utc DESC, id"),
        (
            "customerLastName desc,customerFirstName asc,id desc",
            "ORDER BY customer_last_name DESC NULLS LAST, customer_first_name ASC NULLS FIRST, id DESC",
        ),
        ("startedAt", "ORDER BY started_at_utc, id"),
    ];
    orders_match_sql(&demo, &cases).await;
}

#[tokio::test]
async fn orderby_an_expression_matches_sql() {
    let demo = spawn_demo_app().await;
    let cases = [
        ("length(customerLastName) desc,id", "ORDER BY char_length(customer_last_name) DESC NULLS LAST, id"),
        ("durationInSeconds sub holdDurationInSeconds,id", "ORDER BY duration_seconds - hold_seconds, id"),
        (
            "hour(startedAt) desc,id",
            "ORDER BY extract(hour from started_at_utc AT TIME ZONE 'Europe/Budapest') DESC, id",
        ),
        ("tolower(customerFirstName),id", "ORDER BY lower(customer_first_name) NULLS FIRST, id"),
    ];
    orders_match_sql(&demo, &cases).await;
}

#[tokio::test]
async fn nulls_come_first_in_ascending_order_and_last_in_descending_order() {
    let demo = spawn_demo_app().await;
    let nulls = demo.sql_count(&format!("SELECT count(*) {CALLS} AND customer_ring_seconds IS NULL")).await as usize;
    let total = demo.sql_count(&format!("SELECT count(*) {CALLS}")).await as usize;
    assert!(nulls > 0 && nulls < total);
    for (direction, sql) in [("asc", "NULLS FIRST"), ("desc", "DESC NULLS LAST")] {
        let expected = sql_ids(&demo, &format!("ORDER BY customer_ring_seconds {sql}, id")).await;
        let body = demo
            .json(&format!("Calls?$orderby=customerRingDuration%20{direction},id&$select=id,customerRingDuration"))
            .await;
        let values = entities(&body);
        let null_positions: Vec<usize> =
            values.iter().enumerate().filter(|(_, e)| e["customerRingDuration"].is_null()).map(|(i, _)| i).collect();
        let expected_positions: Vec<usize> = match direction {
            "asc" => (0..nulls).collect(),
            _ => (total - nulls..total).collect(),
        };
        assert_eq!(null_positions, expected_positions, "{direction}: where the nulls are");
        let actual = strings(values, "id");
        assert_eq!(actual, expected, "{direction}: {}", difference(&expected, &actual));
    }
}

#[tokio::test]
async fn top_and_skip_match_sql_limit_and_offset() {
    let demo = spawn_demo_app().await;
    let cases = [
        ("$top=20", "ORDER BY id LIMIT 20"),
        ("$skip=1700", "ORDER BY id OFFSET 1700"),
        (
            "$orderby=durationInSeconds%20desc,id&$skip=10&$top=20",
            "ORDER BY duration_seconds DESC, id LIMIT 20 OFFSET 10",
        ),
        ("$filter=isOutbound&$top=5&$skip=5", "AND is_outbound ORDER BY id LIMIT 5 OFFSET 5"),
        ("$skip=100000", "ORDER BY id OFFSET 100000"),
    ];
    for (query, sql) in cases {
        let expected = sql_ids(&demo, sql).await;
        let body = demo.json(&format!("Calls?{query}&$select=id")).await;
        let actual = strings(entities(&body), "id");
        assert_eq!(actual, expected, "{query}: {}", difference(&expected, &actual));
        assert!(body.get("@odata.nextLink").is_none(), "{query}: everything fits in one page");
    }
}

#[tokio::test]
async fn top_zero_with_count_answers_only_the_count() {
    let demo = spawn_demo_app().await;
    let count = demo.sql_count(&format!("SELECT count(*) {CALLS} AND duration_seconds > 300")).await;
    let response = demo.get(&format!("Calls?$filter={}&$top=0&$count=true", enc("durationInSeconds gt 300"))).await;
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.expect("the whole body arrives");
    let body: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    assert_eq!(body["@odata.count"], json!(count), "{text}");
    assert_eq!(body["value"], json!([]), "{text}");
    assert!(body.get("@odata.nextLink").is_none(), "{text}");
}

#[tokio::test]
async fn count_true_gives_the_sql_count_of_the_filter_before_the_value() {
    let demo = spawn_demo_app().await;
    for (filter, sql) in [(None, "TRUE"), (Some("durationInSeconds gt 300"), "duration_seconds > 300")] {
        let count = demo.sql_count(&format!("SELECT count(*) {CALLS} AND {sql}")).await;
        let query = match filter {
            Some(f) => format!("Calls?$count=true&$top=5&$skip=2&$filter={}", enc(f)),
            None => "Calls?$count=true&$top=5&$skip=2".to_owned(),
        };
        let body = demo.json(&query).await;
        assert_eq!(body["@odata.count"], json!(count), "{query}: $top and $skip do not change the count");
        assert_eq!(entities(&body).len(), 5, "{query}");
        let keys: Vec<&String> = body.as_object().expect("an object").keys().collect();
        assert_eq!(keys, ["@odata.context", "@odata.count", "value"], "{query}");
    }
    let body = demo.json("Calls?$count=false&$top=1").await;
    assert!(body.get("@odata.count").is_none(), "$count=false sends no count");
}

#[tokio::test]
async fn format_json_answers_json() {
    let demo = spawn_demo_app().await;
    for format in ["json", "application/json", "application/json;odata.metadata=minimal"] {
        let response = demo.get(&format!("Calls?$top=2&$format={}", enc(format))).await;
        assert_eq!(response.status(), StatusCode::OK, "$format={format}");
        let content_type = header(response.headers(), "content-type").unwrap_or_default();
        assert!(content_type.starts_with("application/json"), "$format={format}: {content_type}");
        let body: Value = response.json().await.expect("JSON");
        assert_eq!(body["@odata.context"], json!(format!("{}/$metadata#Calls", demo.root())));
        assert_eq!(entities(&body).len(), 2);
    }
    // $format wins over an Accept header that excludes JSON.
    let response = demo.get_with("Calls?$top=1&$format=json", &[("Accept", "application/atom+xml")]).await;
    assert_eq!(response.status(), StatusCode::OK);
    // A format this service cannot produce is refused, never answered in another format.
    odata_error(demo.get("Calls?$top=1&$format=atom").await, StatusCode::NOT_ACCEPTABLE).await;
}
