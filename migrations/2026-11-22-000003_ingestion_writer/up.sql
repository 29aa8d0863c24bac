-- The role ingestion writes as: odata_feed_writer. Like the reading role it is no superuser,
-- has no BYPASSRLS and owns nothing, so the tenant policies (see row_level_security) hold for
-- every statement it runs: each batch sets app.tenant_id to the caller's tenant, and a row
-- of any other tenant can be neither inserted, updated nor seen. It may insert and update
-- the statistical tables and the lookup source, and read (for its checks) every feed table;
-- it never writes the published lookup tables (the nightly refresh does) nor feed_secrets.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'odata_feed_writer') THEN
        CREATE ROLE odata_feed_writer NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT;
    END IF;
EXCEPTION WHEN duplicate_object THEN
    NULL; -- created by a concurrent migration of another database
END
$$;

DO $$
BEGIN
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        EXECUTE format('GRANT odata_feed_writer TO %I', current_user);
    END IF;
END
$$;

GRANT USAGE ON SCHEMA public TO odata_feed_writer;
GRANT SELECT ON tenants, business_units, channels, queues, bot_steps, users, agents, campaigns
    TO odata_feed_writer;
GRANT SELECT, INSERT, UPDATE ON
    conversations, queue_segments, bot_segments, rejected_enqueue_attempts, captured_data,
    workitems, workitem_conversation_sessions, workitem_evaluations, workitem_evaluation_data,
    collected_data, agent_states, agent_business_unit_changes, campaign_records,
    campaign_record_registrations, campaign_record_custom_fields,
    campaign_record_additional_phone_numbers
    TO odata_feed_writer;
GRANT SELECT, INSERT, UPDATE, DELETE ON lookup_sources TO odata_feed_writer;
