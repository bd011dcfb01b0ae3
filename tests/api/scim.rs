//! SCIM protocol behaviour beyond the IdP replays: errors, versions, listing, discovery, Okta.

use reqwest::header::ETAG;
use serde_json::{json, Value};

use crate::helpers::{patch_op, spawn_app_with_tenant, urlencode, user_body, TestApp};

#[tokio::test]
async fn errors_carry_the_right_status_and_scim_type_and_change_nothing() {
    let (app, token) = spawn_app_with_tenant("acme").await;
    let user = app.create_user(&token, &user_body("ann@acme.com")).await;
    let id = user["id"].as_str().unwrap();
    let path = format!("/Users/{id}");

    // Malformed JSON and wrong types: invalidSyntax.
    let res = app
        .client
        .post(app.url("/scim/v2/Users"))
        .bearer_auth(&token)
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(app.json(res).await["scimType"], "invalidSyntax");
    let res = app
        .scim_post(&token, "/Users", &json!({"userName": 42}))
        .await;
    assert_eq!(res.status(), 400);
    assert_eq!(app.json(res).await["scimType"], "invalidSyntax");
    // Missing userName: invalidValue.
    let res = app
        .scim_post(&token, "/Users", &json!({"name": {"givenName": "x"}}))
        .await;
    assert_eq!(res.status(), 400);
    // Duplicate userName, case-insensitively: 409 uniqueness.
    let res = app
        .scim_post(&token, "/Users", &user_body("ANN@acme.com"))
        .await;
    assert_eq!(res.status(), 409, "{:?}", res.text().await);
    assert_eq!(app.json(res).await["scimType"], "uniqueness");
    // Bad PATCH path, unknown attribute, no target, changing id.
    for (ops, scim_type) in [
        (
            json!([{"op": "replace", "path": "emails[type eq", "value": "x"}]),
            "invalidPath",
        ),
        (
            json!([{"op": "replace", "path": "nosuch", "value": "x"}]),
            "invalidPath",
        ),
        (json!([{"op": "remove"}]), "noTarget"),
        (
            json!([{"op": "replace", "path": "id", "value": "x"}]),
            "mutability",
        ),
        (
            json!([{"op": "replace", "path": "title", "value": "ok"}, {"op": "frobnicate", "path": "title"}]),
            "invalidSyntax",
        ),
    ] {
        let res = app.scim_patch(&token, &path, &patch_op(ops.clone())).await;
        assert_eq!(res.status(), 400, "{ops}");
        assert_eq!(app.json(res).await["scimType"], scim_type, "{ops}");
    }
    // A failed PATCH applied nothing (the first op of the last one was valid).
    let after = app.json(app.scim_get(&token, &path).await).await;
    assert_eq!(after["meta"]["version"], user["meta"]["version"]);
    assert!(after.get("title").is_none());
    // Unknown and non-UUID ids: 404.
    assert_eq!(
        app.scim_get(&token, &format!("/Users/{}", uuid::Uuid::new_v4()))
            .await
            .status(),
        404
    );
    assert_eq!(
        app.scim_get(&token, "/Users/not-a-uuid").await.status(),
        404
    );
    // A bad filter: invalidFilter naming the attribute.
    let res = app
        .scim_get(&token, "/Users?filter=nosuch%20eq%20%22x%22")
        .await;
    assert_eq!(res.status(), 400);
    let body = app.json(res).await;
    assert_eq!(body["scimType"], "invalidFilter");
    assert!(body["detail"].as_str().unwrap().contains("nosuch"));
    let res = app.scim_get(&token, "/Users?filter=userName%20eq").await;
    assert_eq!(res.status(), 400);
    assert_eq!(app.json(res).await["scimType"], "invalidFilter");
}

#[tokio::test]
async fn if_match_mismatch_is_412_and_if_none_match_is_304() {
    let (app, token) = spawn_app_with_tenant("acme").await;
    let res = app
        .scim_post(&token, "/Users", &user_body("v@acme.com"))
        .await;
    let etag = res
        .headers()
        .get(ETAG)
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let id = app.json(res).await["id"].as_str().unwrap().to_owned();
    let url = app.url(&format!("/scim/v2/Users/{id}"));

    let res = app
        .client
        .get(&url)
        .bearer_auth(&token)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 304);
    let body = patch_op(json!([{"op": "replace", "path": "title", "value": "a"}]));
    let res = app
        .client
        .patch(&url)
        .bearer_auth(&token)
        .header("if-match", "W/\"999\"")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 412);
    let res = app
        .client
        .patch(&url)
        .bearer_auth(&token)
        .header("if-match", &etag)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let new_etag = res
        .headers()
        .get(ETAG)
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert_ne!(new_etag, etag);
    // The old version no longer matches.
    let res = app
        .client
        .delete(&url)
        .bearer_auth(&token)
        .header("if-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 412);
    let res = app
        .client
        .get(&url)
        .bearer_auth(&token)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn listing_pages_are_stable_with_exact_totals_and_cursors() {
    let (app, token) = spawn_app_with_tenant("acme").await;
    app.create_users(&token, (0..7).map(|i| format!("p{i}@acme.com")))
        .await;
    let mut seen = Vec::new();
    for start in [1, 4, 7] {
        let page = app
            .json(
                app.scim_get(&token, &format!("/Users?startIndex={start}&count=3"))
                    .await,
            )
            .await;
        assert_eq!(page["totalResults"], 7);
        assert_eq!(page["startIndex"], start);
        for r in page["Resources"].as_array().unwrap() {
            seen.push(r["userName"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(seen.len(), 7);
    let mut cursor_seen = Vec::new();
    let mut path = "/Users?count=3&cursor=".to_owned();
    for _ in 0..5 {
        let page = app.json(app.scim_get(&token, &path).await).await;
        for r in page["Resources"].as_array().unwrap() {
            cursor_seen.push(r["userName"].as_str().unwrap().to_owned());
        }
        match page["nextCursor"].as_str() {
            Some(c) => path = format!("/Users?count=3&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(cursor_seen, seen);
    let sorted = app
        .json(
            app.scim_get(&token, "/Users?sortBy=userName&sortOrder=descending")
                .await,
        )
        .await;
    let names: Vec<&str> = sorted["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["userName"].as_str().unwrap())
        .collect();
    let mut expected = names.clone();
    expected.sort_by(|a, b| b.cmp(a));
    assert_eq!(names, expected);
    assert_eq!(
        app.scim_get(&token, "/Users?cursor=garbage").await.status(),
        400
    );
    assert_eq!(
        app.scim_get(&token, "/Users?sortOrder=sideways")
            .await
            .status(),
        400
    );
    let search = app
        .scim_post(
            &token,
            "/Users/.search",
            &json!({"filter": "userName sw \"p1\"", "attributes": ["userName"]}),
        )
        .await;
    assert_eq!(search.status(), 200);
    let found = app.json(search).await;
    assert_eq!(found["totalResults"], 1);
    assert!(found["Resources"][0].get("emails").is_none());
    // At the root, Users and Groups together; a filter on displayName finds both kinds.
    app.create_group(&token, &json!({"displayName": "p1 team"}))
        .await;
    let root = app
        .scim_post(
            &token,
            "/.search",
            &json!({"filter": "displayName sw \"p1\"", "count": 10}),
        )
        .await;
    assert_eq!(root.status(), 200);
    let root = app.json(root).await;
    assert_eq!(root["totalResults"], 1);
    assert_eq!(root["Resources"][0]["displayName"], "p1 team");
    let all = app
        .json(
            app.scim_post(&token, "/.search", &json!({"startIndex": 7, "count": 2}))
                .await,
        )
        .await;
    assert_eq!(all["totalResults"], 8);
    let kinds: Vec<&str> = all["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["meta"]["resourceType"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["User", "Group"]);
}

/// Pages after an offset are chosen by id and their rows read after: they must be the
/// same slices of the same order as one page of everything, with the same groups, for
/// every sort, filter and projection, for users and for groups.
#[tokio::test]
async fn offset_pages_are_slices_of_the_whole_list_for_every_sort_filter_and_projection() {
    let (app, token) = spawn_app_with_tenant("acme").await;
    // Display names that tie (in any case), one user without one, and group memberships
    // that differ from user to user.
    let names = ["b", "A", "a", "c", "B", "", "d", "a", "C", "b", "e"];
    let mut ids = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let mut body = user_body(&format!("o{i:02}@acme.com"));
        body["externalId"] = json!(if i % 2 == 0 { "even" } else { "odd" });
        if !name.is_empty() {
            body["displayName"] = json!(name);
        }
        ids.push(
            app.create_user(&token, &body).await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    for (g, name) in ["Zeta", "alpha", "Alpha", "beta"].iter().enumerate() {
        let members: Vec<Value> = ids
            .iter()
            .enumerate()
            .filter(|(i, _)| i % (g + 2) == 0)
            .map(|(_, id)| json!({"value": id}))
            .collect();
        app.create_group(&token, &json!({"displayName": name, "members": members}))
            .await;
    }
    let listing = |path: String| {
        let app = &app;
        let token = &token;
        async move {
            let res = app.scim_get(token, &path).await;
            assert_eq!(res.status(), 200, "{path}");
            app.json(res).await
        }
    };
    for (resource, query) in [
        ("Users", ""),
        ("Users", "&sortBy=displayName"),
        ("Users", "&sortBy=displayName&sortOrder=descending"),
        ("Users", "&sortBy=userName&sortOrder=descending"),
        (
            "Users",
            "&filter=userName%20sw%20%22o0%22&sortBy=displayName",
        ),
        // A lookup the server keeps a statement for, with the groups in the same statement.
        ("Users", "&filter=externalId%20eq%20%22even%22"),
        ("Users", "&excludedAttributes=groups&sortBy=displayName"),
        ("Users", "&attributes=userName,groups"),
        ("Groups", ""),
        ("Groups", "&sortBy=displayName&sortOrder=descending"),
        ("Groups", "&excludedAttributes=members&sortBy=displayName"),
    ] {
        let whole = listing(format!("/{resource}?count=100{query}")).await;
        let whole = whole["Resources"].as_array().unwrap().clone();
        let total = whole.len();
        assert!(total >= 4, "{resource}{query}: {total}");
        for size in [1, 2, 3] {
            let mut paged = Vec::new();
            let mut start = 1;
            while start <= total {
                let page = listing(format!(
                    "/{resource}?startIndex={start}&count={size}{query}"
                ))
                .await;
                assert_eq!(page["totalResults"], total, "{resource}{query}");
                assert_eq!(page["startIndex"], start, "{resource}{query}");
                paged.extend(page["Resources"].as_array().unwrap().iter().cloned());
                start += size;
            }
            assert_eq!(paged, whole, "{resource}{query}, pages of {size}");
        }
        let past = listing(format!("/{resource}?startIndex={}{query}", total + 1)).await;
        assert_eq!(past["Resources"].as_array().map_or(0, Vec::len), 0);
        assert_eq!(past["totalResults"], total);
    }
}

#[tokio::test]
async fn discovery_endpoints_describe_the_server_and_refuse_other_methods() {
    let (app, token) = spawn_app_with_tenant("acme").await;
    let spc = app
        .json(app.scim_get(&token, "/ServiceProviderConfig").await)
        .await;
    assert_eq!(spc["patch"]["supported"], true);
    assert_eq!(spc["filter"]["supported"], true);
    assert_eq!(spc["pagination"]["cursor"], true);
    let types = app.json(app.scim_get(&token, "/ResourceTypes").await).await;
    assert_eq!(types["Resources"][0]["endpoint"], "/Users");
    let schemas = app.scim_get(&token, "/Schemas").await.text().await.unwrap();
    assert!(schemas.contains("User Account"));
    let user_schema = app
        .scim_get(
            &token,
            "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User",
        )
        .await;
    assert_eq!(user_schema.status(), 200);
    assert_eq!(
        app.scim_get(&token, &format!("/Schemas/{}", uuid::Uuid::new_v4()))
            .await
            .status(),
        404
    );
    for path in ["/ServiceProviderConfig", "/ResourceTypes", "/Schemas"] {
        let res = app.scim_post(&token, path, &json!({})).await;
        assert_eq!(res.status(), 405, "{path}");
    }
}

#[tokio::test]
async fn collections_answer_with_and_without_a_trailing_slash() {
    let (app, token) = spawn_app_with_tenant("acme").await;
    let res = app
        .scim_post(&token, "/Users/", &user_body("slash@example.com"))
        .await;
    assert_eq!(res.status(), 201);
    let group =
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Slash"});
    assert_eq!(
        app.scim_post(&token, "/Groups/", &group).await.status(),
        201
    );
    for path in ["/Users", "/Users/", "/Groups", "/Groups/"] {
        let list = app.json(app.scim_get(&token, path).await).await;
        assert_eq!(list["totalResults"], 1, "{path}");
        let res = app
            .scim_send(reqwest::Method::DELETE, &token, path, None)
            .await;
        assert_eq!(res.status(), 405, "{path}");
    }
    let metrics = app.metrics().await;
    assert!(
        metrics.contains(
            r#"scimd_http_requests_total{method="GET",route="/scim/v2/Users",status="200"} 2"#
        ),
        "{metrics}"
    );
}

#[tokio::test]
async fn okta_cycle_create_with_password_put_update_and_pathless_deactivation() {
    let (app, token) = spawn_app_with_tenant("acme").await;
    let res = app
        .scim_get(
            &token,
            "/Users?filter=userName%20eq%20%22okta@acme.com%22&startIndex=1&count=100",
        )
        .await;
    assert_eq!(app.json(res).await["totalResults"], 0);
    let created = app
        .create_user(
            &token,
            &json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": "okta@acme.com",
                "name": {"givenName": "Okta", "familyName": "User"},
                "emails": [{"primary": true, "value": "okta@acme.com", "type": "work"}],
                "displayName": "Okta User",
                "locale": "en-US",
                "externalId": "00u1",
                "groups": [],
                "password": "1mP@ssw0rd",
                "active": true
            }),
        )
        .await;
    let text = created.to_string();
    assert!(!text.contains("1mP@ssw0rd") && created.get("password").is_none());
    let id = created["id"].as_str().unwrap();
    // GET then full PUT.
    let mut full: Value = app
        .json(app.scim_get(&token, &format!("/Users/{id}")).await)
        .await;
    full["name"]["familyName"] = json!("Renamed");
    let res = app.scim_put(&token, &format!("/Users/{id}"), &full).await;
    assert_eq!(res.status(), 200);
    assert_eq!(app.json(res).await["name"]["familyName"], "Renamed");
    // Deactivation and reactivation as a path-less replace.
    for active in [false, true] {
        let user = app
            .patch_ok(
                &token,
                &format!("/Users/{id}"),
                json!([{"op": "replace", "value": {"active": active}}]),
            )
            .await;
        assert_eq!(user["active"], active);
    }
    // Group push and rename with id in the value.
    let group = app.create_group(&token, &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Okta Group", "members": []})).await;
    let gid = group["id"].as_str().unwrap();
    let res = app
        .scim_patch(
            &token,
            &format!("/Groups/{gid}"),
            &patch_op(
                json!([{"op": "replace", "value": {"id": gid, "displayName": "Renamed Group"}}]),
            ),
        )
        .await;
    // A group PATCH answers 204 (Okta reads the group back when it needs it).
    assert_eq!(res.status(), 204);
    let g = app
        .json(app.scim_get(&token, &format!("/Groups/{gid}")).await)
        .await;
    assert_eq!(g["displayName"], "Renamed Group");
    let res = app
        .scim_patch(
            &token,
            &format!("/Groups/{gid}"),
            &patch_op(json!([
                {"op": "remove", "path": format!("members[value eq \"{}\"]", uuid::Uuid::new_v4())},
                {"op": "add", "path": "members", "value": [{"value": id, "display": "okta@acme.com"}]}
            ])),
        )
        .await;
    assert_eq!(res.status(), 204);
    let g = app
        .json(app.scim_get(&token, &format!("/Groups/{gid}")).await)
        .await;
    assert_eq!(g["members"][0]["value"], id);
    let u = app
        .json(app.scim_get(&token, &format!("/Users/{id}")).await)
        .await;
    assert_eq!(u["groups"][0]["value"], gid);
}

fn bulk(ops: Value) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": ops})
}

#[tokio::test]
async fn bulk_resolves_bulk_ids_and_reports_each_operation() {
    let (app, token) = spawn_app_with_tenant("acme").await;
    let res = app
        .scim_post(
            &token,
            "/Bulk",
            &bulk(json!([
                {"method": "POST", "path": "/Users", "bulkId": "u1", "data": user_body("bulk1@acme.com")},
                {"method": "POST", "path": "/Groups", "bulkId": "g1",
                 "data": {"displayName": "Bulk group", "members": [{"value": "bulkId:u1"}]}},
                {"method": "PATCH", "path": "/Users/bulkId:u1",
                 "data": patch_op(json!([{"op": "replace", "path": "title", "value": "Bulk"}]))},
                {"method": "POST", "path": "/Groups", "bulkId": "g2",
                 "data": {"displayName": "Dangling", "members": [{"value": "bulkId:nope"}]}},
                {"method": "DELETE", "path": format!("/Users/{}", uuid::Uuid::new_v4())},
            ])),
        )
        .await;
    assert_eq!(res.status(), 200);
    let body = app.json(res).await;
    let statuses: Vec<&str> = body["Operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["201", "201", "200", "400", "404"]);
    assert_eq!(
        body["Operations"][3]["response"]["scimType"],
        "invalidValue"
    );
    let user_location = body["Operations"][0]["location"].as_str().unwrap();
    let user_id = user_location.rsplit('/').next().unwrap();
    let group_location = body["Operations"][1]["location"].as_str().unwrap();
    let group_id = group_location.rsplit('/').next().unwrap();
    let group = app
        .json(app.scim_get(&token, &format!("/Groups/{group_id}")).await)
        .await;
    assert_eq!(group["members"][0]["value"], user_id);
    let user = app
        .json(app.scim_get(&token, &format!("/Users/{user_id}")).await)
        .await;
    assert_eq!(user["title"], "Bulk");
}

#[tokio::test]
async fn bulk_stops_after_fail_on_errors_and_enforces_its_limits() {
    let app = crate::helpers::spawn_app_with(|s| {
        s.bulk_max_operations = 3;
        s.bulk_max_payload = 2048;
    })
    .await;
    let token = app.tenant_with_token("acme").await;
    let mut request = bulk(json!([
        {"method": "POST", "path": "/Users", "bulkId": "a", "data": {"userName": 1}},
        {"method": "POST", "path": "/Users", "bulkId": "b", "data": user_body("b@acme.com")},
    ]));
    request["failOnErrors"] = json!(1);
    let body = app
        .json(app.scim_post(&token, "/Bulk", &request).await)
        .await;
    assert_eq!(body["Operations"].as_array().unwrap().len(), 1);
    assert_eq!(body["Operations"][0]["status"], "400");
    assert_eq!(
        app.json(app.scim_get(&token, "/Users").await).await["totalResults"],
        0
    );

    let four: Vec<Value> = (0..4)
        .map(|i| json!({"method": "DELETE", "path": format!("/Users/{}", uuid::Uuid::new_v4()), "bulkId": i.to_string()}))
        .collect();
    let res = app
        .scim_post(&token, "/Bulk", &bulk(Value::Array(four)))
        .await;
    assert_eq!(res.status(), 413);
    let big = bulk(
        json!([{"method": "POST", "path": "/Users", "bulkId": "x", "data": {"userName": "x".repeat(4000)}}]),
    );
    assert_eq!(app.scim_post(&token, "/Bulk", &big).await.status(), 413);
    let spc = app
        .json(app.scim_get(&token, "/ServiceProviderConfig").await)
        .await;
    assert_eq!(
        spc["bulk"],
        json!({"supported": true, "maxOperations": 3, "maxPayloadSize": 2048})
    );
}

#[tokio::test]
async fn hostile_strings_are_refused_with_400_and_change_nothing() {
    let (app, token) = spawn_app_with_tenant("acme").await;
    for body in [
        json!({"userName": "nul\u{0}byte@acme.com"}),
        json!({"userName": format!("{}@acme.com", "a".repeat(5000))}),
        json!({"userName": "ok@acme.com", "externalId": "x".repeat(5000)}),
        json!({"userName": "ok2@acme.com", "displayName": "d".repeat(5000)}),
        json!({"userName": "ok3@acme.com", "title": "t\u{0}"}),
        json!({"userName": "ok4@acme.com", "emails": [{"value": format!("{}@x.com", "e".repeat(5000)), "primary": true}]}),
    ] {
        let res = app.scim_post(&token, "/Users", &body).await;
        assert_eq!(
            res.status(),
            400,
            "{}",
            &body.to_string()[..80.min(body.to_string().len())]
        );
        assert_eq!(app.json(res).await["scimType"], "invalidValue");
    }
    assert_eq!(
        app.json(app.scim_get(&token, "/Users").await).await["totalResults"],
        0
    );
    let res = app
        .scim_get(&token, "/Users?filter=userName%20eq%20%22a%5Cu0000b%22")
        .await;
    assert_eq!(res.status(), 400);
    assert_eq!(app.json(res).await["scimType"], "invalidFilter");
    let res = app
        .scim_post(&token, "/Groups", &json!({"displayName": "g".repeat(5000)}))
        .await;
    assert_eq!(res.status(), 400);
}

/// The ids an `emails.value eq` filter finds, by way of the HTTP API.
async fn by_email(app: &TestApp, token: &str, email: &str) -> Vec<String> {
    let filter = format!(r#"emails.value eq "{email}""#);
    let res = app
        .scim_get(token, &format!("/Users?filter={}", urlencode(&filter)))
        .await;
    assert_eq!(res.status(), 200, "{filter}");
    let body = app.json(res).await;
    body["Resources"]
        .as_array()
        .expect("Resources")
        .iter()
        .map(|r| r["id"].as_str().expect("id").to_owned())
        .collect()
}

#[tokio::test]
async fn emails_value_lookups_follow_every_write_of_a_user() {
    let (app, token) = spawn_app_with_tenant("mail").await;
    let mut body = user_body("ann@mail.example");
    body["emails"] = json!([
        {"value": "Ann.Smith@Mail.Example", "type": "work", "primary": true},
        {"value": "ÉLODIE@home.example", "type": "home"},
    ]);
    let id = app.create_user(&token, &body).await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let other = app
        .create_user(&token, &user_body("bob@mail.example"))
        .await;
    assert_ne!(other["id"], json!(id));

    // Every value, in any case, non-ASCII letters included.
    assert_eq!(
        by_email(&app, &token, "ann.smith@mail.example").await,
        [id.as_str()]
    );
    assert_eq!(
        by_email(&app, &token, "élodie@HOME.example").await,
        [id.as_str()]
    );
    assert!(by_email(&app, &token, "nobody@mail.example")
        .await
        .is_empty());

    // PATCH: a value-filtered replace, then an add.
    let res = app
        .scim_patch(
            &token,
            &format!("/Users/{id}"),
            &patch_op(json!([
                {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "ann@new.example"},
                {"op": "add", "path": "emails", "value": [{"value": "Third@Mail.Example", "type": "other"}]},
            ])),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert!(by_email(&app, &token, "ann.smith@mail.example")
        .await
        .is_empty());
    assert_eq!(
        by_email(&app, &token, "ANN@new.example").await,
        [id.as_str()]
    );
    assert_eq!(
        by_email(&app, &token, "third@mail.example").await,
        [id.as_str()]
    );
    assert_eq!(
        by_email(&app, &token, "élodie@home.example").await,
        [id.as_str()]
    );

    // PUT replaces them all; removing every email leaves none to find.
    let mut put = user_body("ann@mail.example");
    put["emails"] = json!([{"value": "only@put.example", "type": "work"}]);
    let res = app.scim_put(&token, &format!("/Users/{id}"), &put).await;
    assert_eq!(res.status(), 200);
    assert!(by_email(&app, &token, "third@mail.example")
        .await
        .is_empty());
    assert!(by_email(&app, &token, "élodie@home.example")
        .await
        .is_empty());
    assert_eq!(
        by_email(&app, &token, "Only@Put.Example").await,
        [id.as_str()]
    );
    app.patch_ok(
        &token,
        &format!("/Users/{id}"),
        json!([{"op": "remove", "path": "emails"}]),
    )
    .await;
    assert!(by_email(&app, &token, "only@put.example").await.is_empty());
    assert_eq!(
        by_email(&app, &token, "bob@mail.example").await,
        [other["id"].as_str().expect("id").to_owned()]
    );
}

#[tokio::test]
async fn a_users_groups_come_in_display_name_order_then_id_on_every_read() {
    let (app, token) = spawn_app_with_tenant("order").await;
    let user = app
        .create_user(&token, &user_body("ord@order.example"))
        .await;
    let id = user["id"].as_str().expect("id").to_owned();
    // Code point order puts upper case first; two groups share a name.
    let mut groups = Vec::new();
    for name in ["beta", "alpha", "Alpha", "Alpha", "Zeta"] {
        let g = app
            .create_group(
                &token,
                &json!({"displayName": name, "members": [{"value": id}]}),
            )
            .await;
        groups.push((name, g["id"].as_str().expect("id").to_owned()));
    }
    let mut want = groups.clone();
    want.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    let want: Vec<(String, String)> = want.into_iter().map(|(n, g)| (n.to_owned(), g)).collect();
    assert_eq!(want[0].0, "Alpha");
    assert_eq!(want[4].0, "beta");
    let order = |u: &Value| -> Vec<(String, String)> {
        u["groups"]
            .as_array()
            .expect("groups")
            .iter()
            .map(|g| {
                (
                    g["display"].as_str().expect("display").to_owned(),
                    g["value"].as_str().expect("value").to_owned(),
                )
            })
            .collect()
    };

    let by_id = app
        .json(app.scim_get(&token, &format!("/Users/{id}")).await)
        .await;
    assert_eq!(order(&by_id), want, "GET by id");
    let filter = urlencode(r#"userName eq "ord@order.example""#);
    let lookup = app
        .json(
            app.scim_get(&token, &format!("/Users?filter={filter}"))
                .await,
        )
        .await;
    assert_eq!(order(&lookup["Resources"][0]), want, "lookup");
    let page = app
        .json(app.scim_get(&token, "/Users?startIndex=1&count=10").await)
        .await;
    assert_eq!(order(&page["Resources"][0]), want, "list page");
    let patched = app
        .patch_ok(
            &token,
            &format!("/Users/{id}"),
            json!([{"op": "replace", "path": "displayName", "value": "Ord"}]),
        )
        .await;
    assert_eq!(order(&patched), want, "PATCH response");
}
