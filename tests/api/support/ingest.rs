//! A server with ingestion turned on, over a fresh database with two tenants (`contoso`,
//! `fabrikam`) and no rows, and clients holding ingest tokens.

#![allow(dead_code)] // each test file uses a different part of this module

use super::app::{TestApp, client_with_token, dev_issuer, skiptoken_key};
use super::database::{TestDatabase, fresh_database, query_rows};
use odata_feed::{db, http};
use std::time::Duration;

/// A running server that ingests, and its database.
pub struct IngestApp {
    pub app: TestApp,
    pub db: TestDatabase,
    /// Holds an ingest token of `contoso`.
    pub ingest: reqwest::Client,
}

/// An ingest token of the test issuer for an application of `tenant`.
pub fn ingest_token_for(tenant: &str) -> String {
    dev_issuer().mint_ingest(tenant, &format!("loader-of-{tenant}"), Duration::from_secs(3600)).expect("a token")
}

/// Serves ingestion (with `max_body_bytes`) over a fresh database holding two empty tenants.
pub async fn spawn_ingest_app_with_limit(max_body_bytes: u64) -> IngestApp {
    let db = fresh_database().await;
    let owner = db::pool::connect(&db.url, 1).await.expect("the database answers");
    owner
        .get()
        .await
        .expect("a connection")
        .batch_execute(
            "INSERT INTO tenants (id, name, time_zone, retention_days) VALUES \
             ('contoso', 'Contoso', 'Europe/Budapest', 400), ('fabrikam', 'Fabrikam', 'America/New_York', 400)",
        )
        .await
        .expect("tenants are created");
    owner.close();
    let pool = db::pool::connect_reader(&db.url, 4, Duration::from_secs(60)).await.expect("the database answers");
    let writer = db::pool::connect_writer(&db.url, 2).await.expect("the writer role connects");
    let app = spawn_with_ingest(pool, http::ReadSettings::new(skiptoken_key(&db.url).await), writer, max_body_bytes);
    IngestApp { app, db, ingest: client_with_token(&ingest_token_for("contoso")) }
}

/// Serves ingestion with the default body limit.
pub async fn spawn_ingest_app() -> IngestApp {
    spawn_ingest_app_with_limit(http::ingest::MAX_BODY_BYTES).await
}

fn spawn_with_ingest(
    pool: deadpool_postgres::Pool,
    read: http::ReadSettings,
    writer: deadpool_postgres::Pool,
    max_body_bytes: u64,
) -> TestApp {
    super::app::spawn_with_state(pool, read, move |state| {
        state.ingest = Some(http::ingest::IngestSettings { pool: writer, max_body_bytes });
    })
}

impl IngestApp {
    /// `POST /ingest/{path}` with a body of `content_type`, as `client`.
    pub async fn post_as(
        &self,
        client: &reqwest::Client,
        path: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> reqwest::Response {
        client
            .post(format!("{}/ingest/{path}", self.app.address))
            .header("Content-Type", content_type)
            .body(body)
            .send()
            .await
            .expect("the request is answered")
    }

    /// `POST /ingest/{path}` as contoso's loader.
    pub async fn post(&self, path: &str, content_type: &str, body: impl Into<reqwest::Body>) -> reqwest::Response {
        self.post_as(&self.ingest, path, content_type, body).await
    }

    /// Rows of a query on the database, as its owner.
    pub async fn rows(&self, sql: &str) -> Vec<tokio_postgres::Row> {
        query_rows(&self.db.url, sql).await
    }
}
