//! The nightly jobs: the lookup refresh (`lookup_refresh`) and the retention purge
//! (`retention_purge`), run at 00:00 UTC by the server's `scheduler` or by hand
//! (`odata-feed jobs run`), recorded in the `journal`.
//!
//! Invariants: a job runs under a transaction-scoped advisory lock, so among several
//! instances on one database exactly one runs it and the others skip; a scheduled run for a
//! midnight that already succeeded is skipped; time comes from the injected `Clock`.

pub mod clock;
pub mod config;
pub mod journal;
pub mod lookup_refresh;
pub mod retention_purge;
pub mod scheduler;
pub mod upstream;

use anyhow::Context;
use chrono::{DateTime, Utc};
use clock::Clock;
use config::JobsConfig;
use deadpool_postgres::Pool;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use upstream::{Upstream, UpstreamConfig};

/// A nightly job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Job {
    LookupRefresh,
    RetentionPurge,
}

impl Job {
    /// Every job, in the order the scheduler runs them.
    pub const ALL: [Job; 2] = [Job::LookupRefresh, Job::RetentionPurge];

    /// The name in the journal, logs and metrics.
    pub fn name(self) -> &'static str {
        match self {
            Job::LookupRefresh => "lookup-refresh",
            Job::RetentionPurge => "retention-purge",
        }
    }

    /// The advisory lock only one instance holds while it runs the job.
    fn lock_key(self) -> i64 {
        match self {
            Job::LookupRefresh => 0x6f64_666a_6c6f_6f6b,  // "odfjlook"
            Job::RetentionPurge => 0x6f64_666a_7075_7267, // "odfjpurg"
        }
    }
}

/// Rows a run changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    pub inserted: i64,
    pub updated: i64,
    /// Lookup objects stamped with `deletedAt`.
    pub deleted: i64,
    /// Lookup objects whose `deletedAt` was cleared.
    pub restored: i64,
    /// Rows removed by the retention purge.
    pub purged: i64,
}

impl std::fmt::Display for Counts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "inserted {}, updated {}, deleted {}, restored {}, purged {}",
            self.inserted, self.updated, self.deleted, self.restored, self.purged
        )
    }
}

impl Counts {
    fn add(&mut self, other: &Counts) {
        self.inserted += other.inserted;
        self.updated += other.updated;
        self.deleted += other.deleted;
        self.restored += other.restored;
        self.purged += other.purged;
    }
}

/// How a request to run a job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It ran; the journal has its record (`error` set when some tenant failed).
    Ran { run: i64, counts: Counts, error: Option<String> },
    /// Another instance holds the job's lock right now.
    Busy,
    /// The scheduled midnight's run already succeeded.
    AlreadyDone,
}

/// What the jobs need: the database (as the tables' owner), the model, the configuration,
/// the clock, and the upstream clients (long-lived, so their tokens are reused).
pub struct Jobs {
    pub pool: Pool,
    pub model: Arc<crate::odata::model::Model>,
    pub config: JobsConfig,
    pub clock: Arc<dyn Clock>,
    http: reqwest::Client,
    upstreams: Mutex<HashMap<(String, String, String), Arc<Upstream>>>,
}

impl Jobs {
    pub fn new(
        pool: Pool,
        model: Arc<crate::odata::model::Model>,
        config: JobsConfig,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Jobs> {
        let http = reqwest::Client::builder().build().context("cannot build the HTTP client for the upstream API")?;
        Ok(Jobs { pool, model, config, clock, http, upstreams: Mutex::new(HashMap::new()) })
    }

    /// The client of one configured upstream, made once.
    fn upstream(&self, config: &UpstreamConfig) -> anyhow::Result<Arc<Upstream>> {
        let key = (config.base_url.clone(), config.token_url.clone(), config.client_id.clone());
        let mut upstreams = self.upstreams.lock().expect("the upstream cache is never poisoned");
        if let Some(upstream) = upstreams.get(&key) {
            return Ok(upstream.clone());
        }
        let upstream = Arc::new(Upstream::new(config.clone(), self.http.clone(), self.config.retry())?);
        upstreams.insert(key, upstream.clone());
        Ok(upstream)
    }

    /// Runs `job` for every tenant (or one), unless another instance is running it or, for a
    /// scheduled run (`scheduled_for` = its midnight), that midnight's run already succeeded.
    pub async fn run(
        &self,
        job: Job,
        tenant: Option<&str>,
        scheduled_for: Option<DateTime<Utc>>,
    ) -> anyhow::Result<Outcome> {
        if let Some(tenant) = tenant {
            self.tenants(Some(tenant)).await?;
        }
        let mut lock = self.pool.get().await.context("no database connection for the job's lock")?;
        let lock = lock.transaction().await?;
        // The lock's transaction stays idle for the whole run; a server-wide idle timeout must
        // not end it (and with it the lock) halfway.
        lock.batch_execute("SET LOCAL idle_in_transaction_session_timeout = 0").await?;
        let held: bool = lock.query_one("SELECT pg_try_advisory_xact_lock($1)", &[&job.lock_key()]).await?.get(0);
        if !held {
            tracing::info!(job = job.name(), "another instance is running this job; skipped");
            return Ok(Outcome::Busy);
        }
        let journal = self.pool.get().await.context("no database connection for the journal")?;
        if let Some(midnight) = scheduled_for
            && journal::last_success(&journal, job).await?.is_some_and(|done| done >= midnight)
        {
            tracing::info!(job = job.name(), %midnight, "this midnight's run already succeeded; skipped");
            return Ok(Outcome::AlreadyDone);
        }
        let started = self.clock.now();
        let interrupted = journal::mark_interrupted(&journal, job, started).await?;
        if interrupted > 0 {
            tracing::warn!(
                job = job.name(),
                interrupted,
                "runs left unfinished by a stopped process were marked interrupted"
            );
        }
        let run = journal::start(&journal, job, tenant, scheduled_for, started).await?;
        tracing::info!(job = job.name(), run, tenant, scheduled_for = ?scheduled_for, "job started");
        let timer = std::time::Instant::now();
        let (counts, error) = self.run_tenants(job, tenant, started).await;
        let finished = self.clock.now();
        journal::finish(&journal, run, finished, &counts, error.as_deref()).await?;
        lock.commit().await?;
        record_metrics(job, &counts, error.is_none(), timer.elapsed(), finished);
        match &error {
            None => {
                tracing::info!(job = job.name(), run, %counts, seconds = timer.elapsed().as_secs_f64(), "job finished")
            }
            Some(error) => tracing::error!(job = job.name(), run, %counts, error, "job failed"),
        }
        Ok(Outcome::Ran { run, counts, error })
    }

    /// Runs the job tenant by tenant; a failing tenant does not stop the others.
    async fn run_tenants(&self, job: Job, only: Option<&str>, now: DateTime<Utc>) -> (Counts, Option<String>) {
        let mut counts = Counts::default();
        let tenants = match self.tenants(only).await {
            Ok(tenants) => tenants,
            Err(error) => return (counts, Some(format!("{error:#}"))),
        };
        let mut failures = Vec::new();
        for tenant in &tenants {
            let outcome = match job {
                Job::LookupRefresh => lookup_refresh::refresh_tenant(self, tenant, now).await,
                Job::RetentionPurge => retention_purge::purge_tenant(self, tenant, now).await.map(Some),
            };
            match outcome {
                Ok(Some(done)) => {
                    tracing::info!(job = job.name(), tenant, counts = %done, "tenant done");
                    counts.add(&done);
                }
                Ok(None) => tracing::info!(job = job.name(), tenant, "no lookup source configured; left as it is"),
                Err(error) => {
                    tracing::error!(job = job.name(), tenant, error = format!("{error:#}"), "tenant failed");
                    failures.push(format!("{tenant}: {error:#}"));
                }
            }
        }
        (counts, (!failures.is_empty()).then(|| failures.join("; ")))
    }

    async fn tenants(&self, only: Option<&str>) -> anyhow::Result<Vec<String>> {
        let client = self.pool.get().await.context("no database connection")?;
        let rows =
            client.query("SELECT id FROM tenants WHERE $1::text IS NULL OR id = $1 ORDER BY id", &[&only]).await?;
        anyhow::ensure!(!rows.is_empty() || only.is_none(), "no tenant `{}`", only.unwrap_or_default());
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }
}

/// Duration, rows and outcome of a run, for `/metrics`.
fn record_metrics(job: Job, counts: &Counts, succeeded: bool, took: std::time::Duration, at: DateTime<Utc>) {
    let outcome = if succeeded { "succeeded" } else { "failed" };
    metrics::counter!("odata_feed_job_runs_total", "job" => job.name(), "outcome" => outcome).increment(1);
    metrics::histogram!("odata_feed_job_duration_seconds", "job" => job.name()).record(took.as_secs_f64());
    for (change, rows) in [
        ("inserted", counts.inserted),
        ("updated", counts.updated),
        ("deleted", counts.deleted),
        ("restored", counts.restored),
        ("purged", counts.purged),
    ] {
        metrics::counter!("odata_feed_job_rows_total", "job" => job.name(), "change" => change).increment(rows as u64);
    }
    if succeeded {
        metrics::gauge!("odata_feed_job_last_success_timestamp_seconds", "job" => job.name())
            .set(at.timestamp() as f64);
    }
}
