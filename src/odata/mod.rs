//! The OData core: pure code (no HTTP, no database, no async) that describes the feed and,
//! in later stages, parses, binds and plans requests against it.

pub mod edm;
pub mod model;
