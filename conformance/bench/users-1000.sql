-- 1,000 users in every tenant, user<n>@<tenant slug>.example, written around scimd
-- (bench-ratelimit.sh, bench-flood.sh): psql -f bench/users-1000.sql <database>.
INSERT INTO users (id, tenant_id, user_name, active, resource, email)
SELECT gen_random_uuid(), t.id, format('user%s@%s.example', i, t.slug), true,
       jsonb_build_object('userName', format('user%s@%s.example', i, t.slug), 'active', true),
       format('user%s@%s.example', i, t.slug)
FROM tenants t, generate_series(1, 1000) AS i;
-- Rows written around scimd: each tenant's count set from its rows, where the schema
-- keeps one.
SELECT to_regproc('scimd_recount') IS NOT NULL AS counted \gset
\if :counted
SELECT scimd_recount(id) FROM tenants;
\endif
VACUUM ANALYZE users;
