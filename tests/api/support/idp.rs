//! A test identity provider on 127.0.0.1, served by actix-web inside the test process: the
//! OpenID discovery document at `/.well-known/openid-configuration` and the key set at `/keys`.
//! The test adds and withdraws signing keys while it runs (key rotation), reads how often the
//! key set was fetched, and can make the provider fail (500). Tokens are signed here with RSA
//! (RS256) or P-256 (ES256) keys, or forged in any shape a test needs; `auth_config` gives the
//! feed's configuration trusting this provider as Microsoft Entra ID and as an OIDC issuer.

#![allow(dead_code)] // each test file uses a different part of this module

use actix_web::{App, HttpResponse, HttpServer, dev::ServerHandle, web};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::KeyPair as _;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::jwk::{Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use odata_feed::auth::AuthConfig;
use serde_json::{Value, json};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

/// The Entra tenant mapped to the feed tenant `contoso`.
pub const CONTOSO_TID: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
/// The Entra tenant mapped to the feed tenant `fabrikam`.
pub const FABRIKAM_TID: &str = "0f4c2d7e-5b1a-4e3c-9d8f-6a2b1c0e7f35";
/// An Entra tenant mapped to no feed tenant.
pub const UNMAPPED_TID: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";
/// The App ID URI Power BI asks tokens for (the `aud` of v1 tokens).
pub const APP_ID_URI: &str = "https://bi.example.com";
/// The feed's application (client) id (the `aud` of v2 tokens).
pub const CLIENT_ID: &str = "11111111-2222-3333-4444-555555555555";
/// Power Query for Excel / Power BI Desktop, the client application of user tokens.
pub const POWER_QUERY: &str = "a672d62c-fc7b-4e81-a576-e60dc46e951d";
/// The delegated scope user tokens carry.
pub const SCOPE: &str = "user_impersonation";
/// The app role app-only tokens carry.
pub const ROLE: &str = "Feed.Read";
/// The audience of the OIDC issuer's tokens.
pub const OIDC_AUDIENCE: &str = "odata-feed";
/// The scope the OIDC issuer's tokens must carry.
pub const OIDC_SCOPE: &str = "feed.read";
/// The organizations (`org` claim) of the OIDC issuer, mapped to `contoso` and `fabrikam`.
pub const OIDC_CONTOSO: &str = "acme";
pub const OIDC_FABRIKAM: &str = "globex";

// ---------------------------------------------------------------------------------------------
// Keys and tokens

/// An RSA key pair: the private key as jsonwebtoken signs with it, the public key as bytes.
struct RsaMaterial {
    encoding: EncodingKey,
    /// SubjectPublicKeyInfo (X.509) DER.
    public_der: Vec<u8>,
}

/// 2048-bit RSA keys are slow to make: a few per test process, each made when first needed.
static RSA: [OnceLock<RsaMaterial>; 3] = [OnceLock::new(), OnceLock::new(), OnceLock::new()];

/// The `slot`th RSA key of this process. jsonwebtoken's aws-lc backend signs with
/// `RsaKeyPair::from_der`, which wants an RFC 8017 `RSAPrivateKey`, while aws-lc-rs exports
/// PKCS#8: `EncodingKey::from_rsa_der(pkcs8)` would only fail when signing. The PKCS#8 document
/// goes through PEM instead, from which `from_rsa_pem` takes the `RSAPrivateKey`.
fn rsa_material(slot: usize) -> &'static RsaMaterial {
    RSA[slot].get_or_init(|| {
        let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).expect("an RSA key");
        let pkcs8 = pair.as_der().expect("the RSA key as PKCS#8");
        let encoding =
            EncodingKey::from_rsa_pem(pem("PRIVATE KEY", pkcs8.as_ref()).as_bytes()).expect("the RSA key in PEM");
        let public_der = pair.public_key().as_der().expect("the RSA public key as DER").as_ref().to_vec();
        RsaMaterial { encoding, public_der }
    })
}

/// `der` as a PEM document labelled `label`.
pub fn pem(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let lines: Vec<&str> =
        body.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).expect("base64 is ASCII")).collect();
    format!("-----BEGIN {label}-----\n{}\n-----END {label}-----\n", lines.join("\n"))
}

/// Unpadded base64url.
pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A JSON value as a JWT part.
pub fn b64_json(value: &Value) -> String {
    b64(&serde_json::to_vec(value).expect("JSON serializes"))
}

/// Seconds since 1970.
pub fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("the clock is after 1970").as_secs()
}

/// A private signing key with the public JWK a provider publishes for it.
pub struct SigningKey {
    pub kid: String,
    pub algorithm: Algorithm,
    encoding: EncodingKey,
    /// The public JWK with `kid` and `use`, as in a JWKS.
    pub jwk: Value,
    /// For RSA keys, the public key as SubjectPublicKeyInfo DER.
    pub public_der: Option<Vec<u8>>,
}

impl SigningKey {
    fn new(kid: &str, algorithm: Algorithm, encoding: EncodingKey, public_der: Option<Vec<u8>>) -> SigningKey {
        let mut jwk = Jwk::from_encoding_key(&encoding, algorithm).expect("the public JWK");
        jwk.common.key_id = Some(kid.to_owned());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        let jwk = serde_json::to_value(&jwk).expect("a JWK serializes");
        SigningKey { kid: kid.to_owned(), algorithm, encoding, jwk, public_der }
    }

    /// An RS256 key named `kid` (the process's first RSA key).
    pub fn rsa(kid: &str) -> SigningKey {
        SigningKey::rsa_from(0, kid)
    }

    /// An RS256 key named `kid` that differs from `rsa`'s (the process's second RSA key).
    pub fn other_rsa(kid: &str) -> SigningKey {
        SigningKey::rsa_from(1, kid)
    }

    /// An RS256 key named `kid` that differs from `rsa`'s and `other_rsa`'s.
    pub fn third_rsa(kid: &str) -> SigningKey {
        SigningKey::rsa_from(2, kid)
    }

    fn rsa_from(slot: usize, kid: &str) -> SigningKey {
        let material = rsa_material(slot);
        SigningKey::new(kid, Algorithm::RS256, material.encoding.clone(), Some(material.public_der.clone()))
    }

    /// A fresh ES256 (P-256) key named `kid`.
    pub fn p256(kid: &str) -> SigningKey {
        use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
        let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).expect("a P-256 key");
        let encoding = EncodingKey::from_ec_der(pair.to_pkcs8v1().expect("the P-256 key as PKCS#8").as_ref());
        SigningKey::new(kid, Algorithm::ES256, encoding, None)
    }

    /// The public key in PEM (`-----BEGIN PUBLIC KEY-----`), for RSA keys.
    pub fn public_pem(&self) -> String {
        pem("PUBLIC KEY", self.public_der.as_deref().expect("an RSA key"))
    }

    /// A token with the usual header (`alg`, `kid`, `typ`).
    pub fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(self.algorithm);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding).expect("the token is signed")
    }

    /// A token with exactly this header (any JSON), signed with this key's algorithm.
    pub fn sign_with_header(&self, header: &Value, claims: &Value) -> String {
        let message = format!("{}.{}", b64_json(header), b64_json(claims));
        let signature = jsonwebtoken::crypto::sign(message.as_bytes(), &self.encoding, self.algorithm).expect("signed");
        format!("{message}.{signature}")
    }
}

/// The claims of an Entra ID v1 token for the App ID URI, as Power BI gets it, from tenant `tid`.
pub fn v1_claims(tid: &str) -> Value {
    let now = now();
    json!({
        "aud": APP_ID_URI,
        "iss": format!("https://sts.windows.net/{tid}/"),
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
        "appid": POWER_QUERY,
        "name": "Alice",
        "oid": "00000000-0000-0000-0000-0000000000a1",
        "scp": SCOPE,
        "sub": "x5-subject",
        "tid": tid,
        "ver": "1.0",
    })
}

/// The claims of an Entra ID v2 token for the feed's client id, from tenant `tid`.
pub fn v2_claims(tid: &str) -> Value {
    let now = now();
    json!({
        "aud": CLIENT_ID,
        "iss": format!("https://login.microsoftonline.com/{tid}/v2.0"),
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
        "azp": POWER_QUERY,
        "oid": "00000000-0000-0000-0000-0000000000a2",
        "scp": SCOPE,
        "sub": "x6-subject",
        "tid": tid,
        "ver": "2.0",
    })
}

/// An app-only (client credentials) v1 token of tenant `tid`: the app role, no `scp`.
pub fn app_only_claims(tid: &str) -> Value {
    without(with(v1_claims(tid), "roles", json!([ROLE])), "scp")
}

/// `claims` with `name` set to `value`.
pub fn with(mut claims: Value, name: &str, value: Value) -> Value {
    claims[name] = value;
    claims
}

/// `claims` without `name`.
pub fn without(mut claims: Value, name: &str) -> Value {
    claims.as_object_mut().expect("claims are an object").remove(name);
    claims
}

// ---------------------------------------------------------------------------------------------
// The provider

/// What the provider serves and how often it was asked.
struct State {
    /// `http://127.0.0.1:<port>`
    url: String,
    /// The published JWKs.
    keys: Mutex<Vec<Value>>,
    discovery_requests: AtomicUsize,
    key_requests: AtomicUsize,
    /// Answer every request with 500.
    failing: AtomicBool,
}

/// A running identity provider.
pub struct Idp {
    /// `http://127.0.0.1:<port>`, also the `issuer` of its discovery document.
    pub url: String,
    state: web::Data<State>,
    handle: ServerHandle,
}

impl Idp {
    /// Serves on a free loopback port, publishing `keys`.
    pub fn start(keys: &[&SigningKey]) -> Idp {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
        let url = format!("http://{}", listener.local_addr().expect("bound"));
        let state = web::Data::new(State {
            url: url.clone(),
            keys: Mutex::new(keys.iter().map(|k| k.jwk.clone()).collect()),
            discovery_requests: AtomicUsize::new(0),
            key_requests: AtomicUsize::new(0),
            failing: AtomicBool::new(false),
        });
        let shared = state.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(shared.clone())
                .route("/.well-known/openid-configuration", web::get().to(discovery))
                .route("/keys", web::get().to(jwks))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .expect("the identity provider listens")
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Idp { url, state, handle }
    }

    /// `<url>/.well-known/openid-configuration`
    pub fn discovery_url(&self) -> String {
        format!("{}/.well-known/openid-configuration", self.url)
    }

    /// Adds `key` to the published key set.
    pub fn publish(&self, key: &SigningKey) {
        self.state.keys.lock().expect("not poisoned").push(key.jwk.clone());
    }

    /// Removes the key `kid` from the published key set.
    pub fn withdraw(&self, kid: &str) {
        self.state.keys.lock().expect("not poisoned").retain(|jwk| jwk["kid"] != kid);
    }

    /// How often the key set was served.
    pub fn key_requests(&self) -> usize {
        self.state.key_requests.load(Ordering::SeqCst)
    }

    /// How often the discovery document was asked for (also while failing).
    pub fn discovery_requests(&self) -> usize {
        self.state.discovery_requests.load(Ordering::SeqCst)
    }

    /// Makes every later answer a 500 (`true`) or normal again (`false`).
    pub fn fail(&self, failing: bool) {
        self.state.failing.store(failing, Ordering::SeqCst);
    }

    /// The feed's sign-in configuration trusting this provider twice:
    /// - as Microsoft Entra ID (discovery here; `iss` as Entra names it, v1 or v2), audiences
    ///   `APP_ID_URI` and `CLIENT_ID`, scope `SCOPE` or role `ROLE`, `CONTOSO_TID` → `contoso`
    ///   and `FABRIKAM_TID` → `fabrikam`;
    /// - as an OIDC issuer (Keycloak-like) whose `iss` is `url`, tenant in `org`,
    ///   `OIDC_CONTOSO` → `contoso` and `OIDC_FABRIKAM` → `fabrikam`.
    ///
    /// An unknown `kid` fetches the keys again at once (`key_refresh_interval_seconds = 0`);
    /// keys are otherwise cached for the default hour.
    pub fn auth_config(&self) -> AuthConfig {
        let text = format!(
            r#"
            key_refresh_interval_seconds = 0

            [[issuer]]
            kind = "entra"
            discovery_url = "{discovery}"
            audiences = ["{APP_ID_URI}", "{CLIENT_ID}"]
            scopes = ["{SCOPE}"]
            roles = ["{ROLE}"]
            [issuer.tenants]
            "{CONTOSO_TID}" = "contoso"
            "{FABRIKAM_TID}" = "fabrikam"

            [[issuer]]
            kind = "oidc"
            issuer = "{url}"
            tenant_claim = "org"
            audiences = ["{OIDC_AUDIENCE}"]
            scopes = ["{OIDC_SCOPE}"]
            [issuer.tenants]
            {OIDC_CONTOSO} = "contoso"
            {OIDC_FABRIKAM} = "fabrikam"
            "#,
            discovery = self.discovery_url(),
            url = self.url,
        );
        let config: AuthConfig = toml::from_str(&text).expect("the sign-in configuration parses");
        config.check().expect("the sign-in configuration is valid");
        config
    }

    /// The claims of a token of the OIDC issuer for the organization `org`.
    pub fn oidc_claims(&self, org: &str) -> Value {
        let now = now();
        json!({
            "iss": self.url,
            "aud": OIDC_AUDIENCE,
            "iat": now,
            "exp": now + 300,
            "sub": "7f3c-user",
            "azp": "power-bi",
            "typ": "Bearer",
            "scope": format!("openid profile {OIDC_SCOPE}"),
            "org": org,
        })
    }
}

impl Drop for Idp {
    fn drop(&mut self) {
        // Stops accepting; the worker ends with the test's runtime at the latest.
        drop(self.handle.stop(false));
    }
}

fn failure() -> HttpResponse {
    HttpResponse::InternalServerError().json(json!({"error": "the identity provider is down"}))
}

async fn discovery(state: web::Data<State>) -> HttpResponse {
    state.discovery_requests.fetch_add(1, Ordering::SeqCst);
    if state.failing.load(Ordering::SeqCst) {
        return failure();
    }
    HttpResponse::Ok().json(json!({
        "issuer": state.url,
        "jwks_uri": format!("{}/keys", state.url),
        "id_token_signing_alg_values_supported": ["RS256", "ES256"],
    }))
}

async fn jwks(state: web::Data<State>) -> HttpResponse {
    state.key_requests.fetch_add(1, Ordering::SeqCst);
    if state.failing.load(Ordering::SeqCst) {
        return failure();
    }
    let keys = state.keys.lock().expect("not poisoned").clone();
    HttpResponse::Ok().json(json!({ "keys": keys }))
}
