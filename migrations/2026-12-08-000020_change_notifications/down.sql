DROP TRIGGER tenants_changed ON tenants;
DROP TRIGGER admin_keys_deleted ON admin_keys;
DROP TRIGGER admin_keys_changed ON admin_keys;
DROP TRIGGER scim_tokens_deleted ON scim_tokens;
DROP TRIGGER scim_tokens_changed ON scim_tokens;
DROP FUNCTION scimd_notify_change();
