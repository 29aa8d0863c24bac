//! Checks one input record against an entity set and turns it into PostgreSQL text values.
//!
//! Invariants: only properties stored in a column are writable; derived (local-time)
//! properties, the tenant column and unknown names are rejected. Every value that passes is
//! written in one canonical text form that PostgreSQL reads back unchanged when cast with
//! `$n::text::<type>` (date-times in UTC with `Z`, GUIDs in lowercase, integers without
//! leading zeros). A record yields either all its values or every problem found in it.
//!
//! The row-filter column of a set that is a view of a shared table (`media` for Calls) is part
//! of `Columns` and always holds the set's filter value; the input may repeat that value but
//! not contradict it. `tenant_id` and `updated_at` are not part of `Columns`: the writer fills
//! them from the token and the clock.

use crate::odata::edm::EdmType;
use crate::odata::model::{AllowedValue, DELETED_COLUMN, EntitySet, SetKind, Source, TENANT_COLUMN};
use chrono::{DateTime, NaiveDate, NaiveTime, SecondsFormat, Utc};
use std::collections::HashMap;

/// The longest value, in characters, quoted in a problem.
const MAX_QUOTED_CHARS: usize = 100;

/// One input value: from NDJSON (a JSON value) or from CSV (text; the empty string means null).
#[derive(Debug, Clone, Copy)]
pub enum RawValue<'a> {
    Json(&'a serde_json::Value),
    Text(&'a str),
}

/// What is wrong with one value or record; row is 1-based (the data row, header excluded).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Problem {
    pub row: u64,
    pub property: Option<String>,
    pub value: Option<String>,
    pub reason: String,
}

/// The writable columns of one entity set, in table order (by column name), and how input
/// names map onto them. Built once per set.
#[derive(Debug, Clone)]
pub struct Columns {
    set: String,
    names: Vec<String>,
    slots: Vec<Slot>,
    fields: HashMap<String, Field>,
}

/// What fills one column.
#[derive(Debug, Clone)]
enum Slot {
    /// A property's value; `fixed` is the row filter's value when the property publishes it.
    Property {
        name: String,
        edm_type: EdmType,
        max_length: Option<u32>,
        required: Required,
        fixed: Option<String>,
        allowed: Vec<String>,
    },
    /// The row filter's value, not published as a property.
    Filter { value: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Required {
    Key,
    NotNull,
    No,
}

/// What an input name refers to.
#[derive(Debug, Clone)]
enum Field {
    Column(usize),
    Derived {
        from: Option<String>,
    },
    Tenant,
    /// Kept by the service itself (a lookup object's `deletedAt`).
    Managed {
        reason: &'static str,
    },
}

impl Columns {
    /// The writable columns of `set`: every property stored in a column (not the tenant), plus
    /// the row-filter column, ordered by column name as the table declares them.
    pub fn new(set: &EntitySet) -> Columns {
        let mut columns: Vec<(String, Slot)> = Vec::new();
        let mut fields = HashMap::new();
        let published =
            |column: &str| set.properties.iter().any(|p| matches!(&p.source, Source::Column(c) if c == column));
        for property in &set.properties {
            let column = match &property.source {
                Source::Column(column) => column,
                // A local time whose UTC column no property publishes is the only way to send
                // that instant: any offset is accepted, and the value is stored in UTC.
                Source::LocalTimeOf(column) if !published(column) => column,
                Source::LocalTimeOf(_) => continue,
            };
            if column == TENANT_COLUMN {
                continue;
            }
            if set.kind == SetKind::Lookup && column == DELETED_COLUMN {
                let reason = "set by the nightly lookup refresh when an object leaves the source; do not send it";
                fields.insert(property.name.clone(), Field::Managed { reason });
                continue;
            }
            if columns.iter().any(|(c, _)| c == column) {
                continue; // a second property on one column: the first one is the input name
            }
            let required = if set.key.contains(&property.name) {
                Required::Key
            } else if !property.nullable {
                Required::NotNull
            } else {
                Required::No
            };
            let fixed = set.row_filter.as_ref().filter(|f| &f.column == column).map(|f| f.value.clone());
            let slot = Slot::Property {
                name: property.name.clone(),
                edm_type: property.edm_type,
                max_length: property.max_length,
                required,
                fixed,
                allowed: property.allowed_values.iter().map(|AllowedValue { value, .. }| value.clone()).collect(),
            };
            columns.push((column.clone(), slot));
        }
        if let Some(filter) = &set.row_filter
            && !columns.iter().any(|(c, _)| *c == filter.column)
        {
            columns.push((filter.column.clone(), Slot::Filter { value: filter.value.clone() }));
        }
        columns.sort_by(|a, b| a.0.cmp(&b.0));
        for (i, (column, slot)) in columns.iter().enumerate() {
            match slot {
                Slot::Property { name, .. } => fields.insert(name.clone(), Field::Column(i)),
                Slot::Filter { .. } => fields.insert(column.clone(), Field::Column(i)),
            };
        }
        for property in &set.properties {
            match &property.source {
                Source::Column(column) if column == TENANT_COLUMN => {
                    fields.insert(property.name.clone(), Field::Tenant);
                }
                Source::LocalTimeOf(_) if matches!(fields.get(&property.name), Some(Field::Column(_))) => {}
                Source::LocalTimeOf(column) => {
                    let from = set
                        .properties
                        .iter()
                        .find(|p| matches!(&p.source, Source::Column(c) if c == column))
                        .map(|p| p.name.clone());
                    fields.insert(property.name.clone(), Field::Derived { from });
                }
                Source::Column(_) => {}
            }
        }
        fields.entry(TENANT_COLUMN.to_string()).or_insert(Field::Tenant);
        fields.entry("tenantId".to_string()).or_insert(Field::Tenant);
        let (names, slots) = columns.into_iter().unzip();
        Columns { set: set.name.clone(), names, slots, fields }
    }

    /// The column names, in the order `record` returns values.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The entity set these columns belong to.
    pub fn set(&self) -> &str {
        &self.set
    }

    /// The property (name and type) that fills column `index`; None for a row filter that no
    /// property publishes.
    pub fn property(&self, index: usize) -> Option<(&str, EdmType)> {
        match self.slots.get(index)? {
            Slot::Property { name, edm_type, .. } => Some((name, *edm_type)),
            Slot::Filter { .. } => None,
        }
    }

    /// The input name of a column (its property, or the column itself for a row filter).
    pub fn input_name(&self, column: &str) -> Option<&str> {
        let index = self.names.iter().position(|c| c == column)?;
        Some(self.property(index).map_or(self.names[index].as_str(), |(name, _)| name))
    }

    /// The problems of a CSV header: names that no record could use (unknown, the tenant,
    /// derived or service-kept properties), reported once as row 0.
    pub fn check_header(&self, header: &[String]) -> Vec<Problem> {
        header
            .iter()
            .filter_map(|name| self.column_of(name).err().map(|reason| (name, reason)))
            .map(|(name, reason)| Problem { row: 0, property: Some(name.clone()), value: None, reason })
            .collect()
    }

    /// The column an input name fills, or why it cannot be sent.
    fn column_of(&self, name: &str) -> Result<usize, String> {
        match self.fields.get(name) {
            Some(Field::Column(index)) => Ok(*index),
            None => Err(format!("not a property of {}", self.set)),
            Some(Field::Tenant) => Err("the tenant comes from the token; do not send it".to_string()),
            Some(Field::Managed { reason }) => Err((*reason).to_string()),
            Some(Field::Derived { from: Some(from) }) => {
                Err(format!("derived from {from}; send that property instead"))
            }
            Some(Field::Derived { from: None }) => Err("derived at read time; it cannot be sent".to_string()),
        }
    }
}

/// Checks one record (property name → raw value) against the set; Ok(values in `Columns`
/// order) or every problem found in it.
pub fn record<'a>(
    columns: &Columns,
    row: u64,
    fields: impl IntoIterator<Item = (&'a str, RawValue<'a>)>,
) -> Result<Vec<Option<String>>, Vec<Problem>> {
    let mut values: Vec<Option<String>> = vec![None; columns.slots.len()];
    let mut seen = vec![false; columns.slots.len()];
    let mut problems = Vec::new();
    let problem = |property: &str, value: Option<RawValue>, reason: String| Problem {
        row,
        property: Some(property.to_string()),
        value: value.and_then(quote),
        reason,
    };
    for (name, raw) in fields {
        let index = match columns.column_of(name) {
            Ok(index) => index,
            Err(reason) => {
                problems.push(problem(name, Some(raw), reason));
                continue;
            }
        };
        if std::mem::replace(&mut seen[index], true) {
            problems.push(problem(name, Some(raw), "given more than once in the record".into()));
            continue;
        }
        match &columns.slots[index] {
            Slot::Filter { value } => match text_of(raw) {
                Some(text) if text == value => {}
                _ => {
                    let reason = format!("{} holds only rows with {name} = '{value}'", columns.set);
                    problems.push(problem(name, Some(raw), reason));
                }
            },
            Slot::Property { edm_type, max_length, required, fixed, allowed, .. } => {
                match convert(raw, *edm_type, *max_length) {
                    Err(reason) => problems.push(problem(name, Some(raw), reason)),
                    Ok(None) => match required {
                        Required::Key => problems.push(problem(name, None, "part of the key; must not be null".into())),
                        Required::NotNull => {
                            problems.push(problem(name, None, "not nullable; must not be null".into()))
                        }
                        Required::No => {}
                    },
                    Ok(Some(text)) => {
                        if let Some(value) = fixed.as_ref().filter(|v| **v != text) {
                            let reason = format!("{} holds only rows with {name} = '{value}'", columns.set);
                            problems.push(problem(name, Some(raw), reason));
                        } else if !allowed.is_empty() && !allowed.contains(&text) {
                            let reason = format!("not one of the allowed values: {}", allowed.join(", "));
                            problems.push(problem(name, Some(raw), reason));
                        } else {
                            values[index] = Some(text);
                        }
                    }
                }
            }
        }
    }
    for (index, slot) in columns.slots.iter().enumerate() {
        match slot {
            Slot::Filter { value } => values[index] = Some(value.clone()),
            Slot::Property { fixed: Some(value), .. } if !seen[index] => values[index] = Some(value.clone()),
            Slot::Property { name, required, .. } if !seen[index] => match required {
                Required::Key => problems.push(problem(name, None, "part of the key; missing".into())),
                Required::NotNull => problems.push(problem(name, None, "not nullable; missing".into())),
                Required::No => {}
            },
            Slot::Property { .. } => {}
        }
    }
    if problems.is_empty() { Ok(values) } else { Err(problems) }
}

/// The value as a problem quotes it, at most `MAX_QUOTED_CHARS` characters (None for null).
fn quote(raw: RawValue) -> Option<String> {
    let text = match raw {
        RawValue::Json(serde_json::Value::Null) => return None,
        RawValue::Json(serde_json::Value::String(s)) => s.clone(),
        RawValue::Json(other) => other.to_string(),
        RawValue::Text(s) => s.to_string(),
    };
    if text.chars().count() <= MAX_QUOTED_CHARS {
        return Some(text);
    }
    let mut short: String = text.chars().take(MAX_QUOTED_CHARS - 1).collect();
    short.push('…');
    Some(short)
}

/// The text of a value given as text: a CSV field or a JSON string (None otherwise).
fn text_of(raw: RawValue<'_>) -> Option<&str> {
    match raw {
        RawValue::Text(s) => Some(s),
        RawValue::Json(serde_json::Value::String(s)) => Some(s),
        RawValue::Json(_) => None,
    }
}

/// The canonical PostgreSQL text of `raw` as `edm_type`; Ok(None) for null.
fn convert(raw: RawValue, edm_type: EdmType, max_length: Option<u32>) -> Result<Option<String>, String> {
    use serde_json::Value;
    let json = match raw {
        RawValue::Json(Value::Null) => return Ok(None),
        RawValue::Text("") => return Ok(None),
        RawValue::Json(v) => Some(v),
        RawValue::Text(_) => None,
    };
    let expected = |what: &str| format!("expected {what} for {edm_type}");
    let number: String;
    let text = match (edm_type, json) {
        (_, None) => text_of(raw).unwrap_or_default(),
        (EdmType::Boolean, Some(Value::Bool(b))) => return Ok(Some(b.to_string())),
        (EdmType::Boolean, Some(_)) => return Err(expected("a JSON true or false")),
        (EdmType::Int16 | EdmType::Int32 | EdmType::Int64, Some(Value::Number(n))) => {
            let Some(n) = n.as_i64().map(i128::from).or(n.as_u64().map(i128::from)) else {
                return Err(expected("an integer without fraction or exponent"));
            };
            return int_in_range(n, edm_type).map(Some);
        }
        (EdmType::Int64 | EdmType::Decimal { .. }, Some(Value::String(s))) => s,
        (EdmType::Decimal { .. } | EdmType::Double, Some(Value::Number(n))) => {
            number = n.to_string();
            &number
        }
        (EdmType::Double, Some(Value::String(s))) if matches!(s.as_str(), "NaN" | "INF" | "-INF") => s,
        (EdmType::Int16 | EdmType::Int32 | EdmType::Int64 | EdmType::Decimal { .. } | EdmType::Double, Some(_)) => {
            return Err(expected("a JSON number"));
        }
        (_, Some(Value::String(s))) => s,
        (_, Some(_)) => return Err(expected("a JSON string")),
    };
    parse_text(text, edm_type, max_length).map(Some)
}

/// Parses the text form of a value (CSV, or the JSON string of a text-shaped type).
fn parse_text(text: &str, edm_type: EdmType, max_length: Option<u32>) -> Result<String, String> {
    let invalid = |what: &str| format!("not a valid {edm_type}: expected {what}");
    match edm_type {
        EdmType::String => {
            if text.contains('\0') {
                return Err("contains a NUL character, which PostgreSQL text cannot store".into());
            }
            let chars = text.chars().count();
            match max_length {
                Some(max) if chars > max as usize => Err(format!("{chars} characters, more than the {max} allowed")),
                _ => Ok(text.to_string()),
            }
        }
        EdmType::Boolean => match text.to_ascii_lowercase().as_str() {
            "true" => Ok("true".into()),
            "false" => Ok("false".into()),
            _ => Err(invalid("true or false")),
        },
        EdmType::Int16 | EdmType::Int32 | EdmType::Int64 => {
            let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid("an integer (digits with an optional sign)"));
            }
            // Beyond 38 digits it is out of range whatever the leading zeros.
            let n = text.parse::<i128>().map_err(|_| format!("out of range for {edm_type}"))?;
            int_in_range(n, edm_type)
        }
        EdmType::Decimal { precision, scale } => decimal(text, precision, scale).map_err(|e| match e {
            None => invalid("digits with an optional sign and fraction, no exponent"),
            Some(reason) => reason,
        }),
        EdmType::Double => match text {
            "NaN" => Ok("NaN".into()),
            "INF" => Ok("Infinity".into()),
            "-INF" => Ok("-Infinity".into()),
            _ => match text.parse::<f64>() {
                Ok(v) if v.is_finite() && !text.starts_with(|c: char| c.is_ascii_alphabetic()) => Ok(v.to_string()),
                _ => Err(invalid("a number (or NaN, INF, -INF)")),
            },
        },
        EdmType::Guid => {
            let shape = text.len() == 36
                && text
                    .char_indices()
                    .all(|(i, c)| if [8, 13, 18, 23].contains(&i) { c == '-' } else { c.is_ascii_hexdigit() });
            if shape { Ok(text.to_ascii_lowercase()) } else { Err(invalid("8-4-4-4-12 hexadecimal digits")) }
        }
        EdmType::Date => {
            let shape = text.len() == 10
                && text.char_indices().all(|(i, c)| if i == 4 || i == 7 { c == '-' } else { c.is_ascii_digit() });
            match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
                Ok(d) if shape => Ok(d.format("%Y-%m-%d").to_string()),
                _ => Err(invalid("a date YYYY-MM-DD")),
            }
        }
        EdmType::TimeOfDay => {
            let shape = text.len() >= 8
                && text
                    .char_indices()
                    .take(8)
                    .all(|(i, c)| if i == 2 || i == 5 { c == ':' } else { c.is_ascii_digit() });
            match NaiveTime::parse_from_str(text, "%H:%M:%S%.f") {
                Ok(t) if shape => Ok(t.format("%H:%M:%S%.f").to_string()),
                _ => Err(invalid("a time hh:mm:ss with an optional fraction")),
            }
        }
        EdmType::DateTimeOffset => match DateTime::parse_from_rfc3339(text) {
            Ok(t) => Ok(t.with_timezone(&Utc).to_rfc3339_opts(SecondsFormat::AutoSi, true)),
            Err(_) => Err(invalid("an RFC 3339 date-time with an offset or Z, e.g. 2024-05-01T08:30:00Z")),
        },
        EdmType::Duration => duration(text).ok_or_else(|| invalid("an ISO 8601 duration such as P1DT2H3M4.5S")),
    }
}

/// `n` as text when it fits `edm_type` (an integer type).
fn int_in_range(n: i128, edm_type: EdmType) -> Result<String, String> {
    let (min, max) = match edm_type {
        EdmType::Int16 => (i16::MIN.into(), i16::MAX.into()),
        EdmType::Int32 => (i32::MIN.into(), i32::MAX.into()),
        _ => (i64::MIN.into(), i64::MAX.into()),
    };
    if (min..=max).contains(&n) {
        Ok(n.to_string())
    } else {
        Err(format!("out of range for {edm_type} ({min} to {max})"))
    }
}

/// The canonical text of a decimal; Err(None) when it is not decimal syntax at all.
fn decimal(text: &str, precision: u8, scale: u8) -> Result<String, Option<String>> {
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (int, frac) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !digits(int) || !digits(frac) || unsigned.ends_with('.') {
        return Err(None);
    }
    let int = int.trim_start_matches('0');
    let frac = frac.trim_end_matches('0');
    let int_max = usize::from(precision - scale);
    if int.len() > int_max {
        return Err(Some(format!(
            "more than {int_max} digits before the decimal point for Edm.Decimal({precision},{scale})"
        )));
    }
    if frac.len() > usize::from(scale) {
        return Err(Some(format!(
            "more than {scale} digits after the decimal point for Edm.Decimal({precision},{scale})"
        )));
    }
    let mut out = String::new();
    if negative && !(int.is_empty() && frac.is_empty()) {
        out.push('-');
    }
    out.push_str(if int.is_empty() { "0" } else { int });
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    Ok(out)
}

/// An ISO 8601 duration `[-]P[nD][T[nH][nM][n[.n]S]]` as given (PostgreSQL reads it as an interval).
fn duration(text: &str) -> Option<String> {
    let body = text.strip_prefix('-').unwrap_or(text).strip_prefix('P')?;
    let (date, time) = match body.split_once('T') {
        Some((d, t)) if !t.is_empty() => (d, Some(t)),
        Some(_) => return None,
        None => (body, None),
    };
    let units = |s: &str, allowed: &[char], fraction_on: Option<char>| -> Option<usize> {
        let mut count = 0;
        let mut rest = s;
        let mut allowed = allowed.iter();
        while !rest.is_empty() {
            let end = rest.find(|c: char| !c.is_ascii_digit() && c != '.')?;
            let (number, unit) = (&rest[..end], rest[end..].chars().next()?);
            allowed.find(|&&u| u == unit)?;
            let (whole, frac) = number.split_once('.').unwrap_or((number, "0"));
            let ok =
                !whole.is_empty() && !frac.is_empty() && whole.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit());
            if !ok || (number.contains('.') && Some(unit) != fraction_on) {
                return None;
            }
            rest = &rest[end + 1..];
            count += 1;
        }
        Some(count)
    };
    let n = units(date, &['D'], None)? + time.map_or(Some(0), |t| units(t, &['H', 'M', 'S'], Some('S')))?;
    (n > 0).then(|| text.to_string())
}

#[cfg(test)]
#[path = "validate_tests.rs"]
mod tests;
