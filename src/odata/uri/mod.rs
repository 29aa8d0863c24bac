//! The URI syntax layer: turns a raw query string into `QueryOptions` and the expression
//! language of `$filter` and `$orderby` into an `Expr` tree, with `$select` as a list of paths and
//! `$expand` as a tree of `ExpandItem`s with their nested options; and the resource path (entity
//! set, key, `$count`, property, `$value`) into a `ResourcePath`.
//!
//! Invariants: pure and model-free (no names or types are checked here: that is binding);
//! every failure is a `SyntaxError` with a stable `SYNTAX1xx` code and, inside expressions,
//! `$expand` and the resource path, the character position; depth and size of expressions and the
//! nesting of `$expand` are bounded, so no input can panic.

mod error;
mod expand;
mod expr;
mod lexer;
mod parser;
mod path;
mod query;

pub use error::SyntaxError;
pub use expand::{ExpandItem, ExpandOptions, ExpandPath, Levels, parse_expand};
pub use expr::{BinaryOp, Expr, InSet, LambdaKind, Literal, OrderItem, SelectItem};
pub use parser::{MAX_DEPTH, MAX_NODES, parse_filter, parse_orderby, parse_select};
pub use path::{KeyPredicate, PathTail, ResourcePath, parse_path};
pub(crate) use query::percent_decode;
pub use query::{QueryOptions, parse_query};

#[cfg(test)]
mod abnf_tests;
#[cfg(test)]
mod expand_tests;
#[cfg(test)]
mod path_tests;
#[cfg(test)]
mod tests;
