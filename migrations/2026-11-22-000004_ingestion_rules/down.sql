DROP FUNCTION ingest_refuse_foreign_row();
ALTER TABLE conversations ALTER COLUMN is_outbound DROP DEFAULT;
