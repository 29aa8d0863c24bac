//! The physical tables behind the model: which columns each table must have, derived from the
//! entity sets that read it (several sets may share one table, e.g. Calls and Conversations).
//!
//! Invariant: every table leads with `tenant_id`; statistical tables carry `updated_at`.

use super::{EntitySet, INGESTED_COLUMN, Model, SetKind, TENANT_COLUMN};
use crate::odata::edm::SqlType;
use std::collections::BTreeMap;

/// The SQL type of `tenant_id` in every table.
pub const TENANT_SQL_TYPE: SqlType = SqlType::Varchar(64);
/// The SQL type of a row-filter column that no property publishes (e.g. `media`).
pub const FILTER_SQL_TYPE: SqlType = SqlType::Varchar(16);

/// A table the model reads from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub name: String,
    /// `tenant_id` first, then the other columns by name.
    pub columns: Vec<Column>,
}

/// One column of a table, as the model needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub sql_type: SqlType,
    pub nullable: bool,
}

pub(super) fn derive(model: &Model) -> Vec<Table> {
    derive_checked(model.entity_sets()).0
}

/// Derives the tables and reports every column that two declarations describe differently.
pub(super) fn derive_checked(sets: &[EntitySet]) -> (Vec<Table>, Vec<String>) {
    // table -> column name -> (column, who declared it first)
    let mut tables: BTreeMap<&str, BTreeMap<String, (Column, String)>> = BTreeMap::new();
    let mut problems = Vec::new();
    for set in sets {
        let columns = tables.entry(&set.table).or_default();
        let mut add = |column: Column, declared_by: String| match columns.get(&column.name) {
            Some((existing, first)) if existing != &column => problems.push(format!(
                "table `{}` column `{}`: {declared_by} says {} {}, {first} says {} {}",
                set.table,
                column.name,
                column.sql_type,
                null_word(column.nullable),
                existing.sql_type,
                null_word(existing.nullable)
            )),
            Some(_) => {}
            None => {
                columns.insert(column.name.clone(), (column, declared_by));
            }
        };
        add(Column { name: TENANT_COLUMN.into(), sql_type: TENANT_SQL_TYPE, nullable: false }, set.name.clone());
        if set.kind == SetKind::Statistic {
            add(
                Column { name: INGESTED_COLUMN.into(), sql_type: SqlType::TimestampTz, nullable: false },
                set.name.clone(),
            );
        }
        if let Some(filter) = &set.row_filter {
            // A filter column published as a property is declared by that property instead.
            if !set.properties.iter().any(|p| p.column() == filter.column && !p.is_local_time()) {
                add(
                    Column { name: filter.column.clone(), sql_type: FILTER_SQL_TYPE, nullable: false },
                    set.name.clone(),
                );
            }
        }
        for property in &set.properties {
            // A local time whose UTC column is also published is declared by the UTC property.
            let stored_elsewhere = property.is_local_time()
                && set.properties.iter().any(|p| !p.is_local_time() && p.column() == property.column());
            if stored_elsewhere {
                continue;
            }
            let column = Column {
                name: property.column().to_string(),
                sql_type: property.edm_type.sql_type(property.max_length),
                nullable: property.nullable,
            };
            add(column, format!("{}.{}", set.name, property.name));
        }
    }
    let tables = tables
        .into_iter()
        .map(|(name, columns)| {
            let mut columns: Vec<Column> = columns.into_values().map(|(c, _)| c).collect();
            columns.sort_by(|a, b| (a.name != TENANT_COLUMN, &a.name).cmp(&(b.name != TENANT_COLUMN, &b.name)));
            Table { name: name.to_string(), columns }
        })
        .collect();
    (tables, problems)
}

fn null_word(nullable: bool) -> &'static str {
    if nullable { "NULL" } else { "NOT NULL" }
}
