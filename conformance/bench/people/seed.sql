-- bench-people.sh's seed, straight into scimd's tables (migrations/*/up.sql), shaped as
-- scimd's SCIM write path stores a user (the columns derived from `resource` as
-- scim::resource::user_columns derives them: email = the primary address, lower-cased).
--
-- psql variables: tenant (slug), people (e.g. 100000; a multiple of 200 keeps the shares
-- below exact).
--
-- Person i (1 … people), created 1 ms after person i - 1 (ids are UUIDv7 of created_at, as
-- scimd makes them), so position n in (created_at, id) order is person n:
--   email / userName  <given>.<family>.<i, 6 digits>@bench.example
--   inactive          i % 10 = 0                       (10%: active = false, in resource too)
--   deactivated       i % 100 in (0, 23, 27, 51, 89)   (5%: admin_state = 'deactivated';
--                                                        1% of people are also inactive)
--   "Bench Excluded A" i % 20 = 3                      (5%, excluded group)
--   "Bench Excluded B" i % 40 in (3, 10)               (5%, excluded group; half of it in A
--                                                        too, the other half inactive)
--   "Bench Everyone"   every person                    (not excluded: membership alone must
--                                                        not count as excluded)
-- Nobody is deprovisioned and every person has a deliverable email. The expected counts are
-- not written here: bench-people.sh computes them from these rows (counts.sql).
\set ON_ERROR_STOP 1
SELECT id AS tenant_id FROM tenants WHERE slug = :'tenant' \gset

BEGIN;
CREATE TEMP TABLE seed ON COMMIT DROP AS
SELECT i, given, family,
       lower(given) || '.' || lower(family) || '.' || to_char(i, 'FM000000') || '@bench.example' AS user_name,
       md5('people-ext-' || i)::uuid::text AS external_id,
       (ARRAY['Sales', 'Engineering', 'Finance', 'Support', 'Marketing', 'Legal', 'Operations'])[i % 7 + 1] AS department,
       i % 10 <> 0 AS active,
       CASE WHEN i % 100 IN (0, 23, 27, 51, 89) THEN 'deactivated' ELSE 'active' END AS admin_state,
       date_trunc('second', now()) - interval '1 day' + i * interval '1 millisecond' AS at,
       md5('people-id-' || i) AS h
FROM (
  SELECT i,
         (ARRAY['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Donald', 'Frances', 'John',
                'Margaret', 'Niklaus', 'Radia', 'Tony'])[i % 12 + 1] AS given,
         (ARRAY['Lovelace', 'Hopper', 'Turing', 'Dijkstra', 'Liskov', 'Knuth', 'Allen',
                'Backus', 'Hamilton', 'Wirth', 'Perlman'])[(i / 12) % 11 + 1] AS family
  FROM generate_series(1, :people) AS i
) AS n;

INSERT INTO users (id, tenant_id, user_name, external_id, display_name, active, resource,
                   admin_state, email, department, emails, created_at, updated_at)
SELECT (lpad(to_hex((extract(epoch FROM at) * 1000)::bigint), 12, '0')
          || '7' || substr(h, 1, 3) || '8' || substr(h, 4, 15))::uuid,
       :'tenant_id', user_name, external_id, given || ' ' || family, active,
       jsonb_build_object(
         'userName', user_name,
         'externalId', external_id,
         'active', active,
         'displayName', given || ' ' || family,
         'emails', jsonb_build_array(jsonb_build_object('value', user_name, 'type', 'work', 'primary', true)),
         'name', jsonb_build_object('givenName', given, 'familyName', family),
         'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User',
           jsonb_build_object('department', department)),
       admin_state, lower(user_name), department, jsonb_build_array(lower(user_name)), at, at
FROM seed ORDER BY i;

-- Kept for the membership rows below: person number -> id.
CREATE TEMP TABLE seed_ids ON COMMIT DROP AS
SELECT s.i, u.id FROM seed s JOIN users u ON u.tenant_id = :'tenant_id' AND u.user_name = s.user_name;

INSERT INTO groups (id, tenant_id, display_name, external_id, resource, excluded_at, created_at, updated_at)
VALUES (gen_random_uuid(), :'tenant_id', 'Bench Everyone', 'bench-everyone',
        '{"displayName": "Bench Everyone", "externalId": "bench-everyone"}', NULL,
        now() - interval '2 days', now() - interval '2 days'),
       (gen_random_uuid(), :'tenant_id', 'Bench Excluded A', 'bench-excluded-a',
        '{"displayName": "Bench Excluded A", "externalId": "bench-excluded-a"}', now() - interval '1 hour',
        now() - interval '2 days', now() - interval '1 hour'),
       (gen_random_uuid(), :'tenant_id', 'Bench Excluded B', 'bench-excluded-b',
        '{"displayName": "Bench Excluded B", "externalId": "bench-excluded-b"}', now() - interval '1 hour',
        now() - interval '2 days', now() - interval '1 hour');

INSERT INTO group_members (group_id, member_id, member_type, tenant_id)
SELECT g.id, s.id, 'User', :'tenant_id'
FROM groups g JOIN seed_ids s
  ON (g.external_id = 'bench-everyone')
  OR (g.external_id = 'bench-excluded-a' AND s.i % 20 = 3)
  OR (g.external_id = 'bench-excluded-b' AND s.i % 40 IN (3, 10))
WHERE g.tenant_id = :'tenant_id';

-- Rows written around scimd: the tenant's count of users and groups (visible_counts) set
-- from its rows, as scimd's own writes keep it (when the schema has it: a binary from
-- before it can be measured on the same seed).
SELECT to_regproc('scimd_recount') IS NOT NULL AS counted \gset
\if :counted
SELECT scimd_recount(:'tenant_id');
\endif
COMMIT;

-- VACUUM too, as autovacuum would soon after such a load (and might otherwise do in the
-- middle of a measurement): the visibility map lets counts use index-only scans.
VACUUM (ANALYZE);
