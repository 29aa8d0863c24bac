//! The migrations apply to an empty database, revert completely and apply again.

use crate::support::database::{empty_database, query_rows};
use odata_feed::db::migrate;

async fn user_tables(url: &str) -> Vec<String> {
    query_rows(url, "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
        .await
        .iter()
        .map(|r| r.get::<_, String>(0))
        .filter(|t| t != "__diesel_schema_migrations")
        .collect()
}

/// Runs a blocking migration step off the async runtime.
async fn step(url: &str, run: fn(&str) -> anyhow::Result<usize>) -> usize {
    let url = url.to_string();
    tokio::task::spawn_blocking(move || run(&url)).await.expect("the step ran").expect("the step succeeded")
}

#[tokio::test]
async fn migrations_apply_revert_and_reapply_cleanly() {
    let db = empty_database().await;
    let url = db.url.as_str();
    let migration_count =
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations")).expect("migrations/").count();

    assert_eq!(step(url, migrate::run).await, migration_count);
    let model_tables = odata_feed::odata::model::Model::load().expect("model").tables().len();
    assert_eq!(
        user_tables(url).await.len(),
        4 + model_tables,
        "tenants, feed_secrets, job_runs, lookup_sources and the tables of the model"
    );

    assert_eq!(step(url, migrate::revert_all).await, migration_count);
    assert_eq!(user_tables(url).await, Vec::<String>::new());

    assert_eq!(step(url, migrate::run).await, migration_count, "everything applies again");
    assert_eq!(step(url, migrate::run).await, 0, "a second run has nothing left to apply");
}
