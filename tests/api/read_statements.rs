//! What one request costs in SQL statements, as PostgreSQL itself counted them
//! (`pg_stat_statements`, which the test cluster preloads, in a demo copy of each test's own):
//! a page of calls with an expansion or a lambda filter costs the tenant scope and lookup and one
//! statement for the page, the same for 5 rows as for 500, never one per row.

use crate::support::database::{reset_statement_stats, statement_stats_available, statements_run};
use crate::support::demo::{DemoApp, enc, fresh_demo_database, ok_json, spawn_demo_app_with};
use std::time::{Duration, Instant};

/// The statement every request runs before its page: the tenant and its time zone.
const TENANT_LOOKUP: &str = "FROM tenants";
/// The statement that scopes a request's transaction to its tenant (row-level security).
const TENANT_SCOPE: &str = "set_config(";

/// A server over a demo copy of its own whose statements are counted, and that copy's name;
/// `None` (with the reason printed) when the cluster has no `pg_stat_statements`.
async fn counted_demo(test: &str) -> Option<(DemoApp, String)> {
    let database = fresh_demo_database().await;
    if !statement_stats_available(&database.url).await {
        eprintln!("skipping {test}: pg_stat_statements is not available in the test cluster");
        return None;
    }
    let name = database.name.clone();
    Some((spawn_demo_app_with(database, |_| {}).await, name))
}

/// GET `path` (relative to the service root) on a server over `database`: how many entities the
/// top level of the page held, and the statements that read data (not `BEGIN`, `SET` and the
/// like) the server ran for it, as (normalized text, calls). Read once the whole body has
/// arrived and the counts have settled (a statement is counted when its portal closes).
async fn data_statements(demo: &DemoApp, database: &str, path: &str) -> (usize, Vec<(String, i64)>) {
    reset_statement_stats(&demo.db_url).await;
    let body = ok_json(demo.get(path).await).await;
    let rows = body["value"].as_array().map_or(0, Vec::len);
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut seen = statements_run(&demo.db_url, database).await;
    let statements = loop {
        tokio::time::sleep(Duration::from_millis(30)).await;
        let now = statements_run(&demo.db_url, database).await;
        if now == seen || Instant::now() > deadline {
            break now;
        }
        seen = now;
    };
    (rows, statements.into_iter().filter(|(query, _)| reads_data(query)).collect())
}

fn reads_data(query: &str) -> bool {
    let first = query.split_whitespace().next().unwrap_or_default().to_ascii_uppercase();
    matches!(first.as_str(), "SELECT" | "WITH" | "VALUES" | "TABLE" | "INSERT" | "UPDATE" | "DELETE" | "MERGE")
}

fn listing(statements: &[(String, i64)]) -> String {
    statements.iter().map(|(query, calls)| format!("\n  {calls} x {query}")).collect()
}

/// Asks for `path(5)` and `path(500)`, expecting `rows` top-level entities in each, and checks
/// that both ran the same statements, each once: the tenant scope and lookup and a single statement for
/// the page. Returns the page's statement.
async fn one_statement_per_page(
    demo: &DemoApp,
    database: &str,
    path: impl Fn(u32) -> String,
    rows: [usize; 2],
) -> String {
    let (small_path, large_path) = (path(5), path(500));
    let (small_rows, small) = data_statements(demo, database, &small_path).await;
    let (large_rows, large) = data_statements(demo, database, &large_path).await;
    assert_eq!([small_rows, large_rows], rows, "entities on the pages of {small_path} and {large_path}");
    assert_eq!(
        small,
        large,
        "a page of {small_rows} and one of {large_rows} ran different statements:\n{small_path}:{}\n{large_path}:{}",
        listing(&small),
        listing(&large)
    );
    let (session, page): (Vec<_>, Vec<_>) =
        large.iter().partition(|(query, _)| query.contains(TENANT_LOOKUP) || query.contains(TENANT_SCOPE));
    let each_once = |statements: &[&(String, i64)], n| statements.len() == n && statements.iter().all(|s| s.1 == 1);
    assert!(
        each_once(&session, 2) && each_once(&page, 1),
        "{large_path} ran more than the tenant scope, the tenant lookup and one statement for the page:{}",
        listing(&large)
    );
    page[0].0.clone()
}

#[tokio::test]
async fn a_page_of_calls_with_their_channel_expanded_is_one_statement_whether_it_holds_5_calls_or_500() {
    let Some((demo, database)) = counted_demo("the single-valued expansion test").await else { return };
    let page = one_statement_per_page(
        &demo,
        &database,
        |top| format!("Calls?$top={top}&$select=id&$expand=Channel($select=name)"),
        [5, 500],
    )
    .await;
    assert!(page.contains("FROM conversations") && page.contains("JOIN channels"), "the channel is joined: {page}");
}

#[tokio::test]
async fn a_lambda_filter_is_part_of_the_page_statement_not_one_statement_per_call() {
    let Some((demo, database)) = counted_demo("the lambda test").await else { return };
    let matching = demo
        .sql_count(
            "SELECT count(*) FROM conversations c WHERE c.tenant_id = 'contoso' AND c.media = 'Voice' AND EXISTS \
             (SELECT 1 FROM queue_segments s WHERE s.tenant_id = c.tenant_id AND s.conversation_id = c.id \
             AND s.dequeued_reason = 'CustomerDisconnected')",
        )
        .await;
    let matching = usize::try_from(matching).expect("a count");
    assert!(matching > 5, "the demo data has calls whose customer hung up in a queue: {matching}");
    let filter = enc("QueueSegments/any(s: s/dequeuedReason eq 'CustomerDisconnected')");
    let page = one_statement_per_page(
        &demo,
        &database,
        |top| format!("Calls?$top={top}&$select=id&$filter={filter}"),
        [5, matching.min(500)],
    )
    .await;
    assert!(page.contains("EXISTS") && page.contains("queue_segments"), "the lambda is a subquery: {page}");
}

#[tokio::test]
async fn a_page_of_calls_with_nested_collection_expansions_is_one_statement_whether_it_holds_5_calls_or_500() {
    let Some((demo, database)) = counted_demo("the collection expansion test").await else { return };
    let page = one_statement_per_page(
        &demo,
        &database,
        |top| {
            format!(
                "Calls?$top={top}&$select=id&$expand={}",
                enc("QueueSegments($select=queueId;$expand=Queue($select=Name)),Channel($select=name),\
                     Workitems($select=id;$count=true;$expand=Agent($select=name;$expand=AgentStates($top=2;$select=id)))")
            )
        },
        [5, 500],
    )
    .await;
    for table in ["queue_segments", "queues", "channels", "workitems", "agents", "agent_states"] {
        assert!(page.contains(table), "`{table}` is read by the page statement: {page}");
    }
}
