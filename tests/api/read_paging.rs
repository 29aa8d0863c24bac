//! Server-driven paging over HTTP: following every absolute `@odata.nextLink` delivers exactly
//! the rows SQL returns for the same query, in order, with no gap and no duplicate, whatever
//! the order, the filter, the client's `$top`/`$skip` and rows inserted while paging; a
//! skiptoken that was altered or minted for another query is refused.

use crate::support::demo::{
    DemoApp, demo_database, difference, enc, fresh_demo_database, header, odata_error, ok_json, spawn_demo_app,
    spawn_demo_app_with, strings,
};
use reqwest::StatusCode;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

const CALLS: &str = "FROM conversations WHERE tenant_id = 'contoso' AND media = 'Voice'";

/// The first page of `path` with a page size of `n`.
async fn first_page(demo: &DemoApp, path: &str, n: u64) -> Value {
    ok_json(demo.get_with(path, &[("Prefer", &prefer(n))]).await).await
}

fn prefer(n: u64) -> String {
    format!("odata.maxpagesize={n}")
}

async fn sql_ids(demo: &DemoApp, tail: &str) -> Vec<String> {
    demo.sql_strings(&format!("SELECT id {CALLS} {tail}")).await
}

/// Follows every page of `path` with a page size of `n` and checks each page's size and header.
async fn paged_ids(demo: &DemoApp, path: &str, n: u64) -> (Vec<String>, Vec<Value>) {
    let preference = prefer(n);
    let pages = demo.pages(path, &[("Prefer", &preference)]).await;
    for (i, body) in pages.bodies.iter().enumerate() {
        let size = body["value"].as_array().expect("a value array").len() as u64;
        assert!(size <= n, "page {i} of {path} has {size} entities, more than {n}");
        let last = i + 1 == pages.bodies.len();
        if !last {
            assert_eq!(size, n, "page {i} of {path} is not full but another page follows");
        }
    }
    (strings(&pages.entities, "id"), pages.bodies)
}

#[tokio::test]
async fn maxpagesize_is_applied_and_announced() {
    let demo = spawn_demo_app().await;
    let response = demo.get_with("Calls?$select=id", &[("Prefer", "odata.maxpagesize=100")]).await;
    assert_eq!(header(response.headers(), "preference-applied").as_deref(), Some("odata.maxpagesize=100"));
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["value"].as_array().expect("a value array").len(), 100);
    let next = body["@odata.nextLink"].as_str().expect("a next link");
    assert!(next.starts_with(&format!("{}/Calls?", demo.root())), "absolute: {next}");
    let keys: Vec<&String> = body.as_object().expect("an object").keys().collect();
    assert_eq!(keys.last().map(|k| k.as_str()), Some("@odata.nextLink"), "the next link comes after the value");
}

#[tokio::test]
async fn following_next_links_in_key_order_delivers_every_call_once() {
    let demo = spawn_demo_app().await;
    let expected = sql_ids(&demo, "ORDER BY id").await;
    let (actual, bodies) = paged_ids(&demo, "Calls?$select=id", 250).await;
    assert_eq!(actual, expected, "{}", difference(&expected, &actual));
    assert_eq!(bodies.len(), expected.len().div_ceil(250));
}

#[tokio::test]
async fn paging_a_nullable_order_delivers_every_call_once_in_sql_order() {
    let demo = spawn_demo_app().await;
    let cases = [
        ("customerRingDuration desc", "ORDER BY customer_ring_seconds DESC NULLS LAST, id"),
        ("customerRingDuration", "ORDER BY customer_ring_seconds NULLS FIRST, id"),
        (
            "customerLastName,durationInSeconds desc",
            "ORDER BY customer_last_name NULLS FIRST, duration_seconds DESC, id",
        ),
        ("customerLastName desc,startedAt", "ORDER BY customer_last_name DESC NULLS LAST, started_at_utc, id"),
        ("length(customerLastName) desc", "ORDER BY char_length(customer_last_name) DESC NULLS LAST, id"),
    ];
    for (orderby, sql) in cases {
        let expected = sql_ids(&demo, sql).await;
        let (actual, _) = paged_ids(&demo, &format!("Calls?$orderby={}&$select=id", enc(orderby)), 200).await;
        assert_eq!(actual, expected, "$orderby={orderby}: {}", difference(&expected, &actual));
    }
}

#[tokio::test]
async fn next_links_keep_the_filter_and_the_select() {
    let demo = spawn_demo_app().await;
    let expected = sql_ids(&demo, "AND duration_seconds > 60 ORDER BY id").await;
    assert!(expected.len() > 300);
    let path = format!("Calls?$filter={}&$select=id,durationInSeconds", enc("durationInSeconds gt 60"));
    let (actual, bodies) = paged_ids(&demo, &path, 100).await;
    assert_eq!(actual, expected, "{}", difference(&expected, &actual));
    let context = format!("{}/$metadata#Calls(id,durationInSeconds)", demo.root());
    for body in &bodies {
        assert_eq!(body["@odata.context"].as_str(), Some(context.as_str()));
        for entity in body["value"].as_array().expect("a value array") {
            let keys: BTreeSet<&str> = entity.as_object().expect("an object").keys().map(String::as_str).collect();
            assert_eq!(keys, BTreeSet::from(["id", "durationInSeconds"]));
            assert!(entity["durationInSeconds"].as_i64().expect("a number") > 60);
        }
        if let Some(next) = body["@odata.nextLink"].as_str() {
            assert!(next.contains("$filter=") && next.contains("$select="), "{next}");
        }
    }
}

#[tokio::test]
async fn a_client_top_over_several_pages_delivers_exactly_top_rows() {
    let demo = spawn_demo_app().await;
    for (query, sql) in [
        ("$top=450", "ORDER BY id LIMIT 450"),
        ("$top=400", "ORDER BY id LIMIT 400"),
        ("$top=450&$orderby=durationInSeconds%20desc", "ORDER BY duration_seconds DESC, id LIMIT 450"),
    ] {
        let expected = sql_ids(&demo, sql).await;
        let (actual, bodies) = paged_ids(&demo, &format!("Calls?{query}&$select=id"), 100).await;
        assert_eq!(actual, expected, "{query}: {}", difference(&expected, &actual));
        assert_eq!(bodies.len(), expected.len().div_ceil(100), "{query}: no empty last page");
    }
}

#[tokio::test]
async fn skip_with_server_paging_delivers_the_rows_after_the_skip() {
    let demo = spawn_demo_app().await;
    for (query, sql) in [
        ("$skip=1000", "ORDER BY id OFFSET 1000"),
        ("$skip=100&$top=450", "ORDER BY id LIMIT 450 OFFSET 100"),
        (
            "$skip=50&$orderby=customerRingDuration%20desc",
            "ORDER BY customer_ring_seconds DESC NULLS LAST, id OFFSET 50",
        ),
    ] {
        let expected = sql_ids(&demo, sql).await;
        let (actual, _) = paged_ids(&demo, &format!("Calls?{query}&$select=id"), 300).await;
        assert_eq!(actual, expected, "{query}: {}", difference(&expected, &actual));
    }
}

#[tokio::test]
async fn count_true_is_the_whole_count_on_every_page() {
    let demo = spawn_demo_app().await;
    let count = demo.sql_count(&format!("SELECT count(*) {CALLS}")).await;
    let (_, bodies) = paged_ids(&demo, "Calls?$select=id&$count=true", 500).await;
    assert!(bodies.len() > 1);
    for body in bodies {
        assert_eq!(body["@odata.count"], serde_json::json!(count));
    }
}

#[tokio::test]
async fn rows_inserted_while_paging_do_not_disturb_the_rows_that_existed() {
    let database = fresh_demo_database().await;
    let demo = spawn_demo_app_with(database, |_| {}).await;
    let existing = sql_ids(&demo, "ORDER BY id").await;
    let preference = prefer(300);
    let headers = [("Prefer", preference.as_str())];

    let mut delivered: Vec<String> = Vec::new();
    let mut url = demo.url("Calls?$select=id");
    let mut inserted = 0;
    loop {
        let body: Value = demo.request(reqwest::Method::GET, &url, &headers).await.json().await.expect("JSON");
        let page = strings(body["value"].as_array().expect("a value array"), "id");
        let cursor = page.last().cloned();
        delivered.extend(page);
        let Some(next) = body["@odata.nextLink"].as_str() else { break };
        url = next.to_owned();
        // Between pages: new calls before the cursor, right after it, and at the very end.
        let cursor = cursor.expect("a page before a next link has rows");
        for id in [format!("0-new-{inserted}"), format!("{cursor}-new"), format!("zz-new-{inserted}")] {
            demo.sql(&format!(
                "INSERT INTO conversations SELECT (jsonb_populate_record(c, jsonb_build_object('id', '{id}'))).* \
                 FROM conversations c WHERE tenant_id = 'contoso' AND id = '{cursor}'"
            ))
            .await;
        }
        inserted += 1;
    }
    assert!(inserted >= 3, "several pages were read");

    let mut times: BTreeMap<&String, usize> = BTreeMap::new();
    for id in &delivered {
        *times.entry(id).or_default() += 1;
    }
    let twice: Vec<&&String> = times.iter().filter(|(_, n)| **n > 1).map(|(id, _)| id).collect();
    assert!(twice.is_empty(), "delivered more than once: {twice:?}");
    let missing: Vec<&String> = existing.iter().filter(|id| !times.contains_key(id)).collect();
    assert!(missing.is_empty(), "{} calls that existed from the start were not delivered: {missing:?}", missing.len());
    let mut sorted = delivered.clone();
    sorted.sort();
    assert_eq!(delivered, sorted, "the pages are in key order");
}

#[tokio::test]
async fn an_altered_skiptoken_is_refused() {
    let demo = spawn_demo_app().await;
    let body = first_page(&demo, "Calls?$select=id", 100).await;
    let next = body["@odata.nextLink"].as_str().expect("a next link").to_owned();
    let (base, token) = next.split_once("$skiptoken=").expect("the next link has a skiptoken");

    let mut altered = Vec::new();
    for position in [0, token.len() / 3, token.len() - 1] {
        let mut bytes = token.as_bytes().to_vec();
        bytes[position] = if bytes[position] == b'A' { b'B' } else { b'A' };
        altered.push(String::from_utf8(bytes).expect("ASCII"));
    }
    altered.push(format!("{token}A"));
    altered.push(token[..token.len() / 2].to_owned());
    altered.push("garbage".to_owned());
    for token in altered {
        let url = format!("{base}$skiptoken={token}");
        let response = demo.request(reqwest::Method::GET, &url, &[]).await;
        odata_error(response, StatusCode::BAD_REQUEST).await;
    }
    // The untouched link still works.
    let response = demo.request(reqwest::Method::GET, &next, &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_skiptoken_from_another_query_is_refused() {
    let demo = spawn_demo_app().await;
    let body = first_page(&demo, &format!("Calls?$select=id&$filter={}", enc("durationInSeconds gt 60")), 100).await;
    let next = body["@odata.nextLink"].as_str().expect("a next link");
    let token = next.split_once("$skiptoken=").expect("a skiptoken").1.split('&').next().expect("a token");

    for other in [
        format!("Calls?$select=id&$filter={}&$skiptoken={token}", enc("durationInSeconds gt 61")),
        format!("Calls?$select=id&$skiptoken={token}"),
        format!("Calls?$select=id&$filter={}&$orderby=id%20desc&$skiptoken={token}", enc("durationInSeconds gt 60")),
        format!("Chats?$select=id&$filter={}&$skiptoken={token}", enc("durationInSeconds gt 60")),
    ] {
        odata_error(demo.get(&other).await, StatusCode::BAD_REQUEST).await;
    }
}

#[tokio::test]
async fn the_default_page_size_is_5000() {
    let demo = spawn_demo_app().await;
    let states = demo.sql_count("SELECT count(*) FROM agent_states WHERE tenant_id = 'contoso'").await;
    assert!(states > 5000, "the demo tenant has more than one default page of agent states");
    let response = demo.get("AgentStates?$select=id").await;
    assert_eq!(header(response.headers(), "preference-applied"), None, "no preference, nothing applied");
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["value"].as_array().expect("a value array").len(), 5000);
    assert!(body["@odata.nextLink"].is_string(), "more pages follow");
}

#[tokio::test]
async fn a_configured_page_size_is_used_when_the_client_states_none() {
    let demo = spawn_demo_app_with(demo_database().await, |settings| {
        settings.limits.page_size = 700;
    })
    .await;
    let expected = sql_ids(&demo, "ORDER BY id").await;
    let pages = demo.pages("Calls?$select=id", &[]).await;
    let sizes: Vec<usize> = pages.bodies.iter().map(|b| b["value"].as_array().expect("a value array").len()).collect();
    assert_eq!(sizes, [700, 700, expected.len() - 1400]);
    let actual = strings(&pages.entities, "id");
    assert_eq!(actual, expected, "{}", difference(&expected, &actual));
}
