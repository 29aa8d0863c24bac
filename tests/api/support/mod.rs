pub mod app;
pub mod database;
