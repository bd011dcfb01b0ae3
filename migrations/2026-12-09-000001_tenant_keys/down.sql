-- Back to keys without tenant_id. Feed positions given per tenant since the up migration
-- can repeat across tenants, so the old global uniqueness of events.id is not restored.
DROP INDEX sync_plan_items_action;
CREATE INDEX sync_plan_items_action ON sync_plan_items (run_id, action, ord);
ALTER TABLE sync_plan_items DROP CONSTRAINT sync_plan_items_run_id_fkey;
ALTER TABLE sync_plan_items DROP CONSTRAINT sync_plan_items_pkey;
ALTER TABLE sync_plan_items ADD CONSTRAINT sync_plan_items_pkey PRIMARY KEY (run_id, ord);
ALTER TABLE sync_plan_items DROP COLUMN tenant_id;
ALTER TABLE sync_staged_members DROP CONSTRAINT sync_staged_members_run_id_fkey;
ALTER TABLE sync_staged_members DROP CONSTRAINT sync_staged_members_pkey;
ALTER TABLE sync_staged_members ADD CONSTRAINT sync_staged_members_pkey
    PRIMARY KEY (run_id, group_ref, member_ref);
ALTER TABLE sync_staged_members DROP COLUMN tenant_id;
ALTER TABLE sync_staged_groups DROP CONSTRAINT sync_staged_groups_run_id_fkey;
ALTER TABLE sync_staged_groups DROP CONSTRAINT sync_staged_groups_pkey;
ALTER TABLE sync_staged_groups ADD CONSTRAINT sync_staged_groups_pkey PRIMARY KEY (run_id, source_ref);
ALTER TABLE sync_staged_groups DROP COLUMN tenant_id;
ALTER TABLE sync_staged_users DROP CONSTRAINT sync_staged_users_run_id_fkey;
ALTER TABLE sync_staged_users DROP CONSTRAINT sync_staged_users_pkey;
ALTER TABLE sync_staged_users ADD CONSTRAINT sync_staged_users_pkey PRIMARY KEY (run_id, source_ref);
ALTER TABLE sync_staged_users DROP COLUMN tenant_id;
ALTER TABLE sync_runs DROP CONSTRAINT sync_runs_pkey;
ALTER TABLE sync_runs ADD CONSTRAINT sync_runs_pkey PRIMARY KEY (id);
ALTER TABLE sync_staged_users ADD CONSTRAINT sync_staged_users_run_id_fkey
    FOREIGN KEY (run_id) REFERENCES sync_runs (id) ON DELETE CASCADE;
ALTER TABLE sync_staged_groups ADD CONSTRAINT sync_staged_groups_run_id_fkey
    FOREIGN KEY (run_id) REFERENCES sync_runs (id) ON DELETE CASCADE;
ALTER TABLE sync_staged_members ADD CONSTRAINT sync_staged_members_run_id_fkey
    FOREIGN KEY (run_id) REFERENCES sync_runs (id) ON DELETE CASCADE;
ALTER TABLE sync_plan_items ADD CONSTRAINT sync_plan_items_run_id_fkey
    FOREIGN KEY (run_id) REFERENCES sync_runs (id) ON DELETE CASCADE;

CREATE INDEX events_feed ON events (tenant_id, id) WHERE id IS NOT NULL;
DROP INDEX events_unsequenced;
CREATE INDEX events_unsequenced ON events (seq) WHERE id IS NULL;
ALTER TABLE events DROP CONSTRAINT events_id_key;
ALTER TABLE events DROP CONSTRAINT events_pkey;
ALTER TABLE events ADD CONSTRAINT events_pkey PRIMARY KEY (seq);

DROP INDEX group_members_member;
CREATE INDEX group_members_member ON group_members (member_id);
ALTER TABLE group_members DROP CONSTRAINT group_members_group_id_fkey;
ALTER TABLE group_members DROP CONSTRAINT group_members_pkey;
ALTER TABLE groups DROP CONSTRAINT groups_pkey;
ALTER TABLE groups ADD CONSTRAINT groups_pkey PRIMARY KEY (id);
ALTER TABLE users DROP CONSTRAINT users_pkey;
ALTER TABLE users ADD CONSTRAINT users_pkey PRIMARY KEY (id);
ALTER TABLE group_members ADD CONSTRAINT group_members_pkey PRIMARY KEY (group_id, member_id);
ALTER TABLE group_members ADD CONSTRAINT group_members_group_id_fkey
    FOREIGN KEY (group_id) REFERENCES groups (id) ON DELETE CASCADE;
