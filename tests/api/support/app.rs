//! Starts the real HTTP server on a free loopback port against a fresh test database.

use super::database::fresh_database;
use odata_feed::{
    db,
    http::{self, AppState},
    odata::model::Model,
};
use std::{net::TcpListener, sync::Arc};

/// A running server.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`
    pub address: String,
    pub client: reqwest::Client,
}

impl TestApp {
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(format!("{}{path}", self.address)).send().await.expect("request is answered")
    }
}

/// Serves a fresh, migrated database.
pub async fn spawn_app() -> TestApp {
    let db = fresh_database().await;
    let pool =
        db::pool::connect_reader(&db.url, 4, std::time::Duration::from_secs(60)).await.expect("test database answers");
    let key = db::secrets::skiptoken_key(&pool).await.expect("the skiptoken key is created");
    spawn_with(pool, http::ReadSettings::new(key))
}

/// Serves with a given pool (e.g. one pointing nowhere).
pub fn spawn_with_pool(pool: deadpool_postgres::Pool) -> TestApp {
    spawn_with(pool, http::ReadSettings::new(odata_feed::odata::plan::SigningKey::new([1; 32])))
}

/// Serves with a given pool and read settings.
pub fn spawn_with(pool: deadpool_postgres::Pool, read: http::ReadSettings) -> TestApp {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    let port = listener.local_addr().expect("bound").port();
    let state = AppState::new(Arc::new(Model::load().expect("model loads")), pool, None, read);
    let server = http::server(listener, state).expect("server builds");
    tokio::spawn(server);
    TestApp { address: format!("http://127.0.0.1:{port}"), client: reqwest::Client::new() }
}
