//! Writes batches of validated records into the feed (ingestion), one transaction per batch:
//! the caller's tenant is set for row-level security, the batch is copied into a temporary
//! stage and merged into its table by key (`ingest::merge`), and the transaction commits only
//! when the batch's end arrives. Runs as the ingestion role (see the migration
//! `ingestion_writer`), which cannot reach another tenant's rows.
//!
//! Invariants: a batch is all-or-nothing (an input that stops mid-batch, or a failed
//! statement, rolls it back); what the database refuses comes back as problems naming the
//! input rows where it can (a missing parent row, a key that belongs to another set of a
//! shared table: both found only after the statement failed, so valid batches pay nothing),
//! never as an internal error.

use crate::ingest::batch::{Chunk, MAX_PROBLEMS};
use crate::ingest::merge::{FOREIGN_ROW_STATE, ROW_COLUMN, STAGE, Statements};
use crate::ingest::validate::{Columns, Problem};
use crate::odata::model::{EntitySet, Model, TENANT_COLUMN};
use bytes::Bytes;
use deadpool_postgres::{Object, Pool};
use futures_util::SinkExt;
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use tokio::sync::{mpsc, oneshot};
use tokio_postgres::Transaction;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;

/// What a batch (or an ingestion) changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Merged {
    /// Records received.
    pub rows: u64,
    pub inserted: u64,
    pub updated: u64,
    /// Records equal to what was stored (nothing written, timestamp included).
    pub unchanged: u64,
    /// Records whose key a later record of the same batch repeated (the later one counts).
    pub duplicates: u64,
    /// Lookup objects removed from the source by a snapshot.
    pub removed: u64,
}

impl Merged {
    /// Adds another batch's counts.
    pub fn add(&mut self, other: &Merged) {
        self.rows += other.rows;
        self.inserted += other.inserted;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
        self.duplicates += other.duplicates;
        self.removed += other.removed;
    }
}

/// How an ingestion ended, when nothing failed in the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// Every batch committed.
    Complete(Merged),
    /// The input stopped in the middle of a batch (its problems say why): that batch was
    /// rolled back; the earlier ones (counted here) stay.
    Stopped(Merged),
}

/// Why the database did not take a batch.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The caller's tenant is not in the database.
    #[error("the tenant `{0}` is not known to this feed")]
    UnknownTenant(String),
    /// The batch conflicts with stored data; nothing of it was written.
    #[error("the batch was refused: {}", .problems.first().map_or("", |p| p.reason.as_str()))]
    Rejected { problems: Vec<Problem>, truncated: bool },
    /// Another writer holds the same rows (a deadlock or serialization failure); retrying
    /// the whole batch is safe.
    #[error("another delivery is writing the same rows; send the batch again")]
    Contention,
    /// No database connection.
    #[error("the database is not available")]
    Unavailable(String),
    #[error(transparent)]
    Internal(anyhow::Error),
}

impl From<tokio_postgres::Error> for WriteError {
    fn from(error: tokio_postgres::Error) -> WriteError {
        match error.code() {
            None => WriteError::Unavailable(error.to_string()),
            Some(code) if *code == SqlState::T_R_DEADLOCK_DETECTED || *code == SqlState::T_R_SERIALIZATION_FAILURE => {
                WriteError::Contention
            }
            Some(code) if code.code().starts_with("22") || code.code().starts_with("23") => {
                let message = error.as_db_error().map_or_else(|| error.to_string(), |db| db.message().to_owned());
                let reason = format!("the database refused the batch: {message}");
                WriteError::Rejected {
                    problems: vec![Problem { row: 0, property: None, value: None, reason }],
                    truncated: false,
                }
            }
            Some(_) => WriteError::Internal(anyhow::Error::new(error).context("an ingestion statement failed")),
        }
    }
}

/// Where one ingestion writes.
pub struct Target<'a> {
    pub model: &'a Model,
    pub set: &'a EntitySet,
    pub columns: &'a Columns,
    pub statements: &'a Statements,
    /// For a lookup set: the batch is the complete list of the set's objects, and objects
    /// of the source that it does not name are removed.
    pub snapshot: bool,
}

/// Writes the batches arriving on `chunks` for `tenant`, each in a transaction of its own
/// that commits at its `End`, on up to `connections` connections of `pool` at once: batch
/// N+1 is copied into its stage while batch N merges, but merges only once batch N has
/// committed, so a key delivered twice keeps its later row, as in one sequential run.
/// `on_batch` hears of every committed batch. Chunks wait for their batch's connection in
/// memory, at most a batch per connection.
pub async fn write(
    pool: &Pool,
    tenant: &str,
    target: &Target<'_>,
    chunks: &mut mpsc::Receiver<Chunk>,
    connections: usize,
    on_batch: &mut (dyn FnMut(&Merged) + Send),
) -> Result<Written, WriteError> {
    let mut total = Merged::default();
    let mut running = FuturesUnordered::new();
    let mut current: Option<mpsc::UnboundedSender<Chunk>> = None;
    // Each batch merges after the one before it has ended.
    let mut previous: Option<oneshot::Receiver<()>> = None;
    let mut stopped = false;
    loop {
        let room = current.is_some() || running.len() < connections.max(1);
        tokio::select! {
            Some(done) = running.next(), if !running.is_empty() => match done? {
                Some(merged) => {
                    on_batch(&merged);
                    total.add(&merged);
                }
                None => stopped = true,
            },
            chunk = chunks.recv(), if room => {
                let Some(chunk) = chunk else { break };
                let batch = match &current {
                    Some(batch) => batch,
                    None => {
                        let client = pool.get().await.map_err(|e| WriteError::Unavailable(e.to_string()))?;
                        let (sender, receiver) = mpsc::unbounded_channel();
                        let (ended, next) = oneshot::channel();
                        let turn = Turn { after: previous.replace(next), ended };
                        running.push(write_batch(client, tenant, target, receiver, turn));
                        current.insert(sender)
                    }
                };
                let end = matches!(chunk, Chunk::End { .. });
                // A batch that failed has gone; its error comes through `running`.
                let _ = batch.send(chunk);
                if end {
                    current = None;
                }
            }
        }
    }
    // The input ended; a batch without its end rolls back.
    drop(current);
    while let Some(done) = running.next().await {
        match done? {
            Some(merged) => {
                on_batch(&merged);
                total.add(&merged);
            }
            None => stopped = true,
        }
    }
    Ok(if stopped { Written::Stopped(total) } else { Written::Complete(total) })
}

/// When a batch may merge: after the batch before it (if any) has ended; it tells the next
/// one by dropping `ended` when it ends itself, whichever way.
struct Turn {
    after: Option<oneshot::Receiver<()>>,
    ended: oneshot::Sender<()>,
}

/// Writes one batch on `client`: Some(counts) once committed, None when its chunks stopped
/// before the end (the copy and the transaction roll back).
async fn write_batch(
    mut client: Object,
    tenant: &str,
    target: &Target<'_>,
    mut chunks: mpsc::UnboundedReceiver<Chunk>,
    turn: Turn,
) -> Result<Option<Merged>, WriteError> {
    let tx = client.transaction().await?;
    tx.query("SELECT set_config('app.tenant_id', $1, true)", &[&tenant]).await?;
    let known: bool = tx.query_one("SELECT EXISTS (SELECT FROM tenants WHERE id = $1)", &[&tenant]).await?.get(0);
    if !known {
        return Err(WriteError::UnknownTenant(tenant.to_owned()));
    }
    tx.batch_execute(&target.statements.create_stage).await?;
    let sink = tx.copy_in::<_, Bytes>(&target.statements.copy).await?;
    futures_util::pin_mut!(sink);
    let rows = loop {
        match chunks.recv().await {
            Some(Chunk::Rows { text, .. }) => sink.send(Bytes::from(text)).await?,
            Some(Chunk::End { rows }) => break rows,
            None => return Ok(None),
        }
    };
    sink.as_mut().finish().await?;
    if let Some(after) = turn.after {
        let _ = after.await; // Err: the batch before ended without a word, which is all we need
    }
    let merged = merge(&tx, tenant, target, rows).await?;
    tx.commit().await?;
    drop(turn.ended);
    Ok(Some(merged))
}

/// Merges the staged batch of `rows` records.
async fn merge(tx: &Transaction<'_>, tenant: &str, target: &Target<'_>, rows: u64) -> Result<Merged, WriteError> {
    let statements = target.statements;
    let set_name = target.set.name.as_str();
    let params: Vec<&(dyn ToSql + Sync)> =
        if statements.remove_missing.is_some() { vec![&tenant, &set_name] } else { vec![&tenant] };
    tx.batch_execute("SAVEPOINT merge").await?;
    let (counts, duplicates) = match tx.query_one(&statements.merge, &params).await {
        Ok(counts) => (counts, 0),
        Err(error) if error.code() == Some(&SqlState::CARDINALITY_VIOLATION) => {
            // The batch repeats a key: the last record of each key is the one delivered.
            tx.batch_execute("ROLLBACK TO SAVEPOINT merge").await?;
            let counts = tx.query_one(&statements.merge_last_of_each_key, &params).await?;
            let distinct: i64 = tx.query_one(&statements.distinct_keys, &[]).await?.get(0);
            (counts, rows.saturating_sub(distinct as u64))
        }
        Err(error) if error.code().is_some_and(|c| c.code() == FOREIGN_ROW_STATE) => {
            tx.batch_execute("ROLLBACK TO SAVEPOINT merge").await?;
            let query = statements.foreign_rows.as_deref().unwrap_or_default();
            return Err(foreign_keys(target, &tx.query(query, &[&tenant]).await?));
        }
        Err(error) if error.code() == Some(&SqlState::FOREIGN_KEY_VIOLATION) => {
            tx.batch_execute("ROLLBACK TO SAVEPOINT merge").await?;
            let constraint = error.as_db_error().and_then(|db| db.constraint()).unwrap_or_default().to_owned();
            return Err(missing_parents(tx, tenant, target, &constraint).await?.unwrap_or_else(|| error.into()));
        }
        Err(error) => return Err(error.into()),
    };
    let (inserted, updated): (i64, i64) = (counts.get(0), counts.get(1));
    let (inserted, updated) = (inserted as u64, updated as u64);
    let unchanged = rows.saturating_sub(duplicates + inserted + updated);
    if target.snapshot && rows == 0 {
        let reason =
            "a snapshot without any object would remove every object of the set; send the current objects".to_owned();
        return Err(WriteError::Rejected {
            problems: vec![Problem { row: 0, property: None, value: None, reason }],
            truncated: false,
        });
    }
    let removed = match (&statements.remove_missing, target.snapshot) {
        (Some(remove), true) => tx.execute(remove, &params).await?,
        _ => 0,
    };
    Ok(Merged { rows, inserted, updated, unchanged, duplicates, removed })
}

/// Keys of the batch already stored as rows of another set sharing the table.
fn foreign_keys(target: &Target<'_>, rows: &[tokio_postgres::Row]) -> WriteError {
    let filter = target.set.row_filter.as_ref().map_or("", |f| f.column.as_str());
    let key = target.set.key.join(", ");
    let problems: Vec<Problem> = rows
        .iter()
        .take(MAX_PROBLEMS)
        .map(|row| {
            let (line, value, stored): (i64, String, String) = (row.get(0), row.get(1), row.get(2));
            let owner = target
                .model
                .entity_sets()
                .iter()
                .find(|s| s.table == target.set.table && s.row_filter.as_ref().is_some_and(|f| f.value == stored))
                .map_or_else(|| format!("{filter} '{stored}'"), |s| s.name.clone());
            Problem {
                row: line as u64,
                property: Some(key.clone()),
                value: Some(value),
                reason: format!("already stored as a row of {owner}; it cannot also be a row of {}", target.set.name),
            }
        })
        .collect();
    WriteError::Rejected { truncated: rows.len() > MAX_PROBLEMS, problems }
}

/// The rows of the stage whose parent (by the foreign key `constraint`) does not exist for
/// the tenant; None when the constraint is not one between the feed's tables.
async fn missing_parents(
    tx: &Transaction<'_>,
    tenant: &str,
    target: &Target<'_>,
    constraint: &str,
) -> Result<Option<WriteError>, WriteError> {
    let pairs = tx
        .query(
            "SELECT a.attname::text, f.relname::text, af.attname::text \
             FROM pg_constraint c JOIN pg_class f ON f.oid = c.confrelid \
             CROSS JOIN LATERAL unnest(c.conkey, c.confkey) AS k(col, fcol) \
             JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.col \
             JOIN pg_attribute af ON af.attrelid = c.confrelid AND af.attnum = k.fcol \
             WHERE c.conname = $1 AND c.conrelid = $2::text::regclass",
            &[&constraint, &target.set.table],
        )
        .await?;
    let Some(parent) = pairs.first().map(|row| row.get::<_, String>(1)) else { return Ok(None) };
    let pairs: Vec<(String, String)> = pairs
        .iter()
        .map(|row| (row.get(0), row.get(2)))
        .filter(|(child, _): &(String, String)| child != TENANT_COLUMN)
        .collect();
    if pairs.is_empty() {
        return Ok(Some(WriteError::UnknownTenant(tenant.to_owned())));
    }
    let on: Vec<String> = pairs.iter().map(|(child, up)| format!("p.\"{up}\" = s.\"{child}\"")).collect();
    let value: Vec<String> = pairs.iter().map(|(child, _)| format!("s.\"{child}\"::text")).collect();
    let query = format!(
        "SELECT s.{ROW_COLUMN}, {value} FROM {STAGE} s WHERE NOT EXISTS \
         (SELECT FROM \"{parent}\" p WHERE p.\"{TENANT_COLUMN}\" = $1 AND {on}) ORDER BY s.{ROW_COLUMN} LIMIT {limit}",
        value = value.join(" || ', ' || "),
        on = on.join(" AND "),
        limit = MAX_PROBLEMS + 1,
    );
    let rows = tx.query(&query, &[&tenant]).await?;
    if rows.is_empty() {
        return Ok(None);
    }
    let parent_set = target.model.entity_sets().iter().find(|s| s.table == parent).map_or(parent.as_str(), |s| &s.name);
    let property: Vec<&str> =
        pairs.iter().map(|(child, _)| target.columns.input_name(child).unwrap_or(child.as_str())).collect();
    let problems = rows
        .iter()
        .take(MAX_PROBLEMS)
        .map(|row| Problem {
            row: row.get::<_, i64>(0) as u64,
            property: Some(property.join(", ")),
            value: row.get(1),
            reason: format!("no {parent_set} row with this key exists for the tenant; deliver it first"),
        })
        .collect();
    Ok(Some(WriteError::Rejected { problems, truncated: rows.len() > MAX_PROBLEMS }))
}
