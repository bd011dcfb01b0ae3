-- Years of data: old events, old sync runs and long-deprovisioned people are pruned in
-- batches by one node at a time (see provisioning::retention).

-- How far each tenant's feed has been pruned: every event of the tenant with an id at or
-- below `pruned_through` may be gone. A feed read from before it answers 410.
CREATE TABLE event_horizons (
    tenant_id      uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    pruned_through bigint NOT NULL
);

-- Periodic jobs every node may run but only one at a time: the node whose lease is live
-- holds the job; a lease that runs out is a dead node's, and the next node takes it.
CREATE TABLE job_leases (
    job          text PRIMARY KEY,
    owner        text,
    lease_until  timestamptz,
    last_done_at timestamptz
);

-- Erase deprovisioned people after this long; NULL keeps them.
ALTER TABLE tenants ADD COLUMN erase_deprovisioned_after_secs bigint
    CHECK (erase_deprovisioned_after_secs > 0);

CREATE INDEX users_deprovisioned ON users (tenant_id, deprovisioned_at)
    WHERE deprovisioned_at IS NOT NULL;
CREATE INDEX sync_runs_age ON sync_runs (created_at);
