//! A tenant's connection to its directory (`/admin/v1/tenants/{slug}/connection`), its
//! sealed secret, the sync settings, and `scimd secret-key`.

use std::process::Command;
use std::sync::Arc;

use diesel::sql_types::{Bytea, Jsonb, Nullable, Text, Timestamptz};
use diesel::{PgConnection, QueryableByName, RunQueryDsl};
use reqwest::header::{CONTENT_TYPE, LOCATION};
use serde_json::{json, Value};

use scimd::clock::Clock;
use scimd::config::{PlatformApp, Secret, Settings};
use scimd::provisioning::connections;
use scimd::secrets::Keyring;

use crate::helpers::{spawn_app, spawn_app_with, stdout_of, user_body, TestApp};

const KEY: [u8; 32] = [0x11; 32];
const NEW_KEY: [u8; 32] = [0x22; 32];
const SECRET: &str = "Xq8~plaintext.client-secret_9z";
const CLIENT: &str = "3f2a1c9e-5b7d-4e8f-a6c1-0d9b8e7f6a5c";
const GROUP: &str = "b1e2c3d4-a5b6-4c7d-8e9f-0a1b2c3d4e5f";

fn with_key(s: &mut Settings) {
    s.keyring = Some(Arc::new(Keyring::new(&KEY, None)));
}

fn platform() -> PlatformApp {
    PlatformApp {
        client_id: "platform-app-id".into(),
        client_secret: Secret::new("platform-secret".into()),
    }
}

/// A Graph connection with its own app registration.
fn graph() -> Value {
    json!({
        "provider": "graph",
        "directory_tenant_id": "contoso.onmicrosoft.com",
        "client_id": CLIENT,
        "client_secret": SECRET,
        "scope": {"type": "all"},
    })
}

/// A server with a secret key, and its tenant `acme` connected to Graph ([`graph`]).
async fn acme_on_graph() -> TestApp {
    let app = spawn_app_with(with_key).await;
    app.create_tenant("acme").await;
    assert_eq!(app.put_connection("acme", &graph()).await.status(), 201);
    app
}

fn with(mut body: Value, changes: Value) -> Value {
    for (k, v) in changes.as_object().into_iter().flatten() {
        if v.is_null() {
            body.as_object_mut().unwrap().remove(k);
        } else {
            body[k] = v.clone();
        }
    }
    body
}

async fn get(app: &TestApp, slug: &str) -> reqwest::Response {
    app.admin_get(&format!("/admin/v1/tenants/{slug}/connection"))
        .await
}

/// Status and raw text of an answer.
async fn answer(res: reqwest::Response) -> (u16, String) {
    (res.status().as_u16(), res.text().await.unwrap())
}

/// A refusal is an RFC 9457 problem of `status`.
async fn assert_problem(res: reqwest::Response, status: u16) -> Value {
    assert_eq!(
        res.headers().get(CONTENT_TYPE).unwrap(),
        "application/problem+json"
    );
    let (got, text) = answer(res).await;
    assert_eq!(got, status, "{text}");
    let problem: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(problem["status"], status);
    assert!(problem["type"]
        .as_str()
        .unwrap()
        .starts_with("https://scimd.dev/problems/"));
    problem
}

#[derive(QueryableByName, Debug)]
struct Stored {
    #[diesel(sql_type = Jsonb)]
    config: Value,
    #[diesel(sql_type = Nullable<Bytea>)]
    secret: Option<Vec<u8>>,
    #[diesel(sql_type = Jsonb)]
    state: Value,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    generation: i64,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    activated_at: Option<chrono::DateTime<chrono::Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    next_run_at: Option<chrono::DateTime<chrono::Utc>>,
}

fn stored(conn: &mut PgConnection, slug: &str) -> Option<Stored> {
    diesel::sql_query(
        "SELECT c.config, c.secret, c.state, c.generation, c.activated_at, c.next_run_at \
         FROM connections c JOIN tenants t ON t.id = c.tenant_id WHERE t.slug = $1",
    )
    .bind::<Text, _>(slug)
    .get_result(conn)
    .ok()
}

fn sql(conn: &mut PgConnection, statement: &str, slug: &str) -> usize {
    diesel::sql_query(statement)
        .bind::<Text, _>(slug)
        .execute(conn)
        .unwrap()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn put_creates_then_replaces_and_no_answer_carries_the_secret() {
    let app = spawn_app_with(with_key).await;
    app.create_tenant("acme").await;

    let res = app.put_connection("acme", &graph()).await;
    assert_eq!(
        res.headers().get(LOCATION).and_then(|v| v.to_str().ok()),
        Some("/admin/v1/tenants/acme/connection")
    );
    let (status, created) = answer(res).await;
    assert_eq!(status, 201, "{created}");
    assert!(!created.contains(SECRET), "{created}");
    let created: Value = serde_json::from_str(&created).unwrap();
    assert_eq!(
        (
            &created["provider"],
            &created["cloud"],
            &created["include_guests"]
        ),
        (&json!("graph"), &json!("global"), &json!(false))
    );
    assert_eq!(created["client_id"], CLIENT);
    assert_eq!(created["has_secret"], true);
    assert_eq!(
        created["status"],
        json!({"last_run_at": null, "last_success_at": null, "next_run_at": null, "last_error": null})
    );

    let (status, text) = answer(get(&app, "acme").await).await;
    assert_eq!(status, 200);
    assert!(!text.contains(SECRET), "{text}");
    let got: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(got, created);

    let (status, text) = answer(app.put_connection("acme", &graph()).await).await;
    assert_eq!(status, 200, "{text}");
    assert!(!text.contains(SECRET), "{text}");
    let replaced: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(replaced["created_at"], created["created_at"]);
}

#[tokio::test]
async fn the_stored_secret_is_sealed_and_opens_for_its_tenant_only() {
    let app = acme_on_graph().await;

    let row = stored(&mut app.db.conn(), "acme").unwrap();
    let sealed = row.secret.unwrap();
    assert!(!contains(&sealed, SECRET.as_bytes()));
    assert!(!contains(&sealed, b"plaintext"));
    assert!(!row.config.to_string().contains(SECRET), "{}", row.config);

    let keyring = Some(Arc::new(Keyring::new(&KEY, None)));
    let loaded = connections::load(&app.pool, keyring.clone(), None, "acme".into())
        .await
        .unwrap();
    assert_eq!(loaded.credentials.client_secret.expose(), SECRET);
    assert_eq!(loaded.credentials.client_id, CLIENT);
    assert_eq!(
        loaded.config.directory_tenant_id.as_str(),
        "contoso.onmicrosoft.com"
    );
    // Copied into another tenant's row, it does not open.
    app.create_tenant("other").await;
    let mut other = graph();
    other["client_secret"] = json!("another tenant's secret");
    assert_eq!(app.put_connection("other", &other).await.status(), 201);
    let copied = sql(
        &mut app.db.conn(),
        "UPDATE connections SET secret = (SELECT c.secret FROM connections c JOIN tenants t \
         ON t.id = c.tenant_id WHERE t.slug = 'acme') \
         WHERE tenant_id = (SELECT id FROM tenants WHERE slug = $1)",
        "other",
    );
    assert_eq!(copied, 1);
    let err = connections::load(&app.pool, keyring, None, "other".into())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("does not open"), "{err}");
}

#[tokio::test]
async fn a_server_without_a_secret_key_refuses_a_secret_and_saves_nothing() {
    let app = spawn_app().await;
    app.create_tenant("acme").await;
    let problem = assert_problem(app.put_connection("acme", &graph()).await, 409).await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("SCIMD_SECRET_KEY is not set"),
        "{problem}"
    );
    assert!(stored(&mut app.db.conn(), "acme").is_none());
    assert_eq!(get(&app, "acme").await.status(), 404);
    let t: Value = app.admin_json("/admin/v1/tenants/acme").await;
    assert_eq!(t["source"], "scim");
}

#[tokio::test]
async fn the_platform_app_stands_in_for_left_out_client_credentials() {
    let app = spawn_app_with(|s| s.graph_app = Some(platform())).await;
    app.create_tenant("acme").await;
    let body = with(graph(), json!({"client_id": null, "client_secret": null}));
    let (status, text) = answer(app.put_connection("acme", &body).await).await;
    assert_eq!(status, 201, "{text}");
    let view: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        (&view["client_id"], &view["has_secret"]),
        (&json!(null), &json!(false))
    );
    assert_eq!(stored(&mut app.db.conn(), "acme").unwrap().secret, None);
    let loaded = connections::load(&app.pool, None, Some(platform()), "acme".into())
        .await
        .unwrap();
    assert!(loaded.credentials.platform);
    assert_eq!(loaded.credentials.client_id, "platform-app-id");
}

#[tokio::test]
async fn left_out_client_credentials_without_a_platform_app_are_400() {
    let app = spawn_app_with(with_key).await;
    app.create_tenant("acme").await;
    for changes in [
        json!({"client_id": null, "client_secret": null}),
        json!({"client_id": null}),
        json!({"client_secret": null}),
    ] {
        let body = with(graph(), changes.clone());
        let problem = assert_problem(app.put_connection("acme", &body).await, 400).await;
        assert_eq!(problem["error"], "invalid_value", "{changes}: {problem}");
    }
    assert!(stored(&mut app.db.conn(), "acme").is_none());
}

#[tokio::test]
async fn invalid_connections_are_problems_and_change_nothing() {
    let app = acme_on_graph().await;
    let before = answer(get(&app, "acme").await).await;
    for changes in [
        json!({"cloud": "mars"}),
        json!({"scope": {"type": "everyone"}}),
        json!({"scope": {"type": "groups", "group_ids": []}}),
        json!({"scope": {"type": "groups", "group_ids": ["not-a-guid"]}}),
        json!({"scope": {"type": "groups"}}),
        json!({"scope": {"type": "all", "group_ids": [GROUP]}}),
        json!({"surprise": true}),
        json!({"directory_tenant_id": "not a domain"}),
        json!({"provider": "ldap"}),
        json!({"provider": "google"}),
        json!({"client_id": "nope"}),
        json!({"client_secret": ""}),
    ] {
        let body = with(graph(), changes.clone());
        let problem = assert_problem(app.put_connection("acme", &body).await, 400).await;
        assert!(problem["detail"].is_string(), "{changes}: {problem}");
        if changes["provider"] == "google" {
            // A Graph body named Google: the Google fields are asked for instead.
            assert!(
                problem["detail"].as_str().unwrap().contains("admin_email"),
                "{problem}"
            );
        }
    }
    assert_eq!(answer(get(&app, "acme").await).await, before);
}

#[tokio::test]
async fn group_scopes_are_deduplicated_and_bounded() {
    let app = spawn_app_with(with_key).await;
    app.create_tenant("acme").await;
    let body = with(
        graph(),
        json!({"scope": {"type": "groups", "group_ids": [GROUP, GROUP.to_uppercase()]}}),
    );
    let view: Value = app.json(app.put_connection("acme", &body).await).await;
    assert_eq!(
        view["scope"],
        json!({"type": "groups", "group_ids": [GROUP]})
    );
    let many: Vec<String> = (0..101u128)
        .map(|i| uuid::Uuid::from_u128(i + 1).to_string())
        .collect();
    let body = with(
        graph(),
        json!({"scope": {"type": "groups", "group_ids": many}}),
    );
    assert_problem(app.put_connection("acme", &body).await, 400).await;
}

#[tokio::test]
async fn saving_a_connection_makes_graph_the_tenant_source() {
    let app = spawn_app_with(with_key).await;
    let token = app.tenant_with_token("acme").await;
    assert_eq!(app.put_connection("acme", &graph()).await.status(), 201);
    let t: Value = app.admin_json("/admin/v1/tenants/acme").await;
    assert_eq!(t["source"], "graph");
    // The source took effect: SCIM writes are refused while the tenant pulls.
    let res = app
        .scim_post(&token, "/Users", &user_body("ada@acme.example"))
        .await;
    assert_eq!(res.status(), 409);
}

#[tokio::test]
async fn disconnect_removes_the_connection_and_its_mirrored_objects() {
    let app = acme_on_graph().await;
    let mut conn = app.db.conn();
    let mirrored = sql(
        &mut conn,
        "INSERT INTO sync_objects (tenant_id, kind, source_ref, raw, hash) \
         SELECT id, 'user', 'u1', '{}', 'h' FROM tenants WHERE slug = $1",
        "acme",
    );
    assert_eq!(mirrored, 1);
    let res = app
        .admin_post(
            "/admin/v1/tenants/acme/disconnect",
            &json!({"keep_people": true}),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_problem(get(&app, "acme").await, 404).await;
    assert!(stored(&mut conn, "acme").is_none());
    let left = sql(
        &mut conn,
        "SELECT 1 FROM sync_objects o JOIN tenants t ON t.id = o.tenant_id WHERE t.slug = $1",
        "acme",
    );
    assert_eq!(left, 0);
}

#[tokio::test]
async fn an_unknown_tenant_or_no_connection_is_404() {
    let app = spawn_app_with(with_key).await;
    let problem = assert_problem(app.put_connection("nope", &graph()).await, 404).await;
    assert!(problem["detail"].as_str().unwrap().contains("nope"));
    assert_problem(get(&app, "nope").await, 404).await;
    app.create_tenant("acme").await;
    let problem = assert_problem(get(&app, "acme").await, 404).await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("has no connection"),
        "{problem}"
    );
}

#[tokio::test]
async fn a_replacement_keeps_the_secret_and_state_unless_it_reads_another_directory() {
    let app = acme_on_graph().await;
    let mut conn = app.db.conn();
    let sealed = stored(&mut conn, "acme").unwrap().secret;
    // As if a run had applied.
    sql(
        &mut conn,
        "UPDATE connections SET state = '{\"delta\": \"d1\"}', activated_at = now(), \
         next_run_at = now() + interval '1 hour' \
         WHERE tenant_id = (SELECT id FROM tenants WHERE slug = $1)",
        "acme",
    );

    // The same client id without a secret, guests now included: secret and state kept.
    let body = with(
        graph(),
        json!({"client_secret": null, "include_guests": true}),
    );
    let view: Value = app.json(app.put_connection("acme", &body).await).await;
    assert_eq!(
        (&view["has_secret"], &view["include_guests"]),
        (&json!(true), &json!(true))
    );
    let row = stored(&mut conn, "acme").unwrap();
    assert_eq!(row.secret, sealed);
    assert_eq!(row.state, json!({"delta": "d1"}));
    assert!(row.activated_at.is_some() && row.next_run_at.is_some());
    assert_eq!(row.generation, 0);

    // Another client id needs its secret.
    let body = with(
        graph(),
        json!({"client_id": "0f2a1c9e-5b7d-4e8f-a6c1-0d9b8e7f6a5c", "client_secret": null}),
    );
    assert_problem(app.put_connection("acme", &body).await, 400).await;

    // Another directory: the delta state is forgotten and the schedule waits for a run.
    let body = with(
        graph(),
        json!({"directory_tenant_id": "72f988bf-86f1-41af-91ab-2d7cd011db47", "client_secret": null}),
    );
    let view: Value = app.json(app.put_connection("acme", &body).await).await;
    assert_eq!(view["status"]["next_run_at"], json!(null));
    let row = stored(&mut conn, "acme").unwrap();
    assert_eq!(row.state, json!({}));
    assert_eq!((row.activated_at, row.next_run_at), (None, None));
    assert_eq!(row.generation, 1);
    assert_eq!(row.secret, sealed);
}

/// The tenant `t` shows this sync interval and deprovision brake.
fn assert_schedule(t: &Value, sync_interval: &str, deprovision_brake: Value) {
    assert_eq!(t["sync_interval"], sync_interval);
    assert_eq!(t["deprovision_brake"], deprovision_brake);
}

#[tokio::test]
async fn sync_interval_and_deprovision_brake_round_trip_and_are_bounded() {
    let app = spawn_app().await;
    app.create_tenant("acme").await;
    let mut t: Value = app.admin_json("/admin/v1/tenants/acme").await;
    assert_schedule(&t, "6h", json!({"max_percent": 20, "min_count": 10}));

    for (change, sync_interval, deprovision_brake) in [
        (
            json!({"sync_interval": "90m", "deprovision_brake": {"max_percent": 5}}),
            "1h 30m",
            json!({"max_percent": 5, "min_count": 10}),
        ),
        (
            json!({"sync_interval": "15m", "deprovision_brake": {"min_count": 0}}),
            "15m",
            json!({"max_percent": 5, "min_count": 0}),
        ),
    ] {
        t = app.patch_tenant("acme", &change).await;
        assert_schedule(&t, sync_interval, deprovision_brake);
    }

    for bad in [
        json!({"sync_interval": "14m"}),
        json!({"sync_interval": "31d"}),
        json!({"sync_interval": "often"}),
        json!({"deprovision_brake": {"max_percent": 101}}),
        json!({"deprovision_brake": {"max_percent": -1}}),
        json!({"deprovision_brake": {"min_count": -1}}),
        json!({"deprovision_brake": {"max": 1}}),
    ] {
        let res = app.admin_patch("/admin/v1/tenants/acme", &bad).await;
        assert_problem(res, 400).await;
    }
    let after: Value = app.admin_json("/admin/v1/tenants/acme").await;
    assert_eq!(after, t);
}

#[tokio::test]
async fn a_shorter_sync_interval_brings_a_scheduled_run_forward() {
    let app = acme_on_graph().await;
    let mut conn = app.db.conn();
    sql(
        &mut conn,
        "UPDATE connections SET activated_at = now(), next_run_at = now() + interval '5 hours' \
         WHERE tenant_id = (SELECT id FROM tenants WHERE slug = $1)",
        "acme",
    );
    app.patch_tenant("acme", &json!({"sync_interval": "1h"}))
        .await;
    let next = stored(&mut conn, "acme").unwrap().next_run_at.unwrap();
    let now = app.clock.now();
    assert!(next <= now + chrono::Duration::hours(1), "{next} vs {now}");
    // A longer one leaves it where it is.
    let res = app
        .admin_patch("/admin/v1/tenants/acme", &json!({"sync_interval": "12h"}))
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(stored(&mut conn, "acme").unwrap().next_run_at, Some(next));
}

fn scimd(db_url: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_scimd"));
    cmd.env("DATABASE_URL", db_url)
        .env("SCIMD_LOG", "warn")
        .env_remove("SCIMD_SECRET_KEY")
        .env_remove("SCIMD_SECRET_KEY_PREVIOUS");
    cmd
}

fn b64(key: &[u8; 32]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(key)
}

#[test]
fn secret_key_generate_prints_one_new_key_and_only_it() {
    let out = scimd("postgres://postgres@127.0.0.1:1/scimd")
        .args(["secret-key", "generate"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 1, "{text}");
    use base64::Engine;
    let key = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .unwrap();
    assert_eq!(key.len(), 32);
}

#[test]
fn serve_with_a_malformed_secret_key_stops_naming_the_variable() {
    let out = scimd("postgres://postgres@127.0.0.1:1/scimd")
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env("SCIMD_SECRET_KEY", "dG9vIHNob3J0")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("SCIMD_SECRET_KEY must decode to 32 bytes"),
        "{err}"
    );
    assert!(!err.contains("dG9vIHNob3J0"), "{err}");
}

#[tokio::test]
async fn secret_key_rotate_seals_every_secret_again_under_the_new_key() {
    let app = spawn_app_with(with_key).await;
    for slug in ["acme", "beta"] {
        app.create_tenant(slug).await;
        assert_eq!(app.put_connection(slug, &graph()).await.status(), 201);
    }
    let url = app.db.url.expose().to_owned();
    let before = stored(&mut app.db.conn(), "acme").unwrap().secret;

    // A key that opens nothing refuses, and changes nothing.
    let out = scimd(&url)
        .args(["secret-key", "rotate"])
        .env("SCIMD_SECRET_KEY", b64(&NEW_KEY))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing was sealed again"));
    assert_eq!(stored(&mut app.db.conn(), "acme").unwrap().secret, before);

    let out = stdout_of(
        scimd(&url)
            .args(["secret-key", "rotate"])
            .env("SCIMD_SECRET_KEY", b64(&NEW_KEY))
            .env("SCIMD_SECRET_KEY_PREVIOUS", b64(&KEY)),
    );
    assert_eq!(out.trim(), "2");
    let after = stored(&mut app.db.conn(), "acme").unwrap().secret;
    assert_ne!(after, before);

    // The new key alone opens them; the old one no longer does.
    let new_only = Some(Arc::new(Keyring::new(&NEW_KEY, None)));
    for slug in ["acme", "beta"] {
        let loaded = connections::load(&app.pool, new_only.clone(), None, slug.into())
            .await
            .unwrap();
        assert_eq!(loaded.credentials.client_secret.expose(), SECRET);
    }
    let old_only = Some(Arc::new(Keyring::new(&KEY, None)));
    assert!(connections::load(&app.pool, old_only, None, "acme".into())
        .await
        .is_err());
}
