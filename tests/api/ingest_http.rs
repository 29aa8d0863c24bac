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
