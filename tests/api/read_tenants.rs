//! Tenant scoping over HTTP: a caller signed in for `contoso` never sees a row of the
//! demo's other tenant, `fabrikam`, whatever the entity set, the key or the filter.

use crate::support::demo::{DemoApp, OTHER_TENANT, TENANT, difference, enc, odata_error, spawn_demo_app, strings};
use odata_feed::odata::model::{EntitySet, Model};
use reqwest::StatusCode;
use serde_json::json;
use std::collections::BTreeSet;

/// `FROM <table> WHERE tenant_id = '<tenant>'` plus the set's row filter (Calls are the Voice
/// conversations, and so on).
fn from(set: &EntitySet, tenant: &str) -> String {
    let mut sql = format!("FROM {} WHERE tenant_id = '{tenant}'", set.table);
    if let Some(filter) = &set.row_filter {
        sql.push_str(&format!(" AND {} = '{}'", filter.column, filter.value));
    }
    sql
}

async fn count(demo: &DemoApp, path: &str) -> i64 {
    let response = demo.get(path).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    let text = response.text().await.expect("a body");
    text.parse().unwrap_or_else(|_| panic!("{path}: not a count: {text}"))
}

#[tokio::test]
async fn every_entity_set_counts_only_the_rows_of_the_callers_tenant() {
    let demo = spawn_demo_app().await;
    let model = Model::load().expect("the model loads");
    let mut shared_sets = 0;
    let mut failures = Vec::new();
    for set in model.entity_sets() {
        let own = demo.sql_count(&format!("SELECT count(*) {}", from(set, TENANT))).await;
        let other = demo.sql_count(&format!("SELECT count(*) {}", from(set, OTHER_TENANT))).await;
        if other > 0 {
            shared_sets += 1;
        }
        let served = count(&demo, &format!("{}/$count", set.name)).await;
        if served != own {
            failures.push(format!("{}: {served} served, {own} of {TENANT} and {other} of {OTHER_TENANT}", set.name));
        }
        let body = demo.json(&format!("{}?$top=1&$count=true", set.name)).await;
        if body["@odata.count"] != json!(own) {
            failures.push(format!("{}: @odata.count {} but {own} of {TENANT}", set.name, body["@odata.count"]));
        }
    }
    assert!(shared_sets >= 10, "the other tenant has rows in most sets ({shared_sets})");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn the_calls_of_the_other_tenant_are_never_served() {
    let demo = spawn_demo_app().await;
    let model = Model::load().expect("the model loads");
    let calls = model.entity_set("Calls").expect("Calls");
    let own = demo.sql_strings(&format!("SELECT id {} ORDER BY id", from(calls, TENANT))).await;
    let foreign = demo.sql_strings(&format!("SELECT id {} ORDER BY id", from(calls, OTHER_TENANT))).await;
    assert!(!foreign.is_empty());

    let pages = demo.pages("Calls?$select=id", &[("Prefer", "odata.maxpagesize=500")]).await;
    let served = strings(&pages.entities, "id");
    assert_eq!(served, own, "{}", difference(&own, &served));

    // By key, by filter and by count, a call of the other tenant does not exist.
    for id in foreign.iter().take(5) {
        odata_error(demo.get(&format!("Calls('{id}')")).await, StatusCode::NOT_FOUND).await;
        odata_error(demo.get(&format!("Calls('{id}')/durationInSeconds")).await, StatusCode::NOT_FOUND).await;
    }
    let list = foreign.iter().take(50).map(|id| format!("'{id}'")).collect::<Vec<_>>().join(",");
    assert_eq!(count(&demo, &format!("Calls/$count?$filter=id%20in%20({list})")).await, 0);
    let with_own = format!("{list},'{}'", own[0]);
    let body = demo.json(&format!("Calls?$count=true&$select=id&$filter=id%20in%20({with_own})")).await;
    assert_eq!(body["@odata.count"], json!(1));
    assert_eq!(strings(body["value"].as_array().expect("a value array"), "id"), [own[0].clone()]);
}

#[tokio::test]
async fn a_queue_segment_of_the_other_tenant_is_not_found_by_its_key() {
    let demo = spawn_demo_app().await;
    let rows = demo
        .sql(&format!(
            "SELECT conversation_id, queue_id, to_char(queued_at_utc AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') \
             FROM queue_segments WHERE tenant_id = '{OTHER_TENANT}' ORDER BY 1, 2, 3 LIMIT 3"
        ))
        .await;
    assert!(!rows.is_empty());
    for row in rows {
        let (conversation, queue, queued): (String, String, String) = (row.get(0), row.get(1), row.get(2));
        let path = format!("QueueSegments(conversationId='{conversation}',queueId='{queue}',queuedAtUTC={queued})");
        odata_error(demo.get(&path).await, StatusCode::NOT_FOUND).await;
    }
}

#[tokio::test]
async fn a_key_that_both_tenants_use_reads_the_callers_row() {
    let demo = spawn_demo_app().await;
    // Agent state numbers start at 1 in each tenant, so low numbers exist twice.
    let rows = demo
        .sql(&format!(
            "SELECT o.id, o.agent_id, o.state FROM agent_states o JOIN agent_states f ON f.id = o.id \
             AND f.tenant_id = '{OTHER_TENANT}' WHERE o.tenant_id = '{TENANT}' \
             AND (o.agent_id <> f.agent_id OR o.state <> f.state) ORDER BY o.id LIMIT 5"
        ))
        .await;
    assert!(!rows.is_empty(), "the tenants share state numbers with different contents");
    let mut seen = BTreeSet::new();
    for row in rows {
        let id: i64 = row.get(0);
        let entity = demo.json(&format!("AgentStates({id})")).await;
        assert_eq!(entity["agentID"], json!(row.get::<_, String>(1)), "AgentStates({id})");
        assert_eq!(entity["state"], json!(row.get::<_, String>(2)), "AgentStates({id})");
        seen.insert(id);
    }
    let filter = enc(&format!("id le {}", seen.last().expect("an id")));
    let own = demo
        .sql_count(&format!(
            "SELECT count(*) FROM agent_states WHERE tenant_id = '{TENANT}' AND id <= {}",
            seen.last().expect("an id")
        ))
        .await;
    assert_eq!(count(&demo, &format!("AgentStates/$count?$filter={filter}")).await, own);
}
