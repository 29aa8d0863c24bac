//! Signing keys of one issuer: fetched from the JWKS that its OpenID discovery document names,
//! cached for a time-to-live, and fetched again early when a token names an unknown `kid`
//! (one fetch at a time, and at most once per refresh interval, so a flood of made-up `kid`s
//! cannot turn into a flood of requests to the identity provider).

use super::AuthError;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// The largest discovery document or JWKS read.
const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;

/// A verification key and the one algorithm it verifies.
pub struct Key {
    pub decoding: DecodingKey,
    pub algorithm: Algorithm,
}

/// Where an issuer's keys come from.
pub enum KeySource {
    /// Keys known in advance (the built-in development issuer).
    Fixed(HashMap<String, Arc<Key>>),
    /// Keys from a JWKS found through a discovery document.
    Remote(RemoteKeys),
}

impl KeySource {
    /// The key named `kid`, fetching the key set first when needed.
    pub async fn key(&self, kid: &str) -> Result<Arc<Key>, AuthError> {
        match self {
            KeySource::Fixed(keys) => keys.get(kid).cloned().ok_or_else(|| AuthError::UnknownKey(kid.to_owned())),
            KeySource::Remote(remote) => remote.key(kid).await,
        }
    }
}

/// Timing of the remote key cache.
#[derive(Debug, Clone, Copy)]
pub struct CachePolicy {
    /// How long a fetched key set is used.
    pub ttl: Duration,
    /// The shortest interval between fetches prompted by an unknown `kid`.
    pub refresh_interval: Duration,
}

/// The cached JWKS of one discovery document.
pub struct RemoteKeys {
    discovery_url: String,
    http: reqwest::Client,
    policy: CachePolicy,
    cache: RwLock<Cache>,
    /// Held while fetching: one fetch at a time; the others wait and then read its result.
    fetching: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct Cache {
    keys: HashMap<String, Arc<Key>>,
    /// When the current keys were fetched.
    fetched: Option<Instant>,
    /// When the last fetch (successful or not) started.
    attempted: Option<Instant>,
}

impl RemoteKeys {
    pub fn new(discovery_url: String, http: reqwest::Client, policy: CachePolicy) -> RemoteKeys {
        RemoteKeys {
            discovery_url,
            http,
            policy,
            cache: RwLock::new(Cache::default()),
            fetching: tokio::sync::Mutex::new(()),
        }
    }

    async fn key(&self, kid: &str) -> Result<Arc<Key>, AuthError> {
        if let Some(key) = self.cached(kid, true) {
            return Ok(key);
        }
        let _one_at_a_time = self.fetching.lock().await;
        // Whoever held the lock before may have fetched what we need.
        if let Some(key) = self.cached(kid, true) {
            return Ok(key);
        }
        let (stale, recently_tried) = {
            let cache = self.cache.read().expect("the key cache is never poisoned");
            let stale = cache.fetched.is_none_or(|at| at.elapsed() >= self.policy.ttl);
            let recently_tried = cache.attempted.is_some_and(|at| at.elapsed() < self.policy.refresh_interval);
            (stale, recently_tried)
        };
        if !recently_tried {
            self.cache.write().expect("the key cache is never poisoned").attempted = Some(Instant::now());
            match self.fetch().await {
                Ok(keys) => {
                    let mut cache = self.cache.write().expect("the key cache is never poisoned");
                    tracing::info!(discovery = %self.discovery_url, keys = keys.len(), "signing keys fetched");
                    cache.keys = keys;
                    cache.fetched = Some(Instant::now());
                }
                Err(error) => {
                    tracing::warn!(discovery = %self.discovery_url, error = format!("{error:#}"), "signing keys could not be fetched");
                    let cache = self.cache.read().expect("the key cache is never poisoned");
                    if cache.keys.is_empty() {
                        return Err(AuthError::KeysUnavailable);
                    }
                }
            }
        } else if stale && self.cache.read().expect("the key cache is never poisoned").keys.is_empty() {
            return Err(AuthError::KeysUnavailable);
        }
        // Keys past their time-to-live are still better than none while the provider is down.
        self.cached(kid, false).ok_or_else(|| AuthError::UnknownKey(kid.to_owned()))
    }

    /// The cached key `kid`; with `fresh_only`, only within the time-to-live.
    fn cached(&self, kid: &str, fresh_only: bool) -> Option<Arc<Key>> {
        let cache = self.cache.read().expect("the key cache is never poisoned");
        let fresh = cache.fetched.is_some_and(|at| at.elapsed() < self.policy.ttl);
        if fresh_only && !fresh {
            return None;
        }
        cache.keys.get(kid).cloned()
    }

    /// Discovery document → `jwks_uri` → the usable keys.
    async fn fetch(&self) -> anyhow::Result<HashMap<String, Arc<Key>>> {
        use anyhow::Context;
        let discovery = self.get_json(&self.discovery_url).await.context("the discovery document")?;
        let jwks_uri = discovery["jwks_uri"].as_str().context("the discovery document names no jwks_uri")?;
        let jwks = self.get_json(jwks_uri).await.context("the JWKS")?;
        let listed = jwks["keys"].as_array().context("the JWKS has no `keys` array")?;
        Ok(listed.iter().filter_map(usable_key).collect())
    }

    async fn get_json(&self, url: &str) -> anyhow::Result<serde_json::Value> {
        use anyhow::Context;
        let mut response = self.http.get(url).send().await.with_context(|| format!("GET {url}"))?;
        anyhow::ensure!(response.status().is_success(), "GET {url} answered {}", response.status());
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.with_context(|| format!("reading {url}"))? {
            body.extend_from_slice(&chunk);
            anyhow::ensure!(body.len() <= MAX_DOCUMENT_BYTES, "{url} is larger than {MAX_DOCUMENT_BYTES} bytes");
        }
        serde_json::from_slice(&body).with_context(|| format!("{url} is not JSON"))
    }
}

/// A JWKS entry as `(kid, key)` when it is an RSA or P-256 signing key; others are skipped.
pub fn usable_key(entry: &serde_json::Value) -> Option<(String, Arc<Key>)> {
    let jwk: Jwk = serde_json::from_value(entry.clone()).ok()?;
    let kid = jwk.common.key_id.clone()?;
    if matches!(jwk.common.public_key_use, Some(ref u) if *u != PublicKeyUse::Signature) {
        return None;
    }
    let algorithm = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => Algorithm::RS256,
        AlgorithmParameters::EllipticCurve(ec) if ec.curve == EllipticCurve::P256 => Algorithm::ES256,
        _ => return None,
    };
    // A key that declares another algorithm (RS384, say) is not used for this one.
    if let Some(declared) = entry.get("alg").and_then(serde_json::Value::as_str)
        && declared != format!("{algorithm:?}")
    {
        return None;
    }
    let decoding = DecodingKey::from_jwk(&jwk).ok()?;
    Some((kid, Arc::new(Key { decoding, algorithm })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_rsa_and_p256_signing_keys_are_used() {
        let rsa = json!({"kty": "RSA", "use": "sig", "kid": "r", "n": "sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw", "e": "AQAB"});
        let rs384 = json!({"kty": "RSA", "alg": "RS384", "kid": "r384", "n": rsa["n"], "e": "AQAB"});
        let encryption = json!({"kty": "RSA", "use": "enc", "kid": "e", "n": rsa["n"], "e": "AQAB"});
        let hmac = json!({"kty": "oct", "kid": "h", "k": "c2VjcmV0"});
        let no_kid = json!({"kty": "RSA", "n": rsa["n"], "e": "AQAB"});
        assert_eq!(usable_key(&rsa).map(|(kid, key)| (kid, key.algorithm)), Some(("r".into(), Algorithm::RS256)));
        for entry in [rs384, encryption, hmac, no_kid, json!({"kty": "nonsense"})] {
            assert!(usable_key(&entry).is_none(), "{entry}");
        }
    }
}
