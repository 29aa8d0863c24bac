//! Ingestion of rows (NDJSON and CSV) into the entity sets' tables.
//!
//! The pure core, from input to statements: `records` reads one record at a time, `validate`
//! checks it against its entity set and turns it into the PostgreSQL text of each writable
//! column (or into every problem found), `batch` turns an input into COPY text batches that
//! end only when every record so far was valid, and `merge` holds the statements that stage
//! and upsert a batch. None of it does IO beyond reading its input or knows HTTP; the
//! database side is `db::write`, and `pipeline` runs the two side by side (a reader thread
//! feeding the async writer) for the HTTP endpoint and the `import` command alike.

pub mod batch;
pub mod merge;
pub mod pipeline;
pub mod records;
pub mod validate;
