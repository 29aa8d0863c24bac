//! The annotations in `$metadata` against the OASIS vocabulary files: every term exists in the
//! vocabulary its alias references, applies to the element it annotates, and has a value of the
//! kind the term declares (records with only the members their complex type declares).
//!
//! The JSON CSDL is checked; the XML is rendered from the same annotation tree.

use odata_feed::odata::{capabilities::IMPLEMENTED, csdl, model::Model};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The OASIS vocabularies, as published (`Org.OData.<Name>.V1.json`).
const VOCABULARY_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/conformance/vocabularies");

/// Where OASIS publishes a vocabulary: this prefix, the namespace, `.xml`.
const CANONICAL_URI_PREFIX: &str = "https://oasis-tcs.github.io/odata-vocabularies/vocabularies/";

/// The OASIS vocabulary documents (JSON CSDL), by namespace.
struct Vocabularies {
    documents: HashMap<String, Value>,
}

impl Vocabularies {
    fn load() -> Vocabularies {
        let mut documents = HashMap::new();
        for entry in std::fs::read_dir(VOCABULARY_DIR).expect("the vocabulary folder exists") {
            let path = entry.expect("a directory entry").path();
            let file = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            let Some(namespace) = file.strip_suffix(".json") else { continue };
            if !(namespace.starts_with("Org.OData.") && namespace.ends_with(".V1")) {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("readable vocabulary");
            let document: Value = serde_json::from_str(&text).expect("vocabulary is JSON");
            assert!(document[namespace].is_object(), "{file} declares the schema {namespace}");
            documents.insert(namespace.to_string(), document);
        }
        assert!(documents.contains_key("Org.OData.Core.V1"), "Core is among the vocabularies in {VOCABULARY_DIR}");
        Vocabularies { documents }
    }

    fn schema(&self, namespace: &str) -> Option<&Map<String, Value>> {
        self.documents.get(namespace)?.get(namespace)?.as_object()
    }

    /// Resolves a qualified name as written inside the vocabulary `namespace` (by its own
    /// alias or namespace, or through its references) to the defining namespace and element.
    fn resolve(&self, namespace: &str, qualified: &str) -> Option<(&str, &Value)> {
        let (qualifier, name) = qualified.rsplit_once('.')?;
        let document = self.documents.get(namespace)?;
        let own = document[namespace]["$Alias"].as_str() == Some(qualifier) || qualifier == namespace;
        let target = if own {
            namespace
        } else {
            document["$Reference"]
                .as_object()?
                .values()
                .filter_map(|reference| reference["$Include"].as_array())
                .flatten()
                .find(|include| include["$Alias"] == qualifier || include["$Namespace"] == qualifier)?["$Namespace"]
                .as_str()?
        };
        let (target, _) = self.documents.get_key_value(target)?;
        Some((target.as_str(), self.schema(target)?.get(name)?))
    }
}

/// A declared type: `$Type` (absent means `Edm.String`), `$Collection`, `$Nullable`, and the
/// vocabulary namespace whose aliases the type name is written with.
struct TypeRef<'a> {
    name: &'a str,
    collection: bool,
    nullable: bool,
    namespace: &'a str,
}

impl<'a> TypeRef<'a> {
    fn of(declaration: &'a Value, namespace: &'a str) -> TypeRef<'a> {
        TypeRef {
            name: declaration["$Type"].as_str().unwrap_or("Edm.String"),
            collection: declaration["$Collection"] == true,
            nullable: declaration["$Nullable"] == true,
            namespace,
        }
    }
}

/// What one check of a document found.
#[derive(Debug, Default)]
struct Report {
    problems: Vec<String>,
    /// Annotations checked (a term and its value), nested ones included.
    annotations: usize,
    /// Distinct qualified terms checked.
    terms: BTreeSet<String>,
    /// Annotations checked per kind of annotated element (`nested` for annotations of
    /// annotations and of records).
    targets: BTreeMap<&'static str, usize>,
}

struct Checker<'v> {
    vocabularies: &'v Vocabularies,
    /// Alias (or namespace) used in the document to the vocabulary namespace it references.
    aliases: HashMap<String, String>,
    report: Report,
}

/// Checks every annotation and vocabulary reference of a JSON CSDL document.
fn check(document: &Value, vocabularies: &Vocabularies) -> Report {
    let mut checker = Checker { vocabularies, aliases: HashMap::new(), report: Report::default() };
    checker.references(document);
    if let Some(document) = document.as_object() {
        checker.annotations(document, None, "$");
        for (namespace, schema) in document.iter().filter(|(key, _)| !key.starts_with('$') && !key.contains('@')) {
            if let Some(schema) = schema.as_object() {
                checker.schema(namespace, schema);
            }
        }
    }
    checker.report
}

/// The problems `check` finds: empty when every annotation is sound.
fn problems(document: &Value, vocabularies: &Vocabularies) -> Vec<String> {
    check(document, vocabularies).problems
}

impl Checker<'_> {
    fn problem(&mut self, problem: String) {
        self.report.problems.push(problem);
    }

    /// Every reference is the canonical OASIS URI of the namespace it includes, and that
    /// vocabulary is in the local folder.
    fn references(&mut self, document: &Value) {
        let Some(references) = document["$Reference"].as_object() else { return };
        for (uri, reference) in references {
            let includes = reference["$Include"].as_array().map(Vec::as_slice).unwrap_or_default();
            if includes.is_empty() {
                self.problem(format!("$Reference {uri}: includes nothing"));
            }
            for include in includes {
                let Some(namespace) = include["$Namespace"].as_str() else {
                    self.problem(format!("$Reference {uri}: an $Include without $Namespace"));
                    continue;
                };
                let canonical = format!("{CANONICAL_URI_PREFIX}{namespace}.xml");
                if uri != &canonical {
                    self.problem(format!("$Reference {uri}: {namespace} is published at {canonical}"));
                }
                let file = std::path::Path::new(VOCABULARY_DIR).join(format!("{namespace}.json"));
                if !file.is_file() || !self.vocabularies.documents.contains_key(namespace) {
                    self.problem(format!("$Reference {uri}: no vocabulary file {}", file.display()));
                }
                self.aliases.insert(namespace.to_string(), namespace.to_string());
                if let Some(alias) = include["$Alias"].as_str() {
                    self.aliases.insert(alias.to_string(), namespace.to_string());
                }
            }
        }
    }

    fn schema(&mut self, namespace: &str, schema: &Map<String, Value>) {
        self.annotations(schema, Some("Schema"), namespace);
        if let Some(external) = schema.get("$Annotations").and_then(Value::as_object) {
            for (target, annotations) in external {
                if let Some(annotations) = annotations.as_object() {
                    self.annotations(annotations, None, &format!("{namespace}/$Annotations/{target}"));
                }
            }
        }
        for (name, element) in schema.iter().filter(|(key, _)| !key.starts_with('$') && !key.contains('@')) {
            let path = format!("{namespace}/{name}");
            let overloads = match element {
                Value::Array(overloads) => overloads.iter().collect(),
                element => vec![element],
            };
            for element in overloads.into_iter().filter_map(Value::as_object) {
                self.element(element, &path);
            }
        }
    }

    /// A schema element and, for structured types and containers, its members.
    fn element(&mut self, element: &Map<String, Value>, path: &str) {
        let kind = element.get("$Kind").and_then(Value::as_str).unwrap_or_default();
        let kind: &'static str = match kind {
            "EntityType" => "EntityType",
            "ComplexType" => "ComplexType",
            "EntityContainer" => "EntityContainer",
            "EnumType" => "EnumType",
            "TypeDefinition" => "TypeDefinition",
            "Term" => "Term",
            "Action" => "Action",
            "Function" => "Function",
            _ => {
                self.problem(format!("{path}: unknown $Kind {kind:?}"));
                return;
            }
        };
        self.annotations(element, Some(kind), path);
        let members = element.iter().filter(|(key, _)| !key.starts_with('$') && !key.contains('@'));
        for (name, member) in members {
            let Some(member) = member.as_object() else { continue };
            let member_kind = match kind {
                "EntityType" | "ComplexType" => {
                    if member.get("$Kind").and_then(Value::as_str) == Some("NavigationProperty") {
                        "NavigationProperty"
                    } else {
                        "Property"
                    }
                }
                "EntityContainer" => {
                    if member.contains_key("$Action") {
                        "ActionImport"
                    } else if member.contains_key("$Function") {
                        "FunctionImport"
                    } else if member.get("$Collection") == Some(&Value::Bool(true)) {
                        "EntitySet"
                    } else {
                        "Singleton"
                    }
                }
                "EnumType" => "Member",
                _ => continue,
            };
            self.annotations(member, Some(member_kind), &format!("{path}/{name}"));
        }
    }

    /// The annotations held in an object: keys `@Alias.Term[#Qualifier]`, or with something
    /// before the `@` (an annotated record member) or several `@` (an annotated annotation).
    /// `target` is the kind of element annotated, `None` for nested annotations.
    fn annotations(&mut self, object: &Map<String, Value>, target: Option<&'static str>, path: &str) {
        for (key, value) in object {
            let Some((annotated, terms)) = key.split_once('@') else { continue };
            if key == "@type" {
                continue; // a record's type cast, not an annotation
            }
            let (target, term) = match terms.rsplit_once('@') {
                None if annotated.is_empty() => (target, terms),
                Some((_, last)) => (None, last),
                None => (None, terms),
            };
            let term = term.split_once('#').map_or(term, |(term, _qualifier)| term);
            self.annotation(term, value, target, &format!("{path}/{key}"));
        }
    }

    fn annotation(&mut self, term: &str, value: &Value, target: Option<&'static str>, path: &str) {
        self.report.annotations += 1;
        self.report.terms.insert(term.to_string());
        *self.report.targets.entry(target.unwrap_or("nested")).or_default() += 1;
        self.nested(value, path);

        let Some((alias, name)) = term.rsplit_once('.') else {
            return self.problem(format!("{path}: {term:?} is not a qualified term"));
        };
        let Some(namespace) = self.aliases.get(alias).cloned() else {
            return self.problem(format!("{path}: alias {alias} is not included by any $Reference"));
        };
        let vocabularies = self.vocabularies;
        let Some((namespace, declaration)) = vocabularies.resolve(&namespace, &format!("{namespace}.{name}")) else {
            return self.problem(format!("{path}: {term} is not declared in {namespace}"));
        };
        if declaration["$Kind"] != "Term" {
            return self.problem(format!("{path}: {term} is a {}, not a Term", declaration["$Kind"]));
        }
        if let (Some(target), Some(applies_to)) = (target, declaration["$AppliesTo"].as_array())
            && !applies_to.iter().any(|kind| kind == target)
        {
            self.problem(format!("{path}: {term} does not apply to {target} (only to {})", json!(applies_to)));
        }
        self.value(value, &TypeRef::of(declaration, namespace), path);
    }

    /// Annotations inside an annotation's value (on records, on record members), at any depth.
    fn nested(&mut self, value: &Value, path: &str) {
        match value {
            Value::Object(object) => {
                self.annotations(object, None, path);
                for (key, member) in object.iter().filter(|(key, _)| !key.contains('@')) {
                    self.nested(member, &format!("{path}/{key}"));
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.nested(item, &format!("{path}[{i}]"));
                }
            }
            _ => {}
        }
    }

    /// The value has the kind the declared type asks for.
    fn value(&mut self, value: &Value, ty: &TypeRef<'_>, path: &str) {
        if value.is_null() {
            if !ty.nullable {
                self.problem(format!("{path}: null, but {} is not nullable", ty.name));
            }
            return;
        }
        if ty.collection {
            let Some(items) = value.as_array() else {
                return self.problem(format!("{path}: expected a collection of {}, found {value}", ty.name));
            };
            let item = TypeRef { collection: false, ..*ty };
            for (i, element) in items.iter().enumerate() {
                self.value(element, &item, &format!("{path}[{i}]"));
            }
            return;
        }
        if let Some(primitive) = ty.name.strip_prefix("Edm.") {
            let fits = match primitive {
                "String" | "Date" | "TimeOfDay" | "Duration" | "DateTimeOffset" | "Guid" | "Binary" => {
                    value.is_string()
                }
                "PropertyPath"
                | "NavigationPropertyPath"
                | "AnnotationPath"
                | "ModelElementPath"
                | "AnyPropertyPath" => value.is_string(),
                "Boolean" => value.is_boolean(),
                "Byte" | "SByte" | "Int16" | "Int32" | "Int64" => value.is_i64() || value.is_u64(),
                "Decimal" | "Double" | "Single" => value.is_number() || value.is_string(),
                "PrimitiveType" => value.is_string() || value.is_number() || value.is_boolean(),
                "ComplexType" | "EntityType" => value.is_object(),
                _ => true, // Edm.Untyped and the abstract types take anything
            };
            if !fits {
                self.problem(format!("{path}: expected {}, found {value}", ty.name));
            }
            return;
        }
        let vocabularies = self.vocabularies;
        let Some((namespace, declaration)) = vocabularies.resolve(ty.namespace, ty.name) else {
            return self.problem(format!("{path}: type {} is not declared in the vocabularies", ty.name));
        };
        match declaration["$Kind"].as_str().unwrap_or_default() {
            "TypeDefinition" => {
                let underlying = declaration["$UnderlyingType"].as_str().unwrap_or("Edm.String");
                self.value(
                    value,
                    &TypeRef { name: underlying, collection: false, nullable: ty.nullable, namespace },
                    path,
                );
            }
            "EnumType" => {
                // A member name, or several comma-separated for flags.
                let known = |m: &str| !m.starts_with('$') && !m.contains('@') && declaration.get(m).is_some();
                if !value.as_str().is_some_and(|v| v.split(',').map(str::trim).all(known)) {
                    self.problem(format!("{path}: expected a member name of {}, found {value}", ty.name));
                }
            }
            "ComplexType" | "EntityType" => self.record(value, ty.name, namespace, declaration, path),
            kind => self.problem(format!("{path}: {} is a {kind}, not a type", ty.name)),
        }
    }

    /// A record: every member is a property of the type or of one of its base types, with a
    /// value of that property's kind.
    fn record(&mut self, value: &Value, type_name: &str, namespace: &str, declaration: &Value, path: &str) {
        let Some(record) = value.as_object() else {
            return self.problem(format!("{path}: expected a {type_name} record, found {value}"));
        };
        for (member, member_value) in record.iter().filter(|(key, _)| !key.contains('@')) {
            let vocabularies = self.vocabularies;
            let mut current = Some((namespace, declaration));
            let mut property = None;
            while let Some((ns, ty)) = current {
                if let Some(found) = ty.get(member).filter(|_| !member.starts_with('$')) {
                    property = Some((ns, found));
                    break;
                }
                current = ty["$BaseType"].as_str().and_then(|base| vocabularies.resolve(ns, base));
            }
            let Some((ns, property)) = property else {
                self.problem(format!("{path}: {type_name} (or its base types) has no property {member}"));
                continue;
            };
            self.value(member_value, &TypeRef::of(property, ns), &format!("{path}/{member}"));
        }
    }
}

#[test]
fn every_annotation_in_metadata_is_a_term_of_its_vocabulary_with_a_value_of_the_right_kind() {
    let csdl = csdl::render(&Model::load().expect("model loads"), &IMPLEMENTED);
    let document: Value = serde_json::from_str(&csdl.json).expect("JSON CSDL parses");
    let report = check(&document, &Vocabularies::load());
    assert!(
        report.problems.is_empty(),
        "{} problem(s) in the JSON CSDL:\n  {}",
        report.problems.len(),
        report.problems.join("\n  ")
    );
    assert!(document["$Reference"].as_object().is_some_and(|r| !r.is_empty()), "no $Reference at all");
    for target in ["EntityContainer", "EntitySet", "Property", "NavigationProperty", "nested"] {
        assert!(report.targets.contains_key(target), "no annotation on any {target} was checked: {:?}", report.targets);
    }
    println!(
        "checked {} annotations using {} terms {:?}, by target {:?}",
        report.annotations,
        report.terms.len(),
        report.terms,
        report.targets
    );
}

/// A small JSON CSDL document referencing the four vocabularies the feed uses, with the given
/// annotations on its entity container, an entity set, a property and a navigation property.
fn snippet(container: Value, set: Value, property: Value, navigation: Value) -> Value {
    let mut document = json!({
        "$Version": "4.0",
        "$Reference": {},
        "$EntityContainer": "Test.Feed",
        "Test": {
            "Thing": {
                "$Kind": "EntityType",
                "$Key": ["id"],
                "id": { "$Type": "Edm.String", "$Nullable": false },
                "Other": { "$Kind": "NavigationProperty", "$Type": "Test.Thing", "$Nullable": true }
            },
            "Feed": {
                "$Kind": "EntityContainer",
                "Things": { "$Collection": true, "$Type": "Test.Thing" }
            }
        }
    });
    for (alias, name) in
        [("Core", "Core"), ("Capabilities", "Capabilities"), ("Validation", "Validation"), ("Measures", "Measures")]
    {
        let namespace = format!("Org.OData.{name}.V1");
        document["$Reference"][format!("{CANONICAL_URI_PREFIX}{namespace}.xml")] =
            json!({ "$Include": [{ "$Namespace": namespace, "$Alias": alias }] });
    }
    let annotate = |target: &mut Value, annotations: Value| {
        let target = target.as_object_mut().expect("an object");
        target.extend(annotations.as_object().expect("annotations are an object").clone());
    };
    annotate(&mut document["Test"]["Feed"], container);
    annotate(&mut document["Test"]["Feed"]["Things"], set);
    annotate(&mut document["Test"]["Thing"]["id"], property);
    annotate(&mut document["Test"]["Thing"]["Other"], navigation);
    document
}

fn on_set(annotations: Value) -> Value {
    snippet(json!({}), annotations, json!({}), json!({}))
}

fn on_property(annotations: Value) -> Value {
    snippet(json!({}), json!({}), annotations, json!({}))
}

#[test]
fn annotations_like_the_feeds_own_pass_the_check() {
    let document = snippet(
        json!({ "@Core.Description": "The feed.", "@Capabilities.FilterFunctions": ["contains"] }),
        json!({
            "@Core.Description": "Things.",
            "@Capabilities.InsertRestrictions": { "Insertable": false },
            "@Capabilities.SelectSupport": { "Supported": false },
            "@Capabilities.TopSupported": false
        }),
        json!({
            "@Measures.Unit": "s",
            "@Validation.AllowedValues": [{ "Value": "A", "@Core.Description": "The letter A." }, { "Value": "B" }]
        }),
        json!({ "@Core.Description": "Another thing." }),
    );
    let report = check(&document, &Vocabularies::load());
    assert_eq!(report.problems, Vec::<String>::new());
    assert_eq!(report.annotations, 10);
}

#[test]
fn a_term_its_vocabulary_does_not_declare_is_reported() {
    let problems = problems(&on_set(json!({ "@Core.NoSuchTerm": "x" })), &Vocabularies::load());
    assert!(problems.iter().any(|p| p.contains("Core.NoSuchTerm is not declared")), "{problems:#?}");

    // A type, not a term.
    let problems = problems_of(on_set(json!({ "@Capabilities.InsertRestrictionsType": {} })));
    assert!(problems.iter().any(|p| p.contains("not a Term")), "{problems:#?}");

    // An annotation inside a record is checked too.
    let problems =
        problems_of(on_property(json!({ "@Validation.AllowedValues": [{ "Value": "A", "@Core.NoSuchTerm": "x" }] })));
    assert!(problems.iter().any(|p| p.contains("Core.NoSuchTerm is not declared")), "{problems:#?}");
}

fn problems_of(document: Value) -> Vec<String> {
    problems(&document, &Vocabularies::load())
}

#[test]
fn a_value_of_the_wrong_kind_is_reported() {
    for (annotations, expected) in [
        (json!({ "@Core.Description": true }), "expected Edm.String"),
        (json!({ "@Capabilities.TopSupported": "yes" }), "expected Edm.Boolean"),
        (json!({ "@Capabilities.FilterFunctions": "contains" }), "expected a collection"),
        (json!({ "@Capabilities.InsertRestrictions": false }), "expected a Capabilities.InsertRestrictionsType record"),
        (
            json!({ "@Capabilities.InsertRestrictions": { "Insertable": "no" } }),
            "@Capabilities.InsertRestrictions/Insertable: expected Edm.Boolean",
        ),
        (json!({ "@Capabilities.DeleteRestrictions": { "Description": false } }), "expected Edm.String"),
    ] {
        let problems = problems_of(on_set(annotations.clone()));
        assert!(problems.iter().any(|p| p.contains(expected)), "{annotations} gave {problems:#?}");
    }
    let problems = problems_of(on_property(json!({ "@Validation.AllowedValues": [{ "Value": { "a": 1 } }] })));
    assert!(problems.iter().any(|p| p.contains("expected Edm.PrimitiveType")), "{problems:#?}");
}

#[test]
fn a_record_member_its_type_does_not_declare_is_reported() {
    let problems = problems_of(on_set(json!({ "@Capabilities.InsertRestrictions": { "Insertible": false } })));
    assert!(problems.iter().any(|p| p.contains("has no property Insertible")), "{problems:#?}");

    let problems = problems_of(on_property(json!({ "@Validation.AllowedValues": [{ "Valeur": "A" }] })));
    assert!(
        problems.iter().any(|p| p.contains("Validation.AllowedValue (or its base types) has no property Valeur")),
        "{problems:#?}"
    );

    // Members of base types are fine: Updatable is declared on UpdateRestrictionsBase.
    assert_eq!(
        problems_of(on_set(json!({ "@Capabilities.UpdateRestrictions": { "Updatable": false } }))),
        Vec::<String>::new()
    );
}

#[test]
fn a_term_on_an_element_it_does_not_apply_to_is_reported() {
    let problems = problems_of(on_set(json!({ "@Measures.Unit": "s" })));
    assert!(problems.iter().any(|p| p.contains("Measures.Unit does not apply to EntitySet")), "{problems:#?}");

    let problems = problems_of(on_property(json!({ "@Capabilities.InsertRestrictions": { "Insertable": false } })));
    assert!(problems.iter().any(|p| p.contains("does not apply to Property")), "{problems:#?}");

    let problems = problems_of(snippet(json!({}), json!({}), json!({}), json!({ "@Validation.AllowedValues": [] })));
    assert!(problems.iter().any(|p| p.contains("does not apply to NavigationProperty")), "{problems:#?}");

    let problems = problems_of(snippet(json!({ "@Capabilities.TopSupported": true }), json!({}), json!({}), json!({})));
    assert!(problems.iter().any(|p| p.contains("does not apply to EntityContainer")), "{problems:#?}");
}

#[test]
fn a_reference_that_is_not_the_canonical_oasis_uri_or_has_no_local_copy_is_reported() {
    let mut document = on_set(json!({ "@Core.Description": "Things." }));
    let core = format!("{CANONICAL_URI_PREFIX}Org.OData.Core.V1.xml");
    let include = document["$Reference"].as_object_mut().expect("references").remove(&core).expect("Core");
    document["$Reference"]["http://docs.oasis-open.org/odata/odata/v4.0/os/vocabularies/Org.OData.Core.V1.xml"] =
        include;
    let problems = problems_of(document);
    assert!(problems.iter().any(|p| p.contains(&format!("is published at {core}"))), "{problems:#?}");

    let mut document = on_set(json!({}));
    document["$Reference"][format!("{CANONICAL_URI_PREFIX}Org.OData.Nothing.V1.xml")] =
        json!({ "$Include": [{ "$Namespace": "Org.OData.Nothing.V1", "$Alias": "Nothing" }] });
    let problems = problems_of(document);
    assert!(problems.iter().any(|p| p.contains("no vocabulary file")), "{problems:#?}");

    let problems = problems_of(on_set(json!({ "@Aggregation.ApplySupported": {} })));
    assert!(problems.iter().any(|p| p.contains("alias Aggregation is not included")), "{problems:#?}");
}
