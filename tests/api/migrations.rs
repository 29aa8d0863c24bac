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

#[tokio::test]
async fn migrations_apply_revert_and_reapply_cleanly() {
    let db = empty_database().await;
    let url = db.url.clone();
    let migration_count =
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations")).expect("migrations/").count();

    let applied = tokio::task::spawn_blocking({
        let url = url.clone();
        move || migrate::run(&url)
    })
    .await
    .unwrap()
    .expect("apply");
    assert_eq!(applied, migration_count);
    let model_tables = odata_feed::odata::model::Model::load().expect("model").tables().len();
    assert_eq!(user_tables(&url).await.len(), 1 + model_tables, "tenants plus the tables of the model");

    let reverted = tokio::task::spawn_blocking({
        let url = url.clone();
        move || migrate::revert_all(&url)
    })
    .await
    .unwrap()
    .expect("revert");
    assert_eq!(reverted, migration_count);
    assert_eq!(user_tables(&url).await, Vec::<String>::new());

    let reapplied = tokio::task::spawn_blocking({
        let url = url.clone();
        move || migrate::run(&url)
    })
    .await
    .unwrap()
    .expect("reapply");
    assert_eq!(reapplied, migration_count);
    let again = tokio::task::spawn_blocking(move || migrate::run(&url)).await.unwrap().expect("no-op");
    assert_eq!(again, 0, "a second run has nothing left to apply");
}
