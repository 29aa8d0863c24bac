//! The resource path after the service root: entity set, key predicate, `$count`, property and
//! `$value` segments.
