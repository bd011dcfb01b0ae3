DROP TABLE sync_objects, sync_plan_items, sync_staged_members, sync_staged_groups, sync_staged_users, sync_runs, connections;
ALTER TABLE tenants DROP COLUMN sync_interval_secs, DROP COLUMN brake_max_percent, DROP COLUMN brake_min_count;

-- Pull sources (Microsoft Graph, Google Directory): one per tenant, leased through the
-- database (FOR UPDATE SKIP LOCKED) so that N nodes never poll one tenant twice at once.
CREATE TABLE sync_jobs (
    tenant_id     uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    kind          text NOT NULL CHECK (kind IN ('graph', 'google')),
    config        jsonb NOT NULL DEFAULT '{}',
    -- Connector state between runs (a Graph delta link, a Google page token).
    state         jsonb NOT NULL DEFAULT '{}',
    interval_secs integer NOT NULL DEFAULT 3600 CHECK (interval_secs > 0),
    next_run_at   timestamptz NOT NULL DEFAULT now(),
    lease_owner   text,
    lease_until   timestamptz,
    last_run_at   timestamptz,
    last_outcome  jsonb,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sync_jobs_due ON sync_jobs (next_run_at);
