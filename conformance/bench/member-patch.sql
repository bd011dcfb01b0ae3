-- pgbench -f, with -M prepared (the variables below are bound as parameters, which the
-- casts need): the fewest statements a PATCH that removes one member of a group and adds
-- one can take in scimd's schema, one transaction each. bench-idp.sh's ceiling for the
-- member PATCH workload, run at 16 clients on one seeded group, as that workload is.
--
-- Variables (pgbench -D): tenant, group (the group's id), members (its members, a uuid[]
-- literal such as {a,b,c}), size (how many), actor and request (the event's actor and
-- request id, shaped as scimd's: `token:<key id>` and a UUID).
--
-- The member taken out is put back in the same transaction: the group keeps its size and
-- its members whatever the order the clients commit in, and each transaction still writes
-- what a swap of two members writes (a membership row deleted, one inserted, two events).
-- The insert names the member through the tenant's users, which is how a write checks a
-- member exists (RFC 7643 §4.2: a member is a resource of the service provider).
\set k random(1, :size)
BEGIN;
SELECT version FROM groups WHERE tenant_id = :tenant AND id = :group FOR UPDATE;
DELETE FROM group_members
WHERE tenant_id = :tenant AND group_id = :group AND member_id = (:members::uuid[])[:k];
INSERT INTO group_members (group_id, member_id, member_type, tenant_id)
SELECT :group::uuid, u.id, 'User', u.tenant_id FROM users u
WHERE u.tenant_id = :tenant AND u.id = (:members::uuid[])[:k];
UPDATE groups SET version = version + 1, updated_at = now()
WHERE tenant_id = :tenant AND id = :group;
-- group.member_removed and group.member_added, with the data scimd writes
-- (provisioning/events.rs: `members`, the member ids).
INSERT INTO events (tenant_id, type, resource_type, resource_id, actor, request_id, data)
VALUES (:tenant, 'group.member_removed', 'Group', :group, :actor, :request,
        jsonb_build_object('members', jsonb_build_array((:members::uuid[])[:k]))),
       (:tenant, 'group.member_added', 'Group', :group, :actor, :request,
        jsonb_build_object('members', jsonb_build_array((:members::uuid[])[:k])));
COMMIT;
