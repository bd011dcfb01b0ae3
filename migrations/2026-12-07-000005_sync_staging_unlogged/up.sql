-- A run's staging is scratch: written once, read by its plan and apply, dropped when the
-- run ends. Unlogged, it costs no WAL (a third of a first sync's). A crash empties it;
-- a run in flight is then recorded interrupted anyway, and a held run whose staging is
-- gone can no longer be approved (the approval says so).
ALTER TABLE sync_staged_members SET UNLOGGED;
ALTER TABLE sync_staged_groups SET UNLOGGED;
ALTER TABLE sync_staged_users SET UNLOGGED;
