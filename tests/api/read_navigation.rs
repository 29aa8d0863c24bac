//! Navigation paths in the resource path: `Calls('x')/QueueSegments` (a collection with every
//! query option and paging), `.../QueueSegments/$count`, `Workitem('w')/Agent` (one entity, or
//! 204 when there is none), and 404 when the entity the path starts from does not exist for the
//! tenant (another media's row, another tenant's row, no row); and navigation in expressions:
//! any/all, single-valued paths of one or more steps from the row or a lambda variable, and
//! lambdas over a collection reached through them. Compared with SQL.

use crate::support::demo::{enc, odata_error, spawn_demo_app};
use reqwest::StatusCode;
use serde_json::Value;

const CALLS: &str = "FROM conversations WHERE tenant_id = 'contoso' AND media = 'Voice'";

fn strings(entities: &[Value], property: &str) -> Vec<String> {
    entities.iter().map(|e| e[property].as_str().unwrap_or_else(|| panic!("`{property}` in {e}")).to_owned()).collect()
}

#[tokio::test]
async fn the_queue_segments_of_a_call_are_those_sql_finds_with_options_and_paging() {
    let demo = spawn_demo_app().await;
    let call = demo
        .sql_strings(&format!(
            "SELECT id {CALLS} AND (SELECT count(*) FROM queue_segments s WHERE s.tenant_id = 'contoso' \
             AND s.conversation_id = conversations.id) >= 2 ORDER BY id LIMIT 1"
        ))
        .await
        .pop()
        .expect("a call with at least two queue segments");
    let expected = demo
        .sql_strings(&format!(
            "SELECT queue_id FROM queue_segments WHERE tenant_id = 'contoso' AND conversation_id = '{call}' \
             ORDER BY conversation_id, queue_id, queued_at_utc"
        ))
        .await;

    let body = demo.json(&format!("Calls('{call}')/QueueSegments")).await;
    assert!(body["@odata.context"].as_str().unwrap().ends_with("/$metadata#QueueSegments"), "{body}");
    assert_eq!(strings(body["value"].as_array().unwrap(), "queueId"), expected);

    let pages = demo
        .pages(
            &format!("Calls('{call}')/QueueSegments?$select=queueId&$count=true"),
            &[("Prefer", "odata.maxpagesize=1")],
        )
        .await;
    assert_eq!(pages.bodies.len(), expected.len(), "one segment per page");
    assert!(pages.bodies.iter().all(|b| b["@odata.count"] == expected.len()), "the count covers the call's segments");
    assert_eq!(strings(&pages.entities, "queueId"), expected);

    let first = &expected[0];
    let filtered =
        demo.json(&format!("Calls('{call}')/QueueSegments?$filter={}", enc(&format!("queueId eq '{first}'")))).await;
    assert_eq!(
        strings(filtered["value"].as_array().unwrap(), "queueId"),
        expected.iter().filter(|q| *q == first).cloned().collect::<Vec<_>>()
    );

    let count = demo.get(&format!("Calls('{call}')/QueueSegments/$count")).await;
    assert_eq!(count.status(), StatusCode::OK);
    assert_eq!(count.text().await.unwrap(), expected.len().to_string());
}

#[tokio::test]
async fn a_single_valued_navigation_reads_the_related_entity_or_answers_no_content() {
    let demo = spawn_demo_app().await;
    let rows = demo
        .sql(
            "SELECT w.id, w.agent_id FROM workitems w WHERE w.tenant_id = 'contoso' AND w.agent_id IS NOT NULL \
             ORDER BY w.id LIMIT 1",
        )
        .await;
    let (workitem, agent): (String, String) = (rows[0].get(0), rows[0].get(1));
    let body = demo.json(&format!("Workitem('{workitem}')/Agent")).await;
    assert!(body["@odata.context"].as_str().unwrap().ends_with("/$metadata#Agents/$entity"), "{body}");
    assert_eq!(body["id"], agent.as_str());

    let without_next =
        demo.sql_strings(&format!("SELECT id {CALLS} AND next_conversation_id IS NULL ORDER BY id LIMIT 1")).await;
    let response = demo.get(&format!("Calls('{}')/NextConversation", without_next[0])).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn a_path_from_an_entity_the_tenant_cannot_see_is_not_found() {
    let demo = spawn_demo_app().await;
    let chat = demo
        .sql_strings("SELECT id FROM conversations WHERE tenant_id = 'contoso' AND media = 'Chat' ORDER BY id LIMIT 1")
        .await;
    let foreign = demo
        .sql_strings(
            "SELECT id FROM conversations WHERE tenant_id = 'fabrikam' AND media = 'Voice' AND id NOT IN \
             (SELECT id FROM conversations WHERE tenant_id = 'contoso') ORDER BY id LIMIT 1",
        )
        .await;
    for parent in ["no-such-call", chat[0].as_str(), foreign[0].as_str()] {
        for tail in ["QueueSegments", "QueueSegments/$count", "Channel"] {
            odata_error(demo.get(&format!("Calls('{parent}')/{tail}")).await, StatusCode::NOT_FOUND).await;
        }
    }
}

#[tokio::test]
async fn navigation_paths_refuse_what_does_not_apply_to_them() {
    let demo = spawn_demo_app().await;
    let call = demo.sql_strings(&format!("SELECT id {CALLS} ORDER BY id LIMIT 1")).await;
    let call = &call[0];
    for (tail, status) in [
        ("Channel/$count", StatusCode::BAD_REQUEST),
        ("QueueSegments/$value", StatusCode::BAD_REQUEST),
        ("NoSuchNavigation", StatusCode::NOT_FOUND),
    ] {
        odata_error(demo.get(&format!("Calls('{call}')/{tail}")).await, status).await;
    }
    odata_error(demo.get(&format!("Calls('{call}')/Channel?$top=1")).await, StatusCode::BAD_REQUEST).await;
}

/// Every call id the feed answers for `filter`, in key order, across pages.
async fn call_ids(demo: &crate::support::demo::DemoApp, filter: &str) -> Vec<String> {
    let pages = demo.pages(&format!("Calls?$select=id&$filter={}", enc(filter)), &[]).await;
    strings(&pages.entities, "id")
}

#[tokio::test]
async fn any_and_all_over_queue_segments_match_exists_in_sql() {
    let demo = spawn_demo_app().await;
    let reason = demo
        .sql_strings(
            "SELECT dequeued_reason FROM queue_segments WHERE tenant_id = 'contoso' AND dequeued_reason IS NOT NULL \
             GROUP BY 1 ORDER BY count(*) DESC LIMIT 1",
        )
        .await
        .pop()
        .expect("a dequeue reason");
    let segments = "FROM queue_segments s WHERE s.tenant_id = 'contoso' AND s.conversation_id = c.id";
    let calls = "FROM conversations c WHERE c.tenant_id = 'contoso' AND c.media = 'Voice'";
    let cases = [
        (
            format!("QueueSegments/any(s: s/dequeuedReason eq '{reason}' and s/durationInSeconds gt 30)"),
            format!("EXISTS (SELECT 1 {segments} AND s.dequeued_reason = '{reason}' AND s.duration_seconds > 30)"),
        ),
        (
            format!("QueueSegments/all(s: s/dequeuedReason eq '{reason}')"),
            format!("NOT EXISTS (SELECT 1 {segments} AND NOT coalesce(s.dequeued_reason = '{reason}', false))"),
        ),
        ("QueueSegments/any()".to_owned(), format!("EXISTS (SELECT 1 {segments})")),
        (
            "not QueueSegments/any(s: s/durationInSeconds gt $it/durationInSeconds)".to_owned(),
            format!("NOT EXISTS (SELECT 1 {segments} AND s.duration_seconds > c.duration_seconds)"),
        ),
    ];
    for (filter, condition) in cases {
        let expected = demo.sql_strings(&format!("SELECT c.id {calls} AND {condition} ORDER BY c.id")).await;
        assert!(!expected.is_empty(), "the demo data has calls for `{filter}`");
        assert_eq!(call_ids(&demo, &filter).await, expected, "{filter}");
    }
}

#[tokio::test]
async fn a_single_valued_navigation_path_filters_and_orders_like_a_join() {
    let demo = spawn_demo_app().await;
    let channel = demo
        .sql_strings(
            "SELECT ch.name FROM conversations c JOIN channels ch ON ch.tenant_id = c.tenant_id AND ch.id = c.channel_id \
             WHERE c.tenant_id = 'contoso' AND c.media = 'Voice' GROUP BY 1 ORDER BY count(*) LIMIT 1",
        )
        .await
        .pop()
        .expect("a channel with calls");
    let expected = demo
        .sql_strings(&format!(
            "SELECT c.id FROM conversations c JOIN channels ch ON ch.tenant_id = c.tenant_id AND ch.id = c.channel_id \
             WHERE c.tenant_id = 'contoso' AND c.media = 'Voice' AND ch.name = '{}' ORDER BY c.id",
            channel.replace('\'', "''")
        ))
        .await;
    let filter = format!("Channel/name eq '{}'", channel.replace('\'', "''"));
    assert_eq!(call_ids(&demo, &filter).await, expected);

    let ordered = demo
        .sql_strings(
            "SELECT c.id FROM conversations c LEFT JOIN channels ch ON ch.tenant_id = c.tenant_id AND ch.id = c.channel_id \
             WHERE c.tenant_id = 'contoso' AND c.media = 'Voice' ORDER BY ch.name DESC NULLS LAST, c.id",
        )
        .await;
    let pages = demo.pages("Calls?$select=id&$orderby=Channel/name desc", &[("Prefer", "odata.maxpagesize=500")]).await;
    assert_eq!(strings(&pages.entities, "id"), ordered, "ordered by the channel's name across pages");
}

/// `s` quoted as an OData and SQL string literal (both double the quote).
fn quoted(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

const CALLS_BUSINESS_UNITS: &str = "FROM conversations c \
     LEFT JOIN channels ch ON ch.tenant_id = c.tenant_id AND ch.id = c.channel_id \
     LEFT JOIN business_units b ON b.tenant_id = ch.tenant_id AND b.id = ch.business_unit_id \
     WHERE c.tenant_id = 'contoso' AND c.media = 'Voice'";

#[tokio::test]
async fn a_path_of_two_navigation_steps_filters_and_orders_like_two_joins() {
    let demo = spawn_demo_app().await;
    let unit = demo
        .sql_strings(&format!(
            "SELECT b.name {CALLS_BUSINESS_UNITS} AND b.name IS NOT NULL GROUP BY 1 ORDER BY count(*), 1 LIMIT 1"
        ))
        .await
        .pop()
        .expect("a business unit whose channels have calls");
    let unit = quoted(&unit);
    let all = demo.sql_count(&format!("SELECT count(*) {CALLS_BUSINESS_UNITS}")).await;
    for (filter, condition) in [
        (format!("Channel/BusinessUnit/name eq {unit}"), format!("b.name = {unit}")),
        (format!("Channel/BusinessUnit/name ne {unit}"), format!("b.name IS DISTINCT FROM {unit}")),
        (
            format!("$it/Channel/BusinessUnit/name eq {unit} and Channel/name ne null"),
            format!("b.name = {unit} AND ch.name IS NOT NULL"),
        ),
        (
            format!("Channel/BusinessUnit/name eq null or Channel/BusinessUnit/name eq {unit}"),
            format!("(b.name IS NULL OR b.name = {unit})"),
        ),
    ] {
        let expected =
            demo.sql_strings(&format!("SELECT c.id {CALLS_BUSINESS_UNITS} AND {condition} ORDER BY c.id")).await;
        assert!(!expected.is_empty() && (expected.len() as i64) < all, "the demo data tells `{filter}` apart");
        assert_eq!(call_ids(&demo, &filter).await, expected, "{filter}");
    }

    // Ascending order puts calls without a channel or business unit (null) first, as OData says.
    let ordered =
        demo.sql_strings(&format!("SELECT c.id {CALLS_BUSINESS_UNITS} ORDER BY b.name ASC NULLS FIRST, c.id")).await;
    let pages = demo
        .pages("Calls?$select=id&$orderby=Channel/BusinessUnit/name,id", &[("Prefer", "odata.maxpagesize=300")])
        .await;
    assert!(pages.bodies.len() > 1, "the order is followed across pages");
    assert_eq!(strings(&pages.entities, "id"), ordered);
}

#[tokio::test]
async fn a_lambda_variable_starts_paths_of_navigation_steps_and_nested_lambdas() {
    let demo = spawn_demo_app().await;
    let queue = demo
        .sql_strings(
            "SELECT q.name FROM queue_segments s JOIN queues q ON q.tenant_id = s.tenant_id AND q.id = s.queue_id \
             JOIN conversations c ON c.tenant_id = s.tenant_id AND c.id = s.conversation_id AND c.media = 'Voice' \
             WHERE s.tenant_id = 'contoso' GROUP BY 1 ORDER BY count(*), 1 LIMIT 1",
        )
        .await
        .pop()
        .expect("a queue calls waited in");
    let queue = quoted(&queue);
    let agent = demo
        .sql_strings(
            "SELECT w.agent_id FROM workitems w JOIN queue_segments s ON s.tenant_id = w.tenant_id \
             AND s.conversation_id = w.primary_conversation_id WHERE w.tenant_id = 'contoso' \
             GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1",
        )
        .await
        .pop()
        .expect("an agent with tasks from queued conversations");
    let agent = quoted(&agent);
    let unit = demo
        .sql_strings(&format!(
            "SELECT b.name {CALLS_BUSINESS_UNITS} AND b.name IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"
        ))
        .await
        .pop()
        .expect("a business unit with calls");
    let unit = quoted(&unit);
    let segments = "FROM queue_segments s WHERE s.tenant_id = 'contoso' AND s.conversation_id = c.id";
    let queue_of = "(SELECT q.name FROM queues q WHERE q.tenant_id = s.tenant_id AND q.id = s.queue_id)";
    let unit_of_queue = "(SELECT b.name FROM queues q JOIN channels ch ON ch.tenant_id = q.tenant_id \
         AND ch.id = q.channel_id JOIN business_units b ON b.tenant_id = ch.tenant_id AND b.id = ch.business_unit_id \
         WHERE q.tenant_id = s.tenant_id AND q.id = s.queue_id)";
    let workitems = "FROM conversations sc JOIN workitems w ON w.tenant_id = sc.tenant_id \
         AND w.primary_conversation_id = sc.id WHERE sc.tenant_id = s.tenant_id AND sc.id = s.conversation_id";
    let cases = [
        (
            format!("QueueSegments/any(s: s/Queue/Name eq {queue})"),
            format!("EXISTS (SELECT 1 {segments} AND {queue_of} = {queue})"),
        ),
        (
            format!("QueueSegments/all(s: s/Queue/Channel/BusinessUnit/name eq {unit})"),
            format!("NOT EXISTS (SELECT 1 {segments} AND NOT coalesce({unit_of_queue} = {unit}, false))"),
        ),
        (
            format!("QueueSegments/any(s: s/Conversation/Workitems/any(w: w/agentId eq {agent}))"),
            format!("EXISTS (SELECT 1 {segments} AND EXISTS (SELECT 1 {workitems} AND w.agent_id = {agent}))"),
        ),
        (
            format!("QueueSegments/any(s: s/Queue/Name eq {queue} and s/Conversation/Workitems/any())"),
            format!("EXISTS (SELECT 1 {segments} AND {queue_of} = {queue} AND EXISTS (SELECT 1 {workitems}))"),
        ),
    ];
    let calls = "FROM conversations c WHERE c.tenant_id = 'contoso' AND c.media = 'Voice'";
    let all = demo.sql_count(&format!("SELECT count(*) {calls}")).await;
    for (filter, condition) in cases {
        let expected = demo.sql_strings(&format!("SELECT c.id {calls} AND {condition} ORDER BY c.id")).await;
        assert!(!expected.is_empty() && (expected.len() as i64) < all, "the demo data tells `{filter}` apart");
        assert_eq!(call_ids(&demo, &filter).await, expected, "{filter}");
    }
}

#[tokio::test]
async fn a_lambda_over_a_collection_behind_a_single_valued_navigation_is_exists_over_the_join() {
    let demo = spawn_demo_app().await;
    let queue = demo
        .sql_strings(
            "SELECT queue_id FROM workitems WHERE tenant_id = 'contoso' AND queue_id IS NOT NULL \
             GROUP BY 1 ORDER BY count(*), 1 LIMIT 1",
        )
        .await
        .pop()
        .expect("a queue tasks came from");
    let queue = quoted(&queue);
    let expected = demo
        .sql_strings(&format!(
            "SELECT t.id FROM workitems t WHERE t.tenant_id = 'contoso' AND EXISTS (SELECT 1 FROM agents a \
             JOIN workitems w ON w.tenant_id = a.tenant_id AND w.agent_id = a.id \
             WHERE a.tenant_id = t.tenant_id AND a.id = t.agent_id AND w.queue_id = {queue}) ORDER BY t.id"
        ))
        .await;
    assert!(!expected.is_empty(), "tasks of agents who took one from {queue}");
    let filter = format!("Agent/Workitems/any(w: w/queueID eq {queue})");
    let pages = demo.pages(&format!("Workitem?$select=id&$filter={}", enc(&filter)), &[]).await;
    assert_eq!(strings(&pages.entities, "id"), expected, "{filter}");
}
