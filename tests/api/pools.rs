//! The node's pools: how many connections it opens at most, and how it comes back after
//! PostgreSQL restarts (on a server of this test's own, never the shared one).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::sql_types::BigInt;
use diesel::{PgConnection, QueryableByName, RunQueryDsl};
use serde_json::{json, Value};

use crate::helpers::{init_logs, spawn_app_on, user_body, TestApp, TestDb};
use crate::own_pg::{serve_on, OwnPostgres};

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Connections of the pools to this test's database: not the counting one, nor the
/// change listener's.
fn connections(conn: &mut PgConnection) -> i64 {
    diesel::sql_query(
        "SELECT count(*) AS n FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid() \
         AND application_name NOT LIKE 'scimd-listener-%'",
    )
    .get_result::<Count>(conn)
    .map(|c| c.n)
    .unwrap_or(0)
}

/// A tenant whose rate limit no test load reaches, its token, a user and a group.
async fn tenant_user_group(app: &TestApp) -> (String, String, String) {
    let token = app.tenant_with_token("acme").await;
    let res = app
        .client
        .patch(app.url("/admin/v1/tenants/acme"))
        .bearer_auth(&app.admin_key)
        .json(&json!({"rate_limit": {"per_second": 100000, "burst": 100000}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let user = app.create_user(&token, &user_body("ann@example.com")).await;
    let user = user["id"].as_str().unwrap().to_owned();
    let res = app
        .scim_post(&token, "/Groups", &json!({"displayName": "Staff"}))
        .await;
    assert_eq!(res.status(), 201);
    let group = app.json(res).await["id"].as_str().unwrap().to_owned();
    (token, user, group)
}

/// Reads by id (async connections) and member PATCHes of one group (the blocking pool,
/// each holding a connection while it waits for the group's row lock), from `clients`
/// clients for `run`.
async fn load(app: &TestApp, token: &str, user: &str, group: &str, clients: usize, run: Duration) {
    let until = Instant::now() + run;
    let mut tasks = Vec::new();
    for i in 0..clients {
        let (client, base) = (app.client.clone(), app.address.clone());
        let (token, user, group) = (token.to_owned(), user.to_owned(), group.to_owned());
        tasks.push(tokio::spawn(async move {
            while Instant::now() < until {
                let res = if i % 2 == 0 {
                    client
                        .get(format!("{base}/scim/v2/Users/{user}"))
                        .bearer_auth(&token)
                        .send()
                        .await
                } else {
                    let op = if i % 4 == 1 { "add" } else { "remove" };
                    let body = json!({
                        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                        "Operations": [{"op": op, "path": "members", "value": [{"value": user}]}],
                    });
                    client
                        .patch(format!("{base}/scim/v2/Groups/{group}"))
                        .bearer_auth(&token)
                        .header("content-type", "application/scim+json")
                        .json(&body)
                        .send()
                        .await
                };
                let status = res.map(|r| r.status().as_u16()).unwrap_or(0);
                assert!(matches!(status, 200 | 204), "status {status}");
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

/// The README's promise: a node's pools open at most `2 × SCIMD_POOL_SIZE` connections (the
/// blocking pool's, and as many async ones split across the workers), beside the one that
/// listens for changes.
#[tokio::test]
async fn a_node_opens_at_most_twice_its_pool_size() {
    for (pool_size, workers) in [(3, 2), (1, 2)] {
        let db = TestDb::new();
        let mut counter = db.conn();
        let app = spawn_app_on(db, |s| {
            s.pool_size = pool_size;
            s.workers = Some(workers);
            // Clients queue for a pool of one: a short wait would turn a slow machine's
            // queue into 503s, which is not what this test is about.
            s.pool_timeout = Duration::from_secs(20);
        })
        .await;
        let (token, user, group) = tenant_user_group(&app).await;

        let most = Arc::new(Mutex::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let sampler = {
            let (most, stop) = (most.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let n = connections(&mut counter);
                    let mut m = most.lock().unwrap();
                    *m = (*m).max(n);
                    drop(m);
                    std::thread::sleep(Duration::from_millis(5));
                }
            })
        };
        // At least 3 s, and on a busy machine longer (up to 15 s), until both pools have
        // been in use at once.
        let started = Instant::now();
        loop {
            load(&app, &token, &user, &group, 24, Duration::from_secs(1)).await;
            let both = *most.lock().unwrap() > i64::from(pool_size);
            let spent = started.elapsed();
            if (both && spent >= Duration::from_secs(3)) || spent >= Duration::from_secs(15) {
                break;
            }
        }
        stop.store(true, Ordering::Relaxed);
        sampler.join().unwrap();

        let budget = 2 * i64::from(pool_size);
        let most = *most.lock().unwrap();
        assert!(
            most <= budget,
            "pool size {pool_size}, {workers} workers: {most} connections, budget {budget}"
        );
        // Both pools were in use at once: either alone holds at most `pool_size`.
        assert!(
            most > i64::from(pool_size),
            "pool size {pool_size}, {workers} workers: only {most} connections at most"
        );
        let text = app.metrics().await;
        for pool in ["blocking", "async"] {
            let max =
                format!(r#"scimd_db_pool_connections{{pool="{pool}",state="max"}} {pool_size}"#);
            assert!(text.contains(&max), "{max} in {text}");
        }
    }
}

/// One request of the load; what it did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    ReadById,
    Lookup,
    Create,
    MemberPatch,
    GroupRead,
    Ready,
}

const KINDS: [Kind; 6] = [
    Kind::ReadById,
    Kind::Lookup,
    Kind::Create,
    Kind::MemberPatch,
    Kind::GroupRead,
    Kind::Ready,
];

struct Outcome {
    kind: Kind,
    started: Instant,
    status: u16,
    retry_after: bool,
}

/// POSTs `body` to `url` and returns the created resource's id, asserting 201.
async fn created_id(client: &reqwest::Client, url: String, token: &str, body: Value) -> String {
    let res = client
        .post(url)
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_pool_recovers_within_5s_of_postgres_restarting_under_load() {
    init_logs();
    let pg = OwnPostgres::start();
    let url = pg.url();
    scimd::store::database::migrate(&url).unwrap();
    let (base, token) = serve_on(&url, |settings| {
        settings.pool_size = 8;
        // Long enough that load alone (a busy machine) does not give 503s; during an
        // outage requests still fail within it.
        settings.pool_timeout = Duration::from_secs(3);
    });
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let scim = |path: &str| format!("{base}/scim/v2{path}");
    let create = |path: &str, body: Value| created_id(&client, scim(path), &token, body);
    let user = create("/Users", json!({"userName": "ann@example.com"})).await;
    let group = create("/Groups", json!({"displayName": "Staff"})).await;

    let stop = Arc::new(AtomicBool::new(false));
    let outcomes = Arc::new(Mutex::new(Vec::<Outcome>::new()));
    let mut clients = Vec::new();
    for (i, kind) in KINDS.iter().cycle().take(12).copied().enumerate() {
        let (client, base, token) = (client.clone(), base.clone(), token.clone());
        let (user, group) = (user.clone(), group.clone());
        let (stop, outcomes) = (stop.clone(), outcomes.clone());
        clients.push(tokio::spawn(async move {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let scim = |path: String| format!("{base}/scim/v2{path}");
                let request = match kind {
                    Kind::ReadById => client.get(scim(format!("/Users/{user}"))),
                    Kind::Lookup => client.get(scim(
                        "/Users?filter=userName%20eq%20%22ann@example.com%22".into(),
                    )),
                    Kind::Create => client.post(scim("/Users".into())).json(
                        &json!({"userName": format!("c{i}-{n}@example.com")}),
                    ),
                    Kind::MemberPatch => {
                        let op = if n.is_multiple_of(2) { "add" } else { "remove" };
                        client.patch(scim(format!("/Groups/{group}"))).json(&json!({
                            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                            "Operations": [{"op": op, "path": "members", "value": [{"value": user}]}],
                        }))
                    }
                    Kind::GroupRead => client.get(scim(format!(
                        "/Groups/{group}?excludedAttributes=members"
                    ))),
                    Kind::Ready => client.get(format!("{base}/readyz")),
                };
                let started = Instant::now();
                let res = request.bearer_auth(&token).send().await;
                let (status, retry_after) = match res {
                    Ok(r) => (r.status().as_u16(), r.headers().contains_key("retry-after")),
                    Err(_) => (0, false),
                };
                outcomes.lock().unwrap().push(Outcome {
                    kind,
                    started,
                    status,
                    retry_after,
                });
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }));
    }

    // Restarts in a row, each followed by the load it must come back under.
    // (when it began, when PostgreSQL accepted connections again)
    let mut restarts = Vec::new();
    tokio::time::sleep(Duration::from_secs(1)).await;
    for _ in 0..3 {
        let began = Instant::now();
        let pg_ref = &pg;
        tokio::task::block_in_place(|| pg_ref.restart());
        restarts.push((began, Instant::now()));
        tokio::time::sleep(Duration::from_secs(11)).await;
    }
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.await.unwrap();
    }

    let outcomes = std::mem::take(&mut *outcomes.lock().unwrap());
    let ok = |o: &Outcome| (200..300).contains(&o.status);
    // No 500s; a request that failed during an outage is a 503 with Retry-After (readyz,
    // which is not a SCIM endpoint, answers a plain 503).
    for o in outcomes.iter().filter(|o| !ok(o)) {
        assert_eq!(o.status, 503, "{:?} answered {}", o.kind, o.status);
        assert!(
            o.retry_after || o.kind == Kind::Ready,
            "{:?}: 503 without Retry-After",
            o.kind
        );
    }
    for (i, (_, up)) in restarts.iter().enumerate() {
        // Up to the next restart, less the time a request started just before it may
        // still be running when it begins (and fail because of it): the pool timeout and
        // a margin.
        let next = restarts.get(i + 1).map_or_else(Instant::now, |r| r.0);
        let window_end = next - Duration::from_secs(4);
        for kind in KINDS {
            let after: Vec<&Outcome> = outcomes
                .iter()
                .filter(|o| o.kind == kind && o.started >= *up && o.started < window_end)
                .collect();
            // Back when every request from then on succeeded.
            let last_failure = after.iter().filter(|o| !ok(o)).map(|o| o.started).max();
            let back = last_failure.map_or(Duration::ZERO, |t| t.duration_since(*up));
            println!("restart {}: {kind:?} back after {back:?}", i + 1);
            let failures: Vec<(Duration, u16)> = after
                .iter()
                .filter(|o| !ok(o))
                .map(|o| (o.started.duration_since(*up), o.status))
                .collect();
            assert!(
                back < Duration::from_secs(5),
                "restart {}: {kind:?} still failing {back:?} after PostgreSQL accepted \
                 connections; failures (since then, status): {failures:?}",
                i + 1
            );
            let late = after
                .iter()
                .filter(|o| o.started >= *up + Duration::from_secs(5))
                .count();
            assert!(
                late >= 10,
                "restart {}: only {late} {kind:?} requests to judge",
                i + 1
            );
        }
    }

    // A quiet restart, with the blocking pool holding the idle connections the load left.
    // Reads that run outside a transaction (a group read) return their connection to the
    // pool whatever happened to it, so a pool that kept a dead connection would fail such
    // reads one after another. At most the first may fail (it finds the server gone).
    let pg_ref = &pg;
    tokio::task::block_in_place(|| pg_ref.restart());
    let mut statuses = Vec::new();
    for _ in 0..20 {
        let res = client
            .get(scim(&format!("/Groups/{group}?excludedAttributes=members")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        statuses.push(res.status().as_u16());
    }
    let failed = statuses.iter().filter(|s| **s != 200).count();
    assert!(
        failed <= 1 && statuses[1..].iter().all(|s| *s == 200),
        "group reads after a quiet restart: {statuses:?}"
    );
}
