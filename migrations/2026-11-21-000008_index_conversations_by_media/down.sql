DROP INDEX conversations_media_key;
