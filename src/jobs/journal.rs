//! The jobs' journal, table `job_runs`: a run is recorded as `running` when it starts and
//! finished with its outcome and counts; the last successful scheduled run of each job tells
//! the scheduler whether a midnight's work is done; `jobs status` lists recent runs.

use super::{Counts, Job};
use chrono::{DateTime, Utc};
use tokio_postgres::Client;

/// One recorded run.
#[derive(Debug, Clone)]
pub struct Run {
    pub id: i64,
    pub job: String,
    pub tenant: Option<String>,
    pub scheduled_for: Option<DateTime<Utc>>,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub outcome: String,
    pub counts: Counts,
    pub error: Option<String>,
}

/// Records the start of a run; returns its id.
pub async fn start(
    db: &Client,
    job: Job,
    tenant: Option<&str>,
    scheduled_for: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> anyhow::Result<i64> {
    let row = db
        .query_one(
            "INSERT INTO job_runs (job, tenant_id, scheduled_for, started_at, outcome) \
             VALUES ($1, $2, $3, $4, 'running') RETURNING id",
            &[&job.name(), &tenant, &scheduled_for, &now],
        )
        .await?;
    Ok(row.get(0))
}

/// Records how a run ended.
pub async fn finish(
    db: &Client,
    id: i64,
    now: DateTime<Utc>,
    counts: &Counts,
    error: Option<&str>,
) -> anyhow::Result<()> {
    let outcome = if error.is_some() { "failed" } else { "succeeded" };
    db.execute(
        "UPDATE job_runs SET finished_at = $2, outcome = $3, inserted = $4, updated = $5, deleted = $6, \
         restored = $7, purged = $8, error = $9 WHERE id = $1",
        &[
            &id,
            &now,
            &outcome,
            &counts.inserted,
            &counts.updated,
            &counts.deleted,
            &counts.restored,
            &counts.purged,
            &error,
        ],
    )
    .await?;
    Ok(())
}

/// Marks runs of `job` still recorded as running as interrupted (their process died); only
/// called while holding the job's lock, so none of them is really running.
pub async fn mark_interrupted(db: &Client, job: Job, now: DateTime<Utc>) -> anyhow::Result<u64> {
    Ok(db
        .execute(
            "UPDATE job_runs SET outcome = 'interrupted', finished_at = $2, \
             error = 'the process running it stopped before it finished' WHERE job = $1 AND outcome = 'running'",
            &[&job.name(), &now],
        )
        .await?)
}

/// The midnight of the latest successful scheduled run of `job`.
pub async fn last_success(db: &Client, job: Job) -> anyhow::Result<Option<DateTime<Utc>>> {
    let row = db
        .query_one(
            "SELECT max(scheduled_for) FROM job_runs WHERE job = $1 AND outcome = 'succeeded' AND tenant_id IS NULL",
            &[&job.name()],
        )
        .await?;
    Ok(row.get(0))
}

/// When the latest failed or interrupted attempt at `midnight`'s run of `job` started.
pub async fn last_failure(db: &Client, job: Job, midnight: DateTime<Utc>) -> anyhow::Result<Option<DateTime<Utc>>> {
    let row = db
        .query_one(
            "SELECT max(started_at) FROM job_runs WHERE job = $1 AND scheduled_for = $2 \
             AND outcome IN ('failed', 'interrupted')",
            &[&job.name(), &midnight],
        )
        .await?;
    Ok(row.get(0))
}

/// The most recent runs, newest first.
pub async fn recent(db: &Client, limit: i64) -> anyhow::Result<Vec<Run>> {
    let rows = db
        .query(
            "SELECT id, job, tenant_id, scheduled_for, started_at, finished_at, outcome, inserted, updated, deleted, \
             restored, purged, error FROM job_runs ORDER BY started_at DESC, id DESC LIMIT $1",
            &[&limit],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| Run {
            id: r.get(0),
            job: r.get(1),
            tenant: r.get(2),
            scheduled_for: r.get(3),
            started_at: r.get(4),
            finished_at: r.get(5),
            outcome: r.get(6),
            counts: Counts {
                inserted: r.get(7),
                updated: r.get(8),
                deleted: r.get(9),
                restored: r.get(10),
                purged: r.get(11),
            },
            error: r.get(12),
        })
        .collect())
}
