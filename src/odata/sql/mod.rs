//! SQL text for a `ReadPlan`: the page query (selected columns, then each sort key as text
//! for the next skiptoken) and the count query.
//!
//! Invariants: pure and infallible. Identifiers come only from the model; every value (user
//! literals, skiptoken values, the tenant, the model's row filter, the tenant's time zone) is a
//! bind parameter passed as text and cast in the statement. The tenant predicate is added here,
//! never by the caller.

mod expr;

use crate::odata::bind::{Node, ScalarType, Via};
use crate::odata::edm::EdmType;
use crate::odata::model::{EntitySet, TENANT_COLUMN};
use crate::odata::plan::{ReadPlan, SortKey};
use expr::Writer;

/// The tenant a statement is scoped to.
#[derive(Debug, Clone)]
pub struct TenantScope {
    pub id: String,
    /// The tenant's IANA time zone, for the local-time properties.
    pub time_zone: String,
}

/// A statement and its parameters, all bound as text.
#[derive(Debug, Clone, PartialEq)]
pub struct SqlQuery {
    pub text: String,
    pub params: Vec<String>,
}

/// Where a page query's result puts things.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    /// For each of `plan.columns`, its result column. A stored column that serves two
    /// properties (a UTC instant and its local time) is read once.
    pub properties: Vec<usize>,
    /// For each sort key of `plan.order`, the result column holding its value.
    pub sort_values: Vec<SortColumn>,
    /// For each of `plan.expand`, where its related entity's columns are.
    pub expansions: Vec<ExpansionLayout>,
}

/// Where an expanded related entity is in the result.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpansionLayout {
    /// A column of the join that is null exactly when there is no related entity.
    pub present: usize,
    /// For each of the expansion's `columns`, its result column.
    pub properties: Vec<usize>,
}

/// A result column holding a sort key's value, and how to read it as PostgreSQL text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortColumn {
    /// A text column: a string property selected anyway, or the key expression cast to text.
    Text(usize),
    /// An integer property selected anyway; its decimal digits are its text.
    Int32(usize),
    Int64(usize),
}

/// The page query. Its result columns are the distinct stored columns of `plan.columns`
/// (decimals as text), then, for each sort key not already among them, its value as text;
/// `Layout` says which is where.
pub fn select(plan: &ReadPlan, tenant: &TenantScope) -> (SqlQuery, Layout) {
    let mut w = Writer::new(plan.set, tenant);
    w.push("SELECT ");
    let mut selected: Vec<&str> = Vec::new();
    let mut properties = Vec::with_capacity(plan.columns.len());
    for &index in &plan.columns {
        let property = &plan.set.properties[index];
        if let Some(at) = selected.iter().position(|c| *c == property.column()) {
            properties.push(at);
            continue;
        }
        if !selected.is_empty() {
            w.push(", ");
        }
        w.push("t.");
        w.push(property.column());
        if matches!(property.edm_type, EdmType::Decimal { .. }) {
            w.push("::text");
        }
        properties.push(selected.len());
        selected.push(property.column());
    }
    let mut next = selected.len();
    let mut sort_values = Vec::with_capacity(plan.order.len());
    for key in &plan.order {
        let reused = match key.expr.node {
            Node::Property(i) if !plan.set.properties[i].is_local_time() => {
                let property = &plan.set.properties[i];
                let at = selected.iter().position(|c| *c == property.column());
                match (at, property.edm_type) {
                    (Some(at), EdmType::String) => Some(SortColumn::Text(at)),
                    (Some(at), EdmType::Int16 | EdmType::Int32) => Some(SortColumn::Int32(at)),
                    (Some(at), EdmType::Int64) => Some(SortColumn::Int64(at)),
                    _ => None,
                }
            }
            _ => None,
        };
        if let Some(column) = reused {
            sort_values.push(column);
            continue;
        }
        if next > 0 {
            w.push(", ");
        }
        w.push("(");
        w.expr(&key.expr, false);
        w.push(")::text");
        sort_values.push(SortColumn::Text(next));
        next += 1;
    }
    let mut expansions = Vec::with_capacity(plan.expand.len());
    for (i, expansion) in plan.expand.iter().enumerate() {
        let alias = format!("x{}", i + 1);
        let (_, inner) = &expansion.related.join[0];
        w.push(&format!(", {alias}.{inner}"));
        let present = next;
        next += 1;
        let mut properties = Vec::with_capacity(expansion.columns.len());
        let mut seen: Vec<(&str, usize)> = Vec::new();
        for &index in &expansion.columns {
            let property = &expansion.target.properties[index];
            if let Some((_, at)) = seen.iter().find(|(c, _)| *c == property.column()) {
                properties.push(*at);
                continue;
            }
            w.push(&format!(", {alias}.{}", property.column()));
            if matches!(property.edm_type, EdmType::Decimal { .. }) {
                w.push("::text");
            }
            seen.push((property.column(), next));
            properties.push(next);
            next += 1;
        }
        expansions.push(ExpansionLayout { present, properties });
    }
    from_where(&mut w, plan, true);
    if let Some(after) = &plan.after {
        w.push(" AND ");
        keyset(&mut w, &plan.order, after);
    }
    w.push(" ORDER BY ");
    for (i, key) in plan.order.iter().enumerate() {
        if i > 0 {
            w.push(", ");
        }
        w.expr(&key.expr, false);
        w.push(match (key.descending, key.expr.nullable) {
            (false, false) => " ASC",
            (true, false) => " DESC",
            (false, true) => " ASC NULLS FIRST",
            (true, true) => " DESC NULLS LAST",
        });
    }
    let limit = if plan.paged { plan.page_rows + 1 } else { plan.page_rows };
    w.push(&format!(" LIMIT {limit}"));
    if plan.offset > 0 {
        w.push(&format!(" OFFSET {}", plan.offset));
    }
    (w.finish(), Layout { properties, sort_values, expansions })
}

/// The count of the entities the plan's filter selects (ignoring paging, `$top` and `$skip`).
pub fn count(plan: &ReadPlan, tenant: &TenantScope) -> SqlQuery {
    let mut w = Writer::new(plan.set, tenant);
    w.push("SELECT count(*)");
    from_where(&mut w, plan, false);
    w.finish()
}

/// `FROM <table> t [LEFT JOIN <expanded> x1 ...] WHERE <tenant, row filter, navigation, filter>`.
/// A count leaves the joins out: each joins at most one row, so they cannot change it.
fn from_where(w: &mut Writer, plan: &ReadPlan, joins: bool) {
    let set: &EntitySet = plan.set;
    w.push(" FROM ");
    w.push(&set.table);
    w.push(" t");
    for (i, expansion) in plan.expand.iter().enumerate().filter(|_| joins) {
        let alias = format!("x{}", i + 1);
        w.push(&format!(" LEFT JOIN {} {alias} ON ", expansion.related.table));
        w.joined(&expansion.related, &alias);
    }
    w.push(" WHERE t.");
    w.push(TENANT_COLUMN);
    w.push(" = ");
    let tenant = w.tenant_id().to_owned();
    w.param(tenant, None);
    if let Some(filter) = &set.row_filter {
        w.push(" AND t.");
        w.push(&filter.column);
        w.push(" = ");
        w.param(filter.value.clone(), None);
    }
    if let Some(via) = &plan.via {
        w.push(" AND EXISTS (");
        parent(w, via, |w| {
            for (local, remote) in &via.navigation.on {
                let local = via.parent.property(local).expect("navigation joins on properties").column();
                let remote = set.property(remote).expect("navigation joins on properties").column();
                w.push(&format!(" AND p.{local} = t.{remote}"));
            }
        });
        w.push(")");
    }
    if let Some(filter) = &plan.filter {
        w.push(" AND ");
        w.expr(filter, false);
    }
}

/// `SELECT 1 FROM <parent> p WHERE <tenant, row filter and key>`, then whatever `and` adds.
fn parent(w: &mut Writer, via: &Via, and: impl FnOnce(&mut Writer)) {
    w.push("SELECT 1 FROM ");
    w.push(&via.parent.table);
    w.push(" p WHERE p.");
    w.push(TENANT_COLUMN);
    w.push(" = ");
    let tenant = w.tenant_id().to_owned();
    w.param(tenant, None);
    if let Some(filter) = &via.parent.row_filter {
        w.push(" AND p.");
        w.push(&filter.column);
        w.push(" = ");
        w.param(filter.value.clone(), None);
    }
    for (index, value) in &via.key {
        w.push(" AND p.");
        w.push(via.parent.properties[*index].column());
        w.push(" = ");
        w.param(value.text.clone(), Some(value.ty));
    }
    and(w);
}

/// Whether the entity a navigation path starts from exists: `SELECT 1 ... LIMIT 1`.
pub fn parent_exists(via: &Via, tenant: &TenantScope) -> SqlQuery {
    let mut w = Writer::new(via.parent, tenant);
    parent(&mut w, via, |_| {});
    w.finish()
}

/// Rows strictly after `values` in the order of `keys` (nulls first when ascending, last when
/// descending). When no key can be null and all run one way, a row comparison lets
/// PostgreSQL walk an index; otherwise an expanded OR of prefixes.
fn keyset(w: &mut Writer, keys: &[SortKey], values: &[Option<String>]) {
    let uniform = keys.iter().all(|k| k.descending == keys[0].descending);
    let definite = keys.iter().zip(values).all(|(k, v)| !k.expr.nullable && v.is_some());
    if uniform && definite {
        let ty = |k: &SortKey| k.expr.ty.unwrap_or(ScalarType::String);
        w.push("(");
        for (i, key) in keys.iter().enumerate() {
            if i > 0 {
                w.push(", ");
            }
            w.expr(&key.expr, false);
        }
        w.push(if keys[0].descending { ") < (" } else { ") > (" });
        for (i, (key, value)) in keys.iter().zip(values).enumerate() {
            if i > 0 {
                w.push(", ");
            }
            w.param(value.clone().unwrap_or_default(), Some(ty(key)));
        }
        w.push(")");
        return;
    }
    w.push("(");
    for i in 0..keys.len() {
        if i > 0 {
            w.push(" OR ");
        }
        w.push("(");
        for j in 0..i {
            same(w, &keys[j], &values[j]);
            w.push(" AND ");
        }
        after(w, &keys[i], &values[i]);
        w.push(")");
    }
    w.push(")");
}

fn same(w: &mut Writer, key: &SortKey, value: &Option<String>) {
    let ty = key.expr.ty.unwrap_or(ScalarType::String);
    w.push("(");
    w.expr(&key.expr, false);
    match value {
        None => w.push(" IS NULL"),
        Some(v) => {
            w.push(" = ");
            w.param(v.clone(), Some(ty));
        }
    }
    w.push(")");
}

fn after(w: &mut Writer, key: &SortKey, value: &Option<String>) {
    let ty = key.expr.ty.unwrap_or(ScalarType::String);
    match (value, key.descending) {
        (None, false) => {
            w.push("(");
            w.expr(&key.expr, false);
            w.push(" IS NOT NULL)");
        }
        (None, true) => w.push("FALSE"),
        (Some(v), false) => {
            w.push("(");
            w.expr(&key.expr, false);
            w.push(" > ");
            w.param(v.clone(), Some(ty));
            w.push(")");
        }
        (Some(v), true) => {
            w.push("(");
            w.expr(&key.expr, false);
            w.push(" < ");
            w.param(v.clone(), Some(ty));
            w.push(" OR ");
            w.expr(&key.expr, false);
            w.push(" IS NULL)");
        }
    }
}

#[cfg(test)]
mod tests;
