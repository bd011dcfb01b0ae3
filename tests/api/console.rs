//! The operator console over HTTP (no browser): sign-in, the session cookie, anti-forgery
//! tokens, expiry, sign-out, the security headers, and `SCIMD_CONSOLE=off`. The flows in a
//! real browser are `conformance/console/`.

use std::time::Duration;

use chrono::Duration as Span;
use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use reqwest::StatusCode;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::helpers::{group_body, spawn_app, spawn_app_with, user_body, TestApp};

/// A browser, as far as the console cares: its session cookie and its forms' token.
pub(crate) struct Browser<'a> {
    app: &'a TestApp,
    session: Option<String>,
}

/// The value of `name="csrf"` in a page.
pub(crate) fn csrf_of(page: &str) -> String {
    let marker = r#"name="csrf" value=""#;
    let start = page
        .find(marker)
        .expect("a form with an anti-forgery token")
        + marker.len();
    page[start..]
        .split('"')
        .next()
        .expect("the token's end")
        .to_owned()
}

/// The cookie `name` that a response sets, with its attributes.
fn set_cookie<'r>(res: &'r reqwest::Response, name: &str) -> Option<&'r str> {
    res.headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
}

fn cookie_value(set: &str) -> String {
    set.split(';')
        .next()
        .and_then(|kv| kv.split_once('='))
        .map(|(_, v)| v.to_owned())
        .unwrap_or_default()
}

impl<'a> Browser<'a> {
    pub(crate) fn new(app: &'a TestApp) -> Self {
        Self { app, session: None }
    }

    /// The same session, on another node.
    fn on(&self, app: &'a TestApp) -> Self {
        Self {
            app,
            session: self.session.clone(),
        }
    }

    pub(crate) async fn get(&self, path: &str) -> reqwest::Response {
        let mut req = self.app.client.get(self.app.url(path));
        if let Some(s) = &self.session {
            req = req.header(COOKIE, format!("scimd_console={s}"));
        }
        req.send().await.expect("request")
    }

    pub(crate) async fn post(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let body = serde_urlencoded_pairs(form);
        let mut req = self
            .app
            .client
            .post(self.app.url(path))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body);
        if let Some(s) = &self.session {
            req = req.header(COOKIE, format!("scimd_console={s}"));
        }
        req.send().await.expect("request")
    }

    /// The text of the page at `path`, which must answer 200.
    async fn text(&self, path: &str) -> String {
        let res = self.get(path).await;
        assert_eq!(res.status(), 200, "{path}");
        res.text().await.expect("page")
    }

    /// The text of the answer to `path`, whatever its status.
    pub(crate) async fn page(&self, path: &str) -> String {
        self.get(path).await.text().await.expect("page")
    }

    /// Posts a form that succeeds: its answer, a redirect (303).
    pub(crate) async fn submit(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let res = self.post(path, form).await;
        assert_eq!(res.status(), 303, "{path}");
        res
    }

    /// A browser signed in with the app's admin key.
    pub(crate) async fn signed_in(app: &'a TestApp) -> Browser<'a> {
        let mut browser = Self::new(app);
        browser.sign_in(&app.admin_key).await;
        browser
    }

    /// Signs in with `key`: the sign-in answer.
    pub(crate) async fn sign_in(&mut self, key: &str) -> reqwest::Response {
        let form = self.get("/console/sign-in").await;
        assert_eq!(form.status(), 200);
        let pre = set_cookie(&form, "scimd_console_pre")
            .map(cookie_value)
            .expect("a pre-session cookie");
        let token = csrf_of(&form.text().await.expect("page"));
        let res = self
            .app
            .client
            .post(self.app.url("/console/sign-in"))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(COOKIE, format!("scimd_console_pre={pre}"))
            .body(serde_urlencoded_pairs(&[("csrf", &token), ("key", key)]))
            .send()
            .await
            .expect("request");
        if let Some(set) = set_cookie(&res, "scimd_console") {
            self.session = Some(cookie_value(set));
        }
        res
    }

    /// The anti-forgery token of the signed-in session, read from a page.
    pub(crate) async fn token(&self) -> String {
        let page = self.get("/console").await;
        assert_eq!(page.status(), 200);
        csrf_of(&page.text().await.expect("page"))
    }

    /// Posts an import form to tenant `slug`: the job it started, from the answer's 303.
    pub(crate) async fn start_import(&self, slug: &str, form: &[(&str, &str)]) -> String {
        let res = self.post(&format!("/console/t/{slug}/import"), form).await;
        assert_eq!(
            res.status(),
            303,
            "{}",
            res.text().await.unwrap_or_default()
        );
        let to = res.headers()[LOCATION]
            .to_str()
            .expect("location")
            .to_owned();
        let prefix = format!("/console/t/{slug}/imports/");
        assert!(to.starts_with(&prefix), "{to}");
        to[prefix.len()..].to_owned()
    }

    /// Polls the job's panel, as the page does, until the job ends: its last panel.
    pub(crate) async fn import_ended(&self, slug: &str, job: &str) -> String {
        let path = format!("/console/t/{slug}/imports/{job}/panel");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let panel = self.text(&path).await;
            if !panel.contains(r#"data-state="running""#) {
                assert!(
                    !panel.contains("hx-trigger"),
                    "an ended job stops polling: {panel}"
                );
                return panel;
            }
            assert!(panel.contains(r#"hx-trigger="every 1s""#), "{panel}");
            assert!(
                tokio::time::Instant::now() < deadline,
                "the import never ended"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// The tenant `slug` and its token, with the people `names` (`<name>@<slug>.test`) pushed
/// over SCIM: the token and their ids.
async fn tenant_with_people(app: &TestApp, slug: &str, names: &[&str]) -> (String, Vec<String>) {
    let token = app.tenant_with_token(slug).await;
    let mut ids = Vec::new();
    for n in names {
        let user = app
            .create_user(&token, &user_body(&format!("{n}@{slug}.test")))
            .await;
        ids.push(user["id"].as_str().expect("id").to_owned());
    }
    (token, ids)
}

/// A browser signed in with the admin key, and the tenant `slug` with the people `names`
/// (`<name>@<slug>.test`) pushed over SCIM.
pub(crate) async fn signed_in_with_people<'a>(
    app: &'a TestApp,
    slug: &str,
    names: &[&str],
) -> Browser<'a> {
    tenant_with_people(app, slug, names).await;
    Browser::signed_in(app).await
}

fn serde_urlencoded_pairs(pairs: &[(&str, &str)]) -> String {
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        out.append_pair(k, v);
    }
    out.finish()
}

fn key_id(key: &str) -> &str {
    key.split('_').nth(1).expect("scimd_<key id>_<secret>")
}

fn to_sign_in(res: &reqwest::Response) -> bool {
    res.status() == StatusCode::SEE_OTHER
        && res.headers().get(LOCATION).and_then(|v| v.to_str().ok()) == Some("/console/sign-in")
}

#[tokio::test]
async fn a_wrong_key_is_refused_and_the_right_one_opens_a_hashed_session() {
    let app = spawn_app().await;
    let mut browser = Browser::new(&app);
    let wrong = browser
        .sign_in("scimd_nosuchkey_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
        .await;
    assert_eq!(wrong.status(), 401);
    assert!(set_cookie(&wrong, "scimd_console").is_none());
    assert!(wrong.text().await.unwrap().contains("not valid"));
    assert!(browser.session.is_none());

    let right = browser.sign_in(&app.admin_key).await;
    assert_eq!(right.status(), 303);
    assert_eq!(right.headers()[LOCATION], "/console");
    let set = set_cookie(&right, "scimd_console").expect("a session cookie");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/console"] {
        assert!(set.contains(attribute), "{attribute} in {set}");
    }
    // Served over plain http here: not Secure.
    assert!(!set.contains("Secure"), "{set}");
    let session = browser.session.clone().unwrap();
    assert!(session.len() >= 40, "{session}");

    // Only the SHA-256 of the id is stored, under the key it was opened with.
    let mut conn = app.db.conn();
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Bytea)]
        id_hash: Vec<u8>,
        #[diesel(sql_type = diesel::sql_types::Text)]
        key_id: String,
    }
    let rows: Vec<Row> = diesel::RunQueryDsl::load(
        diesel::sql_query("SELECT id_hash, key_id FROM console_sessions"),
        &mut conn,
    )
    .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].id_hash, Sha256::digest(session.as_bytes()).to_vec());
    assert_eq!(rows[0].key_id, key_id(&app.admin_key));

    let home = browser.get("/console").await;
    assert_eq!(home.status(), 200);
    assert!(home.text().await.unwrap().contains("Create a tenant"));
}

#[tokio::test]
async fn wrong_keys_use_up_the_address_allowance_of_failed_sign_ins_then_429() {
    let app = spawn_app_with(|s| s.auth_failures_per_minute = 3).await;
    let mut browser = Browser::new(&app);
    for i in 0..3 {
        let wrong = browser
            .sign_in("scimd_nosuchkey_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
            .await;
        assert_eq!(wrong.status(), 401, "failure {i} is within the allowance");
    }
    // The address is limited now: even the right key, never verified by this node, waits,
    // and no session is opened.
    let limited = browser.sign_in(&app.admin_key).await;
    assert_eq!(limited.status(), 429);
    assert!(limited.headers().contains_key("retry-after"));
    assert!(browser.session.is_none());
    // Once the failures age out, the right key opens a session.
    app.clock.advance(Span::seconds(61));
    let right = browser.sign_in(&app.admin_key).await;
    assert_eq!(right.status(), 303);
    assert!(browser.session.is_some());
}

#[tokio::test]
async fn a_sign_in_without_its_form_token_is_refused() {
    let app = spawn_app().await;
    let res = app
        .client
        .post(app.url("/console/sign-in"))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(serde_urlencoded_pairs(&[("key", &app.admin_key)]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert!(set_cookie(&res, "scimd_console").is_none());
}

#[tokio::test]
async fn pages_without_a_session_send_the_browser_to_sign_in() {
    let app = spawn_app().await;
    let browser = Browser::new(&app);
    for path in [
        "/console",
        "/console/t/default",
        "/console/t/default/groups",
    ] {
        let res = browser.get(path).await;
        assert!(to_sign_in(&res), "{path}: {}", res.status());
    }
    let mut forged = Browser::new(&app);
    forged.session = Some("made-up".into());
    assert!(to_sign_in(&forged.get("/console").await));
    // A request htmx makes (a run's panel polling itself) is told to load the sign-in page
    // whole, not given it to swap into the panel.
    let polled = app
        .anonymous_get_with(
            "/console/t/default/runs/00000000-0000-0000-0000-000000000000/panel",
            "HX-Request",
            "true",
        )
        .await;
    assert_eq!(polled.status(), 401);
    assert_eq!(polled.headers()["hx-redirect"], "/console/sign-in");
}

#[tokio::test]
async fn every_console_answer_carries_a_strict_csp_and_refuses_frames() {
    let app = spawn_app().await;
    let browser = Browser::signed_in(&app).await;
    for path in [
        "/console/sign-in",
        "/console",
        "/console/t/default",
        "/console/t/nope",
        "/console/assets/console.css",
    ] {
        let res = browser.get(path).await;
        let h = res.headers();
        let csp = h
            .get("content-security-policy")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("no CSP on {path}"));
        assert!(csp.contains("script-src 'self'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
    }
    // Pages hold no inline script: every <script> has a src under /console/assets.
    let page = browser.page("/console").await;
    let scripts: Vec<&str> = page.split("<script").skip(1).collect();
    assert!(!scripts.is_empty());
    for s in scripts {
        assert!(s.trim_start().starts_with("src=\"/console/assets/"), "{s}");
    }
    // htmx is served from the binary.
    let htmx = browser.get("/console/assets/htmx-2.0.11.min.js").await;
    assert_eq!(htmx.status(), 200);
    assert!(htmx.text().await.unwrap().starts_with("var htmx="));
}

/// The status of the console's new-tenant form for the tenant `forged`, sent with this
/// anti-forgery token (or none).
async fn post_forged_tenant(browser: &Browser<'_>, csrf: Option<&str>) -> u16 {
    let mut form = vec![("slug", "forged")];
    form.extend(csrf.map(|token| ("csrf", token)));
    browser
        .post("/console/tenants", &form)
        .await
        .status()
        .as_u16()
}

#[tokio::test]
async fn forged_forms_are_refused_and_change_nothing() {
    let app = spawn_app().await;
    let browser = Browser::signed_in(&app).await;
    assert_eq!(post_forged_tenant(&browser, None).await, 403);
    assert_eq!(
        post_forged_tenant(&browser, Some("not-the-token")).await,
        403
    );
    // Another session's token is wrong too.
    let other = Browser::signed_in(&app).await;
    let theirs = other.token().await;
    assert_eq!(post_forged_tenant(&browser, Some(&theirs)).await, 403);
    assert_eq!(
        app.admin_get("/admin/v1/tenants/forged").await.status(),
        404
    );

    let token = browser.token().await;
    assert_eq!(post_forged_tenant(&browser, Some(&token)).await, 303);
    assert_eq!(
        app.admin_get("/admin/v1/tenants/forged").await.status(),
        200
    );
}

#[tokio::test]
async fn sessions_expire_when_idle_and_at_their_absolute_limit() {
    let app = spawn_app_with(|s| {
        s.console_sessions.idle = Duration::from_secs(10 * 60);
        s.console_sessions.absolute = Duration::from_secs(60 * 60);
    })
    .await;
    // Idle: 11 minutes without a request.
    let idle = Browser::signed_in(&app).await;
    app.clock.advance(Span::minutes(9));
    assert_eq!(idle.get("/console").await.status(), 200);
    app.clock.advance(Span::minutes(11));
    assert!(to_sign_in(&idle.get("/console").await));

    // Absolute: used every 9 minutes, it still ends an hour after sign-in.
    let busy = Browser::signed_in(&app).await;
    for _ in 0..6 {
        app.clock.advance(Span::minutes(9));
        assert_eq!(busy.get("/console").await.status(), 200);
    }
    app.clock.advance(Span::minutes(7));
    assert!(to_sign_in(&busy.get("/console").await));
}

#[tokio::test]
async fn signing_out_refuses_the_old_session() {
    let app = spawn_app().await;
    let browser = Browser::signed_in(&app).await;
    let token = browser.token().await;
    let out = browser.post("/console/sign-out", &[("csrf", &token)]).await;
    assert!(to_sign_in(&out));
    let cleared = set_cookie(&out, "scimd_console").expect("the cookie cleared");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    // The browser that kept the old cookie is refused.
    assert!(to_sign_in(&browser.get("/console").await));
}

#[tokio::test]
async fn revoking_the_admin_key_ends_its_sessions() {
    let app = spawn_app().await;
    let browser = Browser::signed_in(&app).await;
    assert_eq!(browser.get("/console").await.status(), 200);
    let mut conn = app.db.conn();
    diesel::RunQueryDsl::execute(
        diesel::sql_query("UPDATE admin_keys SET revoked_at = now() - interval '1 second'"),
        &mut conn,
    )
    .unwrap();
    assert!(to_sign_in(&browser.get("/console").await));
}

#[tokio::test]
async fn the_console_is_not_served_when_turned_off() {
    let app = spawn_app_with(|s| s.console = false).await;
    for path in [
        "/console",
        "/console/sign-in",
        "/console/assets/console.css",
    ] {
        let res = app.anonymous_get(path).await;
        assert_eq!(res.status(), 404, "{path}");
    }
    // The admin API still is.
    assert_eq!(app.admin_get("/admin/v1/tenants").await.status(), 200);
}

/// Deactivating two people from the list: the counts change, the events name the admin
/// key, as through the API.
#[tokio::test]
async fn deactivating_from_the_list_changes_the_counts_and_records_the_admin() {
    let app = spawn_app().await;
    let (_, ids) = tenant_with_people(&app, "acme", &["ann", "bob", "cat"]).await;
    let browser = Browser::signed_in(&app).await;
    let page = browser.page("/console/t/acme").await;
    assert!(page.contains("ann@acme.test") && page.contains("cat@acme.test"));
    assert!(
        page.contains(r#"data-tab="participating">Participating <span class="count">3</span>"#),
        "{page}"
    );
    let csrf = csrf_of(&page);
    let res = browser
        .submit(
            "/console/t/acme/people",
            &[
                ("csrf", &csrf),
                ("action", "deactivate"),
                ("id", &ids[0]),
                ("id", &ids[1]),
                ("back", "/console/t/acme?state=participating"),
            ],
        )
        .await;
    let to = res.headers()[LOCATION].to_str().unwrap().to_owned();
    assert_eq!(
        to,
        "/console/t/acme?state=participating&notice=deactivated:2"
    );
    let after = browser.page(&to).await;
    assert!(after.contains("2 people deactivated."), "{after}");
    assert!(
        after.contains(r#"data-tab="participating">Participating <span class="count">1</span>"#)
    );
    assert!(after.contains(r#"data-tab="deactivated">Deactivated <span class="count">2</span>"#));
    let counts = people_counts(&app, "acme").await;
    assert_eq!(counts["participating"], 1);
    assert_eq!(counts["deactivated"], 2);
    let feed = app
        .admin_json("/admin/v1/tenants/acme/events?limit=100")
        .await;
    let excluded: Vec<&serde_json::Value> = feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "user.excluded")
        .collect();
    assert_eq!(excluded.len(), 2);
    for e in excluded {
        assert_eq!(
            e["actor"],
            json!(format!("admin:{}", key_id(&app.admin_key)))
        );
    }
}

/// A token issued in the console is shown in the POST's answer, once, and works.
#[tokio::test]
async fn an_issued_token_is_shown_once_and_never_in_a_url() {
    let app = spawn_app().await;
    app.create_tenant("acme").await;
    let browser = Browser::signed_in(&app).await;
    let csrf = browser.token().await;
    let res = browser
        .post(
            "/console/t/acme/tokens",
            &[("csrf", &csrf), ("label", "Entra")],
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let page = res.text().await.unwrap();
    let start = page.find("scimd_").expect("the token on the page");
    let token: String = page[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect();
    assert_eq!(app.scim_get(&token, "/Users").await.status(), 200);
    // The connection page lists it without its secret.
    let later = browser.page("/console/t/acme/connection").await;
    assert!(later.contains("Entra"));
    assert!(!later.contains(&token));
}

/// A person's page: delete by the tenant's policy (retain: deprovisioned, still shown),
/// then restore.
#[tokio::test]
async fn a_person_is_deleted_by_policy_and_restored_from_their_page() {
    let app = spawn_app().await;
    let token = app.tenant_with_token("acme").await;
    let ann = app.create_user(&token, &user_body("ann@acme.test")).await;
    let id = ann["id"].as_str().unwrap().to_owned();
    let browser = Browser::signed_in(&app).await;
    let page_at = format!("/console/t/acme/people/{id}");
    let person_at = format!("/admin/v1/tenants/acme/people/{id}");
    let page = browser.page(&page_at).await;
    assert!(page.contains("Delete (retain)"), "{page}");
    let csrf = csrf_of(&page);
    browser
        .submit(&format!("{page_at}/delete"), &[("csrf", &csrf)])
        .await;
    let person = app.admin_json(&person_at).await;
    assert!(person["deprovisioned_at"].is_string(), "{person}");
    let page = browser.page(&format!("{page_at}?notice=deleted")).await;
    assert!(page.contains(">Restore<"), "{page}");
    browser
        .submit(&format!("{page_at}/restore"), &[("csrf", &csrf)])
        .await;
    let person = app.admin_json(&person_at).await;
    assert!(person["deprovisioned_at"].is_null(), "{person}");
    assert_eq!(
        app.scim_get(&token, &format!("/Users/{id}")).await.status(),
        200
    );
}

/// Excluding a group says how many people stop participating (its members held out by
/// nothing else), and including it says how many start again.
#[tokio::test]
async fn a_groups_confirmation_counts_the_people_it_affects() {
    let app = spawn_app().await;
    let (token, ids) = tenant_with_people(&app, "acme", &["ann", "bob", "cat"]).await;
    let group = app
        .create_group(
            &token,
            &group_body("Contractors", &[&ids[0], &ids[1], &ids[2]]),
        )
        .await;
    let gid = group["id"].as_str().unwrap().to_owned();
    // One member is already out: deactivated by an admin.
    let res = app
        .admin_post(
            "/admin/v1/tenants/acme/people/deactivate",
            &json!({"ids": [ids[2]]}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let browser = Browser::signed_in(&app).await;
    let url = format!("/console/t/acme/groups/{gid}");
    let page = browser.page(&url).await;
    assert!(page.contains("3 members."), "{page}");
    assert!(page.contains("stops <strong>2 people</strong>"), "{page}");
    let csrf = csrf_of(&page);
    browser
        .submit(&url, &[("csrf", &csrf), ("exclude", "true")])
        .await;
    let counts = people_counts(&app, "acme").await;
    assert_eq!(counts["participating"], 0);
    assert_eq!(counts["excluded"], 3);
    let page = browser.page(&url).await;
    assert!(page.contains("makes <strong>2 people</strong>"), "{page}");
    browser
        .submit(&url, &[("csrf", &csrf), ("exclude", "false")])
        .await;
    let counts = people_counts(&app, "acme").await;
    assert_eq!(counts["participating"], 2);
}

/// Disconnecting first says what happens to the people; keeping them makes them manual.
#[tokio::test]
async fn disconnecting_says_what_happens_to_the_people_then_keeps_them() {
    let app = spawn_app().await;
    let browser = signed_in_with_people(&app, "acme", &["ann", "bob"]).await;
    let page = browser.page("/console/t/acme/source?to=disconnect").await;
    assert!(page.contains("<strong>2 people</strong>"), "{page}");
    assert!(page.contains("they are deprovisioned (the tenant's policy is retain)"));
    let csrf = csrf_of(&page);
    browser
        .submit(
            "/console/t/acme/source",
            &[
                ("csrf", &csrf),
                ("to", "disconnect"),
                ("keep_people", "true"),
            ],
        )
        .await;
    let tenant = app.admin_json("/admin/v1/tenants/acme").await;
    assert_eq!(tenant["source"], "manual");
    let counts = people_counts(&app, "acme").await;
    assert_eq!(counts["total"], 2);
    // A pull source is set by saving a connection (the directory form), not by a switch:
    // refused, nothing changes.
    let res = browser
        .post(
            "/console/t/acme/source",
            &[("csrf", &csrf), ("to", "graph")],
        )
        .await;
    assert_eq!(res.status(), 400);
    let tenant = app.admin_json("/admin/v1/tenants/acme").await;
    assert_eq!(tenant["source"], "manual");
}

#[tokio::test]
async fn the_settings_form_sets_and_clears_when_deprovisioned_people_are_erased() {
    let app = spawn_app().await;
    app.tenant_with_token("acme").await;
    let browser = Browser::signed_in(&app).await;
    let erase_after = || async {
        let t: serde_json::Value = app.admin_json("/admin/v1/tenants/acme").await;
        t["erase_deprovisioned_after"].clone()
    };
    let page = browser.page("/console/t/acme/settings").await;
    assert!(
        page.contains(r#"name="erase_deprovisioned_after" value="""#),
        "{page}"
    );
    let save = |value: &'static str| {
        let csrf = csrf_of(&page);
        let browser = &browser;
        async move {
            browser
                .post(
                    "/console/t/acme/settings",
                    &[
                        ("csrf", &csrf),
                        ("name", "Acme"),
                        ("on_source_delete", "retain"),
                        ("rate_per_second", "100"),
                        ("rate_burst", "200"),
                        ("sync_interval", "6h"),
                        ("brake_max_percent", "10"),
                        ("brake_min_count", "5"),
                        ("erase_deprovisioned_after", value),
                    ],
                )
                .await
        }
    };
    assert_eq!(save("20d").await.status(), StatusCode::SEE_OTHER);
    assert_eq!(erase_after().await, "20days");
    let shown = browser.page("/console/t/acme/settings").await;
    assert!(shown.contains(r#"value="20days""#), "{shown}");
    // Out of bounds: the form says why and nothing changes.
    let res = save("1h").await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.unwrap().contains(r#"role="alert""#));
    assert_eq!(erase_after().await, "20days");
    // Empty keeps them again.
    assert_eq!(save(" ").await.status(), StatusCode::SEE_OTHER);
    assert_eq!(erase_after().await, serde_json::Value::Null);
}

async fn people_counts(app: &TestApp, slug: &str) -> serde_json::Value {
    app.admin_json(&format!("/admin/v1/tenants/{slug}/people/counts"))
        .await
}

#[derive(diesel::QueryableByName, Debug)]
struct JobRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    state: String,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    dry_run: bool,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    rows_total: i32,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    rows_done: i32,
    #[diesel(sql_type = diesel::sql_types::Text)]
    csv: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Jsonb>)]
    summary: Option<serde_json::Value>,
}

fn job_row(app: &TestApp, id: &str) -> JobRow {
    let mut conn = app.db.conn();
    diesel::RunQueryDsl::get_result(
        diesel::sql_query(
            "SELECT state, dry_run, rows_total, rows_done, csv, summary FROM console_imports \
             WHERE id = $1::uuid",
        )
        .bind::<diesel::sql_types::Text, _>(id),
        &mut conn,
    )
    .expect("the job's row")
}

fn jobs_made(app: &TestApp) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = app.db.conn();
    diesel::RunQueryDsl::get_result::<N>(
        diesel::sql_query("SELECT count(*) AS n FROM console_imports"),
        &mut conn,
    )
    .expect("count")
    .n
}

/// The dry run and the import are jobs: the post answers at once with the job's page, and
/// the panel, polled on another node than the one running the import, follows each to
/// its end. The confirmation imports the file the dry run checked.
#[tokio::test]
async fn a_dry_run_with_a_bad_row_then_a_clean_import_are_followed_from_any_node() {
    let (first, second) = crate::nodes::two_nodes(|_| {}).await;
    first.create_tenant("csvco").await;
    let browser = Browser::signed_in(&first).await;
    let elsewhere = browser.on(&second);
    let csrf = browser.token().await;

    // The bad row's quoted field holds a newline: rows are records, not lines.
    let bad = "email,given_name,family_name\nada@csv.example,Ada,Lovelace\n,\"No\nbody\",Here\n\
               grace@csv.example,Grace,Hopper\n";
    let job = browser
        .start_import("csvco", &[("csrf", &csrf), ("csv", bad)])
        .await;
    let panel = elsewhere.import_ended("csvco", &job).await;
    assert!(panel.contains(r#"data-state="done""#), "{panel}");
    assert!(panel.contains("<li>Row 3: "), "{panel}");
    assert!(!panel.contains("Import these"), "{panel}");
    let row = job_row(&first, &job);
    assert!(row.dry_run);
    assert_eq!(
        (row.state.as_str(), row.rows_total, row.rows_done),
        ("done", 3, 3)
    );
    let summary = row.summary.expect("a summary");
    assert_eq!(summary["errors"].as_array().map(Vec::len), Some(1));
    // Its page (without script) shows the file again, to be fixed.
    let page = elsewhere
        .text(&format!("/console/t/csvco/imports/{job}"))
        .await;
    assert!(page.contains("grace@csv.example"), "{page}");
    // A dry run with a row error cannot be imported.
    let refused = browser
        .post("/console/t/csvco/import", &[("csrf", &csrf), ("job", &job)])
        .await;
    assert_eq!(refused.status(), 200);
    assert!(refused
        .text()
        .await
        .unwrap()
        .contains("only a dry run that ended without a row error"));

    let good = "email,given_name,family_name\nada@csv.example,Ada,Lovelace\n\
                alan@csv.example,Alan,Turing\ngrace@csv.example,Grace,Hopper\n";
    let checked = browser
        .start_import("csvco", &[("csrf", &csrf), ("csv", good)])
        .await;
    let panel = elsewhere.import_ended("csvco", &checked).await;
    assert!(panel.contains("Import these 3 rows"), "{panel}");
    assert!(
        panel.contains(&format!(r#"name="job" value="{checked}""#)),
        "{panel}"
    );
    assert!(
        !panel.contains(r#"name="csv""#),
        "the file is not posted again: {panel}"
    );
    let counts = people_counts(&first, "csvco").await;
    assert_eq!(counts["total"], 0, "a dry run applies nothing");

    let import = browser
        .start_import("csvco", &[("csrf", &csrf), ("job", &checked)])
        .await;
    let panel = elsewhere.import_ended("csvco", &import).await;
    assert!(panel.contains("<h2>Imported</h2>"), "{panel}");
    assert!(panel.contains(r#"<dd data-created>3</dd>"#), "{panel}");
    let row = job_row(&first, &import);
    assert!(!row.dry_run);
    assert_eq!(
        (row.state.as_str(), row.rows_total, row.rows_done),
        ("done", 3, 3)
    );
    assert_eq!(row.csv, "", "a real import's file is not kept");
    assert_eq!(job_row(&first, &checked).csv, good, "the dry run's is");
    let counts = people_counts(&first, "csvco").await;
    assert_eq!(counts["participating"], 3);
    let people = first
        .admin_json("/admin/v1/tenants/csvco/people?limit=10")
        .await;
    let emails: Vec<&str> = people["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["userName"].as_str())
        .collect();
    for email in ["ada@csv.example", "alan@csv.example", "grace@csv.example"] {
        assert!(emails.contains(&email), "{email} in {emails:?}");
    }
    std::mem::forget(second);
}

/// A job's row as a node running it leaves it: running, `done` of `total` rows, last
/// updated `ago`.
fn running_job(app: &TestApp, slug: &str, done: i32, total: i32, ago: Span) -> String {
    let id = uuid::Uuid::now_v7().to_string();
    let at = scimd::clock::Clock::now(app.clock.as_ref()) - ago;
    let mut conn = app.db.conn();
    diesel::RunQueryDsl::execute(
        diesel::sql_query(
            "INSERT INTO console_imports (tenant_id, id, dry_run, state, rows_total, rows_done, \
             csv, created_at, updated_at) SELECT id, $1::uuid, false, 'running', $2, $3, \
             'email', $4, $4 FROM tenants WHERE slug = $5",
        )
        .bind::<diesel::sql_types::Text, _>(&id)
        .bind::<diesel::sql_types::Integer, _>(total)
        .bind::<diesel::sql_types::Integer, _>(done)
        .bind::<diesel::sql_types::Timestamptz, _>(at)
        .bind::<diesel::sql_types::Text, _>(slug),
        &mut conn,
    )
    .expect("a running job");
    id
}

/// A running job's panel says how far it is, and asks for itself again; one whose node has
/// not updated it for 15 s says plainly that it was interrupted and nothing was imported.
#[tokio::test]
async fn a_running_import_counts_its_rows_and_an_interrupted_one_says_so() {
    let app = spawn_app().await;
    app.tenant_with_token("acme").await;
    let browser = Browser::signed_in(&app).await;
    let job = running_job(&app, "acme", 1200, 50_000, Span::seconds(2));
    let panel_path = format!("/console/t/acme/imports/{job}/panel");

    let panel = browser.text(&panel_path).await;
    assert!(panel.contains(r#"data-state="running""#), "{panel}");
    assert!(
        panel.contains(r#"<progress id="import-rows" max="50000" value="1200""#),
        "{panel}"
    );
    assert!(
        panel.contains(
            "Importing: <span data-done>1,200</span> of <span data-total>50,000</span> rows"
        ),
        "{panel}"
    );
    assert!(
        panel.contains(&format!(r#"hx-get="{panel_path}""#)),
        "{panel}"
    );
    assert!(panel.contains(r#"hx-trigger="every 1s""#), "{panel}");
    // The page holds the same panel, in the result area the form's htmx swaps.
    let page = browser
        .text(&format!("/console/t/acme/imports/{job}"))
        .await;
    assert!(
        page.contains(r#"<div id="import-result" aria-live="polite"><div id="import-panel""#),
        "{page}"
    );

    // Last updated 2 s ago: 14 s is not yet long enough to call it interrupted.
    app.clock.advance(Span::seconds(12));
    let panel = browser.text(&panel_path).await;
    assert!(panel.contains(r#"data-state="running""#), "{panel}");
    app.clock.advance(Span::seconds(2));
    let panel = browser.text(&panel_path).await;
    assert!(panel.contains(r#"data-state="interrupted""#), "{panel}");
    assert!(
        panel.contains("stopped after 1,200 of 50,000 rows"),
        "{panel}"
    );
    assert!(panel.contains("nothing was imported"), "{panel}");
    assert!(!panel.contains("hx-trigger"), "{panel}");
}

/// A job is found only in its own tenant: another tenant's id, an unknown one and one that
/// is not an id at all are each 404.
#[tokio::test]
async fn another_tenants_import_is_not_found() {
    let app = spawn_app().await;
    app.tenant_with_token("acme").await;
    app.tenant_with_token("other").await;
    let browser = Browser::signed_in(&app).await;
    let theirs = running_job(&app, "other", 0, 10, Span::zero());
    assert_eq!(
        browser
            .get(&format!("/console/t/other/imports/{theirs}/panel"))
            .await
            .status(),
        200
    );
    for id in [
        theirs.as_str(),
        "00000000-0000-4000-8000-000000000000",
        "not-an-id",
    ] {
        for path in [
            format!("/console/t/acme/imports/{id}"),
            format!("/console/t/acme/imports/{id}/panel"),
        ] {
            let res = browser.get(&path).await;
            assert_eq!(res.status(), 404, "{path}");
            // The console's own page, not the admin API's problem document.
            let page = res.text().await.unwrap();
            assert!(
                page.contains("<html") && page.contains("no import"),
                "{path}: {page}"
            );
        }
    }
    // Nor can it be confirmed from another tenant.
    let csrf = browser.token().await;
    let res = browser
        .post(
            "/console/t/acme/import",
            &[("csrf", &csrf), ("job", &theirs)],
        )
        .await;
    assert_eq!(res.status(), 404);
    assert_eq!(jobs_made(&app), 1);
}

/// An import form without the session's token is refused before anything runs; a file the
/// import cannot read is said beside the form, and makes no job either.
#[tokio::test]
async fn a_forged_import_form_is_refused_and_starts_nothing() {
    let app = spawn_app().await;
    app.tenant_with_token("acme").await;
    let browser = Browser::signed_in(&app).await;
    let file = "email\nann@acme.test\n";
    for form in [
        vec![("csv", file)],
        vec![("csv", file), ("csrf", "not-the-token")],
    ] {
        let res = browser.post("/console/t/acme/import", &form).await;
        assert_eq!(res.status(), 403);
    }
    let csrf = browser.token().await;
    let res = browser
        .post(
            "/console/t/acme/import",
            &[("csrf", &csrf), ("csv", "name\nann\n")],
        )
        .await;
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    assert!(page.contains("unknown column `name`"), "{page}");
    assert_eq!(jobs_made(&app), 0);
    let counts = people_counts(&app, "acme").await;
    assert_eq!(counts["total"], 0);
}

/// A large file's import is seen part-way: its panel, polled while it runs, shows some
/// but not all of its rows done, never fewer than the poll before. (50,000 rows take
/// seconds here, and the running node writes its progress twice a second.)
#[tokio::test]
async fn a_large_import_is_seen_part_way() {
    let app = spawn_app().await;
    app.tenant_with_token("acme").await;
    let browser = Browser::signed_in(&app).await;
    let csrf = browser.token().await;
    let mut file = String::from("email,display_name\n");
    for i in 0..50_000 {
        file.push_str(&format!("p{i}@acme.test,Person {i}\n"));
    }
    let job = browser
        .start_import("acme", &[("csrf", &csrf), ("csv", &file)])
        .await;
    let path = format!("/console/t/acme/imports/{job}/panel");
    let started = std::time::Instant::now();
    let mut seen = Vec::new();
    loop {
        let panel = browser.text(&path).await;
        if !panel.contains(r#"data-state="running""#) {
            assert!(panel.contains(r#"data-state="done""#), "{panel}");
            break;
        }
        let done = panel
            .split(r#"value=""#)
            .nth(1)
            .and_then(|v| v.split('"').next())
            .and_then(|v| v.parse::<u64>().ok())
            .expect("the progress element's value");
        assert!(panel.contains(r#"max="50000""#), "{panel}");
        seen.push(done);
        assert!(started.elapsed() < Duration::from_secs(120), "{seen:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");
    assert!(seen.iter().any(|n| (1..50_000).contains(n)), "{seen:?}");
}
