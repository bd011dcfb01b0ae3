//! The admin API: tenants and paging.

use reqwest::header::LOCATION;
use serde_json::{json, Value};

use crate::helpers::spawn_app;

#[tokio::test]
async fn create_get_and_delete_a_tenant() {
    let app = spawn_app().await;
    let res = app
        .admin_post(
            "/admin/v1/tenants",
            &json!({"slug": "acme", "name": "Acme Corp"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    assert_eq!(
        res.headers().get(LOCATION).and_then(|v| v.to_str().ok()),
        Some("/admin/v1/tenants/acme")
    );
    let created: Value = res.json().await.unwrap();
    assert_eq!(created["slug"], "acme");
    assert_eq!(created["name"], "Acme Corp");
    assert_eq!(created["source"], "scim");
    assert_eq!(created["on_source_delete"], "retain");
    assert_eq!(
        created["rate_limit"],
        json!({"per_second": 100, "burst": 200})
    );

    let got: Value = app.admin_json("/admin/v1/tenants/acme").await;
    assert_eq!(got, created);

    assert_eq!(
        app.admin_delete("/admin/v1/tenants/acme").await.status(),
        204
    );
    assert_eq!(app.admin_get("/admin/v1/tenants/acme").await.status(), 404);
    assert_eq!(
        app.admin_delete("/admin/v1/tenants/acme").await.status(),
        404
    );
}

#[tokio::test]
async fn duplicate_and_invalid_tenants_are_refused() {
    let app = spawn_app().await;
    assert_eq!(
        app.admin_post("/admin/v1/tenants", &json!({"slug": "acme"}))
            .await
            .status(),
        201
    );
    let dup = app
        .admin_post("/admin/v1/tenants", &json!({"slug": "acme"}))
        .await;
    assert_eq!(dup.status(), 409);
    let body: Value = dup.json().await.unwrap();
    assert_eq!(body["error"], "conflict");
    for bad in [
        json!({"slug": "Acme"}),
        json!({"slug": ""}),
        json!({"slug": "-x"}),
        json!({"slug": "a".repeat(64)}),
        json!({"slug": 7}),
        json!({"name": "no slug"}),
        json!({"slug": "ok", "extra": 1}),
        json!({"slug": "ok", "name": "n".repeat(201)}),
        json!({"slug": "ok", "name": "nul\u{0}"}),
    ] {
        let res = app.admin_post("/admin/v1/tenants", &bad).await;
        assert_eq!(res.status(), 400, "{bad}");
        let body: Value = res.json().await.unwrap();
        assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()));
    }
    let res = app
        .client
        .post(app.url("/admin/v1/tenants"))
        .header("authorization", format!("Bearer {}", app.admin_key))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "invalid_syntax");
    // Nothing but the first tenant was made.
    let list: Value = app.admin_json("/admin/v1/tenants").await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn tenant_list_pages_by_cursor() {
    let app = spawn_app().await;
    for slug in ["e", "b", "d", "a", "c"] {
        assert_eq!(
            app.admin_post("/admin/v1/tenants", &json!({"slug": slug}))
                .await
                .status(),
            201
        );
    }
    let mut seen = Vec::new();
    let mut path = "/admin/v1/tenants?limit=2".to_owned();
    for _ in 0..10 {
        let page: Value = app.admin_json(&path).await;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(items.iter().map(|t| t["slug"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/admin/v1/tenants?limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, ["a", "b", "c", "d", "e"]);
    assert_eq!(
        app.admin_get("/admin/v1/tenants?limit=0").await.status(),
        400
    );
    assert_eq!(
        app.admin_get("/admin/v1/tenants?cursor=%%%").await.status(),
        400
    );
}

#[tokio::test]
async fn token_list_pages_by_cursor() {
    let app = spawn_app().await;
    app.tenant_with_token("acme").await;
    for _ in 0..4 {
        app.issue_token("acme", &json!({})).await;
    }
    let mut seen = std::collections::HashSet::new();
    let mut path = "/admin/v1/tenants/acme/tokens?limit=2".to_owned();
    loop {
        let page: Value = app.admin_json(&path).await;
        for t in page["items"].as_array().unwrap() {
            assert!(seen.insert(t["key_id"].as_str().unwrap().to_owned()));
        }
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/admin/v1/tenants/acme/tokens?limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 5);
    assert_eq!(
        app.admin_get("/admin/v1/tenants/nope/tokens")
            .await
            .status(),
        404
    );
}

#[tokio::test]
async fn openapi_document_describes_the_admin_api() {
    let app = spawn_app().await;
    let res = app.anonymous_get("/admin/v1/openapi.json").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/json");
    let doc: Value = res.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    assert_eq!(doc["servers"], json!([{"url": "/admin/v1"}]));
    for (path, methods) in [
        ("/tenants", &["get", "post"][..]),
        ("/tenants/{slug}", &["get", "patch", "delete"]),
        ("/tenants/{slug}/tokens", &["get", "post"]),
        ("/tenants/{slug}/tokens/{key_id}", &["delete"]),
        ("/tenants/{slug}/disconnect", &["post"]),
        ("/tenants/{slug}/people", &["get", "post"]),
        ("/tenants/{slug}/people/counts", &["get"]),
        ("/tenants/{slug}/people/deactivate", &["post"]),
        ("/tenants/{slug}/people/reactivate", &["post"]),
        ("/tenants/{slug}/people/import", &["post"]),
        ("/tenants/{slug}/people/{id}", &["get", "delete"]),
        ("/tenants/{slug}/people/{id}/restore", &["post"]),
        ("/tenants/{slug}/people/{id}/history", &["get"]),
        ("/tenants/{slug}/groups/{id}/exclude", &["post"]),
        ("/tenants/{slug}/groups/{id}/include", &["post"]),
        ("/tenants/{slug}/events", &["get"]),
    ] {
        for method in methods {
            assert!(
                doc["paths"][path].get(*method).is_some(),
                "{method} {path} undocumented"
            );
        }
    }
    // Errors are problems, described once and referenced.
    let problem = &doc["components"]["schemas"]["Problem"];
    for field in ["type", "title", "status", "detail", "error"] {
        assert!(problem["properties"].get(field).is_some(), "{field}");
    }
    let not_found = &doc["components"]["responses"]["NotFound"];
    assert_eq!(
        not_found["content"]["application/problem+json"]["schema"]["$ref"],
        "#/components/schemas/Problem"
    );
    assert_eq!(
        doc["paths"]["/tenants/{slug}"]["get"]["responses"]["404"]["$ref"],
        "#/components/responses/NotFound"
    );
    // The pages take the same cursor and limit.
    for (path, method) in [
        ("/tenants", "get"),
        ("/tenants/{slug}/tokens", "get"),
        ("/tenants/{slug}/people", "get"),
        ("/tenants/{slug}/people/{id}/history", "get"),
    ] {
        let params = doc["paths"][path][method]["parameters"].as_array().unwrap();
        let find = |name: &str| {
            params
                .iter()
                .find(|p| p["name"] == name && p["in"] == "query")
                .unwrap_or_else(|| panic!("{method} {path} has no {name}"))
        };
        assert_eq!(find("cursor")["schema"]["type"], "string");
        assert_eq!(find("limit")["schema"]["maximum"], 500, "{path}");
    }
    // Every $ref resolves to a schema the document defines.
    let text = doc.to_string();
    let refs: Vec<&str> = text.split("\"$ref\":\"#/components/").skip(1).collect();
    assert!(refs.len() > 20, "{} $refs", refs.len());
    for piece in refs {
        let target = piece.split('"').next().unwrap();
        let mut node = &doc["components"];
        for part in target.split('/') {
            node = &node[part];
        }
        assert!(!node.is_null(), "dangling $ref {target}");
    }
}
