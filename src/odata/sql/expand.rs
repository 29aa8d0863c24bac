//! `$expand` in SQL, always inside the one page statement.
//!
//! A single-valued navigation property whose expansion holds no collection is a `LEFT JOIN`
//! into its parent's row (`x1`, `x2`, ...); its nested `$filter` joins the condition. `$count`
//! of a collection is a correlated `count(*)` in the parent's row.
//!
//! Collection-valued expansions (and single-valued ones holding a collection) turn the page
//! query into one statement of common table expressions: `e0` is the page of the request's own
//! entities, numbered in page order (`_o0`); each expansion node `eK` joins its parent's rows
//! with the related set, numbers the related rows per parent in their order (`_oD`, D the
//! node's depth) and keeps `$skip`/`$top` of them. A `UNION ALL` of one part per node, each
//! filling its own columns and `NULL` in the others, ordered by (`_o0`, position, `_o1`, ...),
//! puts every entity's related rows right after it, so the page streams in one pass and costs
//! one statement however many rows or levels it has.
//!
//! Invariants: every related table is joined on the tenant parameter, never on another row's
//! tenant; identifiers come from the model only.

use super::expr::Writer;
use super::{EntityLayout, ExpansionLayout, SortColumn};
use crate::odata::bind::{Expansion, Typed};
use crate::odata::edm::EdmType;
use crate::odata::model::{EntitySet, Property};

/// Whether an expansion needs rows of its own: a collection, or a single entity holding one.
fn needs_rows(e: &Expansion) -> bool {
    !e.count_only && (e.navigation.collection || e.expand.iter().any(needs_rows))
}

/// How many levels of expansions in rows of their own `expansions` hold (0: none).
pub fn row_levels(expansions: &[Expansion]) -> usize {
    expansions.iter().filter(|e| needs_rows(e)).map(|e| 1 + row_levels(&e.expand)).max().unwrap_or(0)
}

/// The result columns of a page statement and the expansion nodes with rows of their own.
pub struct Tree<'p> {
    /// Levels of nodes with rows of their own; the statement starts with `2 + 2 * levels`
    /// bookkeeping columns (`_node`, `_o0`, then a position and an ordinal per level).
    levels: usize,
    columns: Vec<Column>,
    /// Node `k` is `nodes[k - 1]`; node 0 is the request's own entities.
    nodes: Vec<RowsNode<'p>>,
    next_join: usize,
}

/// One result column, filled by the rows of one node.
struct Column {
    node: usize,
    expr: String,
    ty: String,
}

/// An expansion whose related entities come in rows of their own.
struct RowsNode<'p> {
    expansion: &'p Expansion<'p>,
    parent: usize,
    /// 1-based position among the parent's nodes: the order of their rows after the parent.
    position: usize,
    depth: usize,
    /// The `LEFT JOIN`s of this node's joined single-valued expansions.
    joins: String,
}

impl<'p> Tree<'p> {
    pub fn new(levels: usize) -> Tree<'p> {
        Tree { levels, columns: Vec::new(), nodes: Vec::new(), next_join: 0 }
    }

    /// Adds a column that `node`'s rows fill with `expr`; returns its result index.
    pub fn push(&mut self, node: usize, expr: String, ty: &str) -> usize {
        self.columns.push(Column { node, expr, ty: ty.to_owned() });
        self.bookkeeping() + self.columns.len() - 1
    }

    fn bookkeeping(&self) -> usize {
        if self.levels == 0 { 0 } else { 2 + 2 * self.levels }
    }

    fn depth(&self, node: usize) -> usize {
        if node == 0 { 0 } else { self.nodes[node - 1].depth }
    }

    /// The columns of one entity of `set` (row alias `alias`) that `node`'s rows carry: its
    /// `columns`, then its expansions (joined ones add to `joins`); nodes with rows of their own
    /// are added, with their own columns, after it. `reference`: the key is also kept as text.
    #[allow(clippy::too_many_arguments)]
    pub fn entity(
        &mut self,
        w: &mut Writer<'p>,
        node: usize,
        set: &'p EntitySet,
        alias: &str,
        columns: &[usize],
        expansions: &'p [Expansion<'p>],
        joins: &mut String,
        reference: bool,
    ) -> EntityLayout {
        let mut seen: Vec<(&str, usize)> = Vec::new();
        let mut properties = Vec::with_capacity(columns.len());
        for &index in columns {
            let property = &set.properties[index];
            if let Some((_, at)) = seen.iter().find(|(c, _)| *c == property.column()) {
                properties.push(*at);
                continue;
            }
            let (expr, ty) = match property.edm_type {
                EdmType::Decimal { .. } => (format!("{alias}.{}::text", property.column()), "text".to_owned()),
                _ => (format!("{alias}.{}", property.column()), sql_type(property)),
            };
            let at = self.push(node, expr, &ty);
            seen.push((property.column(), at));
            properties.push(at);
        }
        let key = if reference { self.key_text(node, set, alias, columns, &properties) } else { Vec::new() };
        let mut layouts = Vec::with_capacity(expansions.len());
        let mut rows = Vec::new();
        for e in expansions {
            if e.count_only {
                layouts.push(ExpansionLayout::Count { count: self.count(w, node, alias, e) });
            } else if needs_rows(e) {
                let count = e.count.then(|| self.count(w, node, alias, e));
                rows.push((layouts.len(), e));
                layouts.push(ExpansionLayout::Rows { node: 0, count, entity: EntityLayout::default() });
            } else {
                layouts.push(self.joined(w, node, alias, e, joins));
            }
        }
        for (position, (at, e)) in rows.into_iter().enumerate() {
            let id = self.nodes.len() + 1;
            let depth = self.depth(node) + 1;
            self.nodes.push(RowsNode {
                expansion: e,
                parent: node,
                position: position + 1,
                depth,
                joins: String::new(),
            });
            let mut own_joins = String::new();
            let entity = w.within(e.target, "t", |w| {
                self.entity(w, id, e.target, "t", &e.columns, &e.expand, &mut own_joins, e.reference)
            });
            self.nodes[id - 1].joins = own_joins;
            if let ExpansionLayout::Rows { node, entity: slot, .. } = &mut layouts[at] {
                *node = id;
                *slot = entity;
            }
        }
        EntityLayout { properties, key, expansions: layouts }
    }

    /// A single related entity joined into the row of `alias`.
    fn joined(
        &mut self,
        w: &mut Writer<'p>,
        node: usize,
        alias: &str,
        e: &'p Expansion<'p>,
        joins: &mut String,
    ) -> ExpansionLayout {
        self.next_join += 1;
        let x = format!("x{}", self.next_join);
        let on = w.capture(|w| {
            w.joined(&e.related, &x, alias);
            if let Some(filter) = &e.filter {
                w.push(" AND ");
                w.within(e.target, &x, |w| w.expr(filter, false));
            }
        });
        joins.push_str(&format!(" LEFT JOIN {} {x} ON {on}", e.related.table));
        let (_, inner) = &e.related.join[0];
        let inner_type = e.target.properties.iter().find(|p| p.column() == inner).map_or("text".to_owned(), sql_type);
        let present = self.push(node, format!("{x}.{inner}"), &inner_type);
        let entity =
            w.within(e.target, &x, |w| self.entity(w, node, e.target, &x, &e.columns, &e.expand, joins, e.reference));
        ExpansionLayout::Joined { present, entity }
    }

    /// `(SELECT count(*) FROM <related> c WHERE <belongs to alias> AND <filter>)`.
    fn count(&mut self, w: &mut Writer<'p>, node: usize, alias: &str, e: &'p Expansion<'p>) -> usize {
        let expr = w.capture(|w| {
            w.push(&format!("(SELECT count(*) FROM {} c WHERE ", e.related.table));
            w.joined(&e.related, "c", alias);
            if let Some(filter) = &e.filter {
                w.push(" AND ");
                w.within(e.target, "c", |w| w.expr(filter, false));
            }
            w.push(")");
        });
        self.push(node, expr, "bigint")
    }

    /// The text of each key property of a referenced entity, for its `@odata.id`.
    fn key_text(
        &mut self,
        node: usize,
        set: &EntitySet,
        alias: &str,
        columns: &[usize],
        properties: &[usize],
    ) -> Vec<SortColumn> {
        set.key_properties()
            .map(|key| {
                let at = columns.iter().position(|&c| set.properties[c].name == key.name).map(|i| properties[i]);
                match (at, key.edm_type) {
                    (Some(at), EdmType::String) => SortColumn::Text(at),
                    (Some(at), EdmType::Int16 | EdmType::Int32) => SortColumn::Int32(at),
                    (Some(at), EdmType::Int64) => SortColumn::Int64(at),
                    _ => SortColumn::Text(self.push(node, format!("{alias}.{}::text", key.column()), "text")),
                }
            })
            .collect()
    }

    /// The select list of the simple statement (no rows of their own).
    pub fn select_list(&self) -> String {
        self.columns.iter().map(|c| c.expr.as_str()).collect::<Vec<_>>().join(", ")
    }

    /// After `WITH e0 AS (...)` (the page, numbered `_o0`; entities numbered above `page_end`
    /// only tell that another page follows): one expression per node, then the parts, ordered.
    pub fn statement(&self, w: &mut Writer<'p>, page_end: u64, root_joins: &str) {
        for (i, node) in self.nodes.iter().enumerate() {
            let e = node.expansion;
            let d = node.depth;
            let parents: Vec<String> = (0..d).map(|k| format!("p._o{k}")).collect();
            w.push(&format!(
                ", e{} AS MATERIALIZED (SELECT * FROM (SELECT t.*, {}, row_number() OVER (PARTITION BY {} ORDER BY ",
                i + 1,
                parents.join(", "),
                parents.join(", ")
            ));
            w.within(e.target, "t", |w| {
                for (expr, descending) in &e.orderby {
                    sort_key(w, expr, *descending);
                    w.push(", ");
                }
            });
            let keys: Vec<String> = e.target.key_properties().map(|k| format!("t.{} ASC", k.column())).collect();
            w.push(&keys.join(", "));
            w.push(&format!(") AS _o{d} FROM e{} p JOIN {} t ON ", node.parent, e.related.table));
            w.joined(&e.related, "t", "p");
            if node.parent == 0 {
                w.push(&format!(" AND p._o0 <= {page_end}"));
            }
            if let Some(filter) = &e.filter {
                w.push(" AND ");
                w.within(e.target, "t", |w| w.expr(filter, false));
            }
            let skip = e.skip.unwrap_or(0);
            let top = if e.navigation.collection { e.top } else { Some(1) };
            w.push(") q");
            match (skip, top) {
                (0, None) => {}
                (_, None) => w.push(&format!(" WHERE _o{d} > {skip}")),
                (_, Some(top)) => w.push(&format!(" WHERE _o{d} > {skip} AND _o{d} <= {}", skip.saturating_add(top))),
            }
            w.push(")");
        }
        for node in 0..=self.nodes.len() {
            if node > 0 {
                w.push(" UNION ALL");
            }
            w.push(&format!(" SELECT {node}, t._o0"));
            let path = self.path(node);
            for level in 1..=self.levels {
                match path.get(level - 1) {
                    Some(position) => w.push(&format!(", {position}, t._o{level}")),
                    None => w.push(", 0, 0::bigint"),
                }
            }
            for column in &self.columns {
                if column.node == node {
                    w.push(", ");
                    w.push(&column.expr);
                } else {
                    w.push(&format!(", NULL::{}", column.ty));
                }
            }
            let joins = if node == 0 { root_joins } else { &self.nodes[node - 1].joins };
            w.push(&format!(" FROM e{node} t{joins}"));
        }
        let order: Vec<String> = (2..=2 + 2 * self.levels).map(|c| c.to_string()).collect();
        w.push(&format!(" ORDER BY {}", order.join(", ")));
    }

    /// The positions from the root down to `node`.
    fn path(&self, mut node: usize) -> Vec<usize> {
        let mut path = Vec::new();
        while node > 0 {
            path.push(self.nodes[node - 1].position);
            node = self.nodes[node - 1].parent;
        }
        path.reverse();
        path
    }
}

/// One sort key: ascending nulls first, descending nulls last, as OData orders them.
pub fn sort_key(w: &mut Writer, expr: &Typed, descending: bool) {
    w.expr(expr, false);
    w.push(match (descending, expr.nullable) {
        (false, false) => " ASC",
        (true, false) => " DESC",
        (false, true) => " ASC NULLS FIRST",
        (true, true) => " DESC NULLS LAST",
    });
}

/// The PostgreSQL type of a property's stored column, for a typed `NULL`.
fn sql_type(property: &Property) -> String {
    property.edm_type.sql_type(property.max_length).to_string()
}
