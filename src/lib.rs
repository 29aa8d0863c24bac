//! odata-feed: a contact center's statistics published as an OData v4 feed backed by PostgreSQL.
//!
//! Module map (see ARCHITECTURE.md): `odata` is the pure core (the feed model; later parse,
//! bind, plan and SQL), `db` owns PostgreSQL (private cluster, migrations, pool), `demo`
//! generates and loads the demo data set, `http` serves the feed, `cli` wires the commands.

pub mod auth;
pub mod cli;
pub mod db;
pub mod demo;
pub mod http;
pub mod ingest;
pub mod jobs;
pub mod odata;
pub mod serialize;
pub mod telemetry;
