//! `$filter` over HTTP means what OData says it means: every case is compared with the same
//! question written by hand in SQL over the demo data (comparisons with null are false, also
//! under `not`; strings compare case-sensitively; local-time properties are in the tenant's
//! zone). A case whose SQL selects no row or every row proves nothing, so it fails the test
//! unless it is marked as expected to be empty.

use crate::support::demo::{DemoApp, TENANT_ZONE, difference, enc, odata_error, ok_json, spawn_demo_app, strings};
use chrono::{DateTime, FixedOffset, Utc};
use reqwest::StatusCode;
use std::collections::BTreeSet;

const CALLS: Set = Set { name: "Calls", from: "FROM conversations WHERE tenant_id = 'contoso' AND media = 'Voice'" };
const CHATS: Set = Set { name: "Chats", from: "FROM conversations WHERE tenant_id = 'contoso' AND media = 'Chat'" };

/// An entity set keyed by `id`, and the SQL rows it shows for the demo tenant.
#[derive(Clone, Copy)]
struct Set {
    name: &'static str,
    from: &'static str,
}

/// A `$filter` and the SQL condition that selects the same rows.
struct Case {
    filter: String,
    sql: String,
    /// The SQL may select no row (or every row) and the case still means something.
    trivial: bool,
}

fn case(filter: impl Into<String>, sql: impl Into<String>) -> Case {
    Case { filter: filter.into(), sql: sql.into(), trivial: false }
}

fn trivial_case(filter: impl Into<String>, sql: impl Into<String>) -> Case {
    Case { filter: filter.into(), sql: sql.into(), trivial: true }
}

/// The ids the server returns for `$filter` (following next links), or why it failed.
async fn served_ids(demo: &DemoApp, set: Set, query: &str) -> Result<Vec<String>, String> {
    let mut url = demo.url(&format!("{}?{query}&$select=id", set.name));
    let mut ids = Vec::new();
    loop {
        let response = demo.request(reqwest::Method::GET, &url, &[]).await;
        let status = response.status();
        let text = response.text().await.map_err(|e| format!("the body could not be read: {e}"))?;
        if status != StatusCode::OK {
            return Err(format!("answered {status}: {text}"));
        }
        let body: serde_json::Value = serde_json::from_str(&text).map_err(|e| format!("not JSON ({e}): {text}"))?;
        let value = body["value"].as_array().ok_or_else(|| format!("no value array: {text}"))?;
        ids.extend(strings(value, "id"));
        match body.get("@odata.nextLink").and_then(|l| l.as_str()) {
            Some(next) => url = next.to_owned(),
            None => return Ok(ids),
        }
    }
}

/// The ids SQL selects with `condition`, in key order.
async fn sql_ids(demo: &DemoApp, set: Set, condition: &str) -> Vec<String> {
    demo.sql_strings(&format!("SELECT id {} AND ({condition}) ORDER BY id", set.from)).await
}

/// Runs every case and fails with all mismatches at once.
async fn check(demo: &DemoApp, set: Set, cases: Vec<Case>) {
    let total = demo.sql_count(&format!("SELECT count(*) {}", set.from)).await as usize;
    let mut failures = Vec::new();
    for case in &cases {
        let expected = sql_ids(demo, set, &case.sql).await;
        if !case.trivial && (expected.is_empty() || expected.len() == total) {
            failures.push(format!(
                "{} `{}`: the SQL `{}` selects {} of {total} rows, so the case proves nothing",
                set.name,
                case.filter,
                case.sql,
                expected.len()
            ));
            continue;
        }
        match served_ids(demo, set, &format!("$filter={}", enc(&case.filter))).await {
            Ok(actual) if actual == expected => {}
            Ok(actual) => failures.push(format!(
                "{} $filter=`{}` (SQL `{}`): {}",
                set.name,
                case.filter,
                case.sql,
                difference(&expected, &actual)
            )),
            Err(error) => failures.push(format!("{} $filter=`{}`: {error}", set.name, case.filter)),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ from SQL:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// An instant of the demo data in the middle of the tenant's calls.
async fn middle_start(demo: &DemoApp) -> DateTime<Utc> {
    let count = demo.sql_count(&format!("SELECT count(*) {}", CALLS.from)).await;
    let sql = format!("SELECT started_at_utc {} ORDER BY started_at_utc OFFSET {} LIMIT 1", CALLS.from, count / 2);
    demo.sql(&sql).await[0].get(0)
}

/// `2026-10-01T09:11:05.159000Z`
fn utc_literal(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// The same instant written with a fixed offset, e.g. `2026-10-01T10:11:05.159000+01:00`.
fn offset_literal(at: DateTime<Utc>, hours: i32) -> String {
    let zone = FixedOffset::east_opt(hours * 3600).expect("a valid offset");
    at.with_timezone(&zone).format("%Y-%m-%dT%H:%M:%S%.6f%:z").to_string()
}

/// A value of `column` that occurs in the middle of its sorted non-null values, as SQL text.
async fn middle_value(demo: &DemoApp, set: Set, column: &str) -> String {
    let sql = format!(
        "SELECT {column}::text {} AND {column} IS NOT NULL ORDER BY {column} \
         OFFSET (SELECT count({column}) / 2 {}) LIMIT 1",
        set.from, set.from
    );
    demo.sql_strings(&sql).await.into_iter().next().expect("the column has values")
}

#[tokio::test]
async fn int32_comparisons_select_the_same_calls_as_sql() {
    let demo = spawn_demo_app().await;
    let d = middle_value(&demo, CALLS, "duration_seconds").await;
    let r = middle_value(&demo, CALLS, "customer_ring_seconds").await;
    let cases = vec![
        case(format!("durationInSeconds eq {d}"), format!("duration_seconds = {d}")),
        case(format!("durationInSeconds ne {d}"), format!("duration_seconds IS DISTINCT FROM {d}")),
        case("durationInSeconds gt 300", "duration_seconds > 300"),
        case(format!("durationInSeconds ge {d}"), format!("duration_seconds >= {d}")),
        case("durationInSeconds lt 300", "duration_seconds < 300"),
        case(format!("durationInSeconds le {d}"), format!("duration_seconds <= {d}")),
        case("300 lt durationInSeconds", "300 < duration_seconds"),
        case("holdDurationInSeconds mul 10 gt durationInSeconds", "hold_seconds * 10 > duration_seconds"),
        case("customerRingDuration gt holdDurationInSeconds", "customer_ring_seconds > hold_seconds"),
        // A nullable property: ordering comparisons never select the nulls, `ne` does.
        case("customerRingDuration gt 5", "customer_ring_seconds > 5"),
        case(format!("customerRingDuration ge {r}"), format!("customer_ring_seconds >= {r}")),
        case("customerRingDuration lt 20", "customer_ring_seconds < 20"),
        case(format!("customerRingDuration le {r}"), format!("customer_ring_seconds <= {r}")),
        case(format!("customerRingDuration eq {r}"), format!("customer_ring_seconds = {r}")),
        case(format!("customerRingDuration ne {r}"), format!("customer_ring_seconds IS DISTINCT FROM {r}")),
    ];
    check(&demo, CALLS, cases).await;
}

#[tokio::test]
async fn string_comparisons_are_case_sensitive_and_select_the_same_calls_as_sql() {
    let demo = spawn_demo_app().await;
    let name = middle_value(&demo, CALLS, "customer_last_name").await;
    let lower = name.to_lowercase();
    let cases = vec![
        case(format!("customerLastName eq '{name}'"), format!("customer_last_name = '{name}'")),
        case(format!("customerLastName ne '{name}'"), format!("customer_last_name IS DISTINCT FROM '{name}'")),
        case("customerLastName gt 'M'", "customer_last_name > 'M'"),
        case(format!("customerLastName ge '{name}'"), format!("customer_last_name >= '{name}'")),
        case("customerLastName lt 'M'", "customer_last_name < 'M'"),
        case(format!("customerLastName le '{name}'"), format!("customer_last_name <= '{name}'")),
        case("customerFirstName lt customerLastName", "customer_first_name < customer_last_name"),
        // `''` is a quote inside a string literal.
        case("customerLastName lt 'O''Neil'", "customer_last_name < 'O''Neil'"),
        // Every call, those without a name included.
        trivial_case("customerLastName ne 'O''Neil'", "TRUE"),
    ];
    check(&demo, CALLS, cases).await;

    // Only the exact spelling matches: the name in small letters selects nothing more.
    assert_ne!(name, lower, "the case-sensitivity check needs a name with capitals");
    let filter = enc(&format!("customerLastName eq '{lower}' or customerLastName eq '{name}'"));
    let served = served_ids(&demo, CALLS, &format!("$filter={filter}")).await.unwrap_or_else(|e| panic!("{e}"));
    let exact = sql_ids(&demo, CALLS, &format!("customer_last_name = '{name}'")).await;
    assert_eq!(served, exact, "{}", difference(&exact, &served));
}

#[tokio::test]
async fn ne_on_a_string_includes_the_calls_where_it_is_null() {
    let demo = spawn_demo_app().await;
    let name = middle_value(&demo, CALLS, "customer_last_name").await;
    let nameless: BTreeSet<String> = sql_ids(&demo, CALLS, "customer_last_name IS NULL").await.into_iter().collect();
    assert!(!nameless.is_empty());
    let served = served_ids(&demo, CALLS, &format!("$filter={}", enc(&format!("customerLastName ne '{name}'"))))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let served: BTreeSet<String> = served.into_iter().collect();
    let missing = nameless.difference(&served).count();
    assert_eq!(missing, 0, "{missing} of the {} calls without a last name are missing", nameless.len());
}

#[tokio::test]
async fn datetimeoffset_comparisons_in_utc_and_with_offsets_select_the_same_calls_as_sql() {
    let demo = spawn_demo_app().await;
    let middle = middle_start(&demo).await;
    let z = utc_literal(middle);
    let mut cases = Vec::new();
    for literal in [z.clone(), offset_literal(middle, 1), offset_literal(middle, -5)] {
        let sql = |op: &str| format!("started_at_utc {op} '{z}'::timestamptz");
        cases.push(case(format!("startedAtUTC ge {literal}"), sql(">=")));
        cases.push(case(format!("startedAtUTC gt {literal}"), sql(">")));
        cases.push(case(format!("startedAtUTC lt {literal}"), sql("<")));
        cases.push(case(format!("startedAtUTC le {literal}"), sql("<=")));
        cases.push(case(format!("startedAtUTC eq {literal}"), sql("=")));
        cases.push(case(format!("startedAtUTC ne {literal}"), sql("<>")));
        // A local-time property is the same instant shown in another zone.
        cases.push(case(format!("startedAt ge {literal}"), sql(">=")));
        cases.push(case(format!("endedAtUTC lt {literal}"), format!("ended_at_utc < '{z}'::timestamptz")));
    }
    cases.push(case(
        "endedAtUTC lt startedAtUTC add duration'PT2M'",
        "ended_at_utc < started_at_utc + interval '2 minutes'",
    ));
    check(&demo, CALLS, cases).await;
}

#[tokio::test]
async fn a_raw_plus_in_the_query_string_is_a_plus_or_a_rejection_never_a_space() {
    let demo = spawn_demo_app().await;
    let phone = demo
        .sql_strings(&format!(
            "SELECT customer_phone_number {} AND customer_phone_number LIKE '+%' ORDER BY id LIMIT 1",
            CALLS.from
        ))
        .await
        .remove(0);
    let middle = middle_start(&demo).await;
    let offset = offset_literal(middle, 1);
    assert!(phone.starts_with('+') && offset.contains('+'));
    let cases = [
        (
            format!("Calls?$filter=customerPhoneNumber%20eq%20'{phone}'&$select=id"),
            format!("customer_phone_number = '{phone}'"),
        ),
        (
            format!("Calls?$filter=startedAtUTC%20ge%20{offset}&$select=id"),
            format!("started_at_utc >= '{}'::timestamptz", utc_literal(middle)),
        ),
    ];
    for (path, sql) in cases {
        assert!(path.contains('+'), "the `+` is sent as it is: {path}");
        let expected = sql_ids(&demo, CALLS, &sql).await;
        assert!(!expected.is_empty());
        let response = demo.get(&path).await;
        match response.status() {
            StatusCode::OK => {
                let body = ok_json(response).await;
                let actual = strings(body["value"].as_array().expect("a value array"), "id");
                assert_eq!(actual, expected, "{path} must read `+` as a plus: {}", difference(&expected, &actual));
            }
            StatusCode::BAD_REQUEST => {
                odata_error(response, StatusCode::BAD_REQUEST).await;
            }
            other => panic!("{path} answered {other}: {}", response.text().await.unwrap_or_default()),
        }
    }
}

#[tokio::test]
async fn boolean_comparisons_select_the_same_calls_as_sql() {
    let demo = spawn_demo_app().await;
    let cases = vec![
        case("isOutbound eq true", "is_outbound"),
        case("isOutbound eq false", "NOT is_outbound"),
        case("isOutbound ne true", "NOT is_outbound"),
        case("isOutbound", "is_outbound"),
        case("not isOutbound", "NOT is_outbound"),
        case("isOutbound and durationInSeconds gt 60", "is_outbound AND duration_seconds > 60"),
        case("isOutbound or customerRingDuration gt 5", "is_outbound OR customer_ring_seconds > 5"),
        case("isConsult eq true or isOutbound", "is_consult OR is_outbound"),
        case("isConsult ne isOutbound", "is_consult IS DISTINCT FROM is_outbound"),
    ];
    check(&demo, CALLS, cases).await;
}

#[tokio::test]
async fn decimal_comparisons_select_the_same_chats_as_sql() {
    let demo = spawn_demo_app().await;
    let v = middle_value(&demo, CHATS, "average_agent_answer_seconds").await;
    assert!(v.contains('.'), "a decimal value with a fraction: {v}");
    let cases = vec![
        case(format!("averageAgentAnswerSpeedInSeconds eq {v}"), format!("average_agent_answer_seconds = {v}")),
        case(
            format!("averageAgentAnswerSpeedInSeconds ne {v}"),
            format!("average_agent_answer_seconds IS DISTINCT FROM {v}"),
        ),
        case("averageAgentAnswerSpeedInSeconds gt 30.5", "average_agent_answer_seconds > 30.5"),
        case(format!("averageAgentAnswerSpeedInSeconds ge {v}"), format!("average_agent_answer_seconds >= {v}")),
        case("averageAgentAnswerSpeedInSeconds lt 30.5", "average_agent_answer_seconds < 30.5"),
        case(format!("averageAgentAnswerSpeedInSeconds le {v}"), format!("average_agent_answer_seconds <= {v}")),
        case("averageAgentAnswerSpeedInSeconds gt 30", "average_agent_answer_seconds > 30"),
        case("averageBotAnswerSpeedInSeconds lt 2.005", "average_bot_answer_seconds < 2.005"),
        case(
            "averageBotAnswerSpeedInSeconds lt averageCustomerAnswerSpeedInSeconds",
            "average_bot_answer_seconds < average_customer_answer_seconds",
        ),
    ];
    check(&demo, CHATS, cases).await;
}

#[tokio::test]
async fn eq_null_and_ne_null_are_is_null_and_is_not_null() {
    let demo = spawn_demo_app().await;
    let cases = vec![
        case("customerRingDuration eq null", "customer_ring_seconds IS NULL"),
        case("customerRingDuration ne null", "customer_ring_seconds IS NOT NULL"),
        case("customerLastName eq null", "customer_last_name IS NULL"),
        case("null eq customerLastName", "customer_last_name IS NULL"),
        case("customerLastName ne null", "customer_last_name IS NOT NULL"),
        case("not (customerLastName eq null)", "customer_last_name IS NOT NULL"),
        case("nextConversationID ne null", "next_conversation_id IS NOT NULL"),
    ];
    check(&demo, CALLS, cases).await;
}

#[tokio::test]
async fn not_of_a_comparison_with_null_is_true_as_odata_says() {
    let demo = spawn_demo_app().await;
    let cases = vec![
        case("not (customerRingDuration gt 5)", "NOT coalesce(customer_ring_seconds > 5, false)"),
        case("not (customerRingDuration le 5)", "NOT coalesce(customer_ring_seconds <= 5, false)"),
        case("not (customerLastName lt 'M')", "NOT coalesce(customer_last_name < 'M', false)"),
        case("not (customerRingDuration add 1 gt 5)", "NOT coalesce(customer_ring_seconds + 1 > 5, false)"),
        case("not (length(customerLastName) gt 5)", "NOT coalesce(char_length(customer_last_name) > 5, false)"),
        // A function of null is null, and null is not equal to true.
        case(
            "not (contains(customerLastName,'a') eq true)",
            "NOT coalesce(strpos(customer_last_name, 'a') > 0, false)",
        ),
        case("not (customerLastName eq 'Novak')", "customer_last_name IS DISTINCT FROM 'Novak'"),
        case(
            "not (customerRingDuration gt 5 and durationInSeconds gt 100)",
            "NOT (coalesce(customer_ring_seconds > 5, false) AND coalesce(duration_seconds > 100, false))",
        ),
        case(
            "not (customerRingDuration gt 20 or customerRingDuration lt 10)",
            "NOT (coalesce(customer_ring_seconds > 20, false) OR coalesce(customer_ring_seconds < 10, false))",
        ),
        case("not not (customerRingDuration gt 5)", "coalesce(customer_ring_seconds > 5, false)"),
        case(
            "not (customerRingDuration add 60 gt durationInSeconds)",
            "NOT coalesce(customer_ring_seconds + 60 > duration_seconds, false)",
        ),
    ];
    check(&demo, CALLS, cases).await;
}

#[tokio::test]
async fn in_lists_select_the_same_calls_as_sql() {
    let demo = spawn_demo_app().await;
    let names = demo
        .sql_strings(&format!(
            "SELECT customer_last_name {} AND customer_last_name IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 2",
            CALLS.from
        ))
        .await;
    let (a, b) = (&names[0], &names[1]);
    let cases = vec![
        case(format!("customerLastName in ('{a}','{b}')"), format!("customer_last_name IN ('{a}','{b}')")),
        case(format!("customerLastName in ('{a}')"), format!("customer_last_name = '{a}'")),
        case(
            format!("not (customerLastName in ('{a}','{b}'))"),
            format!("NOT coalesce(customer_last_name IN ('{a}','{b}'), false)"),
        ),
        case("durationInSeconds in (6, 31, 113, 172)", "duration_seconds IN (6, 31, 113, 172)"),
        case("customerRingDuration in (10, 17, 25)", "customer_ring_seconds IN (10, 17, 25)"),
    ];
    check(&demo, CALLS, cases).await;
}

#[tokio::test]
async fn arithmetic_operators_select_the_same_calls_as_sql() {
    let demo = spawn_demo_app().await;
    let cases = vec![
        case("durationInSeconds add 10 gt 300", "duration_seconds + 10 > 300"),
        case("durationInSeconds sub 10 lt 50", "duration_seconds - 10 < 50"),
        case("durationInSeconds mul 2 ge 600", "duration_seconds * 2 >= 600"),
        case("durationInSeconds div 60 eq 2", "duration_seconds / 60 = 2"),
        case("durationInSeconds mod 60 eq 7", "duration_seconds % 60 = 7"),
        case("durationInSeconds divby 60 gt 2.5", "duration_seconds::numeric / 60 > 2.5"),
        case("-durationInSeconds lt -300", "-duration_seconds < -300"),
        case("(durationInSeconds sub 200) div 60 eq -1", "(duration_seconds - 200) / 60 = -1"),
        case("(durationInSeconds sub 200) mod 60 eq -20", "(duration_seconds - 200) % 60 = -20"),
        case("durationInSeconds sub holdDurationInSeconds gt 100", "duration_seconds - hold_seconds > 100"),
        case("customerRingDuration mul 3 gt durationInSeconds", "customer_ring_seconds * 3 > duration_seconds"),
        case("isChannelClosed add holdDurationInSeconds gt 10", "channel_closed_seconds + hold_seconds > 10"),
        case("durationInSeconds mul 1000000 gt 2000000000", "duration_seconds::bigint * 1000000 > 2000000000"),
    ];
    check(&demo, CALLS, cases).await;
}

#[tokio::test]
async fn string_functions_are_case_sensitive_and_select_the_same_calls_as_sql() {
    let demo = spawn_demo_app().await;
    let pair = &demo
        .sql(&format!(
            "SELECT customer_first_name, customer_last_name {} AND customer_last_name IS NOT NULL \
             AND customer_first_name IS NOT NULL ORDER BY id LIMIT 1",
            CALLS.from
        ))
        .await[0];
    let (first, last): (String, String) = (pair.get(0), pair.get(1));
    let cases = vec![
        case("contains(customerLastName,'ov')", "strpos(customer_last_name, 'ov') > 0"),
        // Case-sensitive: a small `n` is not the capital of Nagy, Novak or Németh.
        case("contains(customerLastName,'n')", "strpos(customer_last_name, 'n') > 0"),
        case("startswith(customerPhoneNumber,'+3670')", "customer_phone_number LIKE '+3670%'"),
        case("startswith(customerLastName,'N')", "customer_last_name LIKE 'N%'"),
        case("endswith(customerLastName,'gyi')", "customer_last_name LIKE '%gyi'"),
        case("length(customerLastName) eq 8", "char_length(customer_last_name) = 8"),
        case("indexof(customerLastName,'a') eq 1", "strpos(customer_last_name, 'a') = 2"),
        case("substring(customerLastName,1,3) eq 'ová'", "substr(customer_last_name, 2, 3) = 'ová'"),
        case("substring(customerLastName,2) eq 'pp'", "substr(customer_last_name, 3) = 'pp'"),
        case("tolower(customerLastName) eq 'novak'", "customer_last_name = 'Novak'"),
        case("toupper(customerLastName) eq 'SZILÁGYI'", "customer_last_name = 'Szilágyi'"),
        case("length(trim(concat(concat('  ',customerLastName),' '))) eq 4", "char_length(customer_last_name) = 4"),
        case(
            format!("concat(customerFirstName,customerLastName) eq '{first}{last}'"),
            format!("customer_first_name = '{first}' AND customer_last_name = '{last}'"),
        ),
        case(
            format!("concat(concat(customerFirstName,' '),customerLastName) eq '{first} {last}'"),
            format!("customer_first_name = '{first}' AND customer_last_name = '{last}'"),
        ),
    ];
    check(&demo, CALLS, cases).await;

    // The `n` case discriminates: ignoring case would select more calls.
    let sensitive = sql_ids(&demo, CALLS, "strpos(customer_last_name, 'n') > 0").await;
    let insensitive = sql_ids(&demo, CALLS, "customer_last_name ILIKE '%n%'").await;
    assert!(sensitive.len() < insensitive.len());
}

#[tokio::test]
async fn date_functions_on_utc_properties_select_the_same_calls_as_sql() {
    let demo = spawn_demo_app().await;
    let middle = middle_start(&demo).await;
    let day = middle.format("%Y-%m-%d").to_string();
    let (year, month, dom) = (middle.format("%Y"), middle.format("%m"), middle.format("%d"));
    let utc = |field: &str| format!("extract({field} from started_at_utc AT TIME ZONE 'UTC')");
    let cases = vec![
        case(
            format!("year(startedAtUTC) eq {year} and month(startedAtUTC) eq {month}"),
            format!("{} = {year} AND {} = {month}", utc("year"), utc("month")),
        ),
        case(format!("month(startedAtUTC) eq {month}"), format!("{} = {month}", utc("month"))),
        case(format!("day(startedAtUTC) eq {dom}"), format!("{} = {dom}", utc("day"))),
        case("hour(startedAtUTC) eq 9", format!("{} = 9", utc("hour"))),
        case("hour(startedAtUTC) ge 17", format!("{} >= 17", utc("hour"))),
        case("minute(startedAtUTC) lt 10", format!("{} < 10", utc("minute"))),
        case("second(startedAtUTC) ge 30", format!("floor({}) >= 30", utc("second"))),
        case(format!("date(startedAtUTC) eq {day}"), format!("(started_at_utc AT TIME ZONE 'UTC')::date = '{day}'")),
        case(format!("date(startedAtUTC) lt {day}"), format!("(started_at_utc AT TIME ZONE 'UTC')::date < '{day}'")),
        case("time(startedAtUTC) lt 09:30:00", "(started_at_utc AT TIME ZONE 'UTC')::time < '09:30:00'"),
        case("time(startedAtUTC) ge 22:30:00.5", "(started_at_utc AT TIME ZONE 'UTC')::time >= '22:30:00.5'"),
        case("hour(customerJoinedAtUTC) eq 9", "extract(hour from customer_joined_at_utc AT TIME ZONE 'UTC') = 9"),
    ];
    check(&demo, CALLS, cases).await;
}

#[tokio::test]
async fn date_functions_on_local_time_properties_use_the_tenant_time_zone() {
    let demo = spawn_demo_app().await;
    let middle = middle_start(&demo).await;
    let day = middle.format("%Y-%m-%d").to_string();
    let dom = middle.format("%d").to_string();
    let month = middle.format("%m").to_string();
    let local = |column: &str, field: &str| format!("extract({field} from {column} AT TIME ZONE '{TENANT_ZONE}')");
    let started = |field: &str| local("started_at_utc", field);
    let cases = vec![
        case(
            format!("year(startedAt) eq {} and month(startedAt) eq {month}", middle.format("%Y")),
            format!("{} = {} AND {} = {month}", started("year"), middle.format("%Y"), started("month")),
        ),
        case(format!("day(startedAt) eq {dom}"), format!("{} = {dom}", started("day"))),
        case("hour(startedAt) eq 9", format!("{} = 9", started("hour"))),
        case("hour(startedAt) lt 8", format!("{} < 8", started("hour"))),
        case("minute(startedAt) lt 10", format!("{} < 10", started("minute"))),
        case("second(startedAt) ge 30", format!("floor({}) >= 30", started("second"))),
        case(
            format!("date(startedAt) eq {day}"),
            format!("(started_at_utc AT TIME ZONE '{TENANT_ZONE}')::date = '{day}'"),
        ),
        case(
            format!("date(startedAt) ge {day}"),
            format!("(started_at_utc AT TIME ZONE '{TENANT_ZONE}')::date >= '{day}'"),
        ),
        case(
            "time(startedAt) ge 18:30:00",
            format!("(started_at_utc AT TIME ZONE '{TENANT_ZONE}')::time >= '18:30:00'"),
        ),
        case(
            "time(startedAt) lt 08:15:00",
            format!("(started_at_utc AT TIME ZONE '{TENANT_ZONE}')::time < '08:15:00'"),
        ),
        case("hour(endedAt) eq 17", format!("{} = 17", local("ended_at_utc", "hour"))),
        case("hour(customerJoinedAt) eq 10", format!("{} = 10", local("customer_joined_at_utc", "hour"))),
    ];
    check(&demo, CALLS, cases).await;

    // The zone matters: in local time other calls start at 9 than in UTC.
    let local_nine = sql_ids(&demo, CALLS, &format!("{} = 9", started("hour"))).await;
    let utc_nine = sql_ids(&demo, CALLS, "extract(hour from started_at_utc AT TIME ZONE 'UTC') = 9").await;
    assert_ne!(local_nine, utc_nine);
}

#[tokio::test]
async fn rounding_functions_select_the_same_rows_as_sql() {
    let demo = spawn_demo_app().await;
    let v: f64 = middle_value(&demo, CHATS, "average_agent_answer_seconds").await.parse().expect("a decimal");
    let (round, floor, ceiling) = (v.round(), v.floor(), v.ceil());
    let chats = vec![
        case(
            format!("round(averageAgentAnswerSpeedInSeconds) eq {round}"),
            format!("round(average_agent_answer_seconds) = {round}"),
        ),
        case(
            format!("floor(averageAgentAnswerSpeedInSeconds) eq {floor}"),
            format!("floor(average_agent_answer_seconds) = {floor}"),
        ),
        case(
            format!("ceiling(averageAgentAnswerSpeedInSeconds) eq {ceiling}"),
            format!("ceil(average_agent_answer_seconds) = {ceiling}"),
        ),
        case("round(averageBotAnswerSpeedInSeconds) eq 2", "round(average_bot_answer_seconds) = 2"),
    ];
    check(&demo, CHATS, chats).await;
    let d = middle_value(&demo, CALLS, "duration_seconds").await;
    let calls = vec![
        case("round(durationInSeconds divby 60) eq 3", "round(duration_seconds::numeric / 60) = 3"),
        case("floor(durationInSeconds divby 60) eq 2", "floor(duration_seconds::numeric / 60) = 2"),
        case("ceiling(durationInSeconds divby 60) eq 3", "ceil(duration_seconds::numeric / 60) = 3"),
        case(format!("round(durationInSeconds) eq {d}"), format!("duration_seconds = {d}")),
    ];
    check(&demo, CALLS, calls).await;
}

#[tokio::test]
async fn cast_selects_the_same_calls_as_sql() {
    let demo = spawn_demo_app().await;
    let d = middle_value(&demo, CALLS, "duration_seconds").await;
    let cases = vec![
        case(format!("cast(durationInSeconds,Edm.String) eq '{d}'"), format!("duration_seconds = {d}")),
        case("startswith(cast(durationInSeconds,Edm.String),'1')", "duration_seconds::text LIKE '1%'"),
        case("cast(durationInSeconds,Edm.Decimal) gt 300.5", "duration_seconds > 300"),
        case("cast(durationInSeconds,Edm.Double) lt 99.5", "duration_seconds < 100"),
        case("cast(customerRingDuration,Edm.Int64) gt 5", "customer_ring_seconds > 5"),
    ];
    check(&demo, CALLS, cases).await;
}

#[tokio::test]
async fn parameter_aliases_stand_for_their_values() {
    let demo = spawn_demo_app().await;
    let name = middle_value(&demo, CALLS, "customer_last_name").await;
    let cases = [
        (format!("$filter={}&@d=300", enc("durationInSeconds gt @d")), "duration_seconds > 300".to_owned()),
        (
            format!("$filter={}&@n={}", enc("customerLastName eq @n"), enc(&format!("'{name}'"))),
            format!("customer_last_name = '{name}'"),
        ),
        (
            format!("@s={}&$filter={}", enc("'ov'"), enc("contains(customerLastName,@s)")),
            "strpos(customer_last_name, 'ov') > 0".to_owned(),
        ),
        (
            format!("$filter={}&@lo=60&@hi=120", enc("durationInSeconds ge @lo and durationInSeconds lt @hi")),
            "duration_seconds >= 60 AND duration_seconds < 120".to_owned(),
        ),
    ];
    for (query, sql) in cases {
        let expected = sql_ids(&demo, CALLS, &sql).await;
        assert!(!expected.is_empty());
        let actual = served_ids(&demo, CALLS, &query).await.unwrap_or_else(|e| panic!("{query}: {e}"));
        assert_eq!(actual, expected, "{query}: {}", difference(&expected, &actual));
    }
}

#[tokio::test]
async fn an_alias_without_a_value_in_the_query_is_null() {
    // OData URL Conventions, "Parameter Aliases": an alias that is not given a value in the query
    // part of the URL is assumed to be null.
    let demo = spawn_demo_app().await;
    for (filter, sql) in [
        ("customerLastName eq @missing", "customer_last_name IS NULL"),
        ("not (durationInSeconds gt @missing)", "TRUE"),
    ] {
        let expected = sql_ids(&demo, CALLS, sql).await;
        let actual = served_ids(&demo, CALLS, &format!("$filter={}", enc(filter)))
            .await
            .unwrap_or_else(|e| panic!("{filter}: {e}"));
        assert_eq!(actual, expected, "{filter}: {}", difference(&expected, &actual));
    }
}

#[tokio::test]
async fn system_option_names_are_case_insensitive_and_the_dollar_is_optional() {
    let demo = spawn_demo_app().await;
    let expected = demo
        .sql_strings(&format!(
            "SELECT id {} AND duration_seconds > 300 ORDER BY duration_seconds DESC, id LIMIT 7",
            CALLS.from
        ))
        .await;
    let count = demo.sql_count(&format!("SELECT count(*) {} AND duration_seconds > 300", CALLS.from)).await;
    for query in [
        "$filter=durationInSeconds%20gt%20300&$orderby=durationInSeconds%20desc,id&$top=7&$select=id&$count=true",
        "FILTER=durationInSeconds%20gt%20300&$OrderBy=durationInSeconds%20desc,id&$Top=7&SELECT=id&Count=true",
        "filter=durationInSeconds%20gt%20300&orderby=durationInSeconds%20desc,id&top=7&select=id&count=true",
    ] {
        let body = demo.json(&format!("Calls?{query}")).await;
        let actual = strings(body["value"].as_array().expect("a value array"), "id");
        assert_eq!(actual, expected, "{query}");
        assert_eq!(body["@odata.count"], serde_json::json!(count), "{query}");
        let keys: Vec<&String> = body["value"][0].as_object().expect("an entity").keys().collect();
        assert_eq!(keys, ["id"], "{query}: $select applies");
    }
}

#[tokio::test]
async fn adjacent_half_open_time_ranges_partition_the_calls_without_gaps_or_duplicates() {
    let demo = spawn_demo_app().await;
    let bounds = &demo
        .sql(&format!(
            "SELECT date_trunc('day', min(started_at_utc)), date_trunc('day', max(started_at_utc)) + interval '1 day' {}",
            CALLS.from
        ))
        .await[0];
    let (start, end): (DateTime<Utc>, DateTime<Utc>) = (bounds.get(0), bounds.get(1));
    // The split point is the exact start of a call, which must fall into the second range only.
    let split = middle_start(&demo).await;
    let everything = sql_ids(&demo, CALLS, "TRUE").await;
    let on_split = sql_ids(&demo, CALLS, &format!("started_at_utc = '{}'::timestamptz", utc_literal(split))).await;
    assert!(!on_split.is_empty());

    // Power BI percent-encodes the whole literal, `:` and `+` included.
    for power_bi in [false, true] {
        let name = if power_bi { "+01:00, percent-encoded" } else { "UTC" };
        let literal = |at: DateTime<Utc>| match power_bi {
            true => enc(&offset_literal(at, 1)).replace(':', "%3A"),
            false => enc(&utc_literal(at)),
        };
        let range = |from: DateTime<Utc>, to: DateTime<Utc>| {
            format!("$filter=startedAtUTC%20ge%20{}%20and%20startedAtUTC%20lt%20{}", literal(from), literal(to))
        };
        let first = served_ids(&demo, CALLS, &range(start, split)).await.unwrap_or_else(|e| panic!("{name}: {e}"));
        let second = served_ids(&demo, CALLS, &range(split, end)).await.unwrap_or_else(|e| panic!("{name}: {e}"));
        let expected_first =
            sql_ids(&demo, CALLS, &format!("started_at_utc < '{}'::timestamptz", utc_literal(split))).await;
        assert_eq!(first, expected_first, "{name}, first range: {}", difference(&expected_first, &first));
        assert!(on_split.iter().all(|id| second.contains(id) && !first.contains(id)), "{name}: the split row");
        let mut union: Vec<String> = first.iter().chain(&second).cloned().collect();
        let distinct: BTreeSet<&String> = union.iter().collect();
        assert_eq!(distinct.len(), union.len(), "{name}: a call is in both ranges");
        union.sort();
        assert_eq!(union, everything, "{name}: the ranges together: {}", difference(&everything, &union));
    }

    // The other half-open form, `gt` and `le`, puts the split row into the first range.
    let first = served_ids(
        &demo,
        CALLS,
        &format!(
            "$filter={}",
            enc(&format!("startedAtUTC gt {} and startedAtUTC le {}", utc_literal(start), utc_literal(split)))
        ),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(on_split.iter().all(|id| first.contains(id)), "`le` includes the split row");
    let expected = sql_ids(
        &demo,
        CALLS,
        &format!(
            "started_at_utc > '{}'::timestamptz AND started_at_utc <= '{}'::timestamptz",
            utc_literal(start),
            utc_literal(split)
        ),
    )
    .await;
    assert_eq!(first, expected, "{}", difference(&expected, &first));
}

#[tokio::test]
async fn a_filter_is_rejected_when_it_names_a_property_the_set_does_not_have() {
    let demo = spawn_demo_app().await;
    // Chats' decimal properties are not properties of Calls.
    let message = odata_error(
        demo.get(&format!("Calls?$filter={}", enc("averageAgentAnswerSpeedInSeconds gt 1"))).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(message.contains("averageAgentAnswerSpeedInSeconds"), "{message}");
}
