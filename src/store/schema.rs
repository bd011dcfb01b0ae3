// @generated automatically by Diesel CLI.

diesel::table! {
    admin_keys (key_id) {
        key_id -> Text,
        secret_hash -> Text,
        label -> Nullable<Text>,
        created_at -> Timestamptz,
        expires_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
        last_used_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    events (seq) {
        seq -> Int8,
        id -> Nullable<Int8>,
        tenant_id -> Uuid,
        #[sql_name = "type"]
        type_ -> Text,
        resource_type -> Text,
        resource_id -> Nullable<Uuid>,
        actor -> Text,
        request_id -> Nullable<Text>,
        occurred_at -> Timestamptz,
        data -> Jsonb,
    }
}

diesel::table! {
    group_members (group_id, member_id) {
        group_id -> Uuid,
        member_id -> Uuid,
        member_type -> Text,
        display -> Nullable<Text>,
        tenant_id -> Uuid,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    groups (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        display_name -> Text,
        external_id -> Nullable<Text>,
        resource -> Jsonb,
        version -> Int8,
        source -> Text,
        source_ref -> Nullable<Text>,
        excluded_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    scim_tokens (key_id) {
        key_id -> Text,
        tenant_id -> Uuid,
        secret_hash -> Text,
        label -> Nullable<Text>,
        created_at -> Timestamptz,
        expires_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
        last_used_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    sync_jobs (tenant_id) {
        tenant_id -> Uuid,
        kind -> Text,
        config -> Jsonb,
        state -> Jsonb,
        interval_secs -> Int4,
        next_run_at -> Timestamptz,
        lease_owner -> Nullable<Text>,
        lease_until -> Nullable<Timestamptz>,
        last_run_at -> Nullable<Timestamptz>,
        last_outcome -> Nullable<Jsonb>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    tenants (id) {
        id -> Uuid,
        slug -> Text,
        name -> Text,
        source -> Text,
        on_source_delete -> Text,
        rate_per_second -> Int4,
        rate_burst -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    users (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        user_name -> Text,
        external_id -> Nullable<Text>,
        display_name -> Nullable<Text>,
        active -> Bool,
        resource -> Jsonb,
        version -> Int8,
        source -> Text,
        source_ref -> Nullable<Text>,
        admin_state -> Text,
        deprovisioned_at -> Nullable<Timestamptz>,
        email -> Nullable<Text>,
        department -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        emails -> Jsonb,
    }
}

diesel::table! {
    visible_counts (tenant_id, slot) {
        tenant_id -> Uuid,
        slot -> Int2,
        users -> Int8,
        groups -> Int8,
    }
}

diesel::joinable!(events -> tenants (tenant_id));
diesel::joinable!(group_members -> groups (group_id));
diesel::joinable!(group_members -> tenants (tenant_id));
diesel::joinable!(groups -> tenants (tenant_id));
diesel::joinable!(scim_tokens -> tenants (tenant_id));
diesel::joinable!(sync_jobs -> tenants (tenant_id));
diesel::joinable!(users -> tenants (tenant_id));
diesel::joinable!(visible_counts -> tenants (tenant_id));

diesel::allow_tables_to_appear_in_same_query!(
    admin_keys,
    events,
    group_members,
    groups,
    scim_tokens,
    sync_jobs,
    tenants,
    users,
    visible_counts,
);
