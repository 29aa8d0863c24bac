//! SQL text for a `ReadPlan`: the page query (selected columns, then each sort key as text
//! for the next skiptoken) and the count query.
//!
//! Invariants: pure and infallible. Identifiers come only from the model; every value (user
//! literals, skiptoken values, the tenant, the model's row filter, the tenant's time zone) is a
//! bind parameter passed as text and cast in the statement. The tenant predicate is added here,
//! never by the caller.

mod expr;

use crate::odata::bind::ScalarType;
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

/// The page query. Its result columns are `plan.columns` (decimals as text), followed by one
/// text column per sort key of `plan.order`.
pub fn select(plan: &ReadPlan, tenant: &TenantScope) -> SqlQuery {
    let mut w = Writer::new(plan.set, tenant);
    w.push("SELECT ");
    for (i, &index) in plan.columns.iter().enumerate() {
        if i > 0 {
            w.push(", ");
        }
        let property = &plan.set.properties[index];
        w.push("t.");
        w.push(property.column());
        if matches!(property.edm_type, EdmType::Decimal { .. }) {
            w.push("::text");
        }
    }
    for key in &plan.order {
        w.push(", (");
        w.expr(&key.expr, false);
        w.push(")::text");
    }
    from_where(&mut w, plan);
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
    w.finish()
}

/// The count of the entities the plan's filter selects (ignoring paging, `$top` and `$skip`).
pub fn count(plan: &ReadPlan, tenant: &TenantScope) -> SqlQuery {
    let mut w = Writer::new(plan.set, tenant);
    w.push("SELECT count(*)");
    from_where(&mut w, plan);
    w.finish()
}

fn from_where(w: &mut Writer, plan: &ReadPlan) {
    let set: &EntitySet = plan.set;
    w.push(" FROM ");
    w.push(&set.table);
    w.push(" t WHERE t.");
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
    if let Some(filter) = &plan.filter {
        w.push(" AND ");
        w.expr(filter, false);
    }
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
