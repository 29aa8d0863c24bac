//! Splits a raw query string into OData query options (`QueryOptions`): percent-decoding per
//! RFC 3986 (a `+` stays a `+`), system option names case-insensitive and with an optional `$`,
//! each system option at most once, parameter aliases collected, custom options ignored.

use std::collections::BTreeMap;

use super::error::SyntaxError;
use super::expand::{ExpandItem, parse_expand};
use super::expr::{Expr, OrderItem, SelectItem};
use super::parser::{parse_filter, parse_orderby, parse_select};

/// The query options of one request, parsed but not bound to the model.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueryOptions {
    pub filter: Option<Expr>,
    pub orderby: Option<Vec<OrderItem>>,
    pub select: Option<Vec<SelectItem>>,
    pub top: Option<u64>,
    pub skip: Option<u64>,
    pub count: Option<bool>,
    /// Opaque; decoded and verified by the planner.
    pub skiptoken: Option<String>,
    pub format: Option<String>,
    /// Parsed, nested options included; binding does not implement it yet (501).
    pub expand: Option<Vec<ExpandItem>>,
    /// Recognised options this server does not implement (`$search`, ...): answer 501.
    pub unsupported: Vec<String>,
    /// Parameter aliases `@name=value`, by name without `@`; values are decoded text.
    pub aliases: BTreeMap<String, String>,
}

/// The system query options, by canonical name.
const SUPPORTED: [&str; 9] =
    ["$filter", "$select", "$orderby", "$top", "$skip", "$count", "$skiptoken", "$format", "$expand"];
const UNSUPPORTED: [&str; 6] = ["$search", "$apply", "$compute", "$levels", "$index", "$schemaversion"];

/// Parses a raw query string (the part after `?`, still percent-encoded).
pub fn parse_query(query: &str) -> Result<QueryOptions, SyntaxError> {
    let mut out = QueryOptions::default();
    let mut seen: Vec<&'static str> = Vec::new();
    let mut offset = 0;
    for part in query.split('&') {
        let part_offset = offset;
        offset += part.len() + 1;
        if part.is_empty() {
            continue;
        }
        let (raw_name, raw_value) = match part.split_once('=') {
            Some((n, v)) => (n, Some((v, part_offset + n.len() + 1))),
            None => (part, None),
        };
        let name = percent_decode(raw_name, part_offset)?;
        if let Some(alias) = name.strip_prefix('@') {
            let Some((raw, at)) = raw_value else { return Err(SyntaxError::MissingValue(name)) };
            let value = percent_decode(raw, at)?;
            if out.aliases.insert(alias.to_owned(), value).is_some() {
                return Err(SyntaxError::DuplicateOption(name));
            }
            continue;
        }
        let canonical = canonical_name(&name);
        let Some(canonical) = canonical else {
            if name.starts_with('$') {
                return Err(SyntaxError::UnknownSystemOption(name));
            }
            continue; // a custom query option: ignored
        };
        if seen.contains(&canonical) {
            return Err(SyntaxError::DuplicateOption(canonical.to_owned()));
        }
        seen.push(canonical);
        if UNSUPPORTED.contains(&canonical) {
            out.unsupported.push(canonical.to_owned());
            continue;
        }
        let Some((raw, at)) = raw_value else { return Err(SyntaxError::MissingValue(canonical.to_owned())) };
        let value = percent_decode(raw, at)?;
        let in_option = |error| SyntaxError::InOption { option: canonical.to_owned(), error: Box::new(error) };
        match canonical {
            "$filter" => out.filter = Some(parse_filter(&value).map_err(in_option)?),
            "$orderby" => out.orderby = Some(parse_orderby(&value).map_err(in_option)?),
            "$select" => out.select = Some(parse_select(&value).map_err(in_option)?),
            "$top" => out.top = Some(non_negative(canonical, &value)?),
            "$skip" => out.skip = Some(non_negative(canonical, &value)?),
            "$count" => {
                out.count = Some(match value.as_str() {
                    "true" => true,
                    "false" => false,
                    _ => return Err(SyntaxError::InvalidBoolean(value)),
                })
            }
            "$skiptoken" => out.skiptoken = Some(value),
            "$format" => out.format = Some(value),
            _ => out.expand = Some(parse_expand(&value).map_err(in_option)?),
        }
    }
    Ok(out)
}

/// The canonical name of a system query option written as `name` (`$FILTER`, `filter`, ...).
fn canonical_name(name: &str) -> Option<&'static str> {
    let bare = name.strip_prefix('$').unwrap_or(name);
    SUPPORTED.iter().chain(UNSUPPORTED.iter()).copied().find(|c| c[1..].eq_ignore_ascii_case(bare))
}

pub(super) fn non_negative(option: &str, value: &str) -> Result<u64, SyntaxError> {
    let invalid = || SyntaxError::InvalidInteger { option: option.to_owned(), value: value.to_owned() };
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    value.parse().map_err(|_| invalid())
}

/// Percent-decodes `raw` (RFC 3986: `+` is not a space); `offset` locates `raw` in the query
/// string for error positions.
pub(crate) fn percent_decode(raw: &str, offset: usize) -> Result<String, SyntaxError> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = |b: u8| (b as char).to_digit(16);
            match (bytes.get(i + 1).and_then(|&b| hex(b)), bytes.get(i + 2).and_then(|&b| hex(b))) {
                (Some(h), Some(l)) => out.push((h * 16 + l) as u8),
                _ => return Err(SyntaxError::InvalidPercentEncoding { position: offset + raw[..i].chars().count() }),
            }
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| SyntaxError::InvalidUtf8 { text: raw.to_owned() })
}
