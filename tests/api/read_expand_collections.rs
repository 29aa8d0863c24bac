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

#[tokio::test]
async fn expansions_nest_three_levels_through_collections_and_single_entities() {
    let demo = spawn_demo_app().await;
    let expand = "Workitems($select=id;$expand=CollectedData($select=name),Agent($select=name;$expand=AgentStates($select=id;$top=1;$count=true)))";
    let body = demo.json(&format!("Calls?$select=id&$top=400&$expand={}", enc(expand))).await;
    let calls = body["value"].as_array().expect("value");
    let rows = demo
        .sql(&format!(
            "WITH page AS (SELECT c.id {CALLS} ORDER BY c.id LIMIT 400) \
             SELECT p.id, w.id, a.name, \
                    (SELECT string_agg(d.name, ',' ORDER BY d.name, d.created_at_utc) FROM collected_data d \
                      WHERE d.tenant_id = 'contoso' AND d.workitem_id = w.id), \
                    (SELECT count(*) FROM agent_states s WHERE s.tenant_id = 'contoso' AND s.agent_id = a.id), \
                    (SELECT min(s.id) FROM agent_states s WHERE s.tenant_id = 'contoso' AND s.agent_id = a.id) \
             FROM page p JOIN workitems w ON w.tenant_id = 'contoso' AND w.primary_conversation_id = p.id \
             LEFT JOIN agents a ON a.tenant_id = 'contoso' AND a.id = w.agent_id ORDER BY p.id, w.id"
        ))
        .await;
    let mut expected: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for row in &rows {
        let agent = row.get::<_, Option<String>>(2).map(|name| {
            let states: i64 = row.get(4);
            let first: Option<i64> = row.get(5);
            serde_json::json!({
                "name": name,
                "AgentStates@odata.count": states,
                "AgentStates": first.map(|id| vec![serde_json::json!({"id": id})]).unwrap_or_default(),
            })
        });
        let data: Option<String> = row.get(3);
        let data: Vec<Value> =
            data.map(|names| names.split(',').map(|n| serde_json::json!({"name": n})).collect()).unwrap_or_default();
        expected.entry(row.get(0)).or_default().push(serde_json::json!({
            "id": row.get::<_, String>(1),
            "CollectedData": data,
            "Agent": agent,
        }));
    }
    let mut nested = 0;
    for call in calls {
        let want = expected.remove(call["id"].as_str().unwrap()).unwrap_or_default();
        let got = call["Workitems"].as_array().unwrap_or_else(|| panic!("Workitems in {call}"));
        assert_eq!(got, &want, "the workitems of {}", call["id"]);
        nested += got.iter().filter(|w| w["AgentStates@odata.count"].as_i64() > Some(0)).count()
            + got.iter().filter(|w| !w["Agent"]["AgentStates"].as_array().is_none_or(Vec::is_empty)).count();
    }
    assert!(nested > 0, "some workitems reach agent states three levels down");
    assert!(expected.is_empty(), "no workitem belongs to a call outside the page");
}

#[tokio::test]
async fn references_counts_star_and_levels_expand_as_odata_defines() {
    let demo = spawn_demo_app().await;
    let first = demo.sql_strings(&format!("SELECT c.id {CALLS} AND EXISTS (SELECT 1 FROM queue_segments s WHERE s.tenant_id = c.tenant_id AND s.conversation_id = c.id) ORDER BY c.id LIMIT 1")).await.remove(0);
    // `/$ref`: the related entities' ids, which can be read back.
    let body = demo.json(&format!("Calls('{first}')?$select=id&$expand=QueueSegments/$ref,Channel/$ref")).await;
    let references = body["QueueSegments"].as_array().expect("references");
    let segments = demo
        .sql_count(&format!(
            "SELECT count(*) FROM queue_segments WHERE tenant_id = 'contoso' AND conversation_id = '{first}'"
        ))
        .await;
    assert_eq!(references.len() as i64, segments);
    for reference in references {
        let id = reference["@odata.id"].as_str().expect("an @odata.id");
        assert_eq!(reference.as_object().unwrap().len(), 1, "{reference}");
        let entity = crate::support::demo::ok_json(demo.request(reqwest::Method::GET, id, &[]).await).await;
        assert_eq!(entity["conversationId"], first.as_str(), "{id} reads back the segment");
    }
    let channel = body["Channel"]["@odata.id"].as_str().expect("a channel reference");
    assert!(channel.starts_with(&format!("{}/Channels('", demo.root())), "{channel}");
    // `/$count`: only the number.
    let body = demo.json(&format!("Calls('{first}')?$select=id&$expand=QueueSegments/$count")).await;
    assert_eq!(body["QueueSegments@odata.count"], segments);
    assert!(body.get("QueueSegments").is_none(), "{body}");
    // `*`: every navigation property, collections as arrays and single entities as objects or null.
    let body = demo.json(&format!("Calls('{first}')?$expand=*")).await;
    for name in [
        "QueueSegments",
        "BotSegments",
        "RejectedEnqueueAttempts",
        "CapturedData",
        "Workitems",
        "WorkitemConversationSessions",
    ] {
        assert!(body[name].is_array(), "`{name}` in {body}");
    }
    for name in ["Channel", "BusinessUnit", "NextConversation"] {
        assert!(body[name].is_object() || body[name].is_null(), "`{name}` in {body}");
        assert!(body.as_object().unwrap().contains_key(name), "`{name}` in {body}");
    }
    assert_eq!(body["QueueSegments"].as_array().unwrap().len() as i64, segments);
    // `$levels`: the same navigation property again on the related entity.
    let chained = demo
        .sql(
            "SELECT c.id, n.id, n.next_conversation_id FROM conversations c \
             JOIN conversations n ON n.tenant_id = c.tenant_id AND n.id = c.next_conversation_id \
             WHERE c.tenant_id = 'contoso' AND c.media = 'Voice' ORDER BY c.id LIMIT 1",
        )
        .await;
    let row = chained.first().expect("some calls continue in another conversation");
    let (id, next, after): (String, String, Option<String>) = (row.get(0), row.get(1), row.get(2));
    let body = demo.json(&format!("Calls('{id}')?$select=id&$expand=NextConversation($levels=2;$select=id)")).await;
    assert_eq!(body["NextConversation"]["id"], next.as_str());
    match after {
        Some(after) => assert_eq!(body["NextConversation"]["NextConversation"]["id"], after.as_str()),
        None => assert!(body["NextConversation"]["NextConversation"].is_null(), "{body}"),
    }
}

/// Copies one `table` row of contoso matching `filter` to tenant `fabrikam`, with `changes`.
async fn copy_to_other_tenant(demo: &crate::support::demo::DemoApp, table: &str, filter: &str, changes: &str) {
    demo.sql(&format!(
        "INSERT INTO {table} SELECT (jsonb_populate_record(r, jsonb_build_object('tenant_id', 'fabrikam', {changes}))).* \
         FROM {table} r WHERE r.tenant_id = 'contoso' AND {filter} LIMIT 1 ON CONFLICT DO NOTHING"
    ))
    .await;
}

#[tokio::test]
async fn an_expansion_never_reaches_another_tenants_rows() {
    let database = crate::support::demo::fresh_demo_database().await;
    let demo = crate::support::demo::spawn_demo_app_with(database, |_| {}).await;
    let call = demo
        .sql_strings(&format!(
            "SELECT c.id {CALLS} AND c.channel_id IS NOT NULL AND EXISTS (SELECT 1 FROM workitems w \
             WHERE w.tenant_id = c.tenant_id AND w.primary_conversation_id = c.id AND w.agent_id IS NOT NULL) \
             AND EXISTS (SELECT 1 FROM queue_segments s WHERE s.tenant_id = c.tenant_id AND s.conversation_id = c.id) \
             ORDER BY c.id LIMIT 1"
        ))
        .await
        .remove(0);
    // Another tenant's rows that name this call, its channel, its queue and its agent.
    let of_call = format!("r.conversation_id = '{call}'");
    copy_to_other_tenant(&demo, "queue_segments", &of_call, "'queue_id', 'leak-queue'").await;
    let of_workitem = format!("r.primary_conversation_id = '{call}'");
    copy_to_other_tenant(&demo, "workitems", &of_workitem, "'id', 'leak-workitem'").await;
    // Lookup rows of the other tenant under the ids this call's rows use, named `leak-name`.
    for (table, column, source, foreign) in [
        ("channels", "channel_id", "conversations", "id"),
        ("queues", "queue_id", "queue_segments", "conversation_id"),
        ("agents", "agent_id", "workitems", "primary_conversation_id"),
    ] {
        let id = format!(
            "(SELECT {column} FROM {source} WHERE tenant_id = 'contoso' AND {foreign} = '{call}' AND {column} IS NOT NULL LIMIT 1)"
        );
        demo.sql(&format!("DELETE FROM {table} WHERE tenant_id = 'fabrikam' AND id = {id}")).await;
        copy_to_other_tenant(&demo, table, &format!("r.id = {id}"), "'name', 'leak-name', 'Name', 'leak-name'").await;
    }
    let leaked = demo
        .sql_count(
            "SELECT (SELECT count(*) FROM queue_segments WHERE tenant_id = 'fabrikam' AND queue_id = 'leak-queue') \
                    + (SELECT count(*) FROM workitems WHERE tenant_id = 'fabrikam' AND id = 'leak-workitem')",
        )
        .await;
    assert_eq!(leaked, 2, "the other tenant's rows are in place");

    let expand = "QueueSegments($count=true;$expand=Queue),Workitems($count=true;$expand=Agent($expand=Workitems/$count)),Channel,WorkitemConversationSessions/$count";
    let body = demo.json(&format!("Calls('{call}')?$expand={}", enc(expand))).await;
    let text = body.to_string();
    assert!(!text.contains("leak"), "another tenant's rows came through: {text}");
    let segments = demo
        .sql_count(&format!(
            "SELECT count(*) FROM queue_segments WHERE tenant_id = 'contoso' AND conversation_id = '{call}'"
        ))
        .await;
    assert_eq!(body["QueueSegments@odata.count"], segments);
    assert_eq!(body["QueueSegments"].as_array().unwrap().len() as i64, segments);
    assert!(body["QueueSegments"][0]["Queue"].is_object(), "{body}");
    assert!(body["Channel"].is_object() && body["Workitems"][0]["Agent"].is_object(), "{body}");
    // A lambda over the related rows sees only the tenant's rows too.
    let filter = enc("QueueSegments/any(s: s/queueId eq 'leak-queue')");
    let body = demo.json(&format!("Calls?$filter={filter}&$select=id")).await;
    assert_eq!(body["value"], serde_json::json!([]));
}

#[tokio::test]
async fn full_metadata_links_navigation_properties_that_are_not_expanded() {
    let demo = spawn_demo_app().await;
    let full = "$format=application/json;odata.metadata=full";
    let body = demo.json(&format!("Calls?$top=2&{full}")).await;
    let entity = &body["value"][0];
    let id = entity["@odata.id"].as_str().expect("an @odata.id");
    for navigation in ["Channel", "QueueSegments", "Workitems", "NextConversation"] {
        let link = entity[format!("{navigation}@odata.navigationLink")].as_str().unwrap_or_else(|| panic!("{entity}"));
        assert_eq!(link, format!("{id}/{navigation}"));
    }
    let segments = entity["QueueSegments@odata.navigationLink"].as_str().unwrap();
    let linked = crate::support::demo::ok_json(demo.request(reqwest::Method::GET, segments, &[]).await).await;
    assert!(linked["value"].is_array(), "{linked}");

    let body =
        demo.json(&format!("Calls?$top=2&$select=id,Channel&$expand=QueueSegments($select=queueId)&{full}")).await;
    let entity = body["value"][0].as_object().unwrap();
    assert!(entity.contains_key("Channel@odata.navigationLink"), "a selected navigation property is linked");
    assert!(!entity.contains_key("QueueSegments@odata.navigationLink"), "an expanded one is not: {entity:?}");
    assert!(!entity.contains_key("Workitems@odata.navigationLink"), "nor one left out of $select: {entity:?}");
    assert!(entity["QueueSegments"].is_array());
}

#[tokio::test]
async fn expansions_combine_with_skip_top_navigation_paths_and_omitted_nulls() {
    let demo = spawn_demo_app().await;
    let expand = enc("QueueSegments($select=queueId,queuedAtUTC)");
    let all = demo.json(&format!("Calls?$select=id&$top=40&$expand={expand}")).await;
    let slice = demo.json(&format!("Calls?$select=id&$skip=10&$top=5&$expand={expand}")).await;
    assert_eq!(slice["value"].as_array().unwrap()[..], all["value"].as_array().unwrap()[10..15], "$skip and $top");

    // From a navigation path: the call's segments, each with its queue.
    let call = all["value"].as_array().unwrap().iter().find(|c| !c["QueueSegments"].as_array().unwrap().is_empty());
    let call = call.expect("a call with segments")["id"].as_str().unwrap().to_owned();
    let body =
        demo.json(&format!("Calls('{call}')/QueueSegments?$select=queueId&$expand=Queue($select=id,Name)")).await;
    let segments = body["value"].as_array().expect("value");
    assert!(!segments.is_empty());
    for segment in segments {
        assert_eq!(segment["Queue"]["id"], segment["queueId"], "{segment}");
    }

    // Omitted nulls leave out a missing related entity, never an empty collection.
    let response = demo
        .get_with(
            &format!("Calls?$top=30&$select=id&$expand=NextConversation($select=id),{expand}"),
            &[("Prefer", "omit-values=nulls")],
        )
        .await;
    let body = crate::support::demo::ok_json(response).await;
    let calls = body["value"].as_array().expect("value");
    assert!(calls.iter().all(|c| c["QueueSegments"].is_array()), "{body}");
    assert!(calls.iter().any(|c| c.get("NextConversation").is_none()), "{body}");
    assert!(calls.iter().all(|c| c.get("NextConversation").is_none_or(Value::is_object)), "{body}");
}
