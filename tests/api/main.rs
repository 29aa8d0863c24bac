//! The integration test binary: the real server, the real binary and a private PostgreSQL
//! started once for the whole run, each test in its own database.

mod cli;
mod conformance;
mod demo_data;
mod documented_fields;
mod health;
mod metadata;
mod migrations;
mod schema_matches_database;
mod service_document;
mod support;
mod vocabularies;
