//! The client of the upstream HTTP API that the nightly job refreshes the lookup sets (Agents,
//! Users, Queues, Channels, BotSteps, BusinessUnits, Campaigns) from. It owns the upstream's
//! contract, the access token cache, retries, paging and the checks on what comes back; it
//! writes nothing (the job decides what to do with the items).
//!
//! The contract (we define it):
//!
//! - **Authentication**: OAuth2 client credentials. `POST token_url` with the client id and
//!   secret as HTTP Basic (oauth2's default) and the optional `scope`. The access token is cached
//!   until shortly before it expires (`expires_in`, 5 minutes when absent; renewed a tenth of its
//!   lifetime early, at most 60 s early) and reused by every list request of every run: an
//!   [`Upstream`] is long-lived. One token request at a time.
//! - **Lists**: `GET {base_url}/{resource}` with `Authorization: Bearer <token>`, where the
//!   resource is the entity set's name with a lower-case first letter (`agents`, `users`,
//!   `queues`, `channels`, `botSteps`, `businessUnits`, `campaigns`). The answer is a JSON
//!   object `{"value": [{...}, ...], "nextLink": "<URL of the next page>"}`; paging follows
//!   `nextLink` (absolute, or resolved against the page's URL) until it is absent or null, for
//!   at most 10,000 pages, and a `nextLink` to another origin than `base_url` is refused (the
//!   bearer token is never sent elsewhere).
//! - **Items** are objects keyed by the feed's property names (`schema/*.toml`, e.g. Agents:
//!   `id`, `name`, `customId`). Each item must carry its key properties, not null; properties
//!   the set does not publish are dropped, and so is `deletedAt`, which the refresh sets itself
//!   and never takes from upstream.
//! - **A 401 on a list call** means the cached token was revoked: it is dropped, a new one is
//!   requested and that call is made once more.
//! - **Failures**: connection errors, timeouts (30 s per request, body included) and 5xx or 429
//!   answers are retried with exponential backoff ([`RetryPolicy`]: 4 tries, 1 s first delay,
//!   doubling, at most 60 s; a `Retry-After` in seconds is honoured up to 60 s), then fail with
//!   an error naming the URL (its query left out: it may carry secrets) and the status or
//!   cause. Other 4xx answers fail at once. The token endpoint gets the same retries.
//! - **Bounded reads**: a page is read up to 64 MiB, a token answer up to 1 MiB; a page must be
//!   a JSON object with a `value` array of objects, otherwise the list fails as
//!   [`UpstreamError::Malformed`].
//! - **The client secret** is held as oauth2's [`ClientSecret`] and never appears in logs,
//!   errors or `Debug` output ([`UpstreamConfig`]'s `Debug` redacts it); neither does the access
//!   token.

use crate::odata::model::{Model, SetKind};
use oauth2::basic::{BasicClient, BasicErrorResponse};
use oauth2::{
    AccessToken, ClientId, ClientSecret, EndpointNotSet, EndpointSet, RequestTokenError, Scope, TokenResponse, TokenUrl,
};
use reqwest::header::{AUTHORIZATION, HeaderMap, RETRY_AFTER};
use reqwest::{StatusCode, Url};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long one request may take, from connecting to the end of its body.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest page read.
const MAX_PAGE_BYTES: usize = 64 * 1024 * 1024;
/// The largest token endpoint answer read.
const MAX_TOKEN_BYTES: usize = 1024 * 1024;
/// The most pages one list follows.
const MAX_PAGES: usize = 10_000;
/// A token's lifetime when the token endpoint does not say (`expires_in` absent).
const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(5 * 60);
/// The longest a token is trusted, whatever `expires_in` says.
const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);
/// The most a token is renewed before it expires.
const MAX_RENEWAL_MARGIN: Duration = Duration::from_secs(60);
/// The longest wait between two tries (backoff and `Retry-After` alike).
const MAX_RETRY_DELAY: Duration = Duration::from_secs(60);
/// The property the refresh sets itself and never takes from upstream.
const DELETED_AT: &str = "deletedAt";

/// Where one upstream is and how the job signs in to it (a section of the job's TOML).
#[derive(Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamConfig {
    /// The root of the list resources, e.g. `https://api.example.com/v1` (no trailing `/` needed).
    pub base_url: String,
    /// The OAuth2 token endpoint.
    pub token_url: String,
    pub client_id: String,
    /// Never printed: `Debug` shows `[redacted]`.
    pub client_secret: String,
    /// Sent as `scope` in the token request when set.
    pub scope: Option<String>,
}

impl fmt::Debug for UpstreamConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UpstreamConfig")
            .field("base_url", &self.base_url)
            .field("token_url", &self.token_url)
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("scope", &self.scope)
            .finish()
    }
}

/// How often and how patiently a request is tried again after a transient failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries in all, the first included (0 counts as 1).
    pub attempts: u32,
    /// The wait before the second try; it doubles before each later one (up to 60 s).
    pub first_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy { attempts: 4, first_delay: Duration::from_secs(1) }
    }
}

/// Why a list could not be had. URLs are shown without their query.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// No access token: the token endpoint refused the client, failed, or could not be reached.
    #[error("no access token from {url}: {reason}")]
    Token { url: String, reason: String },
    /// A list request answered an error status (after the retries, for 5xx and 429).
    #[error("GET {url} answered {status}")]
    Http { url: String, status: StatusCode },
    /// A list request got no answer (connection error or timeout), after the retries.
    #[error("GET {url} could not be reached: {reason}")]
    Unreachable { url: String, reason: String },
    /// A page that is not what the contract says (or too large, or a refused `nextLink`).
    #[error("GET {url} answered an unusable page: {reason}")]
    Malformed { url: String, reason: String },
    /// The `nextLink`s went on past the page limit (probably a loop).
    #[error("GET {url}: the next links go on past {pages} pages")]
    TooManyPages { url: String, pages: usize },
    /// `list` was asked for a set that is not a lookup set of the feed.
    #[error("`{0}` is not a lookup entity set of the feed")]
    UnknownSet(String),
}

/// The oauth2 client with its token endpoint set.
type OAuthClient = BasicClient<EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

/// Limits that tests shrink.
#[derive(Debug, Clone, Copy)]
struct Limits {
    timeout: Duration,
    page_bytes: usize,
    pages: usize,
}

/// The upstream of one configuration: long-lived, it keeps its access token between runs.
pub struct Upstream {
    /// `base_url` without a trailing `/`.
    base: Url,
    /// `token_url` as shown in errors and logs.
    token_url: String,
    oauth: OAuthClient,
    scope: Option<Scope>,
    http: reqwest::Client,
    retry: RetryPolicy,
    limits: Limits,
    /// Lookup set name → the properties accepted from upstream (`deletedAt` left out) and the key.
    sets: HashMap<String, SetShape>,
    /// Held while a token is requested, so that concurrent lists wait for one token.
    token: tokio::sync::Mutex<Option<CachedToken>>,
    token_requests: AtomicU64,
}

struct SetShape {
    properties: Vec<String>,
    key: Vec<String>,
}

struct CachedToken {
    token: AccessToken,
    /// When to request a new one (shortly before it expires).
    renew_at: Instant,
}

impl fmt::Debug for Upstream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Upstream")
            .field("base_url", &self.base.as_str())
            .field("token_url", &self.token_url)
            .field("client_id", &self.oauth.client_id().as_str())
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

/// What one request got back, its body read in full.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

/// Why a request failed for good (the retries included).
#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error("{0}")]
    Unreachable(String),
    #[error("answered {0}")]
    Status(StatusCode),
    #[error("the answer is larger than {0} bytes")]
    TooLarge(usize),
}

impl Upstream {
    /// Checks the configuration and reads the lookup sets' properties from the feed model.
    /// `http` should not follow redirects across origins with credentials (reqwest's default
    /// drops `Authorization` when it does).
    pub fn new(config: UpstreamConfig, http: reqwest::Client, retry: RetryPolicy) -> anyhow::Result<Upstream> {
        use anyhow::Context;
        let base = Url::parse(config.base_url.trim_end_matches('/'))
            .with_context(|| format!("the upstream base_url `{}` is not a URL", config.base_url))?;
        anyhow::ensure!(
            matches!(base.scheme(), "http" | "https") && base.has_host(),
            "the upstream base_url `{}` is not an http(s) URL",
            config.base_url
        );
        anyhow::ensure!(base.query().is_none(), "the upstream base_url `{}` has a query", redact(&base));
        let token_url = TokenUrl::new(config.token_url.clone())
            .with_context(|| format!("the upstream token_url `{}` is not a URL", config.token_url))?;
        anyhow::ensure!(
            matches!(token_url.url().scheme(), "http" | "https"),
            "the upstream token_url `{}` is not an http(s) URL",
            redact(token_url.url())
        );
        anyhow::ensure!(!config.client_id.is_empty(), "the upstream client_id is empty");
        let model = Model::load().context("the feed model")?;
        let sets = model
            .entity_sets()
            .iter()
            .filter(|set| set.kind == SetKind::Lookup)
            .map(|set| {
                let properties =
                    set.properties.iter().map(|p| p.name.clone()).filter(|name| name != DELETED_AT).collect();
                (set.name.clone(), SetShape { properties, key: set.key.clone() })
            })
            .collect();
        let token_url_shown = redact(token_url.url());
        let oauth = BasicClient::new(ClientId::new(config.client_id))
            .set_client_secret(ClientSecret::new(config.client_secret))
            .set_token_uri(token_url);
        Ok(Upstream {
            base,
            token_url: token_url_shown,
            oauth,
            scope: config.scope.filter(|s| !s.trim().is_empty()).map(Scope::new),
            http,
            retry,
            limits: Limits { timeout: REQUEST_TIMEOUT, page_bytes: MAX_PAGE_BYTES, pages: MAX_PAGES },
            sets,
            token: tokio::sync::Mutex::new(None),
            token_requests: AtomicU64::new(0),
        })
    }

    /// Every item of one lookup entity set (e.g. "Agents"), all pages, as JSON objects keyed by feed property names.
    pub async fn list(&self, set: &str) -> Result<Vec<Map<String, Value>>, UpstreamError> {
        let shape = self.sets.get(set).ok_or_else(|| UpstreamError::UnknownSet(set.to_owned()))?;
        let mut url = self.resource_url(set)?;
        let mut items = Vec::new();
        let mut ignored = std::collections::BTreeSet::new();
        let mut pages = 0;
        loop {
            pages += 1;
            let page = self.page(&url).await?;
            let malformed = |reason: String| UpstreamError::Malformed { url: redact(&url), reason };
            let Page { items: value, next } = parse_page(&page).map_err(malformed)?;
            let before = items.len();
            for (i, item) in value.into_iter().enumerate() {
                items.push(
                    keep_feed_properties(item, shape, &mut ignored)
                        .map_err(|reason| malformed(format!("item {i} of the page: {reason}")))?,
                );
            }
            tracing::debug!(set, page = pages, items = items.len() - before, "upstream page read");
            let Some(next) = next else { break };
            if pages >= self.limits.pages {
                return Err(UpstreamError::TooManyPages { url: redact(&url), pages });
            }
            url = self.next_url(&url, &next)?;
        }
        if !ignored.is_empty() {
            tracing::debug!(set, ignored = ?ignored, "upstream properties the feed does not publish were dropped");
        }
        tracing::info!(set, pages, items = items.len(), "upstream list read");
        Ok(items)
    }

    /// How many token requests were made (for tests and logs).
    pub fn token_requests(&self) -> u64 {
        self.token_requests.load(Ordering::Relaxed)
    }

    /// `{base_url}/{set with a lower-case first letter}`.
    fn resource_url(&self, set: &str) -> Result<Url, UpstreamError> {
        let mut chars = set.chars();
        let resource: String = chars.next().map(|c| c.to_ascii_lowercase()).into_iter().chain(chars).collect();
        let text = format!("{}/{resource}", self.base.as_str().trim_end_matches('/'));
        Url::parse(&text).map_err(|e| UpstreamError::Malformed { url: text, reason: e.to_string() })
    }

    /// The page a `nextLink` names, if it is on the upstream's own origin.
    fn next_url(&self, current: &Url, next: &str) -> Result<Url, UpstreamError> {
        let refuse = |reason: String| UpstreamError::Malformed { url: redact(current), reason };
        let url = current.join(next).map_err(|e| refuse(format!("the nextLink is not a URL ({e})")))?;
        if url.origin() != self.base.origin() {
            return Err(refuse(format!(
                "the nextLink {} points to another origin than {}; it is not followed",
                redact(&url),
                self.base.origin().ascii_serialization()
            )));
        }
        Ok(url)
    }

    /// One page's body (status 2xx), re-authenticating once on a 401.
    async fn page(&self, url: &Url) -> Result<Vec<u8>, UpstreamError> {
        let token = self.token().await?;
        let mut answer = self.get(url, &token).await?;
        if answer.status == StatusCode::UNAUTHORIZED {
            tracing::info!(url = %redact(url), "the upstream refused the access token; requesting a new one");
            self.forget(&token).await;
            let token = self.token().await?;
            answer = self.get(url, &token).await?;
        }
        if !answer.status.is_success() {
            return Err(UpstreamError::Http { url: redact(url), status: answer.status });
        }
        Ok(answer.body)
    }

    async fn get(&self, url: &Url, token: &AccessToken) -> Result<Answer, UpstreamError> {
        let bearer = format!("Bearer {}", token.secret());
        let build = || self.http.get(url.clone()).header(AUTHORIZATION, &bearer);
        self.execute(build, url, self.limits.page_bytes).await.map_err(|failure| match failure {
            Failure::Unreachable(reason) => UpstreamError::Unreachable { url: redact(url), reason },
            Failure::Status(status) => UpstreamError::Http { url: redact(url), status },
            too_large @ Failure::TooLarge(_) => {
                UpstreamError::Malformed { url: redact(url), reason: too_large.to_string() }
            }
        })
    }

    /// The cached access token, or a new one when there is none or it is about to expire.
    async fn token(&self) -> Result<AccessToken, UpstreamError> {
        let mut cached = self.token.lock().await;
        if let Some(current) = cached.as_ref()
            && Instant::now() < current.renew_at
        {
            return Ok(current.token.clone());
        }
        let fresh = self.request_token().await?;
        let token = fresh.token.clone();
        *cached = Some(fresh);
        Ok(token)
    }

    /// Drops `token` from the cache, unless another call already replaced it.
    async fn forget(&self, token: &AccessToken) {
        let mut cached = self.token.lock().await;
        if cached.as_ref().is_some_and(|current| current.token.secret() == token.secret()) {
            *cached = None;
        }
    }

    async fn request_token(&self) -> Result<CachedToken, UpstreamError> {
        self.token_requests.fetch_add(1, Ordering::Relaxed);
        let mut exchange = self.oauth.exchange_client_credentials();
        if let Some(scope) = &self.scope {
            exchange = exchange.add_scope(scope.clone());
        }
        let requested = Instant::now();
        let response = exchange.request_async(&OauthClient(self)).await.map_err(|error| UpstreamError::Token {
            url: self.token_url.clone(),
            reason: describe_token_error(error),
        })?;
        let lifetime = response.expires_in().unwrap_or(DEFAULT_TOKEN_LIFETIME).min(MAX_TOKEN_LIFETIME);
        let margin = (lifetime / 10).min(MAX_RENEWAL_MARGIN);
        tracing::info!(token_url = %self.token_url, expires_in_s = lifetime.as_secs(), "upstream access token obtained");
        Ok(CachedToken { token: response.access_token().clone(), renew_at: requested + lifetime - margin })
    }

    /// oauth2's HTTP client (through `OauthClient`): the request sent with reqwest (retried like any other), the final
    /// answer handed back for oauth2 to read.
    async fn send_oauth(&self, request: oauth2::HttpRequest) -> Result<oauth2::HttpResponse, Failure> {
        let (parts, body) = request.into_parts();
        let url = Url::parse(&parts.uri.to_string()).map_err(|e| Failure::Unreachable(e.to_string()))?;
        let build =
            || self.http.request(parts.method.clone(), url.clone()).headers(parts.headers.clone()).body(body.clone());
        let answer = self.execute(build, &url, MAX_TOKEN_BYTES).await?;
        // oauth2 reads an OAuth2 error object; anything else is reported by its status.
        if answer.status != StatusCode::OK && serde_json::from_slice::<BasicErrorResponse>(&answer.body).is_err() {
            return Err(Failure::Status(answer.status));
        }
        let mut response = oauth2::HttpResponse::new(answer.body);
        *response.status_mut() = answer.status;
        *response.headers_mut() = answer.headers;
        Ok(response)
    }

    /// Sends the request `build` makes, again after connection errors, timeouts, 5xx and 429,
    /// as the retry policy allows. Any other answer is returned, whatever its status.
    async fn execute(
        &self,
        build: impl Fn() -> reqwest::RequestBuilder,
        url: &Url,
        limit: usize,
    ) -> Result<Answer, Failure> {
        let attempts = self.retry.attempts.max(1);
        let mut delay = self.retry.first_delay.min(MAX_RETRY_DELAY);
        let mut attempt = 1;
        loop {
            let (wait, problem) = match self.attempt(build(), limit).await {
                Ok(answer) if is_transient(answer.status) => {
                    if attempt >= attempts {
                        return Err(Failure::Status(answer.status));
                    }
                    (retry_after(&answer.headers).unwrap_or(delay), answer.status.to_string())
                }
                Ok(answer) => return Ok(answer),
                Err(Failure::Unreachable(reason)) => {
                    if attempt >= attempts {
                        return Err(Failure::Unreachable(reason));
                    }
                    (delay, reason)
                }
                Err(other) => return Err(other),
            };
            tracing::warn!(
                url = %redact(url),
                attempt,
                attempts,
                problem,
                retry_in_ms = wait.as_millis() as u64,
                "upstream request failed; trying again"
            );
            tokio::time::sleep(wait).await;
            delay = delay.saturating_mul(2).min(MAX_RETRY_DELAY);
            attempt += 1;
        }
    }

    /// One try: the answer with its body read up to `limit` bytes.
    async fn attempt(&self, request: reqwest::RequestBuilder, limit: usize) -> Result<Answer, Failure> {
        let unreachable =
            |error: reqwest::Error| Failure::Unreachable(describe_transport_error(error, self.limits.timeout));
        let mut response = request.timeout(self.limits.timeout).send().await.map_err(unreachable)?;
        if response.content_length().is_some_and(|length| length > limit as u64) {
            return Err(Failure::TooLarge(limit));
        }
        let status = response.status();
        let headers = std::mem::take(response.headers_mut());
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(unreachable)? {
            body.extend_from_slice(&chunk);
            if body.len() > limit {
                return Err(Failure::TooLarge(limit));
            }
        }
        Ok(Answer { status, headers, body })
    }
}

/// What one page holds.
struct Page {
    items: Vec<Map<String, Value>>,
    next: Option<String>,
}

/// A page's `value` items and its `nextLink`, or why it is not a page.
fn parse_page(body: &[u8]) -> Result<Page, String> {
    let page: Value = serde_json::from_slice(body).map_err(|e| format!("the body is not JSON ({e})"))?;
    let Value::Object(mut page) = page else {
        return Err("the body is not a JSON object".to_owned());
    };
    let next = match page.remove("nextLink") {
        None | Some(Value::Null) => None,
        Some(Value::String(link)) => Some(link),
        Some(_) => return Err("`nextLink` is not a string".to_owned()),
    };
    let Some(Value::Array(value)) = page.remove("value") else {
        return Err("the body has no `value` array".to_owned());
    };
    let items = value
        .into_iter()
        .enumerate()
        .map(|(i, item)| match item {
            Value::Object(item) => Ok(item),
            _ => Err(format!("`value` item {i} is not an object")),
        })
        .collect::<Result<_, _>>()?;
    Ok(Page { items, next })
}

/// The item with only the properties the set publishes (never `deletedAt`); its key must be there.
fn keep_feed_properties(
    mut item: Map<String, Value>,
    shape: &SetShape,
    ignored: &mut std::collections::BTreeSet<String>,
) -> Result<Map<String, Value>, String> {
    for key in &shape.key {
        if item.get(key).is_none_or(Value::is_null) {
            return Err(format!("the key property `{key}` is missing or null"));
        }
    }
    let mut kept = Map::new();
    for name in &shape.properties {
        if let Some(value) = item.remove(name) {
            kept.insert(name.clone(), value);
        }
    }
    ignored.extend(item.into_iter().map(|(name, _)| name));
    Ok(kept)
}

/// 5xx and 429: worth trying again.
fn is_transient(status: StatusCode) -> bool {
    status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS
}

/// `Retry-After` in seconds, capped; an HTTP date is not honoured (the backoff applies).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let seconds: u64 = headers.get(RETRY_AFTER)?.to_str().ok()?.trim().parse().ok()?;
    Some(Duration::from_secs(seconds).min(MAX_RETRY_DELAY))
}

/// The URL as shown in errors and logs: no user information, and `?…` in place of a query.
fn redact(url: &Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.set_fragment(None);
    let had_query = shown.query().is_some();
    shown.set_query(None);
    if had_query { format!("{shown}?…") } else { shown.to_string() }
}

/// A transport error with its causes, without the URL (its query may carry secrets).
fn describe_transport_error(error: reqwest::Error, timeout: Duration) -> String {
    if error.is_timeout() {
        return format!("no complete answer within {} s", timeout.as_secs_f64());
    }
    let error = error.without_url();
    let mut text = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Why the token request failed, in words that never include the secret or the request.
fn describe_token_error(error: RequestTokenError<Failure, BasicErrorResponse>) -> String {
    match error {
        RequestTokenError::ServerResponse(response) => {
            let mut text = format!("the token endpoint answered `{}`", response.error());
            if let Some(description) = response.error_description() {
                text.push_str(&format!(" ({description})"));
            }
            text
        }
        RequestTokenError::Request(failure) => format!("the token request failed: {failure}"),
        RequestTokenError::Parse(error, _) => format!("the token endpoint's answer is not a token response ({error})"),
        RequestTokenError::Other(message) => format!("the token endpoint's answer is unusable: {message}"),
    }
}

#[cfg(test)]
#[path = "upstream_tests.rs"]
mod tests;

/// The HTTP client oauth2 sends the token request with: `Upstream::send_oauth`, as a boxed
/// future that is `Send` for every lifetime (a closure's future is not, which would keep the
/// refresh off multi-threaded runtimes).
struct OauthClient<'u>(&'u Upstream);

impl<'c, 'u: 'c> oauth2::AsyncHttpClient<'c> for OauthClient<'u> {
    type Error = Failure;
    type Future =
        std::pin::Pin<Box<dyn std::future::Future<Output = Result<oauth2::HttpResponse, Failure>> + Send + 'c>>;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(self.0.send_oauth(request))
    }
}
