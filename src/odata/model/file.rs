//! The TOML form of one entity set (`schema/<Set>.toml`) and its conversion into the model.
//!
//! Invariant: this file only checks what a single file can get wrong on its own (syntax, field
//! names, types and facets); relations between sets are checked in `validate`.

use super::{AllowedValue, EntitySet, ModelError, NavigationProperty, Property, Retention, RowFilter, SetKind, Source};
use crate::odata::edm::EdmType;
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetFile {
    name: String,
    entity_type: String,
    kind: KindFile,
    table: String,
    #[serde(default)]
    row_filter: Option<RowFilterFile>,
    key: Vec<String>,
    #[serde(default)]
    time_anchor: Option<String>,
    #[serde(default)]
    purged_with: Option<String>,
    description: String,
    #[serde(default, rename = "property")]
    properties: Vec<PropertyFile>,
    #[serde(default, rename = "navigation")]
    navigation: Vec<NavigationFile>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum KindFile {
    Lookup,
    Statistic,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RowFilterFile {
    column: String,
    value: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PropertyFile {
    name: String,
    #[serde(rename = "type")]
    edm_type: String,
    #[serde(default)]
    column: Option<String>,
    #[serde(default)]
    local_time_of: Option<String>,
    #[serde(default)]
    nullable: Option<bool>,
    #[serde(default)]
    max_length: Option<u32>,
    #[serde(default)]
    precision: Option<u8>,
    #[serde(default)]
    scale: Option<u8>,
    #[serde(default)]
    unit: Option<String>,
    description: String,
    #[serde(default)]
    allowed_values: Option<Vec<String>>,
    #[serde(default)]
    allowed_values_described: Option<BTreeMap<String, String>>,
    #[serde(default)]
    documented_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NavigationFile {
    name: String,
    target: String,
    #[serde(default)]
    collection: bool,
    on: BTreeMap<String, String>,
    description: String,
}

/// Parses one file into an entity set, or explains what is wrong with it.
pub(super) fn parse(file_name: &str, text: &str) -> Result<EntitySet, ModelError> {
    let fail = |message: String| ModelError::Syntax { file: file_name.to_string(), message };
    let raw: SetFile = toml::from_str(text).map_err(|e| fail(e.to_string().trim_end().replace('\n', " ")))?;
    let expected_file = format!("{}.toml", raw.name);
    if file_name != expected_file {
        return Err(fail(format!("entity set `{}` belongs in `{expected_file}`", raw.name)));
    }
    let kind = match raw.kind {
        KindFile::Lookup => SetKind::Lookup,
        KindFile::Statistic => SetKind::Statistic,
    };
    let retention = match (kind, raw.time_anchor, raw.purged_with) {
        (SetKind::Lookup, None, None) => Retention::Snapshot,
        (SetKind::Statistic, Some(anchor), None) => Retention::Anchor { column: anchor },
        (SetKind::Statistic, None, Some(parent)) => Retention::PurgedWith { entity_set: parent },
        (SetKind::Lookup, _, _) => return Err(fail("a lookup set has neither `time_anchor` nor `purged_with`".into())),
        (SetKind::Statistic, _, _) => {
            return Err(fail("a statistic set needs exactly one of `time_anchor` or `purged_with`".into()));
        }
    };
    let properties = raw.properties.into_iter().map(|p| property(p).map_err(&fail)).collect::<Result<Vec<_>, _>>()?;
    // The anchor is written as a property name; retention works on its column.
    let retention = match retention {
        Retention::Anchor { column: property_name } => {
            let property = properties
                .iter()
                .find(|p| p.name == property_name)
                .ok_or_else(|| fail(format!("time_anchor `{property_name}` is not a property")))?;
            if property.edm_type != EdmType::DateTimeOffset {
                return Err(fail(format!("time_anchor `{property_name}` is not an Edm.DateTimeOffset")));
            }
            Retention::Anchor { column: property.column().to_string() }
        }
        other => other,
    };
    let navigation = raw
        .navigation
        .into_iter()
        .map(|n| NavigationProperty {
            name: n.name,
            target: n.target,
            collection: n.collection,
            on: n.on.into_iter().collect(),
            description: n.description,
        })
        .collect();
    Ok(EntitySet {
        name: raw.name,
        entity_type: raw.entity_type,
        kind,
        description: raw.description,
        table: raw.table,
        row_filter: raw.row_filter.map(|f| RowFilter { column: f.column, value: f.value }),
        key: raw.key,
        retention,
        properties,
        navigation,
    })
}

fn property(raw: PropertyFile) -> Result<Property, String> {
    let at = |message: String| format!("property `{}`: {message}", raw.name);
    let edm_type = EdmType::parse(&raw.edm_type, raw.precision, raw.scale).map_err(at)?;
    let source = match (raw.column, raw.local_time_of) {
        (Some(column), None) => Source::Column(column),
        (None, Some(utc_column)) if edm_type == EdmType::DateTimeOffset => Source::LocalTimeOf(utc_column),
        (None, Some(_)) => return Err(at("`local_time_of` needs type Edm.DateTimeOffset".into())),
        _ => return Err(at("needs exactly one of `column` or `local_time_of`".into())),
    };
    if raw.max_length.is_some() && edm_type != EdmType::String {
        return Err(at("`max_length` is only allowed on Edm.String".into()));
    }
    let allowed_values = match (raw.allowed_values, raw.allowed_values_described) {
        (None, None) => Vec::new(),
        (Some(values), None) => values.into_iter().map(|value| AllowedValue { value, description: None }).collect(),
        (None, Some(described)) => described
            .into_iter()
            .map(|(value, description)| AllowedValue { value, description: Some(description) })
            .collect(),
        (Some(_), Some(_)) => return Err(at("give `allowed_values` or `allowed_values_described`, not both".into())),
    };
    if !allowed_values.is_empty() && edm_type != EdmType::String {
        return Err(at("allowed values are only supported on Edm.String".into()));
    }
    if raw.description.trim().is_empty() {
        return Err(at("has no description".into()));
    }
    Ok(Property {
        name: raw.name,
        edm_type,
        nullable: raw.nullable.unwrap_or(true),
        max_length: raw.max_length,
        source,
        description: raw.description,
        allowed_values,
        unit: raw.unit,
        documented_name: raw.documented_name,
    })
}
