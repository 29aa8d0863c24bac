//! `$metadata`: the model rendered as CSDL, in XML (what Power BI and Excel read) and in JSON.
//! Both documents are rendered once, when the server starts, and served from memory.
//!
//! Invariant: both renderings come from the same model and the same annotation tree
//! (`annotations`), so they cannot disagree.

pub mod annotations;
mod json;
mod xml;

use crate::odata::{
    capabilities::Capabilities,
    edm::EdmType,
    model::{Model, NAMESPACE, Property},
};

/// File names of the committed renderings under `edmx/`.
pub const XML_FILE: &str = "metadata.xml";
pub const JSON_FILE: &str = "metadata.json";

/// The two renderings of the model.
#[derive(Debug, Clone)]
pub struct Csdl {
    pub xml: String,
    pub json: String,
}

/// Renders the model in both CSDL representations.
pub fn render(model: &Model, capabilities: &Capabilities) -> Csdl {
    Csdl { xml: xml::render(model, capabilities), json: json::render(model, capabilities) }
}

/// The fractional-second digits PostgreSQL keeps for `timestamptz` and `time`.
const TEMPORAL_PRECISION: u8 = 6;

/// The facets a property's type allows, as (facet name, value): MaxLength on strings,
/// Precision and Scale on decimals, Precision on temporal types.
fn facets(property: &Property) -> Vec<(&'static str, String)> {
    match property.edm_type {
        EdmType::String => property.max_length.map(|n| vec![("MaxLength", n.to_string())]).unwrap_or_default(),
        EdmType::Decimal { precision, scale } => {
            vec![("Precision", precision.to_string()), ("Scale", scale.to_string())]
        }
        EdmType::DateTimeOffset | EdmType::TimeOfDay | EdmType::Duration => {
            vec![("Precision", TEMPORAL_PRECISION.to_string())]
        }
        _ => Vec::new(),
    }
}

/// `Namespace.Name`.
fn qualified(name: &str) -> String {
    format!("{NAMESPACE}.{name}")
}

/// The qualified type of a navigation property, wrapped in `Collection()` when to-many.
fn type_name(entity_type: &str, collection: bool) -> String {
    if collection { format!("Collection({})", qualified(entity_type)) } else { qualified(entity_type) }
}

#[cfg(test)]
mod tests;
