//! Plans a bound read (`ReadPlan`): which columns, which filter, a total order (the key is
//! appended), the page size, the keyset bound taken from `$skiptoken`, and how client
//! `$top`/`$skip` combine with server-driven paging.
//!
//! Invariants: no IO and no SQL text here; a request is rejected here only for limits or for
//! an invalid skiptoken. OFFSET is planned only for an explicit `$skip`, and only on the first page.

pub mod skiptoken;

use crate::odata::bind::{BoundQuery, Compare, Expansion, Node, ScalarType, Selection, Target, Typed, Via};
use crate::odata::model::EntitySet;
pub use skiptoken::{Cursor, InvalidToken, SigningKey};

/// Server-side limits, from configuration.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Rows per page when the client states no preference.
    pub page_size: u64,
    /// The largest page a client may ask for with `Prefer: odata.maxpagesize`.
    pub max_page_size: u64,
    /// The largest `$top` accepted.
    pub max_top: u64,
    /// The largest `$skip` accepted.
    pub max_skip: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { page_size: 5_000, max_page_size: 50_000, max_top: 1_000_000_000, max_skip: 100_000_000 }
    }
}

/// Errors raised while planning. Codes `PLAN1xx`.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("$top={given} is larger than this service's limit of {limit}")]
    TopTooLarge { given: u64, limit: u64 },
    #[error("$skip={given} is larger than this service's limit of {limit}; narrow the request with $filter")]
    SkipTooLarge { given: u64, limit: u64 },
    #[error(transparent)]
    InvalidToken(#[from] InvalidToken),
}

impl PlanError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::TopTooLarge { .. } => "PLAN101",
            Self::SkipTooLarge { .. } => "PLAN102",
            Self::InvalidToken(_) => "PLAN103",
        }
    }
}

/// One sort key of the total order.
#[derive(Debug, Clone)]
pub struct SortKey {
    pub expr: Typed,
    pub descending: bool,
}

/// How one request reads its rows.
#[derive(Debug)]
pub struct ReadPlan<'m> {
    pub set: &'m EntitySet,
    pub target: Target,
    /// The properties written for each entity, by index, in model order.
    pub columns: Vec<usize>,
    /// The properties named in `$select`, in request order (for the context URL), if any.
    pub selected: Option<Vec<usize>>,
    /// The client's filter and, for a single entity, the key equality.
    pub filter: Option<Typed>,
    /// The client's order followed by the key: a total order.
    pub order: Vec<SortKey>,
    /// Rows start strictly after these sort values (from `$skiptoken`).
    pub after: Option<Vec<Option<String>>>,
    /// Rows skipped by an explicit `$skip` (first page only).
    pub offset: u64,
    /// Rows this page may hold; one more is fetched to learn whether another page follows.
    pub page_rows: u64,
    /// Whether rows beyond this page exist only when the server cut the page (not `$top`).
    pub paged: bool,
    /// Rows sent by the previous pages.
    pub delivered: u64,
    pub count: bool,
    /// What the skiptoken is bound to (tenant added by the caller).
    pub scope: String,
    /// The entity a navigation path starts from.
    pub via: Option<Via<'m>>,
    /// Expanded single-valued navigation properties, joined into the page query.
    pub expand: Vec<Expansion<'m>>,
    /// Navigation properties the context URL lists.
    pub selected_navigation: Vec<String>,
}

/// The page size for a request: the client's preference when given and within limits.
pub fn page_size(limits: &Limits, preference: Option<u64>) -> u64 {
    match preference {
        Some(n) if n > 0 => n.min(limits.max_page_size),
        _ => limits.page_size,
    }
}

/// Plans a bound query. `scope` identifies the query for skiptokens (see `scope_of`);
/// `page_size` comes from `page_size`.
pub fn read_plan<'m>(
    query: BoundQuery<'m>,
    limits: &Limits,
    page_size: u64,
    scope: String,
    key: &SigningKey,
) -> Result<ReadPlan<'m>, PlanError> {
    if let Some(top) = query.top
        && top > limits.max_top
    {
        return Err(PlanError::TopTooLarge { given: top, limit: limits.max_top });
    }
    if let Some(skip) = query.skip
        && skip > limits.max_skip
    {
        return Err(PlanError::SkipTooLarge { given: skip, limit: limits.max_skip });
    }
    let set = query.set;
    let cursor = query.skiptoken.as_deref().map(|t| skiptoken::decode(t, &scope, key)).transpose()?;
    // An untyped sort key is the `null` literal: it orders nothing, so it is left out.
    let mut order: Vec<SortKey> = query
        .orderby
        .into_iter()
        .filter(|(expr, _)| expr.ty.is_some())
        .map(|(expr, descending)| SortKey { expr, descending })
        .collect();
    for key_name in &set.key {
        let index = set.property_index(key_name).expect("keys are properties");
        let already = order.iter().any(|k| k.expr.node == Node::Property(index));
        if !already {
            let ty = ScalarType::of(set.properties[index].edm_type);
            order.push(SortKey {
                expr: Typed { node: Node::Property(index), ty: Some(ty), nullable: false },
                descending: false,
            });
        }
    }
    if let Some(c) = &cursor
        && c.values.len() != order.len()
    {
        return Err(PlanError::InvalidToken(InvalidToken));
    }
    let key_filter = query.key.iter().map(|(index, value)| {
        let ty = Some(value.ty);
        let property = Typed { node: Node::Property(*index), ty, nullable: false };
        let literal = Typed { node: Node::Literal(value.clone()), ty, nullable: false };
        Typed {
            node: Node::Compare { op: Compare::Eq, left: Box::new(property), right: Box::new(literal) },
            ty: Some(ScalarType::Boolean),
            nullable: false,
        }
    });
    let filter = query.filter.into_iter().chain(key_filter).reduce(|a, b| Typed {
        node: Node::Logic { op: crate::odata::bind::Logic::And, left: Box::new(a), right: Box::new(b) },
        ty: Some(ScalarType::Boolean),
        nullable: true,
    });
    let (columns, selected) = match (&query.target, query.select) {
        (Target::Property(i) | Target::PropertyValue(i), _) => (vec![*i], None),
        (_, Selection::All) => ((0..set.properties.len()).collect(), None),
        (_, Selection::Properties(chosen)) => {
            let mut columns = chosen.clone();
            columns.sort_unstable();
            (columns, Some(chosen))
        }
    };
    let delivered = cursor.as_ref().map_or(0, |c| c.delivered);
    let remaining_top = query.top.map(|t| t.saturating_sub(delivered));
    let page_rows = match (&query.target, remaining_top) {
        (Target::Collection, Some(rest)) => rest.min(page_size),
        (Target::Collection, None) => page_size,
        _ => 1,
    };
    let paged = matches!(query.target, Target::Collection) && remaining_top.is_none_or(|rest| rest > page_size);
    Ok(ReadPlan {
        set,
        target: query.target,
        columns,
        selected,
        filter,
        order,
        after: cursor.map(|c| c.values),
        offset: if query.skiptoken.is_some() { 0 } else { query.skip.unwrap_or(0) },
        page_rows,
        paged,
        delivered,
        count: query.count,
        scope,
        via: query.via,
        expand: query.expand,
        selected_navigation: query.selected_navigation,
    })
}

/// The skiptoken scope of a request: tenant, entity set and every option that changes which
/// rows come in which order (`$filter`, `$orderby`, `$top`, `$skip`, aliases), in canonical form.
pub fn scope_of(tenant: &str, set: &str, options: &crate::odata::uri::QueryOptions) -> String {
    let show = |v: Option<String>| v.unwrap_or_default();
    let orderby =
        options.orderby.as_ref().map(|items| items.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(","));
    let aliases: Vec<String> = options.aliases.iter().map(|(k, v)| format!("@{k}={v}")).collect();
    format!(
        "{tenant}\n{set}\n{}\n{}\n{}\n{}\n{}",
        show(options.filter.as_ref().map(|f| f.to_string())),
        show(orderby),
        show(options.top.map(|t| t.to_string())),
        show(options.skip.map(|t| t.to_string())),
        aliases.join("&")
    )
}

#[cfg(test)]
mod tests;
