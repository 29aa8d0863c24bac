//! Binding: checks a parsed request (resource path and query options) against the feed model
//! and produces a `BoundQuery` in which every name is a property of the set and every
//! expression is typed.
//!
//! Invariants: pure (no IO); every name a later stage sees comes from the model, never from the
//! URL; every failure is a `BindError` with a stable `BIND1xx` code.

mod expand;
mod expr;
mod functions;
mod literal;
mod types;

pub use expand::{Expansion, MAX_EXPANDED_COLUMNS, MAX_EXPANSIONS};
pub use expr::{Arith, Compare, Logic, Node, Related, StoredColumn, Typed};
pub use functions::{FUNCTIONS, Func};
pub use types::{ScalarType, Value};

use crate::odata::model::{EntitySet, Model, NavigationProperty};
use crate::odata::uri::{KeyPredicate, PathTail, QueryOptions, ResourcePath, SelectItem, SyntaxError};
use expr::Binder;

/// Errors raised while binding a request to the model. Codes `BIND1xx`.
#[derive(Debug, thiserror::Error)]
pub enum BindError {
    #[error("the entity set `{0}` does not exist")]
    UnknownEntitySet(String),
    #[error("the property `{property}` is not defined on `{entity_set}`")]
    UnknownProperty { entity_set: String, property: String },
    #[error("`{entity_set}` has no property `{property}`")]
    UnknownPathProperty { entity_set: String, property: String },
    #[error("`{path}`: the properties of this feed have no sub-properties")]
    NotStructured { path: String },
    #[error("`{entity_set}` has no navigation property `{navigation}`")]
    UnknownNavigation { entity_set: String, navigation: String },
    #[error("`{0}` is expanded more than once")]
    DuplicateExpand(String),
    #[error("$expand is nested deeper than this service's limit of {limit} levels")]
    ExpandTooDeep { limit: usize },
    #[error("$expand asks for too much: {0}")]
    ExpandTooLarge(String),
    #[error("`{path}` is a collection; use it with any() or all()")]
    CollectionPath { path: String },
    #[error("`{path}` is not a collection, so any() and all() do not apply to it")]
    NotCollection { path: String },
    #[error("`{0}` is not a canonical function")]
    UnknownFunction(String),
    #[error("`{function}` takes {signature}, not {found}")]
    Arguments { function: String, signature: String, found: String },
    #[error("the operator `{operator}` cannot compare or combine {left} with {right}")]
    Incompatible { operator: String, left: ScalarType, right: ScalarType },
    #[error("the operator `{operator}` does not apply to {found}")]
    Operand { operator: String, found: ScalarType },
    #[error("$filter must be a Boolean expression, but this one is {0}")]
    NotBoolean(ScalarType),
    #[error("`{0}` is not a primitive type name such as Edm.String or Edm.Int32")]
    UnknownType(String),
    #[error("a value of type {from} cannot be cast to {to}")]
    Cast { from: ScalarType, to: ScalarType },
    #[error("the literal `{literal}` cannot be used: {reason}")]
    InvalidLiteral { literal: String, reason: String },
    #[error("the parameter alias `@{0}` refers to other aliases too deeply")]
    AliasTooDeep(String),
    #[error("in the value of the parameter alias `@{alias}`: {error}")]
    AliasSyntax { alias: String, error: SyntaxError },
    #[error("the key of `{entity_set}` is ({expected}); the request gives {found}")]
    KeyMismatch { entity_set: String, expected: String, found: String },
    #[error("{0} cannot be used on {1}")]
    OptionNotAllowed(&'static str, &'static str),
    #[error("{0} is not supported by this service")]
    NotImplemented(String),
}

impl BindError {
    /// The stable code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnknownEntitySet(_) => "BIND101",
            Self::UnknownProperty { .. } => "BIND102",
            Self::UnknownPathProperty { .. } => "BIND116",
            Self::NotStructured { .. } => "BIND103",
            Self::CollectionPath { .. } => "BIND117",
            Self::UnknownNavigation { .. } => "BIND119",
            Self::DuplicateExpand(_) => "BIND120",
            Self::ExpandTooDeep { .. } => "BIND121",
            Self::ExpandTooLarge(_) => "BIND122",
            Self::NotCollection { .. } => "BIND118",
            Self::UnknownFunction(_) => "BIND104",
            Self::Arguments { .. } => "BIND105",
            Self::Incompatible { .. } => "BIND106",
            Self::Operand { .. } => "BIND107",
            Self::NotBoolean(_) => "BIND108",
            Self::UnknownType(_) => "BIND109",
            Self::Cast { .. } => "BIND110",
            Self::InvalidLiteral { .. } => "BIND111",
            Self::AliasTooDeep(_) => "BIND113",
            Self::AliasSyntax { error, .. } => error.code(),
            Self::KeyMismatch { .. } => "BIND114",
            Self::OptionNotAllowed(..) => "BIND115",
            Self::NotImplemented(_) => "NotImplemented",
        }
    }
}

/// What the request addresses.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// The entity set (a page of entities).
    Collection,
    /// `/{Set}/$count`: the number of entities, as text.
    Count,
    /// One entity, by key.
    Entity,
    /// One property of one entity, by index in `EntitySet::properties`.
    Property(usize),
    /// The raw value of one property of one entity.
    PropertyValue(usize),
}

/// Which properties a response carries.
#[derive(Debug, Clone, PartialEq)]
pub enum Selection {
    /// Every structural property (no `$select`, or `*`).
    All,
    /// These properties, by index, in the order requested (without duplicates).
    Properties(Vec<usize>),
}

/// A request whose names and types have been checked against the model.
#[derive(Debug)]
pub struct BoundQuery<'m> {
    pub set: &'m EntitySet,
    pub target: Target,
    /// The key values when one entity is addressed: `(property index, value)` in key order.
    pub key: Vec<(usize, Value)>,
    pub filter: Option<Typed>,
    pub orderby: Vec<(Typed, bool)>,
    pub select: Selection,
    pub top: Option<u64>,
    pub skip: Option<u64>,
    pub count: bool,
    pub skiptoken: Option<String>,
    /// When the path navigates from one entity (`Calls('x')/QueueSegments`), that entity.
    pub via: Option<Via<'m>>,
    /// Expanded navigation properties, in request order.
    pub expand: Vec<Expansion<'m>>,
    /// Navigation properties named in `$select` or `$expand`, for the context URL.
    pub selected_navigation: Vec<String>,
}

/// The entity a navigation path starts from, and the navigation property it follows.
#[derive(Debug, Clone)]
pub struct Via<'m> {
    pub parent: &'m EntitySet,
    /// The parent's key values, `(property index, value)` in key order.
    pub key: Vec<(usize, Value)>,
    pub navigation: &'m NavigationProperty,
}

/// How deep `$expand` may nest unless configured otherwise.
pub const DEFAULT_EXPAND_DEPTH: usize = 3;

/// Binds a resource path and its query options to the model; `$expand` may nest at most
/// `max_expand_depth` levels.
pub fn bind<'m>(
    model: &'m Model,
    path: &ResourcePath,
    options: &QueryOptions,
    max_expand_depth: usize,
) -> Result<BoundQuery<'m>, BindError> {
    if let Some(option) = options.unsupported.first() {
        return Err(BindError::NotImplemented(format!("the query option `{option}`")));
    }
    let first = model.entity_set(&path.set).ok_or_else(|| BindError::UnknownEntitySet(path.set.clone()))?;
    let mut set = first;
    let mut key = match &path.key {
        Some(k) => bind_key(first, k)?,
        None => Vec::new(),
    };
    let mut via = None;
    let navigation = match &path.tail {
        PathTail::Property(name) | PathTail::PropertyCount(name) | PathTail::PropertyValue(name) => {
            first.navigation_property(name)
        }
        _ => None,
    };
    if let Some(navigation) = navigation {
        set = model.entity_set(&navigation.target).expect("the model's navigation targets exist");
        via = Some(Via { parent: first, key: std::mem::take(&mut key), navigation });
    }
    let property = |name: &str| {
        set.property_index(name)
            .ok_or_else(|| BindError::UnknownPathProperty { entity_set: set.name.clone(), property: name.to_owned() })
    };
    let target = match (&path.tail, &via, key.is_empty()) {
        (PathTail::Property(_), Some(via), _) if via.navigation.collection => Target::Collection,
        (PathTail::Property(_), Some(_), _) => Target::Entity,
        (PathTail::PropertyCount(_), Some(via), _) if via.navigation.collection => Target::Count,
        (PathTail::PropertyCount(_), Some(_), _) => {
            return Err(BindError::OptionNotAllowed("`/$count`", "a single-valued navigation property"));
        }
        (PathTail::PropertyValue(_), Some(_), _) => {
            return Err(BindError::OptionNotAllowed("`/$value`", "a navigation property"));
        }
        (PathTail::None, None, true) => Target::Collection,
        (PathTail::Count, None, true) => Target::Count,
        (PathTail::None, None, false) => Target::Entity,
        (PathTail::Property(name), None, false) => Target::Property(property(name)?),
        (PathTail::PropertyValue(name), None, false) => Target::PropertyValue(property(name)?),
        (PathTail::Count, _, false) => return Err(BindError::OptionNotAllowed("`/$count`", "a single entity")),
        (PathTail::PropertyCount(name), None, _) => {
            property(name)?;
            return Err(BindError::OptionNotAllowed("`/$count`", "a primitive property"));
        }
        (PathTail::Property(_) | PathTail::PropertyValue(_), None, true) => {
            return Err(BindError::OptionNotAllowed("a property segment", "a collection; address one entity by key"));
        }
        (PathTail::None | PathTail::Count, Some(_), _) => unreachable!("navigation comes from a property segment"),
    };
    let single = !matches!(target, Target::Collection | Target::Count);
    if single {
        let given = [
            ("$filter", options.filter.is_some()),
            ("$orderby", options.orderby.is_some()),
            ("$top", options.top.is_some()),
            ("$skip", options.skip.is_some()),
            ("$count", options.count.is_some()),
            ("$skiptoken", options.skiptoken.is_some()),
        ];
        if let Some((name, _)) = given.iter().find(|(_, g)| *g) {
            return Err(BindError::OptionNotAllowed(name, "a single entity or property"));
        }
    }
    let mut binder = Binder::new(model, set, &options.aliases);
    let filter = options.filter.as_ref().map(|f| binder.filter(f)).transpose()?;
    let orderby = match &options.orderby {
        Some(items) => items.iter().map(|i| Ok((binder.bind(&i.expr)?, i.descending))).collect::<Result<_, _>>()?,
        None => Vec::new(),
    };
    let expand = match (&options.expand, &target) {
        (None, _) => Vec::new(),
        (Some(items), Target::Collection | Target::Entity) => {
            expand::bind_expand(model, set, items, &options.aliases, max_expand_depth)?
        }
        (Some(_), _) => return Err(BindError::OptionNotAllowed("$expand", "a count or a property")),
    };
    let mut selected_navigation = Vec::new();
    let select = match &options.select {
        None => Selection::All,
        Some(items) => bind_select(set, items, &mut selected_navigation)?,
    };
    for expansion in &expand {
        if !selected_navigation.contains(&expansion.navigation.name) {
            selected_navigation.push(expansion.navigation.name.clone());
        }
    }
    Ok(BoundQuery {
        set,
        target,
        key,
        filter,
        orderby,
        select,
        top: options.top,
        skip: options.skip,
        count: options.count.unwrap_or(false),
        skiptoken: options.skiptoken.clone(),
        via,
        expand,
        selected_navigation,
    })
}

/// The selected structural properties; navigation properties named are collected apart (they
/// are listed in the context URL, and written when expanded).
fn bind_select(set: &EntitySet, items: &[SelectItem], navigation: &mut Vec<String>) -> Result<Selection, BindError> {
    let mut chosen = Vec::new();
    for item in items {
        let path = match item {
            SelectItem::Star => return Ok(Selection::All),
            SelectItem::Path(path) => path,
        };
        let [name] = path.as_slice() else {
            return Err(BindError::NotStructured { path: path.join("/") });
        };
        match set.property_index(name) {
            Some(i) if !chosen.contains(&i) => chosen.push(i),
            Some(_) => {}
            None if set.navigation_property(name).is_some() => {
                if !navigation.contains(name) {
                    navigation.push(name.clone());
                }
            }
            None => {
                return Err(BindError::UnknownProperty { entity_set: set.name.clone(), property: name.clone() });
            }
        }
    }
    Ok(Selection::Properties(chosen))
}

fn bind_key(set: &EntitySet, key: &KeyPredicate) -> Result<Vec<(usize, Value)>, BindError> {
    let expected = set.key.join(",");
    let mismatch =
        |found: String| BindError::KeyMismatch { entity_set: set.name.clone(), expected: expected.clone(), found };
    let pairs: Vec<(&str, &crate::odata::uri::Literal)> = match key {
        KeyPredicate::Single(lit) if set.key.len() == 1 => vec![(set.key[0].as_str(), lit)],
        KeyPredicate::Single(lit) => return Err(mismatch(format!("the single value {lit}"))),
        KeyPredicate::Named(pairs) => pairs.iter().map(|(n, l)| (n.as_str(), l)).collect(),
    };
    let names: Vec<&str> = pairs.iter().map(|(n, _)| *n).collect();
    if names.len() != set.key.len() || !set.key.iter().all(|k| names.contains(&k.as_str())) {
        return Err(mismatch(format!("({})", names.join(","))));
    }
    let mut out = Vec::new();
    for key_name in &set.key {
        let (_, lit) = pairs.iter().find(|(n, _)| n == key_name).expect("checked above");
        let index = set.property_index(key_name).expect("the model's keys are properties");
        let want = ScalarType::of(set.properties[index].edm_type);
        let value = literal::value(lit)?.ok_or_else(|| mismatch("null".into()))?;
        if !ScalarType::comparable(want, value.ty)
            || (want.is_numeric() && !matches!(value.ty, ScalarType::Int32 | ScalarType::Int64))
        {
            return Err(mismatch(format!("{lit} ({}) for `{key_name}` ({want})", value.ty)));
        }
        out.push((index, value));
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
