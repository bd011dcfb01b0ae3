-- What the people endpoints should answer for a tenant, computed from the rows by the
-- contract's definitions, as one JSON object on one line:
--   {"counts": {...}, "page_first": {"all": <id>, "participating": <id>}}
-- counts, as GET /admin/v1/tenants/<tenant>/people/counts answers them:
--   total          live people (not deprovisioned)
--   participating  live, active, admin_state = 'active', a deliverable email, in no excluded group
--   inactive       live, active = false
--   deactivated    live, admin_state = 'deactivated'
--   excluded       live, a member of a group with excluded_at set
--   deprovisioned  deprovisioned_at set (outside total)
--   no_email       live, no deliverable email (the email column is NULL or empty)
-- page_first: the person at position offset + 1 in (created_at, id) order, of all live
-- people and of participating ones (the first item of page offset / limit + 1, if the list
-- is in that order; the contract does not say it is, so a mismatch is only reported).
-- psql variables: tenant (slug), offset.
\set ON_ERROR_STOP 1
WITH t AS (SELECT id FROM tenants WHERE slug = :'tenant'),
p AS (
  SELECT u.id, u.created_at,
         u.deprovisioned_at IS NULL AS live,
         u.active,
         u.admin_state = 'deactivated' AS deactivated,
         coalesce(u.email, '') <> '' AS has_email,
         EXISTS (SELECT 1 FROM group_members m JOIN groups g ON g.id = m.group_id
                 WHERE m.member_id = u.id AND m.member_type = 'User'
                   AND g.tenant_id = u.tenant_id AND g.excluded_at IS NOT NULL) AS excluded
  FROM users u, t WHERE u.tenant_id = t.id
),
q AS (
  SELECT *, live AND active AND NOT deactivated AND has_email AND NOT excluded AS participating FROM p
)
SELECT json_build_object(
  'counts', (SELECT json_build_object(
    'total',         count(*) FILTER (WHERE live),
    'participating', count(*) FILTER (WHERE participating),
    'inactive',      count(*) FILTER (WHERE live AND NOT active),
    'deactivated',   count(*) FILTER (WHERE live AND deactivated),
    'excluded',      count(*) FILTER (WHERE live AND excluded),
    'deprovisioned', count(*) FILTER (WHERE NOT live),
    'no_email',      count(*) FILTER (WHERE live AND NOT has_email)) FROM q),
  'page_first', json_build_object(
    'all', (SELECT id FROM q WHERE live ORDER BY created_at, id OFFSET :offset LIMIT 1),
    'participating', (SELECT id FROM q WHERE participating ORDER BY created_at, id OFFSET :offset LIMIT 1)));
