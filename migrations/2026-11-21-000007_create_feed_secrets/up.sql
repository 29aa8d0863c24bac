-- Secrets every server instance on this database shares, created on first start.
-- `skiptoken` signs the $skiptoken of server-driven paging, so a token minted by one
-- instance is accepted by the others and survives restarts.
CREATE TABLE feed_secrets (
    name text PRIMARY KEY,
    value bytea NOT NULL CHECK (length(value) >= 32),
    created_at timestamptz NOT NULL DEFAULT now()
);
