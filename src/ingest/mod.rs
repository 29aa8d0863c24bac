//! Ingestion of rows (NDJSON and CSV) into the entity sets' tables.
//!
//! `validate` is the pure core: it checks one record against an entity set of the model and
//! turns it into the PostgreSQL text of each writable column, or into every problem found.
//! It does no IO and knows nothing of HTTP or the database.

pub mod records;
pub mod validate;
