pub mod database;
pub mod app;
