//! `odata-feed jobs run <job> [--tenant T]` and `odata-feed jobs status`: the nightly jobs by
//! hand, under the same lock and journal as the server's scheduler.

use super::{JobsArgs, JobsCommand, database};
use crate::jobs::{Jobs, Outcome, clock::SystemClock, config::JobsConfig, journal};
use crate::{db, odata::model::Model};
use anyhow::Context;
use std::sync::Arc;

pub fn jobs(args: JobsArgs) -> anyhow::Result<()> {
    match args.command {
        JobsCommand::Run { job, tenant, database, jobs_config } => {
            let config = jobs_config.as_deref().map(JobsConfig::load).transpose()?.unwrap_or_default();
            let model = Arc::new(Model::load()?);
            let database = database::open(&database)?;
            let outcome = runtime()?.block_on(async {
                crate::db::migrate::run(&database.url)?;
                let pool = db::pool::connect(&database.url, 4).await?;
                let jobs = Jobs::new(pool, model, config, Arc::new(SystemClock))?;
                jobs.run(job, tenant.as_deref(), None).await
            });
            database.close()?;
            match outcome? {
                Outcome::Ran { run, counts, error: None } => {
                    println!("{} run {run} succeeded: {counts}", job.name());
                    Ok(())
                }
                Outcome::Ran { run, error: Some(error), .. } => {
                    anyhow::bail!("{} run {run} failed: {error}", job.name())
                }
                Outcome::Busy => anyhow::bail!("another instance is running {} right now", job.name()),
                Outcome::AlreadyDone => Ok(()),
            }
        }
        JobsCommand::Status { limit, database } => {
            let database = database::open(&database)?;
            let runs = runtime()?.block_on(async {
                let pool = db::pool::connect(&database.url, 1).await?;
                let client = pool.get().await.context("no database connection")?;
                journal::recent(&client, limit).await
            });
            database.close()?;
            print_runs(&runs?);
            Ok(())
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread().enable_all().build().context("cannot start the async runtime")
}

/// One line per run, newest first, with a header.
fn print_runs(runs: &[journal::Run]) {
    let time = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map_or("-".to_owned(), |t| t.format("%Y-%m-%d %H:%M:%S").to_string())
    };
    println!(
        "{:>6}  {:<15}  {:<10}  {:<19}  {:<19}  {:<19}  {:<11}  {:>8}  {:>8}  {:>8}  {:>8}  {:>9}  error",
        "run",
        "job",
        "tenant",
        "scheduled for",
        "started",
        "finished",
        "outcome",
        "inserted",
        "updated",
        "deleted",
        "restored",
        "purged"
    );
    for run in runs {
        let c = &run.counts;
        println!(
            "{:>6}  {:<15}  {:<10}  {:<19}  {:<19}  {:<19}  {:<11}  {:>8}  {:>8}  {:>8}  {:>8}  {:>9}  {}",
            run.id,
            run.job,
            run.tenant.as_deref().unwrap_or("(all)"),
            time(run.scheduled_for),
            time(Some(run.started_at)),
            time(run.finished_at),
            run.outcome,
            c.inserted,
            c.updated,
            c.deleted,
            c.restored,
            c.purged,
            run.error.as_deref().unwrap_or("")
        );
    }
}
