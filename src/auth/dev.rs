//! The development issuer: an ES256 key of its own (kept in a file, mode 0600), its JWKS and
//! discovery document (served on the feed's own listener), and tokens minted for a feed
//! tenant (`odata-feed token`): read tokens (`mint`, a user with the delegated scope) and
//! ingest tokens (`mint_ingest`, an application with the app role `Feed.Ingest`), neither
//! of which grants what the other does. It is trusted only when `odata-feed demo` runs or
//! `serve` is given its key file explicitly; its tokens name the feed tenant directly.

use super::keys::{Key, KeySource};
use super::{Issuer, IssuerKind, TenantMap};
use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use jsonwebtoken::jwk::{Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use serde_json::{Value, json};
use sha2::Digest;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The `iss` of development tokens (`.invalid`: it names no real host).
pub const DEV_ISSUER: &str = "https://dev-issuer.odata-feed.invalid";
/// The `aud` of development tokens.
pub const DEV_AUDIENCE: &str = "odata-feed-dev";
/// The delegated scope development read tokens carry, as Power BI's tokens do.
pub const DEV_SCOPE: &str = "user_impersonation";
/// The app role development ingest tokens carry: it grants ingestion, not reading.
pub const DEV_INGEST_ROLE: &str = "Feed.Ingest";
/// The key's file name in a data directory (`demo` keeps it beside its private cluster).
pub const KEY_FILE: &str = "dev-issuer.pem";
/// Where the development issuer's documents are served, under the feed's root.
pub const DEV_PATH: &str = "/dev-issuer";

/// The development issuer's key pair.
pub struct DevIssuer {
    encoding: EncodingKey,
    decoding: DecodingKey,
    jwk: Jwk,
    kid: String,
}

impl DevIssuer {
    /// A new random key.
    pub fn generate() -> anyhow::Result<DevIssuer> {
        DevIssuer::from_pem(&generate_pem()?)
    }

    /// The key in `path`, created (mode 0600) when the file does not exist yet. Processes
    /// starting together agree on one key: it is written aside and linked into place, and
    /// whoever links second reads the first one's key.
    pub fn load_or_create(path: &Path) -> anyhow::Result<DevIssuer> {
        if !path.exists() {
            use std::io::Write;
            use std::os::unix::fs::OpenOptionsExt;
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
            }
            let aside = path.with_extension(format!("tmp-{}", std::process::id()));
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&aside)
                .with_context(|| format!("cannot create {}", aside.display()))?;
            file.write_all(generate_pem()?.as_bytes()).with_context(|| format!("cannot write {}", aside.display()))?;
            drop(file);
            let linked = std::fs::hard_link(&aside, path);
            let _ = std::fs::remove_file(&aside);
            match linked {
                Ok(()) => {}
                Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(error) => return Err(error).with_context(|| format!("cannot create {}", path.display())),
            }
        }
        DevIssuer::load(path)
    }

    /// The key in `path`.
    pub fn load(path: &Path) -> anyhow::Result<DevIssuer> {
        let pem = std::fs::read_to_string(path).with_context(|| {
            format!("cannot read the development issuer's key {} (`odata-feed demo` creates it)", path.display())
        })?;
        DevIssuer::from_pem(&pem).with_context(|| format!("{} holds no usable P-256 key", path.display()))
    }

    /// A PKCS#8 P-256 private key in PEM.
    pub fn from_pem(pem: &str) -> anyhow::Result<DevIssuer> {
        let encoding = EncodingKey::from_ec_pem(pem.as_bytes()).context("not an EC private key in PEM")?;
        let mut jwk = Jwk::from_encoding_key(&encoding, Algorithm::ES256).context("not a P-256 key")?;
        let public = serde_json::to_vec(&jwk).context("the public key cannot be written")?;
        let kid = hex(&sha2::Sha256::digest(&public)[..8]);
        jwk.common.key_id = Some(kid.clone());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        let decoding = DecodingKey::from_jwk(&jwk).context("the public key cannot be read back")?;
        Ok(DevIssuer { encoding, decoding, jwk, kid })
    }

    /// The trusted issuer: its own key, the development audience, tenants by their own name;
    /// `DEV_SCOPE` grants reading and `DEV_INGEST_ROLE` ingestion.
    pub fn issuer(&self) -> Issuer {
        let key = Key { decoding: self.decoding.clone(), algorithm: Algorithm::ES256 };
        Issuer {
            kind: IssuerKind::Oidc,
            issuer: Some(DEV_ISSUER.to_owned()),
            audiences: vec![DEV_AUDIENCE.to_owned()],
            scopes: vec![DEV_SCOPE.to_owned()],
            roles: Vec::new(),
            ingest_scopes: Vec::new(),
            ingest_roles: vec![DEV_INGEST_ROLE.to_owned()],
            clients: Vec::new(),
            tenant_claim: "tid".to_owned(),
            tenants: TenantMap::SameName,
            keys: KeySource::Fixed(HashMap::from([(self.kid.clone(), Arc::new(key))])),
        }
    }

    /// The JWKS document.
    pub fn jwks(&self) -> Value {
        json!({ "keys": [self.jwk] })
    }

    /// The OpenID discovery document, its key set served under `root` + `DEV_PATH`.
    pub fn discovery(&self, root: &str) -> Value {
        json!({
            "issuer": DEV_ISSUER,
            "jwks_uri": format!("{root}{DEV_PATH}/keys"),
            "id_token_signing_alg_values_supported": ["ES256"],
            "response_types_supported": ["token"],
            "subject_types_supported": ["public"],
        })
    }

    /// A signed access token for `tenant` and `user`, valid for `lifetime` from now: it reads
    /// the feed (delegated scope `DEV_SCOPE`) and cannot ingest.
    pub fn mint(&self, tenant: &str, user: &str, lifetime: Duration) -> anyhow::Result<String> {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).context("the clock is before 1970")?.as_secs();
        let claims = json!({
            "iss": DEV_ISSUER,
            "aud": DEV_AUDIENCE,
            "tid": tenant,
            "oid": user,
            "sub": user,
            "scp": DEV_SCOPE,
            "iat": now,
            "nbf": now,
            "exp": now + lifetime.as_secs(),
        });
        self.sign(&claims)
    }

    /// A signed app-only access token (client credentials, no user) of the client application
    /// `client_name` for `tenant`, valid for `lifetime` from now: it ingests data (app role
    /// `DEV_INGEST_ROLE`, no delegated scope) and cannot read the feed.
    pub fn mint_ingest(&self, tenant: &str, client_name: &str, lifetime: Duration) -> anyhow::Result<String> {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).context("the clock is before 1970")?.as_secs();
        let claims = json!({
            "iss": DEV_ISSUER,
            "aud": DEV_AUDIENCE,
            "tid": tenant,
            "oid": client_name,
            "sub": client_name,
            "azp": client_name,
            "roles": [DEV_INGEST_ROLE],
            "iat": now,
            "nbf": now,
            "exp": now + lifetime.as_secs(),
        });
        self.sign(&claims)
    }

    fn sign(&self, claims: &Value) -> anyhow::Result<String> {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding).context("the token cannot be signed")
    }
}

fn generate_pem() -> anyhow::Result<String> {
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
    let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
        .map_err(|_| anyhow::anyhow!("cannot generate a P-256 key"))?;
    let der = pair.to_pkcs8v1().map_err(|_| anyhow::anyhow!("cannot encode the P-256 key"))?;
    let body = STANDARD.encode(der.as_ref());
    let lines: Vec<&str> =
        body.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).expect("base64 is ASCII")).collect();
    Ok(format!("-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n", lines.join("\n")))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
