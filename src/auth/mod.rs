//! Sign-in: who is calling, from which organization, and which tenant of the feed that is.
//! A request's `Authorization: Bearer` token is validated against the configured issuers
//! (`config`), with keys from their published key sets (`keys`), by the checks in `token`;
//! the result is a `Caller` naming the feed tenant every statement of the request is scoped
//! to, and its `Access`: whether it may read the feed, ingest data, or both. Reading and
//! ingesting are separate grants (`scopes`/`roles` and `ingest_scopes`/`ingest_roles`), so a
//! read token never writes. `dev` is a built-in issuer for development and the demo, enabled
//! only on request.
//!
//! Invariants: only asymmetric signatures (RS256, ES256) are accepted; an issuer's tenant must
//! be mapped to a feed tenant explicitly; the token itself is never logged or stored.

pub mod config;
pub mod dev;
mod error;
pub mod keys;
#[cfg(test)]
mod tests;
mod token;

pub use config::{AuthConfig, IssuerConfig, IssuerKind};
pub use error::{AuthError, Rejection};

use keys::{CachePolicy, KeySource, RemoteKeys};
use std::collections::BTreeMap;
use std::time::Duration;

/// The authenticated caller of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The feed tenant whose rows the request may read.
    pub tenant: String,
    /// The identity provider's tenant (`tid`, or the configured claim).
    pub tid: String,
    /// The user or application (`oid`, else `sub`).
    pub oid: String,
    /// The client application (`appid` or `azp`), when the token names it.
    pub client: Option<String>,
    /// True for app-only tokens (client credentials: roles, no delegated scope).
    pub app_only: bool,
    /// What the token allows.
    pub access: Access,
}

/// What a caller's token allows it to do with its feed tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Access {
    /// Read the feed: the token holds one of the issuer's `scopes` or `roles`, or the issuer
    /// requires none.
    pub read: bool,
    /// Write (ingest) data: the token holds one of the issuer's `ingest_scopes` or
    /// `ingest_roles`. Never granted by an issuer that lists neither.
    pub ingest: bool,
}

impl Access {
    /// Whether this access covers `need`.
    pub fn allows(self, need: Need) -> bool {
        match need {
            Need::Read => self.read,
            Need::Ingest => self.ingest,
        }
    }
}

/// What a request needs its caller's token to grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Reading the feed (every URL under `/odata`).
    Read,
    /// Writing data into the feed (`POST /ingest/{EntitySet}`).
    Ingest,
}

/// How an identity provider's tenant becomes a feed tenant.
#[derive(Debug, Clone)]
pub enum TenantMap {
    /// Only the listed tenants, each to its feed tenant.
    Listed(BTreeMap<String, String>),
    /// The claim names the feed tenant itself (the development issuer).
    SameName,
}

/// One trusted issuer, ready to check tokens.
pub struct Issuer {
    pub kind: IssuerKind,
    /// The exact `iss` of an OIDC issuer.
    pub issuer: Option<String>,
    pub audiences: Vec<String>,
    /// Delegated scopes that grant reading (none: every valid token reads).
    pub scopes: Vec<String>,
    /// App roles that grant reading.
    pub roles: Vec<String>,
    /// Delegated scopes that grant ingestion (with `ingest_roles` empty: nobody ingests).
    pub ingest_scopes: Vec<String>,
    /// App roles that grant ingestion.
    pub ingest_roles: Vec<String>,
    pub clients: Vec<String>,
    pub tenant_claim: String,
    pub tenants: TenantMap,
    pub keys: KeySource,
}

impl Issuer {
    /// An issuer from its configuration, whose keys are fetched with `http`.
    pub fn from_config(config: &IssuerConfig, http: reqwest::Client, policy: CachePolicy) -> Issuer {
        let discovery = config.discovery_url.clone().unwrap_or_else(|| match (&config.kind, &config.issuer) {
            (IssuerKind::Oidc, Some(issuer)) => {
                format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/'))
            }
            _ => config::ENTRA_DISCOVERY.to_owned(),
        });
        Issuer {
            kind: config.kind,
            issuer: config.issuer.clone(),
            audiences: config.audiences.clone(),
            scopes: config.scopes.clone(),
            roles: config.roles.clone(),
            ingest_scopes: config.ingest_scopes.clone(),
            ingest_roles: config.ingest_roles.clone(),
            clients: config.clients.clone(),
            tenant_claim: config.tenant_claim.clone().unwrap_or_else(|| "tid".to_owned()),
            tenants: TenantMap::Listed(config.tenants.clone()),
            keys: KeySource::Remote(RemoteKeys::new(discovery, http, policy)),
        }
    }

    /// Refuses `access` when it does not cover `need`, naming what this issuer would accept.
    pub fn permit(&self, access: Access, need: Need) -> Result<(), AuthError> {
        if access.allows(need) {
            return Ok(());
        }
        Err(match need {
            Need::Read => AuthError::NoReadAccess { scopes: self.scopes.join(", "), roles: self.roles.join(", ") },
            Need::Ingest => {
                AuthError::NoIngestAccess { scopes: self.ingest_scopes.join(", "), roles: self.ingest_roles.join(", ") }
            }
        })
    }
}

/// Validates bearer tokens against the trusted issuers.
pub struct Authenticator {
    issuers: Vec<Issuer>,
    /// The `WWW-Authenticate` value of a 401.
    challenge: String,
    skew: u64,
    max_token_bytes: usize,
}

impl Authenticator {
    /// The issuers of `config`, their keys fetched with `http` when first needed.
    pub fn new(config: &AuthConfig, http: reqwest::Client) -> Authenticator {
        let policy = CachePolicy {
            ttl: Duration::from_secs(config.key_cache_seconds),
            refresh_interval: Duration::from_secs(config.key_refresh_interval_seconds),
        };
        let issuers = config.issuers.iter().map(|i| Issuer::from_config(i, http.clone(), policy)).collect();
        let authority = config.authority.trim_end_matches('/');
        Authenticator {
            issuers,
            challenge: format!("Bearer realm=\"\", authorization_uri=\"{authority}/oauth2/authorize\""),
            skew: config.clock_skew_seconds,
            max_token_bytes: config.max_token_bytes,
        }
    }

    /// Adds an issuer (the development issuer).
    pub fn with_issuer(mut self, issuer: Issuer) -> Authenticator {
        self.issuers.push(issuer);
        self
    }

    /// The `WWW-Authenticate` header value that sends Power Query to sign in.
    pub fn challenge(&self) -> &str {
        &self.challenge
    }

    /// The caller behind an `Authorization` header value (absent when the header is), who must
    /// be allowed to read the feed: `authenticate_for(authorization, Need::Read)`.
    pub async fn authenticate(&self, authorization: Option<&[u8]>) -> Result<Caller, AuthError> {
        self.authenticate_for(authorization, Need::Read).await
    }

    /// The caller behind an `Authorization` header value, whose token must grant `need`: an
    /// ingestion-only token is refused for reading (`AUTH433`), a read token for ingestion
    /// (`AUTH434`). Every other check comes first, so those answers stay as they were.
    pub async fn authenticate_for(&self, authorization: Option<&[u8]>, need: Need) -> Result<Caller, AuthError> {
        let token = token::bearer(authorization)?;
        if token.len() > self.max_token_bytes {
            return Err(AuthError::Oversized { length: token.len(), limit: self.max_token_bytes });
        }
        let (caller, issuer) = token::validate(token, &self.issuers, self.skew).await?;
        issuer.permit(caller.access, need)?;
        Ok(caller)
    }
}

/// An HTTP client for discovery documents and key sets: bounded in time, no cookies.
pub fn http_client() -> anyhow::Result<reqwest::Client> {
    use anyhow::Context;
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .connect_timeout(Duration::from_secs(5))
        .user_agent(concat!("odata-feed/", env!("CARGO_PKG_VERSION")))
        .build()
        .context("cannot build the HTTP client for the identity providers")
}
