//! Runs one ingestion: the input is read, checked and turned into COPY batches on a blocking
//! thread (`batch::split`), while the async side writes the batches (`db::write`). The two
//! meet through a small bounded channel, so a large input never sits in memory.
//!
//! Invariant: both sides always finish: a writer that stops drops its end of the channel,
//! and the reader stops at its next batch.

use super::batch::{self, Chunk, Report, Shape};
use super::records::Format;
use crate::db::write::{Merged, Target, WriteError, Written};
use std::io::BufRead;
use std::sync::Arc;
use tokio::sync::mpsc;

/// Chunks in flight between the reader and the writer (each about 256 KiB).
const CHUNKS_IN_FLIGHT: usize = 4;

/// What one ingestion found and did. Look at the problems first: an input whose first bad
/// record opens a new batch ends with every earlier batch written (`Written::Complete`) and
/// problems all the same.
#[derive(Debug)]
pub struct Outcome {
    /// What reading the input found (rows, problems).
    pub report: Report,
    /// What the database did with the batches.
    pub written: Result<Written, WriteError>,
}

/// How one ingestion is cut and written.
#[derive(Debug, Clone, Copy)]
pub struct Batching {
    /// Records per batch (transaction); `u64::MAX` for one batch.
    pub rows: u64,
    /// Batches written at the same time, each on its own connection of the pool.
    pub connections: usize,
}

/// Ingests `input` for `tenant` into `target`, batch by batch.
pub async fn run<R: BufRead + Send + 'static>(
    pool: &deadpool_postgres::Pool,
    tenant: &str,
    target: &Target<'_>,
    shape: Arc<Shape>,
    (format, input): (Format, R),
    batching: Batching,
    on_batch: &mut (dyn FnMut(&Merged) + Send),
) -> Outcome {
    let batch_rows = batching.rows;
    let (sender, mut chunks) = mpsc::channel::<Chunk>(CHUNKS_IN_FLIGHT);
    let reader = tokio::task::spawn_blocking(move || {
        batch::split(&shape, format, input, batch_rows, &mut |chunk| sender.blocking_send(chunk).is_ok())
    });
    let written = crate::db::write::write(pool, tenant, target, &mut chunks, batching.connections, on_batch).await;
    drop(chunks);
    let report = reader.await.unwrap_or_else(|error| {
        tracing::error!(%error, "the ingestion reader failed");
        Report { abandoned: true, ..Report::default() }
    });
    Outcome { report, written }
}
