//! The OData core: pure code (no HTTP, no database, no async) that describes the feed:
//! the model, the Edm types, what the server implements, and the CSDL renderings.

pub mod bind;
pub mod capabilities;
pub mod csdl;
pub mod edm;
pub mod model;
pub mod plan;
pub mod sql;
pub mod uri;
