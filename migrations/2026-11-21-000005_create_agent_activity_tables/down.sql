DROP TABLE agent_business_unit_changes;
DROP TABLE agent_states;
