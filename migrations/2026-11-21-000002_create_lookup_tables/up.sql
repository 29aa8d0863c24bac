CREATE TABLE business_units (
    tenant_id varchar(64) NOT NULL REFERENCES tenants (id),
    deleted_at timestamptz,
    id varchar(64) NOT NULL,
    name varchar(256),
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE channels (
    tenant_id varchar(64) NOT NULL REFERENCES tenants (id),
    business_unit_id varchar(64),
    channel_type varchar(16),
    deleted_at timestamptz,
    id varchar(64) NOT NULL,
    name varchar(256),
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE queues (
    tenant_id varchar(64) NOT NULL REFERENCES tenants (id),
    channel_id varchar(64),
    deleted_at timestamptz,
    id varchar(64) NOT NULL,
    name varchar(256),
    routing_mode varchar(32),
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE bot_steps (
    tenant_id varchar(64) NOT NULL REFERENCES tenants (id),
    deleted_at timestamptz,
    id varchar(64) NOT NULL,
    media_group varchar(16),
    name varchar(256),
    bot_type varchar(32),
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE users (
    tenant_id varchar(64) NOT NULL REFERENCES tenants (id),
    custom_id varchar(64),
    deleted_at timestamptz,
    email_address varchar(254),
    id varchar(64) NOT NULL,
    name varchar(256),
    user_type varchar(32),
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE agents (
    tenant_id varchar(64) NOT NULL REFERENCES tenants (id),
    custom_id varchar(64),
    deleted_at timestamptz,
    id varchar(64) NOT NULL,
    name varchar(256),
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE campaigns (
    tenant_id varchar(64) NOT NULL REFERENCES tenants (id),
    campaign_type varchar(32),
    deleted_at timestamptz,
    id varchar(64) NOT NULL,
    name varchar(256),
    PRIMARY KEY (tenant_id, id)
);

-- Lookup tables join to statistics on (tenant_id, id), covered by their primary keys.
CREATE INDEX channels_business_unit_idx ON channels (tenant_id, business_unit_id);
CREATE INDEX queues_channel_idx ON queues (tenant_id, channel_id);
