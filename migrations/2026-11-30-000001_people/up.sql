-- The people list (admin API) pages through every person of a tenant, deprovisioned ones
-- too, in the same (created_at, id) order as SCIM listing.
CREATE INDEX users_people ON users (tenant_id, created_at, id);
