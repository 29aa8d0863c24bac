-- Undoes the grants; the cluster-wide role odata_feed_writer stays.
REVOKE ALL ON lookup_sources FROM odata_feed_writer;
REVOKE ALL ON
    conversations, queue_segments, bot_segments, rejected_enqueue_attempts, captured_data,
    workitems, workitem_conversation_sessions, workitem_evaluations, workitem_evaluation_data,
    collected_data, agent_states, agent_business_unit_changes, campaign_records,
    campaign_record_registrations, campaign_record_custom_fields,
    campaign_record_additional_phone_numbers
    FROM odata_feed_writer;
REVOKE ALL ON tenants, business_units, channels, queues, bot_steps, users, agents, campaigns
    FROM odata_feed_writer;
REVOKE USAGE ON SCHEMA public FROM odata_feed_writer;
