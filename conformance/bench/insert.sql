-- pgbench -f: one single-row INSERT per transaction, the machine's write ceiling for
-- bench-scim.sh's POST /Users figure. The table is made by bench-scim.sh.
INSERT INTO bench_insert (id, payload)
VALUES (gen_random_uuid(), '{"userName": "ceiling@bench.example", "active": true, "emails": [{"type": "work", "value": "ceiling@bench.example", "primary": true}]}');
