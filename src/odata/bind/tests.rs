use super::*;
use crate::odata::model::Model;
use crate::odata::uri::{parse_path, parse_query};
use std::sync::LazyLock;

static MODEL: LazyLock<Model> = LazyLock::new(|| Model::load().unwrap());

fn bind_url(path: &str, query: &str) -> Result<BoundQuery<'static>, BindError> {
    bind(&MODEL, &parse_path(path).unwrap(), &parse_query(query).unwrap(), super::DEFAULT_EXPAND_DEPTH)
}

fn error_code(path: &str, query: &str) -> &'static str {
    match bind_url(path, query) {
        Ok(_) => "ok",
        Err(e) => e.code(),
    }
}

#[test]
fn well_typed_filters_bind() {
    for filter in [
        "durationInSeconds gt 30",
        "durationInSeconds add 1 gt 30.5",
        "startedAtUTC ge 2024-01-01T00:00:00Z and startedAt lt 2024-01-02T00:00:00%2B01:00",
        "customerFirstName eq null",
        "null eq customerFirstName",
        "contains(customerFirstName,'a') or not isOutbound",
        "year(startedAt) eq 2024 and date(startedAtUTC) eq 2024-01-01 and time(startedAt) lt 12:00:00",
        "endedAtUTC sub startedAtUTC gt duration'PT5M'",
        "startedAtUTC add duration'P1D' gt now()",
        "round(durationInSeconds divby 60) eq 2",
        "cast(durationInSeconds, Edm.String) eq '30'",
        "isof(id, Edm.String)",
        "id in ('a', 'b', null)",
        "-durationInSeconds lt 0",
        "startedAtUTC ge mindatetime() and startedAtUTC le maxdatetime()",
    ] {
        assert_eq!(error_code("Calls", &format!("$filter={filter}")), "ok", "{filter}");
    }
}

#[test]
fn type_errors_are_reported_with_their_codes() {
    for (filter, code) in [
        ("durationInSeconds", "BIND108"),
        ("durationInSeconds eq 'x'", "BIND106"),
        ("startedAtUTC ge 2024-01-01", "BIND106"),
        ("contains(durationInSeconds,'1')", "BIND105"),
        ("length(id, id) eq 1", "BIND105"),
        ("frobnicate(id)", "BIND104"),
        ("nope eq 1", "BIND102"),
        ("id/length eq 1", "BIND103"),
        ("cast(id, Edm.Nope) eq 1", "BIND109"),
        ("cast(isOutbound, Edm.Date) eq 2024-01-01", "BIND110"),
        ("not durationInSeconds", "BIND107"),
        ("startedAtUTC gt 0000-01-01T00:00:00Z", "BIND111"),
    ] {
        assert_eq!(error_code("Calls", &format!("$filter={filter}")), code, "{filter}");
    }
}

#[test]
fn features_beyond_this_release_are_not_implemented_errors() {
    for query in [
        "$apply=aggregate($count as n)",
        "$search=x",
        "$filter=$root/Calls/$count gt 1",
        "$filter=QueueSegments/any(s: s/conversationId eq $root/Calls/$count)",
        "$filter=QueueSegments/any(s: s eq null)",
        "$filter=geo.distance(a, b) lt 1",
    ] {
        assert_eq!(error_code("Calls", query), "NotImplemented", "{query}");
    }
}

#[test]
fn an_alias_can_name_an_expression_and_cycles_are_stopped() {
    assert_eq!(error_code("Calls", "$filter=durationInSeconds gt @a&@a=@b&@b=5"), "ok");
    assert_eq!(error_code("Calls", "$filter=durationInSeconds gt @a&@a=@a"), "BIND113");
    assert_eq!(error_code("Calls", "$filter=@f&@f=durationInSeconds gt 5"), "ok");
    let unset = bind_url("Calls", "$filter=customerLastName eq @missing").unwrap();
    let Some(Typed { node: Node::Compare { right, .. }, .. }) = unset.filter else { panic!("a comparison") };
    assert_eq!(right.node, Node::Null, "an alias without a value is null");
}

#[test]
fn keys_must_match_the_key_properties_and_their_types() {
    assert_eq!(error_code("Calls('x')", ""), "ok");
    assert_eq!(error_code("Calls(id='x')", ""), "ok");
    assert_eq!(error_code("Calls(5)", ""), "BIND114");
    assert_eq!(error_code("Calls(other='x')", ""), "BIND114");
    assert_eq!(error_code("QueueSegments('x')", ""), "BIND114");
    assert_eq!(error_code("QueueSegments(conversationId='c',queueId='q',queuedAtUTC=2024-01-01T00:00:00Z)", ""), "ok");
    assert_eq!(error_code("QueueSegments(conversationId='c',queueId='q')", ""), "BIND114");
}

#[test]
fn path_segments_and_options_must_fit_the_target() {
    assert_eq!(error_code("Nope", ""), "BIND101");
    assert_eq!(error_code("Calls('x')/nope", ""), "BIND116");
    assert_eq!(error_code("Calls('x')", "$top=1"), "BIND115");
    assert_eq!(error_code("Calls('x')", "$select=id"), "ok");
    assert_eq!(bind_url("Calls/$count", "$filter=durationInSeconds gt 1").unwrap().target, Target::Count);
}

#[test]
fn select_keeps_the_requested_order_without_duplicates() {
    let q = bind_url("Calls", "$select=startedAt,id,startedAt").unwrap();
    let names: Vec<&str> = match &q.select {
        Selection::Properties(p) => p.iter().map(|&i| q.set.properties[i].name.as_str()).collect(),
        Selection::All => vec![],
    };
    assert_eq!(names, ["startedAt", "id"]);
    assert_eq!(bind_url("Calls", "$select=id,*").unwrap().select, Selection::All);
    assert_eq!(error_code("Calls", "$select=nope"), "BIND102");
}

#[test]
fn comparisons_with_null_are_never_nullable_for_eq_and_ne() {
    let q = bind_url("Calls", "$filter=customerFirstName ne 'a'").unwrap();
    assert!(!q.filter.unwrap().nullable);
    let q = bind_url("Calls", "$filter=customerRingDuration gt 1").unwrap();
    assert!(q.filter.unwrap().nullable);
}

#[test]
fn lambdas_and_single_valued_navigation_paths_bind_to_related_sets() {
    for filter in [
        "QueueSegments/any(s: s/durationInSeconds gt 1)",
        "QueueSegments/all(s: s/dequeuedReason eq 'Answered' and s/durationInSeconds lt $it/durationInSeconds)",
        "QueueSegments/any()",
        "Channel/name eq 'Support'",
        "year(NextConversation/startedAt) eq 2024",
    ] {
        assert_eq!(error_code("Calls", &format!("$filter={filter}")), "ok", "{filter}");
    }
    for (filter, code) in [
        ("Channel/any(c: c/name eq 'x')", "BIND118"),
        ("QueueSegments/durationInSeconds eq 1", "BIND117"),
        ("QueueSegments/any(s: s/nope eq 1)", "BIND102"),
        ("QueueSegments/any(s: s/durationInSeconds)", "BIND107"),
        ("Channel/nope eq 1", "BIND102"),
    ] {
        assert_eq!(error_code("Calls", &format!("$filter={filter}")), code, "{filter}");
    }
    assert_eq!(error_code("Calls", "$orderby=Channel/name desc"), "ok");
}

#[test]
fn paths_of_several_navigation_steps_bind_from_the_row_and_from_lambda_variables() {
    for filter in [
        "Channel/BusinessUnit/name eq 'Support'",
        "$it/Channel/BusinessUnit/deletedAt eq null",
        "QueueSegments/any(s: s/Queue/Name eq 'Sales')",
        "QueueSegments/any(s: s/Queue/Channel/BusinessUnit/name eq $it/Channel/BusinessUnit/name)",
        "QueueSegments/any(s: s/Conversation/Workitems/any(w: w/agentId eq s/queueId))",
        "NextConversation/QueueSegments/all(s: s/durationInSeconds lt 60)",
        "Channel/Queues/any(q: q/QueueSegments/any())",
    ] {
        assert_eq!(error_code("Calls", &format!("$filter={filter}")), "ok", "{filter}");
    }
    assert_eq!(error_code("Calls", "$orderby=Channel/BusinessUnit/name,id"), "ok");
    assert_eq!(error_code("Workitem", "$filter=Agent/Workitems/any(w: w/queueID eq 'q')"), "ok");

    let bound = bind_url("Calls", "$filter=Channel/BusinessUnit/name eq 'x'").unwrap();
    let Node::Compare { left, .. } = bound.filter.unwrap().node else { panic!("a comparison") };
    let Node::Navigated { start: None, hops, column } = left.node else { panic!("a navigated property: {left:?}") };
    assert_eq!(hops.iter().map(|h| h.table.as_str()).collect::<Vec<_>>(), ["channels", "business_units"]);
    assert_eq!(hops[1].join, [("business_unit_id".to_owned(), "id".to_owned())]);
    assert_eq!(column.name, "name");
    assert!(left.nullable, "null when a hop has no related entity");

    let bound =
        bind_url("Calls", "$filter=QueueSegments/any(s: s/Conversation/Workitems/any(w: w/agentId eq 'a'))").unwrap();
    let Node::Lambda { start: None, hops, depth: 1, body: Some(body), .. } = bound.filter.unwrap().node else {
        panic!("a lambda")
    };
    assert!(hops.is_empty());
    let Node::Lambda { start: Some(1), hops, related, depth: 2, .. } = body.node else { panic!("an inner lambda") };
    assert_eq!(hops.iter().map(|h| h.table.as_str()).collect::<Vec<_>>(), ["conversations"]);
    assert_eq!(related.table, "workitems");

    for (filter, code) in [
        // A collection in the middle of a path takes any() or all().
        ("Channel/Queues/Name eq 'x'", "BIND117"),
        ("QueueSegments/any(s: s/Conversation/QueueSegments/queueId eq 'x')", "BIND117"),
        ("Channel/Queues/Channel/any(c: true)", "BIND117"),
        ("Channel/BusinessUnit/any(b: true)", "BIND118"),
        ("Channel/BusinessUnit/nope eq 1", "BIND102"),
        ("Channel/Nope/name eq 1", "BIND102"),
        ("QueueSegments/any(s: s/Queue/nope eq 1)", "BIND102"),
        ("Channel/name/length eq 1", "BIND103"),
        ("Channel/BusinessUnit eq null", "BIND103"),
        ("QueueSegments eq null", "BIND117"),
    ] {
        assert_eq!(error_code("Calls", &format!("$filter={filter}")), code, "{filter}");
    }
}

#[test]
fn a_path_may_take_a_bounded_number_of_navigation_steps() {
    let steps = |n: usize| format!("$filter={}id eq 'x'", "NextConversation/".repeat(n));
    assert_eq!(error_code("Calls", &steps(expr::MAX_PATH_STEPS)), "ok");
    let err = bind_url("Calls", &steps(expr::MAX_PATH_STEPS + 1)).unwrap_err();
    assert_eq!(err.code(), "NotImplemented");
    assert!(err.to_string().contains(&format!("more than {} steps", expr::MAX_PATH_STEPS)), "{err}");
    let lambda = |n: usize| format!("$filter={}QueueSegments/any()", "NextConversation/".repeat(n));
    assert_eq!(error_code("Calls", &lambda(expr::MAX_PATH_STEPS - 1)), "ok");
    assert_eq!(error_code("Calls", &lambda(expr::MAX_PATH_STEPS)), "NotImplemented");
}

#[test]
fn expand_binds_collections_with_nested_options_and_levels() {
    let bound = bind_url(
        "Calls",
        "$expand=QueueSegments($select=queueId;$filter=queueId ne 'q';$orderby=queuedAtUTC desc;$top=2;$skip=1;$count=true;$expand=Queue($select=Name)),Channel/$ref,Workitems/$count",
    )
    .unwrap();
    let [segments, channel, workitems] = bound.expand.as_slice() else { panic!("three expansions") };
    assert_eq!(segments.navigation.name, "QueueSegments");
    assert_eq!((segments.top, segments.skip, segments.count), (Some(2), Some(1), true));
    assert!(segments.filter.is_some() && segments.orderby.len() == 1);
    assert_eq!(segments.expand[0].navigation.name, "Queue");
    assert_eq!(segments.depth(), 2);
    assert!(channel.reference && channel.columns == [channel.target.property_index("id").unwrap()]);
    assert!(workitems.count_only && workitems.count && workitems.columns.is_empty());
    // $levels repeats the item inside itself as long as the target has the property.
    let bound = bind_url("Calls", "$expand=NextConversation($levels=2;$select=id)").unwrap();
    assert_eq!(bound.expand[0].depth(), 2);
    assert_eq!(bound.expand[0].expand[0].navigation.name, "NextConversation");
    let bound = bind_url("Calls", "$expand=NextConversation($levels=max)").unwrap();
    assert_eq!(bound.expand[0].depth(), DEFAULT_EXPAND_DEPTH);
    // `*` expands every navigation property of the set.
    let bound = bind_url("Calls", "$expand=*").unwrap();
    assert_eq!(bound.expand.len(), MODEL.entity_set("Calls").unwrap().navigation.len());
}

#[test]
fn expand_rejects_what_it_cannot_answer_with_a_clear_code() {
    for (query, code) in [
        ("$expand=Channel($top=1)", "BIND115"),
        ("$expand=Channel($orderby=name)", "BIND115"),
        ("$expand=Channel/$count", "BIND115"),
        ("$expand=Nope", "BIND119"),
        ("$expand=Channel,Channel", "BIND120"),
        ("$expand=QueueSegments($select=nope)", "BIND102"),
        ("$expand=QueueSegments($filter=nope eq 1)", "BIND102"),
        ("$expand=Workitems($expand=Agent($expand=Workitems($expand=Agent)))", "BIND121"),
        ("$expand=NextConversation($levels=4)", "BIND121"),
        ("$expand=*($levels=3)", "BIND122"),
        ("$expand=QueueSegments($search=x)", "NotImplemented"),
    ] {
        assert_eq!(error_code("Calls", query), code, "{query}");
    }
    let deeper = bind(
        &MODEL,
        &parse_path("Calls").unwrap(),
        &parse_query("$expand=Workitems($expand=Agent($expand=Workitems($expand=Agent)))").unwrap(),
        4,
    );
    assert!(deeper.is_ok(), "the depth limit is configurable");
}
