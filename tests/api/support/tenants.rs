//! Two tenants side by side, for the isolation tests: a superuser connection to the database a
//! server reads (`Sql`), the entity keys of any set as SQL text, URL literals, `$filter`s and
//! JSON (`Key`), and `seed_other_tenant`, which gives the other tenant rows that a server
//! scoped to the wrong tenant, or not at all, would show: under keys that only it uses, under
//! keys that both tenants use (with different contents), and related to the first rows of
//! every entity set through every navigation property.
//!
//! Rows written for the other tenant carry `MARKER` in a text column (or in a text key), so a
//! response that contains it has shown one of them.

#![allow(dead_code)] // each test file uses a different part of this module

use super::demo::{OTHER_TENANT, TENANT, enc};
use odata_feed::odata::edm::EdmType;
use odata_feed::odata::model::{EntitySet, Model, NavigationProperty, Property, Source, TENANT_COLUMN};
use serde_json::Value;
use std::collections::BTreeSet;

/// Text no demo row contains; every row written for the other tenant carries it.
pub const MARKER: &str = "xleakx";
/// How many rows of each set are copied to the other tenant under their own keys, and under
/// new keys that only the other tenant uses.
pub const COPIES: usize = 3;
/// How many of a set's first rows (in key order) the expansion baits relate to: the rows that
/// `?$expand=...&$top=FIRST_ROWS` returns.
pub const FIRST_ROWS: usize = 50;
/// The most bait rows written per navigation property.
const MAX_BAITS: usize = 200;
/// Added to an integer key to make one that only the other tenant uses.
const KEY_OFFSET: i64 = 1_000_000_000_000;

/// A superuser connection (not subject to row-level security) to one database.
pub struct Sql {
    client: tokio_postgres::Client,
    driver: tokio::task::JoinHandle<()>,
}

impl Sql {
    pub async fn connect(url: &str) -> Sql {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|error| panic!("cannot connect to the test database: {error}"));
        let driver = tokio::spawn(async move {
            let _ = connection.await;
        });
        Sql { client, driver }
    }

    pub fn client(&self) -> &tokio_postgres::Client {
        &self.client
    }

    /// Every row of `sql`.
    pub async fn rows(&self, sql: &str) -> Vec<tokio_postgres::Row> {
        self.client.query(sql, &[]).await.unwrap_or_else(|error| panic!("query failed: {error:?}\n{sql}"))
    }

    /// Runs a statement; the number of rows it wrote.
    pub async fn execute(&self, sql: &str) -> u64 {
        self.client.execute(sql, &[]).await.unwrap_or_else(|error| panic!("statement failed: {error:?}\n{sql}"))
    }

    /// The single bigint `sql` returns (a `count(*)`).
    pub async fn count(&self, sql: &str) -> i64 {
        self.rows(sql).await[0].get(0)
    }

    /// Every row of `sql`, whose columns are all text, as keys.
    pub async fn keys(&self, sql: &str) -> Vec<Key> {
        self.rows(sql).await.iter().map(|row| Key((0..row.len()).map(|i| row.get::<_, String>(i)).collect())).collect()
    }

    /// The columns of `table`, in table order.
    pub async fn columns(&self, table: &str) -> Vec<String> {
        let sql = format!(
            "SELECT column_name::text FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name = {} ORDER BY ordinal_position",
            quote(table)
        );
        self.rows(&sql).await.iter().map(|row| row.get(0)).collect()
    }
}

impl Drop for Sql {
    fn drop(&mut self) {
        self.driver.abort();
    }
}

/// A SQL string literal.
pub fn quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// How a key property is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyKind {
    Text,
    Integer,
    Instant,
}

fn key_kind(property: &Property) -> KeyKind {
    match property.edm_type {
        EdmType::String | EdmType::Guid => KeyKind::Text,
        EdmType::Int16 | EdmType::Int32 | EdmType::Int64 => KeyKind::Integer,
        EdmType::DateTimeOffset => KeyKind::Instant,
        other => panic!("key property {} has type {}, which these tests cannot write", property.name, other.name()),
    }
}

/// The key properties of `set`, in key order.
pub fn key_properties(set: &EntitySet) -> Vec<&Property> {
    let keys: Vec<&Property> = set.key_properties().collect();
    assert_eq!(keys.len(), set.key.len(), "{}: every key names a property", set.name);
    keys
}

/// The key columns of `set` on `alias`, comma-separated (for `ORDER BY`).
pub fn key_columns(set: &EntitySet, alias: &str) -> String {
    key_properties(set).iter().map(|p| format!("{alias}.{}", p.column())).collect::<Vec<_>>().join(", ")
}

/// The key columns of `set` on `alias` as text in the canonical form of `Key`.
pub fn key_text(set: &EntitySet, alias: &str) -> String {
    key_properties(set)
        .iter()
        .map(|p| match key_kind(p) {
            KeyKind::Text | KeyKind::Integer => format!("{alias}.{}::text", p.column()),
            KeyKind::Instant => {
                format!("to_char({alias}.{} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')", p.column())
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `<alias>.k1 = <other>.k1 AND ...`: two rows of `set` have the same key.
pub fn same_key(set: &EntitySet, alias: &str, other: &str) -> String {
    key_properties(set)
        .iter()
        .map(|p| format!("{alias}.{c} = {other}.{c}", c = p.column()))
        .collect::<Vec<_>>()
        .join(" AND ")
}

/// `<alias>.tenant_id = '<tenant>'` and the set's row filter: the rows of `set` that belong to
/// `tenant`.
pub fn rows_of(set: &EntitySet, alias: &str, tenant: &str) -> String {
    let mut sql = format!("{alias}.{TENANT_COLUMN} = {}", quote(tenant));
    if let Some(filter) = &set.row_filter {
        sql.push_str(&format!(" AND {alias}.{} = {}", filter.column, quote(&filter.value)));
    }
    sql
}

/// The first `n` rows of `set` that belong to `tenant`, in key order (what `?$top=n` returns),
/// as a subquery.
pub fn first_rows(set: &EntitySet, tenant: &str, n: usize) -> String {
    format!(
        "(SELECT * FROM {} f WHERE {} ORDER BY {} LIMIT {n})",
        set.table,
        rows_of(set, "f", tenant),
        key_columns(set, "f")
    )
}

/// The join condition of a navigation property from a row `source` of its set to a row
/// `target` of its target set.
pub fn join(model: &Model, set: &EntitySet, navigation: &NavigationProperty, source: &str, target: &str) -> String {
    let to = target_of(model, navigation);
    navigation
        .on
        .iter()
        .map(|(from, into)| {
            let from = set.property(from).expect("a navigation joins on properties").column();
            let into = to.property(into).expect("a navigation joins on properties").column();
            format!("{source}.{from} = {target}.{into}")
        })
        .collect::<Vec<_>>()
        .join(" AND ")
}

/// The entity set a navigation property leads to.
pub fn target_of<'m>(model: &'m Model, navigation: &NavigationProperty) -> &'m EntitySet {
    model.entity_set(&navigation.target).expect("a navigation property leads to an entity set")
}

/// An entity's key, each value as text: strings as they are, integers in decimal, instants as
/// `YYYY-MM-DDTHH:MM:SS.ffffffZ` in UTC.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key(pub Vec<String>);

impl Key {
    /// The key of `entity`, an entity of `set` in JSON (its key properties must be there).
    pub fn of(set: &EntitySet, entity: &Value) -> Result<Key, String> {
        let mut values = Vec::new();
        for property in key_properties(set) {
            let value = entity
                .get(&property.name)
                .ok_or_else(|| format!("{}: no `{}` in {entity}", set.name, property.name))?;
            let text = match (key_kind(property), value) {
                (KeyKind::Text, Value::String(s)) => s.clone(),
                (KeyKind::Integer, Value::Number(n)) => n.to_string(),
                (KeyKind::Instant, Value::String(s)) => chrono::DateTime::parse_from_rfc3339(s)
                    .map_err(|e| format!("{}: `{}` is not an instant ({e}): {s}", set.name, property.name))?
                    .to_utc()
                    .format("%Y-%m-%dT%H:%M:%S%.6fZ")
                    .to_string(),
                _ => return Err(format!("{}: `{}` is {value}", set.name, property.name)),
            };
            values.push(text);
        }
        Ok(Key(values))
    }

    /// The key predicate of a URL, percent-encoded: `('a')` or `(a='a',b=2)`.
    pub fn segment(&self, set: &EntitySet) -> String {
        let properties = key_properties(set);
        if let [property] = properties[..] {
            return format!("({})", literal(property, &self.0[0]));
        }
        let parts: Vec<String> =
            properties.iter().zip(&self.0).map(|(p, value)| format!("{}={}", p.name, literal(p, value))).collect();
        format!("({})", parts.join(","))
    }

    /// An OData boolean expression, percent-encoded, true for exactly this key.
    fn condition(&self, set: &EntitySet) -> String {
        let parts: Vec<String> = key_properties(set)
            .iter()
            .zip(&self.0)
            .map(|(p, value)| format!("{}%20eq%20{}", p.name, literal(p, value)))
            .collect();
        format!("({})", parts.join("%20and%20"))
    }
}

/// A `$filter` value (percent-encoded) that selects exactly `keys` of `set`: `id in (...)` for
/// a single key, a disjunction of key comparisons otherwise.
pub fn key_filter(set: &EntitySet, keys: &[Key]) -> String {
    let properties = key_properties(set);
    if let [property] = properties[..] {
        let list: Vec<String> = keys.iter().map(|k| literal(property, &k.0[0])).collect();
        return format!("{}%20in%20({})", property.name, list.join(","));
    }
    keys.iter().map(|k| k.condition(set)).collect::<Vec<_>>().join("%20or%20")
}

/// A key value as an OData literal, percent-encoded.
fn literal(property: &Property, value: &str) -> String {
    match key_kind(property) {
        KeyKind::Text => enc(&format!("'{}'", value.replace('\'', "''"))),
        KeyKind::Integer | KeyKind::Instant => enc(value),
    }
}

/// The property of `set` that publishes the tenant column, if any.
pub fn tenant_property(set: &EntitySet) -> Option<&Property> {
    set.properties.iter().find(|p| matches!(&p.source, Source::Column(c) if c == TENANT_COLUMN))
}

/// The text column of `table` that rows written for the other tenant carry `MARKER` in: one
/// that every set of the table publishes, that is neither a key, the tenant, a row filter nor
/// a navigation property's join column, and that holds the marker. `None` when there is none.
pub fn marker_column(model: &Model, table: &str) -> Option<String> {
    let sets: Vec<&EntitySet> = model.entity_sets().iter().filter(|s| s.table == table).collect();
    let mut excluded = BTreeSet::from([TENANT_COLUMN.to_owned()]);
    for set in &sets {
        excluded.extend(key_properties(set).iter().map(|p| p.column().to_owned()));
        excluded.extend(set.row_filter.iter().map(|f| f.column.clone()));
    }
    for set in model.entity_sets() {
        for navigation in &set.navigation {
            let target = target_of(model, navigation);
            for (from, into) in &navigation.on {
                if set.table == table {
                    excluded.insert(set.property(from).expect("a join property").column().to_owned());
                }
                if target.table == table {
                    excluded.insert(target.property(into).expect("a join property").column().to_owned());
                }
            }
        }
    }
    let candidates = |set: &EntitySet| -> Vec<String> {
        set.properties
            .iter()
            .filter(|p| p.edm_type == EdmType::String && !p.is_local_time())
            .filter(|p| p.max_length.is_none_or(|m| m as usize >= MARKER.len()))
            .map(|p| p.column().to_owned())
            .filter(|c| !excluded.contains(c))
            .collect()
    };
    let first = candidates(sets.first()?);
    first.into_iter().find(|column| sets.iter().all(|s| candidates(s).contains(column)))
}

/// The property of `set` that publishes `column`.
pub fn property_of<'s>(set: &'s EntitySet, column: &str) -> Option<&'s Property> {
    set.properties.iter().find(|p| matches!(&p.source, Source::Column(c) if c == column))
}

/// What `seed_other_tenant` wrote.
#[derive(Debug, Default)]
pub struct Seeded {
    /// Per entity set: rows of the other tenant under keys that the tenant uses too.
    pub shared: Vec<(String, u64)>,
    /// Per entity set: rows of the other tenant under keys only it uses.
    pub own: Vec<(String, u64)>,
    /// Per `Set/Navigation`: rows of the other tenant that the navigation would reach from the
    /// tenant's first `FIRST_ROWS` rows if tenants were ignored.
    pub baits: Vec<(String, u64)>,
}

/// Writes rows for `OTHER_TENANT`, copied from `TENANT`'s rows with the tenant replaced and
/// `MARKER` written in (see the module documentation). Foreign keys are not checked while it
/// writes (a copied child may name a parent the other tenant lacks; nothing reads them as a
/// constraint).
pub async fn seed_other_tenant(sql: &Sql, model: &Model) -> Seeded {
    sql.execute("SET session_replication_role = replica").await;
    let mut seeded = Seeded::default();
    for set in model.entity_sets() {
        let table = Table::of(sql, model, set).await;
        let marker = table.marker.as_deref();
        let source = format!("{} ORDER BY {} LIMIT {COPIES}", rows_of(set, "r", TENANT), key_columns(set, "r"));

        let shared = table.copy(set, &source, None, marker.is_some());
        seeded.shared.push((set.name.clone(), sql.execute(&shared).await));

        let new_key = table.new_key(set, &[]).unwrap_or_else(|| panic!("{}: no key column can be changed", set.name));
        let own = table.copy(set, &source, Some(new_key), false);
        seeded.own.push((set.name.clone(), sql.execute(&own).await));

        for navigation in &set.navigation {
            let target = target_of(model, navigation);
            let target_table = Table::of(sql, model, target).await;
            let joined: Vec<String> = navigation
                .on
                .iter()
                .map(|(_, into)| target.property(into).expect("a join property").column().to_owned())
                .collect();
            let source = format!(
                "{} AND EXISTS (SELECT 1 FROM {} s WHERE {}) ORDER BY {} LIMIT {MAX_BAITS}",
                rows_of(target, "r", TENANT),
                first_rows(set, TENANT, FIRST_ROWS),
                join(model, set, navigation, "s", "r"),
                key_columns(target, "r")
            );
            let reached_by_key = key_properties(target).iter().all(|p| joined.iter().any(|c| c == p.column()));
            let bait = if reached_by_key {
                // The navigation names the related entity's key: the other tenant's row has it too.
                target_table.copy(target, &source, None, target_table.marker.is_some())
            } else {
                let new_key = target_table
                    .new_key(target, &joined)
                    .unwrap_or_else(|| panic!("{}/{}: no key column outside the join", set.name, navigation.name));
                target_table.copy(target, &source, Some(new_key), false)
            };
            seeded.baits.push((format!("{}/{}", set.name, navigation.name), sql.execute(&bait).await));
        }
    }
    sql.execute("RESET session_replication_role").await;
    seeded
}

/// A table being copied from one tenant to the other.
struct Table {
    name: String,
    columns: Vec<String>,
    marker: Option<String>,
}

impl Table {
    async fn of(sql: &Sql, model: &Model, set: &EntitySet) -> Table {
        let columns = sql.columns(&set.table).await;
        assert!(columns.iter().any(|c| c == TENANT_COLUMN), "{} has a tenant column", set.table);
        Table { name: set.table.clone(), columns, marker: marker_column(model, &set.table) }
    }

    /// `(column, expression)`: a key column of `set` outside `keep` rewritten so that the key
    /// is one the tenant does not use: a text key gets `MARKER` in front, an integer key a large
    /// offset.
    fn new_key(&self, set: &EntitySet, keep: &[String]) -> Option<(String, String)> {
        let free: Vec<&Property> =
            key_properties(set).into_iter().filter(|p| !keep.iter().any(|c| c == p.column())).collect();
        if let Some(text) = free.iter().find(|p| key_kind(p) == KeyKind::Text) {
            let c = text.column();
            let value = format!("{} || r.{c}", quote(&format!("{MARKER}-")));
            let value = match text.max_length {
                Some(max) => format!("left({value}, {max})"),
                None => value,
            };
            return Some((c.to_owned(), value));
        }
        let integer = free.iter().find(|p| key_kind(p) == KeyKind::Integer)?;
        Some((integer.column().to_owned(), format!("r.{} + {KEY_OFFSET}", integer.column())))
    }

    /// `INSERT ... SELECT` of the rows `source` picks (a condition on `r`, with its order and
    /// limit) as rows of `OTHER_TENANT`, with `MARKER` in the marker column and `key` rewritten.
    /// When `overwrite`, a row of the other tenant that already has the key gets the marker;
    /// otherwise it is left alone.
    fn copy(&self, set: &EntitySet, source: &str, key: Option<(String, String)>, overwrite: bool) -> String {
        let values: Vec<String> = self
            .columns
            .iter()
            .map(|c| {
                if c == TENANT_COLUMN {
                    quote(OTHER_TENANT)
                } else if self.marker.as_deref() == Some(c.as_str()) {
                    quote(MARKER)
                } else if let Some((_, value)) = key.as_ref().filter(|(k, _)| k == c) {
                    value.clone()
                } else {
                    format!("r.{c}")
                }
            })
            .collect();
        let conflict = format!("{TENANT_COLUMN}, {}", key_columns(set, "x").replace("x.", ""));
        let action = match (&self.marker, overwrite) {
            (Some(marker), true) => format!("DO UPDATE SET {marker} = EXCLUDED.{marker}"),
            _ => "DO NOTHING".to_owned(),
        };
        format!(
            "INSERT INTO {table} ({columns}) SELECT {values} FROM {table} r WHERE {source} ON CONFLICT ({conflict}) {action}",
            table = self.name,
            columns = self.columns.join(", "),
            values = values.join(", "),
        )
    }
}
