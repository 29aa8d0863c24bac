-- Row-level security: the second wall behind the SQL builder's tenant predicate.
--
-- Requests read as the role odata_feed_reader: no superuser, no BYPASSRLS, owner of nothing,
-- allowed to SELECT the feed's tables and nothing else (not feed_secrets). Each request runs
-- in a transaction that sets app.tenant_id (set_config(..., true), the parameterised form of
-- SET LOCAL); every policy below admits only that tenant's rows, and none at all when the
-- setting is missing. The tables' owner (migrations, the demo loader, maintenance jobs) is
-- not subject to these policies.
--
-- Roles belong to the whole PostgreSQL cluster, so the role is created only when missing and
-- is left in place by down.sql (other databases of the cluster may use it).
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'odata_feed_reader') THEN
        CREATE ROLE odata_feed_reader NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT;
    END IF;
EXCEPTION WHEN duplicate_object THEN
    NULL; -- created by a concurrent migration of another database
END
$$;

-- The role that migrates (and serves) must be able to switch to the reader role.
DO $$
BEGIN
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        EXECUTE format('GRANT odata_feed_reader TO %I', current_user);
    END IF;
END
$$;

GRANT USAGE ON SCHEMA public TO odata_feed_reader;

ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenants
    USING (id = current_setting('app.tenant_id', true))
    WITH CHECK (id = current_setting('app.tenant_id', true));
GRANT SELECT ON tenants TO odata_feed_reader;

ALTER TABLE business_units ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON business_units
    USING (tenant_id = current_setting('app.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('app.tenant_id', true));
GRANT SELECT ON business_units TO odata_feed_reader;

ALTER TABLE channels ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON channels
    USING (tenant_id = current_setting('app.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('app.tenant_id', true));
GRANT SELECT ON channels TO odata_feed_reader;

ALTER TABLE queues ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON queues
    USING (tenant_id = current_setting('app.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('app.tenant_id', true));
GRANT SELECT ON queues TO odata_feed_reader;

ALTER TABLE bot_steps ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON bot_steps
    USING (tenant_id = current_setting('app.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('app.tenant_id', true));
GRANT SELECT ON bot_steps TO odata_feed_reader;

ALTER TABLE users ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON users
    USING (tenant_id = current_setting('app.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('app.tenant_id', true));
GRANT SELECT ON users TO odata_feed_reader;

ALTER TABLE agents ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON agents
    USING (tenant_id = current_setting('app.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('app.tenant_id', true));
GRANT SELECT ON agents TO odata_feed_reader;

ALTER TABLE campaigns ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON campaigns
    USING (tenant_id = current_setting('app.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('app.tenant_id', true));
GRANT SELECT ON campaigns TO odata_feed_reader;

ALTER TABLE conversations ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON conversations
    USING (tenant_id = current_setting('app.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('app.tenant_id', true));
GRANT SELECT ON conversations TO odata_feed_reader;

ALTER TABLE queue_segments ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON queue_segments
    USING (tenant_id = current_setting('app.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('app.tenant_id', true));
GRANT SELECT ON queue_segments TO odata_feed_reader;

ALTER TABLE bot_segments ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON bot_segments
    USING (tenant_id = current_setting('app.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('app.tenant_id', true));
GRANT SELECT ON bot_segments TO odata_feed_reader;

ALTER TABLE rejected_enqueue_attempts ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON rejected_enqueue_attempts
    USING (tenant_id = current_setting('app.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('app.tenant_id', true));
GRANT SELECT ON rejected_enqueue_attempts TO odata_feed_reader;

ALTER TABLE captured_data ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON captured_data
    USING (tenant_id = current_setting('app.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('app.tenant_id', true));
GRANT SELECT ON captured_data TO odata_feed_reader;

ALTER TABLE workitems ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON workitems
    USING (tenant_id = current_setting('app.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('app.tenant_id', true));
GRANT SELECT ON workitems TO odata_feed_reader;

ALTER TABLE workitem_conversation_sessions ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON workitem_conversation_sessions
    USING (tenant_id = current_setting('app.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('app.tenant_id', true));
GRANT SELECT ON workitem_conversation_sessions TO odata_feed_reader;

ALTER TABLE workitem_evaluations ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON workitem_evaluations
    USING (tenant_id = current_setting('app.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('app.tenant_id', true));
GRANT SELECT ON workitem_evaluations TO odata_feed_reader;

ALTER TABLE workitem_evaluation_data ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON workitem_evaluation_data
    USING (tenant_id = current_setting('app.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('app.tenant_id', true));
GRANT SELECT ON workitem_evaluation_data TO odata_feed_reader;

ALTER TABLE collected_data ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON collected_data
    USING (tenant_id = current_setting('app.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('app.tenant_id', true));
GRANT SELECT ON collected_data TO odata_feed_reader;

ALTER TABLE agent_states ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON agent_states
    USING (tenant_id = current_setting('app.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('app.tenant_id', true));
GRANT SELECT ON agent_states TO odata_feed_reader;

ALTER TABLE agent_business_unit_changes ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON agent_business_unit_changes
    USING (tenant_id = current_setting('app.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('app.tenant_id', true));
GRANT SELECT ON agent_business_unit_changes TO odata_feed_reader;

ALTER TABLE campaign_records ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON campaign_records
    USING (tenant_id = current_setting('app.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('app.tenant_id', true));
GRANT SELECT ON campaign_records TO odata_feed_reader;

ALTER TABLE campaign_record_registrations ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON campaign_record_registrations
    USING (tenant_id = current_setting('app.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('app.tenant_id', true));
GRANT SELECT ON campaign_record_registrations TO odata_feed_reader;

ALTER TABLE campaign_record_custom_fields ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON campaign_record_custom_fields
    USING (tenant_id = current_setting('app.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('app.tenant_id', true));
GRANT SELECT ON campaign_record_custom_fields TO odata_feed_reader;

ALTER TABLE campaign_record_additional_phone_numbers ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON campaign_record_additional_phone_numbers
    USING (tenant_id = current_setting('app.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('app.tenant_id', true));
GRANT SELECT ON campaign_record_additional_phone_numbers TO odata_feed_reader;
