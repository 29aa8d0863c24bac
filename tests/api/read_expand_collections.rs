//! `$expand` of collection-valued navigation properties, with nested `$select`, `$filter`,
//! `$orderby`, `$top`, `$skip`, `$count` and `$expand`, `/$ref`, `/$count`, `*` and `$levels`,
//! on pages and on single entities. Every answer is compared with hand-written SQL over the
//! demo data.

use crate::support::demo::{enc, spawn_demo_app};
use serde_json::Value;
use std::collections::BTreeMap;

const CALLS: &str = "FROM conversations c WHERE c.tenant_id = 'contoso' AND c.media = 'Voice'";

/// `(queueId, queuedAtUTC to the second)` of a segment in JSON.
fn segment(v: &Value) -> (String, String) {
    let at = v["queuedAtUTC"].as_str().unwrap_or_else(|| panic!("queuedAtUTC in {v}"));
    (v["queueId"].as_str().expect("queueId").to_owned(), at[..19].to_owned())
}

/// The segments of each call as SQL lists them (`extra` narrows them), in key order.
async fn segments_by_call(
    demo: &crate::support::demo::DemoApp,
    extra: &str,
    order: &str,
) -> BTreeMap<String, Vec<(String, String)>> {
    let rows = demo
        .sql(&format!(
            "SELECT s.conversation_id, s.queue_id, to_char(s.queued_at_utc AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS') \
             FROM queue_segments s JOIN conversations c ON c.tenant_id = s.tenant_id AND c.id = s.conversation_id \
             WHERE s.tenant_id = 'contoso' AND c.media = 'Voice' {extra} ORDER BY s.conversation_id, {order}"
        ))
        .await;
    let mut out: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for row in rows {
        out.entry(row.get(0)).or_default().push((row.get(1), row.get(2)));
    }
    out
}

#[tokio::test]
async fn every_call_carries_exactly_its_queue_segments_across_pages() {
    let demo = spawn_demo_app().await;
    let expected = segments_by_call(&demo, "", "s.queue_id, s.queued_at_utc").await;
    let calls = demo.sql_strings(&format!("SELECT c.id {CALLS} ORDER BY c.id")).await;
    let pages = demo
        .pages(
            "Calls?$select=id,QueueSegments&$expand=QueueSegments($select=queueId,queuedAtUTC)",
            &[("Prefer", "odata.maxpagesize=400")],
        )
        .await;
    assert!(pages.bodies.len() > 2, "several pages");
    for body in &pages.bodies {
        let context = body["@odata.context"].as_str().expect("a context");
        assert!(context.ends_with("/$metadata#Calls(id,QueueSegments)"), "{context}");
    }
    let ids: Vec<&str> = pages.entities.iter().map(|e| e["id"].as_str().expect("id")).collect();
    assert_eq!(ids, calls, "every call once, in key order");
    let mut with_segments = 0;
    for entity in &pages.entities {
        let segments = entity["QueueSegments"].as_array().unwrap_or_else(|| panic!("an array in {entity}"));
        let got: Vec<(String, String)> = segments.iter().map(segment).collect();
        let want = expected.get(entity["id"].as_str().unwrap()).cloned().unwrap_or_default();
        assert_eq!(got, want, "the segments of {}", entity["id"]);
        for s in segments {
            assert_eq!(s.as_object().unwrap().len(), 2, "only the nested $select: {s}");
        }
        with_segments += usize::from(!segments.is_empty());
    }
    assert!(with_segments > 100, "most calls waited in a queue ({with_segments})");
}

#[tokio::test]
async fn nested_filter_orderby_top_skip_and_count_apply_per_call() {
    let demo = spawn_demo_app().await;
    let reason = "CallbackRequested";
    let filtered = format!("AND s.dequeued_reason IS DISTINCT FROM '{reason}'");
    let expected = segments_by_call(&demo, &filtered, "s.queued_at_utc DESC, s.queue_id").await;
    let body = demo
        .json(&format!(
            "Calls?$select=id&$top=300&$expand={}",
            enc(&format!(
                "QueueSegments($filter=dequeuedReason ne '{reason}';$orderby=queuedAtUTC desc;$skip=1;$top=2;$count=true;$select=queueId,queuedAtUTC,dequeuedReason)"
            ))
        ))
        .await;
    let entities = body["value"].as_array().expect("value");
    assert_eq!(entities.len(), 300);
    let mut counted = 0;
    for entity in entities {
        let all = expected.get(entity["id"].as_str().unwrap()).cloned().unwrap_or_default();
        let want: Vec<_> = all.iter().skip(1).take(2).cloned().collect();
        let segments = entity["QueueSegments"].as_array().expect("an array");
        assert_eq!(segments.iter().map(segment).collect::<Vec<_>>(), want, "{entity}");
        assert!(segments.iter().all(|s| s["dequeuedReason"] != reason));
        assert_eq!(entity["QueueSegments@odata.count"], all.len(), "the count ignores $top and $skip: {entity}");
        counted += usize::from(all.len() > 1);
    }
    assert!(counted > 0, "some calls have more than one matching segment");
}
