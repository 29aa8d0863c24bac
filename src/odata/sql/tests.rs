use super::*;
use crate::odata::{bind, model::Model, plan, uri};
use expect_test::{Expect, expect};
use std::sync::LazyLock;

static MODEL: LazyLock<Model> = LazyLock::new(|| Model::load().unwrap());

fn tenant() -> TenantScope {
    TenantScope::new("contoso", "Europe/Budapest")
}

fn key() -> plan::SigningKey {
    plan::SigningKey::new([7; 32])
}

/// The page query for `path?query`, as `text -- params`.
fn page_sql(path: &str, query: &str) -> String {
    let path = uri::parse_path(path).unwrap();
    let options = uri::parse_query(query).unwrap();
    let bound = bind::bind(&MODEL, &path, &options, bind::DEFAULT_EXPAND_DEPTH).unwrap();
    let scope = plan::scope_of("contoso", &path.set, &options);
    let plan = plan::read_plan(bound, &plan::Limits::default(), 5000, scope, &key()).unwrap();
    let (q, _) = select(&plan, &tenant());
    format!("{} -- {:?}", q.text, q.params)
}

fn check(path: &str, query: &str, expected: Expect) {
    expected.assert_eq(&page_sql(path, query));
}

/// Only the WHERE clause after the tenant and row filters, for expression cases.
fn check_filter(filter: &str, expected: Expect) {
    let sql = page_sql("Calls", &format!("$filter={filter}"));
    let start = sql.find("AND t.media = $2::text AND ").map(|i| i + 27).unwrap();
    let end = sql.find(" ORDER BY").unwrap();
    let params = &sql[sql.find(" -- ").unwrap() + 4..];
    expected.assert_eq(&format!("{} -- {params}", &sql[start..end]));
}

#[test]
fn a_plain_page_is_scoped_to_the_tenant_and_ordered_by_the_key() {
    check(
        "Calls",
        "$select=id,durationInSeconds",
        expect![[
            r#"SELECT t.id, t.duration_seconds FROM conversations t WHERE t.tenant_id = $1::text AND t.media = $2::text ORDER BY t.id ASC LIMIT 5001 -- ["contoso", "Voice"]"#
        ]],
    );
}

#[test]
fn a_skiptoken_on_the_key_becomes_an_index_friendly_row_comparison() {
    let options = uri::parse_query("$select=id").unwrap();
    let scope = plan::scope_of("contoso", "Calls", &options);
    let token =
        plan::skiptoken::encode(&plan::Cursor { delivered: 5000, values: vec![Some("c-9".into())] }, &scope, &key());
    check(
        "Calls",
        &format!("$select=id&$skiptoken={token}"),
        expect![[
            r#"SELECT t.id FROM conversations t WHERE t.tenant_id = $1::text AND t.media = $2::text AND (t.id) > ($3::text) ORDER BY t.id ASC LIMIT 5001 -- ["contoso", "Voice", "c-9"]"#
        ]],
    );
}

#[test]
fn a_nullable_descending_sort_key_pages_with_an_expanded_or_and_nulls_last() {
    let options = uri::parse_query("$select=id&$orderby=durationInSeconds desc").unwrap();
    let scope = plan::scope_of("contoso", "Calls", &options);
    let token = plan::skiptoken::encode(
        &plan::Cursor { delivered: 5000, values: vec![Some("42".into()), Some("c-9".into())] },
        &scope,
        &key(),
    );
    check(
        "Calls",
        &format!("$select=id&$orderby=durationInSeconds desc&$skiptoken={token}"),
        expect![[
            r#"SELECT t.id, (t.duration_seconds)::text FROM conversations t WHERE t.tenant_id = $1::text AND t.media = $2::text AND (((t.duration_seconds < $3::text::integer OR t.duration_seconds IS NULL)) OR ((t.duration_seconds = $4::text::integer) AND (t.id > $5::text))) ORDER BY t.duration_seconds DESC NULLS LAST, t.id ASC LIMIT 5001 -- ["contoso", "Voice", "42", "42", "c-9"]"#
        ]],
    );
}

#[test]
fn top_and_skip_limit_the_first_page_and_use_offset() {
    check(
        "Calls",
        "$select=id&$top=10&$skip=20",
        expect![[
            r#"SELECT t.id FROM conversations t WHERE t.tenant_id = $1::text AND t.media = $2::text ORDER BY t.id ASC LIMIT 10 OFFSET 20 -- ["contoso", "Voice"]"#
        ]],
    );
}

#[test]
fn a_composite_key_addresses_one_row() {
    check(
        "QueueSegments(conversationId='c1',queueId='q1',queuedAtUTC=2024-01-01T10:00:00Z)",
        "",
        expect![[
            r#"SELECT t.channel_id, t.conversation_id, t.dequeued_at_utc, t.dequeued_reason, t.duration_seconds, t.queue_id, t.queued_at_utc, (t.queued_at_utc)::text FROM queue_segments t WHERE t.tenant_id = $1::text AND (((t.conversation_id = $2::text) AND (t.queue_id = $3::text)) AND (t.queued_at_utc = $4::text::timestamptz)) ORDER BY t.conversation_id ASC, t.queue_id ASC, t.queued_at_utc ASC LIMIT 1 -- ["contoso", "c1", "q1", "2024-01-01T10:00:00Z"]"#
        ]],
    );
}

#[test]
fn decimals_are_read_as_text_so_they_never_take_an_exponent() {
    let sql = page_sql("Chats", "$select=averageAgentAnswerSpeedInSeconds");
    assert!(sql.contains("t.average_agent_answer_seconds::text"), "{sql}");
}

#[test]
fn comparisons_bind_literals_as_typed_parameters() {
    check_filter(
        "startedAtUTC ge 2024-01-01T00:00:00Z and startedAtUTC lt 2024-02-01T00:00:00%2B01:00",
        expect![[
            r#"((t.started_at_utc >= $3::text::timestamptz) AND (t.started_at_utc < $4::text::timestamptz)) -- ["contoso", "Voice", "2024-01-01T00:00:00Z", "2024-02-01T00:00:00+01:00"]"#
        ]],
    );
}

#[test]
fn eq_null_is_is_null_and_ne_is_distinct() {
    check_filter(
        "customerFirstName eq null or customerLastName ne 'Smith'",
        expect![[
            r#"((t.customer_first_name IS NULL) OR (t.customer_last_name IS DISTINCT FROM $3::text)) -- ["contoso", "Voice", "Smith"]"#
        ]],
    );
}

#[test]
fn a_comparison_under_not_treats_null_as_false() {
    check_filter(
        "not (durationInSeconds gt 30)",
        expect![[r#"(NOT coalesce((t.duration_seconds > $3::text::integer), FALSE)) -- ["contoso", "Voice", "30"]"#]],
    );
}

#[test]
fn string_functions_are_case_sensitive_and_exact() {
    check_filter(
        "contains(customerFirstName,'an') and startswith(customerLastName,'S') and endswith(id,'x') and tolower(customerFirstName) eq 'anna'",
        expect![[
            r#"((((strpos(t.customer_first_name, $3::text) > 0) AND starts_with(t.customer_last_name, $4::text)) AND (right(t.id, length($5::text)) = $6::text)) AND (lower(t.customer_first_name) = $7::text)) -- ["contoso", "Voice", "an", "S", "x", "x", "anna"]"#
        ]],
    );
}

#[test]
fn date_parts_of_a_local_time_use_the_tenant_zone() {
    check_filter(
        "year(startedAt) eq 2024 and hour(startedAtUTC) lt 8",
        expect![[
            r#"((extract(year from (t.started_at_utc AT TIME ZONE $3::text))::integer = $4::text::integer) AND (extract(hour from (t.started_at_utc AT TIME ZONE 'UTC'))::integer < $5::text::integer)) -- ["contoso", "Voice", "Europe/Budapest", "2024", "8"]"#
        ]],
    );
}

#[test]
fn arithmetic_on_integers_runs_in_64_bits() {
    check_filter(
        "durationInSeconds mul 1000 add holdDurationInSeconds gt 5 and durationInSeconds divby 60 ge 1.5",
        expect![[
            r#"((((((t.duration_seconds)::bigint * ($3::text::integer)::bigint))::bigint + (t.hold_seconds)::bigint) > $4::text::integer) AND (((t.duration_seconds)::numeric / ($5::text::integer)::numeric) >= $6::text::numeric)) -- ["contoso", "Voice", "1000", "5", "60", "1.5"]"#
        ]],
    );
}

#[test]
fn in_with_null_also_matches_null() {
    check_filter(
        "TransferInitiatedBy in ('Agent', null)",
        expect![[
            r#"(t.transfer_initiated_by IN ($3::text) OR t.transfer_initiated_by IS NULL) -- ["contoso", "Voice", "Agent"]"#
        ]],
    );
}

#[test]
fn parameter_aliases_are_bound_like_literals() {
    let sql = page_sql("Calls", "$filter=durationInSeconds gt @d&@d=30");
    assert!(sql.contains("t.duration_seconds > $3::text::integer"), "{sql}");
    assert!(sql.ends_with(r#"["contoso", "Voice", "30"]"#), "{sql}");
}

#[test]
fn the_count_query_applies_the_filter_but_not_the_paging() {
    let path = uri::parse_path("Calls").unwrap();
    let options = uri::parse_query("$filter=durationInSeconds gt 5&$top=3&$count=true").unwrap();
    let bound = bind::bind(&MODEL, &path, &options, bind::DEFAULT_EXPAND_DEPTH).unwrap();
    let plan = plan::read_plan(bound, &plan::Limits::default(), 5000, String::new(), &key()).unwrap();
    let q = count(&plan, &tenant());
    assert_eq!(
        q.text,
        "SELECT count(*) FROM conversations t WHERE t.tenant_id = $1::text AND t.media = $2::text AND (t.duration_seconds > $3::text::integer)"
    );
}

#[test]
fn a_column_behind_two_properties_is_read_once_and_selected_keys_are_reused() {
    let path = uri::parse_path("Calls").unwrap();
    let options = uri::parse_query("$select=startedAt,id,startedAtUTC&$orderby=startedAtUTC desc").unwrap();
    let bound = bind::bind(&MODEL, &path, &options, bind::DEFAULT_EXPAND_DEPTH).unwrap();
    let plan = plan::read_plan(bound, &plan::Limits::default(), 5000, String::new(), &key()).unwrap();
    let (q, layout) = select(&plan, &tenant());
    assert!(q.text.starts_with("SELECT t.id, t.started_at_utc, (t.started_at_utc)::text FROM"), "{}", q.text);
    // plan.columns are in model order: id, startedAt, startedAtUTC.
    assert_eq!(layout.entity.properties, [0, 1, 1]);
    assert_eq!(layout.sort_values, [SortColumn::Text(2), SortColumn::Text(0)]);
}

#[test]
fn a_navigation_path_restricts_rows_to_those_related_to_the_parent() {
    check(
        "Calls('c1')/QueueSegments",
        "$select=queueId",
        expect![[
            r#"SELECT t.queue_id, (t.conversation_id)::text, (t.queued_at_utc)::text FROM queue_segments t WHERE t.tenant_id = $1::text AND EXISTS (SELECT 1 FROM conversations p WHERE p.tenant_id = $1::text AND p.media = $2::text AND p.id = $3::text AND p.id = t.conversation_id) ORDER BY t.conversation_id ASC, t.queue_id ASC, t.queued_at_utc ASC LIMIT 5001 -- ["contoso", "Voice", "c1"]"#
        ]],
    );
    let path = uri::parse_path("Calls('c1')/QueueSegments").unwrap();
    let bound = bind::bind(&MODEL, &path, &uri::parse_query("").unwrap(), bind::DEFAULT_EXPAND_DEPTH).unwrap();
    let exists = parent_exists(bound.via.as_ref().unwrap(), &tenant());
    assert_eq!(
        exists.text,
        "SELECT 1 FROM conversations p WHERE p.tenant_id = $1::text AND p.media = $2::text AND p.id = $3::text"
    );
}

#[test]
fn lambdas_are_exists_subqueries_scoped_to_the_tenant_and_joined_to_the_row() {
    check_filter(
        "QueueSegments/any(s: s/durationInSeconds gt 60) and not QueueSegments/all(s: s/dequeuedReason eq 'Answered')",
        expect![[
            r#"((EXISTS (SELECT 1 FROM queue_segments l1 WHERE l1.tenant_id = $1::text AND l1.conversation_id = t.id AND coalesce((l1.duration_seconds > $3::text::integer), FALSE))) AND (NOT (NOT EXISTS (SELECT 1 FROM queue_segments l1 WHERE l1.tenant_id = $1::text AND l1.conversation_id = t.id AND NOT coalesce((l1.dequeued_reason = $4::text), FALSE))))) -- ["contoso", "Voice", "60", "Answered"]"#
        ]],
    );
}

#[test]
fn a_single_valued_navigation_path_is_a_scalar_subquery() {
    check_filter(
        "Channel/name eq 'Support'",
        expect![[
            r#"((SELECT n1.name FROM channels n1 WHERE n1.tenant_id = $1::text AND n1.id = t.channel_id) = $3::text) -- ["contoso", "Voice", "Support"]"#
        ]],
    );
}

#[test]
fn a_path_of_several_navigation_steps_joins_each_hop_on_the_tenant() {
    check_filter(
        "Channel/BusinessUnit/name eq 'Support'",
        expect![[
            r#"((SELECT n2.name FROM channels n1 JOIN business_units n2 ON n2.tenant_id = $1::text AND n2.id = n1.business_unit_id WHERE n1.tenant_id = $1::text AND n1.id = t.channel_id) = $3::text) -- ["contoso", "Voice", "Support"]"#
        ]],
    );
    check(
        "Calls",
        "$select=id&$orderby=Channel/BusinessUnit/name,id",
        expect![[
            r#"SELECT t.id, ((SELECT n2.name FROM channels n1 JOIN business_units n2 ON n2.tenant_id = $1::text AND n2.id = n1.business_unit_id WHERE n1.tenant_id = $1::text AND n1.id = t.channel_id))::text FROM conversations t WHERE t.tenant_id = $1::text AND t.media = $2::text ORDER BY (SELECT n4.name FROM channels n3 JOIN business_units n4 ON n4.tenant_id = $1::text AND n4.id = n3.business_unit_id WHERE n3.tenant_id = $1::text AND n3.id = t.channel_id) ASC NULLS FIRST, t.id ASC LIMIT 5001 -- ["contoso", "Voice"]"#
        ]],
    );
}

#[test]
fn a_path_from_a_lambda_variable_starts_at_the_variable() {
    check_filter(
        "QueueSegments/any(s: s/Queue/Name eq 'Sales' and s/Conversation/Channel/name ne $it/Channel/BusinessUnit/name)",
        expect![[
            r#"(EXISTS (SELECT 1 FROM queue_segments l1 WHERE l1.tenant_id = $1::text AND l1.conversation_id = t.id AND coalesce((((SELECT n1.name FROM queues n1 WHERE n1.tenant_id = $1::text AND n1.id = l1.queue_id) = $3::text) AND ((SELECT n3.name FROM conversations n2 JOIN channels n3 ON n3.tenant_id = $1::text AND n3.id = n2.channel_id WHERE n2.tenant_id = $1::text AND n2.id = l1.conversation_id) IS DISTINCT FROM (SELECT n5.name FROM channels n4 JOIN business_units n5 ON n5.tenant_id = $1::text AND n5.id = n4.business_unit_id WHERE n4.tenant_id = $1::text AND n4.id = t.channel_id))), FALSE))) -- ["contoso", "Voice", "Sales"]"#
        ]],
    );
}

#[test]
fn a_lambda_over_a_collection_behind_navigations_joins_the_hops_first() {
    check_filter(
        "QueueSegments/any(s: s/Conversation/Workitems/all(w: w/agentId eq s/queueId))",
        expect![[
            r#"(EXISTS (SELECT 1 FROM queue_segments l1 WHERE l1.tenant_id = $1::text AND l1.conversation_id = t.id AND coalesce((NOT EXISTS (SELECT 1 FROM conversations n1 JOIN workitems l2 ON l2.tenant_id = $1::text AND l2.primary_conversation_id = n1.id WHERE n1.tenant_id = $1::text AND n1.id = l1.conversation_id AND NOT coalesce((l2.agent_id = l1.queue_id), FALSE))), FALSE))) -- ["contoso", "Voice"]"#
        ]],
    );
    check_filter(
        "NextConversation/QueueSegments/any()",
        expect![[
            r#"(EXISTS (SELECT 1 FROM conversations n1 JOIN queue_segments l1 ON l1.tenant_id = $1::text AND l1.conversation_id = n1.id WHERE n1.tenant_id = $1::text AND n1.id = t.next_conversation_id)) -- ["contoso", "Voice"]"#
        ]],
    );
}

#[test]
fn a_single_valued_expansion_is_a_left_join_on_the_tenant_with_its_nested_filter() {
    check(
        "Calls",
        "$select=id&$expand=Channel($select=name;$filter=name ne 'x';$expand=BusinessUnit($select=name)),Workitems/$count($filter=agentId ne null)",
        expect![[
            r#"SELECT t.id, x1.id, x1.name, x2.id, x2.name, (SELECT count(*) FROM workitems c WHERE c.tenant_id = $1::text AND c.primary_conversation_id = t.id AND (c.agent_id IS NOT NULL)) FROM conversations t LEFT JOIN channels x1 ON x1.tenant_id = $1::text AND x1.id = t.channel_id AND (x1.name IS DISTINCT FROM $2::text) LEFT JOIN business_units x2 ON x2.tenant_id = $1::text AND x2.id = x1.business_unit_id WHERE t.tenant_id = $1::text AND t.media = $3::text ORDER BY t.id ASC LIMIT 5001 -- ["contoso", "x", "Voice"]"#
        ]],
    );
}

#[test]
fn collection_expansions_are_parts_of_one_statement_ordered_after_their_parent() {
    check(
        "Calls",
        "$select=id&$expand=QueueSegments($select=queueId;$filter=queueId ne 'q';$orderby=queuedAtUTC desc;$top=2;$skip=1;$count=true;$expand=Queue($select=Name)),Workitems($select=id;$expand=CollectedData($select=name))",
        expect![[
            r#"WITH e0 AS MATERIALIZED (SELECT t.*, row_number() OVER (ORDER BY t.id ASC) AS _o0 FROM conversations t WHERE t.tenant_id = $1::text AND t.media = $3::text ORDER BY t.id ASC LIMIT 5001), e1 AS MATERIALIZED (SELECT * FROM (SELECT t.*, p._o0, row_number() OVER (PARTITION BY p._o0 ORDER BY t.queued_at_utc DESC, t.conversation_id ASC, t.queue_id ASC, t.queued_at_utc ASC) AS _o1 FROM e0 p JOIN queue_segments t ON t.tenant_id = $1::text AND t.conversation_id = p.id AND p._o0 <= 5000 AND (t.queue_id <> $4::text)) q WHERE _o1 > 1 AND _o1 <= 3), e2 AS MATERIALIZED (SELECT * FROM (SELECT t.*, p._o0, row_number() OVER (PARTITION BY p._o0 ORDER BY t.id ASC) AS _o1 FROM e0 p JOIN workitems t ON t.tenant_id = $1::text AND t.primary_conversation_id = p.id AND p._o0 <= 5000) q), e3 AS MATERIALIZED (SELECT * FROM (SELECT t.*, p._o0, p._o1, row_number() OVER (PARTITION BY p._o0, p._o1 ORDER BY t.workitem_id ASC, t.name ASC, t.created_at_utc ASC) AS _o2 FROM e2 p JOIN collected_data t ON t.tenant_id = $1::text AND t.workitem_id = p.id) q) SELECT 0, t._o0, 0, 0::bigint, 0, 0::bigint, t.id, (SELECT count(*) FROM queue_segments c WHERE c.tenant_id = $1::text AND c.conversation_id = t.id AND (c.queue_id <> $2::text)), NULL::character varying(64), NULL::character varying(64), NULL::character varying(256), NULL::character varying(64), NULL::character varying(256) FROM e0 t UNION ALL SELECT 1, t._o0, 1, t._o1, 0, 0::bigint, NULL::character varying(64), NULL::bigint, t.queue_id, x1.id, x1.name, NULL::character varying(64), NULL::character varying(256) FROM e1 t LEFT JOIN queues x1 ON x1.tenant_id = $1::text AND x1.id = t.queue_id UNION ALL SELECT 2, t._o0, 2, t._o1, 0, 0::bigint, NULL::character varying(64), NULL::bigint, NULL::character varying(64), NULL::character varying(64), NULL::character varying(256), t.id, NULL::character varying(256) FROM e2 t UNION ALL SELECT 3, t._o0, 2, t._o1, 1, t._o2, NULL::character varying(64), NULL::bigint, NULL::character varying(64), NULL::character varying(64), NULL::character varying(256), NULL::character varying(64), t.name FROM e3 t ORDER BY 2, 3, 4, 5, 6 -- ["contoso", "q", "Voice", "q"]"#
        ]],
    );
}
