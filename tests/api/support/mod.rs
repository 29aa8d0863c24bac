pub mod app;
pub mod database;
pub mod demo;
pub mod idp;
pub mod ingest;
pub mod tenants;
pub mod upstream;
