-- The nightly jobs' journal: one row per run of a job (every tenant, or one tenant when run
-- by hand). `scheduled_for` is the midnight (UTC) a scheduled run stands for; a successful
-- run for a midnight means that midnight's work is done, whichever instance did it.
-- A run left `running` by a crashed process is marked `interrupted` by the next run, which
-- holds the job's lock and so knows nobody else is running it.
CREATE TABLE job_runs (
    id bigserial PRIMARY KEY,
    job text NOT NULL CHECK (job IN ('lookup-refresh', 'retention-purge')),
    tenant_id varchar(64) REFERENCES tenants (id),
    scheduled_for timestamptz,
    started_at timestamptz NOT NULL,
    finished_at timestamptz,
    outcome text NOT NULL CHECK (outcome IN ('running', 'succeeded', 'failed', 'interrupted')),
    inserted bigint NOT NULL DEFAULT 0,
    updated bigint NOT NULL DEFAULT 0,
    deleted bigint NOT NULL DEFAULT 0,
    restored bigint NOT NULL DEFAULT 0,
    purged bigint NOT NULL DEFAULT 0,
    error text
);
CREATE INDEX job_runs_recent_idx ON job_runs (job, started_at DESC);
CREATE UNIQUE INDEX job_runs_once_per_midnight_idx ON job_runs (job, scheduled_for)
    WHERE outcome = 'succeeded' AND tenant_id IS NULL;

-- The local source of the lookup tables: the current objects of each tenant as another
-- system (or the ingestion API) delivers them, keyed by the feed's entity set and the
-- object's id. `attributes` holds the set's properties by property name (as the feed and the
-- upstream API name them). The nightly refresh
-- reconciles the published tables with this source for tenants without an upstream API.
CREATE TABLE lookup_sources (
    tenant_id varchar(64) NOT NULL REFERENCES tenants (id),
    entity_set varchar(32) NOT NULL
        CHECK (entity_set IN ('Agents', 'Users', 'Queues', 'Channels', 'BotSteps', 'BusinessUnits', 'Campaigns')),
    id varchar(64) NOT NULL,
    attributes jsonb NOT NULL CHECK (jsonb_typeof(attributes) = 'object'),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, entity_set, id)
);

-- Neither table is read by requests (the reading role has no grant on them); like every table
-- with a tenant column they still carry the tenant policy, for any role that is not the owner.
ALTER TABLE job_runs ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON job_runs
    USING (tenant_id = current_setting('app.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('app.tenant_id', true));
ALTER TABLE lookup_sources ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON lookup_sources
    USING (tenant_id = current_setting('app.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('app.tenant_id', true));
