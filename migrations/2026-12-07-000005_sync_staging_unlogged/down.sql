ALTER TABLE sync_staged_users SET LOGGED;
ALTER TABLE sync_staged_groups SET LOGGED;
ALTER TABLE sync_staged_members SET LOGGED;
