ALTER TABLE sync_staged_users DROP COLUMN manager_ref;
