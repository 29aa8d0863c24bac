//! PostgreSQL: the private cluster started when no `DATABASE_URL` is given, the migrations,
//! and the connection pool. The only module (with `demo::load`) that talks to the database.

pub mod cluster;
pub mod migrate;
pub mod pool;
pub mod read;
pub mod secrets;
pub mod write;
