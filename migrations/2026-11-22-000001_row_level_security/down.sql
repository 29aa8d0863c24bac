-- Undoes the policies and grants; the cluster-wide role odata_feed_reader stays.
REVOKE SELECT ON tenants FROM odata_feed_reader;
DROP POLICY tenant_isolation ON tenants;
ALTER TABLE tenants DISABLE ROW LEVEL SECURITY;

REVOKE SELECT ON business_units FROM odata_feed_reader;
DROP POLICY tenant_isolation ON business_units;
ALTER TABLE business_units DISABLE ROW LEVEL SECURITY;

REVOKE SELECT ON channels FROM odata_feed_reader;
DROP POLICY tenant_isolation ON channels;
ALTER TABLE channels DISABLE ROW LEVEL SECURITY;

REVOKE SELECT ON queues FROM odata_feed_reader;
DROP POLICY tenant_isolation ON queues;
ALTER TABLE queues DISABLE ROW LEVEL SECURITY;

REVOKE SELECT ON bot_steps FROM odata_feed_reader;
DROP POLICY tenant_isolation ON bot_steps;
ALTER TABLE bot_steps DISABLE ROW LEVEL SECURITY;

REVOKE SELECT ON users FROM odata_feed_reader;
DROP POLICY tenant_isolation ON users;
ALTER TABLE users DISABLE ROW LEVEL SECURITY;

REVOKE SELECT ON agents FROM odata_feed_reader;
DROP POLICY tenant_isolation ON agents;
ALTER TABLE agents DISABLE ROW LEVEL SECURITY;

REVOKE SELECT ON campaigns FROM odata_feed_reader;
DROP POLICY tenant_isolation ON campaigns;
ALTER TABLE campaigns DISABLE ROW LEVEL SECURITY;

REVOKE SELECT ON conversations FROM odata_feed_reader;
DROP POLICY tenant_isolation ON conversations;
ALTER TABLE conversations DISABLE ROW LEVEL SECURITY;

REVOKE SELECT ON queue_segments FROM odata_feed_reader;
DROP POLICY tenant_isolation ON queue_segments;
ALTER TABLE queue_segments DISABLE ROW LEVEL SECURITY;

REVOKE SELECT ON bot_segments FROM odata_feed_reader;
DROP POLICY tenant_isolation ON bot_segments;
ALTER TABLE bot_segments DISABLE ROW LEVEL SECURITY;

REVOKE SELECT ON rejected_enqueue_attempts FROM odata_feed_reader;
DROP POLICY tenant_isolation ON rejected_enqueue_attempts;
ALTER TABLE rejected_enqueue_attempts DISABLE ROW LEVEL SECURITY;

REVOKE SELECT ON captured_data FROM odata_feed_reader;
DROP POLICY tenant_isolation ON captured_data;
ALTER TABLE captured_data DISABLE ROW LEVEL SECURITY;

REVOKE SELECT ON workitems FROM odata_feed_reader;
DROP POLICY tenant_isolation ON workitems;
ALTER TABLE workitems DISABLE ROW LEVEL SECURITY;

REVOKE SELECT ON workitem_conversation_sessions FROM odata_feed_reader;
DROP POLICY tenant_isolation ON workitem_conversation_sessions;
ALTER TABLE workitem_conversation_sessions DISABLE ROW LEVEL SECURITY;

REVOKE SELECT ON workitem_evaluations FROM odata_feed_reader;
DROP POLICY tenant_isolation ON workitem_evaluations;
ALTER TABLE workitem_evaluations DISABLE ROW LEVEL SECURITY;

REVOKE SELECT ON workitem_evaluation_data FROM odata_feed_reader;
DROP POLICY tenant_isolation ON workitem_evaluation_data;
ALTER TABLE workitem_evaluation_data DISABLE ROW LEVEL SECURITY;

REVOKE SELECT ON collected_data FROM odata_feed_reader;
DROP POLICY tenant_isolation ON collected_data;
ALTER TABLE collected_data DISABLE ROW LEVEL SECURITY;

REVOKE SELECT ON agent_states FROM odata_feed_reader;
DROP POLICY tenant_isolation ON agent_states;
ALTER TABLE agent_states DISABLE ROW LEVEL SECURITY;

REVOKE SELECT ON agent_business_unit_changes FROM odata_feed_reader;
DROP POLICY tenant_isolation ON agent_business_unit_changes;
ALTER TABLE agent_business_unit_changes DISABLE ROW LEVEL SECURITY;

REVOKE SELECT ON campaign_records FROM odata_feed_reader;
DROP POLICY tenant_isolation ON campaign_records;
ALTER TABLE campaign_records DISABLE ROW LEVEL SECURITY;

REVOKE SELECT ON campaign_record_registrations FROM odata_feed_reader;
DROP POLICY tenant_isolation ON campaign_record_registrations;
ALTER TABLE campaign_record_registrations DISABLE ROW LEVEL SECURITY;

REVOKE SELECT ON campaign_record_custom_fields FROM odata_feed_reader;
DROP POLICY tenant_isolation ON campaign_record_custom_fields;
ALTER TABLE campaign_record_custom_fields DISABLE ROW LEVEL SECURITY;

REVOKE SELECT ON campaign_record_additional_phone_numbers FROM odata_feed_reader;
DROP POLICY tenant_isolation ON campaign_record_additional_phone_numbers;
ALTER TABLE campaign_record_additional_phone_numbers DISABLE ROW LEVEL SECURITY;

REVOKE USAGE ON SCHEMA public FROM odata_feed_reader;
