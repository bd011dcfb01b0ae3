//! Connecting a directory from the console (no browser): the form that creates and edits
//! Graph and Google connections through the admin API's own rules, what it says about the
//! people before it saves, its refusals (which save nothing and never show a secret
//! again), and connect links with a scope.

use std::sync::Arc;

use reqwest::header::LOCATION;
use reqwest::StatusCode;
use serde_json::{json, Value};

use scimd::config::{PlatformApp, Secret, Settings};
use scimd::secrets::Keyring;

use crate::connect_links::PUBLIC;
use crate::console::{csrf_of, signed_in_with_people, Browser};
use crate::fake_google::{FakeGoogle, FakeOptions as GoogleOptions};
use crate::helpers::{spawn_app_with, TestApp};

const GROUP_A: &str = "b1e2c3d4-a5b6-4c7d-8e9f-0a1b2c3d4e5f";
const GROUP_B: &str = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
const OWN_CLIENT: &str = "3f2a1c9e-5b7d-4e8f-a6c1-0d9b8e7f6a5c";
const SECRET: &str = "a-client-secret-typed-once";

/// A server that can seal secrets and has a platform app registration, so that links
/// and connections without a client id of their own can be made.
fn tune(s: &mut Settings) {
    s.public_url = Some(PUBLIC.into());
    s.keyring = Some(Arc::new(Keyring::new(&[0x44; 32], None)));
    s.graph_app = Some(PlatformApp {
        client_id: "00000000-0000-4000-a000-00000000c11e".into(),
        client_secret: Secret::new("platform-secret".into()),
    });
    s.sync_workers = 0;
}

async fn connection(app: &TestApp, slug: &str) -> (StatusCode, Value) {
    let res = app
        .admin_get(&format!("/admin/v1/tenants/{slug}/connection"))
        .await;
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn source(app: &TestApp, slug: &str) -> Value {
    app.admin_json(&format!("/admin/v1/tenants/{slug}")).await["source"].clone()
}

/// Posts the directory form of `slug` for `provider` with `fields`.
async fn save(
    browser: &Browser<'_>,
    slug: &str,
    csrf: &str,
    provider: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let mut all = vec![("csrf", csrf), ("provider", provider)];
    all.extend_from_slice(fields);
    browser
        .post(&format!("/console/t/{slug}/directory"), &all)
        .await
}

async fn page(browser: &Browser<'_>, path: &str) -> String {
    let res = browser.get(path).await;
    assert_eq!(res.status(), 200, "{path}");
    res.text().await.unwrap()
}

#[tokio::test]
async fn a_graph_connection_is_made_and_edited_in_the_console_saying_first_what_happens_to_the_people(
) {
    let app = spawn_app_with(tune).await;
    let browser = signed_in_with_people(&app, "acme", &["ann", "bob"]).await;
    let connection_page = page(&browser, "/console/t/acme/connection").await;
    assert!(
        connection_page.contains(r#"href="/console/t/acme/directory?provider=graph""#),
        "{connection_page}"
    );
    let form = page(&browser, "/console/t/acme/directory?provider=graph").await;
    assert!(form.contains("<strong>2 people</strong>"), "{form}");
    assert!(
        form.contains("SCIM writes are refused from then on"),
        "{form}"
    );
    assert!(form.contains("Connect and make Microsoft 365 the source"));
    let csrf = csrf_of(&form);

    // Mistakes come back as the form with the reason: nothing saved, the secret not echoed.
    let refusals = [
        (
            vec![
                ("directory_tenant_id", "not a directory"),
                ("client_secret", SECRET),
            ],
            "directory_tenant_id must be",
        ),
        (
            vec![
                ("directory_tenant_id", "contoso.example"),
                ("scope", "groups"),
                ("scope_items", "sales-team"),
            ],
            "`sales-team` is not a group's object id",
        ),
        (
            vec![
                ("directory_tenant_id", "contoso.example"),
                ("scope", "groups"),
            ],
            "name at least one group",
        ),
        (
            vec![
                ("directory_tenant_id", "contoso.example"),
                ("client_id", OWN_CLIENT),
            ],
            "client_secret is required with client_id",
        ),
        (
            vec![
                ("directory_tenant_id", "contoso.example"),
                ("cloud", "mars"),
            ],
            "the cloud must be",
        ),
        (
            vec![
                ("directory_tenant_id", "contoso.example"),
                ("scope", "org_units"),
                ("scope_items", "/Sales"),
            ],
            "the scope must be one of",
        ),
    ];
    for (fields, why) in refusals {
        let res = save(&browser, "acme", &csrf, "graph", &fields).await;
        assert_eq!(res.status(), 400, "{fields:?}");
        let text = res.text().await.unwrap();
        assert!(text.contains(why), "{why}: {text}");
        assert!(!text.contains(SECRET), "the secret is not shown again");
        assert!(text.contains(r#"role="alert""#));
    }
    assert_eq!(connection(&app, "acme").await.0, 404);
    assert_eq!(source(&app, "acme").await, "scim");

    // A connection with its own app registration, read by two groups (one named twice).
    let groups = format!("{GROUP_A}\n{GROUP_B}, {GROUP_A}");
    let res = save(
        &browser,
        "acme",
        &csrf,
        "graph",
        &[
            ("directory_tenant_id", "Contoso.Example"),
            ("cloud", "global"),
            ("client_id", OWN_CLIENT),
            ("client_secret", SECRET),
            ("scope", "groups"),
            ("scope_items", &groups),
            ("include_guests", "true"),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        res.headers()[LOCATION],
        "/console/t/acme/connection?notice=connected"
    );
    let (status, view) = connection(&app, "acme").await;
    assert_eq!(status, 200);
    assert_eq!(view["provider"], "graph");
    assert_eq!(view["directory_tenant_id"], "contoso.example");
    assert_eq!(view["client_id"], OWN_CLIENT);
    assert_eq!(view["has_secret"], true);
    assert_eq!(view["include_guests"], true);
    assert_eq!(
        view["scope"],
        json!({"type": "groups", "group_ids": [GROUP_A, GROUP_B]})
    );
    assert_eq!(source(&app, "acme").await, "graph");
    let shown = page(&browser, "/console/t/acme/connection?notice=connected").await;
    assert!(shown.contains("Connection saved"), "{shown}");
    assert!(shown.contains("members of 2 groups"), "{shown}");
    assert!(!shown.contains(SECRET));

    // Editing: the form is filled with the stored settings (never the secret); kept client
    // id and an empty secret keep the stored secret.
    let form = page(&browser, "/console/t/acme/directory").await;
    assert!(form.contains(r#"value="contoso.example""#), "{form}");
    assert!(form.contains(&format!(r#"value="{OWN_CLIENT}""#)));
    assert!(form.contains("Save the connection"));
    assert!(form.contains("deprovisions the people the directory no longer lists"));
    assert!(!form.contains(SECRET));
    let res = save(
        &browser,
        "acme",
        &csrf,
        "graph",
        &[
            ("directory_tenant_id", "contoso.example"),
            ("client_id", OWN_CLIENT),
            ("client_secret", ""),
            ("scope", "all"),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, view) = connection(&app, "acme").await;
    assert_eq!(view["has_secret"], true);
    assert_eq!(view["include_guests"], false);
    assert_eq!(view["scope"], json!({"type": "all"}));
    assert_eq!(view["client_id"], OWN_CLIENT);

    // A form without its anti-forgery token saves nothing.
    let res = browser
        .post(
            "/console/t/acme/directory",
            &[
                ("provider", "graph"),
                ("directory_tenant_id", "other.example"),
            ],
        )
        .await;
    assert_eq!(res.status(), 403);
    assert_eq!(
        connection(&app, "acme").await.1["directory_tenant_id"],
        "contoso.example"
    );
}

#[tokio::test]
async fn a_google_connection_is_made_in_the_console_with_a_pasted_key_never_shown_again() {
    let fake = FakeGoogle::start(GoogleOptions::default()).await;
    let app = spawn_app_with(tune).await;
    let browser = signed_in_with_people(&app, "globex", &[]).await;
    let form = page(&browser, "/console/t/globex/directory?provider=google").await;
    assert!(form.contains(r#"value="my_customer""#), "{form}");
    assert!(form.contains("Organisational units"));
    let csrf = csrf_of(&form);
    let key = fake.key_file().to_string();
    let fields = [
        ("admin_email", "admin@example.com"),
        ("customer", "my_customer"),
        ("service_account", key.as_str()),
        ("scope", "org_units"),
        ("scope_items", "/Sales/\n/Engineering"),
    ];
    let res = save(&browser, "globex", &csrf, "google", &fields).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (status, view) = connection(&app, "globex").await;
    assert_eq!(status, 200);
    assert_eq!(view["provider"], "google");
    assert_eq!(view["has_secret"], true);
    assert_eq!(
        view["scope"],
        json!({"type": "org_units", "paths": ["/Sales", "/Engineering"]})
    );
    assert_eq!(source(&app, "globex").await, "google");
    let shown = page(&browser, "/console/t/globex/connection").await;
    assert!(
        shown.contains("people of 2 units: /Sales, /Engineering"),
        "{shown}"
    );
    let form = page(&browser, "/console/t/globex/directory").await;
    assert!(
        !form.contains("PRIVATE KEY"),
        "the key is never shown again"
    );
    assert!(form.contains(r#"value="admin@example.com""#));

    // Without a key, and without a platform service account on this server: 400, nothing
    // changes, and the page says what to do.
    let fields = [("admin_email", "admin@example.com"), ("scope", "all")];
    let res = save(&browser, "globex", &csrf, "google", &fields).await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("give service_account"));
    assert_eq!(
        connection(&app, "globex").await.1["scope"]["type"],
        "org_units"
    );
}

#[tokio::test]
async fn a_connect_link_made_in_the_console_carries_the_scope_chosen() {
    let app = spawn_app_with(tune).await;
    let browser = signed_in_with_people(&app, "acme", &[]).await;
    let connection_page = page(&browser, "/console/t/acme/connection").await;
    assert!(
        connection_page.contains(r#"name="scope_items""#),
        "{connection_page}"
    );
    let csrf = csrf_of(&connection_page);
    let links = || async {
        app.admin_json("/admin/v1/tenants/acme/connect-links").await["items"]
            .as_array()
            .unwrap()
            .clone()
    };
    let res = browser
        .post(
            "/console/t/acme/links",
            &[
                ("csrf", &csrf),
                ("provider", "graph"),
                ("expires_in", "7d"),
                ("scope", "groups"),
                ("scope_items", &format!("{GROUP_A}\n{GROUP_A}\n{GROUP_B}")),
            ],
        )
        .await;
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    assert!(text.contains("Connect link"), "{text}");
    assert!(text.contains("members of 2 groups"), "{text}");
    let made = links().await;
    assert_eq!(made.len(), 1);
    assert_eq!(
        made[0]["scope"],
        json!({"type": "groups", "group_ids": [GROUP_A, GROUP_B]})
    );

    // A scope that does not read is refused on the page, and no link is made.
    for (scope, items, why) in [
        ("groups", "", "name at least one group"),
        ("groups", "Sales", "`Sales` is not a group's object id"),
        ("org_units", "/Sales", "the scope must be one of"),
    ] {
        let res = browser
            .post(
                "/console/t/acme/links",
                &[
                    ("csrf", &csrf),
                    ("provider", "graph"),
                    ("scope", scope),
                    ("scope_items", items),
                ],
            )
            .await;
        assert_eq!(res.status(), 400, "{scope} {items}");
        let text = res.text().await.unwrap();
        assert!(text.contains(why), "{why}: {text}");
    }
    assert_eq!(links().await.len(), 1);
}
