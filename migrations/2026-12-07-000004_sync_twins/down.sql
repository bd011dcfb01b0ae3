ALTER TABLE sync_staged_users DROP COLUMN twins;
