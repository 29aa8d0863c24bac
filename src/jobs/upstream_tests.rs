//! The upstream client against a fake upstream (token endpoint and lists) served on loopback.

use super::*;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, dev::ServerHandle, web};
use base64::Engine;
use serde_json::json;
use std::collections::VecDeque;
use std::net::TcpListener;
use std::sync::Mutex;
use std::sync::atomic::AtomicUsize;

const CLIENT_ID: &str = "feed-job";
const SECRET: &str = "s3cr3t-Zq8x-upstream";
const WRONG_SECRET: &str = "not-the-secret-Hx7q";

/// One canned answer.
#[derive(Clone)]
struct Reply {
    status: u16,
    body: String,
    headers: Vec<(&'static str, String)>,
    delay: Duration,
}

impl Reply {
    fn json(status: u16, body: serde_json::Value) -> Reply {
        Reply::raw(status, &body.to_string())
    }

    fn raw(status: u16, body: &str) -> Reply {
        Reply { status, body: body.to_owned(), headers: Vec::new(), delay: Duration::ZERO }
    }

    fn header(mut self, name: &'static str, value: &str) -> Reply {
        self.headers.push((name, value.to_owned()));
        self
    }

    fn delayed(mut self, delay: Duration) -> Reply {
        self.delay = delay;
        self
    }
}

#[derive(Default)]
struct State {
    /// `expires_in` of the tokens issued (none: the field is left out).
    expires_in: Mutex<Option<u64>>,
    tokens_issued: AtomicUsize,
    valid_tokens: Mutex<Vec<String>>,
    /// The `scope` of the last token request.
    last_scope: Mutex<Option<String>>,
    /// Path and query → answers served first, in order.
    scripted: Mutex<HashMap<String, VecDeque<Reply>>>,
    /// Path and query → the answer once the script is used up.
    standing: Mutex<HashMap<String, Reply>>,
    /// Path and query → requests received (with a valid token or not).
    hits: Mutex<HashMap<String, usize>>,
}

/// The fake upstream: `POST /oauth/token`, lists under `/api` (bearer token required) and
/// other canned answers anywhere else.
struct Fake {
    url: String,
    state: web::Data<State>,
    handle: ServerHandle,
}

impl Fake {
    fn start() -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
        let url = format!("http://{}", listener.local_addr().expect("bound"));
        let state = web::Data::new(State { expires_in: Mutex::new(Some(3600)), ..State::default() });
        let shared = state.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(shared.clone())
                .route("/oauth/token", web::post().to(token_endpoint))
                .default_service(web::to(list_endpoint))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .expect("the fake upstream listens")
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Fake { url, state, handle }
    }

    fn config(&self, secret: &str) -> UpstreamConfig {
        UpstreamConfig {
            base_url: format!("{}/api", self.url),
            token_url: format!("{}/oauth/token", self.url),
            client_id: CLIENT_ID.to_owned(),
            client_secret: secret.to_owned(),
            scope: Some("lookups.read".to_owned()),
        }
    }

    fn upstream(&self) -> Upstream {
        self.upstream_with(self.config(SECRET))
    }

    fn upstream_with(&self, config: UpstreamConfig) -> Upstream {
        let retry = RetryPolicy { attempts: 4, first_delay: Duration::from_millis(10) };
        Upstream::new(config, reqwest::Client::new(), retry).expect("a valid configuration")
    }

    /// Serves `reply` at `path` (with its query) from now on.
    fn serve(&self, path: &str, reply: Reply) {
        self.state.standing.lock().unwrap().insert(path.to_owned(), reply);
    }

    /// Serves `replies` at `path`, one per request, before the standing answer.
    fn script(&self, path: &str, replies: Vec<Reply>) {
        self.state.scripted.lock().unwrap().entry(path.to_owned()).or_default().extend(replies);
    }

    fn hits(&self, path: &str) -> usize {
        self.state.hits.lock().unwrap().get(path).copied().unwrap_or(0)
    }

    fn tokens_issued(&self) -> usize {
        self.state.tokens_issued.load(Ordering::SeqCst)
    }

    /// Makes every token issued so far invalid.
    fn revoke_tokens(&self) {
        self.state.valid_tokens.lock().unwrap().clear();
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

async fn token_endpoint(request: HttpRequest, body: web::Bytes, state: web::Data<State>) -> HttpResponse {
    let expected = base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{SECRET}"));
    let authorized = request
        .headers()
        .get("authorization")
        .and_then(|h| h.to_str().ok())
        .is_some_and(|h| h == format!("Basic {expected}"));
    if !authorized {
        return HttpResponse::Unauthorized().json(json!({"error": "invalid_client"}));
    }
    let form: HashMap<String, String> = oauth2::url::form_urlencoded::parse(&body).into_owned().collect();
    if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return HttpResponse::BadRequest().json(json!({"error": "unsupported_grant_type"}));
    }
    *state.last_scope.lock().unwrap() = form.get("scope").cloned();
    let n = state.tokens_issued.fetch_add(1, Ordering::SeqCst) + 1;
    let token = format!("token-{n}");
    state.valid_tokens.lock().unwrap().push(token.clone());
    let mut answer = json!({"access_token": token, "token_type": "Bearer"});
    if let Some(seconds) = *state.expires_in.lock().unwrap() {
        answer["expires_in"] = json!(seconds);
    }
    HttpResponse::Ok().json(answer)
}

async fn list_endpoint(request: HttpRequest, state: web::Data<State>) -> HttpResponse {
    let path = request.uri().path_and_query().map(|p| p.as_str().to_owned()).unwrap_or_default();
    *state.hits.lock().unwrap().entry(path.clone()).or_default() += 1;
    let bearer =
        request.headers().get("authorization").and_then(|h| h.to_str().ok()).and_then(|h| h.strip_prefix("Bearer "));
    let listed = path.starts_with("/api/");
    if listed && !bearer.is_some_and(|token| state.valid_tokens.lock().unwrap().iter().any(|valid| valid == token)) {
        return HttpResponse::Unauthorized().finish();
    }
    let scripted = state.scripted.lock().unwrap().get_mut(&path).and_then(VecDeque::pop_front);
    let reply = scripted.or_else(|| state.standing.lock().unwrap().get(&path).cloned());
    let Some(reply) = reply else {
        return HttpResponse::NotFound().finish();
    };
    tokio::time::sleep(reply.delay).await;
    let mut answer = HttpResponse::build(actix_web::http::StatusCode::from_u16(reply.status).unwrap());
    answer.content_type("application/json");
    for (name, value) in &reply.headers {
        answer.insert_header((*name, value.as_str()));
    }
    answer.body(reply.body)
}

fn agents_page(ids: &[&str], next: Option<String>) -> Reply {
    let value: Vec<_> =
        ids.iter().map(|id| json!({"id": id, "name": format!("Agent {id}"), "customId": null})).collect();
    let mut page = json!({ "value": value });
    if let Some(next) = next {
        page["nextLink"] = json!(next);
    }
    Reply::json(200, page)
}

fn ids(items: &[Map<String, Value>]) -> Vec<&str> {
    items.iter().map(|item| item["id"].as_str().expect("a string id")).collect()
}

#[tokio::test]
async fn one_token_serves_several_lists_and_pages() {
    let fake = Fake::start();
    fake.serve("/api/agents", agents_page(&["a1"], Some(format!("{}/api/agents?page=2", fake.url))));
    fake.serve("/api/agents?page=2", agents_page(&["a2"], None));
    fake.serve("/api/queues", Reply::json(200, json!({"value": [{"id": "q1", "Name": "Sales"}]})));
    let upstream = fake.upstream();

    assert_eq!(ids(&upstream.list("Agents").await.unwrap()), ["a1", "a2"]);
    assert_eq!(ids(&upstream.list("Queues").await.unwrap()), ["q1"]);
    assert_eq!(ids(&upstream.list("Agents").await.unwrap()), ["a1", "a2"]);

    assert_eq!(upstream.token_requests(), 1);
    assert_eq!(fake.tokens_issued(), 1);
    assert_eq!(fake.state.last_scope.lock().unwrap().as_deref(), Some("lookups.read"));
}

#[tokio::test]
async fn an_expired_token_is_renewed() {
    let fake = Fake::start();
    *fake.state.expires_in.lock().unwrap() = Some(1);
    fake.serve("/api/channels", Reply::json(200, json!({"value": [{"id": "c1"}]})));
    let upstream = fake.upstream();

    upstream.list("Channels").await.unwrap();
    upstream.list("Channels").await.unwrap();
    assert_eq!(upstream.token_requests(), 1, "still valid: reused");
    tokio::time::sleep(Duration::from_millis(1200)).await;
    upstream.list("Channels").await.unwrap();
    assert_eq!(upstream.token_requests(), 2);
}

#[tokio::test]
async fn a_revoked_token_is_replaced_once_and_the_call_made_again() {
    let fake = Fake::start();
    fake.serve("/api/users", Reply::json(200, json!({"value": [{"id": "u1", "Name": "Ann"}]})));
    let upstream = fake.upstream();
    upstream.list("Users").await.unwrap();
    fake.revoke_tokens();

    let users = upstream.list("Users").await.unwrap();

    assert_eq!(ids(&users), ["u1"]);
    assert_eq!(upstream.token_requests(), 2);
    assert_eq!(fake.hits("/api/users"), 3, "one call, then the refused one and its repetition");
}

#[tokio::test]
async fn a_list_refused_even_with_a_new_token_fails_with_401() {
    let fake = Fake::start();
    fake.script("/api/users", vec![Reply::raw(401, ""), Reply::raw(401, "")]);
    let upstream = fake.upstream();

    let error = upstream.list("Users").await.unwrap_err();

    assert!(matches!(error, UpstreamError::Http { status: StatusCode::UNAUTHORIZED, .. }), "{error:?}");
    assert_eq!(upstream.token_requests(), 2);
    assert_eq!(fake.hits("/api/users"), 2);
}

#[tokio::test]
async fn pages_are_followed_in_order() {
    let fake = Fake::start();
    fake.serve(
        "/api/botSteps",
        Reply::json(
            200,
            json!({
                "value": [{"id": "b1", "type": "qna"}, {"id": "b2", "type": "menuSelection"}],
                "nextLink": format!("{}/api/botSteps?skiptoken=x2", fake.url),
            }),
        ),
    );
    fake.serve(
        "/api/botSteps?skiptoken=x2",
        Reply::json(
            200,
            json!({
                "value": [{"id": "b3"}],
                "nextLink": "/api/botSteps?skiptoken=x3",
            }),
        ),
    );
    fake.serve(
        "/api/botSteps?skiptoken=x3",
        Reply::json(200, json!({"value": [{"id": "b4"}, {"id": "b5"}], "nextLink": null})),
    );
    let upstream = fake.upstream();

    let steps = upstream.list("BotSteps").await.unwrap();

    assert_eq!(ids(&steps), ["b1", "b2", "b3", "b4", "b5"]);
    assert_eq!(steps[0]["type"], "qna");
}

#[tokio::test]
async fn resources_are_the_set_names_with_a_lower_case_first_letter() {
    let fake = Fake::start();
    let upstream = fake.upstream();
    for (set, path) in [
        ("Agents", "/api/agents"),
        ("Users", "/api/users"),
        ("Queues", "/api/queues"),
        ("Channels", "/api/channels"),
        ("BotSteps", "/api/botSteps"),
        ("BusinessUnits", "/api/businessUnits"),
        ("Campaigns", "/api/campaigns"),
    ] {
        fake.serve(path, Reply::json(200, json!({"value": [{"id": set}]})));
        assert_eq!(ids(&upstream.list(set).await.unwrap()), [set]);
    }
}

#[tokio::test]
async fn items_keep_only_the_feed_properties_and_never_deleted_at() {
    let fake = Fake::start();
    fake.serve(
        "/api/campaigns",
        Reply::json(
            200,
            json!({"value": [{
                "id": "k1", "name": "Spring", "campaignType": "Preview",
                "deletedAt": "2020-01-01T00:00:00Z", "internalNotes": "not published",
            }]}),
        ),
    );
    let upstream = fake.upstream();

    let campaigns = upstream.list("Campaigns").await.unwrap();

    assert_eq!(Value::Object(campaigns[0].clone()), json!({"campaignType": "Preview", "id": "k1", "name": "Spring"}));
}

#[tokio::test]
async fn an_item_without_its_key_is_malformed() {
    let fake = Fake::start();
    fake.serve("/api/agents", Reply::json(200, json!({"value": [{"id": "a1"}, {"name": "nobody"}]})));
    let upstream = fake.upstream();

    let error = upstream.list("Agents").await.unwrap_err();

    assert!(matches!(error, UpstreamError::Malformed { .. }), "{error:?}");
    assert!(error.to_string().contains("item 1") && error.to_string().contains("`id`"), "{error}");
}

#[tokio::test]
async fn unavailable_twice_then_ok_succeeds_after_retries() {
    let fake = Fake::start();
    fake.script("/api/queues", vec![Reply::raw(503, ""), Reply::raw(503, "")]);
    fake.serve("/api/queues", Reply::json(200, json!({"value": [{"id": "q1"}]})));
    let upstream = fake.upstream();

    assert_eq!(ids(&upstream.list("Queues").await.unwrap()), ["q1"]);
    assert_eq!(fake.hits("/api/queues"), 3);
}

#[tokio::test]
async fn a_lasting_server_error_fails_after_exactly_the_policy_s_attempts() {
    let fake = Fake::start();
    fake.serve("/api/agents", Reply::raw(500, "{}"));
    let upstream = fake.upstream();

    let error = upstream.list("Agents").await.unwrap_err();

    assert!(matches!(error, UpstreamError::Http { status: StatusCode::INTERNAL_SERVER_ERROR, .. }), "{error:?}");
    assert!(error.to_string().contains("500") && error.to_string().contains("/api/agents"), "{error}");
    assert_eq!(fake.hits("/api/agents"), 4);
}

#[tokio::test]
async fn too_many_requests_is_retried_after_its_retry_after() {
    let fake = Fake::start();
    fake.script("/api/agents", vec![Reply::raw(429, "").header("Retry-After", "1")]);
    fake.serve("/api/agents", agents_page(&["a1"], None));
    let upstream = fake.upstream();

    let started = Instant::now();
    assert_eq!(ids(&upstream.list("Agents").await.unwrap()), ["a1"]);
    assert!(started.elapsed() >= Duration::from_secs(1), "waited {:?}", started.elapsed());
    assert_eq!(fake.hits("/api/agents"), 2);
}

#[tokio::test]
async fn not_found_fails_at_once() {
    let fake = Fake::start();
    let upstream = fake.upstream();

    let error = upstream.list("BusinessUnits").await.unwrap_err();

    assert!(matches!(error, UpstreamError::Http { status: StatusCode::NOT_FOUND, .. }), "{error:?}");
    assert_eq!(fake.hits("/api/businessUnits"), 1);
}

#[tokio::test]
async fn an_answer_that_never_comes_is_unreachable_after_the_retries() {
    let fake = Fake::start();
    fake.serve("/api/agents", agents_page(&["a1"], None).delayed(Duration::from_secs(2)));
    let mut upstream = fake.upstream();
    upstream.limits.timeout = Duration::from_millis(200);
    upstream.retry.attempts = 2;

    let error = upstream.list("Agents").await.unwrap_err();

    assert!(matches!(error, UpstreamError::Unreachable { .. }), "{error:?}");
    assert_eq!(fake.hits("/api/agents"), 2);
}

#[tokio::test]
async fn a_closed_port_is_unreachable() {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let fake = Fake::start();
    let mut upstream = fake.upstream();
    upstream.base = Url::parse(&format!("http://127.0.0.1:{port}/api")).unwrap();

    let error = upstream.list("Agents").await.unwrap_err();

    assert!(matches!(error, UpstreamError::Unreachable { .. }), "{error:?}");
    assert!(error.to_string().contains(&format!("127.0.0.1:{port}/api/agents")), "{error}");
}

#[tokio::test]
async fn pages_that_are_not_lists_are_malformed() {
    let fake = Fake::start();
    let upstream = fake.upstream();
    for (body, reason) in [
        ("{not json", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        (r#"{"items": []}"#, "no `value` array"),
        (r#"{"value": {"id": "a1"}}"#, "no `value` array"),
        (r#"{"value": [1]}"#, "not an object"),
        (r#"{"value": [], "nextLink": 3}"#, "`nextLink` is not a string"),
    ] {
        fake.serve("/api/agents", Reply::raw(200, body));
        let error = upstream.list("Agents").await.unwrap_err();
        assert!(matches!(error, UpstreamError::Malformed { .. }), "{body}: {error:?}");
        assert!(error.to_string().contains(reason), "{body}: {error}");
    }
}

#[tokio::test]
async fn a_page_over_the_size_limit_is_malformed() {
    let fake = Fake::start();
    fake.serve("/api/agents", agents_page(&["a1", "a2", "a3"], None));
    let mut upstream = fake.upstream();
    upstream.limits.page_bytes = 32;

    let error = upstream.list("Agents").await.unwrap_err();

    assert!(matches!(error, UpstreamError::Malformed { .. }), "{error:?}");
    assert!(error.to_string().contains("larger than 32 bytes"), "{error}");
    assert_eq!(fake.hits("/api/agents"), 1, "not retried");
}

#[tokio::test]
async fn a_next_link_to_another_host_is_refused() {
    let fake = Fake::start();
    fake.serve("/api/agents", agents_page(&["a1"], Some("http://attacker.example/steal?token=1".to_owned())));
    let upstream = fake.upstream();

    let error = upstream.list("Agents").await.unwrap_err();

    assert!(matches!(error, UpstreamError::Malformed { .. }), "{error:?}");
    assert!(error.to_string().contains("another origin"), "{error}");
    assert!(!error.to_string().contains("token=1"), "the query is not shown: {error}");
}

#[tokio::test]
async fn a_next_link_to_another_port_is_refused() {
    let fake = Fake::start();
    let other = Fake::start();
    fake.serve("/api/agents", agents_page(&["a1"], Some(format!("{}/api/agents?page=2", other.url))));
    let upstream = fake.upstream();

    let error = upstream.list("Agents").await.unwrap_err();

    assert!(error.to_string().contains("another origin"), "{error}");
    assert_eq!(other.hits("/api/agents?page=2"), 0);
}

#[tokio::test]
async fn next_links_that_go_on_forever_stop_at_the_page_limit() {
    let fake = Fake::start();
    fake.serve("/api/agents", agents_page(&["a1"], Some(format!("{}/api/agents", fake.url))));
    let mut upstream = fake.upstream();
    upstream.limits.pages = 5;

    let error = upstream.list("Agents").await.unwrap_err();

    assert!(matches!(error, UpstreamError::TooManyPages { pages: 5, .. }), "{error:?}");
    assert_eq!(fake.hits("/api/agents"), 5);
}

#[tokio::test]
async fn a_wrong_client_secret_is_a_token_error_that_does_not_show_the_secret() {
    let fake = Fake::start();
    fake.serve("/api/agents", agents_page(&["a1"], None));
    let upstream = fake.upstream_with(fake.config(WRONG_SECRET));

    let error = upstream.list("Agents").await.unwrap_err();

    assert!(matches!(error, UpstreamError::Token { .. }), "{error:?}");
    let (display, debug) = (error.to_string(), format!("{error:?}"));
    assert!(display.contains("invalid_client") && display.contains("/oauth/token"), "{display}");
    for shown in [&display, &debug, &format!("{upstream:?}")] {
        assert!(!shown.contains(WRONG_SECRET), "{shown}");
    }
    assert_eq!(fake.hits("/api/agents"), 0);
    assert_eq!(upstream.token_requests(), 1, "a refusal is not retried");
}

#[tokio::test]
async fn a_failing_token_endpoint_is_retried_then_named_with_its_status() {
    let fake = Fake::start();
    let mut config = fake.config(SECRET);
    config.token_url = format!("{}/busy/token", fake.url);
    fake.serve("/busy/token", Reply::raw(503, "busy"));
    let upstream = fake.upstream_with(config);

    let error = upstream.list("Agents").await.unwrap_err();

    assert!(matches!(error, UpstreamError::Token { .. }), "{error:?}");
    assert!(error.to_string().contains("503") && error.to_string().contains("/busy/token"), "{error}");
    assert_eq!(upstream.token_requests(), 1);
    assert_eq!(fake.hits("/busy/token"), 4, "retried as the policy says");
}

#[tokio::test]
async fn a_token_without_expiry_is_kept_for_five_minutes() {
    let fake = Fake::start();
    *fake.state.expires_in.lock().unwrap() = None;
    fake.serve("/api/agents", agents_page(&["a1"], None));
    let upstream = fake.upstream();

    upstream.list("Agents").await.unwrap();

    let cached = upstream.token.lock().await;
    let left = cached.as_ref().expect("a cached token").renew_at - Instant::now();
    assert!(left > Duration::from_secs(200) && left <= Duration::from_secs(300), "{left:?}");
}

#[tokio::test]
async fn a_set_that_is_not_a_lookup_is_refused() {
    let fake = Fake::start();
    let upstream = fake.upstream();

    for set in ["Calls", "Nope", "agents"] {
        let error = upstream.list(set).await.unwrap_err();
        assert!(matches!(error, UpstreamError::UnknownSet(_)), "{set}: {error:?}");
    }
    assert_eq!(upstream.token_requests(), 0);
}

#[test]
fn the_configuration_s_debug_does_not_show_the_secret() {
    let config = UpstreamConfig {
        base_url: "https://api.example.com/v1".into(),
        token_url: "https://login.example.com/token".into(),
        client_id: CLIENT_ID.into(),
        client_secret: SECRET.into(),
        scope: None,
    };

    let debug = format!("{config:?}");

    assert!(!debug.contains(SECRET), "{debug}");
    assert!(debug.contains("[redacted]") && debug.contains(CLIENT_ID), "{debug}");
}

#[test]
fn the_configuration_reads_from_toml() {
    let config: UpstreamConfig = toml::from_str(
        r#"
        base_url = "https://api.example.com/v1/"
        token_url = "https://login.example.com/token"
        client_id = "job"
        client_secret = "x"
        "#,
    )
    .unwrap();

    assert_eq!(config.scope, None);
    let upstream = Upstream::new(config, reqwest::Client::new(), RetryPolicy::default()).unwrap();
    assert_eq!(upstream.resource_url("BusinessUnits").unwrap().as_str(), "https://api.example.com/v1/businessUnits");
}

#[test]
fn urls_in_errors_lose_their_query_and_credentials() {
    let url = Url::parse("https://user:pw@api.example.com/v1/agents?sig=abc&page=2#top").unwrap();
    assert_eq!(redact(&url), "https://api.example.com/v1/agents?…");
}

#[test]
fn a_configuration_with_bad_urls_is_refused() {
    let good = UpstreamConfig {
        base_url: "https://api.example.com/v1".into(),
        token_url: "https://login.example.com/token".into(),
        client_id: "job".into(),
        client_secret: SECRET.into(),
        scope: None,
    };
    for broken in [
        UpstreamConfig { base_url: "api.example.com".into(), ..good.clone() },
        UpstreamConfig { base_url: "ftp://api.example.com".into(), ..good.clone() },
        UpstreamConfig { token_url: "not a url".into(), ..good.clone() },
        UpstreamConfig { client_id: String::new(), ..good.clone() },
    ] {
        let error = Upstream::new(broken, reqwest::Client::new(), RetryPolicy::default()).unwrap_err();
        assert!(!format!("{error:#}").contains(SECRET), "{error:#}");
    }
}
