use super::*;
use crate::odata::capabilities::IMPLEMENTED;

fn csdl() -> Csdl {
    render(&Model::load().expect("model"), &IMPLEMENTED)
}

#[test]
fn the_xml_document_is_version_4_0_with_one_schema_and_a_container() {
    let xml = csdl().xml;
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?>"));
    assert!(xml.contains(r#"<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">"#));
    assert_eq!(xml.matches("<Schema ").count(), 1);
    assert_eq!(xml.matches("<EntityType ").count(), 26);
    assert_eq!(xml.matches("<EntitySet ").count(), 26);
    assert!(xml.contains(r#"<EntityContainer Name="Feed">"#));
}

#[test]
fn facets_appear_only_where_the_type_allows_them() {
    let xml = csdl().xml;
    assert!(
        xml.contains(r#"<Property Name="isChannelOpen" Type="Edm.Int32" Nullable="false">"#),
        "no MaxLength on integers"
    );
    assert!(xml.contains(r#"<Property Name="id" Type="Edm.String" Nullable="false" MaxLength="64">"#));
    assert!(xml.contains(r#"Type="Edm.Decimal" Precision="10" Scale="2""#));
    assert!(!xml.contains(r#"Type="Edm.Int32" MaxLength"#));
    assert!(!xml.contains("EnumType") && !xml.contains("ComplexType") && !xml.contains("ContainsTarget"));
    assert!(!xml.contains("Abstract=") && !xml.contains("BaseType=") && !xml.contains("OpenType="));
}

#[test]
fn allowed_values_are_published_with_their_meaning() {
    let xml = csdl().xml;
    let start = xml.find(r#"<Property Name="dequeuedReason""#).expect("dequeuedReason");
    let end = start + xml[start..].find("</Property>").expect("closed");
    let property = &xml[start..end];
    assert!(property.contains(r#"<Annotation Term="Validation.AllowedValues">"#));
    assert!(property.contains(r#"<PropertyValue Property="Value" String="QueueTimedOut"/>"#));
}

#[test]
fn every_navigation_property_is_bound_to_its_target_set() {
    let model = Model::load().expect("model");
    let xml = csdl().xml;
    for set in model.entity_sets() {
        for nav in &set.navigation {
            let binding = format!(r#"<NavigationPropertyBinding Path="{}" Target="{}"/>"#, nav.name, nav.target);
            assert!(xml.contains(&binding), "{}: {binding}", set.name);
        }
    }
}

#[test]
fn json_csdl_writes_nullability_explicitly_because_its_default_is_false() {
    let json: serde_json::Value = serde_json::from_str(&csdl().json).expect("valid JSON");
    let call = &json["ContactCenter"]["Call"];
    assert_eq!(call["$Kind"], "EntityType");
    assert_eq!(call["$Key"], serde_json::json!(["id"]));
    assert_eq!(call["holdCount"]["$Nullable"], true);
    assert_eq!(call["id"]["$Nullable"], false);
    assert_eq!(call["id"]["$MaxLength"], 64);
    assert_eq!(json["$EntityContainer"], "ContactCenter.Feed");
    assert_eq!(json["ContactCenter"]["Feed"]["Calls"]["$NavigationPropertyBinding"]["Channel"], "Channels");
    assert_eq!(json["ContactCenter"]["Feed"]["Calls"]["@Capabilities.InsertRestrictions"]["Insertable"], false);
}
