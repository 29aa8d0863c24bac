CREATE TABLE campaign_records (
    tenant_id varchar(64) NOT NULL REFERENCES tenants (id),
    campaign_id varchar(64) NOT NULL,
    closed_at_utc timestamptz,
    created_at_utc timestamptz NOT NULL,
    customer_first_name varchar(128),
    customer_last_name varchar(128),
    customer_phone varchar(32),
    id varchar(64) NOT NULL,
    new_status_seconds integer,
    queued_status_seconds integer,
    rescheduled_status_seconds integer,
    status varchar(32),
    total_customer_ring_seconds integer,
    total_talk_seconds integer,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE campaign_record_registrations (
    tenant_id varchar(64) NOT NULL REFERENCES tenants (id),
    campaign_id varchar(64) NOT NULL,
    campaign_record_id varchar(64) NOT NULL,
    customer_first_name varchar(128),
    customer_last_name varchar(128),
    customer_phone varchar(32),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, campaign_record_id)
);

CREATE TABLE campaign_record_custom_fields (
    tenant_id varchar(64) NOT NULL REFERENCES tenants (id),
    campaign_record_id varchar(64) NOT NULL,
    custom_field_name varchar(256) NOT NULL,
    custom_field_values text,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, campaign_record_id, custom_field_name)
);

CREATE TABLE campaign_record_additional_phone_numbers (
    tenant_id varchar(64) NOT NULL REFERENCES tenants (id),
    campaign_record_id varchar(64) NOT NULL,
    phone_number varchar(32) NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, campaign_record_id, phone_number)
);

-- The record's children have no time of their own: they live and die with their record.
ALTER TABLE campaign_record_registrations
    ADD CONSTRAINT campaign_record_registrations_record_fk
    FOREIGN KEY (tenant_id, campaign_record_id) REFERENCES campaign_records (tenant_id, id) ON DELETE CASCADE;
ALTER TABLE campaign_record_custom_fields
    ADD CONSTRAINT campaign_record_custom_fields_record_fk
    FOREIGN KEY (tenant_id, campaign_record_id) REFERENCES campaign_records (tenant_id, id) ON DELETE CASCADE;
ALTER TABLE campaign_record_additional_phone_numbers
    ADD CONSTRAINT campaign_record_additional_phone_numbers_record_fk
    FOREIGN KEY (tenant_id, campaign_record_id) REFERENCES campaign_records (tenant_id, id) ON DELETE CASCADE;

CREATE INDEX campaign_records_created_idx ON campaign_records (tenant_id, created_at_utc);
CREATE INDEX campaign_records_campaign_idx ON campaign_records (tenant_id, campaign_id);
CREATE INDEX campaign_record_registrations_campaign_idx ON campaign_record_registrations (tenant_id, campaign_id);
