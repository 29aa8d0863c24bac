//! The SQL that stages a batch and merges it into its table: a temporary table filled by
//! COPY, then one `INSERT ... ON CONFLICT` upsert by key. Pure: statements as strings, their
//! parameters named in each function's doc.
//!
//! Invariants: every statement is scoped by the caller's tenant (`$1`), which also fills the
//! tenant column; a row whose values all equal the stored ones is left untouched, ingestion
//! timestamp included, so delivering a batch again changes nothing; a row of a set that is
//! a view of a shared table (Calls in `conversations`) never changes another set's row.
//! Rows are merged in key order, so batches written side by side lock shared keys in the same
//! order: one waits for the other, neither deadlocks.

use super::batch::Shape;
use crate::odata::model::{EntitySet, INGESTED_COLUMN, TENANT_COLUMN};

/// The temporary table a batch is copied into (dropped when its transaction ends).
pub const STAGE: &str = "ingest_stage";
/// The stage's column holding each record's row number in the input.
pub const ROW_COLUMN: &str = "ingest_row";
/// The function (migration `ingestion_rules`) that fails an upsert meeting a row of another
/// set of a shared table, with SQLSTATE `FOREIGN_ROW_STATE`.
pub const REFUSE_FOREIGN_ROW: &str = "ingest_refuse_foreign_row";
/// The SQLSTATE `REFUSE_FOREIGN_ROW` raises.
pub const FOREIGN_ROW_STATE: &str = "OF001";
/// The table lookup objects are delivered to (the nightly refresh's local source).
pub const LOOKUP_SOURCE: &str = "lookup_sources";

/// The statements of one entity set.
#[derive(Debug, Clone)]
pub struct Statements {
    /// Creates the stage.
    pub create_stage: String,
    /// `COPY ... FROM STDIN` into the stage.
    pub copy: String,
    /// The upsert; returns (inserted, updated). Params: $1 tenant (and $2 the set, lookups).
    pub merge: String,
    /// The same upsert keeping only the last record of each key (when a batch repeats a key).
    pub merge_last_of_each_key: String,
    /// The number of distinct keys in the stage.
    pub distinct_keys: String,
    /// Rows whose key belongs to another set of a shared table: (row, key text, stored filter
    /// value), run when the upsert failed with `FOREIGN_ROW_STATE`. Params: $1 tenant. None
    /// when the set is not a view of a shared table.
    pub foreign_rows: Option<String>,
    /// A lookup snapshot's removals: objects of the source not in the stage. Params: $1
    /// tenant, $2 the set. None for statistical sets.
    pub remove_missing: Option<String>,
    /// The key columns, in key order.
    pub keys: Vec<String>,
}

/// A quoted identifier (the model's names are checked identifiers; quoting keeps words such
/// as `timestamp` or `name` harmless).
fn ident(name: &str) -> String {
    format!("\"{name}\"")
}

fn list(prefix: &str, columns: &[String]) -> String {
    columns.iter().map(|c| format!("{prefix}{}", ident(c))).collect::<Vec<_>>().join(", ")
}

impl Statements {
    pub fn new(set: &EntitySet, shape: &Shape) -> Statements {
        if shape.is_lookup() { lookup() } else { statistic(set, shape) }
    }
}

fn counted(insert: &str) -> String {
    format!(
        "WITH merged AS ({insert} RETURNING (xmax = 0) AS inserted) \
         SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM merged"
    )
}

fn last_of_each_key(keys: &[String]) -> String {
    format!(
        "(SELECT DISTINCT ON ({keys}) * FROM {STAGE} ORDER BY {keys}, {ROW_COLUMN} DESC) AS s",
        keys = list("", keys)
    )
}

fn statistic(set: &EntitySet, shape: &Shape) -> Statements {
    let table = ident(&set.table);
    let columns: Vec<String> = shape.columns().names().to_vec();
    let keys: Vec<String> = set.key_properties().map(|p| p.column().to_owned()).collect();
    let filter = set.row_filter.as_ref().map(|f| f.column.clone());
    let others: Vec<String> =
        columns.iter().filter(|c| !keys.contains(c) && Some(*c) != filter.as_ref()).cloned().collect();
    let create_stage = format!(
        "CREATE TEMPORARY TABLE {STAGE} ON COMMIT DROP AS SELECT 0::bigint AS {ROW_COLUMN}, {} FROM {table} WITH NO DATA",
        list("", &columns)
    );
    let copy = format!("COPY {STAGE} ({ROW_COLUMN}, {}) FROM STDIN", list("", &columns));
    let upsert = |source: &str| {
        let conflict = format!("ON CONFLICT ({}, {})", ident(TENANT_COLUMN), list("", &keys));
        let action = if others.is_empty() {
            "DO NOTHING".to_owned()
        } else {
            let set_list: Vec<String> = others
                .iter()
                .chain(std::iter::once(&INGESTED_COLUMN.to_owned()))
                .map(|c| format!("{0} = EXCLUDED.{0}", ident(c)))
                .collect();
            let mut condition =
                format!("ROW({}) IS DISTINCT FROM ROW({})", list("t.", &others), list("EXCLUDED.", &others));
            if let Some(filter) = &filter {
                // A stored row of another set fails the statement (checked only on conflicts,
                // so a batch of new rows pays nothing); `foreign_rows` then names the rows.
                condition = format!(
                    "CASE WHEN t.{0} = EXCLUDED.{0} THEN {condition} ELSE {REFUSE_FOREIGN_ROW}() END",
                    ident(filter)
                );
            }
            format!("DO UPDATE SET {} WHERE {condition}", set_list.join(", "))
        };
        counted(&format!(
            "INSERT INTO {table} AS t ({}, {}, {}) SELECT $1, {}, now() FROM {source} ORDER BY {} {conflict} {action}",
            ident(TENANT_COLUMN),
            list("", &columns),
            ident(INGESTED_COLUMN),
            list("", &columns),
            list("", &keys),
        ))
    };
    let foreign_rows = filter.as_ref().map(|filter| {
        let on = keys.iter().map(|k| format!("t.{0} = s.{0}", ident(k))).collect::<Vec<_>>().join(" AND ");
        let key_text = keys.iter().map(|k| format!("s.{}::text", ident(k))).collect::<Vec<_>>().join(" || ', ' || ");
        format!(
            "SELECT s.{ROW_COLUMN}, {key_text}, t.{f}::text FROM {STAGE} s JOIN {table} t \
             ON t.{tenant} = $1 AND {on} WHERE t.{f} <> s.{f} ORDER BY s.{ROW_COLUMN} LIMIT {limit}",
            f = ident(filter),
            tenant = ident(TENANT_COLUMN),
            limit = super::batch::MAX_PROBLEMS + 1,
        )
    });
    Statements {
        create_stage,
        copy,
        merge: upsert(STAGE),
        merge_last_of_each_key: upsert(&last_of_each_key(&keys)),
        distinct_keys: format!("SELECT count(*) FROM (SELECT DISTINCT {} FROM {STAGE}) AS k", list("", &keys)),
        foreign_rows,
        remove_missing: None,
        keys,
    }
}

fn lookup() -> Statements {
    let keys = vec!["id".to_owned()];
    let create_stage = format!(
        "CREATE TEMPORARY TABLE {STAGE} ({ROW_COLUMN} bigint, id varchar(64), attributes jsonb) ON COMMIT DROP"
    );
    let copy = format!("COPY {STAGE} ({ROW_COLUMN}, id, attributes) FROM STDIN");
    let upsert = |source: &str| {
        counted(&format!(
            "INSERT INTO {LOOKUP_SOURCE} AS t (tenant_id, entity_set, id, attributes, updated_at) \
             SELECT $1, $2, id, attributes, now() FROM {source} \
             ON CONFLICT (tenant_id, entity_set, id) DO UPDATE \
             SET attributes = EXCLUDED.attributes, updated_at = EXCLUDED.updated_at \
             WHERE t.attributes IS DISTINCT FROM EXCLUDED.attributes"
        ))
    };
    Statements {
        create_stage,
        copy,
        merge: upsert(STAGE),
        merge_last_of_each_key: upsert(&last_of_each_key(&keys)),
        distinct_keys: format!("SELECT count(DISTINCT id) FROM {STAGE}"),
        foreign_rows: None,
        remove_missing: Some(format!(
            "DELETE FROM {LOOKUP_SOURCE} t WHERE t.tenant_id = $1 AND t.entity_set = $2 \
             AND NOT EXISTS (SELECT FROM {STAGE} s WHERE s.id = t.id)"
        )),
        keys,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::odata::model::Model;

    fn statements(set: &str) -> Statements {
        let model = Model::load().expect("the model loads");
        let set = model.entity_set(set).expect("the set exists");
        Statements::new(set, &Shape::new(set))
    }

    #[test]
    fn calls_upsert_by_tenant_and_id_and_never_touch_another_media() {
        let calls = statements("Calls");
        assert!(calls.merge.contains("ON CONFLICT (\"tenant_id\", \"id\") DO UPDATE SET"), "{}", calls.merge);
        assert!(calls.merge.contains("WHERE CASE WHEN t.\"media\" = EXCLUDED.\"media\" THEN ROW("), "{}", calls.merge);
        assert!(calls.merge.contains("ELSE ingest_refuse_foreign_row() END"), "{}", calls.merge);
        assert!(calls.merge.contains("SELECT $1, "), "the tenant is the first parameter: {}", calls.merge);
        assert!(
            !calls.merge.contains("\"media\" = EXCLUDED.\"media\","),
            "media is never overwritten: {}",
            calls.merge
        );
        assert!(calls.merge.contains("\"updated_at\" = EXCLUDED.\"updated_at\""));
        assert!(calls.foreign_rows.as_deref().is_some_and(|q| q.contains("t.\"media\" <> s.\"media\"")));
        assert!(calls.remove_missing.is_none());
    }

    #[test]
    fn conversations_may_correct_the_media_of_a_conversation() {
        let conversations = statements("Conversations");
        assert!(conversations.merge.contains("\"media\" = EXCLUDED.\"media\""), "{}", conversations.merge);
        assert!(conversations.foreign_rows.is_none());
    }

    #[test]
    fn a_set_whose_columns_are_all_key_inserts_what_is_missing_and_updates_nothing() {
        let model = Model::load().expect("the model loads");
        for set in model.entity_sets() {
            let shape = Shape::new(set);
            let keys = set.key.len();
            let statements = Statements::new(set, &shape);
            let all_key = !shape.is_lookup() && shape.columns().names().len() == keys;
            assert_eq!(statements.merge.contains("DO NOTHING"), all_key, "{}: {}", set.name, statements.merge);
        }
    }

    #[test]
    fn lookup_objects_go_to_the_lookup_source_under_their_set() {
        let agents = statements("Agents");
        assert!(agents.merge.contains("INSERT INTO lookup_sources"), "{}", agents.merge);
        assert!(agents.merge.contains("SELECT $1, $2, id, attributes"), "{}", agents.merge);
        assert!(agents.remove_missing.as_deref().is_some_and(|q| q.contains("t.entity_set = $2")));
    }

    #[test]
    fn the_last_record_of_a_repeated_key_wins() {
        let calls = statements("Calls");
        assert!(
            calls
                .merge_last_of_each_key
                .contains("DISTINCT ON (\"id\") * FROM ingest_stage ORDER BY \"id\", ingest_row DESC"),
            "{}",
            calls.merge_last_of_each_key
        );
    }

    #[test]
    fn every_statement_names_columns_as_quoted_identifiers() {
        let captured = statements("CapturedData");
        assert!(captured.create_stage.contains("\"name\""), "{}", captured.create_stage);
        assert!(captured.copy.starts_with("COPY ingest_stage (ingest_row, "), "{}", captured.copy);
    }
}

#[cfg(test)]
mod coverage_tests {
    use super::*;
    use crate::odata::model::{INGESTED_COLUMN, Model, TENANT_COLUMN};

    #[test]
    fn every_not_null_column_of_a_statistical_table_is_filled_by_each_set_that_writes_it() {
        let model = Model::load().expect("the model loads");
        let tables = model.tables();
        // Chats publish no isOutbound: the column's default (inbound) fills it, see the
        // migration `ingestion_rules`.
        let defaulted = [("Chats", "is_outbound")];
        let mut gaps = Vec::new();
        for set in model.entity_sets().iter().filter(|s| s.kind == crate::odata::model::SetKind::Statistic) {
            let shape = Shape::new(set);
            let table = tables.iter().find(|t| t.name == set.table).expect("the set's table");
            for column in table.columns.iter().filter(|c| !c.nullable) {
                let filled = defaulted.contains(&(set.name.as_str(), column.name.as_str()))
                    || column.name == TENANT_COLUMN
                    || column.name == INGESTED_COLUMN
                    || shape.columns().names().contains(&column.name);
                if !filled {
                    gaps.push(format!("{}: {}", set.name, column.name));
                }
            }
        }
        assert!(gaps.is_empty(), "NOT NULL columns a set cannot fill: {gaps:?}");
    }
}
