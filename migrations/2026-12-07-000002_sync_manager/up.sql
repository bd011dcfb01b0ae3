-- The manager a directory names for a staged user (an address), made the manager's scimd id
-- when the run applies.
ALTER TABLE sync_staged_users ADD COLUMN manager_ref text;
