//! The sign-in configuration an operator writes (TOML, `--auth-config FILE`): the authority
//! Power Query is sent to, and each trusted token issuer with its audiences, the scopes or app
//! roles that grant reading and those that grant ingestion, allowed client applications and
//! tenant mapping. Checked once at start-up.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// Where Power Query signs users in when the configuration names no authority.
pub const DEFAULT_AUTHORITY: &str = "https://login.microsoftonline.com/common";
/// Microsoft Entra ID's multi-tenant discovery document (its keys sign v1 and v2 tokens).
pub const ENTRA_DISCOVERY: &str = "https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration";

/// The whole `[auth]` file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// `https://login.microsoftonline.com/<tenant id or common>`: named in the 401 challenge
    /// as `<authority>/oauth2/authorize`.
    #[serde(default = "default_authority")]
    pub authority: String,
    /// Seconds of tolerance on `exp` and `nbf`.
    #[serde(default = "default_skew")]
    pub clock_skew_seconds: u64,
    /// How long fetched signing keys are used before they are fetched again.
    #[serde(default = "default_key_ttl")]
    pub key_cache_seconds: u64,
    /// The shortest interval between two fetches prompted by an unknown `kid`.
    #[serde(default = "default_refresh_interval")]
    pub key_refresh_interval_seconds: u64,
    /// The longest token accepted, in bytes.
    #[serde(default = "default_max_token")]
    pub max_token_bytes: usize,
    /// The trusted issuers (`[[issuer]]` tables).
    #[serde(rename = "issuer", default)]
    pub issuers: Vec<IssuerConfig>,
}

/// What kind of identity provider an issuer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IssuerKind {
    /// Microsoft Entra ID: v1 (`https://sts.windows.net/{tid}/`) and v2
    /// (`https://login.microsoftonline.com/{tid}/v2.0`) tokens, `iss` checked against `tid`.
    Entra,
    /// Any OpenID Connect provider with one fixed issuer URL (Keycloak, Okta, Auth0, ...).
    Oidc,
}

/// One trusted issuer.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerConfig {
    pub kind: IssuerKind,
    /// The exact `iss` of an OIDC issuer (not used for Entra, whose `iss` names the tenant).
    #[serde(default)]
    pub issuer: Option<String>,
    /// The OpenID discovery document naming the JWKS [default: Entra's common document, or
    /// `<issuer>/.well-known/openid-configuration`].
    #[serde(default)]
    pub discovery_url: Option<String>,
    /// Accepted `aud` values: the App ID URI (`https://bi.example.com`, as Power BI requests
    /// it) and the application (client) id.
    pub audiences: Vec<String>,
    /// Delegated scopes that grant reading, one of which `scp` (or `scope`) must hold, e.g.
    /// `user_impersonation`. With `roles` also empty, every valid token reads.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// App roles that grant reading, one of which `roles` must hold (app-only tokens of custom
    /// apps).
    #[serde(default)]
    pub roles: Vec<String>,
    /// Delegated scopes that grant writing (ingesting) data, held in `scp` (or `scope`). Never
    /// one of `scopes`: a read token must not be able to write.
    #[serde(default)]
    pub ingest_scopes: Vec<String>,
    /// App roles that grant writing (ingesting) data, held in `roles`, e.g. `Feed.Ingest` for
    /// an app-only daemon. Never one of `roles`. With `ingest_scopes` also empty, nobody
    /// ingests through this issuer.
    #[serde(default)]
    pub ingest_roles: Vec<String>,
    /// When not empty, only these client applications (`appid` in v1, `azp` in v2) may sign in.
    #[serde(default)]
    pub clients: Vec<String>,
    /// The claim naming the caller's organization [default: `tid`; always `tid` for Entra].
    #[serde(default)]
    pub tenant_claim: Option<String>,
    /// The identity provider's tenant → the feed's tenant id.
    pub tenants: BTreeMap<String, String>,
}

fn default_authority() -> String {
    DEFAULT_AUTHORITY.to_owned()
}
fn default_skew() -> u64 {
    120
}
fn default_key_ttl() -> u64 {
    3600
}
fn default_refresh_interval() -> u64 {
    30
}
fn default_max_token() -> usize {
    16 * 1024
}

impl AuthConfig {
    /// No issuers yet, every setting at its default.
    pub fn empty() -> AuthConfig {
        toml::from_str("").expect("the defaults parse")
    }

    /// Reads and checks a configuration file.
    pub fn load(path: &Path) -> anyhow::Result<AuthConfig> {
        use anyhow::Context;
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        let config: AuthConfig = toml::from_str(&text).with_context(|| format!("{} is not valid", path.display()))?;
        config.check().with_context(|| format!("{} is not valid", path.display()))?;
        Ok(config)
    }

    /// The mistakes that would make sign-in fail or unsafe, found before serving.
    pub fn check(&self) -> anyhow::Result<()> {
        use anyhow::{bail, ensure};
        let authority = self.authority.trim_end_matches('/');
        ensure!(
            authority.starts_with("https://login.microsoftonline.com/") && authority.matches('/').count() == 3,
            "authority must be https://login.microsoftonline.com/<tenant id or common>, not `{}` (Power Query trusts only Microsoft's sign-in)",
            self.authority
        );
        ensure!(self.max_token_bytes >= 1024, "max_token_bytes must be at least 1024");
        ensure!(self.clock_skew_seconds <= 600, "clock_skew_seconds must be at most 600");
        // A token is checked by the one issuer its `iss` names, so two issuers must never
        // claim the same `iss`: one Entra issuer (it lists every audience and tenant) and
        // distinct OIDC issuer URLs.
        let entra = self.issuers.iter().filter(|i| i.kind == IssuerKind::Entra).count();
        ensure!(entra <= 1, "{entra} Entra issuers are configured; list every audience and tenant in one");
        let mut urls: Vec<&str> = self.issuers.iter().filter_map(|i| i.issuer.as_deref()).collect();
        urls.sort_unstable();
        if let Some(pair) = urls.windows(2).find(|pair| pair[0] == pair[1]) {
            bail!("the issuer `{}` is configured twice", pair[0]);
        }
        for (n, issuer) in self.issuers.iter().enumerate() {
            let which = format!("issuer #{}", n + 1);
            ensure!(!issuer.audiences.is_empty(), "{which} names no audiences");
            ensure!(!issuer.tenants.is_empty(), "{which} maps no tenants");
            match issuer.kind {
                IssuerKind::Entra => {
                    if issuer.issuer.is_some() {
                        bail!("{which}: an Entra issuer takes no `issuer`; its tokens name their tenant");
                    }
                    if let Some(claim) = &issuer.tenant_claim
                        && claim != "tid"
                    {
                        bail!("{which}: Entra tokens carry their tenant in `tid`, not `{claim}`");
                    }
                    if let Some(tid) = issuer.tenants.keys().find(|t| !is_guid(t)) {
                        bail!("{which}: `{tid}` is not an Entra tenant id (a GUID)");
                    }
                }
                IssuerKind::Oidc => {
                    let Some(url) = &issuer.issuer else { bail!("{which} (oidc) needs `issuer`") };
                    check_url(url, &which)?;
                }
            }
            if let Some(url) = &issuer.discovery_url {
                check_url(url, &which)?;
            }
            // A grant to read that also granted ingestion would let every reader write.
            if let Some(scope) = issuer.ingest_scopes.iter().find(|s| issuer.scopes.contains(s)) {
                bail!(
                    "{which}: the scope `{scope}` is listed in both `scopes` and `ingest_scopes`; a token that may read must not be able to ingest, so give ingestion a scope of its own"
                );
            }
            if let Some(role) = issuer.ingest_roles.iter().find(|r| issuer.roles.contains(r)) {
                bail!(
                    "{which}: the app role `{role}` is listed in both `roles` and `ingest_roles`; a token that may read must not be able to ingest, so give ingestion a role of its own (e.g. `Feed.Ingest`)"
                );
            }
        }
        Ok(())
    }
}

/// HTTPS, or plain HTTP on a loopback address (a provider on the same machine).
fn check_url(url: &str, which: &str) -> anyhow::Result<()> {
    let loopback = ["http://127.0.0.1:", "http://127.0.0.1/", "http://localhost:", "http://localhost/", "http://[::1]"];
    anyhow::ensure!(
        url.starts_with("https://") || loopback.iter().any(|prefix| url.starts_with(prefix)),
        "{which}: `{url}` must be an https URL (plain http only on loopback)"
    );
    Ok(())
}

/// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` in hexadecimal digits.
pub fn is_guid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups.iter().zip([8, 4, 4, 4, 12]).all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENTRA: &str = r#"
        authority = "https://login.microsoftonline.com/common"
        [[issuer]]
        kind = "entra"
        audiences = ["https://bi.example.com", "11111111-2222-3333-4444-555555555555"]
        scopes = ["user_impersonation"]
        roles = ["Feed.Read"]
        [issuer.tenants]
        "72f988bf-86f1-41af-91ab-2d7cd011db47" = "contoso"
    "#;

    #[test]
    fn an_entra_configuration_with_defaults_is_accepted() {
        let config: AuthConfig = toml::from_str(ENTRA).unwrap();
        config.check().unwrap();
        assert_eq!(config.clock_skew_seconds, 120);
        assert_eq!(config.issuers[0].tenants["72f988bf-86f1-41af-91ab-2d7cd011db47"], "contoso");
    }

    #[test]
    fn an_authority_outside_microsoft_is_refused() {
        let mut config: AuthConfig = toml::from_str(ENTRA).unwrap();
        config.authority = "https://evil.example.com/common".into();
        assert!(config.check().unwrap_err().to_string().contains("login.microsoftonline.com"));
    }

    #[test]
    fn entra_tenants_must_be_guids_and_oidc_issuers_need_an_https_url() {
        let bad = ENTRA.replace("72f988bf-86f1-41af-91ab-2d7cd011db47", "contoso-tenant");
        let config: AuthConfig = toml::from_str(&bad).unwrap();
        assert!(config.check().unwrap_err().to_string().contains("GUID"));
        let oidc = r#"
            [[issuer]]
            kind = "oidc"
            issuer = "http://idp.example.com/realms/bi"
            audiences = ["feed"]
            tenants = { acme = "contoso" }
        "#;
        let config: AuthConfig = toml::from_str(oidc).unwrap();
        assert!(config.check().unwrap_err().to_string().contains("https"));
        let local = oidc.replace("http://idp.example.com", "http://127.0.0.1:8081");
        toml::from_str::<AuthConfig>(&local).unwrap().check().unwrap();
    }

    #[test]
    fn two_issuers_claiming_the_same_tokens_are_refused() {
        let twice = format!("{ENTRA}\n{}", &ENTRA[ENTRA.find("[[issuer]]").unwrap()..]);
        let config: AuthConfig = toml::from_str(&twice).unwrap();
        assert!(config.check().unwrap_err().to_string().contains("2 Entra issuers"));
        let oidc = r#"
            [[issuer]]
            kind = "oidc"
            issuer = "https://idp.example.com/realms/bi"
            audiences = ["feed"]
            tenants = { acme = "contoso" }
        "#;
        let config: AuthConfig = toml::from_str(&format!("{oidc}{oidc}")).unwrap();
        assert!(config.check().unwrap_err().to_string().contains("configured twice"));
    }

    #[test]
    fn unknown_settings_are_reported_rather_than_ignored() {
        let typo = ENTRA.replace("scopes", "scope");
        assert!(toml::from_str::<AuthConfig>(&typo).is_err());
    }

    #[test]
    fn guids_are_recognised() {
        assert!(is_guid("72f988bf-86f1-41af-91ab-2d7cd011db47"));
        assert!(!is_guid("72f988bf-86f1-41af-91ab-2d7cd011db4"));
        assert!(!is_guid("72f988bf-86f1-41af-91ab-2d7cd011db4z"));
        assert!(!is_guid("common"));
    }
}
