CREATE TABLE workitems (
    tenant_id varchar(64) NOT NULL REFERENCES tenants (id),
    active_seconds integer,
    agent_id varchar(64) NOT NULL,
    agent_phone_number varchar(32),
    business_unit_id varchar(64),
    completion_code text,
    customer_id varchar(64),
    duration_seconds integer,
    end_time_utc timestamptz,
    id varchar(64) NOT NULL,
    lookup_seconds integer,
    media_type varchar(16),
    notes text,
    preview_seconds integer,
    primary_channel_id varchar(64),
    primary_conversation_id varchar(64),
    queue_id varchar(64),
    result varchar(32),
    script_id varchar(64),
    start_time_utc timestamptz NOT NULL,
    wrap_up_seconds integer,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE workitem_conversation_sessions (
    tenant_id varchar(64) NOT NULL REFERENCES tenants (id),
    conversation_id varchar(64) NOT NULL,
    ended_reason varchar(32),
    hold_count integer,
    id bigint NOT NULL,
    last_hold_seconds integer,
    total_hold_seconds integer,
    workitem_id varchar(64) NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE workitem_evaluations (
    tenant_id varchar(64) NOT NULL REFERENCES tenants (id),
    created_by varchar(64) NOT NULL,
    ended_at_utc timestamptz,
    id bigint NOT NULL,
    script_id varchar(64),
    started_at_utc timestamptz NOT NULL,
    workitem_id varchar(64) NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE workitem_evaluation_data (
    tenant_id varchar(64) NOT NULL REFERENCES tenants (id),
    created_at_utc timestamptz NOT NULL,
    created_by varchar(64) NOT NULL,
    evaluation_id bigint NOT NULL,
    id bigint NOT NULL,
    name varchar(256),
    script_id varchar(64),
    value text,
    workitem_id varchar(64) NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE collected_data (
    tenant_id varchar(64) NOT NULL REFERENCES tenants (id),
    created_at_utc timestamptz NOT NULL,
    name varchar(256) NOT NULL,
    value text,
    workitem_id varchar(64) NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, workitem_id, name, created_at_utc)
);

-- Conversation sessions have no time of their own: they live and die with their workitem.
ALTER TABLE workitem_conversation_sessions
    ADD CONSTRAINT workitem_conversation_sessions_workitem_fk
    FOREIGN KEY (tenant_id, workitem_id) REFERENCES workitems (tenant_id, id) ON DELETE CASCADE;

CREATE INDEX workitems_start_idx ON workitems (tenant_id, start_time_utc);
CREATE INDEX workitems_primary_conversation_idx ON workitems (tenant_id, primary_conversation_id);
CREATE INDEX workitems_agent_idx ON workitems (tenant_id, agent_id, start_time_utc);
CREATE INDEX workitem_conversation_sessions_workitem_idx ON workitem_conversation_sessions (tenant_id, workitem_id);
CREATE INDEX workitem_conversation_sessions_conversation_idx ON workitem_conversation_sessions (tenant_id, conversation_id);
CREATE INDEX workitem_evaluations_started_idx ON workitem_evaluations (tenant_id, started_at_utc);
CREATE INDEX workitem_evaluations_workitem_idx ON workitem_evaluations (tenant_id, workitem_id);
CREATE INDEX workitem_evaluation_data_created_idx ON workitem_evaluation_data (tenant_id, created_at_utc);
CREATE INDEX workitem_evaluation_data_evaluation_idx ON workitem_evaluation_data (tenant_id, evaluation_id);
CREATE INDEX workitem_evaluation_data_workitem_idx ON workitem_evaluation_data (tenant_id, workitem_id);
CREATE INDEX collected_data_created_idx ON collected_data (tenant_id, created_at_utc);
