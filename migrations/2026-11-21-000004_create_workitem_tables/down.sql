DROP TABLE collected_data;
DROP TABLE workitem_evaluation_data;
DROP TABLE workitem_evaluations;
DROP TABLE workitem_conversation_sessions;
DROP TABLE workitems;
