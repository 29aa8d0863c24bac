//! Sign-in over HTTP: the feed trusts a test identity provider on 127.0.0.1 (`support::idp`) as
//! Microsoft Entra ID and as an OIDC issuer, and serves the shared demo database. Valid tokens
//! read their own tenant's rows; forged, expired or foreign tokens get 401 with the challenge
//! Power Query signs in with; entitled-but-not-allowed callers get 403; keys rotate without a
//! restart; and Power BI's anonymous discovery probe gets the challenge, never a redirect.

use crate::support::app::{TestApp, skiptoken_key, spawn_with_auth, token_for};
use crate::support::database::query_rows;
use crate::support::demo::demo_database;
use crate::support::idp::{
    APP_ID_URI, CONTOSO_TID, FABRIKAM_TID, Idp, OIDC_CONTOSO, OIDC_FABRIKAM, SigningKey, UNMAPPED_TID, app_only_claims,
    b64, b64_json, now, v1_claims, v2_claims, with, without,
};
use odata_feed::auth::dev::{DEV_AUDIENCE, DEV_ISSUER};
use odata_feed::auth::keys::usable_key;
use odata_feed::auth::{AuthConfig, Authenticator};
use odata_feed::db;
use odata_feed::http::ReadSettings;
use odata_feed::odata::model::Model;
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::io::Read;
use std::time::Duration;

/// The challenge of a feed configured with the default authority.
const CHALLENGE: &str =
    r#"Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize""#;
/// The part of the challenge Power Query reads.
const AUTHORIZATION_URI: &str = r#"authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize""#;

/// Power Query's request headers (powerbi-compat item 1.1).
const POWER_QUERY_HEADERS: [(&str, &str); 5] = [
    ("Accept-Encoding", "gzip, deflate"),
    ("User-Agent", "Microsoft.Data.Mashup (https://go.microsoft.com/fwlink/?LinkID=304225)"),
    ("MaxDataServiceVersion", "3.0"),
    ("OData-MaxVersion", "4.0"),
    (
        "Accept",
        "application/json;odata.metadata=minimal;q=1.0,application/json;odata=minimalmetadata;q=0.9,application/atomsvc+xml;q=0.8,application/atom+xml;q=0.8,application/xml;q=0.7,text/plain;q=0.7",
    ),
];

/// A feed over the shared demo database, signing in with `config`.
struct Feed {
    app: TestApp,
    db_url: String,
    /// No default headers, no redirects followed.
    http: reqwest::Client,
}

async fn serve(config: &AuthConfig) -> Feed {
    let database = demo_database().await;
    let pool =
        db::pool::connect_reader(&database.url, 4, Duration::from_secs(60)).await.expect("the demo database answers");
    let read = ReadSettings::new(skiptoken_key(&database.url).await);
    let authenticator = Authenticator::new(config, odata_feed::auth::http_client().expect("an HTTP client"));
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("a client");
    Feed { app: spawn_with_auth(pool, read, authenticator), db_url: database.url, http }
}

/// A response, read completely (a gzip body decoded).
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().expect("a text header"))
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

impl Feed {
    /// `method` on `path` (from the server root) with `headers`.
    async fn send(&self, method: Method, path: &str, headers: &[(&str, &str)]) -> Answer {
        let mut request = self.http.request(method, format!("{}{path}", self.app.address));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap_or_else(|e| panic!("{path} is not answered: {e}"));
        let (status, headers) = (response.status(), response.headers().clone());
        let bytes = response.bytes().await.expect("the body is read");
        let body = match headers.get("content-encoding").map(|v| v.to_str().unwrap_or_default()) {
            _ if bytes.is_empty() => String::new(),
            Some("gzip") => {
                let mut text = String::new();
                flate2::read::GzDecoder::new(&bytes[..]).read_to_string(&mut text).expect("valid gzip");
                text
            }
            Some(other) => panic!("{path}: unexpected content encoding `{other}`"),
            None => String::from_utf8(bytes.to_vec()).expect("a UTF-8 body"),
        };
        Answer { status, headers, body }
    }

    /// GET `path` (from the service root) with `token` as the bearer token.
    async fn get(&self, path: &str, token: &str) -> Answer {
        self.send(Method::GET, &format!("/odata/{path}"), &[("Authorization", &format!("Bearer {token}"))]).await
    }

    /// The count of `Calls` that `token` may see, through `Calls/$count`.
    async fn count_calls(&self, token: &str) -> i64 {
        let answer = self.get("Calls/$count", token).await;
        assert_eq!(answer.status, StatusCode::OK, "Calls/$count: {}", answer.body);
        answer.body.trim().parse().unwrap_or_else(|_| panic!("not a count: {}", answer.body))
    }

    /// The number of calls of `tenant`, counted in SQL.
    async fn calls_in_database(&self, tenant: &str) -> i64 {
        query_rows(&self.db_url, &format!("SELECT count(*) {}", calls_of(tenant))).await[0].get(0)
    }
}

/// `FROM <table> WHERE tenant_id = '<tenant>' [AND <row filter>]` for `Calls`.
fn calls_of(tenant: &str) -> String {
    let model = Model::load().expect("the model loads");
    let calls = model.entity_set("Calls").expect("Calls");
    let mut sql = format!("FROM {} WHERE tenant_id = '{tenant}'", calls.table);
    if let Some(filter) = &calls.row_filter {
        sql.push_str(&format!(" AND {} = '{}'", filter.column, filter.value));
    }
    sql
}

/// Checks an OData error answer with `status` and `code`.
fn assert_error(answer: &Answer, status: StatusCode, code: &str, what: &str) {
    assert_eq!(answer.status, status, "{what}: {}", answer.body);
    assert_eq!(answer.header("odata-version"), Some("4.0"), "{what}");
    let content_type = answer.header("content-type").unwrap_or_default();
    assert!(content_type.starts_with("application/json"), "{what}: `{content_type}`");
    let body = answer.json();
    assert_eq!(body["error"]["code"], code, "{what}: {}", answer.body);
    assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{what}: {}", answer.body);
}

/// Checks a 401 with the default challenge.
fn assert_sign_in(answer: &Answer, code: &str, what: &str) {
    assert_error(answer, StatusCode::UNAUTHORIZED, code, what);
    let challenges: Vec<_> = answer.headers.get_all("www-authenticate").iter().collect();
    assert_eq!(challenges.len(), 1, "{what}: {challenges:?}");
    let challenge = answer.header("www-authenticate").unwrap_or_default();
    assert_eq!(challenge.matches(AUTHORIZATION_URI).count(), 1, "{what}: {challenge}");
    assert_eq!(challenge, CHALLENGE, "{what}");
}

/// An Entra-shaped configuration for the provider, and the feed serving it.
async fn feed_for(idp: &Idp) -> Feed {
    serve(&idp.auth_config()).await
}

// ---------------------------------------------------------------------------------------------
// Valid tokens

#[tokio::test]
async fn valid_entra_v1_and_v2_tokens_read_only_the_rows_of_their_tenant() {
    let key = SigningKey::rsa("rsa-1");
    let idp = Idp::start(&[&key]);
    let feed = feed_for(&idp).await;
    let contoso = feed.calls_in_database("contoso").await;
    let fabrikam = feed.calls_in_database("fabrikam").await;
    assert!(contoso > 0 && fabrikam > 0 && contoso != fabrikam, "{contoso} and {fabrikam}");

    let v1 = key.sign(&v1_claims(CONTOSO_TID));
    let v2 = key.sign(&v2_claims(CONTOSO_TID));
    assert_eq!(v1_claims(CONTOSO_TID)["aud"], APP_ID_URI);
    for (name, token) in [("v1", &v1), ("v2", &v2)] {
        let answer = feed.get("Calls?$top=1", token).await;
        assert_eq!(answer.status, StatusCode::OK, "{name}: {}", answer.body);
        let value = answer.json()["value"].as_array().expect("a value array").clone();
        assert_eq!(value.len(), 1, "{name}");
        let id = value[0]["id"].as_str().expect("an id");
        let sql = format!("SELECT count(*) {} AND id = '{}'", calls_of("contoso"), id.replace('\'', "''"));
        let own: i64 = query_rows(&feed.db_url, &sql).await[0].get(0);
        assert_eq!(own, 1, "{name}: the call {id} is not contoso's");
        assert_eq!(feed.count_calls(token).await, contoso, "{name}");
    }
}

#[tokio::test]
async fn an_app_only_token_with_the_feed_read_role_reads_its_tenant() {
    let key = SigningKey::rsa("rsa-1");
    let idp = Idp::start(&[&key]);
    let feed = feed_for(&idp).await;
    let token = key.sign(&app_only_claims(CONTOSO_TID));
    assert_eq!(feed.get("Calls?$top=1", &token).await.status, StatusCode::OK);
    assert_eq!(feed.count_calls(&token).await, feed.calls_in_database("contoso").await);
}

#[tokio::test]
async fn a_token_of_the_tenant_mapped_to_fabrikam_reads_the_rows_of_fabrikam() {
    let key = SigningKey::rsa("rsa-1");
    let idp = Idp::start(&[&key]);
    let feed = feed_for(&idp).await;
    let fabrikam = feed.calls_in_database("fabrikam").await;
    for claims in [v1_claims(FABRIKAM_TID), v2_claims(FABRIKAM_TID)] {
        assert_eq!(feed.count_calls(&key.sign(&claims)).await, fabrikam);
    }
}

#[tokio::test]
async fn a_token_that_expired_within_the_clock_skew_is_accepted() {
    let key = SigningKey::rsa("rsa-1");
    let idp = Idp::start(&[&key]);
    let feed = feed_for(&idp).await;
    let now = now();
    let lately = with(with(v1_claims(CONTOSO_TID), "exp", json!(now - 60)), "iat", json!(now - 3660));
    let lately = with(lately, "nbf", json!(now - 3660));
    let answer = feed.get("Calls?$top=1", &key.sign(&lately)).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    // And one valid from 60 seconds from now, too.
    let early = with(v1_claims(CONTOSO_TID), "nbf", json!(now + 60));
    let answer = feed.get("Calls?$top=1", &key.sign(&early)).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
}

// ---------------------------------------------------------------------------------------------
// Attacks

/// HMAC-SHA256 over `header.payload` with `secret`: the key-confusion forgery.
fn hs256(header: &Value, claims: &Value, secret: &[u8]) -> String {
    use hmac::Mac;
    let message = format!("{}.{}", b64_json(header), b64_json(claims));
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret).expect("any key length");
    mac.update(message.as_bytes());
    format!("{message}.{}", b64(&mac.finalize().into_bytes()))
}

/// The three parts of a token.
fn parts(token: &str) -> [&str; 3] {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        panic!("not three parts: {token}")
    };
    [header, payload, signature]
}

#[tokio::test]
async fn forged_expired_foreign_and_malformed_tokens_are_refused_with_the_sign_in_challenge() {
    let key = SigningKey::rsa("rsa-1");
    let idp = Idp::start(&[&key]);
    let feed = feed_for(&idp).await;
    let good = key.sign(&v1_claims(CONTOSO_TID));
    let answer = feed.get("Calls?$top=1", &good).await;
    assert_eq!(answer.status, StatusCode::OK, "the valid token: {}", answer.body);

    let now = now();
    let header = json!({"alg": "RS256", "kid": "rsa-1", "typ": "JWT"});
    let [good_header, good_payload, good_signature] = parts(&good);
    let fabrikam = key.sign(&v1_claims(FABRIKAM_TID));
    let edited = with(v1_claims(CONTOSO_TID), "tid", json!(FABRIKAM_TID));
    let public_pem = key.public_pem();
    let public_der = key.public_der.clone().expect("an RSA key");
    let stranger = SigningKey::other_rsa("rsa-1");
    let expired = with(with(v1_claims(CONTOSO_TID), "exp", json!(now - 300)), "nbf", json!(now - 4000));
    let padding = "x".repeat(17 * 1024);

    let cases: Vec<(&str, String, &str)> = vec![
        (
            "alg none",
            format!("{}.{good_payload}.", b64_json(&json!({"alg": "none", "kid": "rsa-1", "typ": "JWT"}))),
            "AUTH404",
        ),
        (
            "alg none, the original signature kept",
            format!("{}.{good_payload}.{good_signature}", b64_json(&json!({"alg": "none", "kid": "rsa-1"}))),
            "AUTH404",
        ),
        (
            "HS256 with the RSA public key (PEM) as the secret",
            hs256(
                &json!({"alg": "HS256", "kid": "rsa-1", "typ": "JWT"}),
                &v1_claims(CONTOSO_TID),
                public_pem.as_bytes(),
            ),
            "AUTH404",
        ),
        (
            "HS256 with the RSA public key (DER) as the secret",
            hs256(&json!({"alg": "HS256", "kid": "rsa-1", "typ": "JWT"}), &v1_claims(CONTOSO_TID), &public_der),
            "AUTH404",
        ),
        ("expired beyond the clock skew", key.sign(&expired), "AUTH409"),
        (
            "not valid yet beyond the clock skew",
            key.sign(&with(v1_claims(CONTOSO_TID), "nbf", json!(now + 600))),
            "AUTH410",
        ),
        (
            "another audience",
            key.sign(&with(v1_claims(CONTOSO_TID), "aud", json!("https://other.example.com"))),
            "AUTH411",
        ),
        (
            "an unknown issuer",
            key.sign(&with(v1_claims(CONTOSO_TID), "iss", json!("https://evil.example.com/"))),
            "AUTH406",
        ),
        (
            "an Entra issuer naming another tenant than tid",
            key.sign(&with(v1_claims(CONTOSO_TID), "tid", json!(FABRIKAM_TID))),
            "AUTH413",
        ),
        ("an unknown kid", SigningKey::rsa("never-published").sign(&v1_claims(CONTOSO_TID)), "AUTH407"),
        (
            "another token's payload under the signature",
            format!("{good_header}.{}.{good_signature}", parts(&fabrikam)[1]),
            "AUTH408",
        ),
        ("a claim edited after signing", format!("{good_header}.{}.{good_signature}", b64_json(&edited)), "AUTH408"),
        ("a header that is not base64url", format!("!!!not*base64!!!.{good_payload}.{good_signature}"), "AUTH403"),
        (
            "a header that is not JSON",
            format!("{}.{good_payload}.{good_signature}", b64(b"{\"alg\": \"RS256\", not json")),
            "AUTH403",
        ),
        ("only two parts", format!("{good_header}.{good_payload}"), "AUTH403"),
        ("longer than 16 KiB", key.sign(&with(v1_claims(CONTOSO_TID), "padding", json!(padding))), "AUTH402"),
        (
            "signed by another key under a published kid",
            stranger.sign_with_header(&header, &v1_claims(CONTOSO_TID)),
            "AUTH408",
        ),
    ];

    let mut failures = Vec::new();
    for (what, token, code) in &cases {
        let fetches = idp.key_requests();
        let answer = feed.get("Calls?$top=1", token).await;
        let fetched = idp.key_requests() - fetches;
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            assert_sign_in(&answer, code, what);
            if *what == "an unknown kid" {
                assert!(fetched >= 1, "{what}: the key set was not fetched again");
            } else {
                assert_eq!(fetched, 0, "{what}: the key set was fetched");
            }
            if *what == "longer than 16 KiB" {
                assert!(token.len() > 16 * 1024, "{what}: {} bytes", token.len());
            }
            // The token, or any sizeable part of it, is never echoed back.
            let echoed = |text: &str| token.split('.').filter(|p| p.len() >= 16).any(|p| text.contains(p));
            assert!(!echoed(&answer.body), "{what}: the body echoes the token: {}", answer.body);
            for (name, value) in &answer.headers {
                assert!(!echoed(value.to_str().unwrap_or_default()), "{what}: the header {name} echoes the token");
            }
        }));
        if let Err(panic) = result {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            failures.push(message);
        }
    }
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), cases.len(), failures.join("\n"));
    // Nothing the attacks did spoils the valid token.
    assert_eq!(feed.get("Calls?$top=1", &good).await.status, StatusCode::OK);
}

// ---------------------------------------------------------------------------------------------
// Forbidden

#[tokio::test]
async fn a_valid_token_of_an_unmapped_tenant_is_forbidden() {
    let key = SigningKey::rsa("rsa-1");
    let idp = Idp::start(&[&key]);
    let feed = feed_for(&idp).await;
    for claims in [v1_claims(UNMAPPED_TID), v2_claims(UNMAPPED_TID)] {
        let answer = feed.get("Calls?$top=1", &key.sign(&claims)).await;
        assert_error(&answer, StatusCode::FORBIDDEN, "AUTH432", "an unmapped tenant");
        assert!(!answer.body.contains("\"value\""), "{}", answer.body);
    }
}

#[tokio::test]
async fn a_valid_token_without_the_scope_or_the_role_is_forbidden() {
    let key = SigningKey::rsa("rsa-1");
    let idp = Idp::start(&[&key]);
    let feed = feed_for(&idp).await;
    let cases = [
        ("no scp", without(v1_claims(CONTOSO_TID), "scp")),
        ("another scope", with(v1_claims(CONTOSO_TID), "scp", json!("User.Read openid"))),
        ("another role", with(app_only_claims(CONTOSO_TID), "roles", json!(["Feed.Write"]))),
    ];
    for (what, claims) in cases {
        let answer = feed.get("Calls?$top=1", &key.sign(&claims)).await;
        assert_error(&answer, StatusCode::FORBIDDEN, "AUTH430", what);
    }
}

// ---------------------------------------------------------------------------------------------
// Keys

#[tokio::test]
async fn signing_keys_rotate_without_a_restart() {
    let (a, b) = (SigningKey::rsa("key-a"), SigningKey::other_rsa("key-b"));
    let idp = Idp::start(&[&a]);
    let mut config = idp.auth_config();
    config.key_cache_seconds = 1;
    let feed = serve(&config).await;
    let ok = |answer: Answer, what: &str| assert_eq!(answer.status, StatusCode::OK, "{what}: {}", answer.body);

    ok(feed.get("Calls?$top=1", &a.sign(&v1_claims(CONTOSO_TID))).await, "key A");
    // The provider publishes B next to A; the feed finds B when a token names it.
    idp.publish(&b);
    ok(feed.get("Calls?$top=1", &b.sign(&v1_claims(CONTOSO_TID))).await, "key B, newly published");
    ok(feed.get("Calls?$top=1", &a.sign(&v2_claims(CONTOSO_TID))).await, "key A, still published");
    // The provider drops A; once the cached keys expire, A's tokens are refused.
    idp.withdraw("key-a");
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let answer = feed.get("Calls?$top=1", &a.sign(&v1_claims(CONTOSO_TID))).await;
    assert_sign_in(&answer, "AUTH407", "key A, withdrawn");
    ok(feed.get("Calls?$top=1", &b.sign(&v1_claims(CONTOSO_TID))).await, "key B after A was withdrawn");
}

#[tokio::test]
async fn a_withdrawn_key_is_forgotten_once_an_unknown_kid_fetches_the_keys_again() {
    let (a, b) = (SigningKey::rsa("key-a"), SigningKey::other_rsa("key-b"));
    let idp = Idp::start(&[&a]);
    let feed = feed_for(&idp).await; // keys cached for an hour
    let answer = feed.get("Calls?$top=1", &a.sign(&v1_claims(CONTOSO_TID))).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    idp.withdraw("key-a");
    idp.publish(&b);
    let fetches = idp.key_requests();
    let answer = feed.get("Calls?$top=1", &b.sign(&v1_claims(CONTOSO_TID))).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert!(idp.key_requests() > fetches, "B's unknown kid did not fetch the keys");
    let answer = feed.get("Calls?$top=1", &a.sign(&v1_claims(CONTOSO_TID))).await;
    assert_sign_in(&answer, "AUTH407", "key A, withdrawn");
}

#[tokio::test]
async fn with_the_identity_provider_down_and_no_keys_cached_the_feed_is_unavailable() {
    let key = SigningKey::rsa("rsa-1");
    let idp = Idp::start(&[&key]);
    idp.fail(true);
    let feed = feed_for(&idp).await;
    let token = key.sign(&v1_claims(CONTOSO_TID));
    for attempt in 1..=2 {
        let answer = feed.get("Calls?$top=1", &token).await;
        let what = format!("attempt {attempt}");
        assert_error(&answer, StatusCode::SERVICE_UNAVAILABLE, "AUTH450", &what);
        let retry = answer.header("retry-after").unwrap_or_else(|| panic!("{what}: no Retry-After"));
        assert!(retry.parse::<u64>().is_ok_and(|s| s > 0), "{what}: Retry-After `{retry}`");
        assert!(answer.header("www-authenticate").is_none(), "{what}: a 503 is no sign-in challenge");
    }
    assert!(idp.discovery_requests() >= 1, "the provider was not asked");
    // Back up, the provider's keys are fetched and the token is accepted.
    idp.fail(false);
    let answer = feed.get("Calls?$top=1", &token).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
}

#[tokio::test]
async fn with_keys_cached_the_feed_keeps_answering_while_the_identity_provider_is_down() {
    let key = SigningKey::rsa("rsa-1");
    let idp = Idp::start(&[&key]);
    let mut config = idp.auth_config();
    config.key_cache_seconds = 1;
    let feed = serve(&config).await;
    let token = key.sign(&v1_claims(CONTOSO_TID));
    let answer = feed.get("Calls?$top=1", &token).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    idp.fail(true);
    let answer = feed.get("Calls?$top=1", &token).await;
    assert_eq!(answer.status, StatusCode::OK, "within the cache's lifetime: {}", answer.body);
    // Past their lifetime, the keys are still used while the provider cannot be reached.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let asked = idp.discovery_requests();
    let answer = feed.get("Calls?$top=1", &token).await;
    assert_eq!(answer.status, StatusCode::OK, "past the cache's lifetime: {}", answer.body);
    assert!(idp.discovery_requests() > asked, "the stale keys were used without asking the provider");
}

// ---------------------------------------------------------------------------------------------
// Power BI's discovery probe

#[tokio::test]
async fn power_bis_discovery_probe_gets_the_bearer_challenge_and_no_redirect() {
    let key = SigningKey::rsa("rsa-1");
    let idp = Idp::start(&[&key]);
    let feed = feed_for(&idp).await;
    for path in ["/odata/", "/odata", "/odata/Calls", "/odata/$metadata"] {
        for authorization in [Some("Bearer"), None] {
            let mut headers = POWER_QUERY_HEADERS.to_vec();
            if let Some(value) = authorization {
                headers.push(("Authorization", value));
            }
            let what = format!("GET {path} with Authorization {authorization:?}");
            let answer = feed.send(Method::GET, path, &headers).await;
            assert_sign_in(&answer, "AUTH401", &what);
            assert!(answer.header("location").is_none(), "{what}: redirected");

            let what = format!("HEAD {path} with Authorization {authorization:?}");
            let answer = feed.send(Method::HEAD, path, &headers).await;
            assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{what}");
            assert_eq!(answer.header("www-authenticate"), Some(CHALLENGE), "{what}");
            assert_eq!(answer.header("odata-version"), Some("4.0"), "{what}");
            assert!(answer.header("location").is_none(), "{what}: redirected");
            assert!(answer.body.is_empty(), "{what}: a body");
        }
    }
    for path in ["/odata/Calls", "/odata/"] {
        let answer = feed.send(Method::POST, path, &POWER_QUERY_HEADERS).await;
        assert_sign_in(&answer, "AUTH401", &format!("POST {path} without a token"));
    }
}

#[tokio::test]
async fn the_configured_authority_is_named_in_the_challenge() {
    let key = SigningKey::rsa("rsa-1");
    let idp = Idp::start(&[&key]);
    let mut config = idp.auth_config();
    config.authority = format!("https://login.microsoftonline.com/{CONTOSO_TID}");
    config.check().expect("a valid configuration");
    let feed = serve(&config).await;
    let expected = format!(
        r#"Bearer realm="", authorization_uri="https://login.microsoftonline.com/{CONTOSO_TID}/oauth2/authorize""#
    );
    let expired = with(v1_claims(CONTOSO_TID), "exp", json!(now() - 3600));
    for (what, headers) in [
        ("no token", vec![]),
        ("an expired token", vec![("Authorization".to_owned(), format!("Bearer {}", key.sign(&expired)))]),
    ] {
        let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        let answer = feed.send(Method::GET, "/odata/", &headers).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{what}: {}", answer.body);
        assert_eq!(answer.header("www-authenticate"), Some(expected.as_str()), "{what}");
    }
}

#[tokio::test]
async fn the_health_checks_answer_without_a_token() {
    let idp = Idp::start(&[]);
    let feed = feed_for(&idp).await;
    for path in ["/healthz", "/readyz"] {
        let answer = feed.send(Method::GET, path, &[]).await;
        assert_eq!(answer.status, StatusCode::OK, "{path}: {}", answer.body);
        assert!(answer.header("www-authenticate").is_none(), "{path}");
    }
    assert_eq!(idp.discovery_requests(), 0, "the health checks asked the identity provider");
}

// ---------------------------------------------------------------------------------------------
// Other issuers

#[tokio::test]
async fn an_oidc_issuers_token_is_mapped_to_a_tenant_through_its_org_claim() {
    let (rsa, ec) = (SigningKey::rsa("kc-rsa"), SigningKey::p256("kc-ec"));
    let idp = Idp::start(&[&rsa, &ec]);
    let feed = feed_for(&idp).await;
    let contoso = feed.calls_in_database("contoso").await;
    let fabrikam = feed.calls_in_database("fabrikam").await;
    for key in [&rsa, &ec] {
        assert_eq!(feed.count_calls(&key.sign(&idp.oidc_claims(OIDC_CONTOSO))).await, contoso, "{}", key.kid);
        assert_eq!(feed.count_calls(&key.sign(&idp.oidc_claims(OIDC_FABRIKAM))).await, fabrikam, "{}", key.kid);
    }
    let answer = feed.get("Calls?$top=1", &ec.sign(&idp.oidc_claims("initech"))).await;
    assert_error(&answer, StatusCode::FORBIDDEN, "AUTH432", "an unmapped organization");
    let answer = feed.get("Calls?$top=1", &ec.sign(&without(idp.oidc_claims(OIDC_CONTOSO), "org"))).await;
    assert_sign_in(&answer, "AUTH412", "no org claim");
}

#[tokio::test]
async fn the_development_issuer_publishes_the_key_that_verifies_its_tokens() {
    let idp = Idp::start(&[]);
    let feed = feed_for(&idp).await;
    let address = &feed.app.address;
    let answer = feed.send(Method::GET, "/dev-issuer/.well-known/openid-configuration", &[]).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let discovery = answer.json();
    assert_eq!(discovery["issuer"], DEV_ISSUER);
    let jwks_uri = discovery["jwks_uri"].as_str().expect("a jwks_uri");
    assert_eq!(jwks_uri, format!("{address}/dev-issuer/keys"));

    let path = jwks_uri.strip_prefix(address.as_str()).expect("under the server");
    let answer = feed.send(Method::GET, path, &[]).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let jwks = answer.json();
    let token = token_for("contoso");
    let kid = jsonwebtoken::decode_header(&token).expect("a header").kid.expect("a kid");
    let entry = jwks["keys"]
        .as_array()
        .expect("a keys array")
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .unwrap_or_else(|| panic!("the key {kid} is not published: {jwks}"));
    assert!(entry.get("d").is_none(), "the private key is published");
    let (_, key) = usable_key(entry).expect("a usable key");
    let mut validation = jsonwebtoken::Validation::new(key.algorithm);
    validation.set_audience(&[DEV_AUDIENCE]);
    validation.set_issuer(&[DEV_ISSUER]);
    let claims = jsonwebtoken::decode::<Value>(&token, &key.decoding, &validation).expect("the token verifies").claims;
    assert_eq!(claims["tid"], "contoso");
}
