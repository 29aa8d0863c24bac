//! The JSON CSDL of the model (`$metadata?$format=json`), rendering the same annotation tree
//! as the XML writer.
//!
//! Invariant: JSON CSDL defaults differ from XML (`$Nullable` absent means false; `$Type`
//! absent means `Edm.String`), so nullability and types are always written out explicitly.

use super::annotations::{self, AnnotatedRecord, Annotation, VOCABULARIES, Value as AnnotationValue};
use super::{facets, qualified};
use crate::odata::{
    capabilities::Capabilities,
    model::{CONTAINER, Model, NAMESPACE},
};
use serde_json::{Map, Value, json};

/// Renders the model as a JSON CSDL document (pretty-printed).
pub fn render(model: &Model, capabilities: &Capabilities) -> String {
    let mut document = Map::new();
    document.insert("$Version".into(), json!("4.0"));
    let mut references = Map::new();
    for vocabulary in VOCABULARIES {
        references.insert(
            vocabulary.uri.into(),
            json!({ "$Include": [{ "$Namespace": vocabulary.namespace, "$Alias": vocabulary.alias }] }),
        );
    }
    document.insert("$Reference".into(), Value::Object(references));
    document.insert("$EntityContainer".into(), json!(qualified(CONTAINER)));

    let mut schema = Map::new();
    for set in model.entity_sets() {
        let mut ty = Map::new();
        ty.insert("$Kind".into(), json!("EntityType"));
        ty.insert("$Key".into(), json!(set.key));
        for property in &set.properties {
            let mut member = Map::new();
            member.insert("$Type".into(), json!(property.edm_type.name()));
            member.insert("$Nullable".into(), json!(property.nullable));
            for (facet, value) in facets(property) {
                let value = value.parse::<u64>().map(Value::from).unwrap_or(Value::String(value));
                member.insert(format!("${facet}"), value);
            }
            add_annotations(&mut member, &annotations::property(property));
            ty.insert(property.name.clone(), Value::Object(member));
        }
        for nav in &set.navigation {
            let target = model.entity_set(&nav.target).expect("validated: navigation targets exist");
            let mut member = Map::new();
            member.insert("$Kind".into(), json!("NavigationProperty"));
            member.insert("$Type".into(), json!(qualified(&target.entity_type)));
            if nav.collection {
                member.insert("$Collection".into(), json!(true));
            } else {
                member.insert("$Nullable".into(), json!(true));
                let constraint: Map<String, Value> = nav.on.iter().map(|(l, r)| (l.clone(), json!(r))).collect();
                member.insert("$ReferentialConstraint".into(), Value::Object(constraint));
            }
            add_annotations(&mut member, &annotations::navigation(nav));
            ty.insert(nav.name.clone(), Value::Object(member));
        }
        schema.insert(set.entity_type.clone(), Value::Object(ty));
    }
    let mut container = Map::new();
    container.insert("$Kind".into(), json!("EntityContainer"));
    for set in model.entity_sets() {
        let mut member = Map::new();
        member.insert("$Collection".into(), json!(true));
        member.insert("$Type".into(), json!(qualified(&set.entity_type)));
        if !set.navigation.is_empty() {
            let bindings: Map<String, Value> =
                set.navigation.iter().map(|n| (n.name.clone(), json!(n.target))).collect();
            member.insert("$NavigationPropertyBinding".into(), Value::Object(bindings));
        }
        add_annotations(&mut member, &annotations::entity_set(set, capabilities));
        container.insert(set.name.clone(), Value::Object(member));
    }
    add_annotations(&mut container, &annotations::container(capabilities));
    schema.insert(CONTAINER.into(), Value::Object(container));
    document.insert(NAMESPACE.into(), Value::Object(schema));
    let mut text = serde_json::to_string_pretty(&Value::Object(document)).expect("a JSON value always serializes");
    text.push('\n');
    text
}

fn add_annotations(target: &mut Map<String, Value>, annotations: &[Annotation]) {
    for annotation in annotations {
        target.insert(format!("@{}", annotation.term), value(&annotation.value));
    }
}

fn value(value: &AnnotationValue) -> Value {
    match value {
        AnnotationValue::String(s) => json!(s),
        AnnotationValue::Bool(b) => json!(b),
        AnnotationValue::Strings(items) => json!(items),
        AnnotationValue::Record(properties) => {
            record(&AnnotatedRecord { properties: properties.clone(), annotations: vec![] })
        }
        AnnotationValue::Records(records) => Value::Array(records.iter().map(record).collect()),
    }
}

fn record(record: &AnnotatedRecord) -> Value {
    let mut object: Map<String, Value> = record.properties.iter().map(|(p, v)| (p.to_string(), value(v))).collect();
    add_annotations(&mut object, &record.annotations);
    Value::Object(object)
}
