//! The demo data set: two tenants with realistic, consistent contact-center activity,
//! generated deterministically from (seed, scale, end date) and loaded with COPY in one
//! transaction, once (a later start finds the tenants and reuses the data).
//!
//! `generator` is pure and synchronous (chunks of COPY text); this file is the only part that
//! talks to the database: it runs the generator on a blocking thread and streams each chunk
//! into PostgreSQL while the next one is being generated.

mod activity;
mod calendar;
mod campaigns;
mod copy;
mod generator;
mod rng;
mod staff;
mod tenant;
mod words;

pub use copy::Table;
pub use generator::{Chunk, DemoSpec, Generator, TableData, generate};

use anyhow::Context;
use bytes::Bytes;
use deadpool_postgres::Pool;
use futures_util::SinkExt;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::{collections::BTreeMap, time::Instant};

/// Chunks generated ahead of the one being loaded.
const CHUNKS_AHEAD: usize = 2;

/// Loads the demo data set unless the database already has tenants.
pub async fn load_once(pool: &Pool, scale: u32, seed: u64) -> anyhow::Result<()> {
    let mut client = pool.get().await.context("cannot get a database connection for the demo data")?;
    let tenants: i64 = client.query_one("SELECT count(*) FROM tenants", &[]).await?.get(0);
    if tenants > 0 {
        let conversations: i64 = client.query_one("SELECT count(*) FROM conversations", &[]).await?.get(0);
        tracing::info!(tenants, conversations, "demo data already present; not loading it again");
        return Ok(());
    }
    let spec = DemoSpec { scale, seed, end_date: chrono::Utc::now().date_naive() };
    let started = Instant::now();
    let generator = generate(&spec);
    let progress = progress_bar(generator.estimated_rows());
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<Chunk>(CHUNKS_AHEAD);
    let producer = tokio::task::spawn_blocking(move || {
        for chunk in generator {
            if sender.blocking_send(chunk).is_err() {
                break;
            }
        }
    });

    let transaction = client.transaction().await?;
    // The load is one transaction: durability of each intermediate commit is not needed.
    transaction.batch_execute("SET LOCAL synchronous_commit = off").await?;
    let mut per_table: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut total = 0u64;
    while let Some(chunk) = receiver.recv().await {
        for data in chunk.tables {
            let statement = data.table.copy_statement();
            let sink = transaction.copy_in(&statement).await.with_context(|| format!("COPY into {}", data.table.name()))?;
            futures_util::pin_mut!(sink);
            sink.send(Bytes::from(data.text)).await.with_context(|| format!("COPY into {}", data.table.name()))?;
            let copied = sink.finish().await.with_context(|| format!("COPY into {}", data.table.name()))?;
            *per_table.entry(data.table.name()).or_default() += copied;
            total += copied;
            progress.inc(copied);
        }
    }
    producer.await.context("the demo data generator stopped unexpectedly")?;
    transaction.commit().await.context("committing the demo data failed")?;
    progress.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    tracing::info!(
        rows = total,
        seconds = (seconds * 100.0).round() / 100.0,
        rows_per_second = (total as f64 / seconds.max(1e-9)) as u64,
        scale,
        seed,
        "demo data loaded"
    );
    for (table, rows) in &per_table {
        tracing::debug!(table, rows, "demo rows loaded");
    }
    // Fresh statistics so the first queries are planned well.
    client.batch_execute("ANALYZE").await.context("ANALYZE after loading the demo data failed")?;
    Ok(())
}

/// A progress bar on standard error; indicatif hides it when standard error is not a terminal.
fn progress_bar(estimated_rows: u64) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(estimated_rows), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("loading demo data {bar:40} {human_pos}/~{human_len} rows {per_sec}") {
        bar.set_style(style);
    }
    bar
}

#[cfg(test)]
use copy::{CopyText, parse_rows};

#[cfg(test)]
mod tests;
