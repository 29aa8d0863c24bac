//! The tables the demo data set fills and the PostgreSQL `COPY ... FROM STDIN` text format they
//! are written in: one line per row, tab between fields, `\N` for NULL, and backslash, tab,
//! newline and carriage return escaped inside values.

use super::calendar::{Ms, write_timestamp};

/// Every table the demo data set fills, in an order that satisfies the foreign keys (tenants
/// first, workitems before their sessions, campaign records before their children).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    Tenants,
    BusinessUnits,
    Channels,
    Queues,
    BotSteps,
    Users,
    Agents,
    Campaigns,
    AgentBusinessUnitChanges,
    Conversations,
    QueueSegments,
    BotSegments,
    RejectedEnqueueAttempts,
    CapturedData,
    Workitems,
    WorkitemConversationSessions,
    WorkitemEvaluations,
    WorkitemEvaluationData,
    CollectedData,
    AgentStates,
    CampaignRecords,
    CampaignRecordRegistrations,
    CampaignRecordCustomFields,
    CampaignRecordAdditionalPhoneNumbers,
}

impl Table {
    /// All tables, in load order.
    pub const ALL: [Table; 24] = [
        Table::Tenants,
        Table::BusinessUnits,
        Table::Channels,
        Table::Queues,
        Table::BotSteps,
        Table::Users,
        Table::Agents,
        Table::Campaigns,
        Table::AgentBusinessUnitChanges,
        Table::Conversations,
        Table::QueueSegments,
        Table::BotSegments,
        Table::RejectedEnqueueAttempts,
        Table::CapturedData,
        Table::Workitems,
        Table::WorkitemConversationSessions,
        Table::WorkitemEvaluations,
        Table::WorkitemEvaluationData,
        Table::CollectedData,
        Table::AgentStates,
        Table::CampaignRecords,
        Table::CampaignRecordRegistrations,
        Table::CampaignRecordCustomFields,
        Table::CampaignRecordAdditionalPhoneNumbers,
    ];

    /// The SQL table name.
    pub fn name(self) -> &'static str {
        match self {
            Table::Tenants => "tenants",
            Table::BusinessUnits => "business_units",
            Table::Channels => "channels",
            Table::Queues => "queues",
            Table::BotSteps => "bot_steps",
            Table::Users => "users",
            Table::Agents => "agents",
            Table::Campaigns => "campaigns",
            Table::AgentBusinessUnitChanges => "agent_business_unit_changes",
            Table::Conversations => "conversations",
            Table::QueueSegments => "queue_segments",
            Table::BotSegments => "bot_segments",
            Table::RejectedEnqueueAttempts => "rejected_enqueue_attempts",
            Table::CapturedData => "captured_data",
            Table::Workitems => "workitems",
            Table::WorkitemConversationSessions => "workitem_conversation_sessions",
            Table::WorkitemEvaluations => "workitem_evaluations",
            Table::WorkitemEvaluationData => "workitem_evaluation_data",
            Table::CollectedData => "collected_data",
            Table::AgentStates => "agent_states",
            Table::CampaignRecords => "campaign_records",
            Table::CampaignRecordRegistrations => "campaign_record_registrations",
            Table::CampaignRecordCustomFields => "campaign_record_custom_fields",
            Table::CampaignRecordAdditionalPhoneNumbers => "campaign_record_additional_phone_numbers",
        }
    }

    /// The columns written, in the order of the fields of each line. `updated_at` and
    /// `tenants.created_at` are left to their defaults.
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            Table::Tenants => &["id", "name", "time_zone", "retention_days"],
            Table::BusinessUnits => &["tenant_id", "id", "name", "deleted_at"],
            Table::Channels => &["tenant_id", "id", "name", "channel_type", "business_unit_id", "deleted_at"],
            Table::Queues => &["tenant_id", "id", "name", "channel_id", "routing_mode", "deleted_at"],
            Table::BotSteps => &["tenant_id", "id", "name", "bot_type", "media_group", "deleted_at"],
            Table::Users => &["tenant_id", "id", "name", "custom_id", "email_address", "user_type", "deleted_at"],
            Table::Agents => &["tenant_id", "id", "name", "custom_id", "deleted_at"],
            Table::Campaigns => &["tenant_id", "id", "name", "campaign_type", "deleted_at"],
            Table::AgentBusinessUnitChanges => {
                &["tenant_id", "agent_id", "business_unit_id", "assigned", "timestamp_utc"]
            }
            Table::Conversations => &[
                "tenant_id",
                "id",
                "media",
                "channel_id",
                "channel_type",
                "business_unit_id",
                "channel_phone_number",
                "is_outbound",
                "is_consult",
                "started_at_utc",
                "ended_at_utc",
                "duration_seconds",
                "conversation_ended_reason",
                "opening_check_result",
                "channel_open_seconds",
                "channel_closed_seconds",
                "customer_id",
                "customer_first_name",
                "customer_last_name",
                "customer_phone_number",
                "customer_email_address",
                "customer_joined_at_utc",
                "customer_ring_seconds",
                "hold_count",
                "hold_seconds",
                "next_conversation_id",
                "transfer_initiated_by",
                "transfer_external_number",
                "average_agent_answer_seconds",
                "average_bot_answer_seconds",
                "average_customer_answer_seconds",
                "first_customer_answer_seconds",
                "first_reply_seconds",
                "subject",
                "thread_id",
            ],
            Table::QueueSegments => &[
                "tenant_id",
                "conversation_id",
                "queue_id",
                "channel_id",
                "queued_at_utc",
                "dequeued_at_utc",
                "duration_seconds",
                "dequeued_reason",
            ],
            Table::BotSegments => &[
                "tenant_id",
                "id",
                "conversation_id",
                "bot_step_id",
                "channel_id",
                "started_at_utc",
                "ended_at_utc",
                "duration_seconds",
                "result",
                "bot_finished_info",
                "bot_finished_result",
                "bot_info",
            ],
            Table::RejectedEnqueueAttempts => {
                &["tenant_id", "id", "conversation_id", "queue_id", "channel_id", "rejected_at_utc", "reject_reason"]
            }
            Table::CapturedData => &["tenant_id", "conversation_id", "name", "timestamp_utc", "value"],
            Table::Workitems => &[
                "tenant_id",
                "id",
                "agent_id",
                "agent_phone_number",
                "queue_id",
                "primary_channel_id",
                "primary_conversation_id",
                "business_unit_id",
                "customer_id",
                "media_type",
                "start_time_utc",
                "end_time_utc",
                "duration_seconds",
                "preview_seconds",
                "lookup_seconds",
                "active_seconds",
                "wrap_up_seconds",
                "result",
                "completion_code",
                "notes",
                "script_id",
            ],
            Table::WorkitemConversationSessions => &[
                "tenant_id",
                "id",
                "workitem_id",
                "conversation_id",
                "ended_reason",
                "hold_count",
                "last_hold_seconds",
                "total_hold_seconds",
            ],
            Table::WorkitemEvaluations => {
                &["tenant_id", "id", "workitem_id", "created_by", "script_id", "started_at_utc", "ended_at_utc"]
            }
            Table::WorkitemEvaluationData => &[
                "tenant_id",
                "id",
                "evaluation_id",
                "workitem_id",
                "created_by",
                "script_id",
                "created_at_utc",
                "name",
                "value",
            ],
            Table::CollectedData => &["tenant_id", "workitem_id", "name", "created_at_utc", "value"],
            Table::AgentStates => &[
                "tenant_id",
                "id",
                "agent_id",
                "state",
                "break_name",
                "is_login",
                "is_logout",
                "logout_reason",
                "start_time_utc",
                "duration_seconds",
            ],
            Table::CampaignRecords => &[
                "tenant_id",
                "id",
                "campaign_id",
                "status",
                "created_at_utc",
                "closed_at_utc",
                "customer_first_name",
                "customer_last_name",
                "customer_phone",
                "new_status_seconds",
                "queued_status_seconds",
                "rescheduled_status_seconds",
                "total_customer_ring_seconds",
                "total_talk_seconds",
            ],
            Table::CampaignRecordRegistrations => &[
                "tenant_id",
                "campaign_record_id",
                "campaign_id",
                "customer_first_name",
                "customer_last_name",
                "customer_phone",
            ],
            Table::CampaignRecordCustomFields => {
                &["tenant_id", "campaign_record_id", "custom_field_name", "custom_field_values"]
            }
            Table::CampaignRecordAdditionalPhoneNumbers => &["tenant_id", "campaign_record_id", "phone_number"],
        }
    }

    /// `COPY table (columns) FROM STDIN`, text format.
    pub fn copy_statement(self) -> String {
        format!("COPY {} ({}) FROM STDIN", self.name(), self.columns().join(", "))
    }

    /// Position of a column among [`Table::columns`]; panics on an unknown name (a programming
    /// error, used by tests and checks).
    pub fn column_index(self, column: &str) -> usize {
        self.columns()
            .iter()
            .position(|c| *c == column)
            .unwrap_or_else(|| panic!("{} has no column {column}", self.name()))
    }
}

/// Rows of one table in COPY text format, built field by field.
#[derive(Debug, Default, Clone)]
pub struct CopyText {
    buf: Vec<u8>,
    rows: u64,
    in_row: bool,
}

impl CopyText {
    pub fn new() -> Self {
        Self::default()
    }

    /// Rows completed so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    #[inline]
    fn sep(&mut self) {
        if self.in_row {
            self.buf.push(b'\t');
        } else {
            self.in_row = true;
        }
    }

    /// A text value, escaped.
    #[inline]
    pub fn text(&mut self, value: &str) -> &mut Self {
        self.sep();
        escape_into(&mut self.buf, value);
        self
    }

    pub fn opt_text(&mut self, value: Option<&str>) -> &mut Self {
        match value {
            Some(v) => self.text(v),
            None => self.null(),
        }
    }

    pub fn null(&mut self) -> &mut Self {
        self.sep();
        self.buf.extend_from_slice(b"\\N");
        self
    }

    #[inline]
    pub fn int(&mut self, value: i64) -> &mut Self {
        self.sep();
        write_int(&mut self.buf, value);
        self
    }

    pub fn opt_int(&mut self, value: Option<i64>) -> &mut Self {
        match value {
            Some(v) => self.int(v),
            None => self.null(),
        }
    }

    pub fn bool(&mut self, value: bool) -> &mut Self {
        self.sep();
        self.buf.push(if value { b't' } else { b'f' });
        self
    }

    pub fn opt_bool(&mut self, value: Option<bool>) -> &mut Self {
        match value {
            Some(v) => self.bool(v),
            None => self.null(),
        }
    }

    /// A UTC instant in milliseconds since the epoch, as `YYYY-MM-DD HH:MM:SS.mmm+00`.
    #[inline]
    pub fn ts(&mut self, ms: Ms) -> &mut Self {
        self.sep();
        write_timestamp(&mut self.buf, ms);
        self
    }

    pub fn opt_ts(&mut self, ms: Option<Ms>) -> &mut Self {
        match ms {
            Some(v) => self.ts(v),
            None => self.null(),
        }
    }

    /// A `numeric(10,2)` value given in hundredths.
    pub fn cents(&mut self, hundredths: i64) -> &mut Self {
        self.sep();
        if hundredths < 0 {
            self.buf.push(b'-');
        }
        let abs = hundredths.unsigned_abs();
        write_int(&mut self.buf, (abs / 100) as i64);
        self.buf.push(b'.');
        let frac = (abs % 100) as u8;
        self.buf.push(b'0' + frac / 10);
        self.buf.push(b'0' + frac % 10);
        self
    }

    pub fn opt_cents(&mut self, hundredths: Option<i64>) -> &mut Self {
        match hundredths {
            Some(v) => self.cents(v),
            None => self.null(),
        }
    }

    /// Ends the current row.
    #[inline]
    pub fn end(&mut self) {
        self.buf.push(b'\n');
        self.rows += 1;
        self.in_row = false;
    }
}

/// Appends `value` escaped for the COPY text format.
pub fn escape_into(buf: &mut Vec<u8>, value: &str) {
    let bytes = value.as_bytes();
    if !bytes.iter().any(|b| matches!(b, b'\\' | b'\t' | b'\n' | b'\r')) {
        buf.extend_from_slice(bytes);
        return;
    }
    for &b in bytes {
        match b {
            b'\\' => buf.extend_from_slice(b"\\\\"),
            b'\t' => buf.extend_from_slice(b"\\t"),
            b'\n' => buf.extend_from_slice(b"\\n"),
            b'\r' => buf.extend_from_slice(b"\\r"),
            _ => buf.push(b),
        }
    }
}

/// Reverses [`escape_into`] for one field; `None` for `\N`. For tests and checks.
pub fn unescape(field: &str) -> Option<String> {
    if field == "\\N" {
        return None;
    }
    let mut out = String::with_capacity(field.len());
    let mut chars = field.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('\\') => out.push('\\'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    Some(out)
}

/// Splits COPY text into rows of unescaped fields. For tests and checks.
pub fn parse_rows(text: &[u8]) -> Vec<Vec<Option<String>>> {
    let text = std::str::from_utf8(text).expect("COPY text is UTF-8");
    text.lines().map(|line| line.split('\t').map(unescape).collect()).collect()
}

#[inline]
pub fn write_int(buf: &mut Vec<u8>, value: i64) {
    if value < 0 {
        buf.push(b'-');
    }
    let mut n = value.unsigned_abs();
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    buf.extend_from_slice(&tmp[i..]);
}
