//! `$expand` of single-valued navigation properties: the Power BI form (the navigation
//! property in the outer `$select`, a nested `$select`), the related entity or null, paging,
//! nested `$filter` and `$expand`, and clear errors for what cannot be expanded. Compared with
//! SQL joins over the demo data.

use crate::support::demo::{enc, odata_error, spawn_demo_app};
use reqwest::StatusCode;
use serde_json::Value;

const JOIN: &str = "FROM conversations c LEFT JOIN channels ch ON ch.tenant_id = c.tenant_id AND ch.id = c.channel_id \
                    WHERE c.tenant_id = 'contoso' AND c.media = 'Voice'";

#[tokio::test]
async fn the_power_bi_form_expands_the_channel_of_every_call() {
    let demo = spawn_demo_app().await;
    let rows = demo.sql(&format!("SELECT c.id, ch.name {JOIN} ORDER BY c.id")).await;
    let pages = demo
        .pages("Calls?$select=id,Channel&$expand=Channel($select=name)", &[("Prefer", "odata.maxpagesize=700")])
        .await;
    assert!(pages.bodies.len() > 1, "several pages");
    for body in &pages.bodies {
        let context = body["@odata.context"].as_str().expect("a context");
        assert!(context.ends_with("/$metadata#Calls(id,Channel)"), "{context}");
    }
    assert_eq!(pages.entities.len(), rows.len());
    for (entity, row) in pages.entities.iter().zip(&rows) {
        assert_eq!(entity["id"], row.get::<_, String>(0).as_str());
        let channel = entity["Channel"].as_object().unwrap_or_else(|| panic!("an expanded channel in {entity}"));
        assert_eq!(channel.len(), 1, "only the nested $select: {entity}");
        assert_eq!(channel["name"], Value::from(row.get::<_, Option<String>>(1)));
    }
}

#[tokio::test]
async fn an_expansion_without_a_related_entity_is_null_and_without_select_carries_every_property() {
    let demo = spawn_demo_app().await;
    let body = demo.json("Calls?$expand=NextConversation($select=id)&$select=id&$top=50").await;
    let with_next = demo
        .sql_strings(
            "SELECT id FROM conversations WHERE tenant_id = 'contoso' AND media = 'Voice' ORDER BY id LIMIT 50",
        )
        .await;
    let next = demo
        .sql(&format!(
            "SELECT c.next_conversation_id FROM conversations c WHERE c.tenant_id = 'contoso' AND c.id IN ({}) ORDER BY c.id",
            with_next.iter().map(|id| format!("'{id}'")).collect::<Vec<_>>().join(",")
        ))
        .await;
    let entities = body["value"].as_array().expect("value");
    assert!(entities.iter().any(|e| e["NextConversation"].is_null()), "most calls continue nowhere");
    for (entity, row) in entities.iter().zip(&next) {
        let expected: Option<String> = row.get(0);
        match expected {
            Some(id) => assert_eq!(entity["NextConversation"]["id"], id.as_str()),
            None => assert!(entity["NextConversation"].is_null(), "{entity}"),
        }
    }

    let body = demo.json("Calls?$expand=Channel&$top=1").await;
    assert!(body["@odata.context"].as_str().unwrap().ends_with("#Calls(*,Channel)"), "{body}");
    let channel = body["value"][0]["Channel"].as_object().expect("an expanded channel");
    for property in ["id", "name", "channelType", "businessUnitId", "deletedAt"] {
        assert!(channel.contains_key(property), "`{property}` in {channel:?}");
    }
}

#[tokio::test]
async fn a_nested_filter_makes_the_related_entity_null_and_nested_expansions_follow_joins() {
    let demo = spawn_demo_app().await;
    let rows = demo
        .sql(
            "SELECT c.id, ch.name, bu.name FROM conversations c \
             LEFT JOIN channels ch ON ch.tenant_id = c.tenant_id AND ch.id = c.channel_id \
             LEFT JOIN business_units bu ON bu.tenant_id = ch.tenant_id AND bu.id = ch.business_unit_id \
             WHERE c.tenant_id = 'contoso' AND c.media = 'Voice' ORDER BY c.id LIMIT 200",
        )
        .await;
    let kept: String = rows[0].get::<_, Option<String>>(1).expect("the first call has a channel");
    let expand = format!("Channel($select=name;$filter=name eq '{kept}';$expand=BusinessUnit($select=name))");
    let body = demo.json(&format!("Calls?$select=id&$top=200&$expand={}", enc(&expand))).await;
    let entities = body["value"].as_array().expect("value");
    assert_eq!(entities.len(), rows.len());
    let mut nulls = 0;
    for (entity, row) in entities.iter().zip(&rows) {
        let channel: Option<String> = row.get(1);
        if channel.as_deref() == Some(kept.as_str()) {
            assert_eq!(entity["Channel"]["name"], kept.as_str(), "{entity}");
            assert_eq!(entity["Channel"]["BusinessUnit"]["name"], Value::from(row.get::<_, Option<String>>(2)));
        } else {
            assert!(entity["Channel"].is_null(), "filtered out: {entity}");
            nulls += 1;
        }
    }
    assert!(nulls > 0, "the filter removed some channels");
}

#[tokio::test]
async fn what_cannot_be_expanded_is_refused_clearly() {
    let demo = spawn_demo_app().await;
    for expand in [
        "NoSuchNavigation",
        "Channel,Channel",
        "Channel($select=nope)",
        "Channel($top=1)",
        "Channel/$count",
        "QueueSegments($filter=nope eq 1)",
        "Workitems($expand=Agent($expand=Workitems($expand=Agent)))",
        "NextConversation($levels=9)",
        "*($levels=3)",
    ] {
        odata_error(demo.get(&format!("Calls?$expand={}", enc(expand))).await, StatusCode::BAD_REQUEST).await;
    }
    odata_error(
        demo.get(&format!("Calls?$expand={}", enc("QueueSegments($search=x)"))).await,
        StatusCode::NOT_IMPLEMENTED,
    )
    .await;
}
