//! What this server implements of OData's query side, in one place. `$metadata` publishes it
//! as Capabilities annotations, so clients such as Power Query only fold what really works;
//! the request pipeline consults the same values.
//!
//! Invariant: a flag is true only when the feature is implemented and tested.

/// The query features the server supports on every entity set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    pub filter: bool,
    /// Canonical functions accepted in `$filter`.
    pub filter_functions: &'static [&'static str],
    pub sort: bool,
    pub top: bool,
    pub skip: bool,
    pub count: bool,
    pub select: bool,
    pub expand: bool,
}

/// What this build implements: the model is published, entity sets are not queried yet.
pub const IMPLEMENTED: Capabilities = Capabilities {
    filter: false,
    filter_functions: &[],
    sort: false,
    top: false,
    skip: false,
    count: false,
    select: false,
    expand: false,
};
