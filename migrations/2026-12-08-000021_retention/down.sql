DROP INDEX sync_runs_age;
DROP INDEX users_deprovisioned;
ALTER TABLE tenants DROP COLUMN erase_deprovisioned_after_secs;
DROP TABLE job_leases;
DROP TABLE event_horizons;
