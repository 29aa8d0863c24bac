//! The OData JSON format of data responses over HTTP: the context URL, the metadata levels,
//! IEEE754Compatible, decimals and date-times as Power BI reads them, `omit-values=nulls`,
//! content negotiation with Power Query's own Accept header, and gzip.

use crate::support::demo::{
    DemoApp, TENANT_ZONE, declared_properties, fresh_demo_database, header, odata_error, ok_json, spawn_demo_app,
    spawn_demo_app_with, strings,
};
use chrono::{DateTime, Utc};
use odata_feed::odata::model::NAMESPACE;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::io::Read;

const CALLS: &str = "FROM conversations WHERE tenant_id = 'contoso' AND media = 'Voice'";

/// Power Query's Accept header (powerbi-compat.md 1.1).
const POWER_QUERY_ACCEPT: &str = "application/json;odata.metadata=minimal;q=1.0,application/json;odata=minimalmetadata;q=0.9,\
     application/atomsvc+xml;q=0.8,application/atom+xml;q=0.8,application/xml;q=0.7,text/plain;q=0.7";

fn entities(body: &Value) -> &Vec<Value> {
    body["value"].as_array().unwrap_or_else(|| panic!("no value array in {body}"))
}

async fn first_call(demo: &DemoApp) -> String {
    demo.sql_strings(&format!("SELECT id {CALLS} ORDER BY id LIMIT 1")).await.remove(0)
}

/// The raw JSON text of every value of `"name":` in `text`.
fn raw_values<'a>(text: &'a str, name: &str) -> Vec<&'a str> {
    let key = format!("\"{name}\":");
    text.match_indices(&key)
        .map(|(at, _)| {
            let rest = &text[at + key.len()..];
            let end = rest.find([',', '}']).expect("a value ends");
            &rest[..end]
        })
        .collect()
}

/// `35.50` and `35.5` are the same decimal.
fn same_decimal(a: &str, b: &str) -> bool {
    let normal = |s: &str| {
        let s = s.trim_matches('"');
        if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_owned() } else { s.to_owned() }
    };
    normal(a) == normal(b)
}

#[tokio::test]
async fn the_context_is_absolute_and_the_first_key_of_every_json_answer() {
    let demo = spawn_demo_app().await;
    let id = first_call(&demo).await;
    let prefix = format!("{{\"@odata.context\":\"{}/$metadata#", demo.root());
    assert!(prefix.contains("http://127.0.0.1:"));
    for path in [
        "Calls?$top=2".to_owned(),
        "Calls?$top=2&$count=true".to_owned(),
        "Calls?$select=id&$top=1".to_owned(),
        format!("Calls('{id}')"),
        format!("Calls('{id}')/durationInSeconds"),
    ] {
        let response = demo.get(&path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let text = response.text().await.expect("a body");
        assert!(text.starts_with(&prefix), "{path}: {}", &text[..text.len().min(200)]);
    }
}

#[tokio::test]
async fn full_metadata_gives_each_entity_an_id_that_reads_it_back_and_its_type() {
    let demo = spawn_demo_app().await;
    let accept = [("Accept", "application/json;odata.metadata=full")];
    let response = demo.get_with("Calls?$top=3", &accept).await;
    let content_type = header(response.headers(), "content-type").unwrap_or_default();
    assert!(content_type.contains("odata.metadata=full"), "{content_type}");
    let body = ok_json(response).await;
    let ids = demo.sql_strings(&format!("SELECT id {CALLS} ORDER BY id LIMIT 3")).await;
    for (entity, id) in entities(&body).iter().zip(&ids) {
        assert_eq!(entity["@odata.id"], json!(format!("{}/Calls('{id}')", demo.root())), "{entity}");
        assert_eq!(entity["@odata.type"], json!(format!("#{NAMESPACE}.Call")), "{entity}");
        assert_eq!(entity["startedAtUTC@odata.type"], json!("#DateTimeOffset"), "{entity}");
        assert_eq!(entity["id"], json!(id));
    }

    // A composite key with a DateTimeOffset: the id is a URL that reads the same segment.
    let body = ok_json(demo.get_with("QueueSegments?$top=3", &accept).await).await;
    for entity in entities(&body) {
        let id = entity["@odata.id"].as_str().expect("an @odata.id");
        assert!(id.starts_with(&format!("{}/QueueSegments(", demo.root())), "{id}");
        let again = ok_json(demo.request(reqwest::Method::GET, id, &[]).await).await;
        for key in ["conversationId", "queueId", "queuedAtUTC"] {
            assert_eq!(again[key], entity[key], "{id}: {key}");
        }
    }
}

#[tokio::test]
async fn no_metadata_leaves_out_the_context_and_every_annotation() {
    let demo = spawn_demo_app().await;
    let id = first_call(&demo).await;
    for (path, accept) in [
        ("Calls?$top=3&$count=true".to_owned(), "application/json;odata.metadata=none"),
        (format!("Calls('{id}')"), "application/json;odata.metadata=none"),
        (format!("Calls('{id}')/durationInSeconds"), "application/json;odata.metadata=none"),
    ] {
        let response = demo.get_with(&path, &[("Accept", accept)]).await;
        let content_type = header(response.headers(), "content-type").unwrap_or_default();
        assert!(content_type.contains("odata.metadata=none"), "{path}: {content_type}");
        let body = ok_json(response).await;
        assert!(body.get("@odata.context").is_none(), "{path}: {body}");
        if let Some(value) = body["value"].as_array() {
            for entity in value {
                let annotated: Vec<&String> =
                    entity.as_object().expect("an object").keys().filter(|k| k.contains('@')).collect();
                assert!(annotated.is_empty(), "{path}: {annotated:?}");
            }
        }
    }
    let body = demo.json("Calls?$top=1&$format=application/json;odata.metadata=none").await;
    assert!(body.get("@odata.context").is_none(), "$format with odata.metadata=none: {body}");
}

#[tokio::test]
async fn ieee754_compatible_sends_int64_and_decimal_as_strings_and_only_then() {
    let demo = spawn_demo_app().await;
    let states = demo
        .sql("SELECT id::text, duration_seconds FROM agent_states s WHERE tenant_id = 'contoso' ORDER BY s.id LIMIT 5")
        .await;
    let chats = demo
        .sql(
            "SELECT id, average_agent_answer_seconds::text FROM conversations WHERE tenant_id = 'contoso' \
             AND media = 'Chat' AND average_agent_answer_seconds IS NOT NULL ORDER BY id LIMIT 5",
        )
        .await;
    let chat_filter = chats.iter().map(|r| format!("'{}'", r.get::<_, String>(0))).collect::<Vec<_>>().join(",");
    let chats_path = format!("Chats?$select=id,averageAgentAnswerSpeedInSeconds&$filter=id%20in%20({chat_filter})");

    for ieee754 in [true, false] {
        let accept = format!("application/json;odata.metadata=minimal;IEEE754Compatible={ieee754}");
        let response = demo.get_with("AgentStates?$top=5&$select=id,durationInSeconds", &[("Accept", &accept)]).await;
        let content_type = header(response.headers(), "content-type").unwrap_or_default();
        assert!(content_type.contains(&format!("IEEE754Compatible={ieee754}")), "{content_type}");
        let body = ok_json(response).await;
        for (entity, row) in entities(&body).iter().zip(&states) {
            let id: String = row.get(0);
            match ieee754 {
                true => assert_eq!(entity["id"], json!(id), "an Int64 is a string: {entity}"),
                false => assert_eq!(entity["id"], json!(id.parse::<i64>().expect("an integer")), "{entity}"),
            }
            assert_eq!(entity["durationInSeconds"], json!(row.get::<_, Option<i32>>(1)), "Int32 stays a number");
        }

        let body = ok_json(demo.get_with(&chats_path, &[("Accept", &accept)]).await).await;
        assert_eq!(entities(&body).len(), chats.len());
        for (entity, row) in entities(&body).iter().zip(&chats) {
            let expected: String = row.get(1);
            let value = &entity["averageAgentAnswerSpeedInSeconds"];
            match ieee754 {
                true => {
                    assert!(value.as_str().is_some_and(|s| same_decimal(s, &expected)), "a string {expected}: {value}")
                }
                false => assert!(
                    value.is_number() && same_decimal(&value.to_string(), &expected),
                    "a number {expected}: {value}"
                ),
            }
        }
    }
    // The same through $format.
    let body = demo.json("AgentStates?$top=1&$select=id&$format=application/json;IEEE754Compatible=true").await;
    assert!(entities(&body)[0]["id"].is_string(), "{body}");
}

#[tokio::test]
async fn decimals_are_written_as_plain_numbers_never_with_an_exponent() {
    let database = fresh_demo_database().await;
    let demo = spawn_demo_app_with(database, |_| {}).await;
    let ids = demo
        .sql_strings("SELECT id FROM conversations WHERE tenant_id = 'contoso' AND media = 'Chat' ORDER BY id LIMIT 5")
        .await;
    let values = ["0.01", "0.10", "99999999.99", "-0.01", "0.00"];
    for (id, value) in ids.iter().zip(values) {
        demo.sql(&format!(
            "UPDATE conversations SET average_agent_answer_seconds = {value} WHERE tenant_id = 'contoso' AND id = '{id}'"
        ))
        .await;
    }
    let list = ids.iter().map(|id| format!("'{id}'")).collect::<Vec<_>>().join(",");
    let response =
        demo.get(&format!("Chats?$select=id,averageAgentAnswerSpeedInSeconds&$filter=id%20in%20({list})")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.expect("a body");
    let raw = raw_values(&text, "averageAgentAnswerSpeedInSeconds");
    assert_eq!(raw.len(), values.len(), "{text}");
    for (raw, value) in raw.iter().zip(values) {
        let plain = raw.bytes().all(|b| b.is_ascii_digit() || b == b'.' || b == b'-');
        assert!(plain && same_decimal(raw, value), "{value} is written as `{raw}`");
    }
}

#[tokio::test]
async fn utc_properties_end_in_z_and_local_properties_carry_the_tenant_offset() {
    let demo = spawn_demo_app().await;
    let rows = demo
        .sql(&format!(
            "SELECT id, started_at_utc, extract(epoch from (started_at_utc AT TIME ZONE '{TENANT_ZONE}') \
             - (started_at_utc AT TIME ZONE 'UTC'))::integer, customer_joined_at_utc {CALLS} ORDER BY id"
        ))
        .await;
    let body = demo.json("Calls?$select=id,startedAtUTC,startedAt,customerJoinedAt,customerJoinedAtUTC").await;
    let entities = entities(&body);
    assert_eq!(entities.len(), rows.len());
    for (entity, row) in entities.iter().zip(&rows) {
        let started: DateTime<Utc> = row.get(1);
        let offset: i32 = row.get(2);
        let utc = entity["startedAtUTC"].as_str().expect("a string");
        assert!(utc.ends_with('Z'), "{utc}");
        assert_eq!(DateTime::parse_from_rfc3339(utc).expect("RFC 3339"), started, "{utc}");
        let local = entity["startedAt"].as_str().expect("a string");
        let parsed = DateTime::parse_from_rfc3339(local).expect("RFC 3339");
        assert_eq!(parsed, started, "{local} is the same instant");
        assert_eq!(parsed.offset().local_minus_utc(), offset, "{local}: the offset of {TENANT_ZONE} then");
        let suffix = &local[local.len() - 6..];
        assert!(suffix == "+01:00" || suffix == "+02:00", "{local}");

        let joined: Option<DateTime<Utc>> = row.get(3);
        match joined {
            None => assert!(entity["customerJoinedAt"].is_null() && entity["customerJoinedAtUTC"].is_null()),
            Some(at) => {
                let local = entity["customerJoinedAt"].as_str().expect("a string");
                assert_eq!(DateTime::parse_from_rfc3339(local).expect("RFC 3339"), at);
            }
        }
    }
}

#[tokio::test]
async fn omit_values_nulls_leaves_out_the_nulls_and_says_so() {
    let demo = spawn_demo_app().await;
    let declared = declared_properties("Calls");
    let rows = demo
        .sql(&format!(
            "SELECT id, customer_last_name IS NULL, customer_ring_seconds IS NULL {CALLS} ORDER BY id LIMIT 400"
        ))
        .await;

    let response = demo.get_with("Calls?$top=400", &[("Prefer", "omit-values=nulls")]).await;
    let applied = header(response.headers(), "preference-applied").unwrap_or_default();
    assert!(applied.split(',').any(|p| p.trim() == "omit-values=nulls"), "Preference-Applied: {applied}");
    let body = ok_json(response).await;
    for (entity, row) in entities(&body).iter().zip(&rows) {
        let object = entity.as_object().expect("an object");
        assert!(object.values().all(|v| !v.is_null()), "no null is sent: {entity}");
        assert!(object.keys().all(|k| declared.contains(k.as_str())), "{entity}");
        assert_eq!(entity["id"], json!(row.get::<_, String>(0)));
        assert_eq!(object.contains_key("customerLastName"), !row.get::<_, bool>(1), "{entity}");
        assert_eq!(object.contains_key("customerRingDuration"), !row.get::<_, bool>(2), "{entity}");
    }

    let response = demo
        .get_with("Calls?$select=id", &[("Prefer", "odata.maxpagesize=100"), ("Prefer", "omit-values=nulls")])
        .await;
    let applied = header(response.headers(), "preference-applied").unwrap_or_default();
    let parts: BTreeSet<&str> = applied.split(',').map(str::trim).collect();
    assert_eq!(parts, BTreeSet::from(["odata.maxpagesize=100", "omit-values=nulls"]), "{applied}");

    // Without the preference every null is sent.
    let response = demo.get("Calls?$top=5").await;
    assert_eq!(header(response.headers(), "preference-applied"), None);
}

#[tokio::test]
async fn power_querys_request_headers_get_minimal_json_and_gzip() {
    let demo = spawn_demo_app().await;
    let headers = [
        ("Accept", POWER_QUERY_ACCEPT),
        ("Accept-Encoding", "gzip, deflate"),
        ("User-Agent", "Microsoft.Data.Mashup (https://go.microsoft.com/fwlink/?LinkID=304225)"),
        ("MaxDataServiceVersion", "3.0"),
        ("OData-MaxVersion", "4.0"),
    ];
    let expected = demo.sql_strings(&format!("SELECT id {CALLS} ORDER BY id LIMIT 1000")).await;
    let response = demo.get_with("Calls?$top=1000", &headers).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(response.headers(), "odata-version").as_deref(), Some("4.0"));
    assert_eq!(
        header(response.headers(), "content-type").as_deref(),
        Some("application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false")
    );
    assert_eq!(header(response.headers(), "content-encoding").as_deref(), Some("gzip"));
    let body: Value = serde_json::from_slice(&gunzip(&response.bytes().await.expect("a body"))).expect("JSON");
    assert_eq!(body["@odata.context"], json!(format!("{}/$metadata#Calls", demo.root())));
    assert_eq!(strings(entities(&body), "id"), expected);
}

#[tokio::test]
async fn an_accept_header_without_json_is_406() {
    let demo = spawn_demo_app().await;
    for accept in [
        "application/atom+xml",
        "application/xml",
        "application/atom+xml,application/xml;q=0.9",
        "application/json;q=0,application/atom+xml",
        "text/html",
    ] {
        let response = demo.get_with("Calls?$top=1", &[("Accept", accept)]).await;
        odata_error(response, StatusCode::NOT_ACCEPTABLE).await;
    }
}

#[tokio::test]
async fn gzip_is_used_when_the_client_accepts_it_and_decodes_to_the_same_json() {
    let demo = spawn_demo_app().await;
    let plain = demo.get("Calls?$top=500").await;
    assert_eq!(header(plain.headers(), "content-encoding"), None, "no compression unless asked");
    let plain: Value = plain.json().await.expect("JSON");

    let response = demo.get_with("Calls?$top=500", &[("Accept-Encoding", "gzip")]).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(response.headers(), "content-encoding").as_deref(), Some("gzip"));
    let compressed = response.bytes().await.expect("a body");
    let unzipped: Value = serde_json::from_slice(&gunzip(&compressed)).expect("JSON");
    assert_eq!(unzipped, plain);
    assert!(compressed.len() < plain.to_string().len() / 3, "{} bytes compressed", compressed.len());
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes).read_to_end(&mut out).expect("valid gzip");
    out
}
