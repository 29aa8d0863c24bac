DROP TABLE feed_secrets;
