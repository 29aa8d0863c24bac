//! `/healthz` reports the process, `/readyz` the database.

use crate::support::app::{spawn_app, spawn_with_pool};
use serde_json::Value;

#[tokio::test]
async fn health_and_readiness_are_ok_with_a_reachable_database() {
    let app = spawn_app().await;
    let health = app.get("/healthz").await;
    assert_eq!(health.status(), 200);
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.json::<Value>().await.expect("JSON")["status"], "ready");
}

#[tokio::test]
async fn readiness_fails_when_the_database_is_unreachable_while_health_stays_ok() {
    // Port 1 on loopback: nothing listens there.
    let url = "postgres://nobody:secret@127.0.0.1:1/nothing";
    let (pool, _) = odata_feed::db::pool::build(url, 1).expect("pool builds lazily");
    let app = spawn_with_pool(pool);
    assert_eq!(app.get("/healthz").await.status(), 200);
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 503);
    let body = ready.text().await.expect("body");
    assert!(!body.contains("secret"), "no credentials in the answer: {body}");
}
