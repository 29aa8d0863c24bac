//! `POST /ingest/{EntitySet}`: batches of NDJSON or CSV rows, upserted by key for the caller's
//! tenant, all-or-nothing, with every problem named by row, property, value and reason.

use crate::support::ingest::{IngestApp, spawn_ingest_app};
use serde_json::Value;

const CSV: &str = "text/csv";
const NDJSON: &str = "application/x-ndjson";

/// The header of the Calls CSV the tests send.
const CALLS_HEADER: &str = "id,channelId,channelType,isChannelClosed,isChannelOpen,isOutbound,startedAtUTC,durationInSeconds,customerFirstName";

/// One Calls CSV line: call `n`, with `duration` seconds.
fn call_line(n: u32, duration: u32) -> String {
    format!("call-{n:05},ch-1,Voice,0,1,false,2026-11-20T08:{:02}:00Z,{duration},Anna", n % 60)
}

fn calls_csv(lines: &[String]) -> String {
    let mut csv = String::from(CALLS_HEADER);
    for line in lines {
        csv.push('\n');
        csv.push_str(line);
    }
    csv.push('\n');
    csv
}

async fn json(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.expect("a body");
    (status, serde_json::from_str(&text).unwrap_or_else(|_| panic!("JSON expected, got {status}: {text}")))
}

/// Every stored Calls row of a tenant as text, `updated_at` included, in key order.
async fn stored_calls(app: &IngestApp, tenant: &str) -> Vec<String> {
    app.rows(&format!(
        "SELECT c::text FROM conversations c WHERE tenant_id = '{tenant}' AND media = 'Voice' ORDER BY id"
    ))
    .await
    .iter()
    .map(|r| r.get(0))
    .collect()
}

#[tokio::test]
async fn the_same_batch_sent_twice_leaves_one_copy_and_the_second_changes_nothing() {
    let app = spawn_ingest_app().await;
    let body = calls_csv(&(1..=50).map(|n| call_line(n, 60 + n)).collect::<Vec<_>>());
    let (status, first) = json(app.post("Calls", CSV, body.clone()).await).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!((first["rows"].as_u64(), first["inserted"].as_u64()), (Some(50), Some(50)), "{first}");
    let before = stored_calls(&app, "contoso").await;
    assert_eq!(before.len(), 50);

    let (status, second) = json(app.post("Calls", CSV, body).await).await;
    assert_eq!(status, 200, "{second}");
    assert_eq!(
        (second["inserted"].as_u64(), second["updated"].as_u64(), second["unchanged"].as_u64()),
        (Some(0), Some(0), Some(50)),
        "{second}"
    );
    assert_eq!(stored_calls(&app, "contoso").await, before, "a re-delivery rewrites nothing, not even the timestamp");
}

#[tokio::test]
async fn an_update_changes_the_row_in_place_and_stamps_only_that_row() {
    let app = spawn_ingest_app().await;
    let lines: Vec<String> = (1..=5).map(|n| call_line(n, 100)).collect();
    assert_eq!(app.post("Calls", CSV, calls_csv(&lines)).await.status(), 200);
    let stamp = "SELECT id, updated_at::text, duration_seconds FROM conversations ORDER BY id";
    let before: Vec<(String, String, i32)> =
        app.rows(stamp).await.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect();

    let mut changed = lines.clone();
    changed[2] = call_line(3, 333);
    let (status, body) = json(app.post("Calls", CSV, calls_csv(&changed)).await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!((body["updated"].as_u64(), body["unchanged"].as_u64()), (Some(1), Some(4)), "{body}");
    let after: Vec<(String, String, i32)> =
        app.rows(stamp).await.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect();
    assert_eq!(after.len(), 5, "updated in place, not added");
    for (old, new) in before.iter().zip(&after) {
        if new.0 == "call-00003" {
            assert_eq!(new.2, 333);
            assert!(new.1 > old.1, "the ingestion timestamp moves: {old:?} → {new:?}");
        } else {
            assert_eq!(old, new, "an unchanged row keeps its timestamp");
        }
    }
}

#[tokio::test]
async fn ndjson_rows_are_read_back_through_the_feed_with_their_values() {
    let app = spawn_ingest_app().await;
    let body = concat!(
        r#"{"id":"call-a","channelId":"ch-1","channelType":"Voice","isChannelClosed":0,"isChannelOpen":42,"#,
        r#""isOutbound":true,"startedAtUTC":"2026-11-20T09:30:00+01:00","durationInSeconds":42,"isConsult":null}"#,
        "\n"
    );
    let (status, summary) = json(app.post("Calls", NDJSON, body).await).await;
    assert_eq!(status, 200, "{summary}");
    assert_eq!(summary["entitySet"], "Calls");
    let (status, call) = json(app.app.get("/odata/Calls('call-a')").await).await;
    assert_eq!(status, 200, "{call}");
    assert_eq!(call["startedAtUTC"], "2026-11-20T08:30:00Z", "stored as the same instant, in UTC");
    assert_eq!(call["isOutbound"], true);
    assert_eq!(call["durationInSeconds"], 42);
    assert!(call["isConsult"].is_null());
}

#[tokio::test]
async fn a_batch_with_one_bad_row_writes_nothing_and_names_the_row() {
    let app = spawn_ingest_app().await;
    let mut lines: Vec<String> = (1..=30).map(|n| call_line(n, 60)).collect();
    lines[16] = lines[16].replace(",60,", ",sixty,");
    let (status, body) = json(app.post("Calls", CSV, calls_csv(&lines)).await).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "InvalidRows");
    let problems = body["error"]["problems"].as_array().expect("a list of problems");
    assert_eq!(problems.len(), 1, "{body}");
    assert_eq!(problems[0]["row"], 17);
    assert_eq!(problems[0]["property"], "durationInSeconds");
    assert_eq!(problems[0]["value"], "sixty");
    assert!(problems[0]["reason"].as_str().is_some_and(|r| r.contains("Edm.Int32")), "{body}");
    assert!(body["error"]["message"].as_str().is_some_and(|m| m.contains("nothing was written")), "{body}");
    assert_eq!(app.rows("SELECT 1 FROM conversations").await.len(), 0, "not even the 16 good rows before it");
}

#[tokio::test]
async fn wrong_types_in_ndjson_are_each_named_with_their_value() {
    let app = spawn_ingest_app().await;
    let body = concat!(
        r#"{"id":"c1","channelId":"ch-1","channelType":"Voice","isChannelClosed":0,"isChannelOpen":1,"isOutbound":"yes","startedAtUTC":"2026-11-20T08:00:00Z"}"#,
        "\n",
        r#"{"id":"c2","channelId":"ch-1","channelType":"Fax","isChannelClosed":1.5,"isChannelOpen":1,"isOutbound":false,"startedAtUTC":"yesterday"}"#,
        "\n"
    );
    let (status, body) = json(app.post("Calls", NDJSON, body).await).await;
    assert_eq!(status, 422, "{body}");
    let problems: Vec<(u64, String, String)> = body["error"]["problems"]
        .as_array()
        .expect("problems")
        .iter()
        .map(|p| (p["row"].as_u64().unwrap_or(0), p["property"].as_str().unwrap_or("").into(), p["value"].to_string()))
        .collect();
    assert_eq!(
        problems,
        [
            (1, "isOutbound".into(), "\"yes\"".into()),
            (2, "channelType".into(), "\"Fax\"".into()),
            (2, "isChannelClosed".into(), "\"1.5\"".into()),
            (2, "startedAtUTC".into(), "\"yesterday\"".into()),
        ],
        "{body}"
    );
}

#[tokio::test]
async fn malformed_csv_and_ndjson_are_refused_with_the_row_of_the_damage() {
    let app = spawn_ingest_app().await;
    let mut lines: Vec<String> = (1..=3).map(|n| call_line(n, 60)).collect();
    lines[1] = "call-00002,ch-1,Voice".into();
    let (status, body) = json(app.post("Calls", CSV, calls_csv(&lines)).await).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["problems"][0]["row"], 2, "{body}");
    assert!(body["error"]["problems"][0]["reason"].as_str().is_some_and(|r| r.contains("cells")), "{body}");

    let (status, body) = json(app.post("Calls", NDJSON, "{\"id\": \"x\",\n").await).await;
    assert_eq!(status, 422, "{body}");
    assert!(body["error"]["problems"][0]["reason"].as_str().is_some_and(|r| r.contains("JSON")), "{body}");

    let (status, body) = json(app.post("Calls", CSV, "id,id\nx,y\n").await).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["problems"][0]["row"], 0, "a header problem is row 0: {body}");
    assert_eq!(app.rows("SELECT 1 FROM conversations").await.len(), 0);
}

#[tokio::test]
async fn unknown_tenant_and_derived_columns_in_a_csv_header_are_refused_once() {
    let app = spawn_ingest_app().await;
    let header = format!("{CALLS_HEADER},colour,tenantId,startedAt");
    let mut body = header;
    for n in 1..=200 {
        body.push_str(&format!("\n{},red,fabrikam,2026-11-20T09:00:00+01:00", call_line(n, 60)));
    }
    let (status, body) = json(app.post("Calls", CSV, body).await).await;
    assert_eq!(status, 422, "{body}");
    let problems = body["error"]["problems"].as_array().expect("problems");
    let named: Vec<(&str, u64)> =
        problems.iter().map(|p| (p["property"].as_str().unwrap_or(""), p["row"].as_u64().unwrap_or(9))).collect();
    assert_eq!(named, [("colour", 0), ("tenantId", 0), ("startedAt", 0)], "{body}");
    assert!(problems[1]["reason"].as_str().is_some_and(|r| r.contains("token")), "{body}");
    assert!(problems[2]["reason"].as_str().is_some_and(|r| r.contains("startedAtUTC")), "{body}");
}

#[tokio::test]
async fn problems_are_capped_and_the_answer_says_there_are_more() {
    let app = spawn_ingest_app().await;
    let lines: Vec<String> = (1..=500).map(|n| call_line(n, 60).replace(",Voice,", ",Telex,")).collect();
    let (status, body) = json(app.post("Calls", CSV, calls_csv(&lines)).await).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["problems"].as_array().map(Vec::len), Some(100));
    assert_eq!(body["error"]["problemsTruncated"], true);
}

#[tokio::test]
async fn rows_of_another_tenant_cannot_be_sent_and_each_tenant_writes_only_its_own() {
    let app = spawn_ingest_app().await;
    let body = format!("{CALLS_HEADER},tenantId\n{},fabrikam\n", call_line(1, 60));
    let (status, answer) = json(app.post("Calls", CSV, body).await).await;
    assert_eq!(status, 422, "{answer}");
    assert!(
        answer["error"]["problems"][0]["reason"].as_str().is_some_and(|r| r.contains("tenant comes from the token"))
    );

    // The same key in both tenants: two rows, each tenant's own.
    let fabrikam = crate::support::app::client_with_token(&crate::support::ingest::ingest_token_for("fabrikam"));
    assert_eq!(app.post("Calls", CSV, calls_csv(&[call_line(1, 10)])).await.status(), 200);
    assert_eq!(app.post_as(&fabrikam, "Calls", CSV, calls_csv(&[call_line(1, 20)])).await.status(), 200);
    assert_eq!(app.post("Calls", CSV, calls_csv(&[call_line(1, 11)])).await.status(), 200);
    let rows: Vec<(String, i32)> = app
        .rows("SELECT tenant_id, duration_seconds FROM conversations ORDER BY tenant_id")
        .await
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(rows, [("contoso".to_string(), 11), ("fabrikam".to_string(), 20)]);
}

#[tokio::test]
async fn only_tokens_with_the_ingest_grant_may_write_and_they_cannot_read() {
    let app = spawn_ingest_app().await;
    let body = calls_csv(&[call_line(1, 60)]);
    let (status, answer) = json(app.post_as(&app.app.client, "Calls", CSV, body.clone()).await).await;
    assert_eq!(status, 403, "a read token cannot write: {answer}");
    assert_eq!(answer["error"]["code"], "AUTH434");
    let response = app.post_as(&app.app.anonymous, "Calls", CSV, body).await;
    assert_eq!(response.status(), 401);
    assert!(response.headers().contains_key("WWW-Authenticate"));
    let (status, answer) =
        json(app.ingest.get(format!("{}/odata/Calls", app.app.address)).send().await.expect("answered")).await;
    assert_eq!(status, 403, "an ingest token cannot read: {answer}");
    assert_eq!(answer["error"]["code"], "AUTH433");
    assert_eq!(app.rows("SELECT 1 FROM conversations").await.len(), 0);
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused_with_413_whether_declared_or_streamed() {
    let app = crate::support::ingest::spawn_ingest_app_with_limit(4096).await;
    let big = calls_csv(&(1..=200).map(|n| call_line(n, 60)).collect::<Vec<_>>());
    assert!(big.len() > 4096);
    let (status, body) = json(app.post("Calls", CSV, big.clone()).await).await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["error"]["code"], "PayloadTooLarge");

    // Gzip keeps the wire small; the limit also counts the decompressed bytes.
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut encoder, big.as_bytes()).expect("compressed");
    let gzipped = encoder.finish().expect("compressed");
    assert!(gzipped.len() < 4096);
    let response = app
        .ingest
        .post(format!("{}/ingest/Calls", app.app.address))
        .header("Content-Type", CSV)
        .header("Content-Encoding", "gzip")
        .body(gzipped)
        .send()
        .await
        .expect("answered");
    let (status, body) = json(response).await;
    assert_eq!(status, 413, "{body}");

    // Without a Content-Length (chunked), the stream is cut at the limit.
    let (status, body) = raw_post(&app, "Calls", CSV, big.as_bytes(), Framing::Chunked).await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(app.rows("SELECT 1 FROM conversations").await.len(), 0);

    let small = calls_csv(&(1..=3).map(|n| call_line(n, 60)).collect::<Vec<_>>());
    assert_eq!(app.post("Calls", CSV, small).await.status(), 200, "a body within the limit is taken");
}

#[tokio::test]
async fn a_gzip_body_is_ingested_like_the_plain_one() {
    let app = spawn_ingest_app().await;
    let body = calls_csv(&(1..=20).map(|n| call_line(n, 60)).collect::<Vec<_>>());
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut encoder, body.as_bytes()).expect("compressed");
    let response = app
        .ingest
        .post(format!("{}/ingest/Calls", app.app.address))
        .header("Content-Type", "text/csv; charset=utf-8")
        .header("Content-Encoding", "gzip")
        .body(encoder.finish().expect("compressed"))
        .send()
        .await
        .expect("answered");
    let (status, answer) = json(response).await;
    assert_eq!((status, answer["inserted"].as_u64()), (200, Some(20)), "{answer}");
}

#[tokio::test]
async fn a_body_cut_off_mid_way_writes_nothing() {
    let app = spawn_ingest_app().await;
    let body = calls_csv(&(1..=2000).map(|n| call_line(n, 60)).collect::<Vec<_>>());
    let sent = raw_post(&app, "Calls", CSV, body.as_bytes(), Framing::CutOff).await;
    assert_ne!(sent.0, 200, "{sent:?}");
    // The server notices the closed connection; give it a moment, then nothing may be stored.
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(app.rows("SELECT 1 FROM conversations").await.len(), 0);
    let full = app.post("Calls", CSV, body).await;
    assert_eq!(full.status(), 200, "the same batch sent whole is taken");
}

#[tokio::test]
async fn a_key_repeated_in_one_batch_keeps_its_last_record() {
    let app = spawn_ingest_app().await;
    let lines = [call_line(1, 10), call_line(2, 20), call_line(1, 30)];
    let (status, body) = json(app.post("Calls", CSV, calls_csv(&lines)).await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["rows"].as_u64(), body["inserted"].as_u64(), body["duplicates"].as_u64()),
        (Some(3), Some(2), Some(1))
    );
    let durations: Vec<i32> =
        app.rows("SELECT duration_seconds FROM conversations ORDER BY id").await.iter().map(|r| r.get(0)).collect();
    assert_eq!(durations, [30, 20]);
}

#[tokio::test]
async fn a_call_cannot_take_over_a_chat_with_the_same_id() {
    let app = spawn_ingest_app().await;
    let chat = concat!(
        r#"{"id":"call-00001","channelID":"ch-9","channelType":"Webchat","isChannelClosed":0,"isChannelOpen":5,"startedAtUTC":"2026-11-20T08:00:00Z"}"#,
        "\n"
    );
    let (status, body) = json(app.post("Chats", NDJSON, chat).await).await;
    assert_eq!(status, 200, "{body}");
    let lines = [call_line(5, 10), call_line(1, 60)];
    let (status, body) = json(app.post("Calls", CSV, calls_csv(&lines)).await).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "RejectedRows");
    assert_eq!(body["error"]["problems"][0]["row"], 2);
    assert!(body["error"]["problems"][0]["reason"].as_str().is_some_and(|r| r.contains("Chats")), "{body}");
    let media: Vec<(String, String, bool)> = app
        .rows("SELECT id, media, is_outbound FROM conversations ORDER BY id")
        .await
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(
        media,
        [("call-00001".to_string(), "Chat".to_string(), false)],
        "the chat is untouched, the call not added"
    );
}

#[tokio::test]
async fn a_row_whose_parent_is_missing_is_named_and_nothing_is_written() {
    let app = spawn_ingest_app().await;
    let body = "id,workitemId,conversationID\n1,w-404,conv-1\n";
    let (status, body) = json(app.post("WorkitemConversationSessions", CSV, body).await).await;
    assert_eq!(status, 422, "{body}");
    let problem = &body["error"]["problems"][0];
    assert_eq!((problem["row"].as_u64(), problem["property"].as_str()), (Some(1), Some("workitemId")), "{body}");
    assert_eq!(problem["value"], "w-404");
    assert!(problem["reason"].as_str().is_some_and(|r| r.contains("Workitem")), "{body}");
}

#[tokio::test]
async fn campaign_records_take_their_creation_time_as_a_local_time_with_offset() {
    let app = spawn_ingest_app().await;
    let body = "id,campaignID,CreatedAt\nrec-1,camp-1,2026-11-20T09:15:00+01:00\n";
    let (status, answer) = json(app.post("CampaignRecords", CSV, body).await).await;
    assert_eq!(status, 200, "{answer}");
    let stored: Vec<String> =
        app.rows("SELECT created_at_utc::text FROM campaign_records").await.iter().map(|r| r.get(0)).collect();
    assert_eq!(stored, ["2026-11-20 08:15:00+00"]);
}

#[tokio::test]
async fn requests_the_endpoint_cannot_take_get_clear_answers() {
    let app = spawn_ingest_app().await;
    let body = calls_csv(&[call_line(1, 60)]);
    let (status, answer) = json(app.post("Calls", "application/json", body.clone()).await).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (415, Some("UnsupportedMediaType")), "{answer}");
    let (status, answer) = json(app.post("Calls", "text/csv; charset=latin1", body.clone()).await).await;
    assert_eq!(status, 415, "{answer}");
    let (status, answer) = json(app.post("Faxes", CSV, body.clone()).await).await;
    assert_eq!(status, 404, "{answer}");
    let (status, answer) = json(app.post("Calls?snapshot=true", CSV, body.clone()).await).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (400, Some("InvalidOption")), "{answer}");
    let (status, answer) = json(app.post("Calls?colour=red", CSV, body).await).await;
    assert_eq!(status, 400, "{answer}");
}

#[tokio::test]
async fn lookup_objects_feed_the_local_source_that_the_nightly_refresh_publishes() {
    use odata_feed::jobs::{Job, Jobs, Outcome, clock::SetClock, config::JobsConfig};
    let app = spawn_ingest_app().await;
    let agents = "id,name,customId\nag-1,Anna,A1\nag-2,Béla,\nag-3,Cecil,C3\n";
    let (status, answer) = json(app.post("Agents", CSV, agents).await).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["inserted"], 3);
    assert!(answer["publishedBy"].as_str().is_some_and(|p| p.contains("refresh")), "{answer}");
    let source: Vec<(String, String)> = app
        .rows("SELECT id, attributes::text FROM lookup_sources WHERE entity_set = 'Agents' ORDER BY id")
        .await
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(source[1], ("ag-2".to_string(), r#"{"name": "Béla", "customId": null}"#.to_string()));

    // A snapshot names every current object: the one it leaves out leaves the source.
    let (status, answer) = json(app.post("Agents?snapshot=true", CSV, "id,name\nag-1,Anna\nag-2,Béla\n").await).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["removed"], 1, "{answer}");

    // An empty snapshot is far more likely a broken export than a set with no objects left.
    let (status, answer) = json(app.post("Agents?snapshot=true", CSV, "id,name\n").await).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (422, Some("RejectedRows")), "{answer}");
    assert_eq!(app.rows("SELECT 1 FROM lookup_sources").await.len(), 2, "nothing was removed");

    let config: JobsConfig = toml::from_str("[tenants.contoso]\nsource = \"local\"\n").expect("a jobs configuration");
    let pool = odata_feed::db::pool::connect(&app.db.url, 4).await.expect("the database answers");
    let model = std::sync::Arc::new(odata_feed::odata::model::Model::load().expect("the model"));
    let clock = std::sync::Arc::new(SetClock::new("2026-11-23T00:00:00Z".parse().expect("a time")));
    let jobs = Jobs::new(pool, model, config, clock).expect("the jobs");
    let outcome = jobs.run(Job::LookupRefresh, Some("contoso"), None).await.expect("the run");
    assert!(matches!(outcome, Outcome::Ran { error: None, .. }), "{outcome:?}");
    let (status, agents) = json(app.app.get("/odata/Agents?$select=id,name&$orderby=id").await).await;
    assert_eq!(status, 200, "{agents}");
    let names: Vec<&str> =
        agents["value"].as_array().expect("agents").iter().filter_map(|a| a["name"].as_str()).collect();
    assert_eq!(names, ["Anna", "Béla"]);
}

/// How `raw_post` frames the body.
enum Framing {
    /// `Transfer-Encoding: chunked`, sent whole.
    Chunked,
    /// A Content-Length for the whole body, of which only half is sent before the connection
    /// is closed.
    CutOff,
}

/// A POST written by hand on a TCP connection (for framings a client library does not make);
/// returns the status and body, or (0, "") when the connection ended without an answer.
async fn raw_post(app: &IngestApp, set: &str, content_type: &str, body: &[u8], framing: Framing) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = app.app.address.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.expect("connected");
    let token = crate::support::ingest::ingest_token_for("contoso");
    let framing_header = match framing {
        Framing::Chunked => "Transfer-Encoding: chunked".to_string(),
        Framing::CutOff => format!("Content-Length: {}", body.len()),
    };
    let head = format!(
        "POST /ingest/{set} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\nContent-Type: {content_type}\r\n{framing_header}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.expect("head sent");
    match framing {
        Framing::Chunked => {
            for chunk in body.chunks(1000) {
                let mut frame = format!("{:x}\r\n", chunk.len()).into_bytes();
                frame.extend_from_slice(chunk);
                frame.extend_from_slice(b"\r\n");
                if stream.write_all(&frame).await.is_err() {
                    break; // the server answered and closed early
                }
            }
            let _ = stream.write_all(b"0\r\n\r\n").await;
        }
        Framing::CutOff => {
            stream.write_all(&body[..body.len() / 2]).await.expect("half the body sent");
            stream.shutdown().await.expect("closed");
        }
    }
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(60), stream.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer).to_string();
    let status = answer.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = answer.split_once("\r\n\r\n").map_or(String::new(), |(_, b)| b.to_string());
    (status, body)
}

#[tokio::test]
async fn other_methods_on_an_ingestion_path_are_told_to_post() {
    let app = spawn_ingest_app().await;
    let response = app.ingest.get(format!("{}/ingest/Calls", app.app.address)).send().await.expect("answered");
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers().get("Allow").and_then(|v| v.to_str().ok()), Some("POST"));
    let (_, body) = json(response).await;
    assert_eq!(body["error"]["code"], "MethodNotAllowed");
}

#[tokio::test]
async fn each_batch_and_its_rows_are_counted_on_the_metrics() {
    let metrics = odata_feed::http::metrics::handle(); // installs the recorder, as --metrics-listen does
    let app = spawn_ingest_app().await;
    let states = "id,agentID,isLogin,isLogout,startTimeUtc,state\n1,ag-1,true,false,2026-11-20T08:00:00Z,Idle\n2,ag-1,false,false,2026-11-20T08:05:00Z,Busy\n";
    let (status, body) = json(app.post("AgentStates", CSV, states).await).await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = json(app.post("AgentStates", CSV, "id,agentID\nx,ag-1\n").await).await;
    assert_eq!(status, 422);
    let rendered = metrics.render();
    let value = |metric: &str, labels: &[&str]| -> f64 {
        rendered
            .lines()
            .filter(|l| l.starts_with(metric) && labels.iter().all(|label| l.contains(label)))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    };
    let set = "set=\"AgentStates\"";
    assert!(value("odata_feed_ingested_rows_total", &[set, "change=\"inserted\""]) >= 2.0, "{rendered}");
    assert!(value("odata_feed_ingest_batches_total", &[set, "outcome=\"written\""]) >= 1.0, "{rendered}");
    assert!(value("odata_feed_ingest_batches_total", &[set, "outcome=\"InvalidRows\""]) >= 1.0, "{rendered}");
}

#[tokio::test]
async fn a_csv_record_of_endless_length_is_refused_at_its_row() {
    let app = spawn_ingest_app().await;
    let mut body = calls_csv(&[call_line(1, 60)]);
    body.push_str(&format!("call-00002,ch-1,Voice,0,1,false,2026-11-20T08:00:00Z,60,\"{}\"\n", "y".repeat(2 << 20)));
    let (status, answer) = json(app.post("Calls", CSV, body).await).await;
    assert_eq!(status, 422, "{answer}");
    assert_eq!(answer["error"]["problems"][0]["row"], 2, "{answer}");
    assert!(
        answer["error"]["problems"][0]["reason"].as_str().is_some_and(|r| r.contains("longer than 1048576 bytes")),
        "{answer}"
    );
    assert_eq!(app.rows("SELECT 1 FROM conversations").await.len(), 0);
}
