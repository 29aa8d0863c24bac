//! OData JSON for entities read from PostgreSQL rows: the property writer for one entity
//! (`EntityWriter`) and the envelope of a collection page (context, count, value, next link).
//!
//! Invariants: every selected property is written for every entity (`null` when null) unless
//! the client asked to omit nulls; Int64 and Decimal are strings only under IEEE754Compatible;
//! decimals come from PostgreSQL's own text, so they never take an exponent.

use super::primitive as p;
use crate::odata::edm::EdmType;
use crate::odata::model::{EntitySet, NAMESPACE, Property};
use crate::odata::sql::{EntityLayout, SortColumn};
use bytes::BufMut;
use chrono_tz::Tz;
use tokio_postgres::Row;
use tokio_postgres::types::{FromSql, Type};

/// `odata.metadata` of the response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetadataLevel {
    Minimal,
    Full,
    None,
}

/// How the client asked for JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonOptions {
    pub metadata: MetadataLevel,
    /// `IEEE754Compatible=true`: Int64 and Decimal values as strings.
    pub ieee754: bool,
    /// `Prefer: omit-values=nulls`.
    pub omit_nulls: bool,
}

impl JsonOptions {
    /// The `Content-Type` of a JSON response with these options.
    pub fn content_type(&self) -> String {
        let metadata = match self.metadata {
            MetadataLevel::Minimal => "minimal",
            MetadataLevel::Full => "full",
            MetadataLevel::None => "none",
        };
        format!(
            "application/json;odata.metadata={metadata};odata.streaming=true;IEEE754Compatible={}",
            if self.ieee754 { "true" } else { "false" }
        )
    }
}

/// How a column's value is read from the row and written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    String,
    Int32,
    Int64,
    Boolean,
    /// Read as text (`numeric::text`).
    Decimal,
    Double,
    /// A timestamptz, written in UTC or, for local-time properties, in the tenant's zone.
    Instant {
        local: bool,
    },
    Date,
    Time,
}

impl Kind {
    fn of(property: &Property) -> Kind {
        match property.edm_type {
            EdmType::String | EdmType::Guid | EdmType::Duration => Kind::String,
            EdmType::Boolean => Kind::Boolean,
            EdmType::Int16 | EdmType::Int32 => Kind::Int32,
            EdmType::Int64 => Kind::Int64,
            EdmType::Decimal { .. } => Kind::Decimal,
            EdmType::Double => Kind::Double,
            EdmType::Date => Kind::Date,
            EdmType::DateTimeOffset => Kind::Instant { local: property.is_local_time() },
            EdmType::TimeOfDay => Kind::Time,
        }
    }

    /// The `@odata.type` full metadata adds: types JSON alone cannot tell apart.
    fn annotation(self, edm: EdmType) -> Option<&'static str> {
        match self {
            Kind::String | Kind::Boolean | Kind::Int32 | Kind::Double => None,
            _ => Some(match edm {
                EdmType::Int64 => "#Int64",
                EdmType::Decimal { .. } => "#Decimal",
                EdmType::Date => "#Date",
                EdmType::TimeOfDay => "#TimeOfDay",
                _ => "#DateTimeOffset",
            }),
        }
    }
}

/// A `timestamptz` as microseconds since 1970-01-01T00:00:00Z, read without chrono.
struct Instant(i64);
/// A text value as the bytes PostgreSQL sent. The database encoding is UTF-8 (the cluster is
/// created so, and the server checks every string it stores), so they are not validated again.
struct RawText<'a>(&'a [u8]);
/// Any value, read only to learn whether it is null.
struct Present;

impl<'a> FromSql<'a> for Present {
    fn from_sql(_: &Type, _: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Present)
    }
    fn accepts(_: &Type) -> bool {
        true
    }
}

/// A `date` as days since 1970-01-01.
struct Days(i32);
/// A `time` as microseconds since midnight.
struct TimeMicros(i64);

/// Microseconds between 1970-01-01 and PostgreSQL's epoch 2000-01-01.
const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;
const PG_EPOCH_DAYS: i32 = 10_957;

fn be_i64(raw: &[u8]) -> Result<i64, Box<dyn std::error::Error + Sync + Send>> {
    Ok(i64::from_be_bytes(raw.try_into().map_err(|_| "an 8-byte value was expected")?))
}

impl<'a> FromSql<'a> for Instant {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Instant(be_i64(raw)?.saturating_add(PG_EPOCH_MICROS)))
    }
    fn accepts(ty: &Type) -> bool {
        *ty == Type::TIMESTAMPTZ || *ty == Type::TIMESTAMP
    }
}

impl<'a> FromSql<'a> for RawText<'a> {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(RawText(raw))
    }
    fn accepts(ty: &Type) -> bool {
        <&str as FromSql>::accepts(ty)
    }
}

impl<'a> FromSql<'a> for Days {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        let days = i32::from_be_bytes(raw.try_into().map_err(|_| "a 4-byte date was expected")?);
        Ok(Days(days.saturating_add(PG_EPOCH_DAYS)))
    }
    fn accepts(ty: &Type) -> bool {
        *ty == Type::DATE
    }
}

impl<'a> FromSql<'a> for TimeMicros {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(TimeMicros(be_i64(raw)?))
    }
    fn accepts(ty: &Type) -> bool {
        *ty == Type::TIME
    }
}

/// A row value that could not be read as its property's type (a schema mismatch).
#[derive(Debug, thiserror::Error)]
#[error("column {column} of the result could not be read: {source}")]
pub struct RowError {
    column: usize,
    source: tokio_postgres::Error,
}

impl RowError {
    pub fn new(column: usize, source: tokio_postgres::Error) -> RowError {
        RowError { column, source }
    }
}

/// Writes entities of one entity set with a fixed list of properties.
pub struct EntityWriter {
    /// `"name":` for each column, pre-rendered.
    names: Vec<Vec<u8>>,
    kinds: Vec<Kind>,
    /// `"name@odata.type":"#T",` for each column (full metadata only).
    annotations: Vec<Option<Vec<u8>>>,
    options: JsonOptions,
    local: p::LocalOffset,
    /// Full metadata: `"@odata.type":"#NS.Type",`.
    type_annotation: Option<Vec<u8>>,
    /// Full metadata, or a reference: `<root>/Set(`, the start of `@odata.id`.
    id_base: Option<String>,
    /// Full metadata: the navigation properties whose links are written.
    links: Vec<String>,
    /// For each column, where the row holds it.
    positions: Vec<usize>,
    /// For each key property, its name, kind and the column holding its text (for `@odata.id`).
    key_columns: Vec<(String, Kind, SortColumn)>,
    /// Expansions written from the entity's own row, after the properties.
    nested: Vec<Nested>,
    /// Expansions whose entities come in rows of their own (written by `EntityTree`).
    pub(crate) rows: Vec<RowsChild>,
    /// Written as an entity reference (`{"@odata.id":...}`) only.
    reference: bool,
}

/// An expansion written from its parent's row.
enum Nested {
    /// `"Channel":{...}` or `"Channel":null`.
    Joined {
        /// `"Name":`, pre-rendered.
        name: Vec<u8>,
        /// The column that is null when there is no related entity.
        present: usize,
        writer: Box<EntityWriter>,
    },
    /// `"Nav@odata.count":n`.
    Count { name: Vec<u8>, column: usize },
}

/// An expansion whose related entities follow their parent's row.
pub(crate) struct RowsChild {
    /// `"Name":`, pre-rendered.
    pub name: Vec<u8>,
    /// `"Name@odata.count":` and the parent's column holding the count, when asked for.
    pub count: Option<(Vec<u8>, usize)>,
    pub collection: bool,
}

/// `"name":` as JSON.
pub(crate) fn member_name(name: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(name.len() + 3);
    p::write_string(&mut out, name);
    out.push(b':');
    out
}

impl EntityWriter {
    /// `columns` are the property indexes written, `layout.properties` where the row holds
    /// each; `key_columns` give, for each key property in key order, the column holding its
    /// text (full metadata builds `@odata.id` from them).
    pub fn new(
        set: &EntitySet,
        columns: &[usize],
        layout: &EntityLayout,
        options: JsonOptions,
        time_zone: Tz,
        service_root: &str,
        key_columns: &[SortColumn],
    ) -> EntityWriter {
        let properties: Vec<&Property> = columns.iter().map(|&i| &set.properties[i]).collect();
        let full = options.metadata == MetadataLevel::Full;
        let names = properties.iter().map(|prop| member_name(&prop.name)).collect();
        let kinds: Vec<Kind> = properties.iter().map(|prop| Kind::of(prop)).collect();
        let annotations = properties
            .iter()
            .zip(&kinds)
            .map(|(prop, kind)| {
                let t = kind.annotation(prop.edm_type).filter(|_| full)?;
                Some(format!("\"{}@odata.type\":\"{t}\",", prop.name).into_bytes())
            })
            .collect();
        let type_annotation =
            full.then(|| format!("\"@odata.type\":\"#{NAMESPACE}.{}\",", set.entity_type).into_bytes());
        let id_base = full.then(|| format!("{service_root}/{}(", set.name));
        let key_columns =
            set.key_properties().zip(key_columns).map(|(prop, &at)| (prop.name.clone(), Kind::of(prop), at)).collect();
        EntityWriter {
            names,
            kinds,
            annotations,
            options,
            local: p::LocalOffset::new(time_zone),
            type_annotation,
            id_base,
            links: Vec::new(),
            positions: layout.properties.clone(),
            key_columns,
            nested: Vec::new(),
            rows: Vec::new(),
            reference: false,
        }
    }

    /// A writer of entity references (`{"@odata.id":"<root>/Set(key)"}`), the key's text at
    /// `key_columns`.
    pub fn references(set: &EntitySet, service_root: &str, key_columns: &[SortColumn], options: JsonOptions) -> Self {
        let layout = EntityLayout::default();
        let mut writer = EntityWriter::new(set, &[], &layout, options, Tz::UTC, service_root, key_columns);
        writer.id_base = Some(format!("{service_root}/{}(", set.name));
        writer.reference = true;
        writer
    }

    /// Full metadata: writes `Nav@odata.navigationLink` for these navigation properties (those
    /// expanded excepted).
    pub fn navigation_links(&mut self, names: Vec<String>) {
        if self.type_annotation.is_some() {
            self.links = names;
        }
    }

    /// Adds an expanded related entity joined into the row: `"name":{...}`, or `null` when the
    /// column `present` is null.
    pub fn join(&mut self, name: &str, present: usize, writer: EntityWriter) {
        self.links.retain(|n| n != name);
        self.nested.push(Nested::Joined { name: member_name(name), present, writer: Box::new(writer) });
    }

    /// Adds `"name@odata.count":n` from `column`.
    pub fn count(&mut self, name: &str, column: usize) {
        self.nested.push(Nested::Count { name: member_name(&format!("{name}@odata.count")), column });
    }

    /// Adds an expansion whose entities come in rows of their own.
    pub(crate) fn rows(&mut self, name: &str, count: Option<usize>, collection: bool) {
        self.links.retain(|n| n != name);
        let count = count.map(|column| (member_name(&format!("{name}@odata.count")), column));
        self.rows.push(RowsChild { name: member_name(name), count, collection });
    }

    /// The options nested entities are written with: no `@odata.id` of their own, so full
    /// metadata is written as minimal.
    pub fn nested_options(&self) -> JsonOptions {
        let metadata =
            if self.options.metadata == MetadataLevel::Full { MetadataLevel::Minimal } else { self.options.metadata };
        JsonOptions { metadata, ..self.options }
    }

    /// Whether nulls are left out.
    pub fn omits_nulls(&self) -> bool {
        self.options.omit_nulls
    }

    /// Writes one entity as a JSON object (expansions in rows of their own are not written).
    pub fn write_entity(&mut self, out: &mut Vec<u8>, row: &Row) -> Result<(), RowError> {
        self.open(out, row)?;
        out.push(b'}');
        Ok(())
    }

    /// Writes `{` and the members the entity's own row holds, leaving the object open; true
    /// when a member was written.
    pub fn open(&mut self, out: &mut Vec<u8>, row: &Row) -> Result<bool, RowError> {
        out.push(b'{');
        let mut first = true;
        let mut id = Vec::new();
        if let Some(base) = &self.id_base {
            id.extend_from_slice(base.as_bytes());
            self.write_key_predicate(&mut id, row)?;
            id.push(b')');
            if let Some(annotation) = &self.type_annotation {
                out.extend_from_slice(annotation);
            }
            out.extend_from_slice(b"\"@odata.id\":\"");
            out.extend_from_slice(&id);
            out.push(b'"');
            first = false;
        }
        if self.reference {
            return Ok(true);
        }
        for i in 0..self.kinds.len() {
            let mark = out.len();
            if !first {
                out.push(b',');
            }
            if let Some(annotation) = &self.annotations[i] {
                out.extend_from_slice(annotation);
            }
            out.extend_from_slice(&self.names[i]);
            let written = self.write_value(out, row, i)?;
            if !written && self.options.omit_nulls {
                out.truncate(mark);
                continue;
            }
            first = false;
        }
        for link in &self.links {
            out.extend_from_slice(b",\"");
            out.extend_from_slice(link.as_bytes());
            out.extend_from_slice(b"@odata.navigationLink\":\"");
            out.extend_from_slice(&id);
            out.push(b'/');
            out.extend_from_slice(link.as_bytes());
            out.push(b'"');
        }
        for nested in &mut self.nested {
            match nested {
                Nested::Count { name, column } => {
                    let at = *column;
                    let count: i64 = row.try_get(at).map_err(|source| RowError { column: at, source })?;
                    if !first {
                        out.push(b',');
                    }
                    out.extend_from_slice(name);
                    p::write_i64(out, count);
                }
                Nested::Joined { name, present, writer } => {
                    let at = *present;
                    let absent = row
                        .try_get::<_, Option<Present>>(at)
                        .map_err(|source| RowError { column: at, source })?
                        .is_none();
                    if absent && self.options.omit_nulls {
                        continue;
                    }
                    if !first {
                        out.push(b',');
                    }
                    out.extend_from_slice(name);
                    if absent {
                        out.extend_from_slice(b"null");
                    } else {
                        writer.write_entity(out, row)?;
                    }
                }
            }
            first = false;
        }
        Ok(!first)
    }

    /// Writes the JSON value of column `i`; false when it was null (`null` is written).
    pub fn write_value(&mut self, out: &mut Vec<u8>, row: &Row, column: usize) -> Result<bool, RowError> {
        let i = self.positions[column];
        let err = |source| RowError { column: i, source };
        let quoted = self.options.ieee754;
        match self.kinds[column] {
            Kind::String => match row.try_get::<_, Option<RawText>>(i).map_err(err)? {
                Some(RawText(s)) => p::write_utf8(out, s),
                None => return Ok(null(out)),
            },
            Kind::Int32 => match row.try_get::<_, Option<i32>>(i).map_err(err)? {
                Some(v) => p::write_i32(out, v),
                None => return Ok(null(out)),
            },
            Kind::Int64 => match row.try_get::<_, Option<i64>>(i).map_err(err)? {
                Some(v) if quoted => {
                    out.push(b'"');
                    p::write_i64(out, v);
                    out.push(b'"');
                }
                Some(v) => p::write_i64(out, v),
                None => return Ok(null(out)),
            },
            Kind::Boolean => match row.try_get::<_, Option<bool>>(i).map_err(err)? {
                Some(v) => out.put_slice(if v { b"true" } else { b"false" }),
                None => return Ok(null(out)),
            },
            Kind::Decimal => match row.try_get::<_, Option<&str>>(i).map_err(err)? {
                Some(s) => p::write_decimal_text(out, s, quoted),
                None => return Ok(null(out)),
            },
            Kind::Double => match row.try_get::<_, Option<f64>>(i).map_err(err)? {
                Some(v) => p::write_f64(out, v),
                None => return Ok(null(out)),
            },
            Kind::Instant { local } => match row.try_get::<_, Option<Instant>>(i).map_err(err)? {
                Some(Instant(micros)) => {
                    let offset = if local { self.local.offset_seconds(micros) } else { 0 };
                    p::write_datetimeoffset_quoted(out, micros, offset);
                }
                None => return Ok(null(out)),
            },
            Kind::Date => match row.try_get::<_, Option<Days>>(i).map_err(err)? {
                Some(Days(days)) => {
                    out.push(b'"');
                    p::write_date(out, days);
                    out.push(b'"');
                }
                None => return Ok(null(out)),
            },
            Kind::Time => match row.try_get::<_, Option<TimeMicros>>(i).map_err(err)? {
                Some(TimeMicros(micros)) => {
                    out.push(b'"');
                    p::write_time_of_day(out, micros);
                    out.push(b'"');
                }
                None => return Ok(null(out)),
            },
        }
        Ok(true)
    }

    /// Writes the raw text of column `i` (for `/$value`); false when it is null.
    pub fn write_raw(&mut self, out: &mut Vec<u8>, row: &Row, i: usize) -> Result<bool, RowError> {
        let mut json = Vec::new();
        let ieee754 = std::mem::replace(&mut self.options.ieee754, false);
        let written = self.write_value(&mut json, row, i);
        self.options.ieee754 = ieee754;
        if !written? {
            return Ok(false);
        }
        if self.kinds[i] == Kind::String {
            let at = self.positions[i];
            let text: Option<&str> = row.try_get(at).map_err(|source| RowError { column: at, source })?;
            out.extend_from_slice(text.unwrap_or_default().as_bytes());
        } else if json.first() == Some(&b'"') {
            out.extend_from_slice(&json[1..json.len() - 1]);
        } else {
            out.extend_from_slice(&json);
        }
        Ok(true)
    }

    /// `'abc'` or `conversationId='a',queueId='q',queuedAtUTC=2024-...Z`, percent-encoded for a URL.
    fn write_key_predicate(&mut self, out: &mut Vec<u8>, row: &Row) -> Result<(), RowError> {
        let single = self.key_columns.len() == 1;
        for (n, (name, kind, at)) in self.key_columns.iter().enumerate() {
            let text = sort_text(row, *at)?.unwrap_or_default();
            let text = text.as_str();
            if n > 0 {
                out.push(b',');
            }
            if !single {
                out.extend_from_slice(name.as_bytes());
                out.push(b'=');
            }
            match kind {
                Kind::String => {
                    out.extend_from_slice(b"'");
                    url_encode(out, &text.replace('\'', "''"));
                    out.extend_from_slice(b"'");
                }
                Kind::Instant { .. } => url_encode(out, &iso_instant(text)),
                _ => url_encode(out, text),
            }
        }
        Ok(())
    }
}

/// A sort key's value as PostgreSQL text (what a skiptoken carries), or `None` for null.
pub fn sort_text(row: &Row, column: SortColumn) -> Result<Option<String>, RowError> {
    let err = |at| move |source| RowError { column: at, source };
    Ok(match column {
        SortColumn::Text(at) => row.try_get::<_, Option<String>>(at).map_err(err(at))?,
        SortColumn::Int32(at) => row.try_get::<_, Option<i32>>(at).map_err(err(at))?.map(|v| v.to_string()),
        SortColumn::Int64(at) => row.try_get::<_, Option<i64>>(at).map_err(err(at))?.map(|v| v.to_string()),
    })
}

fn null(out: &mut Vec<u8>) -> bool {
    out.extend_from_slice(b"null");
    false
}

/// PostgreSQL's `2024-01-02 03:04:05.5+00` (with TimeZone UTC) as OData's `2024-01-02T03:04:05.5Z`.
fn iso_instant(pg: &str) -> String {
    let iso = pg.replacen(' ', "T", 1);
    match iso.strip_suffix("+00") {
        Some(utc) => format!("{utc}Z"),
        None => iso,
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters and `'`, `:`.
pub fn url_encode(out: &mut Vec<u8>, text: &str) {
    for &b in text.as_bytes() {
        if b.is_ascii_alphanumeric() || b"-._~':".contains(&b) {
            out.push(b);
        } else {
            out.extend_from_slice(format!("%{b:02X}").as_bytes());
        }
    }
}

/// Writes the start of a collection: `{"@odata.context":...,"@odata.count":n,"value":[`.
pub fn page_start(out: &mut Vec<u8>, context: Option<&str>, count: Option<i64>) {
    out.push(b'{');
    if let Some(context) = context {
        out.extend_from_slice(b"\"@odata.context\":");
        p::write_string(out, context);
        out.push(b',');
    }
    if let Some(count) = count {
        out.extend_from_slice(b"\"@odata.count\":");
        p::write_i64(out, count);
        out.push(b',');
    }
    out.extend_from_slice(b"\"value\":[");
}

/// Writes the end of a collection, with the next link when there is another page.
pub fn page_end(out: &mut Vec<u8>, next_link: Option<&str>) {
    out.push(b']');
    if let Some(link) = next_link {
        out.extend_from_slice(b",\"@odata.nextLink\":");
        p::write_string(out, link);
    }
    out.push(b'}');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_timestamps_become_odata_literals() {
        assert_eq!(iso_instant("2024-01-02 03:04:05.5+00"), "2024-01-02T03:04:05.5Z");
        assert_eq!(iso_instant("2024-01-02 03:04:05+00"), "2024-01-02T03:04:05Z");
    }

    #[test]
    fn an_empty_page_still_has_a_value_array() {
        let mut out = Vec::new();
        page_start(&mut out, Some("http://h/odata/$metadata#Calls"), Some(0));
        page_end(&mut out, None);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"@odata.context":"http://h/odata/$metadata#Calls","@odata.count":0,"value":[]}"#
        );
    }

    #[test]
    fn key_values_are_quoted_and_percent_encoded() {
        let mut out = Vec::new();
        url_encode(&mut out, "a b/c'd");
        assert_eq!(String::from_utf8(out).unwrap(), "a%20b%2Fc'd");
    }
}
