//! Writers that turn typed rows into response bytes: OData JSON today.

pub mod expanded;
pub mod json;
pub mod primitive;
