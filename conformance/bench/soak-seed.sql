-- soak.sh's seed, straight into scimd's tables, shaped as scimd's own write path stores it
-- (as bench/seed.sql). The tenants soak001 … soakNNN exist already (made by scimd).
--
-- psql variables: big (how many tenants have big_size users), big_size (e.g. 10000),
-- mid (how many of the next tenants have mid_size users), mid_size, small_size (the rest).
--
-- Tenant soakNNN's users: u000001@soakNNN.example … ; its groups "Everyone" (every user)
-- and "Team" (the first tenth).
\set ON_ERROR_STOP 1
BEGIN;
CREATE TEMP TABLE sized ON COMMIT DROP AS
SELECT id AS tenant_id, slug, n,
       CASE WHEN n <= :big THEN :big_size WHEN n <= :big + :mid THEN :mid_size ELSE :small_size END AS size
FROM (SELECT id, slug, substr(slug, 5)::int AS n FROM tenants WHERE slug LIKE 'soak%') t;

CREATE TEMP TABLE seed ON COMMIT DROP AS
SELECT s.tenant_id, s.size, i,
       'u' || to_char(i, 'FM000000') || '@' || s.slug || '.example' AS user_name,
       md5('soak-ext-' || s.slug || i)::uuid::text AS external_id,
       date_trunc('second', now()) - interval '1 day' + (s.n * 20000 + i) * interval '1 millisecond' AS at,
       md5('soak-id-' || s.slug || i) AS h
FROM sized s, generate_series(1, s.size) AS i;

INSERT INTO users (id, tenant_id, user_name, external_id, display_name, active, resource,
                   email, department, emails, created_at, updated_at)
SELECT (lpad(to_hex((extract(epoch FROM at) * 1000)::bigint), 12, '0')
          || '7' || substr(h, 1, 3) || '8' || substr(h, 4, 15))::uuid,
       tenant_id, user_name, external_id, 'Soak User ' || i, true,
       jsonb_build_object(
         'userName', user_name,
         'externalId', external_id,
         'active', true,
         'displayName', 'Soak User ' || i,
         'emails', jsonb_build_array(jsonb_build_object('value', user_name, 'type', 'work', 'primary', true)),
         'name', jsonb_build_object('formatted', 'Soak User ' || i, 'givenName', 'Soak', 'familyName', 'User ' || i),
         'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User',
           jsonb_build_object('department', 'Sales', 'employeeNumber', i::text)),
       lower(user_name), 'Sales', jsonb_build_array(lower(user_name)), at, at
FROM seed ORDER BY tenant_id, i;

INSERT INTO groups (id, tenant_id, display_name, external_id, resource)
SELECT gen_random_uuid(), tenant_id, g, lower(g),
       jsonb_build_object('displayName', g, 'externalId', lower(g))
FROM sized, unnest(ARRAY['Everyone', 'Team']) AS g;

INSERT INTO group_members (group_id, member_id, member_type, tenant_id)
SELECT g.id, u.id, 'User', g.tenant_id
FROM groups g JOIN sized s ON s.tenant_id = g.tenant_id
JOIN users u ON u.tenant_id = g.tenant_id
WHERE g.display_name = 'Everyone'
   OR (g.display_name = 'Team' AND u.user_name <= 'u' || to_char(s.size / 10, 'FM000000') || '@' || s.slug || '.example');

-- What the audit compares with: each group's size and each user's version as seeded.
CREATE TABLE soak_seeded_groups AS
SELECT g.id, g.tenant_id, (SELECT count(*) FROM group_members m WHERE m.tenant_id = g.tenant_id AND m.group_id = g.id) AS members
FROM groups g;
CREATE TABLE soak_seeded_users AS SELECT id, tenant_id, version FROM users;

SELECT to_regproc('scimd_recount') IS NOT NULL AS counted \gset
\if :counted
SELECT scimd_recount(tenant_id) FROM sized;
\endif
COMMIT;

VACUUM (ANALYZE);
