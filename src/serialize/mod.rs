//! Writers that turn typed rows into response bytes: OData JSON today.

pub mod json;
pub mod primitive;
