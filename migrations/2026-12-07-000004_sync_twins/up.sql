-- Why a staged user is one of several directory users sharing an email or userName
-- (those are skipped), found once per run before the plan, so that the plan does not
-- sort every staged row to find the few that share.
ALTER TABLE sync_staged_users ADD COLUMN twins text;
