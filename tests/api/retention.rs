//! Years of data: events past `SCIMD_EVENT_RETENTION` are pruned in batches by one node at
//! a time and a feed read from before them answers 410; sync runs and their plans are kept
//! 90 days; deprovisioned people are erased after the tenant's `erase_deprovisioned_after`.
//! Time moves on the injected clock; the housekeeping step is called directly.

use std::time::{Duration, Instant};

use diesel::prelude::*;
use diesel::sql_types::Uuid as SqlUuid;
use serde_json::{json, Value};

use scimd::clock::Clock;
use scimd::provisioning::retention::{Housekeeper, Outcome, Policy};
use scimd::store::retention as store;

use crate::helpers::{count, spawn_app, spawn_app_with_tenant, user_body, TestApp};

const T: &str = "/admin/v1/tenants/acme";

fn tenant_id(app: &TestApp, slug: &str) -> uuid::Uuid {
    use scimd::store::schema::tenants;
    tenants::table
        .filter(tenants::slug.eq(slug))
        .select(tenants::id)
        .first(&mut app.db.conn())
        .unwrap()
}

/// A housekeeper on the app's database that may run again at once, with small batches.
fn housekeeper(app: &TestApp, batch: i64) -> Housekeeper {
    let policy = Policy {
        batch,
        ..Policy::new(Duration::from_secs(400 * 24 * 3600))
    };
    Housekeeper::new(app.pool.clone(), app.clock.clone(), policy, Duration::ZERO)
}

async fn feed(app: &TestApp, path: &str, after: i64) -> (u16, Value) {
    let res = app
        .admin_get(&format!("{path}/events?after={after}&limit=1000"))
        .await;
    let status = res.status().as_u16();
    (status, res.json().await.unwrap())
}

/// Marks acme's events up to feed position `through` as having occurred `days` ago
/// (positions are numbered per tenant).
fn age_events(app: &TestApp, through: i64, days: i64) {
    diesel::sql_query(format!(
        "UPDATE events SET occurred_at = now() - interval '{days} days' WHERE id <= {through} \
         AND tenant_id = (SELECT id FROM tenants WHERE slug = 'acme')"
    ))
    .execute(&mut app.db.conn())
    .unwrap();
}

#[tokio::test]
async fn events_past_the_retention_are_pruned_in_batches_and_a_read_from_before_them_is_410() {
    let (app, token) = spawn_app_with_tenant("acme").await;
    let other = app.tenant_with_token("globex").await;
    app.create_users(&token, (0..7).map(|i| format!("old{i}@acme.test")))
        .await;
    let (status, page) = feed(&app, T, 0).await;
    assert_eq!(status, 200);
    let old_through = page["next_after"].as_i64().unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 7);
    // Those seven are 401 days old; what follows is new.
    age_events(&app, old_through, 401);
    app.create_users(&token, (0..3).map(|i| format!("new{i}@acme.test")))
        .await;
    app.create_user(&other, &user_body("ann@globex.test")).await;
    let (_, page) = feed(&app, T, old_through).await;
    let kept: Vec<i64> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_i64().unwrap())
        .collect();
    assert_eq!(kept.len(), 3);

    // Batches of 3: the seven old events take three statements.
    let outcome = housekeeper(&app, 3)
        .run_once(app.clock.now())
        .await
        .unwrap();
    assert_eq!(
        outcome,
        Outcome {
            ran: true,
            events_pruned: 7,
            finished: true,
            ..Outcome::default()
        }
    );
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT count(*) AS n FROM events WHERE id <= {old_through} \
                 AND tenant_id = (SELECT id FROM tenants WHERE slug = 'acme')"
            )
        ),
        0
    );

    // A reader that started before the pruned events learns it missed some.
    for after in [0, old_through - 1] {
        let (status, problem) = feed(&app, T, after).await;
        assert_eq!(status, 410, "{problem}");
        assert_eq!(problem["type"], "https://scimd.dev/problems/events-pruned");
        assert_eq!(problem["error"], "events_pruned");
        assert_eq!(problem["status"], 410);
        assert_eq!(problem["oldest_id"], kept[0], "{problem}");
        assert_eq!(problem["resume_after"], old_through, "{problem}");
    }
    // One that read them all goes on as before, and so does a resumed one.
    let (status, page) = feed(&app, T, old_through).await;
    assert_eq!(status, 200);
    assert_eq!(page["items"][0]["id"], kept[0]);
    // Another tenant none of whose events were pruned reads from the start.
    let (status, page) = feed(&app, "/admin/v1/tenants/globex", 0).await;
    assert_eq!(status, 200);
    assert_eq!(page["items"].as_array().unwrap().len(), 1);

    // A second pass finds nothing more to prune.
    let again = housekeeper(&app, 3)
        .run_once(app.clock.now())
        .await
        .unwrap();
    assert_eq!(again.events_pruned, 0);
}

#[tokio::test]
async fn the_newest_event_is_kept_even_when_every_event_is_old_and_ids_go_on_from_it() {
    let (app, token) = spawn_app_with_tenant("acme").await;
    app.create_users(&token, (0..3).map(|i| format!("u{i}@acme.test")))
        .await;
    let (_, page) = feed(&app, T, 0).await;
    let last = page["next_after"].as_i64().unwrap();
    age_events(&app, last, 500);
    let outcome = housekeeper(&app, 10)
        .run_once(app.clock.now())
        .await
        .unwrap();
    assert_eq!(outcome.events_pruned, 2);
    app.create_user(&token, &user_body("next@acme.test")).await;
    let (status, page) = feed(&app, T, last).await;
    assert_eq!(status, 200);
    assert!(page["items"][0]["id"].as_i64().unwrap() > last, "{page}");
}

#[tokio::test]
async fn pruning_many_events_never_holds_up_writers() {
    let (app, token) = spawn_app_with_tenant("acme").await;
    let tenant = tenant_id(&app, "acme");
    // 60,000 events a year and a half old, sequenced.
    diesel::sql_query(
        "INSERT INTO events (tenant_id, type, resource_type, actor, occurred_at) \
         SELECT $1, 'user.updated', 'User', 'test', now() - interval '550 days' \
         FROM generate_series(1, 60000)",
    )
    .bind::<SqlUuid, _>(tenant)
    .execute(&mut app.db.conn())
    .unwrap();
    // And one new event, read (so sequenced) after them: the newest is not an old one.
    app.create_user(&token, &user_body("new@acme.test")).await;
    let (status, _) = feed(&app, T, 0).await;
    assert_eq!(status, 200);

    let keeper = housekeeper(&app, 10_000);
    let now = app.clock.now();
    let started = Instant::now();
    let pruning = tokio::spawn(async move {
        let outcome = keeper.run_once(now).await;
        (outcome, started.elapsed())
    });
    // Creates go on while it prunes (at least ten of them, whenever it ends).
    let mut slowest = Duration::ZERO;
    let mut writes = 0;
    let mut during = 0;
    while writes < 10 || (!pruning.is_finished() && writes < 500) {
        let running = !pruning.is_finished();
        let started = Instant::now();
        app.create_user(&token, &user_body(&format!("w{writes}@acme.test")))
            .await;
        slowest = slowest.max(started.elapsed());
        writes += 1;
        during += usize::from(running);
    }
    let (outcome, took) = pruning.await.unwrap();
    assert_eq!(outcome.unwrap().events_pruned, 60_000);
    assert!(during > 0, "no create overlapped the prune ({took:?})");
    assert!(
        slowest < Duration::from_secs(1),
        "the slowest of {writes} creates took {slowest:?}"
    );
    println!(
        "pruned 60,000 events in {took:?}; {during} creates meanwhile, the slowest create {slowest:?}"
    );
}

#[tokio::test]
async fn sync_runs_are_kept_90_days_with_their_plans() {
    let app = spawn_app().await;
    app.tenant_with_token("acme").await;
    let tenant = tenant_id(&app, "acme");
    let mut conn = app.db.conn();
    let mut run = |age: &str, status: &str| {
        let id = uuid::Uuid::now_v7();
        diesel::sql_query(format!(
            "INSERT INTO sync_runs (id, tenant_id, provider, trigger, status, created_at) \
             VALUES ($1, $2, 'graph', 'schedule', '{status}', now() - interval '{age}')"
        ))
        .bind::<SqlUuid, _>(id)
        .bind::<SqlUuid, _>(tenant)
        .execute(&mut conn)
        .unwrap();
        diesel::sql_query(
            "INSERT INTO sync_plan_items (tenant_id, run_id, ord, action) \
             SELECT $2, $1, n, 'create' FROM generate_series(1, 25) n",
        )
        .bind::<SqlUuid, _>(id)
        .bind::<SqlUuid, _>(tenant)
        .execute(&mut conn)
        .unwrap();
        id
    };
    let old = run("91 days", "succeeded");
    let held = run("120 days", "held");
    let recent = run("89 days", "failed");
    // A run still queued is never pruned, however old.
    let queued = run("200 days", "queued");

    let outcome = housekeeper(&app, 10)
        .run_once(app.clock.now())
        .await
        .unwrap();
    assert_eq!(outcome.runs_pruned, 2);
    assert_eq!(outcome.run_rows_pruned, 50);
    let left = |id: uuid::Uuid| {
        count(
            &app,
            &format!("SELECT count(*) AS n FROM sync_runs WHERE id = '{id}'"),
        )
    };
    assert_eq!(
        (left(old), left(held), left(recent), left(queued)),
        (0, 0, 1, 1)
    );
    assert_eq!(
        count(&app, "SELECT count(*) AS n FROM sync_plan_items"),
        50,
        "the plans of the kept runs"
    );
}

#[tokio::test]
async fn deprovisioned_people_are_erased_after_the_tenant_setting_with_user_removed_events() {
    let (app, token) = spawn_app_with_tenant("acme").await;
    // The default keeps them.
    let tenant: Value = app.admin_json(T).await;
    assert_eq!(tenant["erase_deprovisioned_after"], Value::Null);
    for bad in [json!("1h"), json!("soon"), json!(30), json!("101y")] {
        let res = app
            .admin_patch(T, &json!({"erase_deprovisioned_after": bad}))
            .await;
        assert_eq!(res.status(), 400, "{bad}");
    }
    let gone = app.create_user(&token, &user_body("gone@acme.test")).await;
    let gone = gone["id"].as_str().unwrap().to_owned();
    let stays = app.create_user(&token, &user_body("stays@acme.test")).await;
    let stays = stays["id"].as_str().unwrap().to_owned();
    assert_eq!(
        app.scim_delete(&token, &format!("/Users/{gone}"))
            .await
            .status(),
        204
    );
    let keeper = housekeeper(&app, 100);
    let erased = || async {
        keeper
            .run_once(app.clock.now())
            .await
            .unwrap()
            .people_erased
    };
    app.clock.advance(chrono::Duration::days(400));
    assert_eq!(erased().await, 0, "kept while the setting is unset");

    let res = app
        .admin_patch(T, &json!({"erase_deprovisioned_after": "30d"}))
        .await;
    assert_eq!(res.status(), 200);
    let tenant: Value = res.json().await.unwrap();
    assert_eq!(tenant["erase_deprovisioned_after"], "30days");
    // Deprovisioned again now (restore, delete), so the 30 days start today.
    let res = app
        .admin_post(&format!("{T}/people/{gone}/restore"), &json!({}))
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        app.scim_delete(&token, &format!("/Users/{gone}"))
            .await
            .status(),
        204
    );
    app.clock.advance(chrono::Duration::days(29));
    assert_eq!(erased().await, 0);
    app.clock.advance(chrono::Duration::days(2));
    assert_eq!(erased().await, 1);
    assert_eq!(
        app.admin_get(&format!("{T}/people/{gone}")).await.status(),
        404
    );
    assert_eq!(
        app.admin_get(&format!("{T}/people/{stays}")).await.status(),
        200
    );
    // The clock is far ahead of the database's `now()`, which the events took: the older
    // ones were pruned in the same passes, so the feed is read on from where it resumes.
    let (status, page) = feed(&app, T, 0).await;
    let after = match status {
        410 => page["resume_after"].as_i64().unwrap(),
        _ => 0,
    };
    let (_, page) = feed(&app, T, after).await;
    let last = page["items"]
        .as_array()
        .and_then(|items| items.last())
        .unwrap_or_else(|| panic!("{page}"))
        .clone();
    assert_eq!(last["type"], "user.removed", "{page}");
    assert_eq!(last["resource_id"], gone.as_str());
    assert_eq!(last["actor"], "system:retention");

    // `null` keeps them again.
    let res = app
        .admin_patch(T, &json!({"erase_deprovisioned_after": null}))
        .await;
    let tenant: Value = res.json().await.unwrap();
    assert_eq!(tenant["erase_deprovisioned_after"], Value::Null);
}

#[tokio::test]
async fn one_node_at_a_time_does_the_housekeeping() {
    let app = spawn_app().await;
    let every = Duration::from_secs(600);
    let policy = Policy::new(Duration::from_secs(400 * 24 * 3600));
    let one = Housekeeper::new(app.pool.clone(), app.clock.clone(), policy, every);
    let two = Housekeeper::new(app.pool.clone(), app.clock.clone(), policy, every);
    let now = app.clock.now();

    // A live lease of another node: nobody else runs.
    let until = now + chrono::Duration::seconds(120);
    let mut conn = app.db.conn();
    assert!(store::claim(&mut conn, "retention", "node:elsewhere", now, until, 600).unwrap());
    assert!(!one.run_once(now).await.unwrap().ran);
    // Its lease runs out (the node died): the next one takes the job.
    app.clock.advance(chrono::Duration::seconds(121));
    let now = app.clock.now();
    assert!(one.run_once(now).await.unwrap().ran);
    // Done: nobody runs it again before the interval has passed...
    assert!(!two.run_once(now).await.unwrap().ran);
    app.clock.advance(chrono::Duration::seconds(599));
    assert!(!two.run_once(app.clock.now()).await.unwrap().ran);
    // ...and then one node does.
    app.clock.advance(chrono::Duration::seconds(1));
    assert!(two.run_once(app.clock.now()).await.unwrap().ran);
}

#[tokio::test]
async fn old_events_of_a_tenant_whose_feed_nobody_reads_are_pruned_too() {
    // Feed positions are given when a feed is read; housekeeping gives them itself, or the
    // events of a tenant nobody polls would never be pruned.
    let (app, token) = spawn_app_with_tenant("acme").await;
    app.create_users(&token, (0..5).map(|i| format!("quiet{i}@acme.test")))
        .await;
    diesel::sql_query(
        "UPDATE events SET occurred_at = now() - interval '500 days' \
         WHERE tenant_id = (SELECT id FROM tenants WHERE slug = 'acme')",
    )
    .execute(&mut app.db.conn())
    .unwrap();
    let before = count(&app, "SELECT count(*) AS n FROM events WHERE id IS NULL");
    assert!(before >= 5, "unread, so not numbered: {before}");
    let outcome = housekeeper(&app, 100)
        .run_once(app.clock.now())
        .await
        .unwrap();
    // All but the newest, which the numbering goes on from.
    let all = count(&app, "SELECT count(*) AS n FROM events") + outcome.events_pruned;
    assert_eq!(outcome.events_pruned, all - 1, "{outcome:?}");
    assert_eq!(
        count(&app, "SELECT count(*) AS n FROM events WHERE id IS NULL"),
        0
    );
    let (status, _) = feed(&app, T, 0).await;
    assert_eq!(status, 410, "the reader learns it missed events");
}
