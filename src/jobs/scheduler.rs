//! The scheduler inside the server: each job runs when its latest midnight (00:00 UTC) has no
//! successful run yet, at once after start-up when one was missed (catch-up), then at every
//! midnight. A failed run is tried again after `retry_failed_after_minutes`. Every instance
//! runs a scheduler; the job's lock and the journal make each midnight's run happen once.

use super::clock::{most_recent_midnight, next_run};
use super::{Job, Jobs, journal};
use std::sync::Arc;
use std::time::Duration;

/// How often the scheduler looks at the clock at most (it also wakes at each midnight).
pub const TICK: Duration = Duration::from_secs(60);

/// The scheduler on a thread of its own (with its own single-threaded runtime, so the jobs
/// never compete with requests for the HTTP workers); it stops when the handle is dropped.
pub struct Scheduler {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Scheduler {
    pub fn start(jobs: Arc<Jobs>, tick: Duration) -> std::io::Result<Scheduler> {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new().name("nightly-jobs".into()).spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(runtime) => runtime,
                Err(error) => {
                    tracing::error!(%error, "the nightly jobs cannot start their runtime");
                    return;
                }
            };
            runtime.block_on(async {
                tokio::select! {
                    () = run(jobs, tick) => {}
                    _ = stopped => {}
                }
            });
        })?;
        Ok(Scheduler { stop: Some(stop), thread: Some(thread) })
    }
}

impl Drop for Scheduler {
    /// Stops the scheduler; a job in the middle of a run is abandoned (its transaction rolls
    /// back, and the next run marks it interrupted).
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Runs the scheduler until the task is dropped; looks at the clock at least every `tick`.
pub async fn run(jobs: Arc<Jobs>, tick: Duration) {
    loop {
        for job in Job::ALL {
            if let Err(error) = run_if_due(&jobs, job).await {
                tracing::error!(job = job.name(), error = format!("{error:#}"), "the scheduler could not run the job");
            }
        }
        let now = jobs.clock.now();
        let until_midnight = (super::clock::next_midnight(now) - now).to_std().unwrap_or_default();
        tokio::time::sleep(until_midnight.min(tick)).await;
    }
}

/// Runs `job` when its latest midnight has no successful run and no recent failed attempt.
pub async fn run_if_due(jobs: &Jobs, job: Job) -> anyhow::Result<Option<super::Outcome>> {
    let client = jobs.pool.get().await?;
    let now = jobs.clock.now();
    let last = journal::last_success(&client, job).await?;
    if next_run(now, last) > now {
        return Ok(None);
    }
    let midnight = most_recent_midnight(now);
    if let Some(failed) = journal::last_failure(&client, job, midnight).await? {
        let wait = chrono::Duration::minutes(jobs.config.retry_failed_after_minutes as i64);
        if now < failed + wait {
            return Ok(None);
        }
    }
    drop(client);
    Ok(Some(jobs.run(job, None, Some(midnight)).await?))
}
