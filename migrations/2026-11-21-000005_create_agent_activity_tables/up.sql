CREATE TABLE agent_states (
    tenant_id varchar(64) NOT NULL REFERENCES tenants (id),
    agent_id varchar(64) NOT NULL,
    break_name varchar(256),
    duration_seconds integer,
    id bigint NOT NULL,
    is_login boolean NOT NULL,
    is_logout boolean NOT NULL,
    logout_reason varchar(32),
    start_time_utc timestamptz NOT NULL,
    state varchar(32) NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE agent_business_unit_changes (
    tenant_id varchar(64) NOT NULL REFERENCES tenants (id),
    agent_id varchar(64) NOT NULL,
    assigned boolean NOT NULL,
    business_unit_id varchar(64) NOT NULL,
    timestamp_utc timestamptz NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, agent_id, business_unit_id, timestamp_utc)
);

CREATE INDEX agent_states_start_idx ON agent_states (tenant_id, start_time_utc);
CREATE INDEX agent_states_agent_idx ON agent_states (tenant_id, agent_id, start_time_utc);
CREATE INDEX agent_business_unit_changes_timestamp_idx ON agent_business_unit_changes (tenant_id, timestamp_utc);
