//! The types of bound expressions and the typed literal values they carry.
//!
//! Invariant: a `Value` holds text that PostgreSQL parses back exactly (normalised here), so
//! the SQL stage can bind every value as text and cast it in the statement.

use crate::odata::edm::EdmType;
use std::fmt;

/// The type of a bound expression. `None` in `Typed::ty` is the type of a `null` literal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScalarType {
    Boolean,
    Int32,
    Int64,
    Decimal,
    Double,
    String,
    Date,
    DateTimeOffset,
    TimeOfDay,
    Duration,
    Guid,
}

impl ScalarType {
    pub fn of(edm: EdmType) -> ScalarType {
        match edm {
            EdmType::String => Self::String,
            EdmType::Boolean => Self::Boolean,
            EdmType::Int16 | EdmType::Int32 => Self::Int32,
            EdmType::Int64 => Self::Int64,
            EdmType::Decimal { .. } => Self::Decimal,
            EdmType::Double => Self::Double,
            EdmType::Date => Self::Date,
            EdmType::DateTimeOffset => Self::DateTimeOffset,
            EdmType::TimeOfDay => Self::TimeOfDay,
            EdmType::Duration => Self::Duration,
            EdmType::Guid => Self::Guid,
        }
    }

    /// The type named by a qualified name in `cast`/`isof` (`Edm.Int32`, ...).
    pub fn from_name(name: &str) -> Option<ScalarType> {
        Some(match name {
            "Edm.Boolean" => Self::Boolean,
            "Edm.Byte" | "Edm.SByte" | "Edm.Int16" | "Edm.Int32" => Self::Int32,
            "Edm.Int64" => Self::Int64,
            "Edm.Decimal" => Self::Decimal,
            "Edm.Double" | "Edm.Single" => Self::Double,
            "Edm.String" => Self::String,
            "Edm.Date" => Self::Date,
            "Edm.DateTimeOffset" => Self::DateTimeOffset,
            "Edm.TimeOfDay" => Self::TimeOfDay,
            "Edm.Duration" => Self::Duration,
            "Edm.Guid" => Self::Guid,
            _ => return None,
        })
    }

    pub fn is_numeric(self) -> bool {
        matches!(self, Self::Int32 | Self::Int64 | Self::Decimal | Self::Double)
    }

    /// The rank of a numeric type in OData's promotion order.
    fn numeric_rank(self) -> u8 {
        match self {
            Self::Int32 => 1,
            Self::Int64 => 2,
            Self::Decimal => 3,
            _ => 4,
        }
    }

    /// The common type two numeric operands are promoted to.
    pub fn promote(a: ScalarType, b: ScalarType) -> ScalarType {
        if a.numeric_rank() >= b.numeric_rank() { a } else { b }
    }

    /// Whether values of the two types can be compared with each other.
    pub fn comparable(a: ScalarType, b: ScalarType) -> bool {
        a == b || (a.is_numeric() && b.is_numeric())
    }

    /// The PostgreSQL type a value of this type is cast to from its text.
    pub fn sql_name(self) -> &'static str {
        match self {
            Self::Boolean => "boolean",
            Self::Int32 => "integer",
            Self::Int64 => "bigint",
            Self::Decimal => "numeric",
            Self::Double => "double precision",
            Self::String => "text",
            Self::Date => "date",
            Self::DateTimeOffset => "timestamptz",
            Self::TimeOfDay => "time",
            Self::Duration => "interval",
            Self::Guid => "uuid",
        }
    }
}

impl fmt::Display for ScalarType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Boolean => "Edm.Boolean",
            Self::Int32 => "Edm.Int32",
            Self::Int64 => "Edm.Int64",
            Self::Decimal => "Edm.Decimal",
            Self::Double => "Edm.Double",
            Self::String => "Edm.String",
            Self::Date => "Edm.Date",
            Self::DateTimeOffset => "Edm.DateTimeOffset",
            Self::TimeOfDay => "Edm.TimeOfDay",
            Self::Duration => "Edm.Duration",
            Self::Guid => "Edm.Guid",
        })
    }
}

/// A typed constant, as text PostgreSQL reads back exactly.
#[derive(Debug, Clone, PartialEq)]
pub struct Value {
    pub ty: ScalarType,
    pub text: String,
}

impl Value {
    pub fn new(ty: ScalarType, text: impl Into<String>) -> Value {
        Value { ty, text: text.into() }
    }
}
