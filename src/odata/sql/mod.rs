//! SQL text for a `ReadPlan`: the page query (selected columns, then each sort key as text
//! for the next skiptoken) and the count query.
//!
//! Invariants: pure and infallible. Identifiers come only from the model; every value (user
//! literals, skiptoken values, the tenant, the model's row filter, the tenant's time zone) is a
//! bind parameter passed as text and cast in the statement. The tenant predicate is added here,
//! never by the caller.

mod expand;
mod expr;

use crate::odata::bind::{Node, ScalarType, Via};
use crate::odata::edm::EdmType;
use crate::odata::model::EntitySet;
use crate::odata::plan::{ReadPlan, SortKey};
use expr::Writer;

/// The tenant a statement is scoped to.
#[derive(Debug, Clone)]
pub struct TenantScope {
    pub id: String,
    /// The tenant's IANA time zone, for the local-time properties.
    pub time_zone: String,
    /// Whether statements name the tenant (`t.tenant_id = $1`) for every table they read. The
    /// server always does; tests turn it off to show that row-level security alone keeps
    /// other tenants' rows out.
    pub predicate: bool,
}

impl TenantScope {
    /// A tenant whose statements carry the tenant predicate.
    pub fn new(id: impl Into<String>, time_zone: impl Into<String>) -> TenantScope {
        TenantScope { id: id.into(), time_zone: time_zone.into(), predicate: true }
    }
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
    /// Where the properties and expansions of the request's own entities are.
    pub entity: EntityLayout,
    /// For each sort key of `plan.order`, the result column holding its value.
    pub sort_values: Vec<SortColumn>,
    /// When related entities come in rows of their own (collection-valued expansions), the
    /// column saying which node of the expansion tree a row belongs to: 0 for the request's
    /// own entities, `ExpansionLayout::Rows::node` for related ones.
    pub node: Option<usize>,
}

/// Where one entity's properties and expansions are in a result row.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EntityLayout {
    /// For each written property, its result column. A stored column that serves two
    /// properties (a UTC instant and its local time) is read once.
    pub properties: Vec<usize>,
    /// For an entity written as a reference, each key property's value (for `@odata.id`).
    pub key: Vec<SortColumn>,
    /// For each expansion of the entity, in request order.
    pub expansions: Vec<ExpansionLayout>,
}

/// Where an expanded navigation property is in the result.
#[derive(Debug, Clone, PartialEq)]
pub enum ExpansionLayout {
    /// A single related entity joined into its parent's row.
    Joined {
        /// A column of the join that is null exactly when there is no related entity.
        present: usize,
        entity: EntityLayout,
    },
    /// Related entities in rows of their own, after their parent's row, marked `node`.
    Rows {
        node: usize,
        /// The parent row's column holding the number of related entities (`$count`).
        count: Option<usize>,
        entity: EntityLayout,
    },
    /// Only the number of related entities (`Nav/$count`), in the parent's row.
    Count { count: usize },
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
/// (decimals as text), then, for each sort key not already among them, its value as text,
/// then the expansions; `Layout` says which is where. Single-valued expansions are joined
/// into the row. Collection-valued ones make it one statement of several parts (see
/// `expand`): the page's entities, then each one's related entities in rows of their own.
pub fn select(plan: &ReadPlan, tenant: &TenantScope) -> (SqlQuery, Layout) {
    let mut w = Writer::new(plan.set, tenant);
    let levels = expand::row_levels(&plan.expand);
    let mut tree = expand::Tree::new(levels);
    let mut joins = String::new();
    let entity = tree.entity(&mut w, 0, plan.set, "t", &plan.columns, &plan.expand, &mut joins, false);
    let mut sort_values = Vec::with_capacity(plan.order.len());
    for key in &plan.order {
        let reused = match key.expr.node {
            Node::Property(i) if !plan.set.properties[i].is_local_time() => {
                let property = &plan.set.properties[i];
                let at = plan.columns.iter().position(|&c| plan.set.properties[c].column() == property.column());
                match (at.map(|at| entity.properties[at]), property.edm_type) {
                    (Some(at), EdmType::String) => Some(SortColumn::Text(at)),
                    (Some(at), EdmType::Int16 | EdmType::Int32) => Some(SortColumn::Int32(at)),
                    (Some(at), EdmType::Int64) => Some(SortColumn::Int64(at)),
                    _ => None,
                }
            }
            _ => None,
        };
        let column = reused.unwrap_or_else(|| {
            let expr = w.capture(|w| {
                w.push("(");
                w.expr(&key.expr, false);
                w.push(")::text");
            });
            SortColumn::Text(tree.push(0, expr, "text"))
        });
        sort_values.push(column);
    }
    if levels == 0 {
        w.push("SELECT ");
        w.push(&tree.select_list());
        from_where(&mut w, plan, &joins);
        page_bounds(&mut w, plan);
        return (w.finish(), Layout { entity, sort_values, node: None });
    }
    w.push("WITH e0 AS MATERIALIZED (SELECT t.*, row_number() OVER (ORDER BY ");
    order_by(&mut w, plan);
    w.push(") AS _o0");
    from_where(&mut w, plan, "");
    page_bounds(&mut w, plan);
    w.push(")");
    tree.statement(&mut w, plan.offset + plan.page_rows, &joins);
    (w.finish(), Layout { entity, sort_values, node: Some(0) })
}

/// The keyset bound, `ORDER BY`, `LIMIT` and `OFFSET` of the page.
fn page_bounds(w: &mut Writer, plan: &ReadPlan) {
    if let Some(after) = &plan.after {
        w.push(" AND ");
        keyset(w, &plan.order, after);
    }
    w.push(" ORDER BY ");
    order_by(w, plan);
    let limit = if plan.paged { plan.page_rows + 1 } else { plan.page_rows };
    w.push(&format!(" LIMIT {limit}"));
    if plan.offset > 0 {
        w.push(&format!(" OFFSET {}", plan.offset));
    }
}

/// The total order of the page.
fn order_by(w: &mut Writer, plan: &ReadPlan) {
    for (i, key) in plan.order.iter().enumerate() {
        if i > 0 {
            w.push(", ");
        }
        expand::sort_key(w, &key.expr, key.descending);
    }
}

/// The count of the entities the plan's filter selects (ignoring paging, `$top` and `$skip`).
pub fn count(plan: &ReadPlan, tenant: &TenantScope) -> SqlQuery {
    let mut w = Writer::new(plan.set, tenant);
    w.push("SELECT count(*)");
    from_where(&mut w, plan, "");
    w.finish()
}

/// `FROM <table> t <joins> WHERE <tenant, row filter, navigation, filter>`.
fn from_where(w: &mut Writer, plan: &ReadPlan, joins: &str) {
    let set: &EntitySet = plan.set;
    w.push(" FROM ");
    w.push(&set.table);
    w.push(" t");
    w.push(joins);
    w.push(" WHERE ");
    w.tenant_of("t");
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
    w.push(" p WHERE ");
    w.tenant_of("p");
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
