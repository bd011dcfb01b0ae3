//! The hot lookups are answered from indexes: on a tenant of 100,000 users, the plans of
//! `userName eq`, `externalId eq`, `id eq`, `displayName eq` and `emails.value eq` have no
//! sequential scan of the users table; a deep offset page skips its rows in an index.

use diesel::{QueryableByName, RunQueryDsl};

use scimd::scim::filter::parse_filter;
use scimd::store::search::{from_where, page_sql, Kind, ListQuery, Start};
use scimd::store::sql::Sql;

use crate::helpers::TestDb;

#[derive(QueryableByName)]
struct PlanLine {
    #[diesel(sql_type = diesel::sql_types::Text, column_name = "QUERY PLAN")]
    line: String,
}

fn explain(conn: &mut diesel::PgConnection, sql: Sql) -> String {
    explain_with(conn, "", sql)
}

/// The plan of `sql` by `EXPLAIN <options>`: `(ANALYZE)` runs it.
fn explain_with(conn: &mut diesel::PgConnection, options: &str, sql: Sql) -> String {
    let mut explained = Sql::new();
    explained.push(&format!("EXPLAIN {options} ")).append(sql);
    explained
        .into_query()
        .load::<PlanLine>(conn)
        .expect("explain")
        .into_iter()
        .map(|l| l.line)
        .collect::<Vec<_>>()
        .join("\n")
}

/// The plan PostgreSQL keeps for `sql` as a prepared statement after its first runs:
/// the generic one, which knows the parameters' types but not their values.
fn generic_plan(conn: &mut diesel::PgConnection, sql: Sql) -> String {
    use scimd::store::sql::Bind;
    let types: Vec<&str> = sql
        .binds()
        .iter()
        .map(|b| match b {
            Bind::Text(_) | Bind::OptText(_) => "text",
            Bind::Json(_) => "jsonb",
            Bind::TextArray(_) | Bind::OptTextArray(_) => "text[]",
            Bind::Uuid(_) => "uuid",
            Bind::Bool(_) => "boolean",
            Bind::BigInt(_) => "bigint",
            Bind::Timestamp(_) | Bind::OptTimestamp(_) => "timestamptz",
            Bind::UuidArray(_) | Bind::OptUuidArray(_) => "uuid[]",
            Bind::BoolArray(_) => "boolean[]",
            Bind::JsonArray(_) => "jsonb[]",
        })
        .collect();
    diesel::sql_query("SET plan_cache_mode = force_generic_plan")
        .execute(conn)
        .expect("generic plans");
    diesel::sql_query("DEALLOCATE ALL")
        .execute(conn)
        .expect("deallocate");
    diesel::sql_query(format!(
        "PREPARE kept ({}) AS {}",
        types.join(", "),
        sql.text()
    ))
    .execute(conn)
    .expect("prepare");
    // The values do not matter to a generic plan.
    let nulls = vec!["NULL"; types.len()].join(", ");
    let mut execute = Sql::new();
    execute.push(&format!("EXECUTE kept ({nulls})"));
    explain(conn, execute)
}

/// A new tenant's id.
fn new_tenant(conn: &mut diesel::PgConnection, slug: &str) -> uuid::Uuid {
    scimd::provisioning::tenants::create(
        conn,
        &scimd::provisioning::tenants::TenantSlug::parse(slug).expect("slug"),
        None,
    )
    .expect("tenant")
    .id
}

/// A tenant of 100,000 users (`user<i>@big.example`, externalId `ext-<i>`), counted
/// (`scimd_recount`, as rows written around scimd must be) and analysed.
fn big_tenant(conn: &mut diesel::PgConnection) -> uuid::Uuid {
    let tenant = new_tenant(conn, "big");
    // 100,000 people, and a second tenant so the tenant predicate is selective too.
    diesel::sql_query(
        "INSERT INTO users (id, tenant_id, user_name, external_id, display_name, resource, email, emails)
         SELECT gen_random_uuid(), $1, 'user' || i || '@big.example', 'ext-' || i, 'User ' || i,
                jsonb_build_object('userName', 'user' || i || '@big.example',
                                   'displayName', 'User ' || i,
                                   'emails', jsonb_build_array(jsonb_build_object('value', 'user' || i || '@big.example', 'type', 'work'))),
                'user' || i || '@big.example', jsonb_build_array('user' || i || '@big.example')
         FROM generate_series(1, 100000) AS i",
    )
    .bind::<diesel::sql_types::Uuid, _>(tenant)
    .execute(conn)
    .expect("seed");
    diesel::sql_query("SELECT scimd_recount($1)")
        .bind::<diesel::sql_types::Uuid, _>(tenant)
        .execute(conn)
        .expect("count");
    diesel::sql_query("ANALYZE users")
        .execute(conn)
        .expect("analyze");
    tenant
}

#[test]
fn hot_lookups_use_indexes_on_a_tenant_of_100000_users() {
    let db = TestDb::new();
    let mut conn = db.conn();
    let tenant = big_tenant(&mut conn);
    let id = uuid::Uuid::new_v4();
    for filter in [
        r#"userName eq "user77@big.example""#.to_owned(),
        r#"externalId eq "ext-77""#.to_owned(),
        format!(r#"id eq "{id}""#),
        r#"displayName eq "User 77""#.to_owned(),
        r#"emails.value eq "USER77@big.example""#.to_owned(),
    ] {
        let parsed = parse_filter(&filter).expect("filter");
        let q = ListQuery {
            filter: Some(&parsed),
            sort_by: None,
            descending: false,
            start: Start::Offset(0),
            count: 100,
            total: None,
        };
        let page = explain(
            &mut conn,
            page_sql(Kind::Users, tenant, &q, "http://x").expect("sql"),
        );
        assert!(!page.contains("Seq Scan on users"), "{filter}:\n{page}");
        let mut count = Sql::new();
        let body = from_where(Kind::Users, tenant, Some(&parsed), "http://x").expect("sql");
        count.push("SELECT count(*)").append(body);
        let plan = explain(&mut conn, count);
        assert!(
            !plan.contains("Seq Scan on users"),
            "{filter} (count):\n{plan}"
        );
    }
}

/// The combined create of the fast path keeps to the indexes in the generic plan
/// PostgreSQL switches to for a kept statement.
#[test]
fn the_combined_create_uses_indexes_in_its_generic_plan() {
    use scimd::domain::Source;
    use scimd::store::events::NewEvent;
    use scimd::store::users::{candidates_sql, insert_batch_sql, NewUser};

    let db = TestDb::new();
    let mut conn = db.conn();
    let tenant = big_tenant(&mut conn);
    let entries: Vec<(NewUser<'static>, NewEvent)> = (1..=3)
        .map(|i| {
            let data = scimd::provisioning::users::data_of(serde_json::json!({
                "userName": format!("new{i}@big.example"),
                "externalId": format!("ext-new-{i}"),
                "emails": [{"value": format!("new{i}@big.example")}],
            }))
            .expect("user");
            let id = uuid::Uuid::now_v7();
            let event = NewEvent {
                tenant_id: tenant,
                kind: "user.created".into(),
                resource_type: "User".into(),
                resource_id: Some(id),
                actor: "token:test".into(),
                request_id: None,
                data: serde_json::json!({}),
            };
            let new = NewUser {
                id,
                tenant_id: tenant,
                source: Source::Scim,
                source_ref: None,
                data,
            };
            (new, event)
        })
        .collect();
    let refs: Vec<_> = entries.iter().collect();
    let plan = generic_plan(&mut conn, insert_batch_sql(&refs, &Source::PULL));
    assert!(plan.contains("Insert on users"), "{plan}");
    assert!(
        !plan.contains("Seq Scan on users"),
        "combined create:\n{plan}"
    );
    // The full path's search for the same person reads the same indexes.
    let plan = generic_plan(&mut conn, candidates_sql(tenant, &entries[0].0.data));
    assert!(plan.contains("users"), "{plan}");
    assert!(!plan.contains("Seq Scan on users"), "candidates:\n{plan}");
}

/// [`big_tenant`], vacuumed: the listing index then answers for the skipped rows alone.
fn big_vacuumed_tenant(conn: &mut diesel::PgConnection) -> uuid::Uuid {
    let tenant = big_tenant(conn);
    diesel::sql_query("VACUUM ANALYZE users")
        .execute(conn)
        .expect("vacuum");
    tenant
}

/// A page deep in the default order skips its rows in the listing index (an index-only
/// scan once the table is vacuumed), and reads from the table only the page's own rows.
#[test]
fn a_deep_offset_page_skips_rows_in_the_listing_index() {
    let db = TestDb::new();
    let mut conn = db.conn();
    let tenant = big_vacuumed_tenant(&mut conn);
    let q = ListQuery {
        filter: None,
        sort_by: None,
        descending: false,
        start: Start::Offset(90_000),
        count: 100,
        total: None,
    };
    let plan = explain(
        &mut conn,
        page_sql(Kind::Users, tenant, &q, "http://x").expect("sql"),
    );
    assert!(!plan.contains("Seq Scan on users"), "{plan}");
    let skipping = plan
        .lines()
        .find(|l| l.contains("users_listing"))
        .unwrap_or_else(|| panic!("no scan of users_listing:\n{plan}"));
    assert!(skipping.contains("Index Only Scan"), "{plan}");
    assert!(plan.contains("users_pkey"), "{plan}");
}

/// The total of an unfiltered listing sums the tenant's few count rows: no scan of its
/// users, whatever their number.
#[test]
fn an_unfiltered_total_reads_the_kept_count_not_the_tenants_rows() {
    use scimd::store::counts::total_sql;
    use scimd::store::search::count;

    let db = TestDb::new();
    let mut conn = db.conn();
    let tenant = big_tenant(&mut conn);
    assert_eq!(
        count(&mut conn, Kind::Users, tenant, None, "http://x").expect("count"),
        100_000
    );
    let plan = explain_with(
        &mut conn,
        "(ANALYZE, BUFFERS)",
        total_sql(Kind::Users, tenant),
    );
    assert!(plan.contains("visible_counts_pkey"), "{plan}");
    assert!(!plan.contains("on users"), "{plan}");
    // Pages read by the whole statement (the first Buffers line is the top node's).
    let pages: u64 = plan
        .lines()
        .find_map(|l| l.trim().strip_prefix("Buffers: shared hit="))
        .and_then(|n| n.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no buffers:\n{plan}"));
    assert!(pages < 20, "{pages} pages:\n{plan}");
}

/// With the total known, a page nearer the end than the start skips its rows backwards
/// from the end, and is the same page.
#[test]
fn a_deep_page_past_the_middle_is_read_from_the_end() {
    use scimd::store::users::UserRow;

    let db = TestDb::new();
    let mut conn = db.conn();
    let tenant = big_vacuumed_tenant(&mut conn);
    let page = |total| ListQuery {
        filter: None,
        sort_by: None,
        descending: false,
        start: Start::Offset(89_999),
        count: 100,
        total,
    };
    let plan = explain_with(
        &mut conn,
        "(ANALYZE)",
        page_sql(Kind::Users, tenant, &page(Some(100_000)), "http://x").expect("sql"),
    );
    let skipping = plan
        .lines()
        .find(|l| l.contains("users_listing"))
        .unwrap_or_else(|| panic!("no scan of users_listing:\n{plan}"));
    assert!(skipping.contains("Index Only Scan Backward"), "{plan}");
    // 9,901 rows skipped and 100 taken, of the 90,099 a read from the start would pass.
    let read: u64 = skipping
        .split("actual time=")
        .nth(1)
        .and_then(|a| a.split("rows=").nth(1))
        .and_then(|r| r.split_whitespace().next())
        .and_then(|r| r.parse().ok())
        .unwrap_or_else(|| panic!("no row count:\n{plan}"));
    assert_eq!(read, 10_001, "{plan}");
    let ids = |conn: &mut diesel::PgConnection, total| -> Vec<uuid::Uuid> {
        page_sql(Kind::Users, tenant, &page(total), "http://x")
            .expect("sql")
            .into_query()
            .load::<UserRow>(conn)
            .expect("page")
            .into_iter()
            .map(|u| u.id)
            .collect()
    };
    let from_end = ids(&mut conn, Some(100_000));
    assert_eq!(from_end.len(), 100);
    assert_eq!(from_end, ids(&mut conn, None));
}

/// The kept counts are read, and a slot to write taken, by the primary key in the plans
/// PostgreSQL keeps, also when its statistics are stale: taken on two tenants, before
/// thousands more came.
#[test]
fn the_kept_counts_are_read_by_their_key_whatever_the_statistics() {
    use scimd::store::counts::{counted, total_sql, Lane};
    use scimd::store::sql::Bind;

    let db = TestDb::new();
    let mut conn = db.conn();
    let mut tenant = uuid::Uuid::nil();
    for slug in ["first", "second"] {
        tenant = new_tenant(&mut conn, slug);
    }
    // Both busy: every slot in use, so the statistics say two tenants, not a share of
    // the rows, and expect half the table to be each one's.
    diesel::sql_query(
        "INSERT INTO visible_counts (tenant_id, slot) \
         SELECT t.id, s FROM tenants t, generate_series(0, 31) AS s",
    )
    .execute(&mut conn)
    .expect("busy");
    diesel::sql_query("ANALYZE visible_counts")
        .execute(&mut conn)
        .expect("analyze");
    diesel::sql_query(
        "WITH t AS (INSERT INTO tenants (id, slug, name) \
           SELECT gen_random_uuid(), 't' || i, 't' FROM generate_series(1, 4000) AS i RETURNING id) \
         INSERT INTO visible_counts (tenant_id, slot) SELECT t.id, s FROM t, generate_series(0, 39) AS s",
    )
    .execute(&mut conn)
    .expect("more tenants");
    let read = generic_plan(&mut conn, total_sql(Kind::Users, tenant));
    assert!(read.contains("visible_counts_pkey"), "{read}");
    assert!(!read.contains("Seq Scan"), "{read}");
    for lane in [Lane::Statement, Lane::Transaction] {
        let mut write = Sql::new();
        write.push("WITH gone AS (SELECT ");
        write.bind(Bind::Uuid(tenant)).push(&format!(
            "::uuid AS tenant_id), {} SELECT 1",
            counted(Kind::Users, lane, "gone", "-1")
        ));
        let plan = generic_plan(&mut conn, write);
        assert!(plan.contains("visible_counts_pkey"), "{lane:?}:\n{plan}");
        assert!(!plan.contains("Seq Scan"), "{lane:?}:\n{plan}");
    }
}

/// A sync run's plan of its people looks each staged person up by directory id, userName
/// and email in their indexes, never walking the tenant's live people, whatever the
/// statistics say: on tables never analysed (the state a first sync finds) as on analysed
/// ones. Walking them made the plan of a 100,000-person directory quadratic (hours).
#[test]
fn a_sync_plan_looks_people_up_by_index_with_or_without_statistics() {
    use scimd::domain::{RunTrigger, Source};
    use scimd::store::sync;
    let db = TestDb::new();
    let mut conn = db.conn();
    let tenant = new_tenant(&mut conn, "pull");
    diesel::sql_query(
        "INSERT INTO users (id, tenant_id, user_name, resource, email, source, source_ref)
         SELECT gen_random_uuid(), $1, 'user' || i || '@pull.example', '{}',
                'user' || i || '@pull.example', CASE WHEN i % 2 = 0 THEN 'graph' ELSE 'manual' END,
                CASE WHEN i % 2 = 0 THEN 'ref-' || i END
         FROM generate_series(1, 20000) AS i",
    )
    .bind::<diesel::sql_types::Uuid, _>(tenant)
    .execute(&mut conn)
    .expect("seed");
    diesel::sql_query(
        "INSERT INTO connections (tenant_id, provider, config) VALUES ($1, 'graph', '{}')",
    )
    .bind::<diesel::sql_types::Uuid, _>(tenant)
    .execute(&mut conn)
    .expect("connection");
    let now = chrono::Utc::now();
    let (run, _) = sync::enqueue(
        &mut conn,
        tenant,
        Source::Graph,
        RunTrigger::Manual,
        false,
        now,
    )
    .expect("run");
    let staged: Vec<sync::StagedUser> = (1..=2000)
        .map(|i| sync::StagedUser {
            source_ref: format!("new-{i}"),
            removed: None,
            raw: serde_json::json!({}),
            hash: Some(format!("h{i}")),
            user_name: Some(format!("user{i}@pull.example")),
            email: Some(format!("user{i}@pull.example")),
            display_name: None,
            active: true,
            skip: None,
            resource: Some(serde_json::json!({"userName": format!("user{i}@pull.example")})),
            manager_ref: None,
        })
        .collect();
    sync::stage_users(&mut conn, run.key(), &staged).expect("stage");
    for analysed in [false, true] {
        if analysed {
            diesel::sql_query("ANALYZE")
                .execute(&mut conn)
                .expect("analyze");
        }
        let plan = explain(
            &mut conn,
            sync::plan_users_sql(run.key(), Source::Graph, true),
        );
        for walk in ["users_listing", "users_people", "Seq Scan on users"] {
            assert!(
                !plan.contains(walk),
                "analysed: {analysed}, {walk}:\n{plan}"
            );
        }
        assert!(plan.contains("users_source_ref"), "{plan}");
    }
}

/// A user's groups, read with a user by id and for the users of a page, are found from
/// the member (`group_members_member`), never by walking a group's members, whatever the
/// statistics say: on tables never analysed (a new deployment, or any server whose
/// autovacuum has not run yet), in the generic plans PostgreSQL keeps, as on analysed
/// ones. Walking them read all 100,000 members of a group for each page (56–96 ms a page).
#[test]
fn a_users_groups_are_found_from_the_member_whatever_the_statistics() {
    use scimd::store::groups::groups_of_many_sql;
    use scimd::store::users::view_sql;
    let db = TestDb::new();
    let mut conn = db.conn();
    let tenant = new_tenant(&mut conn, "grouped");
    // 100,000 users, every one in a group of 100,000 and the first ten in one of 10.
    diesel::sql_query(
        "WITH u AS (INSERT INTO users (id, tenant_id, user_name, resource)
           SELECT gen_random_uuid(), $1, 'user' || i || '@grouped.example', '{}'
           FROM generate_series(1, 100000) AS i RETURNING id, user_name),
         g AS (INSERT INTO groups (id, tenant_id, display_name, resource)
           VALUES (gen_random_uuid(), $1, 'Everyone', '{}'), (gen_random_uuid(), $1, 'Ten', '{}')
           RETURNING id, display_name)
         INSERT INTO group_members (tenant_id, group_id, member_id, member_type)
         SELECT $1, g.id, u.id, 'User' FROM u JOIN g ON g.display_name = 'Everyone'
            OR u.user_name ~ '^user([1-9]|10)@'",
    )
    .bind::<diesel::sql_types::Uuid, _>(tenant)
    .execute(&mut conn)
    .expect("seed");
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        id: uuid::Uuid,
    }
    let page: Vec<uuid::Uuid> =
        diesel::sql_query("SELECT id FROM users ORDER BY user_name LIMIT 100")
            .load::<Id>(&mut conn)
            .expect("a page of ids")
            .into_iter()
            .map(|r| r.id)
            .collect();
    // Vacuumed, not analysed: the visibility map makes an index-only walk of a tenant's
    // memberships look cheap.
    diesel::sql_query("VACUUM group_members")
        .execute(&mut conn)
        .expect("vacuum");
    for analysed in [false, true] {
        if analysed {
            diesel::sql_query("ANALYZE")
                .execute(&mut conn)
                .expect("analyze");
        }
        let plans = [
            ("by id", view_sql(tenant, page[0], true)),
            ("a page's", groups_of_many_sql(tenant, &page)),
        ];
        for (what, sql) in plans {
            for plan in [
                explain(&mut conn, sql.clone()),
                generic_plan(&mut conn, sql),
            ] {
                assert!(
                    plan.contains("group_members_member"),
                    "{what}, analysed: {analysed}:\n{plan}"
                );
                for walk in ["group_members_pkey", "Seq Scan on group_members"] {
                    assert!(
                        !plan.contains(walk),
                        "{what}, analysed: {analysed}, {walk}:\n{plan}"
                    );
                }
            }
            diesel::sql_query("RESET plan_cache_mode")
                .execute(&mut conn)
                .expect("reset");
        }
    }
}
