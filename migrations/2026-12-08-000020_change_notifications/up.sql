-- Every node caches credentials and tenant settings for a short TTL. A change to them is
-- announced on the channel `scimd_changes` by the database itself, so that every writer
-- (any node, any command, a statement typed by hand) tells every node without having to
-- remember to. The payload names what changed: `token:<key id>`, `admin_key:<key id>` or
-- `tenant:<id>`; a node drops what it cached of it. Notifications are sent at commit, and
-- only if the transaction commits.
CREATE FUNCTION scimd_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed record;
BEGIN
    IF TG_OP = 'DELETE' THEN
        changed := OLD;
    ELSE
        changed := NEW;
    END IF;
    -- One branch per table: a record's fields are looked up when an expression runs.
    IF TG_TABLE_NAME = 'scim_tokens' THEN
        PERFORM pg_notify('scimd_changes', 'token:' || changed.key_id);
    ELSIF TG_TABLE_NAME = 'admin_keys' THEN
        PERFORM pg_notify('scimd_changes', 'admin_key:' || changed.key_id);
    ELSE
        PERFORM pg_notify('scimd_changes', 'tenant:' || changed.id::text);
    END IF;
    RETURN NULL;
END
$$;

-- Recording a credential's last use (once a minute per credential) is not a change a
-- cache cares about, so only the columns verification reads are watched.
CREATE TRIGGER scim_tokens_changed
    AFTER UPDATE ON scim_tokens FOR EACH ROW
    WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at
          OR OLD.expires_at IS DISTINCT FROM NEW.expires_at
          OR OLD.secret_hash IS DISTINCT FROM NEW.secret_hash
          OR OLD.tenant_id IS DISTINCT FROM NEW.tenant_id)
    EXECUTE FUNCTION scimd_notify_change();
CREATE TRIGGER scim_tokens_deleted
    AFTER DELETE ON scim_tokens FOR EACH ROW EXECUTE FUNCTION scimd_notify_change();

CREATE TRIGGER admin_keys_changed
    AFTER UPDATE ON admin_keys FOR EACH ROW
    WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at
          OR OLD.expires_at IS DISTINCT FROM NEW.expires_at
          OR OLD.secret_hash IS DISTINCT FROM NEW.secret_hash)
    EXECUTE FUNCTION scimd_notify_change();
CREATE TRIGGER admin_keys_deleted
    AFTER DELETE ON admin_keys FOR EACH ROW EXECUTE FUNCTION scimd_notify_change();

-- Only settings changes update a tenant row; a deleted tenant takes its tokens with it.
CREATE TRIGGER tenants_changed
    AFTER UPDATE OR DELETE ON tenants FOR EACH ROW EXECUTE FUNCTION scimd_notify_change();
