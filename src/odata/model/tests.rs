use super::*;

const TWO_SETS: &str = r#"
name = "Things"
entity_type = "Thing"
kind = "statistic"
table = "things"
key = ["id"]
time_anchor = "atUtc"
description = "Test things."

[[property]]
name = "id"
type = "Edm.String"
column = "id"
nullable = false
max_length = 64
description = "Id."

[[property]]
name = "atUtc"
type = "Edm.DateTimeOffset"
column = "at_utc"
nullable = false
description = "When."

[[property]]
name = "at"
type = "Edm.DateTimeOffset"
local_time_of = "at_utc"
nullable = false
description = "When, local."

[[property]]
name = "ownerId"
type = "Edm.String"
column = "owner_id"
max_length = 64
description = "Owner."

[[navigation]]
name = "Owner"
target = "Owners"
on = { ownerId = "id" }
description = "The owner."
"#;

const OWNERS: &str = r#"
name = "Owners"
entity_type = "Owner"
kind = "lookup"
table = "owners"
key = ["id"]
description = "Owners."

[[property]]
name = "id"
type = "Edm.String"
column = "id"
nullable = false
max_length = 64
description = "Id."

[[property]]
name = "deletedAt"
type = "Edm.DateTimeOffset"
column = "deleted_at"
description = "Deleted."

[[navigation]]
name = "Things"
target = "Things"
collection = true
on = { id = "ownerId" }
description = "Their things."
"#;

fn load(things: &str, owners: &str) -> Result<Model, ModelError> {
    Model::from_sources(&[("Things.toml", things), ("Owners.toml", owners)])
}

fn problems_of(things: &str, owners: &str) -> String {
    match load(things, owners) {
        Ok(_) => String::from("(no problems)"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_consistent_model_loads() {
    let model = load(TWO_SETS, OWNERS).expect("loads");
    let things = model.entity_set("Things").expect("Things");
    assert_eq!(things.retention, Retention::Anchor { column: "at_utc".into() });
    assert!(things.property("at").expect("at").is_local_time());
}

#[test]
fn a_navigation_to_an_unknown_set_is_reported() {
    let broken = TWO_SETS.replace("target = \"Owners\"", "target = \"Nobody\"");
    assert!(problems_of(&broken, OWNERS).contains("target `Nobody` is not an entity set"));
}

#[test]
fn a_join_between_different_types_is_reported() {
    let broken =
        TWO_SETS.replace("type = \"Edm.String\"\ncolumn = \"owner_id\"", "type = \"Edm.Int64\"\ncolumn = \"owner_id\"");
    let broken = broken.replace("max_length = 64\ndescription = \"Owner.\"", "description = \"Owner.\"");
    assert!(problems_of(&broken, OWNERS).contains("Things.ownerId is Edm.Int64 but Owners.id is Edm.String"));
}

#[test]
fn names_that_differ_only_in_case_are_reported() {
    let broken = TWO_SETS.replace("name = \"ownerId\"", "name = \"ID\"").replace("{ ownerId = ", "{ ID = ");
    let broken_owners = OWNERS.replace("{ id = \"ownerId\" }", "{ id = \"ID\" }");
    assert!(problems_of(&broken, &broken_owners).contains("`ID` is declared twice"));
}

#[test]
fn an_identifier_that_power_query_would_decode_is_rejected() {
    assert!(validate::check_identifier("Metric_x0020_Name").is_err());
    assert!(validate::check_identifier("routing mode").is_err());
    assert!(validate::check_identifier("TransferInitiatedBy").is_ok());
}

#[test]
fn a_nullable_key_is_reported() {
    let broken = TWO_SETS.replacen(
        "nullable = false\nmax_length = 64\ndescription = \"Id.\"",
        "max_length = 64\ndescription = \"Id.\"",
        1,
    );
    assert!(problems_of(&broken, OWNERS).contains("key `id` must not be nullable"));
}

#[test]
fn two_sets_disagreeing_about_a_shared_column_are_reported() {
    let owners_on_same_table = OWNERS
        .replace("table = \"owners\"", "table = \"things\"")
        .replace("column = \"deleted_at\"", "column = \"owner_id\"");
    let message = problems_of(TWO_SETS, &owners_on_same_table);
    assert!(message.contains("table `things` column `owner_id`"), "{message}");
}

#[test]
fn max_length_on_a_number_is_rejected() {
    let broken =
        TWO_SETS.replace("type = \"Edm.String\"\ncolumn = \"owner_id\"", "type = \"Edm.Int32\"\ncolumn = \"owner_id\"");
    assert!(problems_of(&broken, OWNERS).contains("`max_length` is only allowed on Edm.String"));
}

#[test]
fn an_unknown_field_in_a_file_is_rejected() {
    let broken = TWO_SETS.replace("description = \"Test things.\"", "description = \"Test things.\"\ncolour = \"red\"");
    assert!(problems_of(&broken, OWNERS).contains("unknown field `colour`"));
}

#[test]
fn derived_tables_lead_with_the_tenant_and_carry_the_ingestion_time() {
    let model = load(TWO_SETS, OWNERS).expect("loads");
    let tables = model.tables();
    let things = tables.iter().find(|t| t.name == "things").expect("things table");
    let names: Vec<&str> = things.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["tenant_id", "at_utc", "id", "owner_id", "updated_at"]);
    let owners = tables.iter().find(|t| t.name == "owners").expect("owners table");
    assert!(!owners.columns.iter().any(|c| c.name == "updated_at"));
}

/// The entity sets of the product documentation, all of which the feed publishes.
const DOCUMENTED_SETS: [&str; 26] = [
    "AgentBusinessUnitChanges",
    "Agents",
    "AgentStates",
    "BotSegments",
    "BotSteps",
    "BusinessUnits",
    "Calls",
    "CampaignRecordAdditionalPhoneNumbers",
    "CampaignRecordCustomFields",
    "CampaignRecordRegistrations",
    "CampaignRecords",
    "Campaigns",
    "CapturedData",
    "Channels",
    "Chats",
    "CollectedData",
    "Conversations",
    "Emails",
    "Queues",
    "QueueSegments",
    "RejectedEnqueueAttempts",
    "Users",
    "WorkitemConversationSessions",
    "WorkitemEvaluationData",
    "WorkitemEvaluations",
    "Workitem",
];

#[test]
fn the_embedded_model_loads_with_every_documented_set() {
    let model = Model::load().unwrap_or_else(|e| panic!("{e}"));
    let mut names: Vec<&str> = model.entity_sets().iter().map(|s| s.name.as_str()).collect();
    names.sort_unstable();
    let mut expected = DOCUMENTED_SETS.to_vec();
    expected.sort_unstable();
    assert_eq!(names, expected);
}

#[test]
fn durations_named_like_flags_are_integers_in_the_embedded_model() {
    let model = Model::load().unwrap_or_else(|e| panic!("{e}"));
    let calls = model.entity_set("Calls").expect("Calls");
    assert_eq!(calls.property("isChannelOpen").expect("isChannelOpen").edm_type, EdmType::Int32);
    assert_eq!(calls.property("isOutbound").expect("isOutbound").edm_type, EdmType::Boolean);
    assert_eq!(calls.property("startedAtUTC").expect("startedAtUTC").edm_type, EdmType::DateTimeOffset);
}
