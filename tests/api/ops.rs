//! Health, readiness, metrics, request ids, limits and a database that goes away.

use std::time::Duration;

use reqwest::header::CONTENT_TYPE;
use serde_json::{json, Value};

use crate::helpers::{eventually, server_url, spawn_app, spawn_app_on, spawn_app_with, TestDb};
use crate::proxy::DbProxy;

#[tokio::test]
async fn healthz_and_readyz_answer_200() {
    let app = spawn_app().await;
    let res = app.anonymous_get("/healthz").await;
    assert_eq!(res.status(), 200);
    let res = app.anonymous_get("/readyz").await;
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn database_outage_gives_503_then_service_recovers_by_itself() {
    let proxy = DbProxy::start(server_url().server()).await;
    let db = TestDb::new();
    let via_proxy = scimd::config::DatabaseUrl::parse(&db.url.expose().replacen(
        &server_url().server(),
        &proxy.addr.to_string(),
        1,
    ))
    .unwrap();
    let app = spawn_app_on(db, |s| {
        s.database_url = via_proxy;
        s.pool_timeout = Duration::from_millis(500);
    })
    .await;
    let token = app.tenant_with_token("acme").await;
    let second = app.issue_token("acme", &json!({})).await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(app.anonymous_get("/readyz").await.status(), 200);

    proxy.cut();
    let res = app.anonymous_get("/readyz").await;
    assert_eq!(res.status(), 503);
    // A SCIM request that needs the database (an uncached token) gets a SCIM 503.
    let res = app.scim_get(&second, "/ServiceProviderConfig").await;
    assert_eq!(res.status(), 503);
    assert_eq!(
        res.headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
        Some("application/scim+json")
    );
    assert!(res.headers().get("retry-after").is_some());
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:Error"])
    );
    assert_eq!(body["status"], "503");
    // The process is alive throughout.
    assert_eq!(app.anonymous_get("/healthz").await.status(), 200);

    proxy.restore();
    let recovered = eventually(Duration::from_secs(10), || async {
        app.anonymous_get("/readyz").await.status() == 200
    })
    .await;
    assert!(recovered, "readyz did not recover");
    assert_eq!(
        app.scim_get(&second, "/ServiceProviderConfig")
            .await
            .status(),
        200
    );
    assert_eq!(
        app.scim_get(&token, "/ServiceProviderConfig")
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn request_id_is_echoed_or_generated() {
    let app = spawn_app().await;
    let res = app
        .anonymous_get_with("/healthz", "x-request-id", "abc-123")
        .await;
    assert_eq!(res.headers().get("x-request-id").unwrap(), "abc-123");

    let res = app.anonymous_get("/healthz").await;
    let generated = res
        .headers()
        .get("x-request-id")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(uuid::Uuid::parse_str(&generated).is_ok(), "{generated}");

    // A hostile id (spaces, quotes, too long) is replaced, not echoed.
    for bad in ["has space\"quote", &"x".repeat(300)] {
        let res = app
            .anonymous_get_with("/healthz", "x-request-id", bad)
            .await;
        let got = res.headers().get("x-request-id").unwrap().to_str().unwrap();
        assert_ne!(got, bad);
        assert!(uuid::Uuid::parse_str(got).is_ok());
    }
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status_and_show_the_pool() {
    let app = spawn_app().await;
    let token = app.tenant_with_token("acme").await;
    app.scim_get(&token, "/ServiceProviderConfig").await;
    app.scim_get("nope", "/ServiceProviderConfig").await;
    let text = app.metrics().await;
    assert!(text.contains(
        r#"scimd_http_requests_total{method="GET",route="/scim/v2/ServiceProviderConfig",status="200"} 1"#
    ), "{text}");
    assert!(text.contains(
        r#"scimd_http_requests_total{method="GET",route="/scim/v2/ServiceProviderConfig",status="401"} 1"#
    ));
    assert!(text.contains("scimd_http_request_duration_seconds_bucket"));
    // Both pools, each with the most it may open: the test app's pool size (8), the
    // async share split across its two workers.
    for pool in ["blocking", "async"] {
        for state in ["idle", "in_use"] {
            let line = format!(r#"scimd_db_pool_connections{{pool="{pool}",state="{state}"}}"#);
            assert!(text.contains(&line), "{line} in {text}");
        }
        let max = format!(r#"scimd_db_pool_connections{{pool="{pool}",state="max"}} 8"#);
        assert!(text.contains(&max), "{max} in {text}");
    }
}

#[tokio::test]
async fn oversized_bodies_are_refused_with_413_and_change_nothing() {
    let app = spawn_app_with(|s| s.max_body_bytes = 1024).await;
    let body = json!({"slug": "big", "name": "n".repeat(4000)});
    let res = app.admin_post("/admin/v1/tenants", &body).await;
    assert_eq!(res.status(), 413);
    let err: Value = res.json().await.unwrap();
    assert_eq!(err["error"], "payload_too_large");
    // Chunked, with no Content-Length to trust.
    let stream =
        futures_util::stream::iter((0..64).map(|_| Ok::<_, std::io::Error>(vec![b' '; 1024])));
    let res = app
        .client
        .post(app.url("/admin/v1/tenants"))
        .header("authorization", format!("Bearer {}", app.admin_key))
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    assert_eq!(app.admin_get("/admin/v1/tenants/big").await.status(), 404);
}

#[tokio::test]
async fn oversized_headers_are_refused_cleanly() {
    let app = spawn_app().await;
    let res = app
        .anonymous_get_with("/healthz", "x-big", &"v".repeat(20 * 1024))
        .await;
    assert_eq!(res.status(), 431);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "headers_too_large");
    let res = app
        .anonymous_get_with("/scim/v2/Users", "x-big", &"v".repeat(20 * 1024))
        .await;
    assert_eq!(res.status(), 431);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], "431");
    // Past what the HTTP parser buffers, the connection is closed rather than read on.
    let res = app
        .client
        .get(app.url("/healthz"))
        .header("x-huge", &"v".repeat(256 * 1024))
        .send()
        .await;
    match res {
        Ok(res) => assert!(res.status().is_client_error(), "{}", res.status()),
        Err(e) => assert!(e.is_request() || e.is_connect(), "{e}"),
    }
    let mut req = app.client.get(app.url("/healthz"));
    for i in 0..200 {
        req = req.header(format!("x-h{i}"), "v");
    }
    match req.send().await {
        Ok(res) => assert!(res.status().is_client_error(), "{}", res.status()),
        Err(e) => assert!(e.is_request() || e.is_connect(), "{e}"),
    }
    // And the server is fine afterwards.
    assert_eq!(app.anonymous_get("/healthz").await.status(), 200);
}

#[tokio::test]
async fn unknown_scim_endpoints_are_scim_404s_and_wrong_methods_405() {
    let app = spawn_app().await;
    let token = app.tenant_with_token("acme").await;
    let res = app.scim_get(&token, "/Nope").await;
    assert_eq!(res.status(), 404);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], "404");
    let res = app
        .client
        .post(app.url("/scim/v2/ServiceProviderConfig"))
        .header("authorization", format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
}
