//! Starts the real HTTP server on a free loopback port against a fresh test database. The
//! server trusts the development issuer of this test process (one key per process), and the
//! client of a `TestApp` signs in as a user of the tenant `contoso` unless told otherwise.

#![allow(dead_code)] // each test file uses a different part of this module

use super::database::fresh_database;
use odata_feed::{
    auth::{AuthConfig, Authenticator, dev::DevIssuer},
    db,
    http::{self, AppState},
    odata::model::Model,
};
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use std::sync::{Arc, OnceLock};
use std::{net::TcpListener, time::Duration};

/// The tenant the test client reads unless a test says otherwise.
pub const DEFAULT_TENANT: &str = "contoso";

/// A running server.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`
    pub address: String,
    /// Signed in (as a user of `DEFAULT_TENANT`, or of the tenant the app was started for).
    pub client: reqwest::Client,
    /// Without credentials.
    pub anonymous: reqwest::Client,
}

impl TestApp {
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(format!("{}{path}", self.address)).send().await.expect("request is answered")
    }
}

/// The development issuer every test server of this process trusts.
pub fn dev_issuer() -> Arc<DevIssuer> {
    static ISSUER: OnceLock<Arc<DevIssuer>> = OnceLock::new();
    ISSUER.get_or_init(|| Arc::new(DevIssuer::generate().expect("a P-256 key is generated"))).clone()
}

/// A token of the test issuer for a user of `tenant`.
pub fn token_for(tenant: &str) -> String {
    dev_issuer().mint(tenant, &format!("user-of-{tenant}"), Duration::from_secs(3600)).expect("a token is minted")
}

/// A client that sends `token` with every request.
pub fn client_with_token(token: &str) -> reqwest::Client {
    let mut headers = HeaderMap::new();
    let mut value = HeaderValue::from_str(&format!("Bearer {token}")).expect("a token is a header value");
    value.set_sensitive(true);
    headers.insert(AUTHORIZATION, value);
    reqwest::Client::builder().default_headers(headers).build().expect("a client")
}

/// The skiptoken key of a database, read as its owner.
pub async fn skiptoken_key(url: &str) -> odata_feed::odata::plan::SigningKey {
    let owner = db::pool::connect(url, 1).await.expect("the database answers");
    let key = db::secrets::skiptoken_key(&owner).await.expect("the skiptoken key");
    owner.close();
    key
}

/// Serves a fresh, migrated database.
pub async fn spawn_app() -> TestApp {
    let db = fresh_database().await;
    let pool =
        db::pool::connect_reader(&db.url, 4, std::time::Duration::from_secs(60)).await.expect("test database answers");
    spawn_with(pool, http::ReadSettings::new(skiptoken_key(&db.url).await))
}

/// Serves with a given pool (e.g. one pointing nowhere).
pub fn spawn_with_pool(pool: deadpool_postgres::Pool) -> TestApp {
    spawn_with(pool, http::ReadSettings::new(odata_feed::odata::plan::SigningKey::new([1; 32])))
}

/// Serves with a given pool and read settings, for users of `DEFAULT_TENANT`.
pub fn spawn_with(pool: deadpool_postgres::Pool, read: http::ReadSettings) -> TestApp {
    spawn_for(pool, read, DEFAULT_TENANT)
}

/// Serves with a given pool and read settings; the client signs in for `tenant`.
pub fn spawn_for(pool: deadpool_postgres::Pool, read: http::ReadSettings, tenant: &str) -> TestApp {
    let authenticator =
        Authenticator::new(&AuthConfig::empty(), reqwest::Client::new()).with_issuer(dev_issuer().issuer());
    let mut app = spawn_with_auth(pool, read, authenticator);
    app.client = client_with_token(&token_for(tenant));
    app
}

/// Serves with the given authenticator; both clients are anonymous.
pub fn spawn_with_auth(pool: deadpool_postgres::Pool, read: http::ReadSettings, auth: Authenticator) -> TestApp {
    serve(AppState::new(Arc::new(Model::load().expect("model loads")), pool, None, read, Arc::new(auth)))
}

/// Serves like `spawn_with`, with the state adjusted by `adjust` (e.g. ingestion turned on).
pub fn spawn_with_state(
    pool: deadpool_postgres::Pool,
    read: http::ReadSettings,
    adjust: impl FnOnce(&mut AppState),
) -> TestApp {
    let authenticator =
        Authenticator::new(&AuthConfig::empty(), reqwest::Client::new()).with_issuer(dev_issuer().issuer());
    let mut state =
        AppState::new(Arc::new(Model::load().expect("model loads")), pool, None, read, Arc::new(authenticator));
    adjust(&mut state);
    let mut app = serve(state);
    app.client = client_with_token(&token_for(DEFAULT_TENANT));
    app
}

fn serve(mut state: AppState) -> TestApp {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    let port = listener.local_addr().expect("bound").port();
    state.dev_issuer = Some(dev_issuer());
    let server = http::server(listener, state).expect("server builds");
    tokio::spawn(server);
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        client: reqwest::Client::new(),
        anonymous: reqwest::Client::new(),
    }
}
