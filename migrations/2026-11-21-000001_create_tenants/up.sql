-- Tenants: every row of every other table belongs to exactly one of them.
-- time_zone is an IANA name; the documented local-time fields are derived from it at read time.
-- retention_days decides when a tenant's statistical rows are purged.
CREATE TABLE tenants (
    id varchar(64) PRIMARY KEY,
    name text NOT NULL,
    time_zone text NOT NULL
        CHECK (timezone(time_zone, timestamptz '2000-01-01 00:00:00+00') IS NOT NULL),
    retention_days integer NOT NULL CHECK (retention_days BETWEEN 1 AND 3650),
    created_at timestamptz NOT NULL DEFAULT now()
);
