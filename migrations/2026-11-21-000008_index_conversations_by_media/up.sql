-- Calls, Chats and Emails are the rows of one media: reading one of them in key order (a
-- page, the next page by keyset, its $count) walks only that media's entries.
CREATE INDEX conversations_media_key ON conversations (tenant_id, media, id);
