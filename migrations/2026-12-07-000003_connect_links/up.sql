-- Connect links (DESIGN.md, Pull sync): a one-time link a technician sends to a client's IT
-- admin, who consents (Microsoft admin consent, Google domain-wide delegation) on a page of
-- this server; the connection is saved without the technician handling a credential.
CREATE TABLE connect_links (
    id          uuid PRIMARY KEY,
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    provider    text NOT NULL CHECK (provider IN ('graph', 'google')),
    -- Whom the connection will read, as the connection's `scope`.
    scope       jsonb NOT NULL,
    -- SHA-256 of the link token (32 random bytes, base64url); the token itself is shown
    -- once, in the link, and never stored.
    token_hash  bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    -- `admin:<key id>` of the operator who made it.
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL CHECK (expires_at > created_at),
    used_at     timestamptz,
    revoked_at  timestamptz
);
CREATE INDEX connect_links_tenant ON connect_links (tenant_id, created_at, id);

-- The signed values a link's pages hand out (the Microsoft consent `state`), once
-- consumed: a value whose nonce is here is refused, even when its first use failed.
CREATE TABLE connect_link_nonces (
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    nonce       bytea NOT NULL CHECK (length(nonce) = 16),
    link_id     uuid NOT NULL REFERENCES connect_links (id) ON DELETE CASCADE,
    consumed_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, nonce)
);
CREATE INDEX connect_link_nonces_link ON connect_link_nonces (link_id);
