//! Turns a parsed literal into a typed `Value`, normalised to text PostgreSQL reads exactly:
//! integers become Int32 or Int64 by size, `INF` becomes `Infinity`, durations become seconds,
//! and temporal values outside the years 0001 to 9999 are refused.

use super::BindError;
use super::types::{ScalarType, Value};
use crate::odata::uri::Literal;

/// The typed value of a literal; `Ok(None)` for `null`.
pub fn value(lit: &Literal) -> Result<Option<Value>, BindError> {
    let invalid = |reason: &str| BindError::InvalidLiteral { literal: lit.to_string(), reason: reason.to_owned() };
    Ok(Some(match lit {
        Literal::Null => return Ok(None),
        Literal::Boolean(b) => Value::new(ScalarType::Boolean, if *b { "true" } else { "false" }),
        Literal::Int(n) if i32::try_from(*n).is_ok() => Value::new(ScalarType::Int32, n.to_string()),
        Literal::Int(n) => Value::new(ScalarType::Int64, n.to_string()),
        Literal::Decimal(text) => Value::new(ScalarType::Decimal, text.trim_end_matches(['m', 'M'])),
        Literal::Double(text) => Value::new(
            ScalarType::Double,
            match text.as_str() {
                "INF" => "Infinity",
                "-INF" => "-Infinity",
                other => other,
            },
        ),
        Literal::String(s) => Value::new(ScalarType::String, s.clone()),
        Literal::Guid(g) => Value::new(ScalarType::Guid, g.to_ascii_lowercase()),
        Literal::Date(text) => {
            check_year(text).map_err(|r| invalid(&r))?;
            Value::new(ScalarType::Date, text.clone())
        }
        Literal::DateTimeOffset(text) => {
            check_year(text).map_err(|r| invalid(&r))?;
            Value::new(ScalarType::DateTimeOffset, text.clone())
        }
        Literal::TimeOfDay(text) => Value::new(ScalarType::TimeOfDay, text.clone()),
        Literal::Duration(text) => Value::new(ScalarType::Duration, duration_seconds(text).map_err(|r| invalid(&r))?),
        Literal::Binary(_) => return Err(BindError::NotImplemented("Edm.Binary literals".into())),
        Literal::Enum { type_name, .. } => {
            return Err(BindError::UnknownType(type_name.clone()));
        }
    }))
}

/// Refuses dates before year 1 or after 9999, which OData's and PostgreSQL's ranges do not share.
fn check_year(text: &str) -> Result<(), String> {
    let year = text.split('-').next().unwrap_or_default();
    match year.parse::<u32>() {
        Ok(1..=9999) if year.len() == 4 => Ok(()),
        _ => Err("years outside 0001 to 9999 are not supported".into()),
    }
}

/// An ISO 8601 duration (`[-]P[nD][T[nH][nM][n[.n]S]]`, already checked by the lexer) as
/// PostgreSQL interval text in seconds, e.g. `-90061.5 seconds`; a day is 24 hours.
fn duration_seconds(text: &str) -> Result<String, String> {
    let (negative, rest) = match text.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, text),
    };
    let rest = rest.strip_prefix('P').ok_or("a duration starts with P")?;
    let mut whole: u128 = 0;
    let mut fraction = String::new();
    let mut number = String::new();
    let mut in_time = false;
    let overflow = || "the duration is too long".to_string();
    for ch in rest.chars() {
        match ch {
            'T' => in_time = true,
            '0'..='9' | '.' => number.push(ch),
            'D' | 'H' | 'M' | 'S' => {
                let unit: u128 = match (ch, in_time) {
                    ('D', false) => 86_400,
                    ('H', true) => 3_600,
                    ('M', true) => 60,
                    ('S', true) => 1,
                    _ => return Err(format!("unexpected `{ch}` in the duration")),
                };
                let (int, frac) = number.split_once('.').unwrap_or((&number, ""));
                let int: u128 = int.parse().map_err(|_| overflow())?;
                whole = int.checked_mul(unit).and_then(|v| v.checked_add(whole)).ok_or_else(overflow)?;
                if !frac.is_empty() {
                    fraction = frac.to_owned();
                }
                number.clear();
            }
            _ => return Err(format!("unexpected `{ch}` in the duration")),
        }
    }
    if whole > 100_000 * 365 * 86_400 {
        return Err(overflow());
    }
    let sign = if negative { "-" } else { "" };
    let fraction = if fraction.is_empty() { String::new() } else { format!(".{fraction}") };
    Ok(format!("{sign}{whole}{fraction} seconds"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_become_seconds() {
        assert_eq!(duration_seconds("P1DT2H3M4.5S").unwrap(), "93784.5 seconds");
        assert_eq!(duration_seconds("-PT30M").unwrap(), "-1800 seconds");
        assert_eq!(duration_seconds("P0D").unwrap(), "0 seconds");
    }

    #[test]
    fn integers_take_the_smallest_type_that_holds_them() {
        assert_eq!(value(&Literal::Int(5)).unwrap().unwrap().ty, ScalarType::Int32);
        assert_eq!(value(&Literal::Int(5_000_000_000)).unwrap().unwrap().ty, ScalarType::Int64);
    }

    #[test]
    fn a_date_before_year_one_is_refused() {
        assert!(value(&Literal::Date("-0100-01-01".into())).is_err());
        assert!(value(&Literal::DateTimeOffset("10000-01-01T00:00:00Z".into())).is_err());
        assert!(value(&Literal::DateTimeOffset("2024-02-29T10:00:00+01:00".into())).is_ok());
    }
}
