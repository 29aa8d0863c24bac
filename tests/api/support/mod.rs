pub mod app;
pub mod database;
pub mod demo;
pub mod idp;
pub mod tenants;
pub mod upstream;
