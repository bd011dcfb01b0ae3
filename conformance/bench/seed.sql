-- bench-scim.sh's seed, straight into scimd's tables (migrations/*/up.sql), shaped as
-- scimd's own write path stores it (the columns derived from `resource` as
-- scim::resource::user_columns derives them).
--
-- psql variables: tenant (slug), users (members of the big group, e.g. 100000),
-- spare (users outside it, the PATCH pool, e.g. 1000), small (size of the small group).
--
--   user000001@bench.example … user<users>@bench.example   all members of "Bench Everyone"
--   spare000001@bench.example … spare<spare>@bench.example  members of nothing
--   "Bench Small": user000001 … user<small>
--
-- Users are created 1 ms apart in that order (ids are UUIDv7 of created_at, as scimd
-- makes them), so listing position n is user n.
\set ON_ERROR_STOP 1
SELECT id AS tenant_id FROM tenants WHERE slug = :'tenant' \gset

BEGIN;
CREATE TEMP TABLE seed ON COMMIT DROP AS
SELECT i,
       CASE WHEN i <= :users THEN 'user' || to_char(i, 'FM000000')
            ELSE 'spare' || to_char(i - :users, 'FM000000') END || '@bench.example' AS user_name,
       CASE WHEN i <= :users THEN to_char(i, 'FM000000')
            ELSE 'S' || to_char(i - :users, 'FM000000') END AS num,
       md5('bench-ext-' || i)::uuid::text AS external_id,
       (ARRAY['Sales', 'Engineering', 'Finance', 'Support', 'Marketing', 'Legal'])[i % 6 + 1] AS department,
       date_trunc('second', now()) - interval '1 day' + i * interval '1 millisecond' AS at,
       md5('bench-id-' || i) AS h
FROM generate_series(1, :users + :spare) AS i;

INSERT INTO users (id, tenant_id, user_name, external_id, display_name, active, resource,
                   email, department, emails, created_at, updated_at)
SELECT (lpad(to_hex((extract(epoch FROM at) * 1000)::bigint), 12, '0')
          || '7' || substr(h, 1, 3) || '8' || substr(h, 4, 15))::uuid,
       :'tenant_id', user_name, external_id, 'Bench User ' || num, true,
       jsonb_build_object(
         'userName', user_name,
         'externalId', external_id,
         'active', true,
         'displayName', 'Bench User ' || num,
         'title', 'Analyst',
         'emails', jsonb_build_array(jsonb_build_object('value', user_name, 'type', 'work', 'primary', true)),
         'name', jsonb_build_object('formatted', 'Bench User ' || num, 'givenName', 'Bench', 'familyName', 'User ' || num),
         'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User',
           jsonb_build_object('department', department, 'employeeNumber', num)),
       lower(user_name), department, jsonb_build_array(lower(user_name)), at, at
FROM seed ORDER BY i;

INSERT INTO groups (id, tenant_id, display_name, external_id, resource)
VALUES (gen_random_uuid(), :'tenant_id', 'Bench Everyone', 'bench-everyone',
        '{"displayName": "Bench Everyone", "externalId": "bench-everyone"}'),
       (gen_random_uuid(), :'tenant_id', 'Bench Small', 'bench-small',
        '{"displayName": "Bench Small", "externalId": "bench-small"}');

INSERT INTO group_members (group_id, member_id, member_type, tenant_id)
SELECT g.id, u.id, 'User', :'tenant_id'
FROM groups g JOIN users u ON u.tenant_id = g.tenant_id AND u.user_name LIKE 'user%'
WHERE g.tenant_id = :'tenant_id' AND g.display_name = 'Bench Everyone';

INSERT INTO group_members (group_id, member_id, member_type, tenant_id)
SELECT g.id, u.id, 'User', :'tenant_id'
FROM groups g JOIN users u ON u.tenant_id = g.tenant_id
 AND u.user_name <= 'user' || to_char(:small, 'FM000000') || '@bench.example' AND u.user_name LIKE 'user%'
WHERE g.tenant_id = :'tenant_id' AND g.display_name = 'Bench Small';

-- The PATCH slots (see patch.lua): a = a member when a run starts, b = not a member.
-- Big group: 1000 members spread over the list against the spare users.
-- Small group: its members against the next `small` users.
CREATE TABLE bench_patch_pairs (group_name text, slot int, a uuid, b uuid, PRIMARY KEY (group_name, slot));
INSERT INTO bench_patch_pairs
SELECT 'big', k, ua.id, ub.id
FROM generate_series(1, :spare) AS k
JOIN users ua ON ua.tenant_id = :'tenant_id' AND ua.user_name = 'user' || to_char(k * (:users / :spare), 'FM000000') || '@bench.example'
JOIN users ub ON ub.tenant_id = :'tenant_id' AND ub.user_name = 'spare' || to_char(k, 'FM000000') || '@bench.example';
INSERT INTO bench_patch_pairs
SELECT 'small', k, ua.id, ub.id
FROM generate_series(1, :small) AS k
JOIN users ua ON ua.tenant_id = :'tenant_id' AND ua.user_name = 'user' || to_char(k, 'FM000000') || '@bench.example'
JOIN users ub ON ub.tenant_id = :'tenant_id' AND ub.user_name = 'user' || to_char(:small + k, 'FM000000') || '@bench.example';

-- Rows written around scimd: the tenant's count of users and groups (visible_counts) set
-- from its rows, as scimd's own writes keep it (when the schema has it: a binary from
-- before it can be measured on the same seed).
SELECT to_regproc('scimd_recount') IS NOT NULL AS counted \gset
\if :counted
SELECT scimd_recount(:'tenant_id');
\endif
COMMIT;

-- VACUUM too, as autovacuum would soon after such a load (and might otherwise do in the
-- middle of a measurement): the visibility map lets counts use index-only scans. ANALYZE
-- unless the caller sets `analyze` to false (bench-idp.sh's BENCH_STATS=none).
\if :{?analyze}
\else
\set analyze true
\endif
VACUUM (ANALYZE :analyze);
