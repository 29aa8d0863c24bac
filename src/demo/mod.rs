//! The demo data set: generated deterministically from a seed and loaded in bulk, once.
//!
//! Two tenants, `contoso` (Europe/Budapest, `scale` conversations over 90 days) and `fabrikam`
//! (America/New_York, a tenth of that over 25 days), with their lookups (business units,
//! channels, queues, bot steps, users and agents, campaigns) and statistics (conversations with
//! bot and queue segments, rejected enqueue attempts, captured data, workitems with sessions,
//! collected data and evaluations, agent states and business-unit changes, campaign records).
//!
//! [`generate`] is pure and synchronous: an iterator of [`Chunk`]s of COPY text, identical for
//! the same [`DemoSpec`]. [`load_once`] streams it into PostgreSQL in one transaction, the next
//! chunk being generated on a blocking thread while the previous one is copied. Like
//! `pg_restore`, the load first empties the (already empty) tables so COPY can freeze rows, and
//! sets their keys, secondary indexes and foreign keys aside, restoring them once the rows are
//! in: building an index in one pass is several times cheaper than maintaining it row by row.

mod activity;
mod calendar;
mod campaigns;
mod copy;
mod generator;
mod rng;
mod staff;
mod tenant;
mod words;

#[cfg(test)]
mod tests;

pub use copy::{CopyText, Table, escape_into, parse_rows, unescape};
pub use generator::{Chunk, DemoSpec, Generator, TableData, generate};

use anyhow::Context;
use deadpool_postgres::Pool;
use futures_util::SinkExt;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Key of the advisory lock that keeps two processes from loading at the same time.
const LOAD_LOCK: i64 = 0x6f64_6174_615f_6465; // "odata_de"

/// Chunks generated ahead of the one being copied.
const PIPELINE_DEPTH: usize = 2;

/// Loads the demo data set unless the database already holds tenants.
///
/// Everything is loaded in one transaction with `COPY ... FROM STDIN`, so a failure leaves no
/// partial data behind. The data covers the days before today's UTC date.
pub async fn load_once(pool: &Pool, scale: u32, seed: u64) -> anyhow::Result<()> {
    let mut client = pool.get().await.context("cannot get a database connection for the demo data")?;
    if report_present(&**client).await? {
        return Ok(());
    }
    let tx = client.transaction().await.context("cannot start the demo data transaction")?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOAD_LOCK]).await?;
    // Another process may have loaded while we waited for the lock.
    if report_present(&*tx).await? {
        return Ok(());
    }

    let spec = DemoSpec { scale, seed, end_date: chrono::Utc::now().date_naive() };
    let generator = generate(&spec);
    let estimate = generator.estimated_rows();
    tracing::info!(scale, seed, end_date = %spec.end_date, tenants = ?generator.conversations(), "loading the demo data set");

    let progress = ProgressBar::with_draw_target(Some(estimate), ProgressDrawTarget::stderr());
    progress.set_style(
        ProgressStyle::with_template(
            "{spinner} demo data {bar:32} {human_pos}/~{human_len} rows  {per_sec:0}  {elapsed}  {msg}",
        )
        .expect("valid progress template")
        .progress_chars("=> "),
    );
    progress.enable_steady_tick(Duration::from_millis(250));

    let started = Instant::now();
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<Chunk>(PIPELINE_DEPTH);
    let producer = tokio::task::spawn_blocking(move || {
        for chunk in generator {
            if sender.blocking_send(chunk).is_err() {
                break; // the loader gave up
            }
        }
    });

    let mut per_table: BTreeMap<Table, (u64, f64)> = BTreeMap::new();
    let mut total: u64 = 0;
    let outcome: anyhow::Result<()> = async {
        let bulk = prepare_bulk_load(&tx).await?;
        while let Some(chunk) = receiver.recv().await {
            for data in chunk.tables {
                let table = data.table;
                let rows = data.rows;
                let copy_started = Instant::now();
                let mut statement = table.copy_statement();
                if bulk.freeze {
                    statement.push_str(" WITH (FREEZE)");
                }
                let sink = tx
                    .copy_in(statement.as_str())
                    .await
                    .with_context(|| format!("cannot start COPY into {}", table.name()))?;
                futures_util::pin_mut!(sink);
                sink.send(bytes::Bytes::from(data.text))
                    .await
                    .with_context(|| format!("COPY into {} failed", table.name()))?;
                let copied = sink.finish().await.with_context(|| format!("COPY into {} failed", table.name()))?;
                anyhow::ensure!(copied == rows, "COPY into {} took {copied} rows, {rows} were sent", table.name());
                let entry = per_table.entry(table).or_default();
                entry.0 += rows;
                entry.1 += copy_started.elapsed().as_secs_f64();
                total += rows;
                if total > progress.length().unwrap_or(0) {
                    progress.set_length(total);
                }
                progress.set_position(total);
            }
        }
        progress.set_length(total);
        progress.set_message("building indexes and checking keys");
        bulk.restore(&tx).await?;
        Ok(())
    }
    .await;
    if let Err(error) = outcome {
        progress.abandon();
        drop(receiver);
        return Err(error.context("loading the demo data failed; nothing was kept"));
    }
    if let Err(error) = producer.await {
        progress.abandon();
        return Err(anyhow::Error::new(error).context("the demo data generator failed; nothing was kept"));
    }
    progress.set_message("committing");
    tx.commit().await.context("cannot commit the demo data")?;
    progress.finish_and_clear();

    let elapsed = started.elapsed().as_secs_f64();
    let rate = if elapsed > 0.0 { (total as f64 / elapsed).round() as u64 } else { total };
    tracing::info!(
        rows = total,
        seconds = (elapsed * 100.0).round() / 100.0,
        rows_per_second = rate,
        scale,
        seed,
        "demo data loaded"
    );
    for (table, (rows, seconds)) in &per_table {
        tracing::debug!(table = table.name(), rows, seconds = (seconds * 100.0).round() / 100.0, "demo data table");
    }

    // Fresh planner statistics, so the first queries are planned well (autovacuum would get
    // there too, later): worth a warning, not a failure.
    let analyzing = Instant::now();
    let names: Vec<&str> = Table::ALL.iter().map(|t| t.name()).collect();
    match client.batch_execute(&format!("ANALYZE {}", names.join(", "))).await {
        Ok(()) => {
            tracing::debug!(seconds = (analyzing.elapsed().as_secs_f64() * 100.0).round() / 100.0, "demo data analyzed")
        }
        Err(error) => tracing::warn!(%error, "ANALYZE after loading the demo data failed"),
    }
    Ok(())
}

/// What [`prepare_bulk_load`] managed to set up.
#[derive(Default)]
struct BulkLoad {
    /// The tables were truncated in this transaction, so COPY may write frozen rows (readable
    /// without later hint-bit writes and vacuum freezing).
    freeze: bool,
    /// Primary keys dropped for the load, as (table, name, definition).
    keys: Vec<(String, String, String)>,
    /// Secondary indexes dropped for the load, as (name, definition).
    indexes: Vec<(String, String)>,
    /// Foreign keys dropped for the load, as (table, name, definition).
    foreign_keys: Vec<(String, String, String)>,
}

impl BulkLoad {
    /// Puts back what was dropped: keys (checking uniqueness), indexes, then foreign keys
    /// (checking every reference), each built or checked in one pass over the loaded rows.
    async fn restore(&self, tx: &tokio_postgres::Transaction<'_>) -> anyhow::Result<()> {
        let started = Instant::now();
        for (table, name, definition) in &self.keys {
            tx.batch_execute(&format!("ALTER TABLE {table} ADD CONSTRAINT {name} {definition}"))
                .await
                .with_context(|| format!("cannot restore {name}"))?;
        }
        let keyed = Instant::now();
        for (name, definition) in &self.indexes {
            tx.batch_execute(definition).await.with_context(|| format!("cannot rebuild index {name}"))?;
        }
        let indexed = Instant::now();
        for (table, name, definition) in &self.foreign_keys {
            tx.batch_execute(&format!("ALTER TABLE {table} ADD CONSTRAINT {name} {definition}"))
                .await
                .with_context(|| format!("cannot restore {name}"))?;
        }
        let round = |d: Duration| (d.as_secs_f64() * 100.0).round() / 100.0;
        tracing::debug!(
            keys = self.keys.len(),
            key_seconds = round(keyed - started),
            indexes = self.indexes.len(),
            index_seconds = round(indexed - keyed),
            foreign_keys = self.foreign_keys.len(),
            foreign_key_seconds = round(indexed.elapsed()),
            "keys, indexes and foreign keys restored"
        );
        Ok(())
    }
}

/// Readies the (empty) tables for a bulk load inside the transaction, the way `pg_restore`
/// does: truncates them so COPY can freeze rows, and drops their keys, secondary indexes and
/// foreign keys, which are far cheaper to build and check once afterwards than row by row.
/// [`BulkLoad::restore`] puts them back, with their original names and definitions, before the
/// transaction commits. Each step is optional: without the privileges for it (or if some other
/// table depends on ours), it is skipped and the load proceeds with the tables as they are.
async fn prepare_bulk_load(tx: &tokio_postgres::Transaction<'_>) -> anyhow::Result<BulkLoad> {
    let mut bulk = BulkLoad::default();
    // A crash right after the commit could lose the load, which the next start simply redoes.
    tx.batch_execute("SET LOCAL maintenance_work_mem = '128MB'; SET LOCAL synchronous_commit = off").await?;
    let names: Vec<&str> = Table::ALL.iter().map(|t| t.name()).collect();

    // Every table references tenants, which is empty: truncating them changes no data.
    bulk.freeze = optional(tx, "truncate", &format!("TRUNCATE {}", names.join(", "))).await?;

    let constraints = tx
        .query(
            "SELECT c.contype::text, quote_ident(ns.nspname) || '.' || quote_ident(tc.relname), quote_ident(c.conname),
                    pg_get_constraintdef(c.oid)
             FROM pg_constraint c
             JOIN pg_class tc ON tc.oid = c.conrelid
             JOIN pg_namespace ns ON ns.oid = tc.relnamespace
             WHERE tc.relname = ANY($1) AND ns.nspname = current_schema()
               AND (c.contype = 'f' OR (c.contype = 'p' AND tc.relname <> 'tenants'))
             ORDER BY 2, 3",
            &[&names],
        )
        .await?;
    let mut keys = Vec::new();
    let mut foreign_keys = Vec::new();
    for row in &constraints {
        let kind: String = row.get(0);
        let item = (row.get(1), row.get(2), row.get(3));
        if kind == "f" { foreign_keys.push(item) } else { keys.push(item) }
    }
    let mut drop = String::new();
    for (table, name, _) in foreign_keys.iter().chain(&keys) {
        drop.push_str(&format!("ALTER TABLE {table} DROP CONSTRAINT {name}; "));
    }
    if !drop.is_empty() && optional(tx, "constraints", &drop).await? {
        bulk.keys = keys;
        bulk.foreign_keys = foreign_keys;
    }

    let indexes = tx
        .query(
            "SELECT quote_ident(ns.nspname) || '.' || quote_ident(ic.relname), pg_get_indexdef(i.indexrelid)
             FROM pg_index i
             JOIN pg_class ic ON ic.oid = i.indexrelid
             JOIN pg_class tc ON tc.oid = i.indrelid
             JOIN pg_namespace ns ON ns.oid = tc.relnamespace
             WHERE tc.relname = ANY($1) AND ns.nspname = current_schema()
               AND NOT i.indisunique AND NOT i.indisprimary
               AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
             ORDER BY 1",
            &[&names],
        )
        .await?;
    let indexes: Vec<(String, String)> = indexes.iter().map(|r| (r.get(0), r.get(1))).collect();
    if !indexes.is_empty() {
        let drop =
            format!("DROP INDEX {}", indexes.iter().map(|(name, _)| name.as_str()).collect::<Vec<_>>().join(", "));
        if optional(tx, "indexes", &drop).await? {
            bulk.indexes = indexes;
        }
    }
    tracing::debug!(
        freeze = bulk.freeze,
        keys = bulk.keys.len(),
        indexes = bulk.indexes.len(),
        foreign_keys = bulk.foreign_keys.len(),
        "bulk load prepared"
    );
    Ok(bulk)
}

/// Runs `sql` inside a savepoint; on failure rolls back to it and returns false.
async fn optional(tx: &tokio_postgres::Transaction<'_>, step: &str, sql: &str) -> anyhow::Result<bool> {
    match tx.batch_execute(&format!("SAVEPOINT demo_{step}; {sql}; RELEASE SAVEPOINT demo_{step}")).await {
        Ok(()) => Ok(true),
        Err(error) => {
            tracing::debug!(step, %error, "bulk load step skipped");
            tx.batch_execute(&format!("ROLLBACK TO SAVEPOINT demo_{step}; RELEASE SAVEPOINT demo_{step}")).await?;
            Ok(false)
        }
    }
}

/// Logs and returns true when tenants exist already.
async fn report_present(client: &impl tokio_postgres::GenericClient) -> anyhow::Result<bool> {
    let tenants: i64 = client.query_one("SELECT count(*) FROM tenants", &[]).await?.get(0);
    if tenants == 0 {
        return Ok(false);
    }
    let conversations: i64 = client.query_one("SELECT count(*) FROM conversations", &[]).await?.get(0);
    tracing::info!(tenants, conversations, "demo data already present; not loading it again");
    Ok(true)
}
