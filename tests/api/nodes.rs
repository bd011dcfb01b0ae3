//! Many nodes on one database agree within a second: a credential revoked, a tenant deleted
//! or a tenant's settings changed, by any node or command, is acted on by every node within
//! 1 s (change notifications, `store::notify`). With its notification connection cut, a
//! node falls back to the cache TTL and listens again by itself.

use std::process::Command;
use std::time::{Duration, Instant};

use diesel::RunQueryDsl;
use serde_json::json;

use crate::helpers::{spawn_app_on, stdout_of, user_body, TestApp, TestDb};

const WITHIN: Duration = Duration::from_secs(1);

/// Two nodes on one database, each tuned by `tune`. The second must be forgotten, not
/// dropped, at the end of the test: it does not own the database.
pub(crate) async fn two_nodes(tune: impl Fn(&mut scimd::config::Settings)) -> (TestApp, TestApp) {
    let db = TestDb::new();
    let shared = TestDb {
        name: db.name.clone(),
        url: db.url.clone(),
    };
    let first = spawn_app_on(db, &tune).await;
    let second = spawn_app_on(shared, &tune).await;
    for node in [&first, &second] {
        assert!(
            listening(node, Duration::from_secs(5)).await,
            "node {} listens for changes",
            node.address
        );
    }
    (first, second)
}

/// Whether the node's `/metrics` says its listener is connected, within `within`.
async fn listening(node: &TestApp, within: Duration) -> bool {
    crate::helpers::eventually(within, || async {
        metric(&node.metrics().await, "scimd_change_listener_connected") == 1.0
    })
    .await
}

/// The value of the metric `name` (without labels) in a `/metrics` text; -1 when absent.
fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(-1.0)
}

/// How long until `check` holds, polling every 10 ms; `None` when not within 5 s.
async fn time_until<F, Fut>(mut check: F) -> Option<Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(5) {
        if check().await {
            return Some(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    None
}

async fn scim_status(node: &TestApp, token: &str) -> u16 {
    node.scim_get(token, "/Users?count=1")
        .await
        .status()
        .as_u16()
}

async fn admin_status(node: &TestApp, key: &str) -> u16 {
    node.client
        .get(node.url("/admin/v1/tenants"))
        .header("authorization", format!("Bearer {key}"))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

fn scimd(node: &TestApp, args: &[&str]) -> String {
    stdout_of(
        Command::new(env!("CARGO_BIN_EXE_scimd"))
            .env("DATABASE_URL", node.db.url.expose())
            .env("SCIMD_LOG", "warn")
            .args(args),
    )
}

fn key_id(credential: &str) -> &str {
    credential.split('_').nth(1).unwrap()
}

/// Revokes `token` through `via`'s admin API.
async fn revoke(via: &TestApp, token: &str) {
    let res = via
        .admin_delete(&format!("/admin/v1/tenants/acme/tokens/{}", key_id(token)))
        .await;
    assert_eq!(res.status(), 204);
}

/// Asserts `node` refuses `token` within a second; `how` says how it was revoked.
async fn refused_within_a_second(node: &TestApp, token: &str, how: &str) {
    let took = time_until(|| async { scim_status(node, token).await == 401 }).await;
    assert!(
        took.is_some_and(|t| t < WITHIN),
        "{} refused a token {how} after {took:?}",
        node.address
    );
}

#[tokio::test]
async fn a_credential_revoked_or_a_tenant_deleted_anywhere_is_refused_by_every_node_within_a_second(
) {
    let (first, second) = two_nodes(|_| {}).await;
    let token = first.tenant_with_token("acme").await;
    // The second node has verified and cached it (the TTL is a minute).
    assert_eq!(scim_status(&second, &token).await, 200);
    assert_eq!(scim_status(&second, &token).await, 200);

    // Revoked through the first node's admin API.
    revoke(&first, &token).await;
    refused_within_a_second(&second, &token, "revoked through the other's admin API").await;

    // Revoked with `scimd token revoke`.
    let token = first.issue_token("acme", &json!({})).await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(scim_status(&second, &token).await, 200);
    assert_eq!(scim_status(&first, &token).await, 200);
    scimd(&first, &["token", "revoke", key_id(&token)]);
    for node in [&first, &second] {
        refused_within_a_second(node, &token, "revoked by the command line").await;
    }

    // An admin key revoked with `scimd admin-key revoke`.
    let key = scimd(&first, &["admin-key", "issue", "--label", "ops"]);
    let key = key.trim();
    assert_eq!(admin_status(&second, key).await, 200);
    scimd(&first, &["admin-key", "revoke", key_id(key)]);
    let took = time_until(|| async { admin_status(&second, key).await == 401 }).await;
    assert!(
        took.is_some_and(|t| t < WITHIN),
        "the other node refused a revoked admin key after {took:?}"
    );

    // A tenant deleted through the first node: its tokens stop working on the second.
    let token = first.tenant_with_token("globex").await;
    assert_eq!(scim_status(&second, &token).await, 200);
    assert_eq!(
        first
            .admin_delete("/admin/v1/tenants/globex")
            .await
            .status(),
        204
    );
    let took = time_until(|| async { scim_status(&second, &token).await == 401 }).await;
    assert!(
        took.is_some_and(|t| t < WITHIN),
        "the other node refused a deleted tenant's token after {took:?}"
    );
    assert!(metric(&second.metrics().await, "scimd_change_notifications_total") >= 4.0);
    std::mem::forget(second);
}

#[tokio::test]
async fn a_tenant_setting_changed_by_the_command_line_applies_on_every_node_within_a_second() {
    let (first, second) = two_nodes(|_| {}).await;
    let token = first.tenant_with_token("acme").await;
    // Both nodes know the tenant's (raised) limit.
    for _ in 0..5 {
        assert_eq!(scim_status(&first, &token).await, 200);
        assert_eq!(scim_status(&second, &token).await, 200);
    }

    // The delete policy: the second node erases on delete once it is `remove`.
    let kept = second
        .create_user(&token, &user_body("kept@acme.test"))
        .await;
    let kept = kept["id"].as_str().unwrap().to_owned();
    scimd(
        &first,
        &["tenant", "set", "acme", "--on-source-delete", "remove"],
    );
    assert_eq!(
        second
            .scim_delete(&token, &format!("/Users/{kept}"))
            .await
            .status(),
        204
    );
    let person = second
        .admin_get(&format!("/admin/v1/tenants/acme/people/{kept}"))
        .await;
    assert_eq!(person.status(), 404, "erased, not deprovisioned");

    // The rate limit: the test clock stands still, so a burst of 2 allows two requests and
    // then 429s for good.
    scimd(
        &first,
        &[
            "tenant",
            "set",
            "acme",
            "--rate-per-second",
            "1",
            "--rate-burst",
            "2",
        ],
    );
    for node in [&second, &first] {
        let took = time_until(|| async { scim_status(node, &token).await == 429 }).await;
        assert!(
            took.is_some_and(|t| t < WITHIN),
            "{} applied the new rate limit after {took:?}",
            node.address
        );
    }

    // The source: SCIM writes are refused once it is a pull source.
    let other = first.tenant_with_token("globex").await;
    assert_eq!(scim_status(&second, &other).await, 200);
    scimd(&first, &["tenant", "set", "globex", "--source", "graph"]);
    let res = second
        .scim_post(&other, "/Users", &user_body("ann@globex.test"))
        .await;
    assert_eq!(res.status(), 409, "{}", res.text().await.unwrap());
    std::mem::forget(second);
}

#[tokio::test]
async fn with_its_notification_connection_cut_a_node_falls_back_to_the_ttl_then_listens_again() {
    let ttl = Duration::from_secs(2);
    let (first, second) = two_nodes(|s| {
        s.token_cache_ttl = ttl;
        // Long enough for the TTL to show before it is back.
        s.listen.retry = Duration::from_secs(8);
    })
    .await;
    let token = first.tenant_with_token("acme").await;
    assert_eq!(scim_status(&second, &token).await, 200);

    // Cut the second node's listener.
    let killed = diesel::sql_query(format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '{}'",
        second.listener
    ))
    .execute(&mut first.db.conn())
    .unwrap();
    assert_eq!(
        killed, 1,
        "one listener connection named {}",
        second.listener
    );
    assert!(
        crate::helpers::eventually(Duration::from_secs(2), || async {
            metric(&second.metrics().await, "scimd_change_listener_connected") == 0.0
        })
        .await,
        "the node reports its listener down"
    );

    // Let the cached entry go stale, then have it cached afresh: it is then good for a
    // whole TTL.
    tokio::time::sleep(ttl + Duration::from_millis(100)).await;
    assert_eq!(scim_status(&second, &token).await, 200);
    let cached_at = Instant::now();
    revoke(&first, &token).await;
    // Nothing told the second node: it still accepts the revoked token from its cache...
    assert_eq!(scim_status(&second, &token).await, 200);
    // ...until the TTL runs out.
    let took = time_until(|| async { scim_status(&second, &token).await == 401 }).await;
    let refused_after = cached_at.elapsed();
    assert!(took.is_some(), "the TTL bounds how long it is accepted");
    assert!(
        refused_after >= ttl - Duration::from_millis(100) && refused_after < ttl + WITHIN,
        "refused {refused_after:?} after it was cached, with a TTL of {ttl:?}"
    );

    // The listener comes back by itself...
    assert!(
        listening(&second, Duration::from_secs(15)).await,
        "the listener reconnects"
    );
    let text = second.metrics().await;
    assert!(
        metric(&text, "scimd_change_listener_reconnects_total") >= 1.0,
        "{text}"
    );
    // ...and a revocation is again seen within a second.
    let token = first.issue_token("acme", &json!({})).await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(scim_status(&second, &token).await, 200);
    revoke(&first, &token).await;
    refused_within_a_second(&second, &token, "revoked after the listener reconnected").await;
    std::mem::forget(second);
}
