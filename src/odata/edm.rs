//! The primitive Edm types the feed uses, their CSDL names and their PostgreSQL storage types.
//!
//! Invariant: one table here decides how an Edm type is stored; `$metadata`, the migrations
//! check and SQL generation all read it.

use std::fmt;

/// A primitive OData type with the facets that belong to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EdmType {
    String,
    Boolean,
    Int16,
    Int32,
    Int64,
    Decimal { precision: u8, scale: u8 },
    Double,
    Date,
    DateTimeOffset,
    TimeOfDay,
    Duration,
    Guid,
}

impl EdmType {
    /// Parses a qualified name such as `Edm.Int32`; decimals take their facets separately.
    pub fn parse(name: &str, precision: Option<u8>, scale: Option<u8>) -> Result<EdmType, String> {
        let ty = match name {
            "Edm.String" => EdmType::String,
            "Edm.Boolean" => EdmType::Boolean,
            "Edm.Int16" => EdmType::Int16,
            "Edm.Int32" => EdmType::Int32,
            "Edm.Int64" => EdmType::Int64,
            "Edm.Double" => EdmType::Double,
            "Edm.Date" => EdmType::Date,
            "Edm.DateTimeOffset" => EdmType::DateTimeOffset,
            "Edm.TimeOfDay" => EdmType::TimeOfDay,
            "Edm.Duration" => EdmType::Duration,
            "Edm.Guid" => EdmType::Guid,
            "Edm.Decimal" => {
                let (Some(precision), Some(scale)) = (precision, scale) else {
                    return Err("Edm.Decimal needs both `precision` and `scale`".into());
                };
                if precision == 0 || precision > 38 || scale > precision {
                    return Err(format!("Edm.Decimal({precision},{scale}) is out of range"));
                }
                return Ok(EdmType::Decimal { precision, scale });
            }
            other => return Err(format!("unknown or unsupported type `{other}`")),
        };
        if precision.is_some() || scale.is_some() {
            return Err(format!("`precision`/`scale` are only allowed on Edm.Decimal, not {name}"));
        }
        Ok(ty)
    }

    /// The qualified CSDL name, e.g. `Edm.DateTimeOffset`.
    pub fn name(self) -> &'static str {
        match self {
            EdmType::String => "Edm.String",
            EdmType::Boolean => "Edm.Boolean",
            EdmType::Int16 => "Edm.Int16",
            EdmType::Int32 => "Edm.Int32",
            EdmType::Int64 => "Edm.Int64",
            EdmType::Decimal { .. } => "Edm.Decimal",
            EdmType::Double => "Edm.Double",
            EdmType::Date => "Edm.Date",
            EdmType::DateTimeOffset => "Edm.DateTimeOffset",
            EdmType::TimeOfDay => "Edm.TimeOfDay",
            EdmType::Duration => "Edm.Duration",
            EdmType::Guid => "Edm.Guid",
        }
    }

    /// How a column of this type is declared in PostgreSQL (`max_length` applies to strings).
    pub fn sql_type(self, max_length: Option<u32>) -> SqlType {
        match self {
            EdmType::String => match max_length {
                Some(n) => SqlType::Varchar(n),
                None => SqlType::Text,
            },
            EdmType::Boolean => SqlType::Boolean,
            EdmType::Int16 => SqlType::SmallInt,
            EdmType::Int32 => SqlType::Integer,
            EdmType::Int64 => SqlType::BigInt,
            EdmType::Decimal { precision, scale } => SqlType::Numeric { precision, scale },
            EdmType::Double => SqlType::DoublePrecision,
            EdmType::Date => SqlType::Date,
            EdmType::DateTimeOffset => SqlType::TimestampTz,
            EdmType::TimeOfDay => SqlType::Time,
            EdmType::Duration => SqlType::Interval,
            EdmType::Guid => SqlType::Uuid,
        }
    }
}

impl fmt::Display for EdmType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EdmType::Decimal { precision, scale } => write!(f, "Edm.Decimal({precision},{scale})"),
            other => f.write_str(other.name()),
        }
    }
}

/// A PostgreSQL column type, in the spelling `format_type()` / `information_schema` use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SqlType {
    Text,
    Varchar(u32),
    Boolean,
    SmallInt,
    Integer,
    BigInt,
    Numeric { precision: u8, scale: u8 },
    DoublePrecision,
    Date,
    TimestampTz,
    Time,
    Interval,
    Uuid,
}

impl fmt::Display for SqlType {
    /// Writes the type as PostgreSQL's `format_type(atttypid, atttypmod)` prints it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SqlType::Text => f.write_str("text"),
            SqlType::Varchar(n) => write!(f, "character varying({n})"),
            SqlType::Boolean => f.write_str("boolean"),
            SqlType::SmallInt => f.write_str("smallint"),
            SqlType::Integer => f.write_str("integer"),
            SqlType::BigInt => f.write_str("bigint"),
            SqlType::Numeric { precision, scale } => write!(f, "numeric({precision},{scale})"),
            SqlType::DoublePrecision => f.write_str("double precision"),
            SqlType::Date => f.write_str("date"),
            SqlType::TimestampTz => f.write_str("timestamp with time zone"),
            SqlType::Time => f.write_str("time without time zone"),
            SqlType::Interval => f.write_str("interval"),
            SqlType::Uuid => f.write_str("uuid"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_needs_precision_and_scale() {
        assert!(EdmType::parse("Edm.Decimal", Some(10), None).is_err());
        assert_eq!(EdmType::parse("Edm.Decimal", Some(10), Some(2)), Ok(EdmType::Decimal { precision: 10, scale: 2 }));
    }

    #[test]
    fn precision_on_a_non_decimal_type_is_rejected() {
        assert!(EdmType::parse("Edm.Int32", Some(10), None).is_err());
    }

    #[test]
    fn sql_types_are_spelled_as_postgres_formats_them() {
        assert_eq!(EdmType::String.sql_type(Some(64)).to_string(), "character varying(64)");
        assert_eq!(EdmType::String.sql_type(None).to_string(), "text");
        assert_eq!(EdmType::DateTimeOffset.sql_type(None).to_string(), "timestamp with time zone");
        assert_eq!(EdmType::Decimal { precision: 10, scale: 2 }.sql_type(None).to_string(), "numeric(10,2)");
    }
}
