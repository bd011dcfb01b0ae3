//! SCIM bearer tokens: issue, use, rotate, revoke, expire; and admin keys.

use std::time::Duration;

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use serde_json::{json, Value};

use crate::helpers::{eventually, spawn_app, TestApp};

const SPC: &str = "/ServiceProviderConfig";

async fn assert_scim_401(res: reqwest::Response) {
    assert_eq!(res.status(), 401);
    assert_eq!(
        res.headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
        Some("application/scim+json")
    );
    let challenge = res
        .headers()
        .get(WWW_AUTHENTICATE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(challenge.starts_with("Bearer"), "{challenge}");
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:Error"])
    );
    assert_eq!(body["status"], "401");
    assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()));
}

#[tokio::test]
async fn issued_token_reaches_scim() {
    let app = spawn_app().await;
    let token = app.tenant_with_token("acme").await;
    let res = app.scim_get(&token, SPC).await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
        Some("application/scim+json")
    );
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body["schemas"],
        json!(["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"])
    );
}

#[tokio::test]
async fn issue_answers_201_with_the_token_once_and_lists_never_show_it() {
    let app = spawn_app().await;
    app.tenant_with_token("acme").await;
    let issued = app
        .issue_token("acme", &json!({"label": "entra", "expires_in": "90d"}))
        .await;
    let keys: Vec<&str> = issued
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys.len(), 5, "{issued}");
    for k in ["key_id", "token", "label", "created_at", "expires_at"] {
        assert!(issued.get(k).is_some(), "{k} missing in {issued}");
    }
    assert_eq!(issued["label"], "entra");
    let token = issued["token"].as_str().unwrap();
    let key_id = issued["key_id"].as_str().unwrap();
    assert!(token.starts_with(&format!("scimd_{key_id}_")));

    let listed = app.admin_get("/admin/v1/tenants/acme/tokens").await;
    assert_eq!(listed.status(), 200);
    let text = listed.text().await.unwrap();
    assert!(!text.contains(token), "a list showed a token's secret");
    let listed: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(2));
    assert_eq!(listed["next_cursor"], Value::Null);
}

#[tokio::test]
async fn missing_malformed_and_unknown_tokens_get_401() {
    let app = spawn_app().await;
    let token = app.tenant_with_token("acme").await;
    let url = app.url("/scim/v2/ServiceProviderConfig");

    assert_scim_401(app.client.get(&url).send().await.unwrap()).await;
    for header in [
        "Bearer".to_owned(),
        "Basic dXNlcjpwYXNz".to_owned(),
        "Bearer not-a-token".to_owned(),
        format!("Token {token}"),
        // Right shape, key id nobody issued.
        format!("Bearer scimd_{}_{}", "a".repeat(16), "b".repeat(40)),
    ] {
        let res = app
            .client
            .get(&url)
            .header(AUTHORIZATION, header)
            .send()
            .await
            .unwrap();
        assert_scim_401(res).await;
    }
}

#[tokio::test]
async fn wrong_secret_gets_401_even_after_the_right_one_was_cached() {
    let app = spawn_app().await;
    let token = app.tenant_with_token("acme").await;
    assert_eq!(app.scim_get(&token, SPC).await.status(), 200);
    let (head, secret) = token.rsplit_once('_').unwrap();
    let mut wrong: Vec<u8> = secret.bytes().collect();
    wrong[0] = if wrong[0] == b'A' { b'B' } else { b'A' };
    let wrong = format!("{head}_{}", String::from_utf8(wrong).unwrap());
    assert_scim_401(app.scim_get(&wrong, SPC).await).await;
    assert_eq!(app.scim_get(&token, SPC).await.status(), 200);
}

#[tokio::test]
async fn revoked_token_gets_401_at_once_while_its_rotation_partner_works() {
    let app = spawn_app().await;
    let old = app.tenant_with_token("acme").await;
    let new = app.issue_token("acme", &json!({"label": "rotation"})).await;
    let new = new["token"].as_str().unwrap();
    // Both live at once, and the old one is now cached.
    assert_eq!(app.scim_get(&old, SPC).await.status(), 200);
    assert_eq!(app.scim_get(new, SPC).await.status(), 200);

    let key_id = old.split('_').nth(1).unwrap();
    let res = app
        .admin_delete(&format!("/admin/v1/tenants/acme/tokens/{key_id}"))
        .await;
    assert_eq!(res.status(), 204);

    assert_scim_401(app.scim_get(&old, SPC).await).await;
    assert_eq!(app.scim_get(new, SPC).await.status(), 200);
    let listed: Value = app.admin_json("/admin/v1/tenants/acme/tokens").await;
    let revoked = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["key_id"] == key_id)
        .unwrap();
    assert!(revoked["revoked_at"].is_string());
}

#[tokio::test]
async fn expired_token_gets_401_even_from_the_cache() {
    let app = spawn_app().await;
    app.tenant_with_token("acme").await;
    let issued = app.issue_token("acme", &json!({"expires_in": "1h"})).await;
    let token = issued["token"].as_str().unwrap();
    assert_eq!(app.scim_get(token, SPC).await.status(), 200);
    app.clock.advance(chrono::Duration::minutes(61));
    assert_scim_401(app.scim_get(token, SPC).await).await;
}

#[tokio::test]
async fn expiry_must_be_a_future_duration() {
    let app = spawn_app().await;
    app.tenant_with_token("acme").await;
    for body in [
        json!({"expires_in": "soon"}),
        json!({"expires_in": "0s"}),
        json!({"expires_at": "2001-01-01T00:00:00Z"}),
        json!({"expires_in": "1d", "expires_at": "2999-01-01T00:00:00Z"}),
        json!({"unknown": true}),
        json!({"label": "nul\u{0}"}),
    ] {
        let res = app.admin_post("/admin/v1/tenants/acme/tokens", &body).await;
        assert_eq!(res.status(), 400, "{body}");
    }
}

#[tokio::test]
async fn one_tenants_token_cannot_reach_another_tenants_credentials() {
    let app = spawn_app().await;
    let a = app.tenant_with_token("tenant-a").await;
    let b = app.tenant_with_token("tenant-b").await;
    let a_key = a.split('_').nth(1).unwrap();
    // A SCIM token is no admin key.
    let res = app
        .client
        .get(app.url("/admin/v1/tenants/tenant-b/tokens"))
        .header(AUTHORIZATION, format!("Bearer {a}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    // A's key id under B's path does not exist.
    let res = app
        .admin_delete(&format!("/admin/v1/tenants/tenant-b/tokens/{a_key}"))
        .await;
    assert_eq!(res.status(), 404);
    assert_eq!(app.scim_get(&a, SPC).await.status(), 200);
    // Deleting B leaves A's token working and B's refused at once.
    assert_eq!(app.scim_get(&b, SPC).await.status(), 200);
    assert_eq!(
        app.admin_delete("/admin/v1/tenants/tenant-b")
            .await
            .status(),
        204
    );
    assert_scim_401(app.scim_get(&b, SPC).await).await;
    assert_eq!(app.scim_get(&a, SPC).await.status(), 200);
}

#[tokio::test]
async fn last_use_is_recorded_in_the_background_at_most_once_a_minute() {
    let app = spawn_app().await;
    let token = app.tenant_with_token("acme").await;
    for _ in 0..5 {
        assert_eq!(app.scim_get(&token, SPC).await.status(), 200);
    }
    let last_used = || async {
        let listed: Value = app.admin_json("/admin/v1/tenants/acme/tokens").await;
        listed["items"][0]["last_used_at"]
            .as_str()
            .map(str::to_owned)
    };
    assert!(
        eventually(Duration::from_secs(5), || async {
            last_used().await.is_some()
        })
        .await
    );
    let first = last_used().await;
    // More uses within the minute write nothing.
    app.clock.advance(chrono::Duration::seconds(10));
    for _ in 0..5 {
        assert_eq!(app.scim_get(&token, SPC).await.status(), 200);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(last_used().await, first);
}

#[tokio::test]
async fn admin_api_needs_an_admin_key() {
    let app = spawn_app().await;
    let res = app.anonymous_get("/admin/v1/tenants").await;
    assert_eq!(res.status(), 401);
    assert!(res.headers().get(WWW_AUTHENTICATE).is_some());
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "unauthorized");

    let res = app
        .client
        .get(app.url("/admin/v1/tenants"))
        .header(AUTHORIZATION, format!("Bearer {}x", app.admin_key))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(app.admin_get("/admin/v1/tenants").await.status(), 200);
}

/// The admin key is checked before anything else of the request is read: with no key or a
/// wrong one, a malformed query, body or id answers 401 (not 400), and a good write is not
/// made.
#[tokio::test]
async fn a_bad_admin_key_answers_401_whatever_else_the_request_holds() {
    // Wrong keys count against the address's failed sign-ins; this test makes many.
    let app = crate::helpers::spawn_app_with(|s| s.auth_failures_per_minute = 0).await;
    let person = "/admin/v1/tenants/acme/people";
    let someone = format!("{person}/{}", uuid::Uuid::new_v4());
    // Each request, and what it answers with the right key.
    let requests = [
        ("GET", "/admin/v1/tenants?limit=abc".to_owned(), None, 400),
        (
            "GET",
            "/admin/v1/tenants/acme/tokens?limit=abc".into(),
            None,
            400,
        ),
        ("GET", format!("{person}?state=nope"), None, 400),
        ("DELETE", format!("{someone}?erase=maybe"), None, 400),
        ("POST", "/admin/v1/tenants".into(), Some("{not json"), 400),
        (
            "PATCH",
            "/admin/v1/tenants/acme".into(),
            Some(r#"{"nope": 1}"#),
            400,
        ),
        ("POST", format!("{someone}/restore"), None, 404),
        (
            "POST",
            person.into(),
            Some(r#"{"email": "ada@acme.example"}"#),
            201,
        ),
    ];
    // A malformed key, the server's key with another secret of the same length (checked
    // before the key is ever used, so not from a cache), and a well-formed key the server
    // does not have.
    let malformed = format!("Bearer {}x", app.admin_key);
    let mut wrong = format!("Bearer {}", app.admin_key);
    let last = wrong.pop().unwrap();
    wrong.push(if last == 'a' { 'b' } else { 'a' });
    let secret = app.admin_key.rsplit('_').next().unwrap();
    let unknown = format!("Bearer scimd_{}_{secret}", "0".repeat(16));
    let good = format!("Bearer {}", app.admin_key);
    let send = |method: &str, path: &str, body: Option<&str>, key: Option<&str>| {
        let mut req = app
            .client
            .request(method.parse().unwrap(), app.url(path))
            .header(CONTENT_TYPE, "application/json");
        if let Some(key) = key {
            req = req.header(AUTHORIZATION, key);
        }
        if let Some(body) = body {
            req = req.body(body.to_owned());
        }
        req.send()
    };
    for (method, path, body, _) in &requests {
        for key in [None, Some(&malformed), Some(&wrong), Some(&unknown)] {
            let res = send(method, path, *body, key.map(String::as_str))
                .await
                .unwrap();
            assert_eq!(res.status(), 401, "{method} {path} with {key:?}");
            let problem: Value = res.json().await.unwrap();
            assert_eq!(problem["error"], "unauthorized", "{method} {path}");
        }
    }
    app.tenant_with_token("acme").await;
    let people = app.admin_json(person).await;
    assert_eq!(people["items"], json!([]), "a refused create wrote nothing");
    for (method, path, body, want) in &requests {
        let res = send(method, path, *body, Some(good.as_str()))
            .await
            .unwrap();
        assert_eq!(res.status(), *want, "{method} {path} with the right key");
    }
}

#[tokio::test]
async fn a_revocation_made_elsewhere_takes_effect_when_the_cache_entry_goes_stale() {
    let app =
        crate::helpers::spawn_app_with(|s| s.token_cache_ttl = Duration::from_millis(300)).await;
    let token = app.tenant_with_token("acme").await;
    assert_eq!(app.scim_get(&token, SPC).await.status(), 200);
    // Stale entries are renewed from the row, without a new argon2 check.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(app.scim_get(&token, SPC).await.status(), 200);
    // Revoked as `scimd token revoke` (another process) would: this node's cache is not told.
    let key_id = token.split('_').nth(1).unwrap().to_owned();
    scimd::provisioning::credentials::revoke_token(
        &mut app.db.conn(),
        &key_id,
        None,
        chrono::Utc::now(),
    )
    .unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_scim_401(app.scim_get(&token, SPC).await).await;
}

/// The `scimd_credential_hash_checks_total` sample of `kind` on `/metrics`.
pub async fn hash_checks(app: &TestApp, kind: &str) -> u64 {
    let text = app.metrics().await;
    let name = format!("scimd_credential_hash_checks_total{{kind=\"{kind}\"}} ");
    let line = text.lines().find(|l| l.starts_with(&name));
    line.and_then(|l| l[name.len()..].trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in {text}"))
}

#[tokio::test]
async fn concurrent_first_uses_of_a_token_share_one_argon2_check() {
    let app = spawn_app().await;
    let token = app.tenant_with_token("acme").await;
    assert_eq!(hash_checks(&app, "scim_token").await, 0);
    assert!(hash_checks(&app, "admin_key").await >= 1);

    let answers = futures_util::future::join_all((0..16).map(|_| app.scim_get(&token, SPC))).await;
    assert!(answers.iter().all(|r| r.status() == 200));
    assert_eq!(hash_checks(&app, "scim_token").await, 1);

    // A wrong secret under the same key id is a credential of its own: each request with
    // it is checked and refused, none rides on the good token's check or on another's.
    let key_id = token.split('_').nth(1).unwrap();
    let wrong = format!("scimd_{key_id}_{}", "x".repeat(40));
    let answers = futures_util::future::join_all((0..6).map(|_| app.scim_get(&wrong, SPC))).await;
    assert!(answers.iter().all(|r| r.status() == 401));
    assert_eq!(hash_checks(&app, "scim_token").await, 7);
    // The good token is still cached.
    assert_eq!(app.scim_get(&token, SPC).await.status(), 200);
    assert_eq!(hash_checks(&app, "scim_token").await, 7);
}
