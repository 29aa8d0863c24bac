//! The served `$metadata` publishes every entity set and every field the product documentation
//! names. The list in `tests/fixtures/documented-fields.txt` is our own reading of that
//! document, kept apart from `schema/` so that the model cannot drift from it unnoticed.

use crate::support::app::spawn_app;
use odata_feed::odata::model::Model;
use quick_xml::{Reader, XmlVersion, events::BytesStart, events::Event};
use std::collections::{BTreeMap, BTreeSet};

/// `SetName: field, field, ...` per line, `#` comments.
const FIXTURE: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/documented-fields.txt"));

/// The document describes this many entity sets.
const DOCUMENTED_SETS: usize = 26;

/// One line of the fixture.
struct DocumentedSet {
    name: String,
    fields: Vec<String>,
}

/// Reads the fixture; a malformed or duplicated line is a problem of its own.
fn documented_sets(text: &str) -> Result<Vec<DocumentedSet>, Vec<String>> {
    let mut sets = Vec::new();
    let mut problems = Vec::new();
    let mut seen = BTreeSet::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or_default().trim();
        if line.is_empty() {
            continue;
        }
        let Some((name, fields)) = line.split_once(':') else {
            problems.push(format!("line {}: no `SetName:` in {line:?}", number + 1));
            continue;
        };
        let name = name.trim().to_string();
        let fields: Vec<String> = fields.split(',').map(|f| f.trim().to_string()).collect();
        if fields.iter().any(String::is_empty) {
            problems.push(format!("line {}: an empty field name in {line:?}", number + 1));
        }
        let mut unique = BTreeSet::new();
        for field in &fields {
            if !unique.insert(field) {
                problems.push(format!("line {}: {name}.{field} is listed twice", number + 1));
            }
        }
        if !seen.insert(name.clone()) {
            problems.push(format!("line {}: {name} is listed twice", number + 1));
        }
        sets.push(DocumentedSet { name, fields });
    }
    if problems.is_empty() { Ok(sets) } else { Err(problems) }
}

/// What the XML CSDL declares: the schema namespace, the container's entity sets (name to
/// qualified entity type) and each entity type's structural property names.
#[derive(Debug, Default)]
struct Metadata {
    namespace: String,
    entity_sets: BTreeMap<String, String>,
    entity_types: BTreeMap<String, BTreeSet<String>>,
}

fn attribute(element: &BytesStart<'_>, name: &str) -> Option<String> {
    let attribute = element.try_get_attribute(name).expect("well-formed attributes")?;
    Some(attribute.normalized_value(XmlVersion::Implicit1_0).expect("attribute value").into_owned())
}

fn parse_metadata(xml: &str) -> Metadata {
    let mut reader = Reader::from_str(xml);
    let mut metadata = Metadata::default();
    let mut entity_type: Option<String> = None;
    let mut in_container = false;
    loop {
        let event = reader.read_event().expect("$metadata is well-formed XML");
        let (element, opens) = match &event {
            Event::Start(e) => (e, true),
            Event::Empty(e) => (e, false),
            Event::End(e) => {
                match e.local_name().as_ref() {
                    "EntityType" => entity_type = None,
                    "EntityContainer" => in_container = false,
                    _ => {}
                }
                continue;
            }
            Event::Eof => break,
            _ => continue,
        };
        let name = || attribute(element, "Name").expect("a Name attribute");
        match element.local_name().as_ref() {
            "Schema" => metadata.namespace = attribute(element, "Namespace").expect("a Namespace attribute"),
            "EntityType" => {
                let name = name();
                metadata.entity_types.entry(name.clone()).or_default();
                entity_type = opens.then_some(name);
            }
            "Property" => {
                if let Some(ty) = &entity_type {
                    metadata.entity_types.get_mut(ty).expect("entered above").insert(name());
                }
            }
            "EntityContainer" => in_container = opens,
            "EntitySet" if in_container => {
                let ty = attribute(element, "EntityType").expect("an EntityType attribute");
                metadata.entity_sets.insert(name(), ty);
            }
            _ => {}
        }
    }
    metadata
}

/// An OData SimpleIdentifier (ASCII subset): a letter or `_`, then letters, digits or `_`.
fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Everything the documentation names that `$metadata` does not publish.
fn missing(documented: &[DocumentedSet], metadata: &Metadata, model: &Model) -> Vec<String> {
    let mut missing = Vec::new();
    for set in documented {
        let Some(qualified) = metadata.entity_sets.get(&set.name) else {
            missing.push(format!("{}: no <EntitySet Name=\"{}\"> in the container", set.name, set.name));
            continue;
        };
        let type_name = qualified.strip_prefix(&format!("{}.", metadata.namespace)).unwrap_or(qualified);
        let Some(properties) = metadata.entity_types.get(type_name) else {
            missing.push(format!("{}: its entity type {qualified} is not declared", set.name));
            continue;
        };
        for field in &set.fields {
            let published = if is_identifier(field) {
                field.clone()
            } else {
                let by_documented_name = model
                    .entity_set(&set.name)
                    .and_then(|s| s.properties.iter().find(|p| p.documented_name.as_deref() == Some(field.as_str())));
                match by_documented_name {
                    Some(property) => property.name.clone(),
                    None => {
                        missing.push(format!("{}.{field:?}: no property has documented_name {field:?}", set.name));
                        continue;
                    }
                }
            };
            if !properties.contains(&published) {
                let shown = if &published == field { field.clone() } else { format!("{published} (for {field:?})") };
                missing.push(format!("{}.{shown}: no <Property> on {qualified}", set.name));
            }
        }
    }
    missing
}

#[tokio::test]
async fn metadata_publishes_every_entity_set_and_field_the_product_documentation_names() {
    let documented = documented_sets(FIXTURE)
        .unwrap_or_else(|problems| panic!("tests/fixtures/documented-fields.txt:\n  {}", problems.join("\n  ")));
    assert_eq!(
        documented.len(),
        DOCUMENTED_SETS,
        "the document describes {DOCUMENTED_SETS} entity sets; the fixture lists {:?}",
        documented.iter().map(|s| &s.name).collect::<Vec<_>>()
    );

    let app = spawn_app().await;
    let response = app.get("/odata/$metadata").await;
    assert_eq!(response.status(), 200);
    let metadata = parse_metadata(&response.text().await.expect("body"));
    assert!(!metadata.entity_sets.is_empty(), "no entity sets parsed from $metadata");

    let model = Model::load().expect("model loads");
    let missing = missing(&documented, &metadata, &model);
    let fields: usize = documented.iter().map(|s| s.fields.len()).sum();
    assert!(
        missing.is_empty(),
        "{} of {fields} documented fields are not published:\n  {}",
        missing.len(),
        missing.join("\n  ")
    );
}

#[test]
fn a_documented_field_the_metadata_lacks_is_reported_with_its_set() {
    let documented = documented_sets("Queues: id, Nmae, routing mode\nNowhere: id\n").expect("well-formed");
    let metadata = Metadata {
        namespace: "ContactCenter".into(),
        entity_sets: BTreeMap::from([("Queues".into(), "ContactCenter.Queue".into())]),
        entity_types: BTreeMap::from([("Queue".into(), BTreeSet::from(["id".into(), "Name".into()]))]),
    };
    let model = Model::load().expect("model loads");
    let missing = missing(&documented, &metadata, &model);
    assert_eq!(
        missing,
        [
            "Queues.Nmae: no <Property> on ContactCenter.Queue",
            "Queues.routingMode (for \"routing mode\"): no <Property> on ContactCenter.Queue",
            "Nowhere: no <EntitySet Name=\"Nowhere\"> in the container",
        ]
    );
}

#[test]
fn a_malformed_or_repeated_fixture_line_is_refused() {
    let problems = documented_sets("Calls: id, id\nCalls: id\nno colon here\nChats: id,\n").err().expect("refused");
    assert_eq!(problems.len(), 4, "{problems:#?}");
}
