//! The token checks end to end, without a network: issuers with fixed keys, tokens signed (or
//! forged) here, and for the remote key cache a tiny identity provider on 127.0.0.1.

use super::dev::{DEV_AUDIENCE, DEV_INGEST_ROLE, DEV_ISSUER, DevIssuer};
use super::keys::{CachePolicy, KeySource, RemoteKeys, usable_key};
use super::{
    Access, AuthConfig, AuthError, Authenticator, Caller, Issuer, IssuerKind, Need, Rejection, TenantMap, token,
};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::KeyPair as _;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::Mac;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The Entra tenant mapped to the feed tenant `contoso`.
const TID: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
/// Another (real-looking) Entra tenant, mapped to nothing.
const OTHER_TID: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";
/// The App ID URI Power BI requests tokens for (v1 tokens carry it as `aud`).
const APP_ID_URI: &str = "https://bi.example.com";
/// The feed's application (client) id (v2 tokens carry it as `aud`).
const CLIENT_ID: &str = "11111111-2222-3333-4444-555555555555";
/// The client application that asks for the token (`appid` / `azp`).
const POWER_QUERY: &str = "a672d62c-fc7b-4e81-a576-e60dc46e951d";
const OID: &str = "00000000-0000-0000-0000-0000000000a1";
const SCOPE: &str = "user_impersonation";
const ROLE: &str = "Feed.Read";
/// The app role that grants ingestion.
const INGEST_ROLE: &str = "Feed.Ingest";
/// The delegated scope that grants ingestion.
const INGEST_SCOPE: &str = "feed_ingest";
const OIDC_ISSUER: &str = "https://idp.example.com/realms/bi";
/// `AuthConfig::empty()`'s clock skew.
const SKEW: u64 = 120;

// ---------------------------------------------------------------------------------------------
// Keys and tokens

/// An RSA key pair: the private key as jsonwebtoken signs with it, the public key as bytes.
struct RsaMaterial {
    encoding: EncodingKey,
    /// The SubjectPublicKeyInfo (X.509) DER of the public key.
    public_spki: Vec<u8>,
    /// The RFC 8017 `RSAPublicKey` DER of the public key.
    public_pkcs1: Vec<u8>,
}

/// A fresh 2048-bit RSA key. jsonwebtoken's aws-lc backend signs with
/// `RsaKeyPair::from_der`, which wants an RFC 8017 `RSAPrivateKey`, not PKCS#8: so
/// `EncodingKey::from_rsa_der(pkcs8)` would only fail when signing. The PKCS#8 document is
/// therefore handed over as PEM, from which `from_rsa_pem` extracts the `RSAPrivateKey`.
fn generate_rsa() -> RsaMaterial {
    let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).expect("an RSA key");
    let pkcs8 = pair.as_der().expect("the RSA key as PKCS#8");
    let encoding =
        EncodingKey::from_rsa_pem(pem("PRIVATE KEY", pkcs8.as_ref()).as_bytes()).expect("the RSA key in PEM");
    let public_spki = pair.public_key().as_der().expect("the RSA public key as DER").as_ref().to_vec();
    RsaMaterial { encoding, public_spki, public_pkcs1: pair.public_key().as_ref().to_vec() }
}

/// RSA keys are slow to make: two for all the tests.
static RSA_A: LazyLock<RsaMaterial> = LazyLock::new(generate_rsa);
static RSA_B: LazyLock<RsaMaterial> = LazyLock::new(generate_rsa);

fn generate_p256() -> EncodingKey {
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
    let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).expect("a P-256 key");
    EncodingKey::from_ec_der(pair.to_pkcs8v1().expect("the P-256 key as PKCS#8").as_ref())
}

fn pem(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let lines: Vec<&str> = body.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap()).collect();
    format!("-----BEGIN {label}-----\n{}\n-----END {label}-----\n", lines.join("\n"))
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn b64_json(value: &Value) -> String {
    b64(&serde_json::to_vec(value).unwrap())
}

/// A private key that signs tokens, with the public JWK an issuer would publish for it.
struct SigningKey {
    kid: String,
    algorithm: Algorithm,
    encoding: EncodingKey,
    /// The public JWK with `kid` and `use`, as in a JWKS.
    jwk: Value,
}

impl SigningKey {
    fn new(kid: &str, algorithm: Algorithm, encoding: EncodingKey) -> SigningKey {
        let mut jwk = Jwk::from_encoding_key(&encoding, algorithm).expect("the public JWK");
        jwk.common.key_id = Some(kid.to_owned());
        jwk.common.public_key_use = Some(jsonwebtoken::jwk::PublicKeyUse::Signature);
        let jwk = serde_json::to_value(&jwk).unwrap();
        SigningKey { kid: kid.to_owned(), algorithm, encoding, jwk }
    }

    fn rsa(kid: &str) -> SigningKey {
        SigningKey::new(kid, Algorithm::RS256, RSA_A.encoding.clone())
    }

    /// Another RSA key than `rsa`'s.
    fn other_rsa(kid: &str) -> SigningKey {
        SigningKey::new(kid, Algorithm::RS256, RSA_B.encoding.clone())
    }

    fn p256(kid: &str) -> SigningKey {
        SigningKey::new(kid, Algorithm::ES256, generate_p256())
    }

    /// A token with the usual header (`alg`, `kid`, `typ`).
    fn sign(&self, claims: &Value) -> String {
        let header = json!({"alg": format!("{:?}", self.algorithm), "kid": self.kid, "typ": "JWT"});
        self.sign_with_header(&header, claims)
    }

    /// A token with exactly this header, signed with this key's algorithm.
    fn sign_with_header(&self, header: &Value, claims: &Value) -> String {
        let message = format!("{}.{}", b64_json(header), b64_json(claims));
        let signature = jsonwebtoken::crypto::sign(message.as_bytes(), &self.encoding, self.algorithm).unwrap();
        format!("{message}.{signature}")
    }
}

/// The key sources of an issuer that knows `keys`, read from their JWKs as a JWKS entry would be.
fn fixed(keys: &[&SigningKey]) -> KeySource {
    KeySource::Fixed(keys.iter().map(|k| usable_key(&k.jwk).expect("a usable JWK")).collect())
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// The claims of an Entra ID v1 token as Power BI gets it for the feed.
fn v1_claims() -> Value {
    let now = now();
    json!({
        "aud": APP_ID_URI,
        "iss": format!("https://sts.windows.net/{TID}/"),
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
        "appid": POWER_QUERY,
        "name": "Alice",
        "oid": OID,
        "scp": SCOPE,
        "sub": "x5-subject",
        "tid": TID,
        "ver": "1.0",
    })
}

/// The claims of an Entra ID v2 token for the feed's client id.
fn v2_claims() -> Value {
    let now = now();
    json!({
        "aud": CLIENT_ID,
        "iss": format!("https://login.microsoftonline.com/{TID}/v2.0"),
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
        "azp": POWER_QUERY,
        "oid": OID,
        "scp": SCOPE,
        "sub": "x5-subject",
        "tid": TID,
        "ver": "2.0",
    })
}

/// An app-only (client credentials) v1 token: roles, no `scp`.
fn app_only_claims() -> Value {
    without(with(v1_claims(), "roles", json!([ROLE])), "scp")
}

fn with(mut claims: Value, name: &str, value: Value) -> Value {
    claims[name] = value;
    claims
}

fn without(mut claims: Value, name: &str) -> Value {
    claims.as_object_mut().unwrap().remove(name);
    claims
}

fn tenants(pairs: &[(&str, &str)]) -> TenantMap {
    TenantMap::Listed(pairs.iter().map(|(from, to)| (from.to_string(), to.to_string())).collect::<BTreeMap<_, _>>())
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// The feed's Entra issuer: both audiences, the delegated scope or the app role, `TID` →
/// `contoso`.
fn entra(keys: &[&SigningKey]) -> Issuer {
    Issuer {
        kind: IssuerKind::Entra,
        issuer: None,
        audiences: strings(&[APP_ID_URI, CLIENT_ID]),
        scopes: strings(&[SCOPE]),
        roles: strings(&[ROLE]),
        ingest_scopes: Vec::new(),
        ingest_roles: Vec::new(),
        clients: Vec::new(),
        tenant_claim: "tid".to_owned(),
        tenants: tenants(&[(TID, "contoso")]),
        keys: fixed(keys),
    }
}

/// An OIDC issuer whose tokens name the organization in `org`; `acme` → `contoso`.
fn oidc(keys: &[&SigningKey]) -> Issuer {
    Issuer {
        kind: IssuerKind::Oidc,
        issuer: Some(OIDC_ISSUER.to_owned()),
        audiences: strings(&["feed"]),
        scopes: strings(&["feed.read"]),
        roles: Vec::new(),
        ingest_scopes: Vec::new(),
        ingest_roles: Vec::new(),
        clients: Vec::new(),
        tenant_claim: "org".to_owned(),
        tenants: tenants(&[("acme", "contoso")]),
        keys: fixed(keys),
    }
}

fn oidc_claims() -> Value {
    let now = now();
    json!({
        "iss": OIDC_ISSUER,
        "aud": "feed",
        "iat": now,
        "exp": now + 300,
        "sub": "7f3c-user",
        "azp": "power-bi",
        "scope": "openid profile feed.read",
        "org": "acme",
    })
}

/// What a read token grants.
const READ: Access = Access { read: true, ingest: false };
/// What an ingestion-only token grants.
const INGEST: Access = Access { read: false, ingest: true };
/// What a token holding both grants grants.
const BOTH: Access = Access { read: true, ingest: true };

/// The feed's Entra issuer, granting ingestion as well: the scope `INGEST_SCOPE` or the app role
/// `INGEST_ROLE`.
fn entra_with_ingest(keys: &[&SigningKey]) -> Issuer {
    Issuer { ingest_scopes: strings(&[INGEST_SCOPE]), ingest_roles: strings(&[INGEST_ROLE]), ..entra(keys) }
}

fn authenticator(issuers: impl IntoIterator<Item = Issuer>) -> Authenticator {
    issuers
        .into_iter()
        .fold(Authenticator::new(&AuthConfig::empty(), reqwest::Client::new()), Authenticator::with_issuer)
}

/// `Authorization: Bearer <token>` through the authenticator.
async fn check(auth: &Authenticator, token: &str) -> Result<Caller, AuthError> {
    auth.authenticate(Some(format!("Bearer {token}").as_bytes())).await
}

/// `Authorization: Bearer <token>` through the authenticator, for a request that needs `need`.
async fn check_for(auth: &Authenticator, token: &str, need: Need) -> Result<Caller, AuthError> {
    auth.authenticate_for(Some(format!("Bearer {token}").as_bytes()), need).await
}

/// The caller of a v1 or v2 user token of `TID`.
fn alice() -> Caller {
    Caller {
        tenant: "contoso".to_owned(),
        tid: TID.to_owned(),
        oid: OID.to_owned(),
        client: Some(POWER_QUERY.to_owned()),
        app_only: false,
        access: READ,
    }
}

// ---------------------------------------------------------------------------------------------
// Valid tokens

#[tokio::test]
async fn a_valid_entra_v1_token_for_the_app_id_uri_is_accepted() {
    let key = SigningKey::rsa("rsa-1");
    let auth = authenticator([entra(&[&key])]);
    assert_eq!(check(&auth, &key.sign(&v1_claims())).await, Ok(alice()));
}

#[tokio::test]
async fn a_valid_entra_v2_token_for_the_client_id_is_accepted() {
    let key = SigningKey::p256("ec-1");
    let auth = authenticator([entra(&[&key])]);
    assert_eq!(check(&auth, &key.sign(&v2_claims())).await, Ok(alice()));
}

#[tokio::test]
async fn the_entra_issuer_accepts_tokens_signed_with_any_of_its_keys() {
    let (rsa, ec) = (SigningKey::rsa("rsa-1"), SigningKey::p256("ec-1"));
    let auth = authenticator([entra(&[&rsa, &ec])]);
    assert_eq!(check(&auth, &rsa.sign(&v2_claims())).await, Ok(alice()));
    assert_eq!(check(&auth, &ec.sign(&v1_claims())).await, Ok(alice()));
}

#[tokio::test]
async fn an_entra_tenant_id_is_compared_without_regard_to_case() {
    let key = SigningKey::rsa("rsa-1");
    let auth = authenticator([entra(&[&key])]);
    let upper = TID.to_uppercase();
    let claims =
        with(with(v1_claims(), "iss", json!(format!("https://sts.windows.net/{upper}/"))), "tid", json!(upper));
    let caller = check(&auth, &key.sign(&claims)).await.unwrap();
    assert_eq!((caller.tenant.as_str(), caller.tid.as_str()), ("contoso", upper.as_str()));
}

#[tokio::test]
async fn an_audience_list_naming_the_feed_among_others_is_accepted() {
    let key = SigningKey::rsa("rsa-1");
    let auth = authenticator([entra(&[&key])]);
    let claims = with(v1_claims(), "aud", json!(["https://graph.microsoft.com", APP_ID_URI]));
    assert_eq!(check(&auth, &key.sign(&claims)).await, Ok(alice()));
}

#[tokio::test]
async fn the_required_scope_is_found_among_several_in_scp() {
    let key = SigningKey::rsa("rsa-1");
    let auth = authenticator([entra(&[&key])]);
    let claims = with(v1_claims(), "scp", json!("openid profile user_impersonation offline_access"));
    assert_eq!(check(&auth, &key.sign(&claims)).await, Ok(alice()));
}

#[tokio::test]
async fn an_app_only_token_with_a_configured_role_is_accepted_as_app_only() {
    let key = SigningKey::rsa("rsa-1");
    let auth = authenticator([entra(&[&key])]);
    let caller = check(&auth, &key.sign(&app_only_claims())).await;
    assert_eq!(caller, Ok(Caller { app_only: true, ..alice() }));
}

#[tokio::test]
async fn a_token_with_neither_a_required_scope_nor_a_required_role_is_insufficient() {
    let key = SigningKey::rsa("rsa-1");
    let auth = authenticator([entra(&[&key])]);
    let expected = AuthError::InsufficientScope {
        scopes: SCOPE.to_owned(),
        roles: ROLE.to_owned(),
        ingest_scopes: String::new(),
        ingest_roles: String::new(),
    };
    let other_scope = with(v1_claims(), "scp", json!("openid profile User.Read"));
    let other_role = with(app_only_claims(), "roles", json!(["Feed.Write", "feed.read"]));
    let nothing = without(v1_claims(), "scp");
    for claims in [other_scope, other_role, nothing] {
        let error = check(&auth, &key.sign(&claims)).await.unwrap_err();
        assert_eq!(error, expected, "{claims}");
        assert_eq!(error.rejection(), Rejection::Forbidden);
    }
}

#[tokio::test]
async fn an_app_only_token_is_insufficient_when_the_issuer_requires_a_scope_but_no_role() {
    let key = SigningKey::rsa("rsa-1");
    let auth = authenticator([Issuer { roles: Vec::new(), ..entra(&[&key]) }]);
    assert_eq!(
        check(&auth, &key.sign(&app_only_claims())).await,
        Err(AuthError::InsufficientScope {
            scopes: SCOPE.to_owned(),
            roles: String::new(),
            ingest_scopes: String::new(),
            ingest_roles: String::new(),
        })
    );
}

#[tokio::test]
async fn a_token_with_a_delegated_scope_and_roles_is_not_app_only() {
    let key = SigningKey::rsa("rsa-1");
    let auth = authenticator([entra(&[&key])]);
    let claims = with(v1_claims(), "roles", json!([ROLE]));
    assert_eq!(check(&auth, &key.sign(&claims)).await, Ok(alice()));
}

#[tokio::test]
async fn a_token_with_neither_scope_nor_roles_is_not_app_only_where_nothing_is_required() {
    let key = SigningKey::rsa("rsa-1");
    let auth = authenticator([Issuer { scopes: Vec::new(), roles: Vec::new(), ..entra(&[&key]) }]);
    let bare = without(v1_claims(), "scp");
    assert_eq!(check(&auth, &key.sign(&bare)).await, Ok(alice()));
}

// ---------------------------------------------------------------------------------------------
// Reading and ingesting

#[tokio::test]
async fn a_read_token_cannot_ingest() {
    let key = SigningKey::rsa("rsa-1");
    let auth = authenticator([entra_with_ingest(&[&key])]);
    let refused = AuthError::NoIngestAccess { scopes: INGEST_SCOPE.to_owned(), roles: INGEST_ROLE.to_owned() };
    for (claims, caller) in [(v1_claims(), alice()), (app_only_claims(), Caller { app_only: true, ..alice() })] {
        let token = key.sign(&claims);
        assert_eq!(check(&auth, &token).await, Ok(caller.clone()), "{claims}");
        assert_eq!(check_for(&auth, &token, Need::Read).await, Ok(caller), "{claims}");
        let error = check_for(&auth, &token, Need::Ingest).await.unwrap_err();
        assert_eq!(error, refused, "{claims}");
        assert_eq!((error.code(), error.rejection()), ("AUTH434", Rejection::Forbidden));
    }
    assert_eq!(
        refused.to_string(),
        "the access token does not grant ingestion; it needs one of the scopes (feed_ingest) or app roles (Feed.Ingest)"
    );
}

#[tokio::test]
async fn an_ingest_only_token_cannot_read() {
    let key = SigningKey::rsa("rsa-1");
    let auth = authenticator([entra_with_ingest(&[&key])]);
    let daemon = with(app_only_claims(), "roles", json!([INGEST_ROLE]));
    let token = key.sign(&daemon);
    let refused = AuthError::NoReadAccess { scopes: SCOPE.to_owned(), roles: ROLE.to_owned() };
    for error in [check(&auth, &token).await.unwrap_err(), check_for(&auth, &token, Need::Read).await.unwrap_err()] {
        assert_eq!(error, refused);
        assert_eq!((error.code(), error.rejection()), ("AUTH433", Rejection::Forbidden));
    }
    assert_eq!(
        refused.to_string(),
        "the access token grants ingestion only; reading the feed needs one of the scopes (user_impersonation) or app roles (Feed.Read)"
    );
    let caller = check_for(&auth, &token, Need::Ingest).await;
    assert_eq!(caller, Ok(Caller { app_only: true, access: INGEST, ..alice() }));
}

#[tokio::test]
async fn a_token_holding_both_grants_may_read_and_ingest() {
    let key = SigningKey::rsa("rsa-1");
    let auth = authenticator([entra_with_ingest(&[&key])]);
    let app = with(app_only_claims(), "roles", json!([INGEST_ROLE, ROLE]));
    let user = with(v1_claims(), "scp", json!(format!("{SCOPE} {INGEST_SCOPE}")));
    for (claims, app_only) in [(app, true), (user, false)] {
        let token = key.sign(&claims);
        let caller = Caller { app_only, access: BOTH, ..alice() };
        assert_eq!(check_for(&auth, &token, Need::Read).await, Ok(caller.clone()), "{claims}");
        assert_eq!(check_for(&auth, &token, Need::Ingest).await, Ok(caller.clone()), "{claims}");
        assert_eq!(check(&auth, &token).await, Ok(caller), "{claims}");
    }
}

#[tokio::test]
async fn ingestion_is_never_granted_when_the_issuer_lists_no_ingest_scopes_or_roles() {
    let key = SigningKey::rsa("rsa-1");
    let everything =
        with(with(v1_claims(), "scp", json!(format!("{SCOPE} {INGEST_SCOPE}"))), "roles", json!([ROLE, INGEST_ROLE]));
    let nothing_to_ingest = AuthError::NoIngestAccess { scopes: String::new(), roles: String::new() };
    // Whether reading needs a grant or is open to every valid token.
    for issuer in [entra(&[&key]), Issuer { scopes: Vec::new(), roles: Vec::new(), ..entra(&[&key]) }] {
        let auth = authenticator([issuer]);
        let token = key.sign(&everything);
        assert_eq!(check(&auth, &token).await.map(|c| c.access), Ok(READ));
        assert_eq!(
            check_for(&auth, &token, Need::Ingest).await,
            Err(AuthError::NoIngestAccess { scopes: String::new(), roles: String::new() })
        );
    }
    assert!(nothing_to_ingest.to_string().contains("no `ingest_scopes` or `ingest_roles`"), "{nothing_to_ingest}");
    // An ingest role alone is then no grant at all.
    let auth = authenticator([entra(&[&key])]);
    let daemon = key.sign(&with(app_only_claims(), "roles", json!([INGEST_ROLE])));
    assert!(matches!(check_for(&auth, &daemon, Need::Ingest).await, Err(AuthError::InsufficientScope { .. })));
}

#[tokio::test]
async fn ingestion_is_granted_by_a_scope_in_scp_or_scope() {
    let key = SigningKey::rsa("rsa-1");
    let auth = authenticator([entra_with_ingest(&[&key])]);
    let ingest_only = Caller { access: INGEST, ..alice() };
    for claims in [
        with(v1_claims(), "scp", json!(format!("openid {INGEST_SCOPE} profile"))),
        with(v1_claims(), "scp", json!([INGEST_SCOPE])),
        with(without(v1_claims(), "scp"), "scope", json!(INGEST_SCOPE)),
    ] {
        let token = key.sign(&claims);
        assert_eq!(check_for(&auth, &token, Need::Ingest).await, Ok(ingest_only.clone()), "{claims}");
        assert!(matches!(check(&auth, &token).await, Err(AuthError::NoReadAccess { .. })), "{claims}");
    }
    // A scope is read from the scope claims only, never from `roles`.
    let misplaced = with(app_only_claims(), "roles", json!([INGEST_SCOPE]));
    assert!(matches!(
        check_for(&auth, &key.sign(&misplaced), Need::Ingest).await,
        Err(AuthError::InsufficientScope { .. })
    ));
}

#[tokio::test]
async fn ingestion_is_granted_by_a_role_in_roles() {
    let key = SigningKey::rsa("rsa-1");
    let auth = authenticator([Issuer { ingest_scopes: Vec::new(), ..entra_with_ingest(&[&key]) }]);
    let daemon = with(app_only_claims(), "roles", json!(["Other.Role", INGEST_ROLE]));
    let caller = check_for(&auth, &key.sign(&daemon), Need::Ingest).await;
    assert_eq!(caller, Ok(Caller { app_only: true, access: INGEST, ..alice() }));
    // A role is read from the `roles` array only: not from a string, not from the scope claims.
    for claims in [with(app_only_claims(), "roles", json!(INGEST_ROLE)), with(v1_claims(), "scp", json!(INGEST_ROLE))] {
        let error = check_for(&auth, &key.sign(&claims), Need::Ingest).await.unwrap_err();
        assert!(matches!(error, AuthError::InsufficientScope { .. }), "{claims}: {error:?}");
    }
}

#[tokio::test]
async fn a_token_granting_neither_reading_nor_ingesting_is_told_both_options() {
    let key = SigningKey::rsa("rsa-1");
    let auth = authenticator([entra_with_ingest(&[&key])]);
    let error = check_for(&auth, &key.sign(&without(v1_claims(), "scp")), Need::Ingest).await.unwrap_err();
    assert_eq!(
        error,
        AuthError::InsufficientScope {
            scopes: SCOPE.to_owned(),
            roles: ROLE.to_owned(),
            ingest_scopes: INGEST_SCOPE.to_owned(),
            ingest_roles: INGEST_ROLE.to_owned(),
        }
    );
    assert_eq!((error.code(), error.rejection()), ("AUTH430", Rejection::Forbidden));
    assert_eq!(
        error.to_string(),
        "the access token grants none of the scopes (user_impersonation) or app roles (Feed.Read) this feed requires, \
         nor any of the scopes (feed_ingest) or app roles (Feed.Ingest) that allow ingestion"
    );
}

#[tokio::test]
async fn what_a_request_needs_is_checked_after_every_other_check() {
    let key = SigningKey::rsa("rsa-1");
    let auth = authenticator([entra_with_ingest(&[&key])]);
    let elsewhere =
        with(with(v1_claims(), "iss", json!(format!("https://sts.windows.net/{OTHER_TID}/"))), "tid", json!(OTHER_TID));
    let error = check_for(&auth, &key.sign(&elsewhere), Need::Ingest).await;
    assert_eq!(error, Err(AuthError::UnknownTenant(OTHER_TID.to_owned())));
    let expired = with(with(app_only_claims(), "roles", json!([INGEST_ROLE])), "exp", json!(now() - 3600));
    assert_eq!(check(&auth, &key.sign(&expired)).await, Err(AuthError::Expired));
    assert_eq!(check_for(&auth, "", Need::Ingest).await, Err(AuthError::Missing));
}

#[test]
fn access_allows_exactly_what_it_grants() {
    assert!(READ.allows(Need::Read) && !READ.allows(Need::Ingest));
    assert!(!INGEST.allows(Need::Read) && INGEST.allows(Need::Ingest));
    assert!(BOTH.allows(Need::Read) && BOTH.allows(Need::Ingest));
}

#[test]
fn the_configuration_refuses_a_scope_or_role_that_grants_both_reading_and_ingesting() {
    let config = |extra: &str| {
        let text = format!(
            r#"
            [[issuer]]
            kind = "entra"
            audiences = ["{APP_ID_URI}"]
            scopes = ["{SCOPE}"]
            roles = ["{ROLE}"]
            {extra}
            [issuer.tenants]
            "{TID}" = "contoso"
            "#
        );
        toml::from_str::<AuthConfig>(&text).unwrap()
    };
    let role_twice = config(&format!(r#"ingest_roles = ["{INGEST_ROLE}", "{ROLE}"]"#)).check().unwrap_err().to_string();
    assert!(role_twice.contains("`Feed.Read` is listed in both `roles` and `ingest_roles`"), "{role_twice}");
    let scope_twice = config(&format!(r#"ingest_scopes = ["{SCOPE}"]"#)).check().unwrap_err().to_string();
    assert!(
        scope_twice.contains("`user_impersonation` is listed in both `scopes` and `ingest_scopes`"),
        "{scope_twice}"
    );

    // Separate grants are accepted and reach the issuer.
    let separate = config(&format!(
        r#"ingest_scopes = ["{INGEST_SCOPE}"]
            ingest_roles = ["{INGEST_ROLE}"]"#
    ));
    separate.check().unwrap();
    let policy = CachePolicy { ttl: HOUR, refresh_interval: Duration::from_secs(30) };
    let issuer = Issuer::from_config(&separate.issuers[0], reqwest::Client::new(), policy);
    assert_eq!((issuer.ingest_scopes, issuer.ingest_roles), (strings(&[INGEST_SCOPE]), strings(&[INGEST_ROLE])));
    // Without them, nobody ingests.
    let read_only = config("");
    read_only.check().unwrap();
    assert!(read_only.issuers[0].ingest_scopes.is_empty() && read_only.issuers[0].ingest_roles.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Forged, tampered and unacceptable tokens

#[tokio::test]
async fn an_unsigned_token_with_alg_none_is_rejected() {
    let key = SigningKey::rsa("rsa-1");
    let auth = authenticator([entra(&[&key])]);
    for alg in ["none", "None", "NONE"] {
        for header in [json!({"alg": alg, "typ": "JWT"}), json!({"alg": alg, "kid": "rsa-1"})] {
            let token = format!("{}.{}.", b64_json(&header), b64_json(&v1_claims()));
            assert_eq!(check(&auth, &token).await, Err(AuthError::Algorithm(alg.to_owned())), "{header}");
        }
    }
}

#[tokio::test]
async fn an_rs256_token_with_an_empty_signature_is_rejected() {
    let key = SigningKey::rsa("rsa-1");
    let auth = authenticator([entra(&[&key])]);
    let signed = key.sign(&v1_claims());
    let unsigned = &signed[..=signed.rfind('.').unwrap()];
    assert_eq!(check(&auth, unsigned).await, Err(AuthError::Signature));
}

/// HMAC-SHA256 over `header.payload` with `secret`: the classic key-confusion forgery.
fn hs256(header: &Value, claims: &Value, secret: &[u8]) -> String {
    let message = format!("{}.{}", b64_json(header), b64_json(claims));
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret).unwrap();
    mac.update(message.as_bytes());
    format!("{message}.{}", b64(&mac.finalize().into_bytes()))
}

#[tokio::test]
async fn a_token_signed_with_hs256_using_the_public_key_is_rejected() {
    let key = SigningKey::rsa("rsa-1");
    let auth = authenticator([entra(&[&key])]);
    let public_pem = pem("PUBLIC KEY", &RSA_A.public_spki);
    let public_pkcs1_pem = pem("RSA PUBLIC KEY", &RSA_A.public_pkcs1);
    let secrets: [&[u8]; 4] =
        [public_pem.as_bytes(), public_pkcs1_pem.as_bytes(), &RSA_A.public_spki, &RSA_A.public_pkcs1];
    for alg in ["HS256", "HS384", "HS512", "hs256"] {
        for secret in secrets {
            let token = hs256(&json!({"alg": alg, "kid": "rsa-1", "typ": "JWT"}), &v1_claims(), secret);
            if alg == "HS256" {
                // The forgery is sound: a verifier that took the public key as an HMAC secret would pass it.
                let (message, signature) = token.rsplit_once('.').unwrap();
                let secret = jsonwebtoken::DecodingKey::from_secret(secret);
                assert!(
                    jsonwebtoken::crypto::verify(signature, message.as_bytes(), &secret, Algorithm::HS256).unwrap()
                );
            }
            assert_eq!(check(&auth, &token).await, Err(AuthError::Algorithm(alg.to_owned())));
        }
    }
}

#[tokio::test]
async fn only_rs256_and_es256_are_accepted_as_algorithms() {
    let key = SigningKey::rsa("rsa-1");
    let auth = authenticator([entra(&[&key])]);
    let signature = key.sign(&v1_claims()).rsplit('.').next().unwrap().to_owned();
    for alg in ["RS384", "RS512", "PS256", "ES384", "ES512", "EdDSA", "rs256", "es256", ""] {
        let token =
            format!("{}.{}.{signature}", b64_json(&json!({"alg": alg, "kid": "rsa-1"})), b64_json(&v1_claims()));
        assert_eq!(check(&auth, &token).await, Err(AuthError::Algorithm(alg.to_owned())), "{alg}");
    }
}

#[tokio::test]
async fn an_overlong_algorithm_name_is_shortened_in_the_error() {
    let key = SigningKey::rsa("rsa-1");
    let auth = authenticator([entra(&[&key])]);
    let alg = "X".repeat(500);
    let token = format!("{}.{}.", b64_json(&json!({"alg": alg, "kid": "rsa-1"})), b64_json(&v1_claims()));
    let Err(AuthError::Algorithm(shown)) = check(&auth, &token).await else { panic!("not an algorithm error") };
    assert_eq!(shown, format!("{}…", "X".repeat(100)));
}

#[tokio::test]
async fn an_expired_token_is_rejected_beyond_the_clock_skew_and_accepted_within_it() {
    let key = SigningKey::p256("ec-1");
    let auth = authenticator([entra(&[&key])]);
    assert_eq!(AuthConfig::empty().clock_skew_seconds, SKEW);
    let expired = |ago: u64| with(v2_claims(), "exp", json!(now() - ago));
    assert_eq!(check(&auth, &key.sign(&expired(SKEW + 60))).await, Err(AuthError::Expired));
    assert_eq!(check(&auth, &key.sign(&expired(86_400))).await, Err(AuthError::Expired));
    assert_eq!(check(&auth, &key.sign(&expired(SKEW - 60))).await, Ok(alice()));
    assert_eq!(check(&auth, &key.sign(&expired(1))).await, Ok(alice()));
}

#[tokio::test]
async fn a_token_whose_nbf_lies_in_the_future_is_rejected_beyond_the_clock_skew() {
    let key = SigningKey::p256("ec-1");
    let auth = authenticator([entra(&[&key])]);
    let early = |ahead: u64| with(v2_claims(), "nbf", json!(now() + ahead));
    assert_eq!(check(&auth, &key.sign(&early(SKEW + 60))).await, Err(AuthError::NotYetValid));
    assert_eq!(check(&auth, &key.sign(&early(SKEW - 60))).await, Ok(alice()));
}

#[tokio::test]
async fn a_token_missing_exp_or_with_a_mistyped_exp_is_rejected() {
    let key = SigningKey::rsa("rsa-1");
    let auth = authenticator([entra(&[&key])]);
    let missing = || Err(AuthError::MissingClaim("exp".to_owned()));
    assert_eq!(check(&auth, &key.sign(&without(v1_claims(), "exp"))).await, missing());
    assert_eq!(check(&auth, &key.sign(&with(v1_claims(), "exp", json!("tomorrow")))).await, missing());
}

#[tokio::test]
async fn a_token_with_a_mistyped_nbf_is_rejected() {
    let key = SigningKey::rsa("rsa-1");
    let auth = authenticator([entra(&[&key])]);
    let mistyped = key.sign(&with(v1_claims(), "nbf", json!("yesterday")));
    assert_eq!(check(&auth, &mistyped).await, Err(AuthError::MissingClaim("nbf".into())));
}

#[tokio::test]
async fn a_token_for_another_audience_is_rejected() {
    let key = SigningKey::rsa("rsa-1");
    let auth = authenticator([entra(&[&key])]);
    for aud in [
        json!("https://graph.microsoft.com"),
        json!("https://bi.example.com/"),
        json!("HTTPS://BI.EXAMPLE.COM"),
        json!(["https://graph.microsoft.com", "00000002-0000-0000-c000-000000000000"]),
        json!([]),
    ] {
        let claims = with(v1_claims(), "aud", aud.clone());
        assert_eq!(check(&auth, &key.sign(&claims)).await, Err(AuthError::Audience), "{aud}");
    }
    let no_audience = without(v1_claims(), "aud");
    assert_eq!(check(&auth, &key.sign(&no_audience)).await, Err(AuthError::MissingClaim("aud".to_owned())));
}

#[tokio::test]
async fn a_token_from_an_unknown_issuer_is_rejected() {
    let key = SigningKey::rsa("rsa-1");
    let auth = authenticator([entra(&[&key]), oidc(&[&key])]);
    for iss in [
        "https://evil.example.com/".to_owned(),
        format!("https://sts.windows.net/{TID}"),
        format!("https://sts.windows.net/{TID}/extra/"),
        format!("https://sts.windows.net.evil.example.com/{TID}/"),
        format!("https://login.microsoftonline.com/{TID}/v2.0/"),
        format!("https://login.microsoftonline.com/{TID}/oauth2/v2.0"),
        format!("http://sts.windows.net/{TID}/"),
        format!("{OIDC_ISSUER}/"),
        "https://idp.example.com/realms/BI".to_owned(),
    ] {
        let claims = with(v1_claims(), "iss", json!(iss));
        assert_eq!(check(&auth, &key.sign(&claims)).await, Err(AuthError::UnknownIssuer(iss.clone())), "{iss}");
    }
    let no_issuer = without(v1_claims(), "iss");
    assert_eq!(check(&auth, &key.sign(&no_issuer)).await, Err(AuthError::MissingClaim("iss".to_owned())));
    let list = with(v1_claims(), "iss", json!([format!("https://sts.windows.net/{TID}/")]));
    assert_eq!(check(&auth, &key.sign(&list)).await, Err(AuthError::MissingClaim("iss".to_owned())));
}

#[tokio::test]
async fn an_entra_token_whose_issuer_names_another_tenant_than_its_tid_is_rejected() {
    let key = SigningKey::rsa("rsa-1");
    // Both tenants are mapped, so only the issuer/tenant check can refuse the token.
    let auth =
        authenticator([Issuer { tenants: tenants(&[(TID, "contoso"), (OTHER_TID, "fabrikam")]), ..entra(&[&key]) }]);
    let v1 = with(v1_claims(), "tid", json!(OTHER_TID));
    let v2 = with(v2_claims(), "iss", json!(format!("https://login.microsoftonline.com/{OTHER_TID}/v2.0")));
    for claims in [v1, v2] {
        let error = check(&auth, &key.sign(&claims)).await.unwrap_err();
        let tid = claims["tid"].as_str().unwrap().to_owned();
        assert_eq!(error, AuthError::TenantMismatch(tid));
        assert_eq!(error.rejection(), Rejection::SignIn);
    }
}

#[tokio::test]
async fn an_entra_token_whose_tid_is_not_a_guid_is_rejected_even_when_it_is_mapped() {
    let key = SigningKey::rsa("rsa-1");
    let auth = authenticator([Issuer {
        tenants: tenants(&[("contoso", "contoso"), ("common", "contoso")]),
        ..entra(&[&key])
    }]);
    for tid in ["contoso", "common"] {
        let claims =
            with(with(v1_claims(), "iss", json!(format!("https://sts.windows.net/{tid}/"))), "tid", json!(tid));
        assert_eq!(check(&auth, &key.sign(&claims)).await, Err(AuthError::TenantMismatch(tid.to_owned())));
    }
}

#[tokio::test]
async fn an_entra_token_without_tid_is_rejected() {
    let key = SigningKey::rsa("rsa-1");
    let auth = authenticator([entra(&[&key])]);
    for claims in [without(v1_claims(), "tid"), with(v1_claims(), "tid", json!("")), with(v1_claims(), "tid", json!(7))]
    {
        assert_eq!(check(&auth, &key.sign(&claims)).await, Err(AuthError::MissingClaim("tid".to_owned())), "{claims}");
    }
}

#[tokio::test]
async fn a_token_naming_an_unknown_kid_is_rejected() {
    let key = SigningKey::rsa("rsa-1");
    let auth = authenticator([entra(&[&key])]);
    let unknown = SigningKey::rsa("rsa-2");
    assert_eq!(check(&auth, &unknown.sign(&v1_claims())).await, Err(AuthError::UnknownKey("rsa-2".to_owned())));
}

#[tokio::test]
async fn a_token_whose_payload_was_changed_after_signing_is_rejected() {
    let (rsa, ec) = (SigningKey::rsa("rsa-1"), SigningKey::p256("ec-1"));
    let auth = authenticator([Issuer {
        tenants: tenants(&[(TID, "contoso"), (OTHER_TID, "fabrikam")]),
        ..entra(&[&rsa, &ec])
    }]);
    let other_tenant =
        with(with(v1_claims(), "iss", json!(format!("https://sts.windows.net/{OTHER_TID}/"))), "tid", json!(OTHER_TID));
    let changes = [
        with(v1_claims(), "oid", json!("00000000-0000-0000-0000-0000000000b2")),
        with(v1_claims(), "exp", json!(now() + 365 * 86_400)),
        with(app_only_claims(), "roles", json!([ROLE, "Feed.Admin"])),
        other_tenant,
    ];
    for key in [&rsa, &ec] {
        let signed = key.sign(&v1_claims());
        let (header, rest) = signed.split_once('.').unwrap();
        let signature = rest.split_once('.').unwrap().1;
        for changed in &changes {
            let tampered = format!("{header}.{}.{signature}", b64_json(changed));
            assert_eq!(check(&auth, &tampered).await, Err(AuthError::Signature), "{changed}");
        }
    }
}

#[tokio::test]
async fn a_token_whose_header_or_signature_was_changed_is_rejected() {
    let key = SigningKey::p256("ec-1");
    let auth = authenticator([entra(&[&key])]);
    let signed = key.sign(&v2_claims());
    let mut parts: Vec<String> = signed.split('.').map(str::to_owned).collect();
    let original = parts.clone();
    parts[0] = b64_json(&json!({"alg": "ES256", "kid": "ec-1", "typ": "at+jwt"}));
    assert_eq!(check(&auth, &parts.join(".")).await, Err(AuthError::Signature));
    let mut signature = URL_SAFE_NO_PAD.decode(&original[2]).unwrap();
    signature[10] ^= 1;
    let flipped = format!("{}.{}.{}", original[0], original[1], b64(&signature));
    assert_eq!(check(&auth, &flipped).await, Err(AuthError::Signature));
    let truncated = format!("{}.{}.{}", original[0], original[1], b64(&signature[..32]));
    assert_eq!(check(&auth, &truncated).await, Err(AuthError::Signature));
}

#[tokio::test]
async fn a_malformed_token_is_rejected() {
    let key = SigningKey::rsa("rsa-1");
    let auth = authenticator([entra(&[&key])]);
    let header = b64_json(&json!({"alg": "RS256", "kid": "rsa-1"}));
    let payload = b64_json(&v1_claims());
    let signed = key.sign(&v1_claims());
    let tokens = [
        "not-base64!.x.y".to_owned(),
        format!("{}.{payload}.sig", b64(b"not json")),
        format!("{}.{payload}.sig", b64(b"[\"RS256\"]")),
        format!("{}.{payload}.sig", b64_json(&json!({"kid": "rsa-1"}))),
        format!("{}.{payload}.sig", b64_json(&json!({"alg": 256, "kid": "rsa-1"}))),
        format!("{header}.{payload}"),
        header.clone(),
        format!("{signed}.extra"),
        format!("{header}.not*base64.sig"),
        format!("{header}.{}.sig", b64(b"not json")),
        format!("{header}.{}.sig", b64(b"[1, 2]")),
        "..".to_owned(),
        "a.b.c".to_owned(),
    ];
    for token in tokens {
        assert_eq!(check(&auth, &token).await, Err(AuthError::Malformed), "{token}");
    }
}

#[tokio::test]
async fn a_token_without_a_kid_is_rejected() {
    let key = SigningKey::rsa("rsa-1");
    let auth = authenticator([entra(&[&key])]);
    for header in
        [json!({"alg": "RS256", "typ": "JWT"}), json!({"alg": "RS256", "kid": 1}), json!({"alg": "RS256", "kid": null})]
    {
        assert_eq!(
            check(&auth, &key.sign_with_header(&header, &v1_claims())).await,
            Err(AuthError::NoKeyId),
            "{header}"
        );
    }
}

#[tokio::test]
async fn an_oversized_token_is_rejected_before_it_is_parsed() {
    let key = SigningKey::rsa("rsa-1");
    let auth = authenticator([entra(&[&key])]);
    let limit = AuthConfig::empty().max_token_bytes;
    assert_eq!(limit, 16 * 1024);
    let huge = "a".repeat(limit + 1);
    let error = check(&auth, &huge).await.unwrap_err();
    assert_eq!(error, AuthError::Oversized { length: limit + 1, limit });
    assert_eq!(error.rejection(), Rejection::SignIn);
    // At the limit the token is read (and found malformed).
    assert_eq!(check(&auth, &"a".repeat(limit)).await, Err(AuthError::Malformed));
    // A signed token padded with a huge claim is refused for its length alone.
    let padded = key.sign(&with(v1_claims(), "padding", json!("x".repeat(limit))));
    assert!(matches!(check(&auth, &padded).await, Err(AuthError::Oversized { .. })));
}

#[tokio::test]
async fn a_token_whose_algorithm_does_not_fit_the_key_its_kid_names_is_rejected() {
    let (rsa, ec) = (SigningKey::rsa("rsa-1"), SigningKey::p256("ec-1"));
    let auth = authenticator([entra(&[&rsa, &ec])]);
    let rs256_naming_ec = rsa.sign_with_header(&json!({"alg": "RS256", "kid": "ec-1"}), &v1_claims());
    assert_eq!(check(&auth, &rs256_naming_ec).await, Err(AuthError::Signature));
    let es256_naming_rsa = ec.sign_with_header(&json!({"alg": "ES256", "kid": "rsa-1"}), &v1_claims());
    assert_eq!(check(&auth, &es256_naming_rsa).await, Err(AuthError::Signature));
}

#[tokio::test]
async fn a_token_signed_by_another_key_under_the_right_kid_is_rejected() {
    let (rsa, ec) = (SigningKey::rsa("rsa-1"), SigningKey::p256("ec-1"));
    let auth = authenticator([entra(&[&rsa, &ec])]);
    let (impostor_rsa, impostor_ec) = (SigningKey::other_rsa("rsa-1"), SigningKey::p256("ec-1"));
    assert_eq!(check(&auth, &impostor_rsa.sign(&v1_claims())).await, Err(AuthError::Signature));
    assert_eq!(check(&auth, &impostor_ec.sign(&v2_claims())).await, Err(AuthError::Signature));
}

/// `token::validate`'s caller, without the issuer.
async fn validate(token: &str, issuers: &[Issuer], skew: u64) -> Result<Caller, AuthError> {
    token::validate(token, issuers, skew).await.map(|(caller, _)| caller)
}

#[tokio::test]
async fn validate_checks_the_token_without_the_authorization_header() {
    let key = SigningKey::rsa("rsa-1");
    let issuers = [entra(&[&key])];
    assert_eq!(validate(&key.sign(&v1_claims()), &issuers, SKEW).await, Ok(alice()));
    assert_eq!(validate("", &issuers, SKEW).await, Err(AuthError::Malformed));
    let expired = key.sign(&with(v1_claims(), "exp", json!(now() - 30)));
    assert_eq!(validate(&expired, &issuers, 0).await, Err(AuthError::Expired));
    assert_eq!(validate(&expired, &issuers, 60).await, Ok(alice()));
    assert_eq!(
        validate(&key.sign(&v1_claims()), &[], SKEW).await,
        Err(AuthError::UnknownIssuer(format!("https://sts.windows.net/{TID}/")))
    );
}

// ---------------------------------------------------------------------------------------------
// The Authorization header

#[tokio::test]
async fn a_missing_empty_or_non_bearer_authorization_header_means_no_credentials() {
    let key = SigningKey::rsa("rsa-1");
    let auth = authenticator([entra(&[&key])]);
    assert_eq!(auth.authenticate(None).await, Err(AuthError::Missing));
    let values: [&[u8]; 9] =
        [b"", b"   ", b"Bearer", b"Bearer   ", b"bearer \t ", b"Basic abc", b"Basic", b"Negotiate YII=", b"Bearerabc"];
    for value in values {
        let shown = String::from_utf8_lossy(value);
        assert_eq!(auth.authenticate(Some(value)).await, Err(AuthError::Missing), "{shown:?}");
        assert_eq!(token::bearer(Some(value)), Err(AuthError::Missing), "{shown:?}");
    }
    assert_eq!(AuthError::Missing.rejection(), Rejection::SignIn);
    // Another scheme is no credentials even when its value is not UTF-8.
    assert_eq!(token::bearer(Some(b"Basic \xff\xfe")), Err(AuthError::Missing));
}

#[tokio::test]
async fn the_bearer_scheme_is_recognised_in_any_case_and_spacing() {
    let key = SigningKey::rsa("rsa-1");
    let auth = authenticator([entra(&[&key])]);
    let token = key.sign(&v1_claims());
    for value in [
        format!("Bearer {token}"),
        format!("bearer {token}"),
        format!("BEARER {token}"),
        format!("Bearer    {token}   "),
        format!("  Bearer {token}"),
    ] {
        assert_eq!(token::bearer(Some(value.as_bytes())), Ok(token.as_str()));
        assert_eq!(auth.authenticate(Some(value.as_bytes())).await, Ok(alice()));
    }
}

#[tokio::test]
async fn an_authorization_header_that_is_not_utf8_is_malformed() {
    let auth = authenticator([]);
    assert_eq!(auth.authenticate(Some(b"Bearer \xff\xfe")).await, Err(AuthError::Malformed));
}

#[test]
fn the_challenge_sends_power_query_to_the_configured_authority() {
    let auth = authenticator([]);
    assert_eq!(
        auth.challenge(),
        "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\""
    );
    let mut config = AuthConfig::empty();
    config.authority = format!("https://login.microsoftonline.com/{TID}/");
    let auth = Authenticator::new(&config, reqwest::Client::new());
    assert_eq!(
        auth.challenge(),
        format!("Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/{TID}/oauth2/authorize\"")
    );
}

// ---------------------------------------------------------------------------------------------
// Tenants and client applications

#[tokio::test]
async fn a_tenant_that_is_not_mapped_is_forbidden() {
    let key = SigningKey::rsa("rsa-1");
    let auth = authenticator([entra(&[&key])]);
    let claims =
        with(with(v1_claims(), "iss", json!(format!("https://sts.windows.net/{OTHER_TID}/"))), "tid", json!(OTHER_TID));
    let error = check(&auth, &key.sign(&claims)).await.unwrap_err();
    assert_eq!(error, AuthError::UnknownTenant(OTHER_TID.to_owned()));
    assert_eq!(error.rejection(), Rejection::Forbidden);
    assert_eq!(error.code(), "AUTH432");
}

#[tokio::test]
async fn only_client_applications_on_the_allow_list_may_read() {
    let key = SigningKey::rsa("rsa-1");
    let auth = authenticator([Issuer { clients: strings(&[POWER_QUERY]), ..entra(&[&key]) }]);
    assert_eq!(check(&auth, &key.sign(&v1_claims())).await, Ok(alice()));
    assert_eq!(check(&auth, &key.sign(&v2_claims())).await, Ok(alice()));
    let evil = "0e5e7a1b-0000-4000-8000-00000000e511";
    for (claims, shown) in [
        (with(v1_claims(), "appid", json!(evil)), evil),
        (with(v2_claims(), "azp", json!(evil)), evil),
        (without(v1_claims(), "appid"), "(none)"),
        // `appid` is read before `azp`: a matching `azp` does not excuse another `appid`.
        (with(with(v1_claims(), "appid", json!(evil)), "azp", json!(POWER_QUERY)), evil),
    ] {
        let error = check(&auth, &key.sign(&claims)).await.unwrap_err();
        assert_eq!(error, AuthError::ClientNotAllowed(shown.to_owned()), "{claims}");
        assert_eq!(error.rejection(), Rejection::Forbidden);
    }
}

#[tokio::test]
async fn without_an_allow_list_any_client_application_may_read() {
    let key = SigningKey::rsa("rsa-1");
    let auth = authenticator([entra(&[&key])]);
    let caller = check(&auth, &key.sign(&without(v1_claims(), "appid"))).await;
    assert_eq!(caller, Ok(Caller { client: None, ..alice() }));
}

#[tokio::test]
async fn an_oidc_issuer_maps_the_tenant_through_its_configured_claim() {
    let key = SigningKey::p256("ec-1");
    let auth = authenticator([oidc(&[&key])]);
    let caller = check(&auth, &key.sign(&oidc_claims())).await;
    assert_eq!(
        caller,
        Ok(Caller {
            tenant: "contoso".to_owned(),
            tid: "acme".to_owned(),
            oid: "7f3c-user".to_owned(),
            client: Some("power-bi".to_owned()),
            app_only: false,
            access: READ,
        })
    );
    // The configured claim decides, not `tid`; and OIDC tenants are matched exactly.
    let claims = with(with(oidc_claims(), "tid", json!("acme")), "org", json!("globex"));
    assert_eq!(check(&auth, &key.sign(&claims)).await, Err(AuthError::UnknownTenant("globex".to_owned())));
    let claims = with(oidc_claims(), "org", json!("ACME"));
    assert_eq!(check(&auth, &key.sign(&claims)).await, Err(AuthError::UnknownTenant("ACME".to_owned())));
}

#[tokio::test]
async fn a_token_without_its_tenant_claim_is_rejected() {
    let key = SigningKey::p256("ec-1");
    let auth = authenticator([oidc(&[&key])]);
    for claims in [
        without(oidc_claims(), "org"),
        with(oidc_claims(), "org", json!("")),
        with(oidc_claims(), "org", json!(["acme"])),
        with(without(oidc_claims(), "org"), "tid", json!("acme")),
    ] {
        assert_eq!(check(&auth, &key.sign(&claims)).await, Err(AuthError::MissingClaim("org".to_owned())), "{claims}");
    }
}

#[tokio::test]
async fn the_caller_is_the_oid_else_the_subject_and_a_token_naming_neither_is_rejected() {
    let key = SigningKey::p256("ec-1");
    let auth = authenticator([oidc(&[&key])]);
    let with_oid = with(oidc_claims(), "oid", json!("object-1"));
    assert_eq!(check(&auth, &key.sign(&with_oid)).await.unwrap().oid, "object-1");
    assert_eq!(check(&auth, &key.sign(&oidc_claims())).await.unwrap().oid, "7f3c-user");
    let nobody = without(oidc_claims(), "sub");
    assert_eq!(check(&auth, &key.sign(&nobody)).await, Err(AuthError::MissingClaim("oid".to_owned())));
}

#[tokio::test]
async fn each_token_is_checked_by_the_issuer_its_iss_names() {
    let (entra_key, oidc_key) = (SigningKey::rsa("shared-kid"), SigningKey::p256("shared-kid"));
    let dev = DevIssuer::generate().unwrap();
    let auth = authenticator([entra(&[&entra_key]), oidc(&[&oidc_key]), dev.issuer()]);
    assert_eq!(check(&auth, &entra_key.sign(&v1_claims())).await, Ok(alice()));
    assert_eq!(check(&auth, &oidc_key.sign(&oidc_claims())).await.unwrap().tenant, "contoso");
    assert_eq!(
        check(&auth, &dev.mint("fabrikam", "bob", Duration::from_secs(60)).unwrap()).await.unwrap().tenant,
        "fabrikam"
    );
    // The same kid at another issuer is another key.
    assert_eq!(check(&auth, &oidc_key.sign(&v1_claims())).await, Err(AuthError::Signature));
    assert_eq!(check(&auth, &entra_key.sign(&oidc_claims())).await, Err(AuthError::Signature));
}

// ---------------------------------------------------------------------------------------------
// The development issuer

#[tokio::test]
async fn a_development_token_is_accepted_by_its_own_issuer_for_the_tenant_it_names() {
    let dev = DevIssuer::generate().unwrap();
    let auth = authenticator([dev.issuer()]);
    for tenant in ["contoso", "fabrikam"] {
        let token = dev.mint(tenant, "alice", Duration::from_secs(3600)).unwrap();
        let caller = Caller {
            tenant: tenant.to_owned(),
            tid: tenant.to_owned(),
            oid: "alice".to_owned(),
            client: None,
            app_only: false,
            access: READ,
        };
        assert_eq!(check(&auth, &token).await, Ok(caller));
    }
    let issuer = dev.issuer();
    assert!(matches!(issuer.tenants, TenantMap::SameName));
    assert_eq!(issuer.issuer.as_deref(), Some(DEV_ISSUER));
    assert_eq!(issuer.audiences, [DEV_AUDIENCE]);
}

#[tokio::test]
async fn a_development_ingest_token_may_ingest_but_not_read() {
    let dev = DevIssuer::generate().unwrap();
    let auth = authenticator([dev.issuer()]);
    let token = dev.mint_ingest("contoso", "loader", Duration::from_secs(600)).unwrap();
    let claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(token.split('.').nth(1).unwrap()).unwrap()).unwrap();
    assert_eq!(claims["roles"], json!([DEV_INGEST_ROLE]));
    assert_eq!(
        (claims["azp"].as_str(), claims["oid"].as_str(), claims["sub"].as_str()),
        (Some("loader"), Some("loader"), Some("loader"))
    );
    assert!(claims.get("scp").is_none(), "{claims}");
    let daemon = Caller {
        tenant: "contoso".to_owned(),
        tid: "contoso".to_owned(),
        oid: "loader".to_owned(),
        client: Some("loader".to_owned()),
        app_only: true,
        access: INGEST,
    };
    assert_eq!(check_for(&auth, &token, Need::Ingest).await, Ok(daemon));
    let refused = AuthError::NoReadAccess { scopes: super::dev::DEV_SCOPE.to_owned(), roles: String::new() };
    assert_eq!(check(&auth, &token).await, Err(refused));
    // The read token stays a read token.
    let reader = dev.mint("contoso", "alice", Duration::from_secs(600)).unwrap();
    assert_eq!(check(&auth, &reader).await.map(|c| c.access), Ok(READ));
    assert_eq!(
        check_for(&auth, &reader, Need::Ingest).await,
        Err(AuthError::NoIngestAccess { scopes: String::new(), roles: DEV_INGEST_ROLE.to_owned() })
    );
}

#[tokio::test]
async fn a_development_token_minted_with_another_key_is_rejected() {
    let (dev, other) = (DevIssuer::generate().unwrap(), DevIssuer::generate().unwrap());
    let auth = authenticator([dev.issuer()]);
    let foreign = other.mint("contoso", "mallory", Duration::from_secs(3600)).unwrap();
    let foreign_kid = other.jwks()["keys"][0]["kid"].as_str().unwrap().to_owned();
    assert_eq!(check(&auth, &foreign).await, Err(AuthError::UnknownKey(foreign_kid)));
    // Relabelled with the trusted kid, the other key's signature does not verify.
    let kid = dev.jwks()["keys"][0]["kid"].as_str().unwrap().to_owned();
    let (_, rest) = foreign.split_once('.').unwrap();
    let relabelled = format!("{}.{rest}", b64_json(&json!({"alg": "ES256", "kid": kid, "typ": "JWT"})));
    assert_eq!(check(&auth, &relabelled).await, Err(AuthError::Signature));
}

#[tokio::test]
async fn a_development_token_is_not_accepted_by_other_issuers() {
    let dev = DevIssuer::generate().unwrap();
    let key = SigningKey::rsa("rsa-1");
    let auth = authenticator([entra(&[&key])]);
    let token = dev.mint("contoso", "alice", Duration::from_secs(60)).unwrap();
    assert_eq!(check(&auth, &token).await, Err(AuthError::UnknownIssuer(DEV_ISSUER.to_owned())));
}

#[tokio::test]
async fn the_development_key_file_is_created_private_and_loaded_back() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys").join("dev-issuer.pem");
    let created = DevIssuer::load_or_create(&path).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "mode {mode:o}");
    let pem = std::fs::read_to_string(&path).unwrap();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{pem}");

    let loaded = DevIssuer::load_or_create(&path).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), pem, "the file is not rewritten");
    assert_eq!(loaded.jwks(), created.jwks());
    assert_eq!(DevIssuer::load(&path).unwrap().jwks(), created.jwks());
    let token = created.mint("contoso", "alice", Duration::from_secs(60)).unwrap();
    let auth = authenticator([loaded.issuer()]);
    assert_eq!(check(&auth, &token).await.unwrap().tenant, "contoso");

    std::fs::write(dir.path().join("junk.pem"), "not a key").unwrap();
    assert!(DevIssuer::load(&dir.path().join("junk.pem")).is_err());
    assert!(DevIssuer::load(&dir.path().join("missing.pem")).is_err());
}

#[test]
fn the_development_jwks_and_discovery_document_describe_its_key() {
    let dev = DevIssuer::generate().unwrap();
    let jwks = dev.jwks();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    let (kid, key) = usable_key(&keys[0]).expect("a usable key");
    assert_eq!((kid.len(), key.algorithm), (16, Algorithm::ES256));
    assert!(keys[0].get("d").is_none(), "the JWKS holds no private part");
    let discovery = dev.discovery("http://127.0.0.1:8080");
    assert_eq!(discovery["issuer"], DEV_ISSUER);
    assert_eq!(discovery["jwks_uri"], "http://127.0.0.1:8080/dev-issuer/keys");
}

// ---------------------------------------------------------------------------------------------
// Errors

fn every_error() -> Vec<AuthError> {
    vec![
        AuthError::Missing,
        AuthError::Oversized { length: 20_000, limit: 16_384 },
        AuthError::Malformed,
        AuthError::Algorithm("HS256".into()),
        AuthError::NoKeyId,
        AuthError::UnknownIssuer("https://evil.example.com".into()),
        AuthError::UnknownKey("k".into()),
        AuthError::Signature,
        AuthError::Expired,
        AuthError::NotYetValid,
        AuthError::Audience,
        AuthError::MissingClaim("tid".into()),
        AuthError::TenantMismatch("t".into()),
        AuthError::InsufficientScope {
            scopes: SCOPE.into(),
            roles: ROLE.into(),
            ingest_scopes: String::new(),
            ingest_roles: INGEST_ROLE.into(),
        },
        AuthError::ClientNotAllowed("c".into()),
        AuthError::UnknownTenant("t".into()),
        AuthError::NoReadAccess { scopes: SCOPE.into(), roles: ROLE.into() },
        AuthError::NoIngestAccess { scopes: String::new(), roles: INGEST_ROLE.into() },
        AuthError::KeysUnavailable,
    ]
}

#[test]
fn errors_are_answered_with_sign_in_forbidden_or_unavailable() {
    for error in every_error() {
        let expected = match error {
            AuthError::InsufficientScope { .. }
            | AuthError::ClientNotAllowed(_)
            | AuthError::UnknownTenant(_)
            | AuthError::NoReadAccess { .. }
            | AuthError::NoIngestAccess { .. } => Rejection::Forbidden,
            AuthError::KeysUnavailable => Rejection::Unavailable,
            _ => Rejection::SignIn,
        };
        assert_eq!(error.rejection(), expected, "{error:?}");
    }
}

#[test]
fn every_error_has_a_distinct_code_in_the_group_of_its_rejection() {
    let errors = every_error();
    let codes: HashSet<&str> = errors.iter().map(AuthError::code).collect();
    assert_eq!(codes.len(), errors.len(), "{codes:?}");
    for error in &errors {
        let code = error.code();
        let number: u32 = code.strip_prefix("AUTH").and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("{code}"));
        let group = match error.rejection() {
            Rejection::SignIn => 401..430,
            Rejection::Forbidden => 430..450,
            Rejection::Unavailable => 450..500,
        };
        assert!(group.contains(&number), "{error:?} has {code}");
        assert!(!error.to_string().is_empty());
    }
}

// ---------------------------------------------------------------------------------------------
// Remote keys, from an identity provider on 127.0.0.1

/// What the test identity provider serves and how often it was asked.
struct ProviderState {
    jwks: Mutex<Value>,
    discovery_requests: AtomicUsize,
    jwks_requests: AtomicUsize,
    /// How long each answer takes (to let concurrent lookups pile up).
    delay: Duration,
    /// When set, every request is answered 503.
    down: AtomicBool,
}

/// A tiny HTTP/1.1 server on 127.0.0.1: the discovery document at
/// `/.well-known/openid-configuration`, pointing to the JWKS at `/keys`.
struct Provider {
    addr: SocketAddr,
    state: Arc<ProviderState>,
    task: tokio::task::JoinHandle<()>,
}

impl Provider {
    async fn start(keys: &[&SigningKey], delay: Duration) -> Provider {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(ProviderState {
            jwks: Mutex::new(json!({"keys": keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>()})),
            discovery_requests: AtomicUsize::new(0),
            jwks_requests: AtomicUsize::new(0),
            delay,
            down: AtomicBool::new(false),
        });
        let shared = state.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(answer(stream, addr, shared.clone()));
            }
        });
        Provider { addr, state, task }
    }

    fn discovery_url(&self) -> String {
        format!("http://{}/.well-known/openid-configuration", self.addr)
    }

    fn publish(&self, key: &SigningKey) {
        self.state.jwks.lock().unwrap()["keys"].as_array_mut().unwrap().push(key.jwk.clone());
    }

    /// (discovery documents, key sets) served so far.
    fn requests(&self) -> (usize, usize) {
        (self.state.discovery_requests.load(Ordering::SeqCst), self.state.jwks_requests.load(Ordering::SeqCst))
    }

    /// From now on every request is answered 503 (still counted).
    fn go_down(&self) {
        self.state.down.store(true, Ordering::SeqCst);
    }

    /// Stops listening. (Its port may then go to another test's provider: tests that need
    /// refused connections use `refusing_address`.)
    async fn stop(self) {
        self.task.abort();
        let _ = self.task.await;
    }
}

/// Reads one request and answers it; every connection carries one request.
async fn answer(stream: tokio::net::TcpStream, addr: SocketAddr, state: Arc<ProviderState>) {
    let mut request = Vec::new();
    let mut buffer = [0u8; 4096];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        if stream.readable().await.is_err() {
            return;
        }
        match stream.try_read(&mut buffer) {
            Ok(0) => return,
            Ok(n) => request.extend_from_slice(&buffer[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(_) => return,
        }
    }
    let request = String::from_utf8_lossy(&request);
    let path = request.split_whitespace().nth(1).unwrap_or_default().to_owned();
    let counter = match path.as_str() {
        "/.well-known/openid-configuration" => Some(&state.discovery_requests),
        "/keys" => Some(&state.jwks_requests),
        _ => None,
    };
    if let Some(counter) = counter {
        counter.fetch_add(1, Ordering::SeqCst);
    }
    let (status, body) = match path.as_str() {
        _ if state.down.load(Ordering::SeqCst) => ("503 Service Unavailable", "{}".to_owned()),
        "/.well-known/openid-configuration" => {
            ("200 OK", json!({"issuer": OIDC_ISSUER, "jwks_uri": format!("http://{addr}/keys")}).to_string())
        }
        "/keys" => ("200 OK", state.jwks.lock().unwrap().to_string()),
        _ => ("404 Not Found", "{}".to_owned()),
    };
    tokio::time::sleep(state.delay).await;
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut bytes = response.as_bytes();
    while !bytes.is_empty() {
        if stream.writable().await.is_err() {
            return;
        }
        match stream.try_write(bytes) {
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(_) => return,
        }
    }
}

/// Keys from `url`, fetched with a client that ignores any proxy settings.
fn remote(url: String, ttl: Duration, refresh_interval: Duration) -> KeySource {
    let http = reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(5)).build().unwrap();
    KeySource::Remote(RemoteKeys::new(url, http, CachePolicy { ttl, refresh_interval }))
}

/// The algorithm of the key `kid` (a `Key` itself has no `Debug`).
async fn lookup(keys: &KeySource, kid: &str) -> Result<Algorithm, AuthError> {
    keys.key(kid).await.map(|key| key.algorithm)
}

const HOUR: Duration = Duration::from_secs(3600);

#[tokio::test]
async fn concurrent_lookups_of_an_unknown_kid_cause_a_single_fetch() {
    let (rsa, ec) = (SigningKey::rsa("rsa-1"), SigningKey::p256("ec-1"));
    let provider = Provider::start(&[&rsa, &ec], Duration::from_millis(100)).await;
    let keys = remote(provider.discovery_url(), HOUR, Duration::from_secs(60));
    let lookups = (0..16).map(|n| lookup(&keys, ["rsa-1", "ec-1", "made-up"][n % 3]));
    let found = futures_util::future::join_all(lookups).await;
    for (n, result) in found.into_iter().enumerate() {
        let expected = [Ok(Algorithm::RS256), Ok(Algorithm::ES256), Err(AuthError::UnknownKey("made-up".into()))];
        assert_eq!(result, expected[n % 3]);
    }
    assert_eq!(provider.requests(), (1, 1));
    provider.stop().await;
}

#[tokio::test]
async fn lookups_waiting_for_a_fetch_read_its_result_even_without_a_refresh_interval() {
    let key = SigningKey::rsa("rsa-1");
    let provider = Provider::start(&[&key], Duration::from_millis(100)).await;
    let keys = remote(provider.discovery_url(), HOUR, Duration::ZERO);
    let found = futures_util::future::join_all((0..16).map(|_| lookup(&keys, "rsa-1"))).await;
    assert!(found.iter().all(|result| *result == Ok(Algorithm::RS256)), "{found:?}");
    assert_eq!(provider.requests(), (1, 1));
    provider.stop().await;
}

#[tokio::test]
async fn concurrent_lookups_of_a_kid_nobody_publishes_cause_a_single_fetch() {
    let key = SigningKey::rsa("rsa-1");
    let provider = Provider::start(&[&key], Duration::from_millis(100)).await;
    let keys = remote(provider.discovery_url(), HOUR, Duration::from_secs(60));
    let keys = &keys;
    let found = futures_util::future::join_all((0..32).map(|n| async move {
        let kid = format!("forged-{n}");
        (lookup(keys, &kid).await, kid)
    }))
    .await;
    for (result, kid) in found {
        assert_eq!(result, Err(AuthError::UnknownKey(kid)));
    }
    assert_eq!(provider.requests(), (1, 1));
    provider.stop().await;
}

#[tokio::test]
async fn an_unknown_kid_within_the_refresh_interval_causes_no_fetch() {
    let key = SigningKey::rsa("rsa-1");
    let provider = Provider::start(&[&key], Duration::ZERO).await;
    let keys = remote(provider.discovery_url(), HOUR, Duration::from_secs(60));
    assert_eq!(lookup(&keys, "rsa-1").await, Ok(Algorithm::RS256));
    assert_eq!(provider.requests(), (1, 1));
    for kid in ["unknown-1", "unknown-2", "unknown-1"] {
        assert_eq!(lookup(&keys, kid).await, Err(AuthError::UnknownKey(kid.to_owned())));
    }
    // Even a key published meanwhile waits for the interval.
    let new = SigningKey::p256("ec-2");
    provider.publish(&new);
    assert_eq!(lookup(&keys, "ec-2").await, Err(AuthError::UnknownKey("ec-2".to_owned())));
    assert_eq!(lookup(&keys, "rsa-1").await, Ok(Algorithm::RS256));
    assert_eq!(provider.requests(), (1, 1));
    provider.stop().await;
}

#[tokio::test]
async fn a_key_added_to_the_jwks_is_found_once_the_refresh_interval_has_passed() {
    let key = SigningKey::rsa("rsa-1");
    let provider = Provider::start(&[&key], Duration::ZERO).await;
    let interval = Duration::from_millis(250);
    let keys = remote(provider.discovery_url(), HOUR, interval);
    let rotated = SigningKey::p256("ec-2");
    let started = Instant::now();
    assert_eq!(lookup(&keys, "rsa-1").await, Ok(Algorithm::RS256));
    provider.publish(&rotated);
    let early = lookup(&keys, "ec-2").await;
    // Within the interval the new key is not looked for (checked only when this machine was
    // quick enough to ask again within it; the test above checks it with a long interval).
    if started.elapsed() < interval {
        assert_eq!(early, Err(AuthError::UnknownKey("ec-2".to_owned())));
        assert_eq!(provider.requests(), (1, 1));
    }
    tokio::time::sleep(interval + Duration::from_millis(20)).await;
    assert_eq!(lookup(&keys, "ec-2").await, Ok(Algorithm::ES256));
    assert_eq!(provider.requests(), (2, 2));
    // A known key is read from the cache.
    tokio::time::sleep(interval + Duration::from_millis(20)).await;
    assert_eq!(lookup(&keys, "rsa-1").await, Ok(Algorithm::RS256));
    assert_eq!(provider.requests(), (2, 2));
    provider.stop().await;
}

#[tokio::test]
async fn keys_are_fetched_again_once_their_time_to_live_has_passed() {
    let key = SigningKey::rsa("rsa-1");
    let provider = Provider::start(&[&key], Duration::ZERO).await;
    let ttl = Duration::from_millis(250);
    let keys = remote(provider.discovery_url(), ttl, Duration::from_millis(10));
    assert_eq!(lookup(&keys, "rsa-1").await, Ok(Algorithm::RS256));
    let fetched = Instant::now();
    assert_eq!(lookup(&keys, "rsa-1").await, Ok(Algorithm::RS256));
    // Within the time-to-live the cache answers (checked when this machine was quick enough).
    let quick = fetched.elapsed() < ttl;
    if quick {
        assert_eq!(provider.requests(), (1, 1));
    }
    tokio::time::sleep(ttl + Duration::from_millis(20)).await;
    assert_eq!(lookup(&keys, "rsa-1").await, Ok(Algorithm::RS256));
    let (discovery, jwks) = provider.requests();
    assert!(discovery == jwks && discovery >= 2, "fetched again: {discovery}, {jwks}");
    if quick {
        assert_eq!((discovery, jwks), (2, 2));
    }
    provider.stop().await;
}

#[tokio::test]
async fn keys_past_their_time_to_live_are_used_while_the_provider_is_down() {
    let key = SigningKey::rsa("rsa-1");
    let provider = Provider::start(&[&key], Duration::ZERO).await;
    let ttl = Duration::from_millis(50);
    let keys = remote(provider.discovery_url(), ttl, Duration::from_millis(10));
    assert_eq!(lookup(&keys, "rsa-1").await, Ok(Algorithm::RS256));
    provider.go_down();
    tokio::time::sleep(ttl + Duration::from_millis(20)).await;
    assert_eq!(lookup(&keys, "rsa-1").await, Ok(Algorithm::RS256));
    assert_eq!(provider.requests(), (2, 1), "the stale keys were used after a failed fetch");
    assert_eq!(lookup(&keys, "other").await, Err(AuthError::UnknownKey("other".to_owned())));
    provider.stop().await;
}

#[tokio::test]
async fn keys_are_unavailable_when_the_provider_is_down_and_nothing_is_cached() {
    // A port that is bound but not listening: connections to it are refused, and while the
    // socket lives no other test's provider can be given the port.
    let reserved = tokio::net::TcpSocket::new_v4().unwrap();
    reserved.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let url = format!("http://{}/.well-known/openid-configuration", reserved.local_addr().unwrap());
    let keys = remote(url, HOUR, Duration::from_secs(60));
    // The first lookup tries and fails; the next, within the refresh interval, does not try.
    assert_eq!(lookup(&keys, "rsa-1").await, Err(AuthError::KeysUnavailable));
    assert_eq!(lookup(&keys, "rsa-1").await, Err(AuthError::KeysUnavailable));
    assert_eq!(AuthError::KeysUnavailable.rejection(), Rejection::Unavailable);

    // A provider that answers, but only with errors, is down as well.
    let provider = Provider::start(&[], Duration::ZERO).await;
    provider.go_down();
    let keys = remote(provider.discovery_url(), HOUR, Duration::from_secs(60));
    assert_eq!(lookup(&keys, "rsa-1").await, Err(AuthError::KeysUnavailable));
    assert_eq!(lookup(&keys, "rsa-1").await, Err(AuthError::KeysUnavailable));
    assert_eq!(provider.requests(), (1, 0));
    provider.stop().await;
}

#[tokio::test]
async fn keys_are_unavailable_when_the_provider_answers_with_an_error_or_no_key_set() {
    let provider = Provider::start(&[], Duration::ZERO).await;
    // A discovery document that is not there.
    let keys = remote(format!("http://{}/missing", provider.addr), HOUR, Duration::from_secs(60));
    assert_eq!(lookup(&keys, "rsa-1").await, Err(AuthError::KeysUnavailable));
    // The JWKS itself served as the discovery document: it names no jwks_uri.
    let keys = remote(format!("http://{}/keys", provider.addr), HOUR, Duration::from_secs(60));
    assert_eq!(lookup(&keys, "rsa-1").await, Err(AuthError::KeysUnavailable));
    // An empty key set is a successful fetch: the kid is unknown, not the keys unavailable.
    let keys = remote(provider.discovery_url(), HOUR, Duration::from_secs(60));
    assert_eq!(lookup(&keys, "rsa-1").await, Err(AuthError::UnknownKey("rsa-1".to_owned())));
    provider.stop().await;
}

#[tokio::test]
async fn a_token_is_verified_with_a_key_fetched_through_the_discovery_document() {
    let key = SigningKey::rsa("rsa-1");
    let provider = Provider::start(&[&key], Duration::ZERO).await;
    let issuer = Issuer { keys: remote(provider.discovery_url(), HOUR, Duration::from_secs(60)), ..entra(&[]) };
    let auth = authenticator([issuer]);
    assert_eq!(check(&auth, &key.sign(&v1_claims())).await, Ok(alice()));
    assert_eq!(check(&auth, &key.sign(&v2_claims())).await, Ok(alice()));
    assert_eq!(provider.requests(), (1, 1));
    // A token for an unknown issuer never reaches the provider.
    let stranger = with(v1_claims(), "iss", json!("https://evil.example.com/"));
    let forged = SigningKey::other_rsa("forged");
    assert!(check(&auth, &forged.sign(&stranger)).await.is_err());
    assert_eq!(provider.requests(), (1, 1));
    provider.stop().await;
}

#[test]
fn a_refusal_names_only_the_kinds_of_grant_the_issuer_lists() {
    let refused = AuthError::NoIngestAccess { scopes: String::new(), roles: "Feed.Ingest".into() };
    assert_eq!(
        refused.to_string(),
        "the access token does not grant ingestion; it needs one of the app roles (Feed.Ingest)"
    );
    let refused = AuthError::NoReadAccess { scopes: "user_impersonation".into(), roles: String::new() };
    assert_eq!(
        refused.to_string(),
        "the access token grants ingestion only; reading the feed needs one of the scopes (user_impersonation)"
    );
}
