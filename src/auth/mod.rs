//! Sign-in: who is calling, from which organization, and which tenant of the feed that is.
//! A request's `Authorization: Bearer` token is validated against the configured issuers
//! (`config`), with keys from their published key sets (`keys`), by the checks in `token`;
//! the result is a `Caller` naming the feed tenant every statement of the request is scoped
//! to. `dev` is a built-in issuer for development and the demo, enabled only on request.
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
    pub scopes: Vec<String>,
    pub roles: Vec<String>,
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
            clients: config.clients.clone(),
            tenant_claim: config.tenant_claim.clone().unwrap_or_else(|| "tid".to_owned()),
            tenants: TenantMap::Listed(config.tenants.clone()),
            keys: KeySource::Remote(RemoteKeys::new(discovery, http, policy)),
        }
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

    /// The caller behind an `Authorization` header value (absent when the header is).
    pub async fn authenticate(&self, authorization: Option<&[u8]>) -> Result<Caller, AuthError> {
        let token = token::bearer(authorization)?;
        if token.len() > self.max_token_bytes {
            return Err(AuthError::Oversized { length: token.len(), limit: self.max_token_bytes });
        }
        token::validate(token, &self.issuers, self.skew).await
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
