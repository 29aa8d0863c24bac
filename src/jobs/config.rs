//! What an operator configures for the nightly jobs (TOML, `--jobs-config FILE`): where each
//! tenant's lookup objects come from (an upstream API, globally or per tenant, or the local
//! source table `lookup_sources`), the retries of upstream calls, and the purge batch size.

use super::upstream::{RetryPolicy, UpstreamConfig};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

/// The whole file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobsConfig {
    /// The upstream API of every tenant that names no source of its own.
    #[serde(default)]
    pub upstream: Option<UpstreamConfig>,
    /// Per tenant: `source = "local"`, or an `[tenants.<id>.upstream]` of its own.
    #[serde(default)]
    pub tenants: BTreeMap<String, TenantSource>,
    /// Tries per upstream call (the first included).
    #[serde(default = "default_attempts")]
    pub upstream_attempts: u32,
    /// Seconds before the first retry (doubling after each).
    #[serde(default = "default_first_delay")]
    pub upstream_retry_seconds: f64,
    /// Rows deleted per statement by the retention purge.
    #[serde(default = "default_batch")]
    pub purge_batch_rows: i64,
    /// Minutes to wait before retrying a failed scheduled run.
    #[serde(default = "default_retry_minutes")]
    pub retry_failed_after_minutes: u64,
}

/// Where one tenant's lookup objects come from.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantSource {
    /// `local`: the `lookup_sources` table; `upstream`: the API (this tenant's, or the global one).
    #[serde(default)]
    pub source: Option<SourceKind>,
    #[serde(default)]
    pub upstream: Option<UpstreamConfig>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    Local,
    Upstream,
}

/// The source a tenant's refresh reads.
#[derive(Debug, Clone)]
pub enum Source<'c> {
    Upstream(&'c UpstreamConfig),
    Local,
    /// Nothing configured: the tenant's lookup tables are left as they are.
    None,
}

fn default_attempts() -> u32 {
    4
}
fn default_first_delay() -> f64 {
    1.0
}
fn default_batch() -> i64 {
    10_000
}
fn default_retry_minutes() -> u64 {
    15
}

impl Default for JobsConfig {
    fn default() -> JobsConfig {
        toml::from_str("").expect("the defaults parse")
    }
}

impl JobsConfig {
    /// Reads and checks a configuration file.
    pub fn load(path: &Path) -> anyhow::Result<JobsConfig> {
        use anyhow::Context;
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        let config: JobsConfig = toml::from_str(&text).with_context(|| format!("{} is not valid", path.display()))?;
        config.check().with_context(|| format!("{} is not valid", path.display()))?;
        Ok(config)
    }

    fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(self.upstream_attempts >= 1, "upstream_attempts must be at least 1");
        anyhow::ensure!(
            (0.0..=60.0).contains(&self.upstream_retry_seconds),
            "upstream_retry_seconds must be between 0 and 60"
        );
        anyhow::ensure!((100..=1_000_000).contains(&self.purge_batch_rows), "purge_batch_rows must be 100 to 1000000");
        for (tenant, source) in &self.tenants {
            if source.source == Some(SourceKind::Upstream) && source.upstream.is_none() && self.upstream.is_none() {
                anyhow::bail!("tenant `{tenant}` reads an upstream, but neither it nor the file configures one");
            }
            if source.source == Some(SourceKind::Local) && source.upstream.is_some() {
                anyhow::bail!("tenant `{tenant}` reads the local source but configures an upstream too");
            }
        }
        Ok(())
    }

    /// The retries of upstream calls.
    pub fn retry(&self) -> RetryPolicy {
        RetryPolicy {
            attempts: self.upstream_attempts,
            first_delay: Duration::from_secs_f64(self.upstream_retry_seconds),
        }
    }

    /// Where `tenant`'s lookup objects come from: its own upstream, its own choice of the local
    /// source, the global upstream, or nothing.
    pub fn source(&self, tenant: &str) -> Source<'_> {
        let own = self.tenants.get(tenant);
        if let Some(upstream) = own.and_then(|t| t.upstream.as_ref()) {
            return Source::Upstream(upstream);
        }
        match (own.and_then(|t| t.source), &self.upstream) {
            (Some(SourceKind::Local), _) => Source::Local,
            (_, Some(upstream)) => Source::Upstream(upstream),
            _ => Source::None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenants_own_source_wins_over_the_global_upstream() {
        let config: JobsConfig = toml::from_str(
            r#"
            [upstream]
            base_url = "https://api.example.com/v1"
            token_url = "https://login.example.com/token"
            client_id = "feed"
            client_secret = "s3cret"
            [tenants.contoso]
            source = "local"
            [tenants.fabrikam.upstream]
            base_url = "https://fabrikam.example.com/v1"
            token_url = "https://login.example.com/token"
            client_id = "feed"
            client_secret = "other"
            "#,
        )
        .unwrap();
        config.check().unwrap();
        assert!(matches!(config.source("contoso"), Source::Local));
        assert!(matches!(config.source("fabrikam"), Source::Upstream(u) if u.base_url.starts_with("https://fabrikam")));
        assert!(matches!(config.source("northwind"), Source::Upstream(u) if u.base_url.starts_with("https://api")));
        assert!(matches!(JobsConfig::default().source("contoso"), Source::None));
        assert!(!format!("{config:?}").contains("s3cret"), "the secret is never printed");
    }

    #[test]
    fn an_upstream_tenant_without_any_upstream_is_refused() {
        let config: JobsConfig = toml::from_str("[tenants.contoso]\nsource = \"upstream\"\n").unwrap();
        assert!(config.check().unwrap_err().to_string().contains("contoso"));
    }
}
