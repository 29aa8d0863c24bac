DROP TABLE captured_data;
DROP TABLE rejected_enqueue_attempts;
DROP TABLE bot_segments;
DROP TABLE queue_segments;
DROP TABLE conversations;
