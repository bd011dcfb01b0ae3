//! Per-tenant SCIM rate limits: the default fits Entra, a tenant over its limit gets 429
//! with Retry-After and a SCIM error, and one tenant's flood leaves another alone.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::helpers::{spawn_app, user_body, TestApp};

async fn set_limit(app: &TestApp, slug: &str, per_second: u32, burst: u32) {
    app.patch_tenant(
        slug,
        &json!({"rate_limit": {"per_second": per_second, "burst": burst}}),
    )
    .await;
}

#[tokio::test]
async fn the_default_limit_is_100_per_second_with_a_burst_of_200() {
    let app = spawn_app().await;
    let token = app.tenant_with_default_limit("contoso").await;
    let t: Value = app.admin_json("/admin/v1/tenants/contoso").await;
    assert_eq!(t["rate_limit"], json!({"per_second": 100, "burst": 200}));
    // The test clock stands still: exactly the burst gets through.
    let mut statuses = Vec::new();
    for _ in 0..201 {
        statuses.push(
            app.scim_get(&token, "/Users?count=1")
                .await
                .status()
                .as_u16(),
        );
    }
    assert!(statuses[..200].iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(statuses[200], 429);
    // A quarter of a second refills 25 requests: Entra's 25 per second keep flowing.
    app.clock.advance(chrono::Duration::milliseconds(250));
    let mut admitted = 0;
    while app.scim_get(&token, "/Users?count=1").await.status() == 200 {
        admitted += 1;
        assert!(
            admitted <= 26,
            "more than a quarter second's worth admitted"
        );
    }
    assert!(admitted >= 25, "{admitted} admitted after 250 ms");
}

#[tokio::test]
async fn over_the_limit_is_429_with_retry_after_and_a_scim_error() {
    let app = spawn_app().await;
    let token = app.tenant_with_token("acme").await;
    set_limit(&app, "acme", 1, 3).await;
    for _ in 0..3 {
        assert_eq!(app.scim_get(&token, "/Users").await.status(), 200);
    }
    let res = app.scim_get(&token, "/Users").await;
    assert_eq!(res.status(), 429);
    assert_eq!(res.headers()["retry-after"], "1");
    // The connection is closed: a flooding client pays a reconnect per request.
    assert_eq!(res.headers()["connection"], "close");
    assert_eq!(res.headers()["content-type"], "application/scim+json");
    let e: Value = res.json().await.unwrap();
    assert_eq!(
        e["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:Error"])
    );
    assert_eq!(e["status"], "429");
    // Writes are limited the same way, and refused before they change anything.
    let res = app
        .scim_post(&token, "/Users", &user_body("ann@acme.test"))
        .await;
    assert_eq!(res.status(), 429);
    app.clock.advance(chrono::Duration::seconds(1));
    let res = app
        .scim_get(&token, "/Users?filter=userName eq \"ann@acme.test\"")
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["totalResults"], 0);
    // A new limit applies at once.
    set_limit(&app, "acme", 1, 50).await;
    for _ in 0..50 {
        assert_eq!(app.scim_get(&token, "/Users").await.status(), 200);
    }
    let metrics = app.anonymous_get("/metrics").await;
    let text = metrics.text().await.unwrap();
    assert!(text.contains("scimd_rate_limited_total 2"), "{text}");
}

/// One tenant floods (16 concurrent clients, far over its limit) while another works:
/// every request of the other succeeds, and its latency stays that of a quiet server.
#[tokio::test]
async fn one_tenants_flood_does_not_slow_another() {
    let app = Arc::new(spawn_app().await);
    let flood = app.tenant_with_token("flood").await;
    let calm = app.tenant_with_token("calm").await;
    set_limit(&app, "flood", 10, 20).await;
    // The calm tenant's latency alone first.
    let mut quiet = Vec::new();
    for _ in 0..50 {
        let t = Instant::now();
        assert_eq!(app.scim_get(&calm, "/Users?count=5").await.status(), 200);
        quiet.push(t.elapsed());
    }
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut flooders = Vec::new();
    for _ in 0..16 {
        let app = app.clone();
        let flood = flood.clone();
        let stop = stop.clone();
        flooders.push(tokio::spawn(async move {
            let (mut ok, mut limited) = (0u32, 0u32);
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                match app
                    .scim_get(&flood, "/Users?count=5")
                    .await
                    .status()
                    .as_u16()
                {
                    200 => ok += 1,
                    429 => limited += 1,
                    other => panic!("flood got {other}"),
                }
            }
            (ok, limited)
        }));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut busy = Vec::new();
    for _ in 0..50 {
        let t = Instant::now();
        assert_eq!(app.scim_get(&calm, "/Users?count=5").await.status(), 200);
        busy.push(t.elapsed());
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (mut ok, mut limited) = (0, 0);
    for f in flooders {
        let (o, l) = f.await.unwrap();
        ok += o;
        limited += l;
    }
    // The test clock stands still, so the flood got its burst and nothing more.
    assert_eq!(ok, 20, "flood admitted");
    assert!(limited > 100, "flood refused {limited}");
    quiet.sort();
    busy.sort();
    let (q50, b50) = (quiet[25], busy[25]);
    eprintln!(
        "calm tenant p50: {q50:?} alone, {b50:?} during a flood of {limited} refused requests"
    );
    // Generous bound: the flood shares the machine's two cores with the calm requests,
    // but never their database connections.
    assert!(
        b50 < q50 * 10 + Duration::from_millis(20),
        "calm p50 went from {q50:?} to {b50:?}"
    );
}
