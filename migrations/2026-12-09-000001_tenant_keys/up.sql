-- Ready to be distributed by tenant (a PostgreSQL-compatible engine sharded on tenant_id,
-- such as Citus). Every tenant-owned table's primary key and unique indexes begin with
-- tenant_id, and every foreign key between tenant-owned tables carries it, so that each
-- tenant's rows, and every constraint between them, can live on one shard.
--
-- The global tables (tenants, scim_tokens, admin_keys, connect_links, console_sessions,
-- job_leases) stay as they are: they are small, looked up before the tenant is known (a
-- presented token or link), and would be reference tables, copied to every node.
--
-- Existing rows are kept: the new tenant_id columns are filled from each row's run.

-- People and groups.
ALTER TABLE group_members DROP CONSTRAINT group_members_group_id_fkey;
ALTER TABLE group_members DROP CONSTRAINT group_members_pkey;
ALTER TABLE users DROP CONSTRAINT users_pkey;
ALTER TABLE users ADD CONSTRAINT users_pkey PRIMARY KEY (tenant_id, id);
ALTER TABLE groups DROP CONSTRAINT groups_pkey;
ALTER TABLE groups ADD CONSTRAINT groups_pkey PRIMARY KEY (tenant_id, id);
ALTER TABLE group_members ADD CONSTRAINT group_members_pkey
    PRIMARY KEY (tenant_id, group_id, member_id);
ALTER TABLE group_members ADD CONSTRAINT group_members_group_id_fkey
    FOREIGN KEY (tenant_id, group_id) REFERENCES groups (tenant_id, id) ON DELETE CASCADE;
DROP INDEX group_members_member;
CREATE INDEX group_members_member ON group_members (tenant_id, member_id);

-- The event feed. Positions are given per tenant from now on (see store::events).
ALTER TABLE events DROP CONSTRAINT events_pkey;
ALTER TABLE events ADD CONSTRAINT events_pkey PRIMARY KEY (tenant_id, seq);
ALTER TABLE events DROP CONSTRAINT IF EXISTS events_id_key;
ALTER TABLE events ADD CONSTRAINT events_id_key UNIQUE (tenant_id, id);
DROP INDEX events_unsequenced;
CREATE INDEX events_unsequenced ON events (tenant_id, seq) WHERE id IS NULL;
-- The feed index is the unique one now.
DROP INDEX events_feed;

-- Sync runs, their staging and their plans.
ALTER TABLE sync_staged_users DROP CONSTRAINT sync_staged_users_run_id_fkey;
ALTER TABLE sync_staged_groups DROP CONSTRAINT sync_staged_groups_run_id_fkey;
ALTER TABLE sync_staged_members DROP CONSTRAINT sync_staged_members_run_id_fkey;
ALTER TABLE sync_plan_items DROP CONSTRAINT sync_plan_items_run_id_fkey;
ALTER TABLE sync_runs DROP CONSTRAINT sync_runs_pkey;
ALTER TABLE sync_runs ADD CONSTRAINT sync_runs_pkey PRIMARY KEY (tenant_id, id);

ALTER TABLE sync_staged_users ADD COLUMN tenant_id uuid;
UPDATE sync_staged_users s SET tenant_id = r.tenant_id FROM sync_runs r WHERE r.id = s.run_id;
DELETE FROM sync_staged_users WHERE tenant_id IS NULL;
ALTER TABLE sync_staged_users ALTER COLUMN tenant_id SET NOT NULL;
ALTER TABLE sync_staged_users DROP CONSTRAINT sync_staged_users_pkey;
ALTER TABLE sync_staged_users ADD CONSTRAINT sync_staged_users_pkey
    PRIMARY KEY (tenant_id, run_id, source_ref);
ALTER TABLE sync_staged_users ADD CONSTRAINT sync_staged_users_run_id_fkey
    FOREIGN KEY (tenant_id, run_id) REFERENCES sync_runs (tenant_id, id) ON DELETE CASCADE;

ALTER TABLE sync_staged_groups ADD COLUMN tenant_id uuid;
UPDATE sync_staged_groups s SET tenant_id = r.tenant_id FROM sync_runs r WHERE r.id = s.run_id;
DELETE FROM sync_staged_groups WHERE tenant_id IS NULL;
ALTER TABLE sync_staged_groups ALTER COLUMN tenant_id SET NOT NULL;
ALTER TABLE sync_staged_groups DROP CONSTRAINT sync_staged_groups_pkey;
ALTER TABLE sync_staged_groups ADD CONSTRAINT sync_staged_groups_pkey
    PRIMARY KEY (tenant_id, run_id, source_ref);
ALTER TABLE sync_staged_groups ADD CONSTRAINT sync_staged_groups_run_id_fkey
    FOREIGN KEY (tenant_id, run_id) REFERENCES sync_runs (tenant_id, id) ON DELETE CASCADE;

ALTER TABLE sync_staged_members ADD COLUMN tenant_id uuid;
UPDATE sync_staged_members s SET tenant_id = r.tenant_id FROM sync_runs r WHERE r.id = s.run_id;
DELETE FROM sync_staged_members WHERE tenant_id IS NULL;
ALTER TABLE sync_staged_members ALTER COLUMN tenant_id SET NOT NULL;
ALTER TABLE sync_staged_members DROP CONSTRAINT sync_staged_members_pkey;
ALTER TABLE sync_staged_members ADD CONSTRAINT sync_staged_members_pkey
    PRIMARY KEY (tenant_id, run_id, group_ref, member_ref);
ALTER TABLE sync_staged_members ADD CONSTRAINT sync_staged_members_run_id_fkey
    FOREIGN KEY (tenant_id, run_id) REFERENCES sync_runs (tenant_id, id) ON DELETE CASCADE;

ALTER TABLE sync_plan_items ADD COLUMN tenant_id uuid;
UPDATE sync_plan_items s SET tenant_id = r.tenant_id FROM sync_runs r WHERE r.id = s.run_id;
DELETE FROM sync_plan_items WHERE tenant_id IS NULL;
ALTER TABLE sync_plan_items ALTER COLUMN tenant_id SET NOT NULL;
ALTER TABLE sync_plan_items DROP CONSTRAINT sync_plan_items_pkey;
ALTER TABLE sync_plan_items ADD CONSTRAINT sync_plan_items_pkey PRIMARY KEY (tenant_id, run_id, ord);
ALTER TABLE sync_plan_items ADD CONSTRAINT sync_plan_items_run_id_fkey
    FOREIGN KEY (tenant_id, run_id) REFERENCES sync_runs (tenant_id, id) ON DELETE CASCADE;
DROP INDEX sync_plan_items_action;
CREATE INDEX sync_plan_items_action ON sync_plan_items (tenant_id, run_id, action, ord);
