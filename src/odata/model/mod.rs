//! The feed model: entity sets, their properties, keys, navigation and storage, loaded from
//! the TOML files under `schema/` (embedded at build time).
//!
//! Invariants: the model is the one description of the feed. `$metadata`, binding and SQL read
//! it; nothing else names a column. A loaded `Model` has passed every check in `validate`, so
//! later stages may rely on names resolving and types matching.

mod file;
mod tables;
mod validate;

use crate::odata::edm::EdmType;
use std::collections::HashMap;

pub use tables::{Column, Table};

/// The model files embedded from `schema/`.
mod embedded {
    include!(concat!(env!("OUT_DIR"), "/schema_files.rs"));
}

/// The namespace of every type the feed publishes.
pub const NAMESPACE: &str = "ContactCenter";
/// The name of the feed's entity container.
pub const CONTAINER: &str = "Feed";
/// The column every table starts with and every statement is scoped by.
pub const TENANT_COLUMN: &str = "tenant_id";
/// The ingestion timestamp every statistical table carries.
pub const INGESTED_COLUMN: &str = "updated_at";
/// The column of a lookup table that marks an object the nightly refresh found removed.
pub const DELETED_COLUMN: &str = "deleted_at";

/// Errors found while loading the model. Codes `MODEL1xx`.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("MODEL101 {file}: {message}")]
    Syntax { file: String, message: String },
    #[error("MODEL102 the model is inconsistent:\n  {}", .0.join("\n  "))]
    Invalid(Vec<String>),
}

/// The whole feed: every entity set, in a stable (alphabetical) order.
#[derive(Debug)]
pub struct Model {
    sets: Vec<EntitySet>,
    by_name: HashMap<String, usize>,
}

/// Whether a set is a daily lookup snapshot or a stream of statistical rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetKind {
    Lookup,
    Statistic,
}

/// Which rows retention removes, and by what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Retention {
    /// Rows older than the tenant's retention by this column's instant.
    Anchor { column: String },
    /// Rows removed together with their parent in this entity set.
    PurgedWith { entity_set: String },
    /// Lookup rows: a daily snapshot with `deletedAt`, not purged by age.
    Snapshot,
}

/// A restriction that makes a set a view of a shared table (`Calls` = conversations by media).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowFilter {
    pub column: String,
    pub value: String,
}

/// One entity set and its entity type.
#[derive(Debug)]
pub struct EntitySet {
    pub name: String,
    pub entity_type: String,
    pub kind: SetKind,
    pub description: String,
    pub table: String,
    pub row_filter: Option<RowFilter>,
    /// Key property names, in key order.
    pub key: Vec<String>,
    pub retention: Retention,
    pub properties: Vec<Property>,
    pub navigation: Vec<NavigationProperty>,
}

/// Where a property's value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Stored in this column.
    Column(String),
    /// Derived at read time: this UTC column shown in the tenant's time zone.
    LocalTimeOf(String),
}

/// A value that a string property can take, with what it means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedValue {
    pub value: String,
    pub description: Option<String>,
}

/// One structural property.
#[derive(Debug, Clone)]
pub struct Property {
    pub name: String,
    pub edm_type: EdmType,
    pub nullable: bool,
    pub max_length: Option<u32>,
    pub source: Source,
    pub description: String,
    pub allowed_values: Vec<AllowedValue>,
    /// Measurement unit (`s` for durations), published with the Measures vocabulary.
    pub unit: Option<String>,
    /// The name the product documentation uses when it is not a valid identifier.
    pub documented_name: Option<String>,
}

/// A relationship to another entity set, joined on property pairs.
#[derive(Debug, Clone)]
pub struct NavigationProperty {
    pub name: String,
    pub target: String,
    pub collection: bool,
    /// `(property of this set, property of the target set)` pairs.
    pub on: Vec<(String, String)>,
    pub description: String,
}

impl Model {
    /// Loads and checks the model embedded from `schema/`.
    pub fn load() -> Result<Model, ModelError> {
        Model::from_sources(embedded::SCHEMA_FILES)
    }

    /// Loads and checks a model from `(file name, TOML text)` pairs.
    pub fn from_sources(files: &[(&str, &str)]) -> Result<Model, ModelError> {
        let mut sets = files.iter().map(|(name, text)| file::parse(name, text)).collect::<Result<Vec<_>, _>>()?;
        sets.sort_by(|a, b| a.name.cmp(&b.name));
        let by_name = sets.iter().enumerate().map(|(i, s)| (s.name.clone(), i)).collect();
        let model = Model { sets, by_name };
        let problems = validate::problems(&model);
        if problems.is_empty() { Ok(model) } else { Err(ModelError::Invalid(problems)) }
    }

    /// Every entity set, ordered by name.
    pub fn entity_sets(&self) -> &[EntitySet] {
        &self.sets
    }

    /// The entity set with this exact name.
    pub fn entity_set(&self, name: &str) -> Option<&EntitySet> {
        self.by_name.get(name).map(|&i| &self.sets[i])
    }

    /// The physical tables the model needs, with every column, ordered by table name.
    pub fn tables(&self) -> Vec<Table> {
        tables::derive(self)
    }
}

impl EntitySet {
    /// The property with this exact name.
    pub fn property(&self, name: &str) -> Option<&Property> {
        self.properties.iter().find(|p| p.name == name)
    }

    /// The position in `properties` of the property with this exact name.
    pub fn property_index(&self, name: &str) -> Option<usize> {
        self.properties.iter().position(|p| p.name == name)
    }

    /// The navigation property with this exact name.
    pub fn navigation_property(&self, name: &str) -> Option<&NavigationProperty> {
        self.navigation.iter().find(|n| n.name == name)
    }

    /// The key properties, in key order.
    pub fn key_properties(&self) -> impl Iterator<Item = &Property> {
        self.key.iter().filter_map(|k| self.property(k))
    }
}

impl Property {
    /// The stored column behind this property (for a local time, its UTC column).
    pub fn column(&self) -> &str {
        match &self.source {
            Source::Column(c) | Source::LocalTimeOf(c) => c,
        }
    }

    /// True when the value is derived at read time rather than stored.
    pub fn is_local_time(&self) -> bool {
        matches!(self.source, Source::LocalTimeOf(_))
    }
}

#[cfg(test)]
mod tests;
