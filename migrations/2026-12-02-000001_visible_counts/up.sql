-- Each tenant's number of users and groups SCIM sees, for the totalResults of an
-- unfiltered listing: a page sums a few of these rows instead of counting the tenant's
-- (a count(*) over 100,000 users took 14 ms, on every page of a directory import).
--
-- Every statement that adds or removes a visible user (deprovisioned_at IS NULL) or group
-- changes its tenant's count in the same statement (src/store/counts.rs). The count is
-- spread over slots, summed on read, so that writers of one tenant do not queue on one
-- row; a slot holds a share of the count, which may be negative.
CREATE TABLE visible_counts (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    slot      smallint NOT NULL,
    users     bigint NOT NULL DEFAULT 0,
    groups    bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, slot)
)
-- Each write is an update of one of these rows. Room on every page keeps each new version
-- on its row's page (a HOT update), where pruning reclaims the old ones without VACUUM; a
-- full page moves the row instead, growing the table and its index.
WITH (fillfactor = 50);

-- Sets a tenant's count to what its rows say, for this migration and for rows written
-- around scimd (a seed, a repair): the whole count in slot 0, beside the empty slots 32
-- to 39 that every tenant is created with (writes inside transactions take one of them
-- that no one holds). It holds off every write of users and groups until the caller's
-- transaction ends, so the count it writes stays exact.
CREATE FUNCTION scimd_recount(tenant uuid) RETURNS void
LANGUAGE sql AS $$
    LOCK TABLE users, groups IN SHARE MODE;
    DELETE FROM visible_counts WHERE tenant_id = tenant;
    INSERT INTO visible_counts (tenant_id, slot, users, groups)
    SELECT t.id, 0,
           (SELECT count(*) FROM users u WHERE u.tenant_id = t.id AND u.deprovisioned_at IS NULL),
           (SELECT count(*) FROM groups g WHERE g.tenant_id = t.id)
    FROM tenants t WHERE t.id = tenant;
    INSERT INTO visible_counts (tenant_id, slot)
    SELECT t.id, s FROM tenants t, generate_series(32, 39) AS s WHERE t.id = tenant;
$$;

SELECT scimd_recount(id) FROM tenants;
