//! Binds `$expand` items. This release expands single-valued navigation properties (a call's
//! `Channel`, a workitem's `Agent`), with a nested `$select`: the related entity is joined into
//! the page query itself, so rows keep streaming and a page costs no extra statement.
//! Collection-valued navigations, nested options other than `$select`, `$ref`, `$count` and
//! `*` answer 501.

use super::BindError;
use super::expr::Related;
use crate::odata::model::{EntitySet, Model, NavigationProperty};
use crate::odata::uri::{ExpandItem, ExpandPath, SelectItem};

/// One expanded single-valued navigation property.
#[derive(Debug, Clone)]
pub struct Expansion<'m> {
    pub navigation: &'m NavigationProperty,
    pub target: &'m EntitySet,
    pub related: Related,
    /// The target's properties written, by index, in model order.
    pub columns: Vec<usize>,
}

/// Binds the `$expand` items of a request on `set`.
pub fn bind_expand<'m>(
    model: &'m Model,
    set: &'m EntitySet,
    items: &[ExpandItem],
) -> Result<Vec<Expansion<'m>>, BindError> {
    let mut out: Vec<Expansion> = Vec::new();
    for item in items {
        let (segments, is_ref, count) = match &item.path {
            ExpandPath::Star { .. } => return Err(BindError::NotImplemented("`$expand=*`".into())),
            ExpandPath::Navigation { segments, is_ref, count } => (segments, *is_ref, *count),
        };
        let [name] = segments.as_slice() else {
            return Err(BindError::NotImplemented(format!("expanding the path `{}`", segments.join("/"))));
        };
        let navigation = set
            .navigation_property(name)
            .ok_or_else(|| BindError::UnknownNavigation { entity_set: set.name.clone(), navigation: name.clone() })?;
        if is_ref || count {
            return Err(BindError::NotImplemented(format!(
                "`$expand={name}/{}`",
                if is_ref { "$ref" } else { "$count" }
            )));
        }
        if navigation.collection {
            return Err(BindError::NotImplemented(format!(
                "expanding the collection-valued navigation property `{name}`"
            )));
        }
        let options = &item.options;
        let nested = [
            ("$filter", options.filter.is_some()),
            ("$orderby", options.orderby.is_some()),
            ("$top", options.top.is_some()),
            ("$skip", options.skip.is_some()),
            ("$count", options.count.is_some()),
            ("$expand", options.expand.is_some()),
            ("$levels", options.levels.is_some()),
            ("$search", options.search.is_some()),
            ("$compute", options.compute.is_some()),
        ];
        if let Some((option, _)) = nested.iter().find(|(_, given)| *given) {
            return Err(BindError::NotImplemented(format!("`{option}` inside `$expand={name}(...)`")));
        }
        if out.iter().any(|e| e.navigation.name == *name) {
            return Err(BindError::DuplicateExpand(name.clone()));
        }
        let target = model.entity_set(&navigation.target).expect("the model's navigation targets exist");
        let columns = match &options.select {
            None => (0..target.properties.len()).collect(),
            Some(select) => select_columns(target, select)?,
        };
        let related = Related::of(set, navigation, target);
        out.push(Expansion { navigation, target, related, columns });
    }
    Ok(out)
}

fn select_columns(target: &EntitySet, select: &[SelectItem]) -> Result<Vec<usize>, BindError> {
    let mut columns = Vec::new();
    for item in select {
        let path = match item {
            SelectItem::Star => return Ok((0..target.properties.len()).collect()),
            SelectItem::Path(path) => path,
        };
        let [name] = path.as_slice() else {
            return Err(BindError::NotStructured { path: path.join("/") });
        };
        let index = target
            .property_index(name)
            .ok_or_else(|| BindError::UnknownProperty { entity_set: target.name.clone(), property: name.clone() })?;
        if !columns.contains(&index) {
            columns.push(index);
        }
    }
    columns.sort_unstable();
    Ok(columns)
}
