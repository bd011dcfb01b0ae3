//! Connect links, end to end: the admin API makes, lists and revokes them; the link's page
//! leads to Microsoft's admin consent; the consent callback (called here as Microsoft
//! redirects to it, with the documented `admin_consent`, `tenant`, `state`, `error` and
//! `error_description`) saves, tests (against the Graph fake) and starts the connection.

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use diesel::sql_types::{Bytea, Text};
use diesel::{QueryableByName, RunQueryDsl};
use reqwest::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use url::Url;

use scimd::clock::Clock;
use scimd::config::{PlatformApp, Secret, Settings};
use scimd::secrets::Keyring;

use crate::fake_graph::{FakeGraph, FakeOptions};
use crate::helpers::{spawn_app_with, TestApp};

pub(crate) const PUBLIC: &str = "https://scim.example.test";
/// The client's directory, as Microsoft names it in the callback: a tenant id.
const DIRECTORY: &str = "7e3a0c55-1b2d-4c3e-9f4a-5b6c7d8e9f01";
const OTHER_DIRECTORY: &str = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";

async fn fake() -> FakeGraph {
    let fake = FakeGraph::start(FakeOptions {
        tenant: DIRECTORY.into(),
        ..FakeOptions::default()
    })
    .await;
    fake.add_user(
        "u1",
        json!({"userPrincipalName": "ann@contoso.example", "accountEnabled": true}),
    );
    fake
}

/// A server with everything links need, its Microsoft roots at the fake.
fn tune(fake: &FakeGraph) -> impl FnOnce(&mut Settings) + '_ {
    move |s| {
        let o = fake.options();
        s.public_url = Some(PUBLIC.into());
        s.keyring = Some(Arc::new(Keyring::new(&[0x33; 32], None)));
        s.graph_app = Some(PlatformApp {
            client_id: o.client_id,
            client_secret: Secret::new(o.client_secret),
        });
        s.graph_login_url = Some(fake.url().parse().unwrap());
        s.graph_api_url = Some(fake.url().parse().unwrap());
        // Runs stay queued: the tests read the first dry run as it was queued.
        s.sync_workers = 0;
    }
}

async fn app(fake: &FakeGraph) -> TestApp {
    spawn_app_with(tune(fake)).await
}

async fn tenant(app: &TestApp, slug: &str, name: &str) {
    app.create_tenant_from(&json!({"slug": slug, "name": name}))
        .await;
}

/// The Graph fake and a server its roots are at, with the tenant `acme` named `name`.
async fn acme_app(name: &str) -> (FakeGraph, TestApp) {
    let fake = fake().await;
    let app = app(&fake).await;
    tenant(&app, "acme", name).await;
    (fake, app)
}

/// A page answer (status and body) has this status and says `says`: its body.
fn assert_page((status, html): (u16, String), expected: u16, says: &str) -> String {
    assert_eq!(status, expected, "{html}");
    assert!(html.contains(says), "{html}");
    html
}

/// The link's page is 410 Gone, says `why` and asks for a new link.
async fn assert_gone(app: &TestApp, path: &str, why: &str) {
    let (status, html) = page(app, path).await;
    assert_eq!(status, 410);
    assert!(html.contains(why) && html.contains("new link"), "{html}");
}

/// Asks for a link for the tenant `slug` (`POST …/connect-links`).
async fn post_link(app: &TestApp, slug: &str, body: &Value) -> reqwest::Response {
    app.admin_post(&format!("/admin/v1/tenants/{slug}/connect-links"), body)
        .await
}

/// The request of a link to all of the directory of `provider`.
fn whole_directory(provider: &str) -> Value {
    json!({"provider": provider, "scope": {"type": "all"}})
}

/// A link's id and the path of its URL on this server.
pub(crate) async fn make_link(app: &TestApp, slug: &str, body: Value) -> (String, String) {
    let res = post_link(app, slug, &body).await;
    assert_eq!(res.status(), 201);
    assert_eq!(res.headers()[CACHE_CONTROL], "no-store");
    let made: Value = res.json().await.unwrap();
    let url = made["url"].as_str().unwrap();
    let path = url
        .strip_prefix(PUBLIC)
        .expect("the link is on the public URL");
    assert!(path.starts_with("/connect/"), "{url}");
    (made["id"].as_str().unwrap().to_owned(), path.to_owned())
}

/// A link of the whole directory that expires in `expires_in` (such as `2d`).
async fn expiring_graph_link(app: &TestApp, slug: &str, expires_in: &str) -> (String, String) {
    make_link(
        app,
        slug,
        json!({"provider": "graph", "scope": {"type": "all"}, "expires_in": expires_in}),
    )
    .await
}

async fn graph_link(app: &TestApp, slug: &str) -> (String, String) {
    make_link(app, slug, whole_directory("graph")).await
}

/// Status and body of a public page.
async fn page(app: &TestApp, path: &str) -> (u16, String) {
    let res = app.anonymous_get(path).await;
    let status = res.status().as_u16();
    (status, res.text().await.unwrap())
}

/// The admin-consent URL the link's page leads to.
async fn consent_url(app: &TestApp, path: &str) -> Url {
    let (status, html) = page(app, path).await;
    assert_eq!(status, 200, "{html}");
    let start = html.find("href=\"").expect("a link to Microsoft") + 6;
    let end = start + html[start..].find('"').unwrap();
    Url::parse(&html[start..end].replace("&amp;", "&")).unwrap()
}

fn param(url: &Url, name: &str) -> String {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("{url} has no {name}"))
}

/// The state of a fresh visit of the link's page.
pub(crate) async fn state_of(app: &TestApp, path: &str) -> String {
    param(&consent_url(app, path).await, "state")
}

/// Microsoft's redirect back, with these query members.
async fn callback(app: &TestApp, query: &[(&str, &str)]) -> (u16, String) {
    let res = app
        .client
        .get(app.url("/connect/microsoft/callback"))
        .query(query)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.text().await.unwrap())
}

pub(crate) async fn consented(app: &TestApp, state: &str, directory: &str) -> (u16, String) {
    callback(
        app,
        &[
            ("admin_consent", "True"),
            ("tenant", directory),
            ("scope", "https://graph.microsoft.com/.default"),
            ("state", state),
        ],
    )
    .await
}

async fn connection(app: &TestApp, slug: &str) -> (u16, Value) {
    let res = app
        .admin_get(&format!("/admin/v1/tenants/{slug}/connection"))
        .await;
    let status = res.status().as_u16();
    (status, res.json().await.unwrap())
}

async fn links(app: &TestApp, slug: &str) -> Vec<Value> {
    let res = app
        .admin_get(&format!("/admin/v1/tenants/{slug}/connect-links"))
        .await;
    assert_eq!(res.status(), 200);
    let page: Value = res.json().await.unwrap();
    page["items"].as_array().unwrap().clone()
}

async fn link_state(app: &TestApp, slug: &str, id: &str) -> String {
    links(app, slug)
        .await
        .iter()
        .find(|l| l["id"] == id)
        .map(|l| l["state"].as_str().unwrap().to_owned())
        .unwrap()
}

async fn events(app: &TestApp, slug: &str) -> Vec<Value> {
    let res = app
        .admin_get(&format!("/admin/v1/tenants/{slug}/events?limit=1000"))
        .await;
    let page: Value = res.json().await.unwrap();
    page["items"].as_array().unwrap().clone()
}

async fn runs(app: &TestApp, slug: &str) -> Vec<Value> {
    let res = app
        .admin_get(&format!("/admin/v1/tenants/{slug}/sync-runs"))
        .await;
    let page: Value = res.json().await.unwrap();
    page["items"].as_array().cloned().unwrap_or_default()
}

/// Nothing was stored for the tenant: no connection, no event, no run.
async fn assert_nothing_stored(app: &TestApp, slug: &str) {
    assert_eq!(connection(app, slug).await.0, 404);
    assert!(events(app, slug).await.is_empty());
    assert!(runs(app, slug).await.is_empty());
}

#[derive(QueryableByName)]
struct Stored {
    #[diesel(sql_type = Bytea)]
    token_hash: Vec<u8>,
}

#[tokio::test]
async fn a_link_is_shown_once_stored_hashed_listed_without_its_token_and_revoked() {
    let (_fake, app) = acme_app("Acme Corp").await;
    let (id, path) = expiring_graph_link(&app, "acme", "2d").await;
    let token = path.strip_prefix("/connect/").unwrap();
    assert_eq!(URL_SAFE_NO_PAD.decode(token).unwrap().len(), 32);

    let mut conn = app.db.conn();
    let stored: Vec<Stored> =
        diesel::sql_query("SELECT token_hash FROM connect_links WHERE id::text = $1")
            .bind::<Text, _>(&id)
            .load(&mut conn)
            .unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(
        stored[0].token_hash,
        Sha256::digest(token.as_bytes()).to_vec()
    );

    let listed = links(&app, "acme").await;
    assert_eq!(listed.len(), 1);
    let link = &listed[0];
    assert_eq!(link["state"], "pending");
    assert_eq!(link["provider"], "graph");
    assert_eq!(link["scope"], json!({"type": "all"}));
    assert!(link["created_by"].as_str().unwrap().starts_with("admin:"));
    let expires =
        chrono::DateTime::parse_from_rfc3339(link["expires_at"].as_str().unwrap()).unwrap();
    let lifetime = expires.signed_duration_since(app.clock.now());
    assert!((lifetime - chrono::Duration::days(2)).num_seconds().abs() < 5);
    assert!(!link.to_string().contains(token));

    let res = app
        .admin_delete(&format!("/admin/v1/tenants/acme/connect-links/{id}"))
        .await;
    assert_eq!(res.status(), 204);
    assert_eq!(link_state(&app, "acme", &id).await, "revoked");
    assert_gone(&app, &path, "withdrawn").await;
    // Another tenant's link, or none, is not found.
    tenant(&app, "other", "Other").await;
    for at in [
        format!("/admin/v1/tenants/other/connect-links/{id}"),
        "/admin/v1/tenants/acme/connect-links/nope".to_owned(),
    ] {
        assert_eq!(app.admin_delete(&at).await.status(), 404, "{at}");
    }
}

#[tokio::test]
async fn bad_link_requests_are_problems_and_make_nothing() {
    let (_fake, app) = acme_app("Acme").await;
    for (body, status) in [
        (
            json!({"provider": "graph", "scope": {"type": "all"}, "expires_in": "10m"}),
            400,
        ),
        (
            json!({"provider": "graph", "scope": {"type": "all"}, "expires_in": "31d"}),
            400,
        ),
        (
            json!({"provider": "graph", "scope": {"type": "all"}, "expires_in": "soon"}),
            400,
        ),
        (
            json!({"provider": "graph", "scope": {"type": "groups", "group_ids": []}}),
            400,
        ),
        (json!({"provider": "graph", "scope": {"type": "ou"}}), 400),
        (json!({"provider": "ldap", "scope": {"type": "all"}}), 400),
        (
            json!({"provider": "graph", "scope": {"type": "all"}, "extra": 1}),
            400,
        ),
    ] {
        let res = post_link(&app, "acme", &body).await;
        assert_eq!(res.status(), status, "{body}");
        assert_eq!(res.headers()[CONTENT_TYPE], "application/problem+json");
        let problem: Value = res.json().await.unwrap();
        assert!(problem["detail"].is_string(), "{problem}");
    }
    let res = post_link(&app, "nobody", &whole_directory("graph")).await;
    assert_eq!(res.status(), 404);
    assert!(links(&app, "acme").await.is_empty());
}

#[tokio::test]
async fn a_server_without_public_url_key_or_platform_app_refuses_links_with_409() {
    let fake = fake().await;
    let body = whole_directory("graph");
    for (what, strip) in [
        (
            "SCIMD_PUBLIC_URL",
            (|s: &mut Settings| s.public_url = None) as fn(&mut Settings),
        ),
        ("SCIMD_SECRET_KEY", |s: &mut Settings| s.keyring = None),
        ("SCIMD_GRAPH_CLIENT_ID", |s: &mut Settings| {
            s.graph_app = None
        }),
    ] {
        let tune = tune(&fake);
        let app = spawn_app_with(|s| {
            tune(s);
            strip(s);
        })
        .await;
        tenant(&app, "acme", "Acme").await;
        let res = post_link(&app, "acme", &body).await;
        assert_eq!(res.status(), 409, "{what}");
        let problem: Value = res.json().await.unwrap();
        assert!(
            problem["detail"].as_str().unwrap().contains(what),
            "{what}: {problem}"
        );
        assert!(links(&app, "acme").await.is_empty());
    }
    // This server cannot connect Google Workspace through a link (yet): a clear 409.
    let app = app(&fake).await;
    tenant(&app, "acme", "Acme").await;
    let res = post_link(&app, "acme", &whole_directory("google")).await;
    assert_eq!(res.status(), 409);
}

#[tokio::test]
async fn the_link_page_says_who_asks_and_what_is_read_under_a_strict_policy() {
    let (fake, app) = acme_app("Acme <b>&</b> Sons").await;
    let (_, path) = graph_link(&app, "acme").await;
    let res = app.anonymous_get(&path).await;
    assert_eq!(res.status(), 200);
    let h = res.headers().clone();
    assert_eq!(h[CONTENT_TYPE], "text/html; charset=utf-8");
    assert_eq!(h[CACHE_CONTROL], "no-store");
    assert_eq!(h[REFERRER_POLICY], "no-referrer");
    let csp = h[CONTENT_SECURITY_POLICY].to_str().unwrap();
    for directive in [
        "default-src 'none'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'none'",
    ] {
        assert!(csp.contains(directive), "{csp}");
    }
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    let html = res.text().await.unwrap();
    // The one inline stylesheet is the one the policy's hash allows.
    let style = html
        .split("<style>")
        .nth(1)
        .and_then(|s| s.split("</style>").next())
        .unwrap();
    let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(style));
    assert!(csp.contains(&format!("style-src 'sha256-{hash}'")), "{csp}");
    assert!(!html.contains("<script"), "{html}");
    assert!(!html.contains("src="), "no asset is loaded: {html}");
    // Who asks (escaped), what is read and what is not.
    assert!(
        html.contains("Acme &lt;b&gt;&amp;&lt;/b&gt; Sons"),
        "{html}"
    );
    assert!(!html.contains("<b>&</b>"), "{html}");
    for words in [
        "names",
        "email addresses",
        "department",
        "manager",
        "group membership",
        "passwords",
        "mail",
        "files",
    ] {
        assert!(html.contains(words), "{words}: {html}");
    }
    // The button: the platform app's admin consent.
    let url = consent_url(&app, &path).await;
    assert_eq!(url.path(), "/organizations/v2.0/adminconsent");
    assert_eq!(param(&url, "client_id"), fake.options().client_id);
    assert_eq!(param(&url, "scope"), "https://graph.microsoft.com/.default");
    assert_eq!(
        param(&url, "redirect_uri"),
        format!("{PUBLIC}/connect/microsoft/callback")
    );
    // An unknown token is a page too, not an API problem.
    assert_page(page(&app, "/connect/not-a-token").await, 404, "not valid");
}

#[tokio::test]
async fn consent_saves_tests_and_starts_the_connection_and_uses_the_link() {
    let (fake, app) = acme_app("Acme Corp").await;
    let group = "b1e2c3d4-a5b6-4c7d-8e9f-0a1b2c3d4e5f";
    fake.add_group(group, json!({"displayName": "Staff"}), &["u1"]);
    let scope = json!({"type": "groups", "group_ids": [group]});
    let (id, path) = make_link(&app, "acme", json!({"provider": "graph", "scope": scope})).await;
    let state = state_of(&app, &path).await;
    let tokens_before = fake.tokens_issued();

    assert_page(consented(&app, &state, DIRECTORY).await, 200, "Connected");
    // The connection test signed in at the fake as the platform app.
    assert!(fake.tokens_issued() > tokens_before);

    let (status, saved) = connection(&app, "acme").await;
    assert_eq!(status, 200);
    assert_eq!(saved["provider"], "graph");
    assert_eq!(saved["directory_tenant_id"], DIRECTORY);
    assert_eq!(saved["client_id"], Value::Null, "the platform app");
    assert_eq!(saved["scope"], scope);
    let tenant: Value = app.admin_json("/admin/v1/tenants/acme").await;
    assert_eq!(tenant["source"], "graph");

    let runs = runs(&app, "acme").await;
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0]["dry_run"], true);
    assert_eq!(runs[0]["trigger"], "manual");

    let events = events(&app, "acme").await;
    let created: Vec<&Value> = events
        .iter()
        .filter(|e| e["type"] == "connection.created")
        .collect();
    assert_eq!(created.len(), 1, "{events:?}");
    assert_eq!(created[0]["actor"], format!("link:{id}"));
    assert_eq!(created[0]["resource_type"], "Connection");
    assert_eq!(created[0]["data"]["provider"], "graph");
    assert_eq!(created[0]["data"]["directory"], DIRECTORY);
    assert_eq!(created[0]["data"]["scope"], scope);

    assert_eq!(link_state(&app, "acme", &id).await, "used");
    assert_gone(&app, &path, "used already").await;
    let res = app
        .admin_delete(&format!("/admin/v1/tenants/acme/connect-links/{id}"))
        .await;
    assert_eq!(res.status(), 409, "a used link cannot be revoked");

    // The same answer again (a replay) is refused and changes nothing.
    assert_page(
        consented(&app, &state, OTHER_DIRECTORY).await,
        400,
        "used already",
    );
    assert_eq!(
        connection(&app, "acme").await.1["directory_tenant_id"],
        DIRECTORY
    );
}

#[tokio::test]
async fn a_consent_error_stores_nothing_and_its_state_cannot_be_used_again() {
    let (_fake, app) = acme_app("Acme").await;
    let (id, path) = graph_link(&app, "acme").await;
    let state = state_of(&app, &path).await;
    let (status, html) = callback(
        &app,
        &[
            ("error", "access_denied"),
            (
                "error_description",
                "AADSTS65004: User declined to consent to access the app. <script>",
            ),
            ("state", &state),
        ],
    )
    .await;
    assert_eq!(status, 200);
    assert!(html.contains("Consent was not given"), "{html}");
    assert!(html.contains("AADSTS65004: User declined"), "{html}");
    assert!(
        html.contains("&lt;script&gt;") && !html.contains("<script>"),
        "{html}"
    );
    assert_nothing_stored(&app, "acme").await;
    assert_eq!(link_state(&app, "acme", &id).await, "pending");

    // The state was spent, even though Microsoft's answer was an error.
    assert_page(
        consented(&app, &state, DIRECTORY).await,
        400,
        "used already",
    );
    assert_nothing_stored(&app, "acme").await;

    // The link itself still works: a fresh visit connects.
    let (status, html) = consented(&app, &state_of(&app, &path).await, DIRECTORY).await;
    assert_eq!(status, 200, "{html}");
    assert_eq!(connection(&app, "acme").await.0, 200);

    // An answer without a state, or with one this server did not sign, stores nothing.
    tenant(&app, "beta", "Beta").await;
    graph_link(&app, "beta").await;
    for query in [
        vec![("admin_consent", "True"), ("tenant", OTHER_DIRECTORY)],
        vec![
            ("admin_consent", "True"),
            ("tenant", OTHER_DIRECTORY),
            ("state", "forged"),
        ],
    ] {
        assert_page(callback(&app, &query).await, 400, "cannot be checked");
    }
    assert_nothing_stored(&app, "beta").await;
}

#[tokio::test]
async fn a_failed_connection_test_stores_nothing_and_leaves_the_link_usable() {
    let (_fake, app) = acme_app("Acme").await;
    let (id, path) = graph_link(&app, "acme").await;
    // A directory the fake does not know: the sign-in fails (AADSTS90002).
    let html = assert_page(
        consented(&app, &state_of(&app, &path).await, OTHER_DIRECTORY).await,
        200,
        "Not connected yet",
    );
    assert!(
        html.contains(OTHER_DIRECTORY),
        "the test's detail names it: {html}"
    );
    assert_nothing_stored(&app, "acme").await;
    assert_eq!(link_state(&app, "acme", &id).await, "pending");
    // Consent without a directory id is not a consent.
    let state = state_of(&app, &path).await;
    let (status, html) = callback(&app, &[("admin_consent", "True"), ("state", &state)]).await;
    assert_eq!(status, 400, "{html}");
    assert_nothing_stored(&app, "acme").await;
}

#[tokio::test]
async fn an_expired_link_or_an_hour_old_state_connects_nothing() {
    let (_fake, app) = acme_app("Acme").await;
    let (id, path) = expiring_graph_link(&app, "acme", "15m").await;
    let state = state_of(&app, &path).await;
    app.clock.advance(chrono::Duration::minutes(16));
    assert_eq!(link_state(&app, "acme", &id).await, "expired");
    assert_gone(&app, &path, "expired").await;
    let (status, html) = consented(&app, &state, DIRECTORY).await;
    assert_eq!(status, 410, "{html}");
    assert_nothing_stored(&app, "acme").await;

    tenant(&app, "beta", "Beta").await;
    let (id, path) = graph_link(&app, "beta").await;
    let state = state_of(&app, &path).await;
    app.clock.advance(chrono::Duration::minutes(61));
    assert_page(consented(&app, &state, DIRECTORY).await, 400, "too old");
    assert_nothing_stored(&app, "beta").await;
    assert_eq!(link_state(&app, "beta", &id).await, "pending");
}

#[tokio::test]
async fn a_state_or_a_directory_of_one_tenant_never_connects_another() {
    let (fake, app) = acme_app("Acme").await;
    tenant(&app, "beta", "Beta").await;
    let (_, acme_path) = graph_link(&app, "acme").await;
    let (beta_id, beta_path) = graph_link(&app, "beta").await;

    // Acme's state with Beta's link id in it: the signature no longer holds.
    let state = state_of(&app, &acme_path).await;
    let mut bytes = URL_SAFE_NO_PAD.decode(&state).unwrap();
    let beta = uuid::Uuid::parse_str(&beta_id).unwrap();
    bytes[2..18].copy_from_slice(beta.as_bytes());
    let forged = URL_SAFE_NO_PAD.encode(&bytes);
    let (status, html) = consented(&app, &forged, DIRECTORY).await;
    assert_eq!(status, 400, "{html}");
    assert_nothing_stored(&app, "beta").await;
    assert_nothing_stored(&app, "acme").await;

    // Acme's own state connects Acme, and only Acme.
    let (status, html) = consented(&app, &state, DIRECTORY).await;
    assert_eq!(status, 200, "{html}");
    assert_eq!(connection(&app, "acme").await.0, 200);
    assert_nothing_stored(&app, "beta").await;

    // The same directory consented through Beta's link: it feeds Acme already.
    assert_page(
        consented(&app, &state_of(&app, &beta_path).await, DIRECTORY).await,
        409,
        "another organisation",
    );
    assert_nothing_stored(&app, "beta").await;
    assert_eq!(link_state(&app, "beta", &beta_id).await, "pending");

    // A tenant connected meanwhile (here by an operator) is not replaced by a link.
    let o = fake.options();
    let res = app
        .client
        .put(app.url("/admin/v1/tenants/beta/connection"))
        .bearer_auth(&app.admin_key)
        .json(
            &json!({"provider": "graph", "directory_tenant_id": OTHER_DIRECTORY,
                      "client_id": "3f2a1c9e-5b7d-4e8f-a6c1-0d9b8e7f6a5c",
                      "client_secret": o.client_secret, "scope": {"type": "all"}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    assert_page(
        consented(&app, &state_of(&app, &beta_path).await, DIRECTORY).await,
        409,
        "Already connected",
    );
    let (_, beta_conn) = connection(&app, "beta").await;
    assert_eq!(beta_conn["directory_tenant_id"], OTHER_DIRECTORY);
}

// --- Google Workspace: domain-wide delegation and the verify form -----------------------

use crate::fake_google::{FakeGoogle, FakeOptions as GoogleOptions};

/// A server whose platform service account is the Google fake's, its Google roots at the
/// fake.
async fn google_app(fake: &FakeGoogle) -> TestApp {
    let account = scimd::sync::google::ServiceAccount::parse(&fake.key_file().to_string()).unwrap();
    let token_url = Url::parse(&fake.token_url()).unwrap();
    let directory_url = Url::parse(fake.url()).unwrap();
    spawn_app_with(move |s| {
        s.public_url = Some(PUBLIC.into());
        s.keyring = Some(Arc::new(Keyring::new(&[0x33; 32], None)));
        s.google_account = Some(Arc::new(account));
        s.google_token_url = Some(token_url);
        s.google_directory_url = Some(directory_url);
        s.sync_workers = 0;
    })
    .await
}

/// The value of the hidden `form_token` of a Google link's page.
fn form_token(html: &str) -> String {
    let at = html
        .find("name=\"form_token\" value=\"")
        .expect("a form token")
        + 25;
    html[at..at + html[at..].find('"').unwrap()].to_owned()
}

async fn verify(app: &TestApp, path: &str, form: &[(&str, &str)]) -> (u16, String) {
    let res = app
        .client
        .post(app.url(path))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.text().await.unwrap())
}

#[tokio::test]
async fn the_google_page_names_the_client_id_and_the_scopes_to_delegate() {
    let fake = FakeGoogle::start(GoogleOptions::default()).await;
    let app = google_app(&fake).await;
    tenant(&app, "acme", "Acme").await;
    let (_, path) = make_link(
        &app,
        "acme",
        json!({"provider": "google", "scope": {"type": "org_units", "paths": ["/Sales/"]}}),
    )
    .await;
    assert_eq!(
        links(&app, "acme").await[0]["scope"],
        json!({"type": "org_units", "paths": ["/Sales"]})
    );
    let res = app.anonymous_get(&path).await;
    assert_eq!(res.status(), 200);
    let csp = res.headers()[CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("form-action 'self'"), "{csp}");
    assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"));
    let html = res.text().await.unwrap();
    assert!(html.contains(&fake.options().client_id), "{html}");
    let scopes = [
        crate::fake_google::USER_SCOPE,
        crate::fake_google::GROUP_SCOPE,
        crate::fake_google::MEMBER_SCOPE,
        crate::fake_google::ORGUNIT_SCOPE,
    ]
    .join(",");
    assert!(html.contains(&scopes), "the exact list to paste: {html}");
    assert!(html.contains("<form method=\"post\">"), "{html}");
    assert!(html.contains("name=\"admin_email\""), "{html}");
    for words in [
        "names",
        "email addresses",
        "department",
        "manager",
        "passwords",
    ] {
        assert!(html.contains(words), "{words}");
    }
    // A Google link needs the platform's service account; this server has one.
    let res = post_link(&app, "acme", &json!({"provider": "google", "scope": {"type": "groups", "group_emails": ["not an address"]}})).await;
    assert_eq!(res.status(), 400);
}

#[tokio::test]
async fn verify_without_delegation_explains_and_stores_nothing_and_with_it_connects() {
    let fake = FakeGoogle::start(GoogleOptions::default()).await;
    fake.add_user("ann", "/");
    let app = google_app(&fake).await;
    tenant(&app, "acme", "Acme").await;
    let (id, path) = make_link(&app, "acme", whole_directory("google")).await;
    let (_, html) = page(&app, &path).await;
    let token = form_token(&html);
    let admin = fake.options().admins[0].clone();
    let filled = [
        ("admin_email", admin.as_str()),
        ("form_token", token.as_str()),
    ];

    // The delegation is not granted yet: Google refuses the service account.
    fake.set_delegated(&[]);
    let (status, html) = verify(&app, &path, &filled).await;
    assert_eq!(status, 200);
    assert!(html.contains("Not connected yet"), "{html}");
    assert!(
        html.to_lowercase().contains("delegation"),
        "the cause: {html}"
    );
    assert!(html.contains("<form"), "the form again: {html}");
    assert_nothing_stored(&app, "acme").await;
    assert_eq!(link_state(&app, "acme", &id).await, "pending");

    // Not an address: the form again, nothing asked of Google.
    let (status, html) = verify(
        &app,
        &path,
        &[("admin_email", "nobody"), ("form_token", &token)],
    )
    .await;
    assert_eq!(status, 400, "{html}");
    assert!(html.contains("admin_email"), "{html}");
    assert_nothing_stored(&app, "acme").await;

    // A form without its token, or with one of another link, is refused.
    tenant(&app, "beta", "Beta").await;
    let (_, beta_path) = make_link(&app, "beta", whole_directory("google")).await;
    let beta_token = form_token(&page(&app, &beta_path).await.1);
    for form in [
        vec![("admin_email", admin.as_str())],
        vec![
            ("admin_email", admin.as_str()),
            ("form_token", beta_token.as_str()),
        ],
        vec![("admin_email", admin.as_str()), ("form_token", "forged")],
    ] {
        assert_page(verify(&app, &path, &form).await, 400, "cannot be checked");
    }
    assert_nothing_stored(&app, "acme").await;

    // Delegated: verify connects.
    fake.set_delegated(&[
        crate::fake_google::USER_SCOPE,
        crate::fake_google::GROUP_SCOPE,
        crate::fake_google::MEMBER_SCOPE,
        crate::fake_google::ORGUNIT_SCOPE,
    ]);
    assert_page(verify(&app, &path, &filled).await, 200, "Connected");
    let (status, saved) = connection(&app, "acme").await;
    assert_eq!(status, 200);
    assert_eq!(saved["provider"], "google");
    assert_eq!(saved["admin_email"], admin);
    assert_eq!(saved["scope"], json!({"type": "all"}));
    let runs = runs(&app, "acme").await;
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0]["dry_run"], true);
    let created: Vec<Value> = events(&app, "acme")
        .await
        .into_iter()
        .filter(|e| e["type"] == "connection.created")
        .collect();
    assert_eq!(created.len(), 1);
    assert_eq!(created[0]["actor"], format!("link:{id}"));
    assert_eq!(created[0]["data"]["provider"], "google");
    assert_eq!(created[0]["data"]["directory"], fake.options().domain);
    assert_eq!(link_state(&app, "acme", &id).await, "used");
    // The form again, after the link was used: the link says so.
    let (status, html) = verify(&app, &path, &filled).await;
    assert_eq!(status, 410, "{html}");
}
