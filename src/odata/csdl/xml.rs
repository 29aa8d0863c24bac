//! The XML CSDL (`$metadata`, Version 4.0) of the model, written with quick-xml.
//!
//! Invariants: only the facets each type allows (MaxLength on strings, Precision/Scale on
//! decimals, Precision on temporal types); no enum, complex, abstract, derived or open types;
//! navigation is never contained and every navigation property is bound to its entity set.

use super::annotations::{self, AnnotatedRecord, Annotation, VOCABULARIES, Value};
use super::{facets, qualified, type_name};
use crate::odata::{
    capabilities::Capabilities,
    model::{CONTAINER, Model, NAMESPACE},
};
use quick_xml::{
    Writer,
    events::{BytesDecl, BytesEnd, BytesStart, Event},
};
use std::io;

const EDMX_NS: &str = "http://docs.oasis-open.org/odata/ns/edmx";
const EDM_NS: &str = "http://docs.oasis-open.org/odata/ns/edm";

type Xml = Writer<Vec<u8>>;

/// Renders the model as an XML CSDL document.
pub fn render(model: &Model, capabilities: &Capabilities) -> String {
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    write_document(&mut w, model, capabilities).expect("writing to memory cannot fail");
    let mut text = String::from_utf8(w.into_inner()).expect("quick-xml writes UTF-8");
    text.push('\n');
    text
}

fn write_document(w: &mut Xml, model: &Model, capabilities: &Capabilities) -> io::Result<()> {
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("utf-8"), None)))?;
    open(w, "edmx:Edmx", &[("Version", "4.0"), ("xmlns:edmx", EDMX_NS)])?;
    for vocabulary in VOCABULARIES {
        open(w, "edmx:Reference", &[("Uri", vocabulary.uri)])?;
        empty(w, "edmx:Include", &[("Namespace", vocabulary.namespace), ("Alias", vocabulary.alias)])?;
        close(w, "edmx:Reference")?;
    }
    open(w, "edmx:DataServices", &[])?;
    open(w, "Schema", &[("Namespace", NAMESPACE), ("xmlns", EDM_NS)])?;
    for set in model.entity_sets() {
        open(w, "EntityType", &[("Name", &set.entity_type)])?;
        open(w, "Key", &[])?;
        for key in &set.key {
            empty(w, "PropertyRef", &[("Name", key)])?;
        }
        close(w, "Key")?;
        for property in &set.properties {
            let mut attributes = vec![("Name", property.name.clone()), ("Type", property.edm_type.name().to_string())];
            if !property.nullable {
                attributes.push(("Nullable", "false".into()));
            }
            attributes.extend(facets(property));
            let attributes: Vec<(&str, &str)> = attributes.iter().map(|(k, v)| (*k, v.as_str())).collect();
            element_with_annotations(w, "Property", &attributes, &annotations::property(property))?;
        }
        for nav in &set.navigation {
            let target = model.entity_set(&nav.target).expect("validated: navigation targets exist");
            let ty = type_name(&target.entity_type, nav.collection);
            open(w, "NavigationProperty", &[("Name", &nav.name), ("Type", &ty)])?;
            if !nav.collection {
                for (local, remote) in &nav.on {
                    empty(w, "ReferentialConstraint", &[("Property", local), ("ReferencedProperty", remote)])?;
                }
            }
            write_annotations(w, &annotations::navigation(nav))?;
            close(w, "NavigationProperty")?;
        }
        close(w, "EntityType")?;
    }
    open(w, "EntityContainer", &[("Name", CONTAINER)])?;
    for set in model.entity_sets() {
        open(w, "EntitySet", &[("Name", &set.name), ("EntityType", &qualified(&set.entity_type))])?;
        for nav in &set.navigation {
            empty(w, "NavigationPropertyBinding", &[("Path", &nav.name), ("Target", &nav.target)])?;
        }
        write_annotations(w, &annotations::entity_set(set, capabilities))?;
        close(w, "EntitySet")?;
    }
    write_annotations(w, &annotations::container(capabilities))?;
    close(w, "EntityContainer")?;
    close(w, "Schema")?;
    close(w, "edmx:DataServices")?;
    close(w, "edmx:Edmx")?;
    Ok(())
}

fn element_with_annotations(
    w: &mut Xml,
    name: &str,
    attributes: &[(&str, &str)],
    annotations: &[Annotation],
) -> io::Result<()> {
    if annotations.is_empty() {
        return empty(w, name, attributes);
    }
    open(w, name, attributes)?;
    write_annotations(w, annotations)?;
    close(w, name)
}

fn write_annotations(w: &mut Xml, annotations: &[Annotation]) -> io::Result<()> {
    annotations.iter().try_for_each(|a| write_annotation(w, a))
}

fn write_annotation(w: &mut Xml, annotation: &Annotation) -> io::Result<()> {
    let term = [("Term", annotation.term)];
    match &annotation.value {
        Value::String(s) => empty(w, "Annotation", &[("Term", annotation.term), ("String", s)]),
        Value::Bool(b) => empty(w, "Annotation", &[("Term", annotation.term), ("Bool", bool_text(*b))]),
        other => {
            open(w, "Annotation", &term)?;
            write_value(w, other)?;
            close(w, "Annotation")
        }
    }
}

fn write_value(w: &mut Xml, value: &Value) -> io::Result<()> {
    match value {
        Value::String(s) => text_element(w, "String", s),
        Value::Bool(b) => text_element(w, "Bool", bool_text(*b)),
        Value::Strings(items) => {
            open(w, "Collection", &[])?;
            items.iter().try_for_each(|s| text_element(w, "String", s))?;
            close(w, "Collection")
        }
        Value::Record(properties) => {
            write_record(w, &AnnotatedRecord { properties: properties.clone(), annotations: vec![] })
        }
        Value::Records(records) => {
            open(w, "Collection", &[])?;
            records.iter().try_for_each(|r| write_record(w, r))?;
            close(w, "Collection")
        }
    }
}

fn write_record(w: &mut Xml, record: &AnnotatedRecord) -> io::Result<()> {
    open(w, "Record", &[])?;
    for (property, value) in &record.properties {
        match value {
            Value::String(s) => empty(w, "PropertyValue", &[("Property", property), ("String", s)])?,
            Value::Bool(b) => empty(w, "PropertyValue", &[("Property", property), ("Bool", bool_text(*b))])?,
            other => {
                open(w, "PropertyValue", &[("Property", property)])?;
                write_value(w, other)?;
                close(w, "PropertyValue")?;
            }
        }
    }
    write_annotations(w, &record.annotations)?;
    close(w, "Record")
}

fn bool_text(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

fn open(w: &mut Xml, name: &str, attributes: &[(&str, &str)]) -> io::Result<()> {
    w.write_event(Event::Start(BytesStart::new(name).with_attributes(attributes.iter().copied())))
}

fn empty(w: &mut Xml, name: &str, attributes: &[(&str, &str)]) -> io::Result<()> {
    w.write_event(Event::Empty(BytesStart::new(name).with_attributes(attributes.iter().copied())))
}

fn close(w: &mut Xml, name: &str) -> io::Result<()> {
    w.write_event(Event::End(BytesEnd::new(name)))
}

fn text_element(w: &mut Xml, name: &str, text: &str) -> io::Result<()> {
    w.create_element(name).write_text_content(quick_xml::events::BytesText::new(text))?;
    Ok(())
}
