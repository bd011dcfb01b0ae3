-- Pull sync (DESIGN.md, Pull sync): a tenant's one connection to its directory, the runs
-- that read it, what each run staged and planned, and the directory's objects as the last
-- applied run left them. `sync_jobs` was a placeholder that nothing wrote.
DROP TABLE sync_jobs;

-- How often a connected tenant syncs, and the brake on a run that would deprovision many.
ALTER TABLE tenants
    ADD COLUMN sync_interval_secs integer NOT NULL DEFAULT 21600 CHECK (sync_interval_secs >= 900),
    ADD COLUMN brake_max_percent  integer NOT NULL DEFAULT 20
                                  CHECK (brake_max_percent BETWEEN 0 AND 100),
    ADD COLUMN brake_min_count    integer NOT NULL DEFAULT 10 CHECK (brake_min_count >= 0);

-- A tenant's one connection to a directory.
CREATE TABLE connections (
    tenant_id       uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    provider        text NOT NULL CHECK (provider IN ('graph', 'google')),
    -- The settings the admin API shows (directory tenant, cloud, client id, scope, …),
    -- never a secret.
    config          jsonb NOT NULL,
    -- The client secret, sealed with AES-256-GCM (src/secrets.rs); NULL when the server's
    -- platform-wide app registration is used.
    secret          bytea,
    -- The connector's state after the last applied run (a Graph delta link).
    state           jsonb NOT NULL DEFAULT '{}',
    -- Bumped by every applied run: a held plan computed at another generation is stale.
    generation      bigint NOT NULL DEFAULT 0,
    -- Set when the first run is applied; until then the schedule leaves the connection
    -- alone, so that a technician sees the first plan before anything is written.
    activated_at    timestamptz,
    next_run_at     timestamptz,
    last_run_at     timestamptz,
    last_success_at timestamptz,
    last_error      jsonb,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX connections_due ON connections (next_run_at) WHERE activated_at IS NOT NULL;

-- One run of a connection: queued, leased by the node running it, and its outcome.
CREATE TABLE sync_runs (
    id              uuid PRIMARY KEY,
    tenant_id       uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    provider        text NOT NULL CHECK (provider IN ('graph', 'google')),
    trigger         text NOT NULL CHECK (trigger IN ('schedule', 'manual')),
    dry_run         boolean NOT NULL DEFAULT false,
    status          text NOT NULL DEFAULT 'queued'
                    CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'planned', 'held')),
    -- The run read the whole directory, so absence from it means gone.
    "full"          boolean NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL DEFAULT now(),
    started_at      timestamptz,
    finished_at     timestamptz,
    counts          jsonb NOT NULL DEFAULT '{}',
    error           jsonb,
    lease_owner     text,
    lease_until     timestamptz,
    -- The connection's generation the plan was computed against, and the connector state
    -- to store when the plan applies.
    base_generation bigint,
    state_after     jsonb
);
-- At most one queued or running run per tenant.
CREATE UNIQUE INDEX sync_runs_one_active ON sync_runs (tenant_id) WHERE status IN ('queued', 'running');
CREATE INDEX sync_runs_tenant ON sync_runs (tenant_id, created_at DESC, id DESC);
CREATE INDEX sync_runs_leased ON sync_runs (lease_until) WHERE status = 'running';

-- The directory's entries a run read, before it planned. `raw` is the whole object (a
-- delta entry merged over the stored one); the columns beside it are what scimd maps it
-- to. `removed` is set for an entry the directory reported gone.
CREATE TABLE sync_staged_users (
    run_id       uuid NOT NULL REFERENCES sync_runs (id) ON DELETE CASCADE,
    source_ref   text NOT NULL,
    removed      text,
    raw          jsonb NOT NULL DEFAULT '{}',
    hash         text,
    user_name    text,
    email        text,
    display_name text,
    active       boolean NOT NULL DEFAULT true,
    -- Why the entry is not a person scimd keeps (a guest, no userName), if it is not.
    skip         text,
    resource     jsonb,
    PRIMARY KEY (run_id, source_ref)
);

CREATE TABLE sync_staged_groups (
    run_id       uuid NOT NULL REFERENCES sync_runs (id) ON DELETE CASCADE,
    source_ref   text NOT NULL,
    removed      text,
    raw          jsonb NOT NULL DEFAULT '{}',
    hash         text,
    display_name text,
    -- The entry lists every member (a full listing), rather than changes to them.
    members_full boolean NOT NULL DEFAULT false,
    PRIMARY KEY (run_id, source_ref)
);

CREATE TABLE sync_staged_members (
    run_id     uuid NOT NULL REFERENCES sync_runs (id) ON DELETE CASCADE,
    group_ref  text NOT NULL,
    member_ref text NOT NULL,
    removed    boolean NOT NULL DEFAULT false,
    PRIMARY KEY (run_id, group_ref, member_ref)
);

-- A run's plan: one item per person or group it would touch, kept with the run (a held
-- run is applied from it).
CREATE TABLE sync_plan_items (
    run_id       uuid NOT NULL REFERENCES sync_runs (id) ON DELETE CASCADE,
    ord          bigint NOT NULL,
    action       text NOT NULL,
    person_id    uuid,
    source_ref   text,
    user_name    text,
    email        text,
    display_name text,
    reason       text,
    changes      jsonb,
    PRIMARY KEY (run_id, ord)
);
CREATE INDEX sync_plan_items_action ON sync_plan_items (run_id, action, ord);

-- The directory's objects as the last applied run left them, per tenant: a delta entry
-- that carries only what changed is merged over `raw`, and `hash` (of what scimd maps the
-- object to) tells an unchanged person without a write.
CREATE TABLE sync_objects (
    tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    kind       text NOT NULL CHECK (kind IN ('user', 'group')),
    source_ref text NOT NULL,
    raw        jsonb NOT NULL,
    hash       text NOT NULL,
    PRIMARY KEY (tenant_id, kind, source_ref)
);
