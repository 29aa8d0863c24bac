//! Binds `$expand` into a tree of `Expansion`s: each names a navigation property, the related
//! set, how it joins, which of its properties are written, and its own nested options
//! (`$select`, `$filter`, `$orderby`, `$top`, `$skip`, `$count`, `$expand`). `*` stands for every
//! navigation property; `$levels` repeats an item inside itself; `/$ref` writes references and
//! `/$count` only the number of related entities.
//!
//! Limits: the tree is at most `max_depth` deep (`$levels=max` goes that deep) and holds at most
//! `MAX_EXPANSIONS` navigation properties and `MAX_EXPANDED_COLUMNS` properties, so one request
//! stays one bounded statement.

use super::expr::{Binder, Related};
use super::{BindError, Selection, Typed, bind_select};
use crate::odata::model::{EntitySet, Model, NavigationProperty};
use crate::odata::uri::{ExpandItem, ExpandOptions, ExpandPath, Levels};
use std::collections::BTreeMap;

/// The most navigation properties one request may expand, all levels together.
pub const MAX_EXPANSIONS: usize = 32;
/// The most properties the expanded entities of one request may carry, all levels together.
pub const MAX_EXPANDED_COLUMNS: usize = 1_000;

/// One expanded navigation property and what is written of its related entities.
#[derive(Debug, Clone)]
pub struct Expansion<'m> {
    pub navigation: &'m NavigationProperty,
    pub target: &'m EntitySet,
    /// How the related rows join the entity they belong to.
    pub related: Related,
    /// The related set's properties written, by index, in model order (the key for `$ref`,
    /// none for `/$count`).
    pub columns: Vec<usize>,
    /// `Nav/$ref`: entity references (`@odata.id`) instead of entities.
    pub reference: bool,
    /// `Nav/$count`: only `Nav@odata.count`.
    pub count_only: bool,
    /// Which related entities are included (for a single-valued property: whether it is).
    pub filter: Option<Typed>,
    pub orderby: Vec<(Typed, bool)>,
    pub top: Option<u64>,
    pub skip: Option<u64>,
    /// `$count=true` inside the item, or `/$count`: `Nav@odata.count` is written.
    pub count: bool,
    pub expand: Vec<Expansion<'m>>,
}

impl Expansion<'_> {
    /// How many levels this expansion and its nested ones span (1 when nothing is nested).
    pub fn depth(&self) -> usize {
        1 + self.expand.iter().map(Expansion::depth).max().unwrap_or(0)
    }
}

/// Binds the `$expand` items of a request on `set`.
pub fn bind_expand<'m>(
    model: &'m Model,
    set: &'m EntitySet,
    items: &[ExpandItem],
    aliases: &BTreeMap<String, String>,
    max_depth: usize,
) -> Result<Vec<Expansion<'m>>, BindError> {
    let mut context = Context { model, aliases, max_depth, expansions: 0, columns: 0 };
    context.items(set, items, 1)
}

struct Context<'m, 'a> {
    model: &'m Model,
    aliases: &'a BTreeMap<String, String>,
    max_depth: usize,
    expansions: usize,
    columns: usize,
}

impl<'m> Context<'m, '_> {
    fn items(
        &mut self,
        set: &'m EntitySet,
        items: &[ExpandItem],
        depth: usize,
    ) -> Result<Vec<Expansion<'m>>, BindError> {
        if depth > self.max_depth {
            return Err(BindError::ExpandTooDeep { limit: self.max_depth });
        }
        let mut out: Vec<Expansion> = Vec::new();
        for item in items {
            for (navigation, is_ref, count, options) in self.resolve(set, item, depth)? {
                if out.iter().any(|e| e.navigation.name == navigation.name) {
                    return Err(BindError::DuplicateExpand(navigation.name.clone()));
                }
                out.push(self.item(set, navigation, is_ref, count, &options, depth)?);
            }
        }
        Ok(out)
    }

    /// The navigation properties an item names, each with its flags and options; `$levels` is
    /// unrolled into a nested copy of the item.
    #[allow(clippy::type_complexity)]
    fn resolve(
        &self,
        set: &'m EntitySet,
        item: &ExpandItem,
        depth: usize,
    ) -> Result<Vec<(&'m NavigationProperty, bool, bool, ExpandOptions)>, BindError> {
        let levels = match item.options.levels {
            None => 1,
            Some(Levels::Count(0)) => return Ok(Vec::new()),
            Some(Levels::Count(n)) => n,
            Some(Levels::Max) => (self.max_depth + 1).saturating_sub(depth) as u64,
        };
        if levels as usize > (self.max_depth + 1).saturating_sub(depth) {
            return Err(BindError::ExpandTooDeep { limit: self.max_depth });
        }
        let (navigations, is_ref, count): (Vec<&NavigationProperty>, bool, bool) = match &item.path {
            ExpandPath::Star { is_ref } => (set.navigation.iter().collect(), *is_ref, false),
            ExpandPath::Navigation { segments, is_ref, count } => {
                (vec![self.navigation(set, segments)?], *is_ref, *count)
            }
        };
        let mut out = Vec::new();
        for navigation in navigations {
            let mut options = ExpandOptions { levels: None, ..item.options.clone() };
            let target = self.model.entity_set(&navigation.target).expect("the model's navigation targets exist");
            let again = match &item.path {
                ExpandPath::Star { .. } => true,
                ExpandPath::Navigation { .. } => target.navigation_property(&navigation.name).is_some(),
            };
            if levels > 1 && again {
                let deeper = ExpandItem {
                    path: item.path.clone(),
                    options: ExpandOptions { levels: Some(Levels::Count(levels - 1)), ..item.options.clone() },
                };
                options.expand.get_or_insert_with(Vec::new).push(deeper);
            }
            out.push((navigation, is_ref, count, options));
        }
        Ok(out)
    }

    /// The navigation property of an expand path: one segment, optionally after a cast to the
    /// set's own entity type (the feed has no derived types and no complex properties).
    fn navigation(&self, set: &'m EntitySet, segments: &[String]) -> Result<&'m NavigationProperty, BindError> {
        let own_type = format!("{}.{}", crate::odata::model::NAMESPACE, set.entity_type);
        let name = match segments {
            [name] => name,
            [cast, name] if *cast == own_type => name,
            _ => return Err(BindError::NotImplemented(format!("expanding the path `{}`", segments.join("/")))),
        };
        set.navigation_property(name)
            .ok_or_else(|| BindError::UnknownNavigation { entity_set: set.name.clone(), navigation: name.clone() })
    }

    fn item(
        &mut self,
        set: &'m EntitySet,
        navigation: &'m NavigationProperty,
        reference: bool,
        count_only: bool,
        options: &ExpandOptions,
        depth: usize,
    ) -> Result<Expansion<'m>, BindError> {
        let name = &navigation.name;
        for (option, given) in [("$search", options.search.is_some()), ("$compute", options.compute.is_some())] {
            if given {
                return Err(BindError::NotImplemented(format!("`{option}` inside `$expand={name}(...)`")));
            }
        }
        if !navigation.collection {
            let given = [
                ("$orderby", options.orderby.is_some()),
                ("$top", options.top.is_some()),
                ("$skip", options.skip.is_some()),
                ("$count", options.count.is_some() || count_only),
            ];
            if let Some((option, _)) = given.iter().find(|(_, g)| *g) {
                return Err(BindError::OptionNotAllowed(option, "a single-valued navigation property"));
            }
        }
        self.expansions += 1;
        if self.expansions > MAX_EXPANSIONS {
            return Err(BindError::ExpandTooLarge(format!(
                "more than {MAX_EXPANSIONS} navigation properties are expanded"
            )));
        }
        let target = self.model.entity_set(&navigation.target).expect("the model's navigation targets exist");
        let mut binder = Binder::new(self.model, target, self.aliases);
        let filter = options.filter.as_ref().map(|f| binder.filter(f)).transpose()?;
        let orderby = match &options.orderby {
            Some(items) => items.iter().map(|i| Ok((binder.bind(&i.expr)?, i.descending))).collect::<Result<_, _>>()?,
            None => Vec::new(),
        };
        let every = || (0..target.properties.len()).collect::<Vec<_>>();
        let columns = if count_only {
            Vec::new()
        } else if reference {
            target.key.iter().map(|k| target.property_index(k).expect("keys are properties")).collect()
        } else {
            match &options.select {
                None => every(),
                Some(items) => match bind_select(target, items, &mut Vec::new())? {
                    Selection::All => every(),
                    Selection::Properties(mut chosen) => {
                        chosen.sort_unstable();
                        chosen
                    }
                },
            }
        };
        self.columns += columns.len();
        if self.columns > MAX_EXPANDED_COLUMNS {
            return Err(BindError::ExpandTooLarge(format!(
                "the expanded entities would carry more than {MAX_EXPANDED_COLUMNS} properties; narrow them with a nested $select"
            )));
        }
        let expand = match &options.expand {
            Some(items) if !reference && !count_only => self.items(target, items, depth + 1)?,
            _ => Vec::new(),
        };
        Ok(Expansion {
            navigation,
            target,
            related: Related::of(set, navigation, target),
            columns,
            reference,
            count_only,
            filter,
            orderby,
            top: options.top,
            skip: options.skip,
            count: count_only || options.count == Some(true),
            expand,
        })
    }
}
