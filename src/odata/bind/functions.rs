//! The canonical functions `$filter` and `$orderby` accept, with their signatures.
//!
//! Invariant: a function is listed here only when the SQL stage translates it; the list is
//! what `$metadata` publishes as `Capabilities.FilterFunctions`.

use super::BindError;
use super::types::ScalarType::{self, *};

/// A canonical function the feed evaluates in PostgreSQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    Contains,
    StartsWith,
    EndsWith,
    Length,
    IndexOf,
    Substring,
    ToLower,
    ToUpper,
    Trim,
    Concat,
    Year,
    Month,
    Day,
    Hour,
    Minute,
    Second,
    FractionalSeconds,
    Date,
    Time,
    TotalOffsetMinutes,
    Now,
    MinDateTime,
    MaxDateTime,
    Round,
    Floor,
    Ceiling,
}

/// Every function by its OData name (`cast` and `isof` take a type and are bound apart).
pub const FUNCTIONS: [(&str, Func); 26] = [
    ("contains", Func::Contains),
    ("startswith", Func::StartsWith),
    ("endswith", Func::EndsWith),
    ("length", Func::Length),
    ("indexof", Func::IndexOf),
    ("substring", Func::Substring),
    ("tolower", Func::ToLower),
    ("toupper", Func::ToUpper),
    ("trim", Func::Trim),
    ("concat", Func::Concat),
    ("year", Func::Year),
    ("month", Func::Month),
    ("day", Func::Day),
    ("hour", Func::Hour),
    ("minute", Func::Minute),
    ("second", Func::Second),
    ("fractionalseconds", Func::FractionalSeconds),
    ("date", Func::Date),
    ("time", Func::Time),
    ("totaloffsetminutes", Func::TotalOffsetMinutes),
    ("now", Func::Now),
    ("mindatetime", Func::MinDateTime),
    ("maxdatetime", Func::MaxDateTime),
    ("round", Func::Round),
    ("floor", Func::Floor),
    ("ceiling", Func::Ceiling),
];

/// Canonical functions of OData 4.0 that this feed deliberately does not evaluate.
const NOT_IMPLEMENTED: [&str; 7] =
    ["geo.distance", "geo.intersects", "geo.length", "matchesPattern", "hassubset", "hassubsequence", "case"];

impl Func {
    /// The function with this (case-sensitive) name.
    pub fn lookup(name: &str) -> Result<Func, BindError> {
        if let Some((_, f)) = FUNCTIONS.iter().find(|(n, _)| *n == name) {
            return Ok(*f);
        }
        if NOT_IMPLEMENTED.contains(&name) {
            return Err(BindError::NotImplemented(format!("the function `{name}`")));
        }
        Err(BindError::UnknownFunction(name.to_owned()))
    }

    pub fn name(self) -> &'static str {
        FUNCTIONS.iter().find(|(_, f)| *f == self).map_or("?", |(n, _)| n)
    }

    /// The result type for these argument types, or why they do not fit. `None` stands for a
    /// `null` argument, which fits any parameter.
    pub fn result(self, args: &[Option<ScalarType>]) -> Result<ScalarType, std::string::String> {
        let fits = |params: &[&[ScalarType]]| {
            args.len() == params.len() && args.iter().zip(params).all(|(a, p)| a.is_none_or(|a| p.contains(&a)))
        };
        let ints: &[ScalarType] = &[Int32, Int64];
        let (ok, ty) = match self {
            Func::Contains | Func::StartsWith | Func::EndsWith => (fits(&[&[String], &[String]]), Boolean),
            Func::Length => (fits(&[&[String]]), Int32),
            Func::IndexOf => (fits(&[&[String], &[String]]), Int32),
            Func::Substring => (fits(&[&[String], ints]) || fits(&[&[String], ints, ints]), String),
            Func::ToLower | Func::ToUpper | Func::Trim => (fits(&[&[String]]), String),
            Func::Concat => (fits(&[&[String], &[String]]), String),
            Func::Year | Func::Month | Func::Day => (fits(&[&[Date, DateTimeOffset]]), Int32),
            Func::Hour | Func::Minute | Func::Second => (fits(&[&[DateTimeOffset, TimeOfDay]]), Int32),
            Func::FractionalSeconds => (fits(&[&[DateTimeOffset, TimeOfDay]]), Decimal),
            Func::Date => (fits(&[&[DateTimeOffset]]), Date),
            Func::Time => (fits(&[&[DateTimeOffset]]), TimeOfDay),
            Func::TotalOffsetMinutes => (fits(&[&[DateTimeOffset]]), Int32),
            Func::Now | Func::MinDateTime | Func::MaxDateTime => (args.is_empty(), DateTimeOffset),
            Func::Round | Func::Floor | Func::Ceiling => {
                let numeric = [Int32, Int64, Decimal, Double];
                (fits(&[&numeric]), args.first().copied().flatten().unwrap_or(Decimal))
            }
        };
        if ok { Ok(ty) } else { Err(self.signature().to_owned()) }
    }

    /// The accepted signatures, for error messages.
    fn signature(self) -> &'static str {
        match self {
            Func::Contains | Func::StartsWith | Func::EndsWith | Func::IndexOf | Func::Concat => {
                "(Edm.String, Edm.String)"
            }
            Func::Length | Func::ToLower | Func::ToUpper | Func::Trim => "(Edm.String)",
            Func::Substring => "(Edm.String, Edm.Int32[, Edm.Int32])",
            Func::Year | Func::Month | Func::Day => "(Edm.Date or Edm.DateTimeOffset)",
            Func::Hour | Func::Minute | Func::Second | Func::FractionalSeconds => {
                "(Edm.DateTimeOffset or Edm.TimeOfDay)"
            }
            Func::Date | Func::Time | Func::TotalOffsetMinutes => "(Edm.DateTimeOffset)",
            Func::Now | Func::MinDateTime | Func::MaxDateTime => "()",
            Func::Round | Func::Floor | Func::Ceiling => "(a number)",
        }
    }
}
