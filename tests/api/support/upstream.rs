//! A fake of the upstream lookup API (`src/jobs/upstream.rs` states its contract) on
//! 127.0.0.1, served by actix-web inside the test process: an OAuth2 token endpoint that checks
//! the client id and secret sent as HTTP Basic, and the seven list resources (`agents`, `users`,
//! `queues`, `channels`, `botSteps`, `businessUnits`, `campaigns`) serving whatever lists the
//! test sets, in pages of a configurable size linked by absolute `nextLink`s. A test can make a
//! resource or the token endpoint answer an error status, and reads how often each was asked.
//! `jobs_config` writes the jobs' TOML configuration pointing a tenant at it.

#![allow(dead_code)] // each test file uses a different part of this module

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, dev::ServerHandle, web};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// The client id the fake accepts.
pub const CLIENT_ID: &str = "odata-feed-nightly";
/// The client secret the fake accepts; tests look for it in logs and errors.
pub const CLIENT_SECRET: &str = "upstream-Secret-7f3a9c1e5b";
/// The page size until a test sets another.
pub const DEFAULT_PAGE_SIZE: usize = 2;
/// The lookup entity sets, in the order the model lists them.
pub const SETS: [&str; 7] = ["Agents", "BotSteps", "BusinessUnits", "Campaigns", "Channels", "Queues", "Users"];

/// The resource name of a lookup set: its name with a lower-case first letter (`BotSteps` →
/// `botSteps`).
pub fn resource(set: &str) -> String {
    let mut chars = set.chars();
    chars.next().map(|c| c.to_ascii_lowercase()).into_iter().chain(chars).collect()
}

#[derive(Default)]
struct Counters {
    /// Page requests per resource (also refused and failed ones).
    requests: HashMap<String, usize>,
    /// Lists served to their last page, per resource.
    served: HashMap<String, usize>,
}

/// What the fake serves and how often it was asked.
struct State {
    /// `http://127.0.0.1:<port>`
    url: String,
    lists: Mutex<HashMap<String, Arc<Vec<Value>>>>,
    page_size: AtomicUsize,
    /// Resources answering an error status instead of their list.
    failing: Mutex<HashMap<String, u16>>,
    /// The status the token endpoint answers instead of a token.
    token_failure: Mutex<Option<u16>>,
    /// Access tokens handed out (list requests must carry one of them).
    tokens: Mutex<HashSet<String>>,
    token_requests: AtomicUsize,
    counters: Mutex<Counters>,
}

/// A running fake upstream.
pub struct FakeUpstream {
    /// `http://127.0.0.1:<port>`
    pub url: String,
    state: web::Data<State>,
    handle: ServerHandle,
}

impl FakeUpstream {
    /// Serves on a free loopback port, every list empty. Needs a tokio runtime.
    pub fn start() -> FakeUpstream {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
        let url = format!("http://{}", listener.local_addr().expect("bound"));
        let state = web::Data::new(State {
            url: url.clone(),
            lists: Mutex::new(HashMap::new()),
            page_size: AtomicUsize::new(DEFAULT_PAGE_SIZE),
            failing: Mutex::new(HashMap::new()),
            token_failure: Mutex::new(None),
            tokens: Mutex::new(HashSet::new()),
            token_requests: AtomicUsize::new(0),
            counters: Mutex::new(Counters::default()),
        });
        let shared = state.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(shared.clone())
                .route("/oauth2/token", web::post().to(token))
                .route("/v1/{resource}", web::get().to(list))
        })
        .workers(2)
        .disable_signals()
        .listen(listener)
        .expect("the fake upstream listens")
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        FakeUpstream { url, state, handle }
    }

    /// The `base_url` of the jobs' configuration.
    pub fn base_url(&self) -> String {
        format!("{}/v1", self.url)
    }

    /// The `token_url` of the jobs' configuration.
    pub fn token_url(&self) -> String {
        format!("{}/oauth2/token", self.url)
    }

    /// Serves `items` as the list of the lookup set `set` (e.g. `Agents`).
    pub fn set_list(&self, set: &str, items: Vec<Value>) {
        self.state.lists.lock().expect("not poisoned").insert(resource(set), Arc::new(items));
    }

    /// Serves these lists (keyed by set name, items keyed by the feed's property names); sets
    /// not named serve an empty list.
    pub fn set_lists(&self, lists: &BTreeMap<String, Vec<Map<String, Value>>>) {
        let mut served = self.state.lists.lock().expect("not poisoned");
        served.clear();
        for (set, items) in lists {
            served.insert(resource(set), Arc::new(items.iter().cloned().map(Value::Object).collect()));
        }
    }

    /// Items per page from now on.
    pub fn set_page_size(&self, size: usize) {
        self.state.page_size.store(size.max(1), Ordering::SeqCst);
    }

    /// Makes `resource` (e.g. `users`) answer `status` to every request (`None`: normal again).
    pub fn fail(&self, resource: &str, status: Option<u16>) {
        let mut failing = self.state.failing.lock().expect("not poisoned");
        match status {
            Some(status) => failing.insert(resource.to_owned(), status),
            None => failing.remove(resource),
        };
    }

    /// Makes the token endpoint answer `status` (`None`: normal again).
    pub fn fail_token(&self, status: Option<u16>) {
        *self.state.token_failure.lock().expect("not poisoned") = status;
    }

    /// How often the token endpoint was asked (whatever it answered).
    pub fn token_requests(&self) -> usize {
        self.state.token_requests.load(Ordering::SeqCst)
    }

    /// How many page requests `resource` got (whatever it answered).
    pub fn requests(&self, resource: &str) -> usize {
        self.state.counters.lock().expect("not poisoned").requests.get(resource).copied().unwrap_or(0)
    }

    /// Page requests of every resource together.
    pub fn total_requests(&self) -> usize {
        self.state.counters.lock().expect("not poisoned").requests.values().sum()
    }

    /// How often `resource`'s list was served to its last page.
    pub fn lists_served(&self, resource: &str) -> usize {
        self.state.counters.lock().expect("not poisoned").served.get(resource).copied().unwrap_or(0)
    }

    /// The access tokens handed out so far.
    pub fn issued_tokens(&self) -> Vec<String> {
        self.state.tokens.lock().expect("not poisoned").iter().cloned().collect()
    }

    /// The jobs' configuration (TOML) pointing `tenant` at this upstream with `secret`, two
    /// tries per call 10 ms apart, and `extra` (more tables, e.g. `[tenants.fabrikam]`) at
    /// the end.
    pub fn config_toml(&self, tenant: &str, secret: &str, extra: &str) -> String {
        format!(
            "upstream_attempts = 2\n\
             upstream_retry_seconds = 0.01\n\
             \n\
             [tenants.{tenant}.upstream]\n\
             base_url = \"{base}\"\n\
             token_url = \"{token}\"\n\
             client_id = \"{CLIENT_ID}\"\n\
             client_secret = \"{secret}\"\n\
             \n\
             {extra}\n",
            base = self.base_url(),
            token = self.token_url(),
        )
    }

    /// Writes `config_toml(tenant, CLIENT_SECRET, extra)` to `dir/jobs.toml`; returns its path.
    pub fn jobs_config(&self, dir: &Path, tenant: &str, extra: &str) -> PathBuf {
        write_config(dir, &self.config_toml(tenant, CLIENT_SECRET, extra))
    }
}

/// Writes `text` to `dir/jobs.toml`; returns its path.
pub fn write_config(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("jobs.toml");
    std::fs::write(&path, text).unwrap_or_else(|error| panic!("cannot write {}: {error}", path.display()));
    path
}

impl Drop for FakeUpstream {
    fn drop(&mut self) {
        // Stops accepting; the workers end with the test's runtime at the latest.
        drop(self.handle.stop(false));
    }
}

/// `%XX` and `+` decoded (`application/x-www-form-urlencoded`, as RFC 6749 wants the Basic
/// credentials encoded).
fn form_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match u8::from_str_radix(text.get(i + 1..i + 3).unwrap_or_default(), 16) {
                Ok(byte) => {
                    out.push(byte);
                    i += 2;
                }
                Err(_) => out.push(b'%'),
            },
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The client id and secret of an `Authorization: Basic` header.
fn basic_credentials(request: &HttpRequest) -> Option<(String, String)> {
    let header = request.headers().get("authorization")?.to_str().ok()?;
    let encoded = header.strip_prefix("Basic ").or_else(|| header.strip_prefix("basic "))?;
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((form_decode(id), form_decode(secret)))
}

fn oauth_error(status: actix_web::http::StatusCode, error: &str) -> HttpResponse {
    HttpResponse::build(status).json(json!({"error": error}))
}

async fn token(state: web::Data<State>, request: HttpRequest, body: String) -> HttpResponse {
    let n = state.token_requests.fetch_add(1, Ordering::SeqCst) + 1;
    if let Some(status) = *state.token_failure.lock().expect("not poisoned") {
        let status = actix_web::http::StatusCode::from_u16(status).expect("a valid status");
        return HttpResponse::build(status).body("the token service is unavailable");
    }
    if !body.split('&').any(|pair| pair == "grant_type=client_credentials") {
        return oauth_error(actix_web::http::StatusCode::BAD_REQUEST, "unsupported_grant_type");
    }
    match basic_credentials(&request) {
        Some((id, secret)) if id == CLIENT_ID && secret == CLIENT_SECRET => {}
        _ => return oauth_error(actix_web::http::StatusCode::UNAUTHORIZED, "invalid_client"),
    }
    let access_token = format!("fake-access-token-{n}-{}", std::process::id());
    state.tokens.lock().expect("not poisoned").insert(access_token.clone());
    HttpResponse::Ok().json(json!({"access_token": access_token, "token_type": "bearer", "expires_in": 3600}))
}

async fn list(
    state: web::Data<State>,
    request: HttpRequest,
    name: web::Path<String>,
    query: web::Query<HashMap<String, String>>,
) -> HttpResponse {
    let name = name.into_inner();
    *state.counters.lock().expect("not poisoned").requests.entry(name.clone()).or_default() += 1;
    let bearer = request.headers().get("authorization").and_then(|h| h.to_str().ok()).unwrap_or_default();
    let known =
        bearer.strip_prefix("Bearer ").is_some_and(|token| state.tokens.lock().expect("not poisoned").contains(token));
    if !known {
        return oauth_error(actix_web::http::StatusCode::UNAUTHORIZED, "invalid_token");
    }
    if let Some(status) = state.failing.lock().expect("not poisoned").get(&name).copied() {
        let status = actix_web::http::StatusCode::from_u16(status).expect("a valid status");
        return HttpResponse::build(status).json(json!({"error": format!("{name} is failing")}));
    }
    if !SETS.iter().any(|set| resource(set) == name) {
        return HttpResponse::NotFound().json(json!({"error": format!("no resource {name}")}));
    }
    let items = state.lists.lock().expect("not poisoned").get(&name).cloned().unwrap_or_default();
    let size = state.page_size.load(Ordering::SeqCst);
    let skip: usize = query.get("skip").and_then(|s| s.parse().ok()).unwrap_or(0).min(items.len());
    let end = (skip + size).min(items.len());
    let mut page = Map::new();
    page.insert("value".to_owned(), Value::Array(items[skip..end].to_vec()));
    if end < items.len() {
        page.insert("nextLink".to_owned(), Value::String(format!("{}/v1/{name}?skip={end}", state.url)));
    } else {
        *state.counters.lock().expect("not poisoned").served.entry(name.clone()).or_default() += 1;
    }
    HttpResponse::Ok().json(Value::Object(page))
}
