-- What ingestion relies on beyond its role.

-- Chats publish no isOutbound; a chat delivered through the Chats set is stored as inbound
-- (the Chats channels are customer-initiated). Calls and Emails send the value themselves.
ALTER TABLE conversations ALTER COLUMN is_outbound SET DEFAULT false;

-- Fails an upsert that meets, under the key of a Calls (Chats, Emails) row, a stored row of
-- another media: the ingestion then names the rows concerned. Called only for conflicting
-- rows, so a batch of new rows costs nothing more.
CREATE FUNCTION ingest_refuse_foreign_row() RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'a key of the batch belongs to a row of another entity set'
        USING ERRCODE = 'OF001';
END
$$;
