//! Why a request's credentials were not accepted. Codes `AUTH4xx`; the HTTP layer answers 401
//! with the sign-in challenge for the first group (`AUTH401`–`AUTH429`), 403 for the second
//! (`AUTH430`–`AUTH449`: valid, but not entitled, e.g. a read token that asks to ingest), 503
//! when the identity provider's keys cannot be had (`AUTH450`–).

/// A token that was missing, not valid, or valid but not entitled to the feed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    /// No `Authorization: Bearer <token>` header, or an empty one (Power Query's probe).
    #[error("this feed needs an organizational account: send an `Authorization: Bearer` access token")]
    Missing,
    /// The token is longer than any access token the service accepts.
    #[error("the access token is {length} bytes long; this service accepts up to {limit}")]
    Oversized { length: usize, limit: usize },
    /// Not three base64url parts with a JSON header and payload.
    #[error("the access token is not a well-formed JWT")]
    Malformed,
    /// `alg` is not RS256 or ES256 (`none` and HMAC are never accepted).
    #[error("the access token is signed with `{0}`; only RS256 and ES256 are accepted")]
    Algorithm(String),
    /// The token names no `kid`.
    #[error("the access token's header names no signing key (`kid`)")]
    NoKeyId,
    /// `iss` is not one of the configured issuers.
    #[error("tokens issued by `{0}` are not accepted here")]
    UnknownIssuer(String),
    /// The issuer publishes no key with this `kid`, even after fetching its keys again.
    #[error("the issuer publishes no signing key `{0}`")]
    UnknownKey(String),
    /// The signature does not verify, or the key does not fit the algorithm.
    #[error("the access token's signature is not valid")]
    Signature,
    /// `exp` has passed (beyond the allowed clock skew).
    #[error("the access token has expired; sign in again")]
    Expired,
    /// `nbf` lies in the future (beyond the allowed clock skew).
    #[error("the access token is not valid yet")]
    NotYetValid,
    /// `aud` names none of the audiences this feed is registered as.
    #[error("the access token was issued for another audience")]
    Audience,
    /// A required claim (`exp`, `iss`, `aud`, the tenant or the user) is missing or mistyped.
    #[error("the access token lacks the claim `{0}`")]
    MissingClaim(String),
    /// The tenant in `iss` differs from the token's `tid`, or `tid` is not a GUID.
    #[error("the access token's issuer does not belong to its tenant `{0}`")]
    TenantMismatch(String),
    /// The token carries none of the delegated scopes or app roles that grant reading, nor any
    /// that grants ingestion (those named only when the issuer has some).
    #[error(
        "the access token grants none of the scopes ({scopes}) or app roles ({roles}) this feed requires{}",
        ingest_options(.ingest_scopes, .ingest_roles)
    )]
    InsufficientScope { scopes: String, roles: String, ingest_scopes: String, ingest_roles: String },
    /// The token grants ingestion but not reading, and the request reads.
    #[error("the access token grants ingestion only; reading the feed needs {}", one_of(.scopes, .roles))]
    NoReadAccess { scopes: String, roles: String },
    /// The token grants reading but not ingestion, and the request ingests.
    #[error("the access token does not grant ingestion; {}", ingest_needs(.scopes, .roles))]
    NoIngestAccess { scopes: String, roles: String },
    /// The client application (`appid`/`azp`) is not on the configured allow-list.
    #[error("the client application `{0}` may not use this feed")]
    ClientNotAllowed(String),
    /// The identity provider's tenant is not mapped to any tenant of the feed.
    #[error("the organization `{0}` has no access to this feed; ask the feed's operator to add it")]
    UnknownTenant(String),
    /// The issuer's signing keys could not be fetched and none are cached.
    #[error("the identity provider's signing keys cannot be fetched right now; try again shortly")]
    KeysUnavailable,
}

/// How the HTTP layer should answer an `AuthError`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// 401 with the sign-in challenge.
    SignIn,
    /// 403: the caller is known but not entitled.
    Forbidden,
    /// 503: the failure is ours (or the identity provider's), not the caller's.
    Unavailable,
}

impl AuthError {
    /// A stable, machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            AuthError::Missing => "AUTH401",
            AuthError::Oversized { .. } => "AUTH402",
            AuthError::Malformed => "AUTH403",
            AuthError::Algorithm(_) => "AUTH404",
            AuthError::NoKeyId => "AUTH405",
            AuthError::UnknownIssuer(_) => "AUTH406",
            AuthError::UnknownKey(_) => "AUTH407",
            AuthError::Signature => "AUTH408",
            AuthError::Expired => "AUTH409",
            AuthError::NotYetValid => "AUTH410",
            AuthError::Audience => "AUTH411",
            AuthError::MissingClaim(_) => "AUTH412",
            AuthError::TenantMismatch(_) => "AUTH413",
            AuthError::InsufficientScope { .. } => "AUTH430",
            AuthError::ClientNotAllowed(_) => "AUTH431",
            AuthError::UnknownTenant(_) => "AUTH432",
            AuthError::NoReadAccess { .. } => "AUTH433",
            AuthError::NoIngestAccess { .. } => "AUTH434",
            AuthError::KeysUnavailable => "AUTH450",
        }
    }

    /// 401, 403 or 503.
    pub fn rejection(&self) -> Rejection {
        match self {
            AuthError::InsufficientScope { .. }
            | AuthError::ClientNotAllowed(_)
            | AuthError::UnknownTenant(_)
            | AuthError::NoReadAccess { .. }
            | AuthError::NoIngestAccess { .. } => Rejection::Forbidden,
            AuthError::KeysUnavailable => Rejection::Unavailable,
            _ => Rejection::SignIn,
        }
    }
}

/// The end of `InsufficientScope`'s message: the grants that allow ingestion, when there are any.
fn ingest_options(scopes: &str, roles: &str) -> String {
    if scopes.is_empty() && roles.is_empty() {
        String::new()
    } else {
        format!(", nor any of the scopes ({scopes}) or app roles ({roles}) that allow ingestion")
    }
}

/// The end of `NoIngestAccess`'s message: what ingestion needs, or that nothing grants it.
fn ingest_needs(scopes: &str, roles: &str) -> String {
    if scopes.is_empty() && roles.is_empty() {
        "no scope or app role grants ingestion here (the issuer lists no `ingest_scopes` or `ingest_roles`)".to_owned()
    } else {
        format!("it needs {}", one_of(scopes, roles))
    }
}

/// "one of the scopes (…) or app roles (…)", naming only the lists that have entries.
fn one_of(scopes: &str, roles: &str) -> String {
    match (scopes.is_empty(), roles.is_empty()) {
        (false, false) => format!("one of the scopes ({scopes}) or app roles ({roles})"),
        (false, true) => format!("one of the scopes ({scopes})"),
        (true, false) => format!("one of the app roles ({roles})"),
        (true, true) => "a scope or app role, and none is configured".to_owned(),
    }
}
