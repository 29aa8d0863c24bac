//! Tests of the generator, without a database: determinism, the COPY format, and the
//! consistency of a small generated data set (media, durations, references, value lists, keys).

use super::calendar::{self, Ms};
use super::*;
use chrono::{NaiveDate, NaiveDateTime};
use std::collections::{HashMap, HashSet};

type Row = Vec<Option<String>>;

/// A generated data set, parsed back from its COPY text.
struct Data {
    tables: HashMap<Table, Vec<Row>>,
    cutoff: Ms,
}

impl Data {
    fn generate(spec: &DemoSpec) -> Data {
        let generator = generate(spec);
        let cutoff = generator.cutoff();
        let mut tables: HashMap<Table, Vec<Row>> = HashMap::new();
        for chunk in generator {
            for t in chunk.tables {
                let rows = parse_rows(&t.text);
                assert_eq!(rows.len() as u64, t.rows, "row count of {}", t.table.name());
                for row in &rows {
                    assert_eq!(row.len(), t.table.columns().len(), "fields of a {} row: {row:?}", t.table.name());
                }
                tables.entry(t.table).or_default().extend(rows);
            }
        }
        Data { tables, cutoff }
    }

    fn rows(&self, table: Table) -> &[Row] {
        self.tables.get(&table).map_or(&[], Vec::as_slice)
    }
}

/// A field of a row by column name.
fn f<'r>(table: Table, row: &'r Row, column: &str) -> Option<&'r str> {
    row[table.column_index(column)].as_deref()
}

fn must<'r>(table: Table, row: &'r Row, column: &str) -> &'r str {
    f(table, row, column).unwrap_or_else(|| panic!("{}.{column} is NULL in {row:?}", table.name()))
}

fn ts(value: &str) -> Ms {
    assert!(value.ends_with("+00"), "timestamp {value} is not UTC");
    NaiveDateTime::parse_from_str(&value[..value.len() - 3], "%Y-%m-%d %H:%M:%S%.3f")
        .unwrap_or_else(|e| panic!("timestamp {value}: {e}"))
        .and_utc()
        .timestamp_millis()
}

fn opt_ts(value: Option<&str>) -> Option<Ms> {
    value.map(ts)
}

fn int(value: &str) -> i64 {
    value.parse().unwrap_or_else(|e| panic!("integer {value}: {e}"))
}

fn rounded(span: Ms) -> i64 {
    assert!(span >= 0, "negative span {span}");
    (span as f64 / 1000.0).round() as i64
}

fn spec(scale: u32, seed: u64) -> DemoSpec {
    // Covers New Year (a holiday), 15 March (a holiday on a Sunday) and both DST switches.
    DemoSpec { scale, seed, end_date: NaiveDate::from_ymd_opt(2026, 4, 1).expect("valid date") }
}

fn small() -> &'static Data {
    static DATA: std::sync::OnceLock<Data> = std::sync::OnceLock::new();
    DATA.get_or_init(|| Data::generate(&spec(6_000, 7)))
}

/// (tenant, id) of every row of a lookup table.
fn keys(data: &Data, table: Table) -> HashSet<(String, String)> {
    data.rows(table).iter().map(|r| (must(table, r, "tenant_id").to_owned(), must(table, r, "id").to_owned())).collect()
}

#[test]
fn the_same_spec_generates_identical_bytes_and_another_seed_does_not() {
    let bytes = |s: &DemoSpec| -> Vec<(Table, Vec<u8>)> {
        generate(s).flat_map(|c| c.tables).map(|t| (t.table, t.text)).collect()
    };
    let first = bytes(&spec(2_500, 42));
    let second = bytes(&spec(2_500, 42));
    assert!(first == second, "two runs of the same spec differ");
    let other = bytes(&spec(2_500, 43));
    assert!(first != other, "a different seed gives the same data");
    let later = bytes(&DemoSpec { end_date: NaiveDate::from_ymd_opt(2026, 4, 2).expect("date"), ..spec(2_500, 42) });
    assert!(first != later, "a different end date gives the same data");
}

#[test]
fn copy_text_escapes_backslash_tab_newline_and_carriage_return_and_writes_null_as_backslash_n() {
    let mut text = CopyText::new();
    text.text("a\tb")
        .text("line1\nline2\r\n")
        .text("C:\\path\\")
        .null()
        .text("\\N")
        .opt_text(None)
        .int(-42)
        .bool(true)
        .cents(1205)
        .end();
    text.text("plain ünïcode 'quoted' \"double\"")
        .opt_int(Some(0))
        .opt_bool(None)
        .cents(7)
        .null()
        .null()
        .null()
        .null()
        .null()
        .end();
    let expected = "a\\tb\tline1\\nline2\\r\\n\tC:\\\\path\\\\\t\\N\t\\\\N\t\\N\t-42\tt\t12.05\n\
                    plain ünïcode 'quoted' \"double\"\t0\t\\N\t0.07\t\\N\t\\N\t\\N\t\\N\t\\N\n";
    assert_eq!(std::str::from_utf8(text.as_bytes()).expect("utf-8"), expected);
    assert_eq!(text.rows(), 2);
    let rows = parse_rows(text.as_bytes());
    assert_eq!(rows[0][0].as_deref(), Some("a\tb"));
    assert_eq!(rows[0][1].as_deref(), Some("line1\nline2\r\n"));
    assert_eq!(rows[0][2].as_deref(), Some("C:\\path\\"));
    assert_eq!(rows[0][3], None);
    assert_eq!(rows[0][4].as_deref(), Some("\\N"), "a literal backslash-N is not NULL");
    assert_eq!(rows[0][5], None);
}

#[test]
fn timestamps_are_written_as_utc_with_milliseconds() {
    for ms in [0i64, 951_782_400_123, 1_709_164_799_999, 1_774_915_200_000, 4_102_444_799_001, -86_400_000] {
        let mut buf = Vec::new();
        calendar::write_timestamp(&mut buf, ms);
        let expected = chrono::DateTime::from_timestamp_millis(ms)
            .expect("in range")
            .format("%Y-%m-%d %H:%M:%S%.3f+00")
            .to_string();
        assert_eq!(String::from_utf8(buf).expect("ascii"), expected);
    }
}

#[test]
fn chunks_hold_tables_in_foreign_key_order_and_stay_bounded() {
    let mut first = true;
    for chunk in generate(&spec(40_000, 1)) {
        let order: Vec<Table> = chunk.tables.iter().map(|t| t.table).collect();
        let mut sorted = order.clone();
        sorted.sort();
        assert_eq!(order, sorted);
        if first {
            assert_eq!(order[0], Table::Tenants, "tenants come first");
            first = false;
        }
        assert!(chunk.rows() < 200_000, "a chunk of {} rows", chunk.rows());
    }
}

#[test]
fn tenants_get_their_share_of_conversations() {
    let data = small();
    let mut count: HashMap<&str, usize> = HashMap::new();
    for r in data.rows(Table::Conversations) {
        *count.entry(must(Table::Conversations, r, "tenant_id")).or_default() += 1;
    }
    assert_eq!(count["contoso"], 6_000);
    assert_eq!(count["fabrikam"], 600);
    let tenants = data.rows(Table::Tenants);
    assert_eq!(tenants.len(), 2);
    assert_eq!(must(Table::Tenants, &tenants[0], "time_zone"), "Europe/Budapest");
    assert_eq!(must(Table::Tenants, &tenants[1], "time_zone"), "America/New_York");
}

#[test]
fn every_conversation_uses_a_channel_of_its_own_media_and_business_unit() {
    let data = small();
    let channels: HashMap<(String, String), (String, String)> = data
        .rows(Table::Channels)
        .iter()
        .map(|r| {
            let c = Table::Channels;
            (
                (must(c, r, "tenant_id").into(), must(c, r, "id").into()),
                (must(c, r, "channel_type").into(), must(c, r, "business_unit_id").into()),
            )
        })
        .collect();
    let media_of = |channel_type: &str| match channel_type {
        "Voice" => "Voice",
        "Webchat" | "Facebook" | "Viber" => "Chat",
        "Email" => "Email",
        other => panic!("unknown channel type {other}"),
    };
    let mut per_media: HashMap<String, usize> = HashMap::new();
    let c = Table::Conversations;
    for r in data.rows(c) {
        let key = (must(c, r, "tenant_id").to_owned(), must(c, r, "channel_id").to_owned());
        let (channel_type, unit) = channels.get(&key).unwrap_or_else(|| panic!("conversation channel {key:?} unknown"));
        assert_eq!(must(c, r, "channel_type"), channel_type);
        assert_eq!(must(c, r, "media"), media_of(channel_type));
        assert_eq!(must(c, r, "business_unit_id"), unit);
        *per_media.entry(must(c, r, "media").to_owned()).or_default() += 1;
    }
    let total = data.rows(c).len() as f64;
    let share = |m: &str| per_media[m] as f64 / total;
    assert!((share("Voice") - 0.60).abs() < 0.03, "voice share {}", share("Voice"));
    assert!((share("Chat") - 0.25).abs() < 0.03, "chat share {}", share("Chat"));
    assert!((share("Email") - 0.15).abs() < 0.03, "email share {}", share("Email"));
}

#[test]
fn durations_equal_the_rounded_difference_of_end_and_start() {
    let data = small();
    let check = |table: Table, start: &str, end: &str| {
        let mut ended = 0;
        for r in data.rows(table) {
            let s = ts(must(table, r, start));
            match (opt_ts(f(table, r, end)), f(table, r, "duration_seconds")) {
                (Some(e), Some(d)) => {
                    assert!(
                        e > s || (table != Table::Conversations && e == s),
                        "{}: end {e} not after start {s}",
                        table.name()
                    );
                    assert_eq!(int(d), rounded(e - s), "{} duration in {r:?}", table.name());
                    assert!(e <= data.cutoff, "{} ends after the cutoff", table.name());
                    ended += 1;
                }
                (None, None) => {}
                other => panic!("{}: end and duration disagree: {other:?}", table.name()),
            }
            assert!(s < data.cutoff, "{} starts after the cutoff", table.name());
        }
        assert!(ended > 0, "no ended {}", table.name());
    };
    check(Table::Conversations, "started_at_utc", "ended_at_utc");
    check(Table::QueueSegments, "queued_at_utc", "dequeued_at_utc");
    check(Table::BotSegments, "started_at_utc", "ended_at_utc");
    check(Table::Workitems, "start_time_utc", "end_time_utc");
    // Workitems: the parts add up to the whole, give or take rounding.
    let w = Table::Workitems;
    for r in data.rows(w) {
        if let Some(d) = f(w, r, "duration_seconds") {
            let parts = int(must(w, r, "preview_seconds"))
                + int(must(w, r, "active_seconds"))
                + int(must(w, r, "wrap_up_seconds"));
            assert!((int(d) - parts).abs() <= 2, "workitem parts {parts} vs duration {d}");
        }
    }
}

#[test]
fn open_and_closed_seconds_add_up_to_the_duration() {
    let data = small();
    let c = Table::Conversations;
    let (mut closed_checks, mut mostly_closed) = (0, 0);
    for r in data.rows(c) {
        let open = int(must(c, r, "channel_open_seconds"));
        let closed = int(must(c, r, "channel_closed_seconds"));
        assert!(open >= 0 && closed >= 0);
        match f(c, r, "duration_seconds") {
            Some(d) => assert_eq!(open + closed, int(d)),
            None => assert_eq!(open + closed, 0, "running conversations have no open/closed seconds"),
        }
        if must(c, r, "opening_check_result") != "Open" && f(c, r, "duration_seconds").is_some() {
            closed_checks += 1;
            if closed >= open {
                mostly_closed += 1;
            }
        }
    }
    assert!(closed_checks > 0);
    assert!(mostly_closed * 10 >= closed_checks * 9, "{mostly_closed} of {closed_checks} closed checks mostly closed");
}

#[test]
fn running_conversations_are_few_and_only_on_the_last_day() {
    let data = small();
    let c = Table::Conversations;
    let running: Vec<&Row> = data.rows(c).iter().filter(|r| f(c, r, "ended_at_utc").is_none()).collect();
    let share = running.len() as f64 / data.rows(c).len() as f64;
    assert!(share < 0.01, "{} running", running.len());
    for r in running {
        assert!(
            data.cutoff - ts(must(c, r, "started_at_utc")) < 36 * calendar::HOUR,
            "running since long before the end: {r:?}"
        );
        assert!(f(c, r, "conversation_ended_reason").is_none());
        assert!(f(c, r, "next_conversation_id").is_none());
    }
}

#[test]
fn media_specific_columns_are_null_for_other_media() {
    let data = small();
    let c = Table::Conversations;
    let voice_only = [
        "channel_phone_number",
        "hold_count",
        "hold_seconds",
        "is_consult",
        "transfer_initiated_by",
        "transfer_external_number",
    ];
    let chat_only = [
        "average_agent_answer_seconds",
        "average_bot_answer_seconds",
        "average_customer_answer_seconds",
        "first_customer_answer_seconds",
    ];
    let email_only = ["customer_email_address", "first_reply_seconds", "subject", "thread_id"];
    for r in data.rows(c) {
        let media = must(c, r, "media");
        let outbound = must(c, r, "is_outbound") == "t";
        for col in voice_only.iter().filter(|_| media != "Voice") {
            assert!(f(c, r, col).is_none(), "{col} set on a {media} conversation");
        }
        for col in chat_only.iter().filter(|_| media != "Chat") {
            assert!(f(c, r, col).is_none(), "{col} set on a {media} conversation");
        }
        for col in email_only.iter().filter(|_| media != "Email") {
            assert!(f(c, r, col).is_none(), "{col} set on a {media} conversation");
        }
        match media {
            "Voice" => {
                assert!(f(c, r, "channel_phone_number").is_some());
                assert!(f(c, r, "hold_count").is_some() && f(c, r, "is_consult").is_some());
                assert_eq!(
                    f(c, r, "customer_ring_seconds").is_some(),
                    outbound,
                    "ring seconds only for outbound calls"
                );
            }
            "Email" => assert!(
                f(c, r, "subject").is_some()
                    && f(c, r, "thread_id").is_some()
                    && f(c, r, "customer_email_address").is_some()
            ),
            _ => assert!(f(c, r, "customer_ring_seconds").is_none()),
        }
        if let Some(by) = f(c, r, "transfer_initiated_by") {
            assert!(by == "agent" || by == "workflow");
            assert!(must(c, r, "conversation_ended_reason").starts_with("Transfer"));
        }
    }
}

#[test]
fn values_stay_within_the_documented_lists() {
    let data = small();
    let lists: &[(Table, &str, &[&str])] = &[
        (Table::Channels, "channel_type", &["Voice", "Webchat", "Facebook", "Viber", "Email"]),
        (Table::Queues, "routing_mode", &["Automatic", "Manual"]),
        (Table::BotSteps, "media_group", &["Chat", "Email", "Voice"]),
        (
            Table::BotSteps,
            "bot_type",
            &[
                "announcement",
                "autoAttendant",
                "customBot",
                "customerIntentEvaluator",
                "identifyCustomer",
                "matchAni",
                "menuSelection",
                "qna",
                "question",
                "sendEmailReply",
            ],
        ),
        (Table::Users, "user_type", &["Agent", "Supervisor", "User"]),
        (Table::Campaigns, "campaign_type", &["Preview", "Callback"]),
        (Table::Conversations, "media", &["Voice", "Chat", "Email"]),
        (Table::Conversations, "opening_check_result", &["Open", "Holiday", "Closed"]),
        (Table::Conversations, "transfer_initiated_by", &["agent", "workflow"]),
        (
            Table::QueueSegments,
            "dequeued_reason",
            &["AgentConnected", "CallbackRequested", "CustomerDisconnected", "QueueTimedOut"],
        ),
        (Table::BotSegments, "result", &["Success", "CustomerDisconnect", "Failed"]),
        (
            Table::RejectedEnqueueAttempts,
            "reject_reason",
            &[
                "NoAgentLoggedIn",
                "NoStaffedAgentLoggedIn",
                "NoAvailableStaffedAgent",
                "EstimatedWaitTimeLimitReached",
                "QueueSizeLimitReached",
            ],
        ),
        (
            Table::Workitems,
            "media_type",
            &["webchat", "email", "instagram", "voice", "whatsapp", "viber", "lookup", "messenger"],
        ),
        (Table::Workitems, "result", &["Handled", "Missed", "Cancelled", "Abandoned", "Rejected"]),
        (
            Table::WorkitemConversationSessions,
            "ended_reason",
            &["AgentFailedToJoin", "ConversationEnded", "Transferred", "default"],
        ),
        (Table::AgentStates, "state", &["Idle", "Busy", "Break", "LoggedOut"]),
        (Table::AgentStates, "logout_reason", &["AgentLogout", "ConnectionTimeout", "ForceLogout"]),
        (Table::CampaignRecords, "status", &["New", "Processing", "Rescheduled", "Closed"]),
    ];
    for (table, column, allowed) in lists {
        let mut seen = HashSet::new();
        for r in data.rows(*table) {
            if let Some(v) = f(*table, r, column) {
                assert!(allowed.contains(&v), "{}.{column} = {v:?}", table.name());
                seen.insert(v.to_owned());
            }
        }
        assert!(!seen.is_empty(), "{}.{column} never set", table.name());
    }
    // Ended reasons come from the media's own list.
    let c = Table::Conversations;
    for r in data.rows(c) {
        let Some(reason) = f(c, r, "conversation_ended_reason") else { continue };
        let allowed: &[&str] = match must(c, r, "media") {
            "Voice" => &[
                "Abandoned",
                "AgentJoinFailed",
                "CallbackRequested",
                "CustomerDisconnected",
                "CustomerJoinFailed",
                "Default",
                "IdleTimeout",
                "InternalError",
                "TransferToAgentFailed",
                "TransferToChannel",
                "TransferToExternal",
                "TransferToExternalFailed",
            ],
            "Chat" => &["CustomerDisconnected", "Default", "IdleTimeout", "TransferredToQueue"],
            _ => &["Default", "IdleTimeout", "TransferToChannel"],
        };
        assert!(allowed.contains(&reason), "{} conversation ended {reason}", must(c, r, "media"));
        if reason == "CustomerDisconnected" && must(c, r, "media") == "Chat" {
            assert_eq!(must(c, r, "channel_type"), "Webchat");
        }
    }
}

#[test]
fn every_reference_resolves_within_the_tenant() {
    let data = small();
    let units = keys(data, Table::BusinessUnits);
    let channels = keys(data, Table::Channels);
    let queues = keys(data, Table::Queues);
    let steps = keys(data, Table::BotSteps);
    let agents = keys(data, Table::Agents);
    let users = keys(data, Table::Users);
    let campaigns = keys(data, Table::Campaigns);
    let conversations = keys(data, Table::Conversations);
    let workitems = keys(data, Table::Workitems);
    let records = keys(data, Table::CampaignRecords);
    let evaluations: HashSet<(String, String)> = data
        .rows(Table::WorkitemEvaluations)
        .iter()
        .map(|r| {
            (must(Table::WorkitemEvaluations, r, "tenant_id").into(), must(Table::WorkitemEvaluations, r, "id").into())
        })
        .collect();
    assert!(agents.is_subset(&users), "every agent is a user");
    type Keys = HashSet<(String, String)>;
    let refs: &[(Table, &str, &Keys)] = &[
        (Table::Channels, "business_unit_id", &units),
        (Table::Queues, "channel_id", &channels),
        (Table::AgentBusinessUnitChanges, "agent_id", &agents),
        (Table::AgentBusinessUnitChanges, "business_unit_id", &units),
        (Table::Conversations, "channel_id", &channels),
        (Table::Conversations, "business_unit_id", &units),
        (Table::Conversations, "next_conversation_id", &conversations),
        (Table::QueueSegments, "conversation_id", &conversations),
        (Table::QueueSegments, "queue_id", &queues),
        (Table::QueueSegments, "channel_id", &channels),
        (Table::BotSegments, "conversation_id", &conversations),
        (Table::BotSegments, "bot_step_id", &steps),
        (Table::BotSegments, "channel_id", &channels),
        (Table::RejectedEnqueueAttempts, "conversation_id", &conversations),
        (Table::RejectedEnqueueAttempts, "queue_id", &queues),
        (Table::RejectedEnqueueAttempts, "channel_id", &channels),
        (Table::CapturedData, "conversation_id", &conversations),
        (Table::Workitems, "agent_id", &agents),
        (Table::Workitems, "queue_id", &queues),
        (Table::Workitems, "primary_channel_id", &channels),
        (Table::Workitems, "primary_conversation_id", &conversations),
        (Table::Workitems, "business_unit_id", &units),
        (Table::WorkitemConversationSessions, "workitem_id", &workitems),
        (Table::WorkitemConversationSessions, "conversation_id", &conversations),
        (Table::WorkitemEvaluations, "workitem_id", &workitems),
        (Table::WorkitemEvaluations, "created_by", &users),
        (Table::WorkitemEvaluationData, "workitem_id", &workitems),
        (Table::WorkitemEvaluationData, "created_by", &users),
        (Table::WorkitemEvaluationData, "evaluation_id", &evaluations),
        (Table::CollectedData, "workitem_id", &workitems),
        (Table::AgentStates, "agent_id", &agents),
        (Table::CampaignRecords, "campaign_id", &campaigns),
        (Table::CampaignRecordRegistrations, "campaign_record_id", &records),
        (Table::CampaignRecordRegistrations, "campaign_id", &campaigns),
        (Table::CampaignRecordCustomFields, "campaign_record_id", &records),
        (Table::CampaignRecordAdditionalPhoneNumbers, "campaign_record_id", &records),
    ];
    for (table, column, targets) in refs {
        let mut used = 0;
        for r in data.rows(*table) {
            if let Some(v) = f(*table, r, column) {
                let key = (must(*table, r, "tenant_id").to_owned(), v.to_owned());
                assert!(targets.contains(&key), "{}.{column} = {v} does not resolve", table.name());
                used += 1;
            }
        }
        assert!(used > 0, "{}.{column} never used", table.name());
    }
    assert!(
        records.len() == data.rows(Table::CampaignRecordRegistrations).len(),
        "one registration per campaign record"
    );
}

#[test]
fn segments_and_workitems_fit_their_conversation() {
    let data = small();
    let c = Table::Conversations;
    struct Conv {
        media: String,
        channel: String,
        start: Ms,
        end: Option<Ms>,
    }
    let convs: HashMap<(String, String), Conv> = data
        .rows(c)
        .iter()
        .map(|r| {
            (
                (must(c, r, "tenant_id").into(), must(c, r, "id").into()),
                Conv {
                    media: must(c, r, "media").into(),
                    channel: must(c, r, "channel_id").into(),
                    start: ts(must(c, r, "started_at_utc")),
                    end: opt_ts(f(c, r, "ended_at_utc")),
                },
            )
        })
        .collect();
    let channel_type: HashMap<(String, String), String> = data
        .rows(Table::Channels)
        .iter()
        .map(|r| {
            (
                (must(Table::Channels, r, "tenant_id").into(), must(Table::Channels, r, "id").into()),
                must(Table::Channels, r, "channel_type").into(),
            )
        })
        .collect();
    let media_of = |t: &str| match t {
        "Voice" => "Voice",
        "Email" => "Email",
        _ => "Chat",
    };
    let queue_media: HashMap<(String, String), &str> = data
        .rows(Table::Queues)
        .iter()
        .map(|r| {
            let tenant = must(Table::Queues, r, "tenant_id").to_owned();
            let channel = channel_type[&(tenant.clone(), must(Table::Queues, r, "channel_id").to_owned())].clone();
            ((tenant, must(Table::Queues, r, "id").into()), media_of(&channel))
        })
        .collect();
    let step_media: HashMap<(String, String), String> = data
        .rows(Table::BotSteps)
        .iter()
        .map(|r| {
            (
                (must(Table::BotSteps, r, "tenant_id").into(), must(Table::BotSteps, r, "id").into()),
                must(Table::BotSteps, r, "media_group").into(),
            )
        })
        .collect();
    let within = |conv: &Conv, t: Ms| t >= conv.start && conv.end.is_none_or(|e| t <= e);
    let conv_of = |table: Table, r: &Row, col: &str| -> &Conv {
        &convs[&(must(table, r, "tenant_id").to_owned(), must(table, r, col).to_owned())]
    };
    // Queue segments: the conversation's channel, a queue of its media, within its time.
    let q = Table::QueueSegments;
    let mut connected: HashSet<(String, String, String)> = HashSet::new();
    for r in data.rows(q) {
        let conv = conv_of(q, r, "conversation_id");
        assert_eq!(must(q, r, "channel_id"), conv.channel);
        assert_eq!(queue_media[&(must(q, r, "tenant_id").to_owned(), must(q, r, "queue_id").to_owned())], conv.media);
        assert!(within(conv, ts(must(q, r, "queued_at_utc"))));
        if let Some(d) = opt_ts(f(q, r, "dequeued_at_utc")) {
            assert!(within(conv, d), "dequeued outside the conversation");
        }
        if f(q, r, "dequeued_reason") == Some("AgentConnected") {
            connected.insert((
                must(q, r, "tenant_id").into(),
                must(q, r, "conversation_id").into(),
                must(q, r, "queue_id").into(),
            ));
        }
    }
    // Every AgentConnected segment has a handled workitem from that queue.
    let w = Table::Workitems;
    let handled: HashSet<(String, String, String)> = data
        .rows(w)
        .iter()
        .filter(|r| f(w, r, "result").is_none_or(|v| v == "Handled"))
        .filter_map(|r| {
            Some((
                must(w, r, "tenant_id").into(),
                must(w, r, "primary_conversation_id").into(),
                f(w, r, "queue_id")?.to_owned(),
            ))
        })
        .collect();
    for key in &connected {
        assert!(handled.contains(key), "AgentConnected without a workitem: {key:?}");
    }
    let b = Table::BotSegments;
    for r in data.rows(b) {
        let conv = conv_of(b, r, "conversation_id");
        assert_eq!(step_media[&(must(b, r, "tenant_id").to_owned(), must(b, r, "bot_step_id").to_owned())], conv.media);
        assert!(within(conv, ts(must(b, r, "started_at_utc"))));
    }
    let cd = Table::CapturedData;
    for r in data.rows(cd) {
        assert!(within(conv_of(cd, r, "conversation_id"), ts(must(cd, r, "timestamp_utc"))));
    }
    for r in data.rows(w) {
        let conv = conv_of(w, r, "primary_conversation_id");
        assert_eq!(must(w, r, "primary_channel_id"), conv.channel);
        let expected = match channel_type[&(must(w, r, "tenant_id").to_owned(), conv.channel.clone())].as_str() {
            "Voice" => "voice",
            "Webchat" => "webchat",
            "Facebook" => "messenger",
            "Viber" => "viber",
            _ => "email",
        };
        assert_eq!(must(w, r, "media_type"), expected);
        if let Some(qid) = f(w, r, "queue_id") {
            assert_eq!(queue_media[&(must(w, r, "tenant_id").to_owned(), qid.to_owned())], conv.media);
        }
    }
    // Transfers point to a later conversation of the same media.
    let mut transfers = 0;
    for r in data.rows(c) {
        if let Some(next) = f(c, r, "next_conversation_id") {
            let this = conv_of(c, r, "id");
            let other = &convs[&(must(c, r, "tenant_id").to_owned(), next.to_owned())];
            assert!(other.start > this.start && other.media == this.media);
            transfers += 1;
        }
    }
    let share = transfers as f64 / data.rows(c).len() as f64;
    assert!((0.025..0.08).contains(&share), "transfer share {share}");
}

#[test]
fn workitems_go_to_agents_that_exist_at_the_time_and_have_sessions() {
    let data = small();
    let a = Table::Agents;
    let deleted: HashMap<(String, String), Ms> = data
        .rows(a)
        .iter()
        .filter_map(|r| Some(((must(a, r, "tenant_id").into(), must(a, r, "id").into()), ts(f(a, r, "deleted_at")?))))
        .collect();
    assert_eq!(deleted.len(), 3, "two contoso agents and one fabrikam agent are deleted");
    let w = Table::Workitems;
    let mut used_deleted = 0;
    for r in data.rows(w) {
        let key = (must(w, r, "tenant_id").to_owned(), must(w, r, "agent_id").to_owned());
        if let Some(d) = deleted.get(&key) {
            assert!(ts(must(w, r, "start_time_utc")) < *d, "workitem of a deleted agent after deletion");
            used_deleted += 1;
        }
    }
    assert!(used_deleted > 0, "deleted agents keep their older workitems");
    let s = Table::WorkitemConversationSessions;
    let mut sessions: HashMap<(String, String), usize> = HashMap::new();
    for r in data.rows(s) {
        *sessions.entry((must(s, r, "tenant_id").into(), must(s, r, "workitem_id").into())).or_default() += 1;
    }
    for r in data.rows(w) {
        let n = sessions.get(&(must(w, r, "tenant_id").to_owned(), must(w, r, "id").to_owned())).copied().unwrap_or(0);
        assert!((1..=2).contains(&n), "workitem with {n} sessions");
    }
    // Evaluations are made by supervisors.
    let u = Table::Users;
    let supervisors: HashSet<&str> =
        data.rows(u).iter().filter(|r| must(u, r, "user_type") == "Supervisor").map(|r| must(u, r, "id")).collect();
    for r in data.rows(Table::WorkitemEvaluations) {
        assert!(supervisors.contains(must(Table::WorkitemEvaluations, r, "created_by")));
    }
}

#[test]
fn keys_are_unique_and_bigint_ids_are_sequential_per_tenant() {
    let data = small();
    let unique: &[(Table, &[&str])] = &[
        (Table::Conversations, &["tenant_id", "id"]),
        (Table::QueueSegments, &["tenant_id", "conversation_id", "queue_id", "queued_at_utc"]),
        (Table::BotSegments, &["tenant_id", "id"]),
        (Table::RejectedEnqueueAttempts, &["tenant_id", "id"]),
        (Table::CapturedData, &["tenant_id", "conversation_id", "name", "timestamp_utc"]),
        (Table::Workitems, &["tenant_id", "id"]),
        (Table::CollectedData, &["tenant_id", "workitem_id", "name", "created_at_utc"]),
        (Table::AgentBusinessUnitChanges, &["tenant_id", "agent_id", "business_unit_id", "timestamp_utc"]),
        (Table::CampaignRecords, &["tenant_id", "id"]),
        (Table::CampaignRecordCustomFields, &["tenant_id", "campaign_record_id", "custom_field_name"]),
        (Table::CampaignRecordAdditionalPhoneNumbers, &["tenant_id", "campaign_record_id", "phone_number"]),
        (Table::Users, &["tenant_id", "id"]),
        (Table::Queues, &["tenant_id", "id"]),
    ];
    for (table, cols) in unique {
        let mut seen = HashSet::new();
        for r in data.rows(*table) {
            let key: Vec<&str> = cols.iter().map(|c| must(*table, r, c)).collect();
            assert!(seen.insert(key.clone()), "duplicate {} key {key:?}", table.name());
        }
    }
    for table in [
        Table::AgentStates,
        Table::WorkitemConversationSessions,
        Table::WorkitemEvaluations,
        Table::WorkitemEvaluationData,
    ] {
        let mut next: HashMap<&str, i64> = HashMap::new();
        for r in data.rows(table) {
            let n = next.entry(must(table, r, "tenant_id")).or_insert(1);
            assert_eq!(int(must(table, r, "id")), *n, "{} ids", table.name());
            *n += 1;
        }
    }
    // Ids look like lowercase GUIDs.
    for r in data.rows(Table::Conversations) {
        let id = must(Table::Conversations, r, "id");
        assert_eq!(id.len(), 36);
        assert!(id.chars().all(|ch| ch.is_ascii_hexdigit() && !ch.is_ascii_uppercase() || ch == '-'));
    }
}

#[test]
fn agent_states_follow_shifts_from_login_to_logout() {
    let data = small();
    let s = Table::AgentStates;
    let mut by_agent: HashMap<(&str, &str), Vec<&Row>> = HashMap::new();
    for r in data.rows(s) {
        by_agent.entry((must(s, r, "tenant_id"), must(s, r, "agent_id"))).or_default().push(r);
    }
    for rows in by_agent.values() {
        let mut rows = rows.clone();
        rows.sort_by_key(|r| ts(must(s, r, "start_time_utc")));
        for pair in rows.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            let span = ts(must(s, b, "start_time_utc")) - ts(must(s, a, "start_time_utc"));
            assert!(span > 0);
            assert_eq!(
                f(s, a, "duration_seconds").map(int),
                Some(rounded(span)),
                "duration is the time to the next state"
            );
            // A login follows a logout and vice versa.
            assert_eq!(must(s, b, "is_login") == "t", must(s, a, "state") == "LoggedOut");
        }
        let first = rows[0];
        assert_eq!(must(s, first, "is_login"), "t");
        for r in &rows {
            assert_eq!(must(s, r, "is_logout") == "t", must(s, r, "state") == "LoggedOut");
            assert_eq!(f(s, r, "logout_reason").is_some(), must(s, r, "state") == "LoggedOut");
            if f(s, r, "break_name").is_some() {
                assert_eq!(must(s, r, "state"), "Break");
            }
        }
        assert!(f(s, rows[rows.len() - 1], "duration_seconds").is_none(), "the current state has no duration");
    }
}

#[test]
fn campaign_records_are_closed_only_when_closed() {
    let data = small();
    let r = Table::CampaignRecords;
    assert_eq!(data.rows(r).len(), 6_000 / 20 + 600 / 20);
    for row in data.rows(r) {
        let closed = f(r, row, "closed_at_utc");
        assert_eq!(closed.is_some(), must(r, row, "status") == "Closed");
        if let Some(c) = closed {
            assert!(ts(c) > ts(must(r, row, "created_at_utc")) && ts(c) <= data.cutoff);
        }
    }
}

/// The default scale gives the size the README promises: 200,000 conversations for the main
/// tenant (plus a tenth for the second), every table filled, agent states in the 100k range,
/// and a progress estimate close to the truth.
#[test]
fn the_default_scale_yields_the_documented_size() {
    let generator = generate(&spec(200_000, 42));
    let estimate = generator.estimated_rows();
    let mut counts: std::collections::BTreeMap<Table, u64> = Default::default();
    for chunk in generator {
        for t in chunk.tables {
            *counts.entry(t.table).or_default() += t.rows;
        }
    }
    let total: u64 = counts.values().sum();
    assert_eq!(counts[&Table::Conversations], 220_000);
    assert!(Table::ALL.iter().all(|t| counts.get(t).copied().unwrap_or(0) > 0), "every table has rows: {counts:?}");
    assert!((100_000..=250_000).contains(&counts[&Table::AgentStates]), "{counts:?}");
    assert!(counts[&Table::QueueSegments] > 150_000 && counts[&Table::Workitems] > 150_000, "{counts:?}");
    let off = (estimate as f64 - total as f64).abs() / total as f64;
    assert!(off < 0.25, "estimate {estimate} vs {total} rows");
}

#[test]
fn tiny_scales_still_generate_a_consistent_data_set() {
    for scale in [0, 1, 7] {
        let data = Data::generate(&spec(scale, 3));
        let conversations = data.rows(Table::Conversations).len();
        assert_eq!(conversations, scale as usize + (scale as usize / 10).max(1));
        assert_eq!(data.rows(Table::Tenants).len(), 2);
        assert!(!data.rows(Table::AgentStates).is_empty());
    }
}

#[test]
fn copy_columns_are_the_columns_of_the_migrations() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let mut sql = String::new();
    for entry in std::fs::read_dir(&dir).expect("migrations directory") {
        let up = entry.expect("entry").path().join("up.sql");
        if up.exists() {
            sql.push_str(&std::fs::read_to_string(up).expect("readable migration"));
        }
    }
    let mut columns: HashMap<String, Vec<String>> = HashMap::new();
    let mut current: Option<String> = None;
    for line in sql.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("CREATE TABLE ") {
            current = rest.split_whitespace().next().map(str::to_owned);
        } else if line.starts_with(");") {
            current = None;
        } else if let Some(table) = &current {
            let word = line.split_whitespace().next().unwrap_or("");
            if !word.is_empty() && !matches!(word, "PRIMARY" | "CONSTRAINT" | "UNIQUE" | "CHECK" | "FOREIGN" | "--") {
                columns.entry(table.clone()).or_default().push(word.to_owned());
            }
        }
    }
    for table in Table::ALL {
        let actual = columns.get(table.name()).unwrap_or_else(|| panic!("no CREATE TABLE {}", table.name()));
        for column in table.columns() {
            assert!(actual.iter().any(|c| c == column), "{}.{column} is not in the migrations", table.name());
        }
        for column in actual {
            assert!(
                table.columns().contains(&column.as_str()) || matches!(column.as_str(), "updated_at" | "created_at"),
                "{}.{column} is never written",
                table.name()
            );
        }
    }
}
