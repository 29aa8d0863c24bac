//! Checks that hold across the whole model: names are valid and distinct, keys and navigation
//! resolve with matching types, shared tables agree, and retention is well-founded.
//!
//! Invariant: returns every problem at once (a list of sentences), so a model author fixes
//! them in one pass.

use super::{EntitySet, Model, Retention, SetKind, Source, TENANT_COLUMN, tables};
use crate::odata::edm::EdmType;
use std::collections::HashSet;

/// Every problem in the model; empty when the model is consistent.
pub(super) fn problems(model: &Model) -> Vec<String> {
    let mut problems = Vec::new();
    let sets = model.entity_sets();
    check_unique(sets.iter().map(|s| s.name.as_str()), "entity set", &mut problems);
    check_unique(sets.iter().map(|s| s.entity_type.as_str()), "entity type", &mut problems);
    for set in sets {
        check_set(model, set, &mut problems);
    }
    problems.extend(tables::derive_checked(sets).1);
    problems
}

fn check_set(model: &Model, set: &EntitySet, problems: &mut Vec<String>) {
    let mut say = |message: String| problems.push(format!("{}: {message}", set.name));
    for name in [&set.name, &set.entity_type] {
        if let Err(why) = check_identifier(name) {
            say(why);
        }
    }
    if set.description.trim().is_empty() {
        say("has no description".into());
    }
    if !is_sql_identifier(&set.table) {
        say(format!("table `{}` is not a lower-case SQL identifier", set.table));
    }
    let mut seen = HashSet::new();
    let members = set.properties.iter().map(|p| p.name.as_str()).chain(set.navigation.iter().map(|n| n.name.as_str()));
    for name in members {
        if let Err(why) = check_identifier(name) {
            say(why);
        }
        if !seen.insert(name.to_ascii_lowercase()) {
            say(format!("`{name}` is declared twice (names must differ in more than case)"));
        }
    }
    for property in &set.properties {
        let column = property.column();
        if !is_sql_identifier(column) {
            say(format!("property `{}`: column `{column}` is not a lower-case SQL identifier", property.name));
        }
        if column == TENANT_COLUMN && property.edm_type != EdmType::String {
            say(format!("property `{}` maps tenant_id and must be an Edm.String", property.name));
        }
        if column == super::INGESTED_COLUMN {
            say(format!("property `{}`: `{column}` is reserved for the ingestion timestamp", property.name));
        }
        if let Source::LocalTimeOf(utc) = &property.source
            && let Some(utc_property) = set.properties.iter().find(|p| !p.is_local_time() && p.column() == utc)
            && utc_property.nullable != property.nullable
        {
            say(format!("property `{}` and its UTC twin `{}` differ in nullability", property.name, utc_property.name));
        }
    }
    check_key(set, &mut say);
    check_navigation(model, set, &mut say);
    match (&set.retention, set.kind) {
        (Retention::Anchor { column }, _) => {
            if set.properties.iter().any(|p| p.column() == column && p.nullable) {
                say(format!("time anchor column `{column}` must not be nullable"));
            }
        }
        (Retention::PurgedWith { entity_set }, _) => {
            if model.entity_set(entity_set).is_none() {
                say(format!("purged_with `{entity_set}` is not an entity set"));
            } else if !set.navigation.iter().any(|n| &n.target == entity_set && !n.collection) {
                say(format!("purged_with `{entity_set}` needs a to-one navigation to it"));
            }
        }
        (Retention::Snapshot, _) => {}
    }
    if set.kind == SetKind::Lookup {
        match set.property("deletedAt") {
            Some(p) if p.edm_type == EdmType::DateTimeOffset && p.nullable => {}
            _ => say("a lookup set needs a nullable Edm.DateTimeOffset `deletedAt`".into()),
        }
    }
}

fn check_key(set: &EntitySet, say: &mut impl FnMut(String)) {
    if set.key.is_empty() {
        say("has no key".into());
    }
    for name in &set.key {
        match set.property(name) {
            None => say(format!("key `{name}` is not a property")),
            Some(p) if p.nullable => say(format!("key `{name}` must not be nullable")),
            Some(p) if matches!(p.edm_type, EdmType::Double | EdmType::Duration) => {
                say(format!("key `{name}` has type {} which cannot be a key", p.edm_type))
            }
            Some(p) if p.is_local_time() => say(format!("key `{name}` is derived, not stored")),
            Some(_) => {}
        }
    }
}

fn check_navigation(model: &Model, set: &EntitySet, say: &mut impl FnMut(String)) {
    for nav in &set.navigation {
        let Some(target) = model.entity_set(&nav.target) else {
            say(format!("navigation `{}`: target `{}` is not an entity set", nav.name, nav.target));
            continue;
        };
        if nav.on.is_empty() {
            say(format!("navigation `{}` has no join (`on`)", nav.name));
        }
        if nav.description.trim().is_empty() {
            say(format!("navigation `{}` has no description", nav.name));
        }
        for (local, remote) in &nav.on {
            match (set.property(local), target.property(remote)) {
                (None, _) => say(format!("navigation `{}`: `{local}` is not a property of {}", nav.name, set.name)),
                (_, None) => say(format!("navigation `{}`: `{remote}` is not a property of {}", nav.name, target.name)),
                (Some(l), Some(r)) if l.edm_type != r.edm_type => say(format!(
                    "navigation `{}`: {}.{local} is {} but {}.{remote} is {}",
                    nav.name, set.name, l.edm_type, target.name, r.edm_type
                )),
                _ => {}
            }
        }
        let joined_to: HashSet<&str> = nav.on.iter().map(|(_, r)| r.as_str()).collect();
        let joined_from: HashSet<&str> = nav.on.iter().map(|(l, _)| l.as_str()).collect();
        let target_key: HashSet<&str> = target.key.iter().map(String::as_str).collect();
        let own_key: HashSet<&str> = set.key.iter().map(String::as_str).collect();
        if !nav.collection && joined_to != target_key {
            say(format!("navigation `{}` is to-one, so it must join on the key of {}", nav.name, target.name));
        }
        if nav.collection && joined_from != own_key {
            say(format!("navigation `{}` is a collection, so it must join from the key of {}", nav.name, set.name));
        }
    }
}

fn check_unique<'a>(names: impl Iterator<Item = &'a str>, what: &str, problems: &mut Vec<String>) {
    let mut seen = HashSet::new();
    for name in names {
        if !seen.insert(name.to_ascii_lowercase()) {
            problems.push(format!("{what} `{name}` is declared twice (names must differ in more than case)"));
        }
    }
}

/// An OData simple identifier that Power Query also reads back unchanged: ASCII letters,
/// digits and `_`, not starting with a digit, at most 128 characters, and no `_xHHHH_`
/// sequence (which Power Query would decode into another character).
pub fn check_identifier(name: &str) -> Result<(), String> {
    let valid_chars = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid_chars || name.len() > 128 {
        return Err(format!("`{name}` is not a valid identifier"));
    }
    let bytes = name.as_bytes();
    let escape_like = bytes
        .windows(7)
        .any(|w| w[0] == b'_' && w[1] == b'x' && w[2..6].iter().all(u8::is_ascii_hexdigit) && w[6] == b'_');
    if escape_like {
        return Err(format!("`{name}` contains an `_xHHHH_` sequence"));
    }
    Ok(())
}

fn is_sql_identifier(name: &str) -> bool {
    name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name.len() <= 63
}
