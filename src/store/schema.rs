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
    connect_link_nonces (tenant_id, nonce) {
        tenant_id -> Uuid,
        nonce -> Bytea,
        link_id -> Uuid,
        consumed_at -> Timestamptz,
    }
}

diesel::table! {
    connect_links (id) {
        id -> Uuid,
        tenant_id -> Uuid,
        provider -> Text,
        scope -> Jsonb,
        token_hash -> Bytea,
        created_by -> Text,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    connections (tenant_id) {
        tenant_id -> Uuid,
        provider -> Text,
        config -> Jsonb,
        secret -> Nullable<Bytea>,
        state -> Jsonb,
        generation -> Int8,
        activated_at -> Nullable<Timestamptz>,
        next_run_at -> Nullable<Timestamptz>,
        last_run_at -> Nullable<Timestamptz>,
        last_success_at -> Nullable<Timestamptz>,
        last_error -> Nullable<Jsonb>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    console_imports (tenant_id, id) {
        tenant_id -> Uuid,
        id -> Uuid,
        dry_run -> Bool,
        state -> Text,
        rows_total -> Int4,
        rows_done -> Int4,
        csv -> Text,
        summary -> Nullable<Jsonb>,
        error -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    console_sessions (id_hash) {
        id_hash -> Bytea,
        key_id -> Text,
        created_at -> Timestamptz,
        last_seen_at -> Timestamptz,
        expires_at -> Timestamptz,
    }
}

diesel::table! {
    event_horizons (tenant_id) {
        tenant_id -> Uuid,
        pruned_through -> Int8,
    }
}

diesel::table! {
    events (tenant_id, seq) {
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
    group_members (tenant_id, group_id, member_id) {
        group_id -> Uuid,
        member_id -> Uuid,
        member_type -> Text,
        display -> Nullable<Text>,
        tenant_id -> Uuid,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    groups (tenant_id, id) {
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
    job_leases (job) {
        job -> Text,
        owner -> Nullable<Text>,
        lease_until -> Nullable<Timestamptz>,
        last_done_at -> Nullable<Timestamptz>,
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
    sync_objects (tenant_id, kind, source_ref) {
        tenant_id -> Uuid,
        kind -> Text,
        source_ref -> Text,
        raw -> Jsonb,
        hash -> Text,
    }
}

diesel::table! {
    sync_plan_items (tenant_id, run_id, ord) {
        run_id -> Uuid,
        ord -> Int8,
        action -> Text,
        person_id -> Nullable<Uuid>,
        source_ref -> Nullable<Text>,
        user_name -> Nullable<Text>,
        email -> Nullable<Text>,
        display_name -> Nullable<Text>,
        reason -> Nullable<Text>,
        changes -> Nullable<Jsonb>,
        tenant_id -> Uuid,
    }
}

diesel::table! {
    sync_runs (tenant_id, id) {
        id -> Uuid,
        tenant_id -> Uuid,
        provider -> Text,
        trigger -> Text,
        dry_run -> Bool,
        status -> Text,
        full -> Bool,
        created_at -> Timestamptz,
        started_at -> Nullable<Timestamptz>,
        finished_at -> Nullable<Timestamptz>,
        counts -> Jsonb,
        error -> Nullable<Jsonb>,
        lease_owner -> Nullable<Text>,
        lease_until -> Nullable<Timestamptz>,
        base_generation -> Nullable<Int8>,
        state_after -> Nullable<Jsonb>,
    }
}

diesel::table! {
    sync_staged_groups (tenant_id, run_id, source_ref) {
        run_id -> Uuid,
        source_ref -> Text,
        removed -> Nullable<Text>,
        raw -> Jsonb,
        hash -> Nullable<Text>,
        display_name -> Nullable<Text>,
        members_full -> Bool,
        tenant_id -> Uuid,
    }
}

diesel::table! {
    sync_staged_members (tenant_id, run_id, group_ref, member_ref) {
        run_id -> Uuid,
        group_ref -> Text,
        member_ref -> Text,
        removed -> Bool,
        tenant_id -> Uuid,
    }
}

diesel::table! {
    sync_staged_users (tenant_id, run_id, source_ref) {
        run_id -> Uuid,
        source_ref -> Text,
        removed -> Nullable<Text>,
        raw -> Jsonb,
        hash -> Nullable<Text>,
        user_name -> Nullable<Text>,
        email -> Nullable<Text>,
        display_name -> Nullable<Text>,
        active -> Bool,
        skip -> Nullable<Text>,
        resource -> Nullable<Jsonb>,
        manager_ref -> Nullable<Text>,
        twins -> Nullable<Text>,
        tenant_id -> Uuid,
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
        sync_interval_secs -> Int4,
        brake_max_percent -> Int4,
        brake_min_count -> Int4,
        erase_deprovisioned_after_secs -> Nullable<Int8>,
    }
}

diesel::table! {
    users (tenant_id, id) {
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

diesel::joinable!(connect_link_nonces -> connect_links (link_id));
diesel::joinable!(connect_link_nonces -> tenants (tenant_id));
diesel::joinable!(connect_links -> tenants (tenant_id));
diesel::joinable!(connections -> tenants (tenant_id));
diesel::joinable!(console_imports -> tenants (tenant_id));
diesel::joinable!(console_sessions -> admin_keys (key_id));
diesel::joinable!(event_horizons -> tenants (tenant_id));
diesel::joinable!(events -> tenants (tenant_id));
diesel::joinable!(group_members -> tenants (tenant_id));
diesel::joinable!(groups -> tenants (tenant_id));
diesel::joinable!(scim_tokens -> tenants (tenant_id));
diesel::joinable!(sync_objects -> tenants (tenant_id));
diesel::joinable!(sync_runs -> tenants (tenant_id));
diesel::joinable!(users -> tenants (tenant_id));
diesel::joinable!(visible_counts -> tenants (tenant_id));

diesel::allow_tables_to_appear_in_same_query!(
    admin_keys,
    connect_link_nonces,
    connect_links,
    connections,
    console_imports,
    console_sessions,
    event_horizons,
    events,
    group_members,
    groups,
    job_leases,
    scim_tokens,
    sync_objects,
    sync_plan_items,
    sync_runs,
    sync_staged_groups,
    sync_staged_members,
    sync_staged_users,
    tenants,
    users,
    visible_counts,
);
