CREATE TABLE conversations (
    tenant_id varchar(64) NOT NULL REFERENCES tenants (id),
    id varchar(64) NOT NULL,
    business_unit_id varchar(64),
    channel_id varchar(64) NOT NULL,
    channel_phone_number varchar(32),
    channel_type varchar(16) NOT NULL,
    conversation_ended_reason varchar(32),
    customer_first_name varchar(128),
    customer_id varchar(64),
    customer_joined_at_utc timestamptz,
    customer_last_name varchar(128),
    customer_phone_number varchar(32),
    customer_ring_seconds integer,
    duration_seconds integer,
    ended_at_utc timestamptz,
    hold_count integer,
    hold_seconds integer,
    channel_closed_seconds integer NOT NULL,
    channel_open_seconds integer NOT NULL,
    is_consult boolean,
    is_outbound boolean NOT NULL,
    next_conversation_id varchar(64),
    opening_check_result varchar(16),
    started_at_utc timestamptz NOT NULL,
    transfer_initiated_by varchar(16),
    transfer_external_number varchar(32),
    media varchar(16) NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    average_agent_answer_seconds numeric(10,2),
    average_bot_answer_seconds numeric(10,2),
    average_customer_answer_seconds numeric(10,2),
    first_customer_answer_seconds integer,
    customer_email_address varchar(254),
    first_reply_seconds integer,
    subject text,
    thread_id varchar(64),
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE queue_segments (
    tenant_id varchar(64) NOT NULL REFERENCES tenants (id),
    channel_id varchar(64),
    conversation_id varchar(64) NOT NULL,
    dequeued_at_utc timestamptz,
    dequeued_reason varchar(32),
    duration_seconds integer,
    queue_id varchar(64) NOT NULL,
    queued_at_utc timestamptz NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, conversation_id, queue_id, queued_at_utc)
);

CREATE TABLE bot_segments (
    tenant_id varchar(64) NOT NULL REFERENCES tenants (id),
    bot_finished_info text,
    bot_finished_result text,
    bot_info text,
    bot_step_id varchar(64) NOT NULL,
    channel_id varchar(64),
    conversation_id varchar(64) NOT NULL,
    duration_seconds integer,
    ended_at_utc timestamptz,
    id varchar(64) NOT NULL,
    result varchar(32),
    started_at_utc timestamptz NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE rejected_enqueue_attempts (
    tenant_id varchar(64) NOT NULL REFERENCES tenants (id),
    channel_id varchar(64),
    conversation_id varchar(64) NOT NULL,
    id varchar(64) NOT NULL,
    queue_id varchar(64) NOT NULL,
    rejected_at_utc timestamptz NOT NULL,
    reject_reason varchar(32),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE captured_data (
    tenant_id varchar(64) NOT NULL REFERENCES tenants (id),
    conversation_id varchar(64) NOT NULL,
    name varchar(256) NOT NULL,
    timestamp_utc timestamptz NOT NULL,
    value text,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, conversation_id, name, timestamp_utc)
);

ALTER TABLE conversations
    ADD CONSTRAINT conversations_media_check CHECK (media IN ('Voice', 'Chat', 'Email'));

-- Time anchors (filters, incremental refresh, retention) and the Calls/Chats/Emails views.
CREATE INDEX conversations_started_idx ON conversations (tenant_id, started_at_utc);
CREATE INDEX conversations_media_started_idx ON conversations (tenant_id, media, started_at_utc);
CREATE INDEX conversations_ended_idx ON conversations (tenant_id, ended_at_utc);
CREATE INDEX queue_segments_queued_idx ON queue_segments (tenant_id, queued_at_utc);
CREATE INDEX queue_segments_queue_idx ON queue_segments (tenant_id, queue_id, queued_at_utc);
CREATE INDEX bot_segments_started_idx ON bot_segments (tenant_id, started_at_utc);
CREATE INDEX bot_segments_conversation_idx ON bot_segments (tenant_id, conversation_id);
CREATE INDEX rejected_enqueue_attempts_rejected_idx ON rejected_enqueue_attempts (tenant_id, rejected_at_utc);
CREATE INDEX rejected_enqueue_attempts_conversation_idx ON rejected_enqueue_attempts (tenant_id, conversation_id);
CREATE INDEX captured_data_timestamp_idx ON captured_data (tenant_id, timestamp_utc);
