//! What a client gets when a read cannot be answered: an OData JSON error with the right
//! status (400 for a request it can fix, 404 for what does not exist, 414 for a URL that is too
//! long, 501 for an OData feature the feed does not offer, 503 for a query that ran too long),
//! never a 500.

use crate::support::app::{skiptoken_key, spawn_with};
use crate::support::database::{fresh_database, query_rows};
use crate::support::demo::{TENANT, TENANT_ZONE, difference, enc, odata_error, ok_json, spawn_demo_app, strings};
use odata_feed::{db, http::ReadSettings};
use reqwest::StatusCode;
use serde_json::Value;
use std::time::Duration;

const CALLS: &str = "FROM conversations WHERE tenant_id = 'contoso' AND media = 'Voice'";

#[tokio::test]
async fn a_syntax_error_is_400_and_its_message_gives_the_position() {
    let demo = spawn_demo_app().await;
    for (filter, position) in [
        ("durationInSeconds gt (5", "position 23"),
        ("customerLastName eq 'abc", "position 20"),
        ("durationInSeconds gt 5 and", "position 26"),
        ("durationInSeconds § 5", "position 18"),
    ] {
        let message =
            odata_error(demo.get(&format!("Calls?$filter={}", enc(filter))).await, StatusCode::BAD_REQUEST).await;
        assert!(message.contains(position), "`{filter}`: {message}");
        assert!(message.contains("$filter"), "`{filter}`: the message names the option: {message}");
    }
    let message = odata_error(demo.get("Calls?$orderby=id%20up").await, StatusCode::BAD_REQUEST).await;
    assert!(message.contains("position 3"), "{message}");
    for query in ["$top=-1", "$top=ten", "$skip=1.5", "$count=yes", "$top=1&$top=2", "$filter=", "$nosuchoption=1"] {
        odata_error(demo.get(&format!("Calls?{query}")).await, StatusCode::BAD_REQUEST).await;
    }
}

#[tokio::test]
async fn an_unknown_entity_set_or_path_property_is_404() {
    let demo = spawn_demo_app().await;
    for path in ["NoSuchSet", "NoSuchSet('a')", "NoSuchSet/$count", "calls"] {
        odata_error(demo.get(path).await, StatusCode::NOT_FOUND).await;
    }
    let id = demo.sql_strings(&format!("SELECT id {CALLS} ORDER BY id LIMIT 1")).await.remove(0);
    odata_error(demo.get(&format!("Calls('{id}')/noSuchProperty")).await, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn an_unknown_property_in_an_option_is_400_naming_it() {
    let demo = spawn_demo_app().await;
    for query in [
        format!("$filter={}", enc("noSuchProperty eq 1")),
        format!("$filter={}", enc("durationinseconds gt 1")),
        "$select=id,noSuchProperty".to_owned(),
        "$orderby=noSuchProperty".to_owned(),
    ] {
        let message = odata_error(demo.get(&format!("Calls?{query}")).await, StatusCode::BAD_REQUEST).await;
        let name = if query.contains("durationinseconds") { "durationinseconds" } else { "noSuchProperty" };
        assert!(message.contains(name), "{query}: {message}");
    }
    // Types must fit too.
    for filter in
        ["durationInSeconds eq 'long'", "customerLastName gt 5", "length(durationInSeconds) gt 1", "durationInSeconds"]
    {
        odata_error(demo.get(&format!("Calls?$filter={}", enc(filter))).await, StatusCode::BAD_REQUEST).await;
    }
}

#[tokio::test]
async fn unsupported_odata_features_are_501_naming_the_feature() {
    let demo = spawn_demo_app().await;
    for (query, name) in [
        (format!("$apply={}", enc("aggregate(durationInSeconds with sum as total)")), "$apply"),
        ("$search=Novak".to_owned(), "$search"),
        (format!("$expand={}", enc("QueueSegments($search=x)")), "$search"),
        (format!("$filter={}", enc("$root/Calls/$count gt 1")), "$root"),
        (format!("$filter={}", enc(&format!("{}id eq 'x'", "NextConversation/".repeat(9)))), "more than 8 steps"),
    ] {
        let message = odata_error(demo.get(&format!("Calls?{query}")).await, StatusCode::NOT_IMPLEMENTED).await;
        assert!(message.contains(name), "{query}: {message}");
    }
}

#[tokio::test]
async fn a_ten_kilobyte_url_is_accepted() {
    let demo = spawn_demo_app().await;
    let ids = demo.sql_strings(&format!("SELECT id {CALLS} ORDER BY id DESC LIMIT 270")).await;
    let list = ids.iter().map(|id| format!("'{id}'")).collect::<Vec<_>>().join(",");
    let path = format!("Calls?$select=id&$filter=id%20in%20({list})");
    let url = demo.url(&path);
    assert!(url.len() >= 10 * 1024, "the URL is {} bytes", url.len());
    let body = ok_json(demo.get(&path).await).await;
    let mut expected = ids;
    expected.sort();
    let actual = strings(body["value"].as_array().expect("a value array"), "id");
    assert_eq!(actual, expected, "{}", difference(&expected, &actual));
}

#[tokio::test]
async fn a_url_over_the_limit_is_414_with_a_json_error() {
    let demo = spawn_demo_app().await;
    let list = vec!["1"; 10_000].join(",");
    let path = format!("Calls?$filter=durationInSeconds%20in%20({list})");
    assert!(demo.url(&path).len() > odata_feed::http::MAX_URL_LENGTH);
    let message = odata_error(demo.get(&path).await, StatusCode::URI_TOO_LONG).await;
    assert!(message.contains(&odata_feed::http::MAX_URL_LENGTH.to_string()), "the message gives the limit: {message}");
}

#[tokio::test]
async fn a_url_far_over_the_limit_still_gets_a_json_error() {
    let demo = spawn_demo_app().await;
    // About 60 KB, near the longest URL the HTTP client can send at all.
    let list = vec!["1"; 30_000].join(",");
    let url = demo.url(&format!("Calls?$filter=durationInSeconds%20in%20({list})"));
    let response = match demo.app.client.get(&url).send().await {
        Ok(response) => response,
        Err(error) => panic!("a {} byte URL got no answer: {:?}", url.len(), error.without_url()),
    };
    let status = response.status();
    assert!(matches!(status, StatusCode::URI_TOO_LONG | StatusCode::BAD_REQUEST), "a {} byte URL: {status}", url.len());
    odata_error(response, status).await;
}

#[tokio::test]
async fn deep_nesting_and_huge_expressions_are_400() {
    let demo = spawn_demo_app().await;
    let deep = format!("{}durationInSeconds gt 5{}", "(".repeat(300), ")".repeat(300));
    let nots = format!("{}true", "not ".repeat(300));
    let sums = format!("durationInSeconds{} gt 5", " add 1".repeat(1_000));
    let huge = format!("durationInSeconds in ({})", vec!["1"; 2_100].join(","));
    for filter in [deep, nots, sums, huge] {
        let response = demo.get(&format!("Calls?$filter={}", enc(&filter))).await;
        odata_error(response, StatusCode::BAD_REQUEST).await;
    }
}

#[tokio::test]
async fn top_or_skip_over_the_limits_is_400() {
    let demo = spawn_demo_app().await;
    let limits = odata_feed::odata::plan::Limits::default();
    for query in [
        format!("$top={}", limits.max_top + 1),
        format!("$skip={}", limits.max_skip + 1),
        "$top=99999999999999999999999".to_owned(),
    ] {
        let response = demo.get(&format!("Calls?{query}")).await;
        odata_error(response, StatusCode::BAD_REQUEST).await;
    }
    // The limit itself is accepted.
    let response = demo.get(&format!("Calls?$top={}&$select=id", limits.max_top)).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn division_by_zero_in_a_filter_is_400() {
    let demo = spawn_demo_app().await;
    let duration: i32 = demo.sql(&format!("SELECT duration_seconds {CALLS} ORDER BY id DESC LIMIT 1")).await[0].get(0);
    for filter in [
        "durationInSeconds div 0 eq 1".to_owned(),
        "durationInSeconds mod 0 eq 1".to_owned(),
        "durationInSeconds divby 0 gt 1".to_owned(),
        // Zero for one call only, late in key order.
        format!("100 div (durationInSeconds sub {duration}) eq 1"),
    ] {
        let response = demo.get(&format!("Calls?$select=id&$filter={}", enc(&filter))).await;
        let body = odata_error(response, StatusCode::BAD_REQUEST).await;
        assert!(body.contains("zero"), "`{filter}`: {body}");
    }
}

#[tokio::test]
async fn a_query_that_outlasts_the_statement_timeout_is_503_query_timeout() {
    let database = fresh_database().await;
    query_rows(
        &database.url,
        &format!(
            "INSERT INTO tenants (id, name, time_zone, retention_days) VALUES ('{TENANT}', 'Contoso', '{TENANT_ZONE}', 365)"
        ),
    )
    .await;
    let pool = db::pool::connect_reader(&database.url, 2, Duration::from_millis(300)).await.expect("a pool");
    let app = spawn_with(pool, ReadSettings::new(skiptoken_key(&database.url).await));

    // Another session holds the table, so every read of it waits past the timeout.
    let (client, connection) = tokio_postgres::connect(&database.url, tokio_postgres::NoTls).await.expect("connects");
    let driver = tokio::spawn(connection);
    client.batch_execute("BEGIN; LOCK TABLE conversations IN ACCESS EXCLUSIVE MODE").await.expect("the lock");

    for path in ["/odata/Calls", "/odata/Calls/$count", "/odata/Calls('a')", "/odata/Calls?$count=true"] {
        let response = app.get(path).await;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{path}: {text}");
        let body: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: not JSON ({e}): {text}"));
        assert_eq!(body["error"]["code"], "QueryTimeout", "{path}: {text}");
    }

    client.batch_execute("ROLLBACK").await.expect("the lock is released");
    drop(client);
    let _ = driver.await;
    // Once the table is free again the same request is answered.
    let response = app.get("/odata/Calls/$count").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.expect("a body"), "0");
}
