use super::*;
use crate::odata::bind::bind;
use crate::odata::model::Model;
use crate::odata::uri::{parse_path, parse_query};
use std::sync::LazyLock;

static MODEL: LazyLock<Model> = LazyLock::new(|| Model::load().unwrap());

fn key() -> SigningKey {
    SigningKey::new([3; 32])
}

fn plan_for(query: &str, page: u64) -> Result<ReadPlan<'static>, PlanError> {
    let path = parse_path("Calls").unwrap();
    let options = parse_query(query).unwrap();
    let bound = bind(&MODEL, &path, &options, crate::odata::bind::DEFAULT_EXPAND_DEPTH).unwrap();
    let scope = scope_of("contoso", "Calls", &options);
    read_plan(bound, &Limits::default(), page, scope, &key())
}

fn token(query: &str, cursor: Cursor) -> String {
    let options = parse_query(query).unwrap();
    skiptoken::encode(&cursor, &scope_of("contoso", "Calls", &options), &key())
}

#[test]
fn the_key_is_appended_to_make_the_order_total() {
    let plan = plan_for("$orderby=durationInSeconds desc", 100).unwrap();
    assert_eq!(plan.order.len(), 2);
    assert!(plan.order[0].descending && !plan.order[1].descending);
    let plan = plan_for("$orderby=id desc", 100).unwrap();
    assert_eq!(plan.order.len(), 1, "an order that already has the key needs nothing more");
}

#[test]
fn top_smaller_than_a_page_is_one_unpaged_page() {
    let plan = plan_for("$top=10", 100).unwrap();
    assert_eq!((plan.page_rows, plan.paged), (10, false));
    let plan = plan_for("$top=0&$count=true", 100).unwrap();
    assert_eq!((plan.page_rows, plan.paged), (0, false));
}

#[test]
fn top_larger_than_a_page_is_paged_and_the_rest_shrinks_with_each_page() {
    let plan = plan_for("$top=250", 100).unwrap();
    assert_eq!((plan.page_rows, plan.paged), (100, true));
    let t = token("$top=250", Cursor { delivered: 200, values: vec![Some("x".into())] });
    let plan = plan_for(&format!("$top=250&$skiptoken={t}"), 100).unwrap();
    assert_eq!((plan.page_rows, plan.paged, plan.delivered), (50, false, 200));
}

#[test]
fn skip_applies_to_the_first_page_only() {
    assert_eq!(plan_for("$skip=30", 100).unwrap().offset, 30);
    let t = token("$skip=30", Cursor { delivered: 100, values: vec![Some("x".into())] });
    assert_eq!(plan_for(&format!("$skip=30&$skiptoken={t}"), 100).unwrap().offset, 0);
}

#[test]
fn a_token_for_another_filter_or_with_the_wrong_arity_is_refused() {
    let t = token("$filter=durationInSeconds gt 1", Cursor { delivered: 1, values: vec![Some("x".into())] });
    assert!(matches!(
        plan_for(&format!("$filter=durationInSeconds gt 2&$skiptoken={t}"), 100),
        Err(PlanError::InvalidToken(_))
    ));
    let t = token("", Cursor { delivered: 1, values: vec![Some("x".into()), None] });
    assert!(matches!(plan_for(&format!("$skiptoken={t}"), 100), Err(PlanError::InvalidToken(_))));
}

#[test]
fn limits_on_top_and_skip_are_enforced() {
    assert!(matches!(plan_for("$top=1000000001", 100), Err(PlanError::TopTooLarge { .. })));
    assert!(matches!(plan_for("$skip=100000001", 100), Err(PlanError::SkipTooLarge { .. })));
}

#[test]
fn the_page_size_follows_the_preference_within_the_limit() {
    let limits = Limits::default();
    assert_eq!(page_size(&limits, None), 5_000);
    assert_eq!(page_size(&limits, Some(10)), 10);
    assert_eq!(page_size(&limits, Some(10_000_000)), limits.max_page_size);
}

#[test]
fn ordering_by_null_orders_by_the_key_alone() {
    let plan = plan_for("$orderby=null desc", 100).unwrap();
    assert_eq!(plan.order.len(), 1);
}
