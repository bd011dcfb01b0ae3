//! Failed sign-ins are limited per client address before any argon2 or database work
//! (issue 22, point 3): SCIM tokens and admin keys share one allowance per address, a
//! limited address gets 429 with Retry-After, its already verified tokens keep working,
//! and other addresses are untouched. X-Forwarded-For names the client only behind a
//! trusted proxy.

use std::net::IpAddr;
use std::time::Duration;

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use serde_json::Value;

use crate::auth::hash_checks;
use crate::helpers::{spawn_app_with, TestApp};

const SPC: &str = "/scim/v2/ServiceProviderConfig";

/// A well-formed token that no tenant holds (a new key id each call), so that checking
/// it runs argon2 (against the dummy hash).
fn bad_token() -> String {
    format!(
        "scimd_{}_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..16],
        "x".repeat(40)
    )
}

/// A client whose connections leave from `local`, one of loopback's many addresses.
fn client_from(local: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(local.parse::<IpAddr>().ok())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

async fn get(
    client: &reqwest::Client,
    app: &TestApp,
    path: &str,
    token: &str,
    forwarded: Option<&str>,
) -> reqwest::Response {
    let mut req = client
        .get(app.url(path))
        .header(AUTHORIZATION, format!("Bearer {token}"));
    if let Some(f) = forwarded {
        req = req.header("x-forwarded-for", f);
    }
    req.send().await.unwrap()
}

/// The status of a SCIM request from `client` with a token no tenant holds.
async fn bad_token_status(client: &reqwest::Client, app: &TestApp) -> reqwest::StatusCode {
    get(client, app, SPC, &bad_token(), None).await.status()
}

async fn assert_limited_scim(res: reqwest::Response) {
    assert_eq!(res.status(), 429);
    let retry: u64 = res.headers()[RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
    assert_eq!(res.headers()[CONTENT_TYPE], "application/scim+json");
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:Error"
    );
    assert_eq!(body["status"], "429");
}

#[tokio::test]
async fn an_address_over_its_failures_gets_429_before_argon2_and_its_verified_tokens_still_work() {
    let app = spawn_app_with(|s| s.auth_failures_per_minute = 5).await;
    let token = app.tenant_with_token("acme").await;
    let client = client_from("127.0.0.1");
    // Verified once, cached from now on.
    assert_eq!(get(&client, &app, SPC, &token, None).await.status(), 200);
    let checks = hash_checks(&app, "scim_token").await;

    for i in 0..5 {
        let res = get(&client, &app, SPC, &bad_token(), None).await;
        assert_eq!(res.status(), 401, "failure {i} is within the allowance");
    }
    assert_eq!(hash_checks(&app, "scim_token").await, checks + 5);
    for _ in 0..20 {
        assert_limited_scim(get(&client, &app, SPC, &bad_token(), None).await).await;
    }
    // None of the refused ones ran argon2.
    assert_eq!(hash_checks(&app, "scim_token").await, checks + 5);

    // The address's verified token is answered from the cache, without waiting.
    assert_eq!(get(&client, &app, SPC, &token, None).await.status(), 200);
    // A token this node has never verified waits like any other unknown credential...
    let fresh = app.issue_token("acme", &serde_json::json!({})).await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_limited_scim(get(&client, &app, SPC, &fresh, None).await).await;
    // ...until the failures age out (20 s for the fifth one at 5 a minute), and a
    // success does not give the address its allowance back.
    app.clock.advance(chrono::Duration::seconds(12));
    assert_eq!(get(&client, &app, SPC, &fresh, None).await.status(), 200);
    assert_eq!(bad_token_status(&client, &app).await, 401);
    assert_eq!(bad_token_status(&client, &app).await, 429);
}

#[tokio::test]
async fn one_address_failing_leaves_another_addresses_good_and_bad_tokens_alone() {
    let app = spawn_app_with(|s| s.auth_failures_per_minute = 3).await;
    let token = app.tenant_with_token("acme").await;
    let attacker = client_from("127.0.0.2");
    let tenant = client_from("127.0.0.1");
    for _ in 0..3 {
        assert_eq!(bad_token_status(&attacker, &app).await, 401);
    }
    assert_limited_scim(get(&attacker, &app, SPC, &bad_token(), None).await).await;
    // The tenant's first use of its token, from its own address, is checked as usual.
    assert_eq!(get(&tenant, &app, SPC, &token, None).await.status(), 200);
    assert_eq!(bad_token_status(&tenant, &app).await, 401);
}

#[tokio::test]
async fn admin_keys_and_scim_tokens_share_the_allowance_and_admin_gets_a_problem() {
    let app = spawn_app_with(|s| s.auth_failures_per_minute = 4).await;
    let client = client_from("127.0.0.1");
    for _ in 0..2 {
        assert_eq!(bad_token_status(&client, &app).await, 401);
        let res = get(&client, &app, "/admin/v1/tenants", &bad_token(), None).await;
        assert_eq!(res.status(), 401);
    }
    let res = get(&client, &app, "/admin/v1/tenants", &bad_token(), None).await;
    assert_eq!(res.status(), 429);
    assert!(res.headers().contains_key(RETRY_AFTER));
    assert_eq!(res.headers()[CONTENT_TYPE], "application/problem+json");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "too_many_requests");
    assert_eq!(body["status"], 429);
    assert_limited_scim(get(&client, &app, SPC, &bad_token(), None).await).await;
    // The operator's key was never presented to this node: it waits too, like any
    // credential not verified here yet.
    let res = get(&client, &app, "/admin/v1/tenants", &app.admin_key, None).await;
    assert_eq!(res.status(), 429);
}

#[tokio::test]
async fn x_forwarded_for_names_the_client_only_when_the_peer_is_a_trusted_proxy() {
    // Behind a trusted proxy: each forwarded client has its own allowance.
    let app = spawn_app_with(|s| {
        s.auth_failures_per_minute = 2;
        s.trusted_proxies = vec!["127.0.0.0/30".parse().unwrap()];
    })
    .await;
    let proxy = client_from("127.0.0.1");
    for _ in 0..2 {
        let res = get(&proxy, &app, SPC, &bad_token(), Some("198.51.100.1")).await;
        assert_eq!(res.status(), 401);
    }
    assert_limited_scim(get(&proxy, &app, SPC, &bad_token(), Some("198.51.100.1")).await).await;
    // A second client behind the same proxy; and the first one spoofing a left-hand
    // entry is still found by the right-most untrusted hop.
    let res = get(&proxy, &app, SPC, &bad_token(), Some("198.51.100.2")).await;
    assert_eq!(res.status(), 401);
    let spoofed = "203.0.113.99, 198.51.100.1, 127.0.0.2";
    assert_limited_scim(get(&proxy, &app, SPC, &bad_token(), Some(spoofed)).await).await;

    // Without trusting the peer, the header changes nothing: every request is the peer's.
    let app = spawn_app_with(|s| s.auth_failures_per_minute = 2).await;
    for n in 1..=2 {
        let forwarded = format!("198.51.100.{n}");
        let res = get(&proxy, &app, SPC, &bad_token(), Some(&forwarded)).await;
        assert_eq!(res.status(), 401);
    }
    assert_limited_scim(get(&proxy, &app, SPC, &bad_token(), Some("198.51.100.3")).await).await;
}

#[tokio::test]
async fn unknown_connect_links_count_as_failed_sign_ins_of_the_same_allowance() {
    let app = spawn_app_with(|s| s.auth_failures_per_minute = 2).await;
    let client = client_from("127.0.0.1");
    let link = |n: u32| app.url(&format!("/connect/not-a-link-{n}"));
    for n in 0..2 {
        let res = client.get(link(n)).send().await.unwrap();
        assert_eq!(res.status(), 404);
    }
    let res = client.get(link(2)).send().await.unwrap();
    assert_eq!(res.status(), 429);
    assert!(res.headers().contains_key(RETRY_AFTER));
    assert!(res.headers()[CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    // The same allowance as tokens'.
    assert_limited_scim(get(&client, &app, SPC, &bad_token(), None).await).await;
    // Another address opens links as before.
    let other = client_from("127.0.0.2");
    assert_eq!(other.get(link(3)).send().await.unwrap().status(), 404);
}

#[tokio::test]
async fn concurrent_first_uses_of_a_good_token_take_one_slot_in_turn_not_one_each() {
    let app = spawn_app_with(|s| s.auth_failures_per_minute = 2).await;
    let token = app.tenant_with_token("acme").await;
    let client = client_from("127.0.0.1");
    let answers =
        futures_util::future::join_all((0..16).map(|_| get(&client, &app, SPC, &token, None)))
            .await;
    let statuses: Vec<u16> = answers.iter().map(|r| r.status().as_u16()).collect();
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    // The allowance is whole: two failures still fit.
    for _ in 0..2 {
        let res = get(&client, &app, SPC, &bad_token(), None).await;
        assert_eq!(res.status(), 401);
    }
}

#[tokio::test]
async fn first_uses_of_many_good_tokens_at_once_from_one_address_are_not_taken_for_a_flood() {
    // Slots are taken only by checks running argon2 (at most 4 at once), so 24 tokens
    // never verified here, all arriving together from one address, all get through an
    // allowance of 5. Had each waiting check held a slot, most would get 429.
    let app = spawn_app_with(|s| s.auth_failures_per_minute = 5).await;
    let mut tokens = Vec::new();
    for i in 0..24 {
        tokens.push(app.tenant_with_token(&format!("tenant-{i}")).await);
    }
    let client = client_from("127.0.0.1");
    let checks = hash_checks(&app, "scim_token").await;
    let answers =
        futures_util::future::join_all(tokens.iter().map(|t| get(&client, &app, SPC, t, None)))
            .await;
    let statuses: Vec<u16> = answers.iter().map(|r| r.status().as_u16()).collect();
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(hash_checks(&app, "scim_token").await, checks + 24);
    // And the allowance is whole afterwards: five failures fit, the sixth does not.
    for i in 0..5 {
        let res = get(&client, &app, SPC, &bad_token(), None).await;
        assert_eq!(res.status(), 401, "failure {i}");
    }
    assert_limited_scim(get(&client, &app, SPC, &bad_token(), None).await).await;
}
