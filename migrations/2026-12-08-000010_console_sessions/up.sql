-- Operator console sessions (DESIGN.md, The console): an admin signs in with an admin key
-- and gets an opaque random session id in a cookie. Only its SHA-256 is stored, so a read
-- of this table cannot be replayed as a session.
CREATE TABLE console_sessions (
    id_hash      bytea PRIMARY KEY CHECK (length(id_hash) = 32),
    -- The admin key the session was opened with: its events are `admin:<key id>`, and
    -- revoking the key ends its sessions.
    key_id       text NOT NULL REFERENCES admin_keys (key_id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL,
    -- Idle expiry: a session unused for the idle timeout is refused.
    last_seen_at timestamptz NOT NULL,
    -- Absolute expiry, whatever the use.
    expires_at   timestamptz NOT NULL CHECK (expires_at > created_at)
);
CREATE INDEX console_sessions_expires ON console_sessions (expires_at);
CREATE INDEX console_sessions_key ON console_sessions (key_id);
