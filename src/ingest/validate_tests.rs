use super::*;
use crate::odata::model::Model;
use serde_json::{Value, json};

fn columns(set: &str) -> Columns {
    let model = Model::load().expect("the embedded model loads");
    Columns::new(model.entity_set(set).expect("the set exists"))
}

fn check_json(columns: &Columns, value: &Value) -> Result<Vec<Option<String>>, Vec<Problem>> {
    let object = value.as_object().expect("a JSON object");
    record(columns, 1, object.iter().map(|(k, v)| (k.as_str(), RawValue::Json(v))))
}

/// A CSV header and one data row, split on commas (the tests use no quoting).
fn check_csv(columns: &Columns, header: &str, row: &str) -> Result<Vec<Option<String>>, Vec<Problem>> {
    record(columns, 1, header.split(',').zip(row.split(',')).map(|(k, v)| (k, RawValue::Text(v))))
}

/// The value of `column` in a checked record.
fn value<'v>(columns: &Columns, values: &'v [Option<String>], column: &str) -> Option<&'v str> {
    let i = columns.names().iter().position(|n| n == column).expect("the column exists");
    values[i].as_deref()
}

/// `(property, reason)` of each problem, to compare in one go.
fn reasons(problems: &[Problem]) -> Vec<(String, String)> {
    problems.iter().map(|p| (p.property.clone().unwrap_or_default(), p.reason.clone())).collect()
}

fn call() -> Value {
    json!({
        "id": "c-1",
        "channelId": "ch-1",
        "channelType": "Voice",
        "isChannelClosed": 0,
        "isChannelOpen": 125,
        "isOutbound": false,
        "startedAtUTC": "2024-05-01T10:30:00+02:00",
        "durationInSeconds": 125,
        "customerFirstName": "Zoë",
        "conversationEndedReason": "Abandoned"
    })
}

const CALL_HEADER: &str = "id,channelId,channelType,isChannelClosed,isChannelOpen,isOutbound,startedAtUTC,durationInSeconds,customerFirstName,conversationEndedReason";
const CALL_ROW: &str = "c-1,ch-1,Voice,0,125,FALSE,2024-05-01T10:30:00+02:00,125,Zoë,Abandoned";

fn problems_of(result: Result<Vec<Option<String>>, Vec<Problem>>) -> Vec<Problem> {
    result.expect_err("the record has problems")
}

#[test]
fn a_valid_ndjson_record_and_the_same_csv_row_give_identical_values() {
    let calls = columns("Calls");
    let from_json = check_json(&calls, &call()).expect("valid");
    let from_csv = check_csv(&calls, CALL_HEADER, CALL_ROW).expect("valid");
    assert_eq!(from_json, from_csv);
    assert_eq!(from_json.len(), calls.names().len());
    assert_eq!(value(&calls, &from_json, "started_at_utc"), Some("2024-05-01T08:30:00Z"));
    assert_eq!(value(&calls, &from_json, "is_outbound"), Some("false"));
    assert_eq!(value(&calls, &from_json, "customer_first_name"), Some("Zoë"));
    assert_eq!(value(&calls, &from_json, "hold_count"), None);
}

#[test]
fn columns_are_the_writable_columns_in_table_order_without_tenant_or_derived_ones() {
    let calls = columns("Calls");
    let names = calls.names();
    assert!(names.windows(2).all(|w| w[0] < w[1]), "sorted by name: {names:?}");
    assert!(names.iter().any(|n| n == "media"));
    assert!(!names.iter().any(|n| n == "tenant_id" || n == "updated_at"));
    let model = Model::load().unwrap();
    let set = model.entity_set("Calls").unwrap();
    let stored = set.properties.iter().filter(|p| !p.is_local_time()).count();
    assert_eq!(names.len(), stored + 1, "every stored property plus the row filter column");
}

#[test]
fn the_row_filter_column_is_filled_by_the_set_and_may_repeat_its_value() {
    let calls = columns("Calls");
    let values = check_json(&calls, &call()).unwrap();
    assert_eq!(value(&calls, &values, "media"), Some("Voice"));
    let mut repeated = call();
    repeated["media"] = json!("Voice");
    assert_eq!(check_json(&calls, &repeated).unwrap(), values);
}

#[test]
fn a_row_filter_value_of_another_set_is_rejected() {
    let mut record = call();
    record["media"] = json!("Chat");
    let problems = problems_of(check_json(&columns("Calls"), &record));
    assert_eq!(reasons(&problems), [("media".into(), "Calls holds only rows with media = 'Voice'".into())]);
    assert_eq!(problems[0].value.as_deref(), Some("Chat"));
}

#[test]
fn an_unknown_property_is_rejected_naming_the_set() {
    let mut record = call();
    record["colour"] = json!("blue");
    let problems = problems_of(check_json(&columns("Calls"), &record));
    assert_eq!(reasons(&problems), [("colour".into(), "not a property of Calls".into())]);
}

#[test]
fn a_derived_local_time_is_rejected_pointing_to_its_utc_property() {
    let mut record = call();
    record["startedAt"] = json!("2024-05-01T10:30:00+02:00");
    let problems = problems_of(check_json(&columns("Calls"), &record));
    assert_eq!(
        reasons(&problems),
        [("startedAt".into(), "derived from startedAtUTC; send that property instead".into())]
    );
}

#[test]
fn the_tenant_is_never_an_input_even_where_the_model_publishes_it() {
    let changes = columns("AgentBusinessUnitChanges");
    assert!(!changes.names().iter().any(|n| n == TENANT_COLUMN));
    let problems = problems_of(check_csv(&changes, "tenantId", "t-1"));
    let tenant = problems.iter().find(|p| p.property.as_deref() == Some("tenantId")).expect("tenantId rejected");
    assert!(tenant.reason.contains("tenant comes from the token"), "{}", tenant.reason);

    let problems = problems_of(check_json(&columns("Agents"), &json!({"id": "a-1", "tenant_id": "t-1"})));
    assert_eq!(reasons(&problems), [("tenant_id".into(), "the tenant comes from the token; do not send it".into())]);
}

#[test]
fn a_missing_or_null_key_property_is_rejected() {
    let segments = columns("QueueSegments");
    let problems = problems_of(check_json(&segments, &json!({"conversationId": "c-1", "queueId": null})));
    assert_eq!(
        reasons(&problems),
        [
            ("queueId".into(), "part of the key; must not be null".into()),
            ("queuedAtUTC".into(), "part of the key; missing".into())
        ]
    );
    let problems = problems_of(check_csv(&segments, "conversationId,queueId,queuedAtUTC", ",q-1,2024-05-01T08:00:00Z"));
    assert_eq!(reasons(&problems), [("conversationId".into(), "part of the key; must not be null".into())]);
}

#[test]
fn a_missing_or_null_non_nullable_property_is_rejected() {
    let calls = columns("Calls");
    let mut record = call();
    record.as_object_mut().unwrap().remove("isOutbound");
    record["channelId"] = Value::Null;
    let problems = problems_of(check_json(&calls, &record));
    assert_eq!(
        reasons(&problems),
        [
            ("channelId".into(), "not nullable; must not be null".into()),
            ("isOutbound".into(), "not nullable; missing".into())
        ]
    );
    let problems = problems_of(check_csv(&calls, CALL_HEADER, &CALL_ROW.replace(",ch-1,", ",,")));
    assert_eq!(reasons(&problems), [("channelId".into(), "not nullable; must not be null".into())]);
}

#[test]
fn every_problem_of_a_record_is_reported_not_just_the_first() {
    let record = json!({
        "id": "c-1",
        "colour": "blue",
        "startedAt": "2024-05-01T10:30:00Z",
        "startedAtUTC": "yesterday",
        "durationInSeconds": 1.5,
        "isOutbound": "no",
        "channelType": "voice"
    });
    let problems = problems_of(check_json(&columns("Calls"), &record));
    let properties: Vec<_> = problems.iter().map(|p| p.property.clone().unwrap()).collect();
    assert_eq!(
        properties,
        [
            "colour",
            "startedAt",
            "startedAtUTC",
            "durationInSeconds",
            "isOutbound",
            "channelType",
            // then the missing ones, in column order
            "isChannelClosed",
            "channelId",
            "isChannelOpen"
        ]
    );
    assert!(problems.iter().all(|p| p.row == 1));
}

#[test]
fn date_time_offsets_are_normalized_to_utc() {
    let dto = |text: &str| parse_text(text, EdmType::DateTimeOffset, None);
    assert_eq!(dto("2024-05-01T10:30:00+02:00").unwrap(), "2024-05-01T08:30:00Z");
    assert_eq!(dto("2024-12-31T23:30:00.250-01:00").unwrap(), "2025-01-01T00:30:00.250Z");
    assert_eq!(dto("2024-05-01T08:30:00Z").unwrap(), "2024-05-01T08:30:00Z");
    assert!(dto("2024-05-01T08:30:00").unwrap_err().contains("RFC 3339"), "an offset is required");
    assert!(dto("2024-02-30T08:30:00Z").is_err());
}

#[test]
fn int32_overflow_is_rejected_in_json_and_csv() {
    let calls = columns("Calls");
    let mut record = call();
    record["durationInSeconds"] = json!(2_147_483_648_i64);
    let problems = problems_of(check_json(&calls, &record));
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].property.as_deref(), Some("durationInSeconds"));
    assert_eq!(problems[0].reason, "out of range for Edm.Int32 (-2147483648 to 2147483647)");
    assert_eq!(problems[0].value.as_deref(), Some("2147483648"));

    let problems = problems_of(check_csv(&calls, CALL_HEADER, &CALL_ROW.replace(",125,Zoë", ",-2147483649,Zoë")));
    assert_eq!(problems[0].reason, "out of range for Edm.Int32 (-2147483648 to 2147483647)");

    record["durationInSeconds"] = json!(2_147_483_647);
    let values = check_json(&calls, &record).unwrap();
    assert_eq!(value(&calls, &values, "duration_seconds"), Some("2147483647"));
}

#[test]
fn integers_reject_fractions_and_strings_in_json_but_int64_takes_digit_strings() {
    assert!(convert(RawValue::Json(&json!(1.5)), EdmType::Int32, None).unwrap_err().contains("integer"));
    assert!(convert(RawValue::Json(&json!("12")), EdmType::Int32, None).unwrap_err().contains("JSON number"));
    assert_eq!(
        convert(RawValue::Json(&json!("9007199254740993")), EdmType::Int64, None).unwrap().unwrap(),
        "9007199254740993"
    );
    assert_eq!(convert(RawValue::Text("+007"), EdmType::Int16, None).unwrap().unwrap(), "7");
    assert!(convert(RawValue::Text("32768"), EdmType::Int16, None).is_err());
    assert!(convert(RawValue::Text("1e3"), EdmType::Int64, None).is_err());
    assert!(convert(RawValue::Text("99999999999999999999999999999999999999999"), EdmType::Int64, None).is_err());
}

#[test]
fn max_length_counts_characters_not_bytes() {
    let agents = columns("Agents");
    let id = "é".repeat(64); // 128 bytes, 64 characters: fits varchar(64)
    assert!(check_json(&agents, &json!({ "id": id })).is_ok());
    let problems = problems_of(check_json(&agents, &json!({ "id": "é".repeat(65) })));
    assert_eq!(reasons(&problems), [("id".into(), "65 characters, more than the 64 allowed".into())]);
}

#[test]
fn allowed_values_must_match_exactly() {
    let calls = columns("Calls");
    for (property, bad) in
        [("channelType", "voice"), ("conversationEndedReason", "Abandoned "), ("channelType", "Chat")]
    {
        let mut record = call();
        record[property] = json!(bad);
        let problems = problems_of(check_json(&calls, &record));
        assert_eq!(problems.len(), 1, "{property} = {bad:?}");
        assert_eq!(problems[0].property.as_deref(), Some(property));
        assert!(problems[0].reason.starts_with("not one of the allowed values: "), "{}", problems[0].reason);
    }
}

#[test]
fn booleans_take_json_booleans_and_csv_true_or_false_in_any_case() {
    assert_eq!(convert(RawValue::Json(&json!(true)), EdmType::Boolean, None).unwrap().as_deref(), Some("true"));
    assert_eq!(convert(RawValue::Text("TRUE"), EdmType::Boolean, None).unwrap().as_deref(), Some("true"));
    assert_eq!(convert(RawValue::Text("False"), EdmType::Boolean, None).unwrap().as_deref(), Some("false"));
    assert!(convert(RawValue::Text("1"), EdmType::Boolean, None).is_err());
    assert!(convert(RawValue::Json(&json!("true")), EdmType::Boolean, None).is_err());
}

#[test]
fn a_json_value_of_the_wrong_kind_is_rejected() {
    let mut record = call();
    record["channelId"] = json!(42);
    record["customerFirstName"] = json!({"first": "Zoë"});
    let problems = problems_of(check_json(&columns("Calls"), &record));
    assert_eq!(
        reasons(&problems),
        [
            ("channelId".into(), "expected a JSON string for Edm.String".into()),
            ("customerFirstName".into(), "expected a JSON string for Edm.String".into())
        ]
    );
}

#[test]
fn a_property_given_twice_is_rejected() {
    let calls = columns("Calls");
    let problems = problems_of(check_csv(&calls, &format!("{CALL_HEADER},id"), &format!("{CALL_ROW},c-2")));
    assert_eq!(reasons(&problems), [("id".into(), "given more than once in the record".into())]);
}

#[test]
fn values_in_problems_are_shortened_to_100_characters() {
    let problems = problems_of(check_json(&columns("Agents"), &json!({ "id": "x".repeat(500) })));
    let quoted = problems[0].value.as_deref().unwrap();
    assert_eq!(quoted.chars().count(), 100);
    assert!(quoted.ends_with('…'));
}

#[test]
fn decimals_are_checked_against_precision_and_scale() {
    let chats = columns("Chats");
    let speed = |v: Value| {
        check_json(
            &chats,
            &json!({
                "id": "c-1", "channelID": "ch", "channelType": "Webchat", "isChannelClosed": 0, "isChannelOpen": 0,
                "startedAtUTC": "2024-05-01T08:00:00Z", "averageAgentAnswerSpeedInSeconds": v
            }),
        )
        .map(|values| value(&chats, &values, "average_agent_answer_seconds").map(str::to_owned))
    };
    assert_eq!(speed(json!(1.5)).unwrap().as_deref(), Some("1.5"));
    assert_eq!(speed(json!("0012345678.90")).unwrap().as_deref(), Some("12345678.9"));
    assert_eq!(speed(json!(-0.0)).unwrap().as_deref(), Some("0"));
    let reason = |v: Value| speed(v).expect_err("rejected").remove(0).reason;
    assert_eq!(reason(json!("123456789")), "more than 8 digits before the decimal point for Edm.Decimal(10,2)");
    assert_eq!(reason(json!(1.234)), "more than 2 digits after the decimal point for Edm.Decimal(10,2)");
    assert!(reason(json!("1e3")).starts_with("not a valid Edm.Decimal"));
    assert!(reason(json!(true)).contains("JSON number"));
}

#[test]
fn other_types_are_written_in_canonical_text() {
    let ok = |text: &str, ty: EdmType| parse_text(text, ty, None).unwrap();
    assert_eq!(ok("0E6F1A2B-3C4D-4E5F-8A9B-0C1D2E3F4A5B", EdmType::Guid), "0e6f1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b");
    assert!(parse_text("0e6f1a2b3c4d4e5f8a9b0c1d2e3f4a5b", EdmType::Guid, None).is_err());
    assert_eq!(ok("2024-02-29", EdmType::Date), "2024-02-29");
    assert!(parse_text("2023-02-29", EdmType::Date, None).is_err());
    assert!(parse_text("2024-2-9", EdmType::Date, None).is_err());
    assert_eq!(ok("08:30:00.5", EdmType::TimeOfDay), "08:30:00.500");
    assert!(parse_text("8:30", EdmType::TimeOfDay, None).is_err());
    assert_eq!(ok("2.50", EdmType::Double), "2.5");
    assert_eq!(ok("INF", EdmType::Double), "Infinity");
    assert!(parse_text("inf", EdmType::Double, None).is_err());
    assert_eq!(ok("P1DT2H3M4.5S", EdmType::Duration), "P1DT2H3M4.5S");
    assert_eq!(ok("-PT30M", EdmType::Duration), "-PT30M");
    for bad in ["P", "PT", "P1H", "PT1.5M", "PT1S2M", "1D"] {
        assert!(parse_text(bad, EdmType::Duration, None).is_err(), "{bad}");
    }
    assert!(parse_text("a\0b", EdmType::String, None).is_err());
}

#[test]
fn a_local_time_without_a_published_utc_twin_is_writable_and_stored_in_utc() {
    let records = columns("CampaignRecords");
    assert!(records.names().contains(&"created_at_utc".to_string()), "{:?}", records.names());
    let header: Vec<String> = vec!["CreatedAt".into(), "closedAt".into()];
    assert!(records.check_header(&header).is_empty(), "both local times may be sent");
    let given = json!({ "CreatedAt": "2026-03-29T03:30:00+02:00", "closedAt": null });
    let problems = problems_of(check_json(&records, &given));
    assert!(problems.iter().all(|p| p.property.as_deref() != Some("CreatedAt")), "{problems:?}");
}

#[test]
fn a_lookup_objects_deleted_at_is_kept_by_the_service_and_refused() {
    let agents = columns("Agents");
    assert!(!agents.names().contains(&"deleted_at".to_string()));
    let problems = problems_of(check_json(&agents, &json!({ "id": "a-1", "deletedAt": "2026-01-01T00:00:00Z" })));
    assert_eq!(reasons(&problems).len(), 1, "{problems:?}");
    assert!(problems[0].reason.contains("nightly lookup refresh"), "{problems:?}");
}
