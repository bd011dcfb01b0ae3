-- soak.sh's audit, after the load: every acknowledged write is in the database with its
-- event, and nothing is half-applied. Each query prints one `name=value` line; every value
-- must be 0.
--
-- soak_acked (tenant slug, userName) holds every create answered 201.
\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on

-- Creates answered 201 whose user is not there.
SELECT 'acked_creates_missing=' || count(*)
FROM soak_acked a
LEFT JOIN tenants t ON t.slug = a.slug
LEFT JOIN users u ON u.tenant_id = t.id AND lower(u.user_name) = lower(a.user_name)
WHERE u.id IS NULL;

-- Creates answered 201 without their user.created event.
SELECT 'acked_creates_without_event=' || count(*)
FROM soak_acked a
JOIN tenants t ON t.slug = a.slug
JOIN users u ON u.tenant_id = t.id AND lower(u.user_name) = lower(a.user_name)
WHERE NOT EXISTS (SELECT 1 FROM events e
                  WHERE e.tenant_id = t.id AND e.resource_id = u.id AND e.type = 'user.created');

-- Users whose version moved without the events to say so: each write bumps the version
-- once and records its events under its request id, so the versions a user gained are
-- the distinct requests that wrote events of it (a created user starts at 1).
SELECT 'users_whose_versions_disagree_with_their_events=' || count(*)
FROM users u
LEFT JOIN soak_seeded_users s ON s.id = u.id
WHERE u.tenant_id IN (SELECT id FROM tenants WHERE slug LIKE 'soak%')
  AND u.version - coalesce(s.version, 1) <> (
    SELECT count(DISTINCT e.request_id) FROM events e
    WHERE e.tenant_id = u.tenant_id AND e.resource_id = u.id AND e.type <> 'user.created');

-- Groups whose membership disagrees with their member events.
SELECT 'groups_whose_members_disagree_with_their_events=' || count(*)
FROM soak_seeded_groups g
WHERE (SELECT count(*) FROM group_members m WHERE m.tenant_id = g.tenant_id AND m.group_id = g.id) <> g.members + coalesce((
    SELECT sum(CASE e.type WHEN 'group.member_added' THEN 1 ELSE -1 END
               * jsonb_array_length(e.data -> 'members'))
    FROM events e
    WHERE e.tenant_id = g.tenant_id AND e.resource_id = g.id
      AND e.type IN ('group.member_added', 'group.member_removed')), 0);

