DROP TABLE campaigns;
DROP TABLE agents;
DROP TABLE users;
DROP TABLE bot_steps;
DROP TABLE queues;
DROP TABLE channels;
DROP TABLE business_units;
