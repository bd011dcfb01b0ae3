//! Pull sync from Microsoft Graph, end to end: the admin API starts runs, the node's
//! scheduler runs them against a Graph fake served over HTTP, and the people, groups and
//! events land in PostgreSQL through the same rules as SCIM's.

use std::time::Duration;

use diesel::prelude::*;
use diesel::sql_types::Text;
use serde_json::{json, Value};

use crate::fake_graph::{FakeGraph, FakeOptions, Faked, Fault, Spoil};
use crate::helpers::{
    count, events_total as events, free_port, spawn_app_on, spawn_app_with, stdout_of, Served,
    TestApp, TestDb,
};

/// A 32-byte key, base64: the connection's secret is sealed under it.
const KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

pub(crate) fn tune(fake: &FakeGraph) -> impl FnOnce(&mut scimd::config::Settings) + '_ {
    move |s| {
        s.keyring = scimd::secrets::Keyring::from_settings(
            Some(&scimd::config::Secret::new(KEY.to_owned())),
            None,
        )
        .ok()
        .flatten()
        .map(std::sync::Arc::new);
        s.graph_login_url = Some(fake.url().parse().expect("url"));
        s.graph_api_url = Some(fake.url().parse().expect("url"));
        s.sync_workers = 2;
        s.sync_tick = Duration::from_millis(200);
    }
}

async fn app(fake: &FakeGraph) -> TestApp {
    spawn_app_with(tune(fake)).await
}

/// A tenant `slug` connected to the fake, reading `scope`.
pub(crate) async fn connect(app: &TestApp, fake: &FakeGraph, slug: &str, scope: Value) {
    app.create_tenant(slug).await;
    put_connection(app, fake, slug, scope).await;
}

/// The tenant `slug`'s connection to the fake.
async fn put_connection(app: &TestApp, fake: &FakeGraph, slug: &str, scope: Value) {
    let o = fake.options();
    let body = json!({
        "provider": "graph",
        "directory_tenant_id": o.tenant,
        "cloud": "global",
        "client_id": o.client_id,
        "client_secret": o.client_secret,
        "scope": scope,
        "include_guests": false,
    });
    let res = app.put_connection(slug, &body).await;
    assert_eq!(
        res.status(),
        201,
        "{}",
        res.text().await.unwrap_or_default()
    );
}

/// Starts a run and waits for its end; the run as the admin API shows it.
pub(crate) async fn sync(app: &TestApp, slug: &str, dry_run: bool) -> Value {
    app.sync_and_wait(slug, &format!("?dry_run={dry_run}"))
        .await
}

/// Approves the held run `id` of the tenant `acme`.
async fn approve(app: &TestApp, id: &str) -> reqwest::Response {
    app.admin_post(
        &format!("/admin/v1/tenants/acme/sync-runs/{id}/approve"),
        &json!(null),
    )
    .await
}

/// A page of the run's plan: the items of `action`.
async fn plan_of(app: &TestApp, run: &Value, action: &str) -> Value {
    let id = run["id"].as_str().unwrap_or_default();
    get(
        app,
        &format!("/admin/v1/tenants/acme/sync-runs/{id}/plan?action={action}"),
    )
    .await
}

/// Syncs `acme`, asserting the run succeeds creating `created` people and skipping
/// `skipped`: the plan's skipped items.
async fn skipped_by_sync(app: &TestApp, created: u64, skipped: u64) -> Value {
    let run = sync(app, "acme", false).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["counts"]["create"], created);
    assert_eq!(run["counts"]["skip"], skipped);
    plan_of(app, &run, "skip").await
}

/// An admin GET's JSON body.
async fn get(app: &TestApp, path: &str) -> Value {
    app.admin_json(path).await
}

pub(crate) fn user(i: usize) -> (String, Value) {
    let id = format!("00000000-0000-4000-8000-{i:012}");
    let props = json!({
        "userPrincipalName": format!("user{i}@contoso.example"),
        "displayName": format!("User {i}"),
        "givenName": "User",
        "surname": format!("{i}"),
        "mail": format!("user{i}@contoso.example"),
        "accountEnabled": true,
        "userType": "Member",
        "department": "Sales",
    });
    (id, props)
}

async fn fake_with(n: usize) -> FakeGraph {
    let fake = FakeGraph::start(FakeOptions::default()).await;
    for i in 0..n {
        let (id, props) = user(i);
        fake.add_user(&id, props);
    }
    fake
}

fn live_people(app: &TestApp) -> i64 {
    count(
        app,
        "SELECT count(*) AS n FROM users WHERE source = 'graph' AND deprovisioned_at IS NULL",
    )
}

/// An app on `fake`, its tenant `acme` connected to all of the directory.
async fn acme_on(fake: &FakeGraph) -> TestApp {
    let app = app(fake).await;
    connect(&app, fake, "acme", json!({"type": "all"})).await;
    app
}

/// An app on a fake of `n` users, its tenant `acme` connected to all of them and synced
/// once.
async fn synced(n: usize) -> (FakeGraph, TestApp) {
    let fake = fake_with(n).await;
    let app = acme_on(&fake).await;
    assert_eq!(sync(&app, "acme", false).await["status"], "succeeded");
    (fake, app)
}

/// [`synced`] with 40 users, then 12 of them deleted in the directory: more than the
/// deprovision brake lets through (max(10, 20 % of 40)).
async fn twelve_of_forty_deleted() -> (FakeGraph, TestApp) {
    let (fake, app) = synced(40).await;
    for i in 0..12 {
        fake.remove_user(&user(i).0, "deleted");
    }
    (fake, app)
}

#[tokio::test]
async fn first_sync_creates_everyone_with_events_by_the_run_and_a_second_changes_nothing() {
    let fake = fake_with(25).await;
    fake.set_page_size(10);
    let ids: Vec<String> = (0..3).map(|i| user(i).0).collect();
    fake.add_group(
        "10000000-0000-4000-8000-000000000001",
        json!({"displayName": "Sales"}),
        &ids.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let app = acme_on(&fake).await;

    let run = sync(&app, "acme", false).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["full"], true);
    assert_eq!(run["counts"]["create"], 25);
    assert_eq!(run["counts"]["group_create"], 1);
    assert_eq!(run["counts"]["member_add"], 3);
    assert_eq!(live_people(&app), 25);
    let actor = format!("sync:{}", run["id"].as_str().unwrap_or_default());
    let by_run = count(
        &app,
        &format!(
            "SELECT count(*) AS n FROM events WHERE actor = '{actor}' AND type = 'user.created'"
        ),
    );
    assert_eq!(by_run, 25);
    let members = count(&app, "SELECT count(*) AS n FROM group_members");
    assert_eq!(members, 3);

    // The connection is active now, and a run with nothing new changes nothing.
    let connection: Value = get(&app, "/admin/v1/tenants/acme/connection").await;
    assert!(
        connection["status"]["last_success_at"].is_string(),
        "{connection}"
    );
    let before = events(&app);
    let run = sync(&app, "acme", false).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["full"], false, "a later run reads the delta");
    assert_eq!(run["counts"]["create"], 0);
    assert_eq!(events(&app), before, "no change, no event");
}

#[tokio::test]
async fn a_dry_run_plans_and_writes_nothing_and_the_schedule_waits_for_the_first_applied_run() {
    let fake = fake_with(5).await;
    let app = acme_on(&fake).await;

    let run = sync(&app, "acme", true).await;
    assert_eq!(run["status"], "planned", "{run}");
    assert_eq!(run["dry_run"], true);
    assert_eq!(run["counts"]["create"], 5);
    assert_eq!(live_people(&app), 0, "a dry run writes no person");
    let id = run["id"].as_str().unwrap_or_default();
    let plan: Value = get(
        &app,
        &format!("/admin/v1/tenants/acme/sync-runs/{id}/plan?action=create&limit=2"),
    )
    .await;
    let items = plan["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["action"], "create");
    assert!(items[0]["person_id"].is_null());
    assert!(items[0]["userName"]
        .as_str()
        .unwrap_or_default()
        .ends_with("@contoso.example"));
    assert!(plan["next_cursor"].is_string());
    let connection: Value = get(&app, "/admin/v1/tenants/acme/connection").await;
    assert!(
        connection["status"]["next_run_at"].is_null(),
        "{connection}"
    );
}

#[tokio::test]
async fn starting_a_sync_while_one_is_queued_answers_that_run() {
    let fake = fake_with(1).await;
    // Slow the fake's token endpoint so the first run stays running.
    fake.fail(&fake.token_path(), Some(1), Fault::throttle(1));
    let app = acme_on(&fake).await;
    let start = || async {
        app.admin_post("/admin/v1/tenants/acme/sync", &json!(null))
            .await
            .json::<Value>()
            .await
            .expect("json")
    };
    let first = start().await;
    let second = start().await;
    assert_eq!(first["run_id"], second["run_id"]);
    let run = app
        .wait_for_run("acme", first["run_id"].as_str().unwrap_or_default())
        .await;
    assert_eq!(run["status"], "succeeded", "{run}");
}

#[tokio::test]
async fn removals_of_both_reasons_deprovision_and_a_restored_user_comes_back_with_the_same_id() {
    let (fake, app) = synced(12).await;
    let (soft, _) = user(1);
    let (hard, _) = user(2);
    let id_of = |r: &str| -> String {
        #[derive(QueryableByName)]
        struct Id {
            #[diesel(sql_type = Text)]
            id: String,
        }
        diesel::sql_query(format!(
            "SELECT id::text AS id FROM users WHERE source_ref = '{r}'"
        ))
        .get_result::<Id>(&mut app.db.conn())
        .expect("person")
        .id
    };
    let soft_id = id_of(&soft);
    fake.remove_user(&soft, "changed");
    fake.remove_user(&hard, "deleted");
    let run = sync(&app, "acme", false).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["counts"]["deprovision"], 2);
    assert_eq!(live_people(&app), 10);

    fake.restore_user(&soft);
    let run = sync(&app, "acme", false).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["counts"]["restore"], 1, "{run}");
    assert_eq!(id_of(&soft), soft_id, "restored with the same id");
    assert_eq!(live_people(&app), 11);
}

#[tokio::test]
async fn guests_are_skipped_a_mailboxless_user_does_not_participate_and_a_disabled_one_is_inactive()
{
    let fake = fake_with(2).await;
    fake.add_user(
        "guest-1",
        json!({"userPrincipalName": "g#EXT#@contoso.example", "mail": "g@other.example",
               "userType": "Guest", "accountEnabled": true}),
    );
    fake.add_user(
        "nomail-1",
        json!({"userPrincipalName": "room@contoso.example", "accountEnabled": true}),
    );
    fake.add_user(
        "disabled-1",
        json!({"userPrincipalName": "gone@contoso.example", "mail": "gone@contoso.example",
               "accountEnabled": false}),
    );
    let app = acme_on(&fake).await;
    let plan = skipped_by_sync(&app, 4, 1).await;
    assert_eq!(plan["items"][0]["source_ref"], "guest-1");
    assert!(plan["items"][0]["reason"]
        .as_str()
        .unwrap_or_default()
        .contains("guest"));
    let people: Value = get(&app, "/admin/v1/tenants/acme/people?limit=50").await;
    let by_name = |n: &str| {
        people["items"]
            .as_array()
            .and_then(|a| a.iter().find(|p| p["userName"] == n).cloned())
            .unwrap_or(Value::Null)
    };
    assert_eq!(by_name("room@contoso.example")["participating"], false);
    assert_eq!(by_name("gone@contoso.example")["participating"], false);
    assert_eq!(by_name("user0@contoso.example")["participating"], true);
}

#[tokio::test]
async fn an_expired_delta_link_is_a_full_resync_that_removes_those_deleted_in_the_gap() {
    let (fake, app) = synced(10).await;
    // Deleted for good while the link expired: the next delta would never say so.
    fake.remove_user(&user(3).0, "deleted");
    fake.expire_delta_links();
    let run = sync(&app, "acme", false).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["full"], true);
    assert_eq!(run["counts"]["deprovision"], 1);
    assert_eq!(run["counts"]["unchanged"], 9);
    assert_eq!(live_people(&app), 9);
}

#[tokio::test]
async fn an_empty_listing_of_a_directory_that_had_people_fails_and_changes_nothing() {
    let (fake, app) = synced(10).await;
    fake.expire_delta_links();
    // The first request (the stored link) answers 410 whatever; the full listing after it
    // comes back empty.
    fake.fail("/v1.0/users/delta", Some(2), Fault::Spoil(Spoil::EmptyPage));
    let before = events(&app);
    let run = sync(&app, "acme", false).await;
    assert_eq!(run["status"], "failed", "{run}");
    assert_eq!(run["error"]["code"], "empty_listing");
    assert_eq!(live_people(&app), 10);
    assert_eq!(events(&app), before);
}

#[tokio::test]
async fn a_listing_cut_short_fails_the_run_writes_nothing_and_keeps_the_delta_link() {
    let fake = fake_with(30).await;
    fake.set_page_size(10);
    let app = acme_on(&fake).await;
    assert_eq!(sync(&app, "acme", false).await["status"], "succeeded");
    let state = |app: &TestApp| -> String {
        #[derive(QueryableByName)]
        struct S {
            #[diesel(sql_type = Text)]
            s: String,
        }
        diesel::sql_query("SELECT state::text AS s FROM connections")
            .get_result::<S>(&mut app.db.conn())
            .expect("state")
            .s
    };
    let link = state(&app);
    fake.remove_user(&user(0).0, "deleted");
    fake.fail("/v1.0/users/delta", None, Fault::Spoil(Spoil::NoValue));
    let run = sync(&app, "acme", false).await;
    assert_eq!(run["status"], "failed", "{run}");
    assert_eq!(live_people(&app), 30, "nothing applied");
    assert_eq!(state(&app), link, "the delta link did not move");
    fake.clear_faults();
    let run = sync(&app, "acme", false).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(
        live_people(&app),
        29,
        "the next run goes on from the last good one"
    );
}

#[tokio::test]
async fn a_run_that_would_deprovision_many_is_held_until_approved_and_approval_applies_its_plan() {
    let (_fake, app) = twelve_of_forty_deleted().await;
    let before = events(&app);
    let run = sync(&app, "acme", false).await;
    // 12 > max(10, 20 % of 40).
    assert_eq!(run["status"], "held", "{run}");
    assert_eq!(run["counts"]["deprovision"], 12);
    assert_eq!(run["error"]["code"], "brake");
    assert_eq!(live_people(&app), 40);
    assert_eq!(events(&app), before);

    let id = run["id"].as_str().unwrap_or_default().to_owned();
    let res = approve(&app, &id).await;
    assert_eq!(res.status(), 200);
    let approved: Value = res.json().await.expect("json");
    assert_eq!(approved["status"], "succeeded");
    assert_eq!(live_people(&app), 28);
    let again = approve(&app, &id).await;
    assert_eq!(again.status(), 409, "a run applies once");
}

#[tokio::test]
async fn a_held_run_whose_staging_the_database_lost_cannot_be_approved_and_changes_nothing() {
    let (_fake, app) = twelve_of_forty_deleted().await;
    let held = sync(&app, "acme", false).await;
    assert_eq!(held["status"], "held", "{held}");
    let id = held["id"].as_str().unwrap_or_default().to_owned();
    // What a crash does to the unlogged staging: it is emptied.
    let mut conn = app.db.conn();
    for table in [
        "sync_staged_members",
        "sync_staged_groups",
        "sync_staged_users",
    ] {
        diesel::sql_query(format!("DELETE FROM {table} WHERE run_id = '{id}'"))
            .execute(&mut conn)
            .expect("delete");
    }
    let before = events(&app);
    let res = approve(&app, &id).await;
    assert_eq!(res.status(), 409);
    let body: Value = res.json().await.expect("json");
    assert!(
        body.to_string().contains("start a new run"),
        "the answer says what to do: {body}"
    );
    assert_eq!(live_people(&app), 40);
    assert_eq!(events(&app), before);
    // A new run plans the same removals again.
    assert_eq!(sync(&app, "acme", false).await["status"], "held");
}

#[tokio::test]
async fn a_held_plan_is_stale_once_another_run_applied() {
    let (_fake, app) = twelve_of_forty_deleted().await;
    let held = sync(&app, "acme", false).await;
    assert_eq!(held["status"], "held");
    // The tenant raises its brake, and a new run applies the same removals.
    app.patch_tenant("acme", &json!({"deprovision_brake": {"max_percent": 50}}))
        .await;
    assert_eq!(sync(&app, "acme", false).await["status"], "succeeded");
    let id = held["id"].as_str().unwrap_or_default();
    let res = approve(&app, id).await;
    assert_eq!(res.status(), 409);
}

#[tokio::test]
async fn two_directory_users_with_one_email_are_each_skipped_and_the_rest_goes_on() {
    let fake = fake_with(3).await;
    for id in ["dup-a", "dup-b"] {
        fake.add_user(
            id,
            json!({"userPrincipalName": format!("{id}@contoso.example"),
                   "mail": "shared@contoso.example", "accountEnabled": true}),
        );
    }
    let app = acme_on(&fake).await;
    let plan = skipped_by_sync(&app, 3, 2).await;
    for item in plan["items"].as_array().cloned().unwrap_or_default() {
        let reason = item["reason"].as_str().unwrap_or_default();
        assert!(
            reason.contains("dup-a") && reason.contains("dup-b"),
            "{reason}"
        );
    }
}

#[tokio::test]
async fn a_manual_person_is_adopted_and_an_admin_deactivation_survives_every_sync() {
    let fake = fake_with(3).await;
    let app = app(&fake).await;
    app.create_tenant("acme").await;
    let res = app
        .admin_post(
            "/admin/v1/tenants/acme/people",
            &json!({"email": "USER1@contoso.example", "display_name": "Hand made"}),
        )
        .await;
    assert_eq!(
        res.status(),
        201,
        "{}",
        res.text().await.unwrap_or_default()
    );
    let manual: Value = res.json().await.expect("json");
    let manual_id = manual["id"].as_str().unwrap_or_default().to_owned();
    // The tenant exists already, so connect without creating it.
    put_connection(&app, &fake, "acme", json!({"type": "all"})).await;
    let run = sync(&app, "acme", false).await;
    assert_eq!(run["counts"]["adopt"], 1, "{run}");
    assert_eq!(run["counts"]["create"], 2);
    let person: Value = get(&app, &format!("/admin/v1/tenants/acme/people/{manual_id}")).await;
    assert_eq!(
        person["source"], "graph",
        "same id, now the directory's: {person}"
    );

    let res = app
        .admin_post(
            "/admin/v1/tenants/acme/people/deactivate",
            &json!({"ids": [manual_id]}),
        )
        .await;
    assert!(
        res.status().is_success(),
        "{}",
        res.text().await.unwrap_or_default()
    );
    fake.update_user(
        &user(1).0,
        json!({"department": "Finance", "accountEnabled": true}),
    );
    let run = sync(&app, "acme", false).await;
    assert_eq!(run["counts"]["update"], 1, "{run}");
    let person: Value = get(&app, &format!("/admin/v1/tenants/acme/people/{manual_id}")).await;
    assert_eq!(person["admin_state"], "deactivated", "{person}");
    assert_eq!(person["participating"], false);
}

#[tokio::test]
async fn two_nodes_on_one_database_run_a_due_tenant_exactly_once() {
    let fake = fake_with(5).await;
    let db = TestDb::new();
    let url = db.url.clone();
    let first = spawn_app_on(db, tune(&fake)).await;
    let second_db = TestDb {
        name: first.db.name.clone(),
        url,
    };
    let second = spawn_app_on(second_db, tune(&fake)).await;
    connect(&first, &fake, "acme", json!({"type": "all"})).await;
    assert_eq!(sync(&first, "acme", false).await["status"], "succeeded");
    let runs_before = count(&first, "SELECT count(*) AS n FROM sync_runs");
    // Due now, on both nodes' clocks.
    diesel::sql_query("UPDATE connections SET next_run_at = now() - interval '1 minute'")
        .execute(&mut first.db.conn())
        .expect("due");
    first.clock.advance(chrono::Duration::seconds(1));
    second.clock.advance(chrono::Duration::seconds(1));
    // Each node looks at least once more (a tick is 10 s; a queued run wakes no one).
    tokio::time::sleep(Duration::from_secs(12)).await;
    let scheduled = count(
        &first,
        "SELECT count(*) AS n FROM sync_runs WHERE trigger = 'schedule'",
    );
    assert_eq!(scheduled, 1, "one run for one due tenant");
    assert_eq!(
        count(&first, "SELECT count(*) AS n FROM sync_runs"),
        runs_before + 1
    );
    std::mem::forget(second);
}

#[tokio::test]
async fn a_run_whose_node_died_is_recorded_interrupted_and_nothing_of_it_is_applied() {
    let fake = fake_with(5).await;
    let app = acme_on(&fake).await;
    // A node claims the run and dies: its lease is never renewed.
    let tenant_id = {
        #[derive(QueryableByName)]
        struct T {
            #[diesel(sql_type = diesel::sql_types::Uuid)]
            id: uuid::Uuid,
        }
        diesel::sql_query("SELECT id FROM tenants WHERE slug = 'acme'")
            .get_result::<T>(&mut app.db.conn())
            .expect("tenant")
            .id
    };
    let now = scimd::clock::Clock::now(app.clock.as_ref());
    let run = {
        let mut conn = app.db.conn();
        let (run, _) = scimd::store::sync::enqueue(
            &mut conn,
            tenant_id,
            scimd::domain::Source::Graph,
            scimd::domain::RunTrigger::Manual,
            false,
            now,
        )
        .expect("queue");
        scimd::store::sync::claim(
            &mut conn,
            "node:dead",
            now + chrono::Duration::seconds(30),
            now,
        )
        .expect("claim");
        run
    };
    app.clock.advance(chrono::Duration::seconds(60));
    let res = app
        .admin_post("/admin/v1/tenants/acme/sync", &json!(null))
        .await;
    assert_eq!(res.status(), 202);
    let dead = app.wait_for_run("acme", &run.id.to_string()).await;
    assert_eq!(dead["status"], "failed", "{dead}");
    assert_eq!(dead["error"]["code"], "interrupted");
    assert_eq!(live_people(&app), 0, "nothing of the dead run was applied");
}

#[tokio::test]
async fn a_groups_scope_keeps_the_chosen_groups_members_and_deprovisions_one_who_leaves() {
    let fake = fake_with(6).await;
    let ga = "20000000-0000-4000-8000-00000000000a";
    let gb = "20000000-0000-4000-8000-00000000000b";
    let (u0, u1, u2, u3) = (user(0).0, user(1).0, user(2).0, user(3).0);
    fake.add_group(ga, json!({"displayName": "Sales"}), &[&u0, &u1]);
    fake.add_group(gb, json!({"displayName": "Support"}), &[&u1, &u2]);
    let app = app(&fake).await;
    connect(
        &app,
        &fake,
        "acme",
        json!({"type": "groups", "group_ids": [ga, gb]}),
    )
    .await;
    let run = sync(&app, "acme", false).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(
        run["counts"]["create"], 3,
        "members of the chosen groups only: {run}"
    );
    assert_eq!(run["counts"]["group_create"], 2);
    assert_eq!(run["counts"]["member_add"], 4);
    assert_eq!(live_people(&app), 3);

    // One leaves both groups, another joins: a full read each run.
    fake.remove_member(ga, &u1);
    fake.remove_member(gb, &u1);
    fake.add_member(ga, &u3);
    let run = sync(&app, "acme", false).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["full"], true);
    assert_eq!(run["counts"]["create"], 1, "{run}");
    assert_eq!(run["counts"]["deprovision"], 1, "{run}");
    let plan = plan_of(&app, &run, "deprovision").await;
    assert_eq!(plan["items"][0]["source_ref"], u1.as_str());
    assert_eq!(plan["items"][0]["reason"], "no longer in the chosen groups");
    assert_eq!(live_people(&app), 3);
    let members = count(&app, "SELECT count(*) AS n FROM group_members");
    assert_eq!(members, 3, "u0 and u3 in Sales, u2 in Support");

    let metrics = app.metrics().await;
    assert!(
        metrics.contains("scimd_sync_runs_total{provider=\"graph\",status=\"succeeded\"} 2"),
        "{metrics}"
    );
    assert!(metrics.contains("scimd_sync_oldest_success_age_seconds"));
}

#[tokio::test]
async fn the_command_line_lists_a_tenants_runs() {
    let fake = fake_with(2).await;
    let app = acme_on(&fake).await;
    let run = sync(&app, "acme", true).await;
    let text = stdout_of(
        std::process::Command::new(env!("CARGO_BIN_EXE_scimd"))
            .args(["sync", "runs", "--tenant", "acme"])
            .env("DATABASE_URL", app.db.url.expose()),
    );
    let id = run["id"].as_str().unwrap_or_default();
    assert!(
        text.lines().any(|l| l.starts_with(id)
            && l.contains("planned (dry run)")
            && l.contains("create=2")),
        "{text}"
    );
}

#[tokio::test]
async fn a_delta_entry_with_only_the_changed_property_keeps_the_rest_of_the_person() {
    let fake = fake_with(3).await;
    fake.set_minimal_changes(true);
    let app = acme_on(&fake).await;
    assert_eq!(sync(&app, "acme", false).await["status"], "succeeded");
    fake.update_user(&user(1).0, json!({"department": "Finance"}));
    let run = sync(&app, "acme", false).await;
    assert_eq!(run["counts"]["update"], 1, "{run}");
    assert_eq!(
        run["counts"]["unchanged"], 0,
        "a delta lists only the changed"
    );
    let plan = plan_of(&app, &run, "update").await;
    let changes = &plan["items"][0]["changes"];
    assert_eq!(
        changes["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["department"],
        "Finance",
        "{changes}"
    );
    assert!(
        changes.get("userName").is_none(),
        "only the department moved: {changes}"
    );
    let people = get(&app, "/admin/v1/tenants/acme/people?limit=50").await;
    let one = people["items"]
        .as_array()
        .and_then(|a| {
            a.iter()
                .find(|p| p["userName"] == "user1@contoso.example")
                .cloned()
        })
        .unwrap_or(Value::Null);
    assert_eq!(one["participating"], true, "email and all kept: {one}");
}

#[tokio::test]
async fn a_node_stopped_by_sigterm_hands_its_running_run_back_to_the_queue() {
    // Every read of the users is throttled for 30 s: the run is still reading when its
    // node is told to stop.
    let fake = fake_with(5).await;
    fake.fail("/v1.0/users/delta", None, Fault::throttle(30));
    // The tenant, its connection and a queued run, through a server that pulls nothing.
    let app = spawn_app_on(TestDb::new(), |s| {
        tune(&fake)(s);
        s.sync_workers = 0;
    })
    .await;
    connect(&app, &fake, "acme", json!({"type": "all"})).await;
    let res = app
        .admin_post("/admin/v1/tenants/acme/sync?dry_run=false", &json!(null))
        .await;
    assert_eq!(res.status(), 202);
    let started: Value = res.json().await.expect("json");
    let id = started["run_id"].as_str().expect("run id").to_owned();

    // A node of its own process takes it.
    let port = free_port();
    let node = Served::spawn(
        std::process::Command::new(env!("CARGO_BIN_EXE_scimd"))
            .args([
                "serve",
                "--no-bootstrap",
                "--bind",
                &format!("127.0.0.1:{port}"),
            ])
            .env("DATABASE_URL", app.db.url.expose())
            .env("SCIMD_SECRET_KEY", KEY)
            .env("SCIMD_GRAPH_LOGIN_URL", fake.url())
            .env("SCIMD_GRAPH_API_URL", fake.url())
            .env("SCIMD_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null()),
    );
    let state = |app: &TestApp| {
        #[derive(QueryableByName)]
        struct Row {
            #[diesel(sql_type = Text)]
            status: String,
            #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
            lease_owner: Option<String>,
        }
        let row: Row = diesel::sql_query(format!(
            "SELECT status, lease_owner FROM sync_runs WHERE id = '{id}'"
        ))
        .get_result(&mut app.db.conn())
        .expect("the run");
        (row.status, row.lease_owner)
    };
    let mut waited = 0;
    while !(state(&app).0 == "running" && fake.requests("/v1.0/users/delta") > 0) {
        assert!(
            waited < 300,
            "the node did not take the run: {:?}",
            state(&app)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += 1;
    }
    let owner = state(&app).1.expect("the node's lease");

    std::process::Command::new("kill")
        .args(["-TERM", &node.id().to_string()])
        .status()
        .expect("kill");
    let mut node = node.into_child();
    let exited = tokio::task::spawn_blocking(move || node.wait())
        .await
        .expect("join")
        .expect("wait");
    assert!(exited.success(), "{exited:?}");
    // Handed back well before the 30 s wait would have ended: queued again, no lease,
    // nothing staged, nothing applied, for another node to run from the start.
    assert_eq!(state(&app), ("queued".to_owned(), None), "was {owner}'s");
    assert_eq!(
        count(
            &app,
            &format!("SELECT count(*) AS n FROM sync_staged_users WHERE run_id = '{id}'")
        ),
        0
    );
    assert_eq!(live_people(&app), 0);
}
