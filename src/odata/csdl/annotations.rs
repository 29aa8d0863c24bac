//! The annotations `$metadata` carries, built once as a neutral tree that both the XML and the
//! JSON writer render: descriptions, allowed values, units, and the Capabilities that say what
//! the server does (read-only sets, supported query options).
//!
//! Invariant: every term used here exists in the vocabulary its alias names (tested against the
//! OASIS vocabulary files).

use crate::odata::{
    capabilities::Capabilities,
    model::{EntitySet, NavigationProperty, Property},
};

/// A vocabulary the document references: its namespace, alias and canonical URI.
#[derive(Debug, Clone, Copy)]
pub struct Vocabulary {
    pub namespace: &'static str,
    pub alias: &'static str,
    pub uri: &'static str,
}

/// The vocabularies the annotations below use.
pub const VOCABULARIES: [Vocabulary; 4] = [
    Vocabulary {
        namespace: "Org.OData.Core.V1",
        alias: "Core",
        uri: "https://oasis-tcs.github.io/odata-vocabularies/vocabularies/Org.OData.Core.V1.xml",
    },
    Vocabulary {
        namespace: "Org.OData.Capabilities.V1",
        alias: "Capabilities",
        uri: "https://oasis-tcs.github.io/odata-vocabularies/vocabularies/Org.OData.Capabilities.V1.xml",
    },
    Vocabulary {
        namespace: "Org.OData.Validation.V1",
        alias: "Validation",
        uri: "https://oasis-tcs.github.io/odata-vocabularies/vocabularies/Org.OData.Validation.V1.xml",
    },
    Vocabulary {
        namespace: "Org.OData.Measures.V1",
        alias: "Measures",
        uri: "https://oasis-tcs.github.io/odata-vocabularies/vocabularies/Org.OData.Measures.V1.xml",
    },
];

/// One annotation: a qualified term (`Alias.Term`) and its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Annotation {
    pub term: &'static str,
    pub value: Value,
}

/// The value forms this feed uses (a deliberately small subset of CSDL expressions).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    String(String),
    Bool(bool),
    /// A collection of strings, e.g. filter function names.
    Strings(Vec<String>),
    /// A record of property values.
    Record(Vec<(&'static str, Value)>),
    /// A collection of records, each possibly annotated itself.
    Records(Vec<AnnotatedRecord>),
}

/// A record inside a collection, with annotations of its own (e.g. an allowed value's meaning).
#[derive(Debug, Clone, PartialEq)]
pub struct AnnotatedRecord {
    pub properties: Vec<(&'static str, Value)>,
    pub annotations: Vec<Annotation>,
}

fn description(text: &str) -> Annotation {
    Annotation { term: "Core.Description", value: Value::String(text.to_string()) }
}

/// Annotations of a structural property: description, unit, allowed values.
pub fn property(property: &Property) -> Vec<Annotation> {
    let mut annotations = vec![description(&property.description)];
    if let Some(unit) = &property.unit {
        annotations.push(Annotation { term: "Measures.Unit", value: Value::String(unit.clone()) });
    }
    if !property.allowed_values.is_empty() {
        let records = property
            .allowed_values
            .iter()
            .map(|allowed| AnnotatedRecord {
                properties: vec![("Value", Value::String(allowed.value.clone()))],
                annotations: allowed.description.iter().map(|d| description(d)).collect(),
            })
            .collect();
        annotations.push(Annotation { term: "Validation.AllowedValues", value: Value::Records(records) });
    }
    annotations
}

/// Annotations of a navigation property.
pub fn navigation(navigation: &NavigationProperty) -> Vec<Annotation> {
    vec![description(&navigation.description)]
}

/// Annotations of an entity set: what it holds, that it is read-only, and which query options
/// work on it.
pub fn entity_set(set: &EntitySet, capabilities: &Capabilities) -> Vec<Annotation> {
    let restriction =
        |term, property, allowed| Annotation { term, value: Value::Record(vec![(property, Value::Bool(allowed))]) };
    vec![
        description(&set.description),
        restriction("Capabilities.InsertRestrictions", "Insertable", false),
        restriction("Capabilities.UpdateRestrictions", "Updatable", false),
        restriction("Capabilities.DeleteRestrictions", "Deletable", false),
        restriction("Capabilities.FilterRestrictions", "Filterable", capabilities.filter),
        restriction("Capabilities.SortRestrictions", "Sortable", capabilities.sort),
        restriction("Capabilities.CountRestrictions", "Countable", capabilities.count),
        restriction("Capabilities.ExpandRestrictions", "Expandable", capabilities.expand),
        restriction("Capabilities.SelectSupport", "Supported", capabilities.select),
        Annotation { term: "Capabilities.TopSupported", value: Value::Bool(capabilities.top) },
        Annotation { term: "Capabilities.SkipSupported", value: Value::Bool(capabilities.skip) },
    ]
}

/// Annotations of the entity container: the filter functions the server evaluates.
pub fn container(capabilities: &Capabilities) -> Vec<Annotation> {
    vec![
        description("Contact-center statistics and the lookup tables that name their ids, one tenant per caller."),
        Annotation {
            term: "Capabilities.FilterFunctions",
            value: Value::Strings(capabilities.filter_functions.iter().map(|f| f.to_string()).collect()),
        },
    ]
}
