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

/// The canonical functions `$filter` evaluates (see `bind::FUNCTIONS`, plus `cast` and `isof`).
pub const FILTER_FUNCTIONS: [&str; 28] = [
    "contains",
    "startswith",
    "endswith",
    "length",
    "indexof",
    "substring",
    "tolower",
    "toupper",
    "trim",
    "concat",
    "year",
    "month",
    "day",
    "hour",
    "minute",
    "second",
    "fractionalseconds",
    "date",
    "time",
    "totaloffsetminutes",
    "now",
    "mindatetime",
    "maxdatetime",
    "round",
    "floor",
    "ceiling",
    "cast",
    "isof",
];

/// What this build implements: every query option of the read side listed here.
pub const IMPLEMENTED: Capabilities = Capabilities {
    filter: true,
    filter_functions: &FILTER_FUNCTIONS,
    sort: true,
    top: true,
    skip: true,
    count: true,
    select: true,
    expand: true,
};

#[cfg(test)]
mod tests {
    use super::FILTER_FUNCTIONS;
    use crate::odata::bind::FUNCTIONS;

    #[test]
    fn the_published_filter_functions_are_exactly_those_the_binder_evaluates() {
        let mut bound: Vec<&str> = FUNCTIONS.iter().map(|(name, _)| *name).chain(["cast", "isof"]).collect();
        let mut published = FILTER_FUNCTIONS.to_vec();
        bound.sort_unstable();
        published.sort_unstable();
        assert_eq!(bound, published);
    }
}
