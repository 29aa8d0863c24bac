//! The integration test binary: the real server, the real binary and a private PostgreSQL
//! started once for the whole run, each test in its own database.

mod cli;
mod conformance;
mod demo_data;
mod documented_fields;
mod health;
mod ingest_http;
mod ingest_import;
mod jobs_lookup_refresh;
mod jobs_schedule;
mod metadata;
mod migrations;
mod read_disconnect;
mod read_errors;
mod read_expand;
mod read_expand_collections;
mod read_filter;
mod read_format;
mod read_navigation;
mod read_paging;
mod read_query;
mod read_resources;
mod read_robustness;
mod read_statements;
mod read_tenants;
mod schema_matches_database;
mod service_document;
mod sign_in;
mod support;
mod tenant_isolation;
mod vocabularies;
