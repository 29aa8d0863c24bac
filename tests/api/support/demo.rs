//! The demo data set as the read tests see it: generated once per test process (scale 3 000,
//! seed 42) into the template database `odata_demo`, which nobody connects to afterwards.
//! Tests that only read share one copy of it (`demo_database`), which keeps the suite fast;
//! tests that write get a copy of their own (`fresh_demo_database`). `spawn_demo_app` serves a
//! copy for the tenant `contoso` and hands back the database URL, so a test can compare every
//! answer with the same question asked in SQL.

#![allow(dead_code)] // each test file uses a different part of this module

use super::app::{TestApp, skiptoken_key, spawn_with};
use super::database::{TEMPLATE, TestDatabase, cluster_url, copy_of, execute_locked, query_rows};
use odata_feed::{db, http::ReadSettings};
use reqwest::{Method, Response, StatusCode, header::HeaderMap};
use serde_json::Value;
use std::sync::OnceLock;
use std::time::Duration;

/// The template every demo copy is made from.
pub const DEMO_TEMPLATE: &str = "odata_demo";
/// The copy that read-only tests share.
const SHARED_COPY: &str = "odata_demo_read";
pub const SCALE: u32 = 3_000;
pub const SEED: u64 = 42;
/// The tenant the demo server reads.
pub const TENANT: &str = "contoso";
/// The other tenant of the demo data, which the server must never show.
pub const OTHER_TENANT: &str = "fabrikam";
/// The time zone of `TENANT`, in which local-time properties are given.
pub const TENANT_ZONE: &str = "Europe/Budapest";

static TEMPLATE_READY: OnceLock<Result<(), String>> = OnceLock::new();
static SHARED: OnceLock<Result<TestDatabase, String>> = OnceLock::new();

/// The copy of the demo data shared by tests that do not write.
pub async fn demo_database() -> TestDatabase {
    let shared = tokio::task::spawn_blocking(|| {
        SHARED
            .get_or_init(|| {
                demo_template()?;
                execute_locked("postgres", &format!("CREATE DATABASE {SHARED_COPY} TEMPLATE {DEMO_TEMPLATE}"));
                Ok(TestDatabase { url: cluster_url(SHARED_COPY), name: SHARED_COPY.to_owned() })
            })
            .clone()
    })
    .await
    .expect("the shared demo database is prepared");
    shared.unwrap_or_else(|message| panic!("the demo database is unavailable: {message}"))
}

/// A copy of the demo data of its own, for a test that writes.
pub async fn fresh_demo_database() -> TestDatabase {
    tokio::task::spawn_blocking(demo_template)
        .await
        .expect("the demo template is prepared")
        .unwrap_or_else(|message| panic!("the demo template is unavailable: {message}"));
    copy_of(DEMO_TEMPLATE).await
}

/// Builds `odata_demo` once per process. Blocking.
fn demo_template() -> Result<(), String> {
    TEMPLATE_READY.get_or_init(build_template).clone()
}

fn build_template() -> Result<(), String> {
    // On a thread of its own: the load needs a runtime, and a panic must become an error that
    // every later caller sees, not a half-built template that the next caller trips over.
    std::thread::spawn(|| {
        execute_locked("postgres", &format!("CREATE DATABASE {DEMO_TEMPLATE} TEMPLATE {TEMPLATE}"));
        let url = cluster_url(DEMO_TEMPLATE);
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
        runtime.block_on(async {
            let pool = db::pool::connect(&url, 2).await.expect("the demo template answers");
            odata_feed::demo::load_once(&pool, SCALE, SEED).await.expect("the demo data loads");
            db::secrets::skiptoken_key(&pool).await.expect("the skiptoken key is stored");
            pool.close();
        });
        drop(runtime);
        // Copies fail while anyone is connected; lock that in.
        execute_locked("postgres", &format!("ALTER DATABASE {DEMO_TEMPLATE} WITH ALLOW_CONNECTIONS false"));
    })
    .join()
    .map_err(|panic| {
        panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_else(|| "building the demo template panicked".to_owned())
    })
}

/// A running server over demo data, and the database it reads.
pub struct DemoApp {
    pub app: TestApp,
    /// The database the server reads; tests run their SQL here.
    pub db_url: String,
}

/// Serves the shared demo copy for the tenant `contoso`.
pub async fn spawn_demo_app() -> DemoApp {
    spawn_demo_app_with(demo_database().await, |_| {}).await
}

/// Serves `database` for the tenant `contoso`, with read settings adjusted by `configure`.
pub async fn spawn_demo_app_with(database: TestDatabase, configure: impl FnOnce(&mut ReadSettings)) -> DemoApp {
    let pool =
        db::pool::connect_reader(&database.url, 4, Duration::from_secs(60)).await.expect("the demo database answers");
    let mut settings = ReadSettings::new(skiptoken_key(&database.url).await);
    configure(&mut settings);
    DemoApp { app: spawn_with(pool, settings), db_url: database.url }
}

/// What a sequence of pages delivered.
pub struct Pages {
    /// Every entity of every page, in order.
    pub entities: Vec<Value>,
    /// Every page's body.
    pub bodies: Vec<Value>,
    /// The `Preference-Applied` header of each page, when there was one.
    pub applied: Vec<Option<String>>,
}

impl DemoApp {
    /// The absolute service root, `http://127.0.0.1:<port>/odata`.
    pub fn root(&self) -> String {
        format!("{}/odata", self.app.address)
    }

    /// The absolute URL of `path`, relative to the service root (`Calls?$top=1`).
    pub fn url(&self, path: &str) -> String {
        format!("{}/{path}", self.root())
    }

    /// GET `path` (relative to the service root).
    pub async fn get(&self, path: &str) -> Response {
        self.request(Method::GET, &self.url(path), &[]).await
    }

    /// GET `path` (relative to the service root) with extra headers.
    pub async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Response {
        self.request(Method::GET, &self.url(path), headers).await
    }

    /// Any method on an absolute URL.
    pub async fn request(&self, method: Method, url: &str, headers: &[(&str, &str)]) -> Response {
        let mut request = self.app.client.request(method, url);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.unwrap_or_else(|error| panic!("{} is not answered: {:?}", short(url), error.without_url()))
    }

    /// GET `path` and its JSON body; fails the test unless the answer is 200 with JSON.
    pub async fn json(&self, path: &str) -> Value {
        ok_json(self.get(path).await).await
    }

    /// Follows `@odata.nextLink` from `path` until the last page, sending `headers` each time.
    pub async fn pages(&self, path: &str, headers: &[(&str, &str)]) -> Pages {
        let mut pages = Pages { entities: Vec::new(), bodies: Vec::new(), applied: Vec::new() };
        let mut url = self.url(path);
        loop {
            assert!(pages.bodies.len() < 1_000, "paging does not end: still going at {url}");
            let response = self.request(Method::GET, &url, headers).await;
            pages.applied.push(header(response.headers(), "preference-applied"));
            let body = ok_json(response).await;
            let value = body["value"].as_array().unwrap_or_else(|| panic!("no `value` array in {body}"));
            pages.entities.extend(value.iter().cloned());
            let next = body.get("@odata.nextLink").map(|n| n.as_str().expect("the next link is a string").to_owned());
            pages.bodies.push(body);
            match next {
                Some(next) => {
                    assert!(next.starts_with(&self.root()), "the next link `{next}` is not absolute under the root");
                    url = next;
                }
                None => return pages,
            }
        }
    }

    /// Every row of `sql`, run on the database the server reads.
    pub async fn sql(&self, sql: &str) -> Vec<tokio_postgres::Row> {
        query_rows(&self.db_url, sql).await
    }

    /// The first column of every row of `sql`, which must be text.
    pub async fn sql_strings(&self, sql: &str) -> Vec<String> {
        self.sql(sql).await.iter().map(|row| row.get::<_, String>(0)).collect()
    }

    /// The single bigint `sql` returns (a `count(*)`).
    pub async fn sql_count(&self, sql: &str) -> i64 {
        self.sql(sql).await[0].get(0)
    }
}

/// The JSON body of a 200 response; fails the test with the body otherwise.
pub async fn ok_json(response: Response) -> Value {
    let status = response.status();
    let url = short(response.url().as_str());
    let text = response
        .text()
        .await
        .unwrap_or_else(|error| panic!("the body of {url} cannot be read: {:?}", error.without_url()));
    assert_eq!(status, StatusCode::OK, "{url} answered {status}: {text}");
    serde_json::from_str(&text).unwrap_or_else(|error| panic!("{url} did not answer JSON ({error}): {text}"))
}

/// Checks that `response` is an OData JSON error with `status` and returns its message.
pub async fn odata_error(response: Response, status: StatusCode) -> String {
    let actual = response.status();
    let url = short(response.url().as_str());
    let content_type = header(response.headers(), "content-type").unwrap_or_default();
    let version = header(response.headers(), "odata-version");
    let text = response.text().await.unwrap_or_default();
    assert_eq!(actual, status, "{url} answered {actual}, not {status}: {text}");
    assert!(content_type.starts_with("application/json"), "{url}: the error is `{content_type}`, not JSON: {text}");
    assert_eq!(version.as_deref(), Some("4.0"), "{url}: the error lacks `OData-Version: 4.0`");
    let body: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{url}: the error is not JSON ({e}): {text}"));
    let code = body["error"]["code"].as_str().unwrap_or_default();
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(!code.is_empty() && !message.is_empty(), "{url}: not an OData error body: {text}");
    message.to_owned()
}

/// The OData error code of a JSON error body.
pub fn error_code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or_default()
}

/// The names of the properties the model declares for `set`.
pub fn declared_properties(set: &str) -> std::collections::BTreeSet<String> {
    let model = odata_feed::odata::model::Model::load().expect("the model loads");
    model.entity_set(set).expect("the set exists").properties.iter().map(|p| p.name.clone()).collect()
}

/// A URL cut to a length that fits in a message.
pub fn short(url: &str) -> String {
    match url.char_indices().nth(200) {
        Some((end, _)) => format!("{}... ({} bytes)", &url[..end], url.len()),
        None => url.to_owned(),
    }
}

/// A header's value as text.
pub fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name).map(|v| v.to_str().expect("a text header").to_owned())
}

/// Percent-encodes a query option value (RFC 3986): everything but unreserved characters and
/// the punctuation OData expressions use, so a `+` travels as `%2B` and a space as `%20`.
pub fn enc(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 2);
    for &b in value.as_bytes() {
        if b.is_ascii_alphanumeric() || b"-._~'()*,:@$/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The values of `name` in `entities`, as JSON.
pub fn column<'a>(entities: &'a [Value], name: &str) -> Vec<&'a Value> {
    entities.iter().map(|e| e.get(name).unwrap_or_else(|| panic!("`{name}` is missing from {e}"))).collect()
}

/// The string values of `name` in `entities`.
pub fn strings(entities: &[Value], name: &str) -> Vec<String> {
    column(entities, name)
        .into_iter()
        .map(|v| v.as_str().unwrap_or_else(|| panic!("`{name}` is not a string: {v}")).to_owned())
        .collect()
}

/// Describes how two id lists differ, for assertion messages.
pub fn difference(expected: &[String], actual: &[String]) -> String {
    let first = expected.iter().zip(actual).position(|(e, a)| e != a);
    let missing = expected.iter().filter(|e| !actual.contains(e)).count();
    let extra = actual.iter().filter(|a| !expected.contains(a)).count();
    format!(
        "expected {} rows, got {} ({missing} missing, {extra} unexpected); first difference at position {}",
        expected.len(),
        actual.len(),
        first.map_or_else(|| "(none: one list is a prefix of the other)".to_owned(), |p| p.to_string()),
    )
}
