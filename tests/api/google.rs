//! Google Workspace: the connection (`PUT …/connection` with provider `google`, its sealed
//! key, its test), the Directory connector against the fake Google over HTTP, and pull
//! sync runs from it end to end.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::CONTENT_TYPE;
use serde_json::{json, Value};
use url::Url;

use scimd::config::{Secret, Settings};
use scimd::domain::GoogleScope;
use scimd::provisioning::connections::GoogleInput;
use scimd::secrets::Keyring;
use scimd::sync::directories::Directories;
use scimd::sync::google::{self, Google, GoogleConfig, ServiceAccount};
use scimd::sync::http::RetryBudget;
use scimd::sync::{Page, SyncError};

use crate::fake_google::{
    FakeGoogle, FakeOptions, Faked, Fault, Spoil, GROUPS, GROUP_SCOPE, MEMBER_SCOPE, ORGUNIT_SCOPE,
    TOKEN, USERS, USER_SCOPE,
};
use crate::helpers::{count, events_total as events, fast_retries, spawn_app_with, TestApp};

const KEY: [u8; 32] = [0x33; 32];

fn roots(fake: &FakeGoogle) -> google::Roots {
    google::Roots {
        token: Some(Url::parse(&fake.token_url()).unwrap()),
        directory: Some(Url::parse(fake.url()).unwrap()),
    }
}

fn account(fake: &FakeGoogle) -> Arc<ServiceAccount> {
    Arc::new(ServiceAccount::parse(&fake.key_file().to_string()).unwrap())
}

fn connector_as(fake: &FakeGoogle, admin: &str, customer: &str, scope: GoogleScope) -> Google {
    let config = GoogleConfig {
        admin_email: admin.into(),
        customer: customer.into(),
        scope,
        account: account(fake),
    };
    Google::new(
        config,
        &roots(fake),
        Directories::client(),
        RetryBudget::new(fast_retries()),
    )
    .unwrap()
}

fn connector(fake: &FakeGoogle, scope: GoogleScope) -> Google {
    connector_as(fake, "admin@example.com", "my_customer", scope)
}

/// Every page of a round.
async fn pages(google: &Google) -> Result<Vec<Page>, SyncError> {
    let mut round = google.round(&json!({})).await?;
    let mut out = Vec::new();
    while let Some(p) = round.next_page().await? {
        out.push(p);
    }
    assert!(round.full());
    assert_eq!(round.state(), Some(json!({})));
    Ok(out)
}

fn user_ids(pages: &[Page]) -> Vec<String> {
    sorted(
        pages
            .iter()
            .flat_map(|p| p.users.iter().map(|u| u.id.clone()))
            .collect(),
    )
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

/// Users of the root unit added to the fake, named `names`: their ids.
fn root_users<const N: usize>(fake: &FakeGoogle, names: [&str; N]) -> [String; N] {
    names.map(|name| fake.add_user(name, "/"))
}

/// The scope of the groups with these addresses.
fn groups_scope(emails: &[&str]) -> GoogleScope {
    GoogleScope::Groups {
        group_emails: emails.iter().map(|&e| e.to_owned()).collect(),
    }
}

/// How a round of a fresh connector reading everyone fails.
async fn whole_round_error(fake: &FakeGoogle) -> SyncError {
    pages(&connector(fake, GoogleScope::All {}))
        .await
        .unwrap_err()
}

/// A fake with `n` generated users and `groups` groups of `members`.
async fn fake(n: usize, groups: usize, members: usize) -> FakeGoogle {
    FakeGoogle::start(FakeOptions {
        users: n,
        groups,
        members,
        ..FakeOptions::default()
    })
    .await
}

// --- the connector ---------------------------------------------------------------------

#[tokio::test]
async fn the_token_request_is_a_signed_jwt_for_the_admin_with_read_only_scopes_and_is_cached() {
    let fake = fake(3, 1, 2).await;
    let google = connector(&fake, GoogleScope::All {});
    let got = pages(&google).await.unwrap();
    assert_eq!(user_ids(&got).len(), 3);
    // One token for the whole round: cached, not asked for per request.
    assert_eq!(fake.tokens_issued(), 1);
    let claims = fake.claims();
    let c = &claims[0];
    assert_eq!(c["iss"], fake.options().client_email);
    assert_eq!(c["sub"], "admin@example.com");
    assert_eq!(c["aud"], fake.token_url());
    let scopes: Vec<&str> = c["scope"].as_str().unwrap().split(' ').collect();
    assert_eq!(
        scopes,
        [USER_SCOPE, GROUP_SCOPE, MEMBER_SCOPE, ORGUNIT_SCOPE]
    );
    assert!(c["exp"].as_u64().unwrap() - c["iat"].as_u64().unwrap() <= 3600);
    // A token the API no longer takes is replaced once.
    fake.expire_tokens();
    pages(&google).await.unwrap();
    assert_eq!(fake.tokens_issued(), 2);
}

#[tokio::test]
async fn a_key_google_does_not_know_is_refused_as_a_bad_secret() {
    let fake = fake(1, 0, 0).await;
    let config = GoogleConfig {
        admin_email: "admin@example.com".into(),
        customer: "my_customer".into(),
        scope: GoogleScope::All {},
        account: Arc::new(ServiceAccount::parse(&fake.foreign_key_file().to_string()).unwrap()),
    };
    let google = Google::new(
        config,
        &roots(&fake),
        Directories::client(),
        RetryBudget::new(fast_retries()),
    )
    .unwrap();
    let err = pages(&google).await.unwrap_err();
    assert_eq!(err.code, "bad_secret", "{}", err.message);
}

#[tokio::test]
async fn users_are_listed_in_pages_of_500_with_only_the_mapped_fields() {
    let fake = fake(1203, 0, 0).await;
    let got = pages(&connector(&fake, GoogleScope::All {})).await.unwrap();
    let ids = user_ids(&got);
    assert_eq!(ids.len(), 1203);
    assert_eq!(fake.requests(USERS), 3);
    let q = fake.last_query(USERS);
    assert_eq!(q["customer"], "my_customer");
    assert_eq!(q["maxResults"], "500");
    assert_eq!(q["pageToken"], "u1000");
    assert_eq!(
        q["fields"],
        "kind,nextPageToken,users(id,primaryEmail,name(givenName,familyName,fullName),\
         suspended,archived,isMailboxSetup,relations)"
    );
    let first = &got[0].users[0];
    assert!(first.fields.contains_key("primaryEmail"));
    assert!(!first.fields.contains_key("id"));
}

#[tokio::test]
async fn groups_come_with_their_user_members_in_full_nested_ones_included() {
    let fake = fake(0, 0, 0).await;
    let [a, b, c] = root_users(&fake, ["ann", "bob", "cy"]);
    fake.add_group("inner", "Inner", &["cy@example.com"]);
    let outer = fake.add_group(
        "outer",
        "Outer",
        &["ann@example.com", "bob@example.com", "inner@example.com"],
    );
    let got = pages(&connector(&fake, GoogleScope::All {})).await.unwrap();
    let groups: Vec<_> = got.iter().flat_map(|p| p.groups.iter()).collect();
    assert_eq!(groups.len(), 2);
    let g = groups.iter().find(|g| g.id == outer).unwrap();
    assert!(g.members_full);
    assert_eq!(g.fields["displayName"], "Outer");
    let members = sorted(g.members.iter().map(|m| m.id.clone()).collect());
    // Users only: the nested group itself is not a member, its user is.
    assert_eq!(members, sorted(vec![a, b, c]));
    // Members are read by the group's id.
    let q = fake.last_query(&format!("{GROUPS}/{outer}/members"));
    assert_eq!(q["includeDerivedMembership"], "true");
    assert_eq!(q["maxResults"], "200");
}

#[tokio::test]
async fn an_org_unit_scope_lists_the_units_users_with_their_sub_units_once() {
    let fake = fake(0, 0, 0).await;
    let s = fake.add_user("sam", "/Sales");
    let e = fake.add_user("eve", "/Sales/East");
    fake.add_user("eng", "/Engineering");
    let scope = GoogleScope::OrgUnits {
        paths: vec!["/Sales".into(), "/Sales/East".into()],
    };
    let got = pages(&connector(&fake, scope)).await.unwrap();
    assert_eq!(user_ids(&got), sorted(vec![s, e]));
    assert_eq!(fake.last_query(USERS)["query"], "orgUnitPath='/Sales/East'");
    // An unknown unit is named.
    let scope = GoogleScope::OrgUnits {
        paths: vec!["/Nowhere".into()],
    };
    let err = pages(&connector(&fake, scope)).await.unwrap_err();
    assert_eq!(err.code, "org_unit_not_found");
    assert!(err.message.contains("/Nowhere"), "{}", err.message);
}

#[tokio::test]
async fn a_group_scope_reads_the_chosen_groups_nested_members_and_skips_one_deleted_mid_run() {
    let fake = fake(0, 0, 0).await;
    let [a, b, gone] = root_users(&fake, ["ann", "bob", "gus"]);
    fake.add_user("outsider", "/");
    fake.add_group("team", "Team", &["bob@example.com", "gus@example.com"]);
    fake.add_group("all", "All", &["ann@example.com", "team@example.com"]);
    // Gus is listed as a member, then answers 404 when read: deleted meanwhile.
    let reading_gone_fails = |fault| fake.fail(&format!("{USERS}/{gone}"), None, fault);
    let all = || connector(&fake, groups_scope(&["all@example.com"]));
    reading_gone_fails(Fault::google(
        404,
        "notFound",
        "Resource Not Found: userKey",
    ));
    let got = pages(&all()).await.unwrap();
    let users: Vec<_> = got.iter().flat_map(|p| p.users.iter()).collect();
    let live = sorted(
        users
            .iter()
            .filter(|u| u.removed.is_none())
            .map(|u| u.id.clone())
            .collect(),
    );
    assert_eq!(live, sorted(vec![a, b]));
    let deleted: Vec<_> = users.iter().filter(|u| u.removed.is_some()).collect();
    assert_eq!(deleted.len(), 1);
    assert_eq!(deleted[0].id, gone);
    assert_eq!(fake.requests(USERS), 0, "no users.list in a group scope");
    // 412 is taken the same way.
    fake.clear_faults();
    reading_gone_fails(Fault::google(412, "conditionNotMet", "Precondition Failed"));
    let got = pages(&all()).await.unwrap();
    assert_eq!(
        got.iter()
            .flat_map(|p| p.users.iter())
            .filter(|u| u.removed.is_some())
            .count(),
        1
    );
    // A chosen group that does not exist fails the run, named.
    let scope = groups_scope(&["nope@example.com"]);
    let err = pages(&connector(&fake, scope)).await.unwrap_err();
    assert_eq!(err.code, "group_not_found");
    assert!(err.message.contains("nope@example.com"));
}

#[tokio::test]
async fn rate_limit_403s_and_429_are_retried_and_other_4xx_fail_the_run() {
    let fake = fake(600, 0, 0).await;
    fake.fail(USERS, Some(1), Fault::rate_limit("rateLimitExceeded"));
    fake.fail(USERS, Some(1), Fault::rate_limit("userRateLimitExceeded"));
    fake.fail(USERS, Some(1), Fault::throttle(0));
    let google = connector(&fake, GoogleScope::All {});
    let got = pages(&google).await.unwrap();
    assert_eq!(user_ids(&got).len(), 600);
    assert_eq!(google.budget().retries_used(), 3);
    assert_eq!(fake.requests(USERS), 2 + 3);

    fake.fail(USERS, Some(1), Fault::rate_limit("quotaExceeded"));
    assert!(pages(&google).await.is_ok());

    // A 403 that is not a rate limit is not retried.
    fake.fail(
        USERS,
        None,
        Fault::google(
            403,
            "forbidden",
            "Not Authorized to access this resource/api",
        ),
    );
    let before = fake.requests(USERS);
    let err = whole_round_error(&fake).await;
    assert_eq!(err.code, "not_admin");
    assert_eq!(fake.requests(USERS), before + 1);
    fake.clear_faults();

    fake.fail(USERS, None, Fault::google(400, "invalid", "Invalid Input"));
    let err = whole_round_error(&fake).await;
    assert_eq!(err.code, "source_error");
    assert!(err.message.contains("Invalid Input"), "{}", err.message);
}

#[tokio::test]
async fn a_listing_cut_short_fails_the_round() {
    let fake = fake(700, 0, 0).await;
    // A page that lost its kind is not a page of users.
    fake.fail(USERS, Some(1), Fault::Spoil(Spoil::NoKind));
    let err = whole_round_error(&fake).await;
    assert_eq!(err.code, "truncated");
    fake.clear_faults();
    // A connection dropped mid-body, every time.
    fake.fail(USERS, None, Fault::Drop);
    let err = whole_round_error(&fake).await;
    assert_eq!(err.code, "unreachable", "{}", err.message);
}

// --- the connection --------------------------------------------------------------------

fn with_key(s: &mut Settings) {
    s.keyring = Some(Arc::new(Keyring::new(&KEY, None)));
}

fn tune(fake: &FakeGoogle) -> impl FnOnce(&mut Settings) + '_ {
    move |s| {
        with_key(s);
        s.google_token_url = Some(Url::parse(&fake.token_url()).unwrap());
        s.google_directory_url = Some(Url::parse(fake.url()).unwrap());
        s.sync_workers = 2;
        s.sync_tick = Duration::from_millis(200);
    }
}

fn body(fake: &FakeGoogle, scope: Value) -> Value {
    json!({
        "provider": "google",
        "admin_email": "admin@example.com",
        "customer": "my_customer",
        "service_account": fake.key_file(),
        "scope": scope,
    })
}

async fn test_connection(app: &TestApp, slug: &str) -> Value {
    let res = app
        .admin_post(
            &format!("/admin/v1/tenants/{slug}/connection/test"),
            &json!(null),
        )
        .await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

#[tokio::test]
async fn a_google_connection_is_saved_with_its_key_sealed_and_never_shown() {
    let fake = fake(2, 0, 0).await;
    let app = spawn_app_with(tune(&fake)).await;
    app.create_tenant("acme").await;
    let res = app
        .put_connection("acme", &body(&fake, json!({"type": "all"})))
        .await;
    assert_eq!(res.status(), 201);
    let text = res.text().await.unwrap();
    assert!(!text.contains("PRIVATE KEY"), "{text}");
    let view: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(view["provider"], "google");
    assert_eq!(view["admin_email"], "admin@example.com");
    assert_eq!(view["customer"], "my_customer");
    assert_eq!(view["scope"], json!({"type": "all"}));
    assert_eq!(view["has_secret"], true);
    assert_eq!(
        view["service_account"],
        json!({"client_email": fake.options().client_email, "client_id": fake.options().client_id})
    );
    let got: Value = app.admin_json("/admin/v1/tenants/acme/connection").await;
    assert_eq!(got["service_account"], view["service_account"]);
    assert!(!got.to_string().contains("PRIVATE KEY"));
    // Sealed at rest: neither the config nor the sealed bytes hold the key.
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM connections WHERE provider = 'google' \
             AND config::text NOT LIKE '%PRIVATE KEY%' \
             AND position('PRIVATE KEY'::bytea IN secret) = 0"
        ),
        1
    );
    // The tenant's source is Google now.
    let t: Value = app.admin_json("/admin/v1/tenants/acme").await;
    assert_eq!(t["source"], "google");
    // And the stored key works: the test signs in with it.
    let report = test_connection(&app, "acme").await;
    assert_eq!(report["ok"], true, "{report}");
    assert!(report["detail"].as_str().unwrap().starts_with("Connected"));
}

#[tokio::test]
async fn without_a_key_the_platform_service_account_is_used_or_the_save_is_400() {
    let fake = fake(1, 0, 0).await;
    let app = spawn_app_with(tune(&fake)).await;
    app.create_tenant("acme").await;
    let mut b = body(&fake, json!({"type": "all"}));
    b.as_object_mut().unwrap().remove("service_account");
    let res = app.put_connection("acme", &b).await;
    assert_eq!(res.status(), 400);
    let problem: Value = res.json().await.unwrap();
    assert!(problem["detail"]
        .as_str()
        .unwrap()
        .contains("SCIMD_GOOGLE_SERVICE_ACCOUNT_FILE"));
    assert_eq!(count(&app, "SELECT count(*) AS n FROM connections"), 0);

    let platform = account(&fake);
    let app = spawn_app_with(move |s| {
        tune(&fake)(s);
        s.google_account = Some(platform);
    })
    .await;
    app.create_tenant("acme").await;
    let res = app.put_connection("acme", &b).await;
    assert_eq!(res.status(), 201);
    let view: Value = res.json().await.unwrap();
    assert_eq!(view["service_account"], Value::Null);
    assert_eq!(view["has_secret"], false);
    assert_eq!(test_connection(&app, "acme").await["ok"], true);
}

#[tokio::test]
async fn a_server_without_a_secret_key_refuses_a_google_key_and_saves_nothing() {
    let fake = fake(1, 0, 0).await;
    let app = spawn_app_with(|s| {
        s.google_token_url = Some(Url::parse(&fake.token_url()).unwrap());
    })
    .await;
    app.create_tenant("acme").await;
    let res = app
        .put_connection("acme", &body(&fake, json!({"type": "all"})))
        .await;
    assert_eq!(res.status(), 409);
    assert_eq!(count(&app, "SELECT count(*) AS n FROM connections"), 0);
}

#[tokio::test]
async fn invalid_google_connections_are_400_and_change_nothing() {
    let fake = fake(1, 0, 0).await;
    let app = spawn_app_with(tune(&fake)).await;
    app.create_tenant("acme").await;
    let good = body(&fake, json!({"type": "all"}));
    let mut cases = Vec::new();
    let mut b = good.clone();
    b["admin_email"] = json!("not-an-address");
    cases.push((b, "admin_email"));
    let mut b = good.clone();
    b["customer"] = json!("C0/../x");
    cases.push((b, "customer"));
    let mut b = good.clone();
    b["scope"] = json!({"type": "org_units", "paths": []});
    cases.push((b, "scope.paths"));
    let mut b = good.clone();
    b["scope"] = json!({"type": "org_units", "paths": ["Sales"]});
    cases.push((b, "scope.paths"));
    let mut b = good.clone();
    b["scope"] = json!({"type": "groups", "group_emails": ["not an email"]});
    cases.push((b, "scope.group_emails"));
    let mut b = good.clone();
    b["service_account"] =
        json!({"type": "service_account", "client_email": "x@y.example", "private_key": "nope"});
    cases.push((b, "private_key"));
    let mut b = good.clone();
    b["service_account"] = json!({"type": "authorized_user"});
    cases.push((b, "service_account"));
    let mut b = good.clone();
    b["extra"] = json!(1);
    cases.push((b, "extra"));
    let mut b = good.clone();
    b["scope"] = json!({"type": "groups", "group_ids": ["x"]});
    cases.push((b, "group_ids"));
    for (b, names) in cases {
        let res = app.put_connection("acme", &b).await;
        assert_eq!(
            res.headers().get(CONTENT_TYPE).unwrap(),
            "application/problem+json"
        );
        assert_eq!(res.status(), 400, "{b}");
        let problem: Value = res.json().await.unwrap();
        assert!(
            problem["detail"].as_str().unwrap().contains(names),
            "{names}: {problem}"
        );
    }
    assert_eq!(count(&app, "SELECT count(*) AS n FROM connections"), 0);
    let t: Value = app.admin_json("/admin/v1/tenants/acme").await;
    assert_ne!(t["source"], "google");
}

/// A node's directories, Google's roots the fake's, no platform credentials.
fn directories(fake: &FakeGoogle) -> Directories {
    Directories {
        roots: Default::default(),
        http: Directories::client(),
        policy: fast_retries(),
        keyring: None,
        platform_app: None,
        google_roots: roots(fake),
        google_account: None,
        stats: Arc::default(),
    }
}

/// Tests a connection reading everyone, as `admin` of `customer` with the fake's key, before
/// saving it, as connect links do.
async fn test_before_saving(
    fake: &FakeGoogle,
    admin: &str,
    customer: &str,
) -> scimd::sync::TestReport {
    directories(fake)
        .test_google(GoogleInput {
            admin_email: admin.into(),
            customer: customer.into(),
            service_account: Some(Secret::new(fake.key_file().to_string())),
            scope: GoogleScope::All {},
        })
        .await
        .unwrap()
}

/// The detail of a connection test of `admin` and `customer` that fails.
async fn failed_test(fake: &FakeGoogle, admin: &str, customer: &str) -> String {
    let r = test_before_saving(fake, admin, customer).await;
    assert!(!r.ok, "{}", r.detail);
    r.detail
}

#[tokio::test]
async fn the_connection_test_names_each_cause_in_plain_words() {
    let fake = fake(2, 1, 2).await;
    let ok = test_before_saving(&fake, "admin@example.com", "my_customer").await;
    assert!(ok.ok, "{}", ok.detail);
    assert!(ok.detail.contains("admin@example.com"), "{}", ok.detail);
    assert!(ok.detail.contains(&fake.options().client_email));

    // A customer that is not this one.
    let detail = failed_test(&fake, "admin@example.com", "C0other99").await;
    assert!(
        detail.contains("customer C0other99 was not found"),
        "{detail}"
    );

    // A user who is not an administrator.
    let detail = failed_test(&fake, "user1@example.com", "my_customer").await;
    assert!(
        detail.contains("user1@example.com") && detail.contains("not an administrator"),
        "{detail}"
    );

    // An administrator Google does not know.
    let detail = failed_test(&fake, "nobody@example.com", "my_customer").await;
    assert!(
        detail.contains("does not know the administrator nobody@example.com"),
        "{detail}"
    );

    // One scope missing from the delegation: named.
    fake.set_delegated(&[USER_SCOPE, GROUP_SCOPE, ORGUNIT_SCOPE]);
    let detail = failed_test(&fake, "admin@example.com", "my_customer").await;
    assert!(detail.contains(MEMBER_SCOPE), "{detail}");
    assert!(!detail.contains(USER_SCOPE), "{detail}");

    // No delegation at all.
    fake.set_delegated(&[]);
    let detail = failed_test(&fake, "admin@example.com", "my_customer").await;
    assert!(detail.contains("no domain-wide delegation"), "{detail}");
    assert!(detail.contains(&fake.options().client_id), "{detail}");

    // Bad settings are refused before anything is asked.
    let directories = directories(&fake);
    let before = fake.requests(TOKEN);
    let err = directories
        .test_google(GoogleInput {
            admin_email: "admin@example.com".into(),
            customer: "my_customer".into(),
            service_account: None,
            scope: GoogleScope::All {},
        })
        .await
        .unwrap_err();
    assert!(err.to_string().contains("service_account"), "{err}");
    assert_eq!(fake.requests(TOKEN), before);
}

// --- sync runs end to end ------------------------------------------------------------

/// A tenant `slug` connected to the fake, reading `scope`.
async fn connect(app: &TestApp, fake: &FakeGoogle, slug: &str, scope: Value) {
    app.create_tenant(slug).await;
    let res = app.put_connection(slug, &body(fake, scope)).await;
    assert_eq!(
        res.status(),
        201,
        "{}",
        res.text().await.unwrap_or_default()
    );
}

/// Starts a run and waits for its end; the run as the admin API shows it.
async fn sync(app: &TestApp, slug: &str) -> Value {
    app.sync_and_wait(slug, "").await
}

fn versions(app: &TestApp) -> i64 {
    count(
        app,
        "SELECT coalesce(sum(version), 0)::bigint AS n FROM users",
    )
}

#[derive(diesel::QueryableByName, Debug)]
struct PersonRow {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    id: uuid::Uuid,
    #[diesel(sql_type = diesel::sql_types::Jsonb)]
    resource: Value,
    #[diesel(sql_type = diesel::sql_types::Text)]
    source: String,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    active: bool,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    email: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    live: bool,
}

/// The person a directory id was synced to.
fn person(app: &TestApp, source_ref: &str) -> PersonRow {
    use diesel::RunQueryDsl;
    diesel::sql_query(
        "SELECT id, resource, source, active, email, deprovisioned_at IS NULL AS live \
         FROM users WHERE source_ref = $1",
    )
    .bind::<diesel::sql_types::Text, _>(source_ref)
    .get_result(&mut app.db.conn())
    .unwrap()
}

fn manager_of(p: &PersonRow) -> Option<String> {
    p.resource["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["manager"]["value"]
        .as_str()
        .map(str::to_owned)
}

#[tokio::test]
async fn a_first_sync_creates_people_groups_and_managers_and_a_second_writes_nothing() {
    let fake = fake(0, 0, 0).await;
    let [boss, ann, quiet] = root_users(&fake, ["boss", "ann", "quiet"]);
    fake.update_user(&ann, |u| u.manager = Some("boss@example.com".into()));
    fake.update_user(&quiet, |u| {
        u.mailbox = false;
        u.suspended = true;
    });
    let team = fake.add_group("team", "Team", &["ann@example.com", "boss@example.com"]);
    let app = spawn_app_with(tune(&fake)).await;
    connect(&app, &fake, "acme", json!({"type": "all"})).await;

    let run = sync(&app, "acme").await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["counts"]["create"], 3, "{run}");
    let b = person(&app, &boss);
    let a = person(&app, &ann);
    assert_eq!(a.source, "google");
    assert_eq!(a.resource["userName"], "ann@example.com");
    assert_eq!(a.resource["emails"][0]["value"], "ann@example.com");
    assert_eq!(a.resource["name"]["givenName"], "Ann");
    // The manager, resolved to the manager's scimd id, and written with the person: one
    // version and one event each.
    assert_eq!(manager_of(&a), Some(b.id.to_string()));
    assert_eq!(manager_of(&b), None);
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT count(*) AS n FROM events WHERE resource_id = '{}'",
                a.id
            )
        ),
        1
    );
    assert_eq!(
        count(
            &app,
            &format!("SELECT version AS n FROM users WHERE id = '{}'", a.id)
        ),
        1
    );
    // Suspended: inactive; no mailbox: no deliverable email.
    let q = person(&app, &quiet);
    assert!(!q.active);
    assert_eq!(q.email, None);
    assert!(q.resource.get("emails").is_none());
    // The group, with its user members.
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT count(*) AS n FROM group_members m JOIN groups g ON g.id = m.group_id \
                 WHERE g.source_ref = '{team}'"
            )
        ),
        2
    );

    // Nothing changed: no write, no version moved, no event.
    let (e0, v0) = (events(&app), versions(&app));
    let run = sync(&app, "acme").await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["counts"]["unchanged"], 3, "{run}");
    assert_eq!(run["counts"]["update"], 0, "{run}");
    assert_eq!((events(&app), versions(&app)), (e0, v0));

    // A new manager, and a manager who leaves.
    let cy = fake.add_user("cy", "/");
    fake.update_user(&ann, |u| u.manager = Some("cy@example.com".into()));
    let run = sync(&app, "acme").await;
    assert_eq!(run["status"], "succeeded", "{run}");
    let c = person(&app, &cy);
    let a = person(&app, &ann);
    assert_eq!(manager_of(&a), Some(c.id.to_string()));
    // Ann changed once: one event, one version, though her manager is new in this run.
    assert_eq!(run["counts"]["unchanged"], 3, "{run}");
    let run_id = run["id"].as_str().unwrap();
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT count(*) AS n FROM events WHERE resource_id = '{}' \
                 AND type = 'user.updated' AND actor = 'sync:{run_id}'",
                a.id
            )
        ),
        1
    );
    assert_eq!(
        count(
            &app,
            &format!("SELECT version AS n FROM users WHERE id = '{}'", a.id)
        ),
        2
    );
    fake.remove_user(&cy);
    let run = sync(&app, "acme").await;
    assert_eq!(run["counts"]["deprovision"], 1, "{run}");
    assert!(!person(&app, &cy).live);
    assert_eq!(manager_of(&person(&app, &ann)), None);
    // And then no change again.
    let (e0, v0) = (events(&app), versions(&app));
    sync(&app, "acme").await;
    assert_eq!((events(&app), versions(&app)), (e0, v0));
}

#[tokio::test]
async fn an_empty_first_page_or_a_listing_cut_short_fails_the_run_and_changes_nothing() {
    let fake = fake(700, 2, 5).await;
    let app = spawn_app_with(tune(&fake)).await;
    connect(&app, &fake, "acme", json!({"type": "all"})).await;
    let run = sync(&app, "acme").await;
    assert_eq!(run["status"], "succeeded", "{run}");
    let (e0, v0) = (events(&app), versions(&app));
    let live = count(
        &app,
        "SELECT count(*) AS n FROM users WHERE deprovisioned_at IS NULL",
    );
    assert_eq!(live, 700);

    fake.fail(USERS, Some(1), Fault::Spoil(Spoil::EmptyPage));
    let run = sync(&app, "acme").await;
    assert_eq!(run["status"], "failed", "{run}");
    assert_eq!(run["error"]["code"], "empty_listing", "{run}");

    fake.fail(USERS, Some(1), Fault::Spoil(Spoil::NoKind));
    let run = sync(&app, "acme").await;
    assert_eq!(run["status"], "failed", "{run}");
    assert_eq!(run["error"]["code"], "truncated", "{run}");

    fake.fail(
        &format!("{GROUPS}/{:017}/members", 1),
        None,
        Fault::google(400, "invalid", "Invalid Input"),
    );
    let run = sync(&app, "acme").await;
    assert_eq!(run["status"], "failed", "{run}");
    assert_eq!(run["error"]["code"], "source_error", "{run}");
    assert_eq!((events(&app), versions(&app)), (e0, v0));
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM users WHERE deprovisioned_at IS NULL"
        ),
        700
    );
}

#[tokio::test]
async fn a_group_scope_syncs_the_members_and_deprovisions_one_who_leaves_the_group() {
    let fake = fake(0, 0, 0).await;
    let [a, b, out] = root_users(&fake, ["ann", "bob", "out"]);
    fake.add_group("team", "Team", &["bob@example.com"]);
    fake.add_group("all", "All", &["ann@example.com", "team@example.com"]);
    let app = spawn_app_with(tune(&fake)).await;
    connect(
        &app,
        &fake,
        "acme",
        json!({"type": "groups", "group_emails": ["All@Example.com"]}),
    )
    .await;
    let run = sync(&app, "acme").await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["counts"]["create"], 2, "{run}");
    assert!(person(&app, &a).live && person(&app, &b).live);
    assert_eq!(
        count(
            &app,
            &format!("SELECT count(*) AS n FROM users WHERE source_ref = '{out}'")
        ),
        0
    );
    fake.remove_group("team@example.com");
    let run = sync(&app, "acme").await;
    assert_eq!(run["counts"]["deprovision"], 1, "{run}");
    assert!(!person(&app, &b).live);
}
