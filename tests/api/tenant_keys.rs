//! Ready to be distributed by tenant (issue 22, point 7): every tenant-owned table's
//! primary key and unique indexes include `tenant_id`, every foreign key between
//! tenant-owned tables carries it, and every statement scimd sends about a tenant-owned
//! table names it. The first two are read from the catalog; the third from
//! `pg_stat_statements` on a PostgreSQL of the test's own, after a workload that goes
//! through SCIM, the admin API, a pull sync and housekeeping.

use std::collections::BTreeSet;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::sql_types::{Bool, Text};
use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl};
use scimd::clock::Clock;
use serde_json::json;

use crate::helpers::{patch_op, spawn_app_on, user_body, TestApp, TestDb};
use crate::own_pg::OwnPostgres;
use crate::sync::{connect, sync, tune, user};

/// The tables that are not a tenant's, each with why: small, read before the tenant is
/// known or not about one tenant. In a distributed deployment they are reference tables,
/// copied to every node.
const GLOBAL: &[(&str, &str)] = &[
    ("tenants", "the tenants themselves"),
    (
        "scim_tokens",
        "found by the key id a request presents, before its tenant is known",
    ),
    ("admin_keys", "the platform's, no tenant's"),
    ("console_sessions", "an operator's, no tenant's"),
    (
        "connect_links",
        "found by the token in a link's URL, before its tenant is known",
    ),
    ("job_leases", "one per housekeeping job, across tenants"),
    ("__diesel_schema_migrations", "the migrations run"),
];

/// Statements that are about many tenants at once, each with why. In a distributed
/// deployment they run on every shard (the README's section on scaling).
const ACROSS_TENANTS: &[(&str, &str)] = &[
    (
        "AND lease_until <",
        "the sync queue's reaper: runs of any tenant whose node died",
    ),
    (
        "\"sync_runs\".\"lease_owner\" =",
        "a node handing its own runs back as it stops",
    ),
    (
        "coalesce(last_success_at, created_at)",
        "the metric of the connection that has waited longest for a success",
    ),
];

#[derive(QueryableByName)]
struct Line {
    #[diesel(sql_type = Text)]
    line: String,
}

#[derive(QueryableByName)]
struct Flag {
    #[diesel(sql_type = Bool)]
    ok: bool,
}

fn lines(conn: &mut PgConnection, sql: &str) -> Vec<String> {
    diesel::sql_query(sql)
        .load::<Line>(conn)
        .expect("catalog query")
        .into_iter()
        .map(|l| l.line)
        .collect()
}

fn global(table: &str) -> bool {
    GLOBAL.iter().any(|(t, _)| *t == table)
}

/// Every way the schema breaks the rule, one line each; none when it keeps it.
fn violations(conn: &mut PgConnection) -> Vec<String> {
    let mut out = Vec::new();
    let tables = lines(
        conn,
        "SELECT c.relname || '|' || coalesce((SELECT a.attnotnull::text FROM pg_attribute a \
         WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped), 'none') \
         AS line FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace \
         AND c.relkind IN ('r', 'p') ORDER BY 1",
    );
    let mut owned = BTreeSet::new();
    for t in &tables {
        let (name, tenant) = t.split_once('|').unwrap_or((t, "none"));
        if global(name) {
            continue;
        }
        match tenant {
            "true" => {
                owned.insert(name.to_owned());
            }
            "false" => out.push(format!("{name}: tenant_id may be NULL")),
            _ => out.push(format!(
                "{name}: no tenant_id column, and not one of the global tables"
            )),
        }
    }
    // Primary keys and unique indexes (constraints or not) of tenant-owned tables: the
    // key columns must include tenant_id.
    let unique = lines(
        conn,
        "SELECT c.relname || '|' || i.relname || '|' || x.indisprimary::text || '|' || \
         (EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid \
          AND a.attname = 'tenant_id' AND a.attnum = ANY (x.indkey::int2[])))::text AS line \
         FROM pg_index x JOIN pg_class c ON c.oid = x.indrelid JOIN pg_class i ON i.oid = x.indexrelid \
         WHERE c.relnamespace = 'public'::regnamespace AND x.indisunique ORDER BY 1",
    );
    let mut keyed = BTreeSet::new();
    for u in &unique {
        let parts: Vec<&str> = u.split('|').collect();
        let [table, index, primary, has] = parts[..] else {
            continue;
        };
        if !owned.contains(table) {
            continue;
        }
        if primary == "true" {
            keyed.insert(table.to_owned());
        }
        if has != "true" {
            out.push(format!(
                "{table}: unique index {index} does not include tenant_id"
            ));
        }
    }
    for table in &owned {
        if !keyed.contains(table) {
            out.push(format!("{table}: no primary key"));
        }
    }
    // Foreign keys: between tenant-owned tables, tenant_id on both sides at the same
    // place; from a global table, never to a tenant-owned one.
    let fks = lines(
        conn,
        "SELECT c.relname || '|' || f.relname || '|' || k.conname || '|' || \
         (EXISTS (SELECT 1 FROM unnest(k.conkey, k.confkey) AS p(a, b) \
          JOIN pg_attribute x ON x.attrelid = k.conrelid AND x.attnum = p.a \
          JOIN pg_attribute y ON y.attrelid = k.confrelid AND y.attnum = p.b \
          WHERE x.attname = 'tenant_id' AND y.attname = 'tenant_id'))::text AS line \
         FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid \
         JOIN pg_class f ON f.oid = k.confrelid \
         WHERE k.contype = 'f' AND c.relnamespace = 'public'::regnamespace ORDER BY 1",
    );
    for fk in &fks {
        let parts: Vec<&str> = fk.split('|').collect();
        let [from, to, name, carries] = parts[..] else {
            continue;
        };
        let (from_owned, to_owned) = (owned.contains(from), owned.contains(to));
        if from_owned && to_owned && carries != "true" {
            out.push(format!(
                "{from}: foreign key {name} to {to} does not carry tenant_id"
            ));
        }
        if !from_owned && to_owned {
            out.push(format!(
                "{from}: a global table's foreign key {name} points at tenant-owned {to}"
            ));
        }
    }
    out
}

#[test]
fn every_tenant_owned_table_is_keyed_and_referenced_by_tenant() {
    let db = TestDb::new();
    let mut conn = db.conn();
    let found = violations(&mut conn);
    assert!(found.is_empty(), "{found:#?}");
    // And the rule is about something: most tables are tenant-owned.
    let owned = lines(
        &mut conn,
        "SELECT c.relname AS line FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid \
         WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' \
         AND a.attname = 'tenant_id'",
    );
    for table in [
        "users",
        "groups",
        "group_members",
        "events",
        "sync_plan_items",
    ] {
        assert!(owned.iter().any(|t| t == table), "{table}: {owned:?}");
    }
}

#[test]
fn the_catalog_check_names_each_table_that_breaks_the_rule() {
    let db = TestDb::new();
    let mut conn = db.conn();
    conn.batch_execute(
        "CREATE TABLE stray (id int PRIMARY KEY); \
         CREATE TABLE loose (tenant_id uuid, id int PRIMARY KEY); \
         CREATE TABLE by_id (tenant_id uuid NOT NULL, id uuid PRIMARY KEY); \
         CREATE TABLE keyed (tenant_id uuid NOT NULL, id uuid, code text, \
             PRIMARY KEY (tenant_id, id), UNIQUE (code)); \
         CREATE TABLE pointing (tenant_id uuid NOT NULL, id uuid, group_id uuid, \
             PRIMARY KEY (tenant_id, id)); \
         ALTER TABLE groups ADD CONSTRAINT groups_id_alone UNIQUE (id); \
         ALTER TABLE pointing ADD FOREIGN KEY (group_id) REFERENCES groups (id); \
         ALTER TABLE job_leases ADD COLUMN user_tenant uuid, ADD COLUMN user_id uuid; \
         ALTER TABLE job_leases ADD FOREIGN KEY (user_tenant, user_id) \
             REFERENCES users (tenant_id, id);",
    )
    .expect("tables that break the rule");
    let found = violations(&mut conn).join("\n");
    for expected in [
        "stray: no tenant_id column",
        "loose: tenant_id may be NULL",
        "by_id: unique index by_id_pkey does not include tenant_id",
        "keyed: unique index keyed_code_key does not include tenant_id",
        "groups: unique index groups_id_alone does not include tenant_id",
        "pointing: foreign key pointing_group_id_fkey to groups does not carry tenant_id",
        "job_leases: a global table's foreign key",
    ] {
        assert!(found.contains(expected), "{expected}\nin:\n{found}");
    }
}

#[derive(QueryableByName)]
struct Statement {
    #[diesel(sql_type = Text)]
    query: String,
}

/// The workload: a bit of everything that writes or reads tenant-owned rows.
async fn workload(app: &TestApp, fake: &crate::fake_graph::FakeGraph) {
    // Push: SCIM as Entra and Okta send it.
    let token = app.tenant_with_token("push").await;
    let ids = app
        .create_users(&token, (0..4).map(|i| format!("p{i}@push.example")))
        .await;
    let (a, b) = (ids[0].clone(), ids[1].clone());
    for path in [
        format!("/Users/{a}"),
        "/Users?filter=userName%20eq%20%22p2@push.example%22".to_owned(),
        "/Users?startIndex=1&count=2".to_owned(),
        "/Users?filter=emails.value%20eq%20%22p3@push.example%22".to_owned(),
    ] {
        assert_eq!(app.scim_get(&token, &path).await.status(), 200, "{path}");
    }
    app.patch_ok(
        &token,
        &format!("/Users/{a}"),
        json!([{"op": "Replace", "path": "active", "value": "False"}]),
    )
    .await;
    let mut body = user_body("p1@push.example");
    body["displayName"] = json!("P One");
    let res = app.scim_put(&token, &format!("/Users/{b}"), &body).await;
    assert_eq!(res.status(), 200);
    let group = app
        .create_group(
            &token,
            &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                    "displayName": "Team", "members": [{"value": a}]}),
        )
        .await;
    let g = group["id"].as_str().expect("group id").to_owned();
    let res = app
        .scim_patch(
            &token,
            &format!("/Groups/{g}"),
            &patch_op(json!([
                {"op": "Add", "path": "members", "value": [{"value": b}, {"value": ids[2]}]},
                {"op": "Remove", "path": format!("members[value eq \"{a}\"]")}
            ])),
        )
        .await;
    assert!(res.status().is_success(), "{}", res.status());
    for path in [
        format!("/Groups/{g}"),
        "/Groups?filter=displayName%20eq%20%22Team%22&excludedAttributes=members".to_owned(),
        format!("/Users/{b}"),
    ] {
        assert_eq!(app.scim_get(&token, &path).await.status(), 200, "{path}");
    }
    let res = app
        .scim_patch(
            &token,
            &format!("/Groups/{g}"),
            &patch_op(json!([{"op": "Replace", "path": "displayName", "value": "Team 2"}])),
        )
        .await;
    assert!(res.status().is_success(), "{}", res.status());
    assert_eq!(
        app.scim_delete(&token, &format!("/Users/{}", ids[3]))
            .await
            .status(),
        204
    );

    // The admin API.
    let t = "/admin/v1/tenants/push";
    for path in [
        format!("{t}/people?limit=50"),
        format!("{t}/people/{b}"),
        format!("{t}/people/counts"),
        format!("{t}/events?after=0&limit=100"),
        format!("{t}/people/{b}/history"),
        format!("{t}/tokens"),
    ] {
        let res = app.admin_get(&path).await;
        assert_eq!(res.status(), 200, "{path}");
    }
    assert!(app
        .metrics()
        .await
        .contains("scimd_sync_oldest_success_age_seconds"));
    let res = app
        .admin_post(&format!("{t}/people/deactivate"), &json!({"ids": [b]}))
        .await;
    assert_eq!(res.status(), 200);
    let res = app
        .admin_post(&format!("{t}/people/reactivate"), &json!({"ids": [b]}))
        .await;
    assert_eq!(res.status(), 200);
    let res = app
        .admin_post(&format!("{t}/groups/{g}/exclude"), &json!({}))
        .await;
    assert_eq!(res.status(), 200);
    let res = app.import_csv("push", "email\nc1@push.example\n").await;
    assert!(res.status().is_success(), "{}", res.status());
    let res = app
        .admin_patch(t, &json!({"erase_deprovisioned_after": "1d"}))
        .await;
    assert_eq!(res.status(), 200);

    // The console's import: a dry run, followed, then confirmed.
    let browser = crate::console::Browser::signed_in(app).await;
    let csrf = browser.token().await;
    let file = "email\nc2@push.example\n";
    let checked = browser
        .start_import("push", &[("csrf", &csrf), ("csv", file)])
        .await;
    browser.import_ended("push", &checked).await;
    let page = browser
        .get(&format!("/console/t/push/imports/{checked}"))
        .await;
    assert_eq!(page.status(), 200);
    let imported = browser
        .start_import("push", &[("csrf", &csrf), ("job", &checked)])
        .await;
    let panel = browser.import_ended("push", &imported).await;
    assert!(panel.contains("Imported"), "{panel}");

    // A connect link, used: the directory connects to tenant `linked`, which then goes.
    let res = app
        .admin_post("/admin/v1/tenants", &json!({"slug": "linked"}))
        .await;
    assert_eq!(res.status(), 201);
    let (_, path) = crate::connect_links::make_link(
        app,
        "linked",
        json!({"provider": "graph", "scope": {"type": "all"}}),
    )
    .await;
    let state = crate::connect_links::state_of(app, &path).await;
    let (status, html) = crate::connect_links::consented(app, &state, &fake.options().tenant).await;
    assert_eq!(status, 200, "{html}");
    assert_eq!(
        app.admin_delete("/admin/v1/tenants/linked").await.status(),
        204
    );

    // Pull: two runs from Microsoft Graph, with a group and a leaver.
    let (u0, u1) = (user(0).0, user(1).0);
    fake.add_group(
        "20000000-0000-4000-8000-00000000000a",
        json!({"displayName": "Sales"}),
        &[&u0, &u1],
    );
    connect(app, fake, "pull", json!({"type": "all"})).await;
    let run = sync(app, "pull", false).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    fake.remove_user(&u1, "deleted");
    fake.update_user(&u0, json!({"department": "Support"}));
    let run = sync(app, "pull", false).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    let id = run["id"].as_str().expect("run id");
    for path in [
        format!("/admin/v1/tenants/pull/sync-runs/{id}/plan"),
        "/admin/v1/tenants/pull/sync-runs".to_owned(),
    ] {
        assert_eq!(app.admin_get(&path).await.status(), 200, "{path}");
    }

    // Housekeeping, years on, then a tenant deleted.
    app.clock.advance(chrono::Duration::days(800));
    let keeper = scimd::provisioning::retention::Housekeeper::new(
        app.pool.clone(),
        app.clock.clone(),
        scimd::provisioning::retention::Policy::new(Duration::from_secs(400 * 24 * 3600)),
        Duration::ZERO,
    );
    let done = keeper
        .run_once(app.clock.now())
        .await
        .expect("housekeeping");
    assert!(done.ran && done.finished, "{done:?}");
    assert!(done.events_pruned > 0 && done.runs_pruned > 0 && done.people_erased > 0);
    assert_eq!(app.admin_delete(t).await.status(), 204);
}

#[tokio::test]
async fn every_statement_on_a_tenant_owned_table_names_its_tenant() {
    let pg = OwnPostgres::start_with(|_| {
        "shared_preload_libraries = 'pg_stat_statements'\n\
         pg_stat_statements.max = 10000\n\
         pg_stat_statements.track_utility = off\n"
            .to_owned()
    });
    let name = format!("scimd_keys_{}", uuid::Uuid::new_v4().simple());
    let server = pg.url_with("sslmode=disable");
    let mut admin = PgConnection::establish(server.with_database("postgres").expose())
        .expect("connect to the test's own server");
    diesel::sql_query(format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .expect("create database");
    diesel::sql_query("CREATE EXTENSION pg_stat_statements")
        .execute(&mut admin)
        .expect("pg_stat_statements");
    // Dropped with the server, not by the shared one (which has no database of the name).
    let db = TestDb {
        name: name.clone(),
        url: server.with_database(&name),
    };
    scimd::store::database::migrate(&db.url).expect("migrate");
    // The directory's tenant id is a GUID, as a connect link's consent needs.
    let fake = crate::fake_graph::FakeGraph::start(crate::fake_graph::FakeOptions {
        tenant: "7e3a0c55-1b2d-4c3e-9f4a-5b6c7d8e9f01".into(),
        ..crate::fake_graph::FakeOptions::default()
    })
    .await;
    for i in 0..3 {
        let (id, props) = user(i);
        fake.add_user(&id, props);
    }
    let options = fake.options();
    let app = spawn_app_on(db, |s| {
        tune(&fake)(s);
        // For connect links.
        s.public_url = Some(crate::connect_links::PUBLIC.into());
        s.graph_app = Some(scimd::config::PlatformApp {
            client_id: options.client_id,
            client_secret: scimd::config::Secret::new(options.client_secret),
        });
    })
    .await;
    // The migrations and the first start are done: count from here.
    diesel::sql_query("SELECT pg_stat_statements_reset()")
        .execute(&mut admin)
        .expect("reset");

    workload(&app, &fake).await;

    let owned: Vec<String> = {
        let mut conn = app.db.conn();
        lines(
            &mut conn,
            "SELECT c.relname AS line FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid \
             WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' \
             AND a.attname = 'tenant_id' ORDER BY 1",
        )
        .into_iter()
        .filter(|t| !global(t))
        .collect()
    };
    let statements: Vec<String> = diesel::sql_query(format!(
        "SELECT s.query FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid \
         WHERE d.datname = '{name}'"
    ))
    .load::<Statement>(&mut admin)
    .expect("pg_stat_statements")
    .into_iter()
    .map(|s| s.query)
    .collect();
    let mentions = |q: &str, table: &str| {
        q.match_indices(table).any(|(at, _)| {
            let before = q[..at].chars().next_back();
            let after = q[at + table.len()..].chars().next();
            let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
            !word(before) && !word(after)
        })
    };
    let mut touched = BTreeSet::new();
    let mut unkeyed = Vec::new();
    for q in &statements {
        let tables: Vec<&String> = owned.iter().filter(|t| mentions(q, t)).collect();
        if tables.is_empty() {
            continue;
        }
        touched.extend(tables.iter().map(|t| t.to_string()));
        if q.contains("tenant_id") || ACROSS_TENANTS.iter().any(|(s, _)| q.contains(s)) {
            continue;
        }
        unkeyed.push(q.clone());
    }
    assert!(
        unkeyed.is_empty(),
        "statements on tenant-owned tables that do not name tenant_id:\n{}",
        unkeyed.join("\n\n")
    );
    // The workload reached every tenant-owned table, so the audit covered them all.
    let missed: Vec<&String> = owned.iter().filter(|t| !touched.contains(*t)).collect();
    assert!(missed.is_empty(), "no statement touched {missed:?}");
    let ok: Flag = diesel::sql_query("SELECT count(*) > 50 AS ok FROM pg_stat_statements")
        .get_result(&mut admin)
        .expect("count");
    assert!(
        ok.ok,
        "the workload sent too few statements to say anything"
    );
}

#[derive(QueryableByName, Debug, PartialEq)]
struct Counted {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

fn count_of(conn: &mut PgConnection, sql: &str) -> i64 {
    diesel::sql_query(sql)
        .get_result::<Counted>(conn)
        .expect("count")
        .n
}

#[test]
fn the_migration_keeps_every_row_and_gives_a_runs_rows_their_tenant() {
    use diesel_migrations::MigrationHarness;
    let db = TestDb::new();
    let mut conn = db.conn();
    // Back to the schema before the migration (and those after it), with rows of two
    // tenants in it.
    loop {
        let reverted = conn
            .revert_last_migration(scimd::store::database::MIGRATIONS)
            .expect("revert");
        if reverted
            .to_string()
            .replace('-', "")
            .starts_with("20261209000001")
        {
            break;
        }
    }
    conn.batch_execute(
        "INSERT INTO tenants (id, slug, name) VALUES \
           ('00000000-0000-4000-8000-0000000000a1', 'one', 'One'), \
           ('00000000-0000-4000-8000-0000000000a2', 'two', 'Two'); \
         INSERT INTO users (id, tenant_id, user_name, active, resource, emails) \
           SELECT gen_random_uuid(), t.id, t.slug || i || '@x.example', true, '{}', '[]' \
           FROM tenants t, generate_series(1, 50) i WHERE t.slug IN ('one', 'two'); \
         INSERT INTO groups (id, tenant_id, display_name, resource) \
           SELECT gen_random_uuid(), id, 'All', '{}' FROM tenants WHERE slug IN ('one', 'two'); \
         INSERT INTO group_members (group_id, member_id, member_type, tenant_id) \
           SELECT g.id, u.id, 'User', u.tenant_id FROM groups g \
           JOIN users u ON u.tenant_id = g.tenant_id; \
         INSERT INTO events (tenant_id, type, resource_type, resource_id, actor, id) \
           SELECT u.tenant_id, 'user.created', 'User', u.id, 'test', \
                  row_number() OVER (ORDER BY u.tenant_id, u.id) FROM users u; \
         INSERT INTO sync_runs (id, tenant_id, provider, trigger, status) \
           SELECT gen_random_uuid(), id, 'graph', 'manual', 'held' FROM tenants \
           WHERE slug IN ('one', 'two'); \
         INSERT INTO sync_staged_users (run_id, source_ref, raw) \
           SELECT r.id, 'ref-' || i, '{}' FROM sync_runs r, generate_series(1, 7) i; \
         INSERT INTO sync_staged_groups (run_id, source_ref, raw) \
           SELECT r.id, 'g', '{}' FROM sync_runs r; \
         INSERT INTO sync_staged_members (run_id, group_ref, member_ref) \
           SELECT r.id, 'g', 'ref-' || i FROM sync_runs r, generate_series(1, 3) i; \
         INSERT INTO sync_plan_items (run_id, ord, action) \
           SELECT r.id, i, 'create' FROM sync_runs r, generate_series(1, 5) i;",
    )
    .expect("rows in the old shape");
    let tables = [
        ("users", 100),
        ("groups", 2),
        ("group_members", 100),
        ("events", 100),
        ("sync_runs", 2),
        ("sync_staged_users", 14),
        ("sync_staged_groups", 2),
        ("sync_staged_members", 6),
        ("sync_plan_items", 10),
    ];
    for (table, n) in tables {
        assert_eq!(
            count_of(&mut conn, &format!("SELECT count(*) AS n FROM {table}")),
            n,
            "{table} before"
        );
    }

    conn.run_pending_migrations(scimd::store::database::MIGRATIONS)
        .expect("migrate again");
    for (table, n) in tables {
        assert_eq!(
            count_of(&mut conn, &format!("SELECT count(*) AS n FROM {table}")),
            n,
            "{table} after"
        );
    }
    for table in [
        "sync_staged_users",
        "sync_staged_groups",
        "sync_staged_members",
        "sync_plan_items",
    ] {
        assert_eq!(
            count_of(
                &mut conn,
                &format!(
                    "SELECT count(*) AS n FROM {table} s JOIN sync_runs r \
                     ON r.id = s.run_id AND r.tenant_id = s.tenant_id"
                )
            ),
            count_of(&mut conn, &format!("SELECT count(*) AS n FROM {table}")),
            "{table}: every row has its run's tenant"
        );
    }
    assert!(violations(&mut conn).is_empty());
    // The feed goes on per tenant from each tenant's highest position.
    let tenant = uuid::Uuid::parse_str("00000000-0000-4000-8000-0000000000a1").expect("uuid");
    let top = count_of(
        &mut conn,
        &format!("SELECT max(id) AS n FROM events WHERE tenant_id = '{tenant}'"),
    );
    diesel::sql_query(
        "INSERT INTO events (tenant_id, type, resource_type, actor) \
         VALUES ($1, 'tenant.updated', 'Tenant', 'test')",
    )
    .bind::<diesel::sql_types::Uuid, _>(tenant)
    .execute(&mut conn)
    .expect("a new event");
    assert_eq!(
        scimd::store::events::sequence(&mut conn, tenant).expect("sequence"),
        1
    );
    assert_eq!(
        count_of(
            &mut conn,
            &format!("SELECT max(id) AS n FROM events WHERE tenant_id = '{tenant}'"),
        ),
        top + 1
    );
}
