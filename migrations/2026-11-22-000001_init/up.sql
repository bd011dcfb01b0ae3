-- scimd's data model, planned once for every issue (see DESIGN.md).
--
-- Every row that belongs to a tenant carries tenant_id, and every query filters on it.
-- Timestamps are timestamptz; ids are UUIDs, except credential key ids (short text) and
-- the event feed (bigint, see events below).

CREATE TABLE tenants (
    id               uuid PRIMARY KEY,
    slug             text NOT NULL UNIQUE
                     CHECK (slug ~ '^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$'),
    name             text NOT NULL,
    -- Where people come from: pushed over SCIM, pulled from Graph or Google, or kept by hand.
    source           text NOT NULL DEFAULT 'scim'
                     CHECK (source IN ('scim', 'graph', 'google', 'manual')),
    -- What an IdP DELETE (or a person gone from a pulled directory) does.
    on_source_delete text NOT NULL DEFAULT 'retain'
                     CHECK (on_source_delete IN ('retain', 'remove')),
    rate_per_second  integer NOT NULL DEFAULT 100 CHECK (rate_per_second > 0),
    rate_burst       integer NOT NULL DEFAULT 200 CHECK (rate_burst > 0),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);

-- SCIM bearer tokens: `scimd_<key_id>_<secret>`; only an argon2id PHC hash of the secret is kept.
CREATE TABLE scim_tokens (
    key_id       text PRIMARY KEY,
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    secret_hash  text NOT NULL,
    label        text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz,
    revoked_at   timestamptz,
    last_used_at timestamptz
);
CREATE INDEX scim_tokens_tenant ON scim_tokens (tenant_id, created_at, key_id);

-- Operator keys for /admin/v1: same format and storage as SCIM tokens, no tenant.
CREATE TABLE admin_keys (
    key_id       text PRIMARY KEY,
    secret_hash  text NOT NULL,
    label        text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz,
    revoked_at   timestamptz,
    last_used_at timestamptz
);

-- Lower-cased email values of a SCIM User resource, for the emails.value index and for
-- matching people across sources. IMMUTABLE so it can back an expression index.
CREATE FUNCTION scimd_emails(resource jsonb) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
    SELECT coalesce(array_agg(lower(e ->> 'value')) FILTER (WHERE e ->> 'value' IS NOT NULL), '{}')
    FROM jsonb_array_elements(
        CASE jsonb_typeof(resource -> 'emails') WHEN 'array' THEN resource -> 'emails' ELSE '[]' END
    ) AS e
$$;

-- RFC 7644 §3.4.2.2 `pr`: present and not empty (not null, not "", not [] or {}, and
-- for arrays and objects, some member present). The filter compiler's twin of the
-- in-memory evaluator's rule.
CREATE FUNCTION scimd_present(v jsonb) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    CASE jsonb_typeof(v)
        WHEN 'string' THEN RETURN (v #>> '{}') <> '';
        WHEN 'array' THEN RETURN EXISTS (SELECT 1 FROM jsonb_array_elements(v) AS e(x) WHERE scimd_present(e.x));
        WHEN 'object' THEN RETURN EXISTS (SELECT 1 FROM jsonb_each(v) AS e(k, x) WHERE scimd_present(e.x));
        WHEN 'number' THEN RETURN true;
        WHEN 'boolean' THEN RETURN true;
        ELSE RETURN false;
    END CASE;
END
$$;

-- An RFC 3339 dateTime as an instant (without an offset: UTC), or NULL when the text is
-- not one. Never raises, so a stored oddity cannot fail a filter.
CREATE FUNCTION scimd_timestamptz(t text) RETURNS timestamptz
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
BEGIN
    IF t IS NULL OR t !~ '^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})?$' THEN
        RETURN NULL;
    END IF;
    IF t ~ '([Zz]|[+-]\d{2}:\d{2})$' THEN
        RETURN t::timestamptz;
    END IF;
    RETURN (t || 'Z')::timestamptz;
EXCEPTION WHEN others THEN
    RETURN NULL;
END
$$;

-- People. The SCIM resource (core and enterprise attributes as the IdP last set them) is
-- `resource`; the columns beside it are what the server queries, indexes or owns itself.
CREATE TABLE users (
    id               uuid PRIMARY KEY,
    tenant_id        uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_name        text NOT NULL,
    external_id      text,
    display_name     text,
    -- The IdP's view (SCIM active, Graph accountEnabled, Google !suspended).
    active           boolean NOT NULL DEFAULT true,
    resource         jsonb NOT NULL DEFAULT '{}',
    -- meta.version; every write bumps it and is conditional on the version read.
    version          bigint NOT NULL DEFAULT 1,
    -- Who manages the person now, and the person's id in a pulled directory.
    source           text NOT NULL DEFAULT 'scim'
                     CHECK (source IN ('scim', 'graph', 'google', 'manual')),
    source_ref       text,
    -- The platform admin's decision; never written back into SCIM active.
    admin_state      text NOT NULL DEFAULT 'active'
                     CHECK (admin_state IN ('active', 'deactivated')),
    -- Set when the source deletes the person under the `retain` policy: invisible to SCIM,
    -- userName free, history kept, restored when the IdP creates the person again.
    deprovisioned_at timestamptz,
    -- Derived from resource on every write: the deliverable address (lower case) and the
    -- department, for the people list and for participation.
    email            text,
    department       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
-- RFC 7643 §4.1.1: userName is unique per service provider, case-insensitively.
CREATE UNIQUE INDEX users_user_name ON users (tenant_id, lower(user_name))
    WHERE deprovisioned_at IS NULL;
CREATE INDEX users_user_name_any ON users (tenant_id, lower(user_name));
CREATE INDEX users_external_id ON users (tenant_id, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX users_display_name ON users (tenant_id, lower(display_name));
CREATE INDEX users_emails ON users USING gin (scimd_emails(resource));
CREATE INDEX users_email ON users (tenant_id, email);
CREATE INDEX users_source_ref ON users (tenant_id, source, source_ref) WHERE source_ref IS NOT NULL;
-- Stable listing order (created, id) for offset and cursor pages.
CREATE INDEX users_listing ON users (tenant_id, created_at, id) WHERE deprovisioned_at IS NULL;

CREATE TABLE groups (
    id           uuid PRIMARY KEY,
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    display_name text NOT NULL,
    external_id  text,
    -- Group attributes other than members (members live in group_members).
    resource     jsonb NOT NULL DEFAULT '{}',
    version      bigint NOT NULL DEFAULT 1,
    source       text NOT NULL DEFAULT 'scim'
                 CHECK (source IN ('scim', 'graph', 'google', 'manual')),
    source_ref   text,
    -- A platform admin "sleeps" the group: its members do not participate.
    excluded_at  timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX groups_display_name ON groups (tenant_id, lower(display_name));
CREATE INDEX groups_external_id ON groups (tenant_id, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX groups_listing ON groups (tenant_id, created_at, id);
CREATE INDEX groups_excluded ON groups (tenant_id) WHERE excluded_at IS NOT NULL;

-- Membership in its own table, so adding or removing k members costs O(k) whatever the
-- group's size. A member is a User or (RFC 7643 §4.2) a Group.
CREATE TABLE group_members (
    group_id    uuid NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    member_id   uuid NOT NULL,
    member_type text NOT NULL CHECK (member_type IN ('User', 'Group')),
    -- The member's `display` as the client sent it, if it did.
    display     text,
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (group_id, member_id)
);
CREATE INDEX group_members_member ON group_members (member_id);

-- The audit log and the feed the rest of the platform reads.
--
-- `seq` orders insertion. `id` is the feed position, given after commit by a single
-- sequencer (see store::events), so positions appear in commit order and a poller using
-- `after=<id>` never skips an event that committed late.
CREATE TABLE events (
    seq           bigserial PRIMARY KEY,
    id            bigint UNIQUE,
    tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    type          text NOT NULL,
    resource_type text NOT NULL,
    resource_id   uuid,
    actor         text NOT NULL,
    request_id    text,
    occurred_at   timestamptz NOT NULL DEFAULT now(),
    data          jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX events_unsequenced ON events (seq) WHERE id IS NULL;
CREATE INDEX events_feed ON events (tenant_id, id) WHERE id IS NOT NULL;
CREATE INDEX events_resource ON events (tenant_id, resource_id, seq);

-- Pull sources (Microsoft Graph, Google Directory): one per tenant, leased through the
-- database (FOR UPDATE SKIP LOCKED) so that N nodes never poll one tenant twice at once.
CREATE TABLE sync_jobs (
    tenant_id     uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    kind          text NOT NULL CHECK (kind IN ('graph', 'google')),
    config        jsonb NOT NULL DEFAULT '{}',
    -- Connector state between runs (a Graph delta link, a Google page token).
    state         jsonb NOT NULL DEFAULT '{}',
    interval_secs integer NOT NULL DEFAULT 3600 CHECK (interval_secs > 0),
    next_run_at   timestamptz NOT NULL DEFAULT now(),
    lease_owner   text,
    lease_until   timestamptz,
    last_run_at   timestamptz,
    last_outcome  jsonb,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sync_jobs_due ON sync_jobs (next_run_at);
