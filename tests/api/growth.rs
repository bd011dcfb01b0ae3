//! Plans do not depend on statistics (`store::plans`): statements the server prepared
//! while the users table was empty and had no statistics read a handful of pages per
//! request once the tenant has grown to 100,000 users, with no `ANALYZE` in between; and
//! the same when the only statistics are stale (taken while the table was empty).
//!
//! What a request reads is measured by PostgreSQL's own counters of the users table's
//! heap and index pages (`pg_statio_user_tables`, `pg_statio_user_indexes`): a plan that
//! scans one tenant's index entries to find one row reads hundreds of pages per request
//! at this size, one that uses the right index a few dozen at most (a create writes an
//! entry in each of the table's indexes).

use std::time::Duration;

use diesel::{QueryableByName, RunQueryDsl};
use serde_json::{json, Value};

use crate::helpers::{eventually, patch_op, spawn_app_with, urlencode, user_body, TestApp};

const GROWN: i64 = 100_000;

#[derive(QueryableByName)]
struct Pages {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// Pages of the users table and its indexes read or found in shared buffers, as far as
/// the server's connections have reported them (they do within a second of going idle).
fn users_pages(app: &TestApp) -> i64 {
    diesel::sql_query(
        "SELECT (SELECT coalesce(sum(idx_blks_hit + idx_blks_read), 0) \
                 FROM pg_statio_user_indexes WHERE relname = 'users')::bigint \
              + (SELECT heap_blks_hit + heap_blks_read \
                 FROM pg_statio_user_tables WHERE relname = 'users')::bigint AS n",
    )
    .get_result::<Pages>(&mut app.db.conn())
    .expect("page counters")
    .n
}

/// Ends the server's connections, which report what they read as they exit, and reads
/// the counters once they have. (The server opens new ones when it next needs them.)
fn reported(app: &TestApp) -> i64 {
    let mut conn = app.db.conn();
    diesel::sql_query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid() \
         AND backend_type = 'client backend'",
    )
    .execute(&mut conn)
    .expect("end the server's connections");
    for _ in 0..100 {
        let left: Pages = diesel::sql_query(
            "SELECT count(*) AS n FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        .get_result(&mut conn)
        .expect("connections");
        if left.n == 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    users_pages(app)
}

/// What an IdP sends in a provisioning cycle, `rounds` times: Entra's match lookup, a
/// read by id, a create (alone, then four at once, which go in one statement), a PATCH
/// of `active`, and a member swap on a group. Returns how many requests it made.
async fn cycle(app: &TestApp, token: &str, group: &str, round: &str, rounds: usize) -> i64 {
    let mut requests = 0;
    for r in 0..rounds {
        let known = format!("user{}@big.example", 1 + r * 3);
        let res = app
            .scim_get(
                token,
                &format!(
                    "/Users?filter={}",
                    urlencode(&format!("userName eq \"{known}\""))
                ),
            )
            .await;
        assert_eq!(res.status(), 200);
        let found: Value = res.json().await.expect("json");
        let id = found["Resources"][0]["id"]
            .as_str()
            .expect("a seeded user")
            .to_owned();
        let res = app.scim_get(token, &format!("/Users/{id}")).await;
        assert_eq!(res.status(), 200);
        let created = app
            .create_user(token, &user_body(&format!("{round}-{r}@new.example")))
            .await;
        let bodies: Vec<Value> = (0..4)
            .map(|k| user_body(&format!("{round}-{r}-{k}@new.example")))
            .collect();
        let together = futures_util::future::join_all(
            bodies
                .iter()
                .map(|body| app.scim_post(token, "/Users", body)),
        )
        .await;
        assert!(together.iter().all(|res| res.status() == 201));
        app.patch_ok(
            token,
            &format!("/Users/{id}"),
            json!([{"op": "Replace", "path": "active", "value": r % 2 == 0}]),
        )
        .await;
        let res = app
            .scim_patch(
                token,
                &format!("/Groups/{group}"),
                &patch_op(json!([
                    {"op": "Remove", "path": "members", "value": [{"value": id}]},
                    {"op": "Add", "path": "members", "value": [{"value": created["id"]}]},
                ])),
            )
            .await;
        assert!(res.status().is_success(), "{}", res.status());
        requests += 9;
    }
    requests
}

async fn grown_tenant_reads_little(stale_statistics: bool) {
    // Few connections, so that each runs every statement often enough to keep a
    // generic plan while the table is still empty.
    let app = spawn_app_with(|s| {
        s.pool_size = 2;
        s.workers = Some(1);
    })
    .await;
    let token = app.tenant_with_token("acme").await;
    // Each on a connection of its own, which reports what it read as it closes.
    let seed = |from: i64, to: i64| {
        diesel::sql_query(
            "INSERT INTO users (id, tenant_id, user_name, external_id, display_name, resource, \
             email, emails) \
             SELECT gen_random_uuid(), t.id, 'user' || i || '@big.example', 'ext-' || i, \
                    'User ' || i, jsonb_build_object('userName', 'user' || i || '@big.example'), \
                    'user' || i || '@big.example', jsonb_build_array('user' || i || '@big.example') \
             FROM tenants t, generate_series($1::bigint, $2::bigint) AS i WHERE t.slug = 'acme'",
        )
        .bind::<diesel::sql_types::BigInt, _>(from)
        .bind::<diesel::sql_types::BigInt, _>(to)
        .execute(&mut app.db.conn())
        .expect("seed users");
    };
    seed(1, 40);
    if stale_statistics {
        diesel::sql_query("ANALYZE users")
            .execute(&mut app.db.conn())
            .expect("analyze");
    }
    let group = app
        .create_group(&token, &json!({"displayName": "Everyone", "members": []}))
        .await["id"]
        .as_str()
        .expect("group id")
        .to_owned();
    // While the table is small, every connection settles on its plans.
    cycle(&app, &token, &group, "early", 8).await;

    seed(41, GROWN);
    let analysed: Pages = diesel::sql_query(
        "SELECT coalesce(max(reltuples), -1)::bigint AS n FROM pg_class WHERE relname = 'users'",
    )
    .get_result(&mut app.db.conn())
    .expect("reltuples");
    assert!(
        analysed.n < 1_000,
        "the planner must not know the table's size from statistics here ({})",
        analysed.n
    );
    // The server sees the growth (within a second or two) and every connection drops its
    // plans before its next request.
    let replanned = eventually(Duration::from_secs(10), || async {
        app.metrics()
            .await
            .lines()
            .any(|l| l.starts_with("scimd_db_replans_total ") && !l.ends_with(" 0"))
    })
    .await;
    assert!(replanned, "{}", app.metrics().await);

    // Idle for longer than PostgreSQL's 10 s between reports of an idle connection, so
    // that everything read before counts before.
    tokio::time::sleep(Duration::from_secs(11)).await;
    let before = users_pages(&app);
    let requests = cycle(&app, &token, &group, "late", 12).await;
    let after = reported(&app);
    let per_request = (after - before) / requests;
    eprintln!("users pages per request after growth: {per_request} ({requests} requests)");

    assert!(
        per_request < 100,
        "{per_request} pages of users per request: some statement reads the whole tenant"
    );
}

#[tokio::test]
async fn statements_planned_with_no_statistics_stay_on_their_indexes_as_the_tenant_grows() {
    grown_tenant_reads_little(false).await;
}

#[tokio::test]
async fn statements_planned_with_stale_statistics_stay_on_their_indexes_as_the_tenant_grows() {
    grown_tenant_reads_little(true).await;
}
