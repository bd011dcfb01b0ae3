//! Microsoft Entra ID provisioning, as it really sends (the default wire format and the one
//! the `aadOptscim062020` flag selects). One test per behaviour.

use reqwest::header::{CONTENT_TYPE, ETAG, LOCATION};
use serde_json::{json, Value};

use crate::helpers::{
    self, patch_op, spawn_app, spawn_app_with_tenant, urlencode, user_body, TestApp,
};

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn entra_user(user_name: &str, external_id: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
        "externalId": external_id,
        "userName": user_name,
        "active": true,
        "displayName": "Ryan Leenay",
        "emails": [{"primary": true, "type": "work", "value": user_name}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "Ryan Leenay", "familyName": "Leenay", "givenName": "Ryan"},
        "roles": [],
        ENTERPRISE: {"department": "Sales", "employeeNumber": "701984"}
    })
}

#[tokio::test]
async fn test_connection_filter_on_random_guid_returns_empty_list_not_404() {
    let (app, token) = spawn_app_with_tenant("contoso").await;
    let res = app
        .scim_get(
            &token,
            &format!("/Users?filter=userName eq \"{}\"", uuid::Uuid::new_v4()),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers().get(CONTENT_TYPE).unwrap(),
        "application/scim+json"
    );
    let body = app.json(res).await;
    assert_eq!(
        body,
        json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
            "totalResults": 0, "itemsPerPage": 0, "startIndex": 1, "Resources": []
        })
    );
}

#[tokio::test]
async fn create_answers_201_with_location_etag_and_meta() {
    let (app, token) = spawn_app_with_tenant("contoso").await;
    let res = app
        .scim_post(&token, "/Users", &entra_user("ryan@contoso.com", "ryan"))
        .await;
    assert_eq!(res.status(), 201);
    let location = res
        .headers()
        .get(LOCATION)
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let etag = res
        .headers()
        .get(ETAG)
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let user = app.json(res).await;
    let id = user["id"].as_str().unwrap();
    assert_eq!(location, app.url(&format!("/scim/v2/Users/{id}")));
    assert_eq!(user["meta"]["location"], location);
    assert_eq!(user["meta"]["resourceType"], "User");
    assert_eq!(user["meta"]["version"], etag);
    assert!(user["meta"]["created"].is_string() && user["meta"]["lastModified"].is_string());
    assert_eq!(user[ENTERPRISE]["employeeNumber"], "701984");
    // Ignored input: client meta, roles: [].
    assert!(user.get("roles").is_none());
}

#[tokio::test]
async fn matching_by_username_or_external_id_finds_the_user() {
    let (app, token) = spawn_app_with_tenant("contoso").await;
    let user = app
        .create_user(&token, &entra_user("Ryan@Contoso.com", "ext-ryan"))
        .await;
    for filter in [
        "userName eq \"ryan@contoso.com\"",
        "userName eq \"RYAN@CONTOSO.COM\"",
        "externalId eq \"ext-ryan\"",
    ] {
        let body = app
            .json(
                app.scim_get(&token, &format!("/Users?filter={}", urlencode(filter)))
                    .await,
            )
            .await;
        assert_eq!(body["totalResults"], 1, "{filter}");
        assert_eq!(body["Resources"][0]["id"], user["id"], "{filter}");
    }
    // externalId is caseExact.
    let body = app
        .json(
            app.scim_get(&token, "/Users?filter=externalId%20eq%20%22EXT-RYAN%22")
                .await,
        )
        .await;
    assert_eq!(body["totalResults"], 0);
}

#[tokio::test]
async fn patch_ops_with_capitalised_names_are_accepted() {
    let (app, token) = spawn_app_with_tenant("contoso").await;
    let id = app
        .create_user(&token, &entra_user("a@contoso.com", "a"))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = app
        .scim_patch(
            &token,
            &format!("/Users/{id}"),
            &patch_op(json!([
                {"op": "Replace", "path": "displayName", "value": "New Name"},
                {"op": "Add", "path": "title", "value": "Engineer"},
                {"op": "Remove", "path": "name.formatted"}
            ])),
        )
        .await;
    assert_eq!(res.status(), 200);
    let user = app.json(res).await;
    assert_eq!(user["displayName"], "New Name");
    assert_eq!(user["title"], "Engineer");
    assert!(user["name"].get("formatted").is_none());
}

#[tokio::test]
async fn booleans_as_strings_are_accepted_for_active() {
    let (app, token) = spawn_app_with_tenant("contoso").await;
    let id = app
        .create_user(&token, &entra_user("b@contoso.com", "b"))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for (sent, expected) in [
        (json!("False"), false),
        (json!("True"), true),
        (json!(false), false),
    ] {
        let user = app
            .patch_ok(
                &token,
                &format!("/Users/{id}"),
                json!([{"op": "Replace", "path": "active", "value": sent}]),
            )
            .await;
        assert_eq!(user["active"], expected);
    }
}

#[tokio::test]
async fn pathless_replace_accepts_dotted_and_urn_prefixed_keys() {
    let (app, token) = spawn_app_with_tenant("contoso").await;
    let id = app
        .create_user(&token, &entra_user("c@contoso.com", "c"))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = app
        .scim_patch(
            &token,
            &format!("/Users/{id}"),
            &patch_op(json!([{"op": "replace", "value": {
                "name.givenName": "Robin",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "42",
                "active": false
            }}])),
        )
        .await;
    assert_eq!(res.status(), 200);
    let user = app.json(res).await;
    assert_eq!(user["name"]["givenName"], "Robin");
    assert_eq!(user["name"]["familyName"], "Leenay");
    assert_eq!(user[ENTERPRISE]["employeeNumber"], "42");
    assert_eq!(user["active"], false);
}

#[tokio::test]
async fn value_filtered_path_creates_the_element_when_missing() {
    let (app, token) = spawn_app_with_tenant("contoso").await;
    let mut body = user_body("d@contoso.com");
    body.as_object_mut().unwrap().remove("emails");
    let id = app.create_user(&token, &body).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let user = app
        .patch_ok(
            &token,
            &format!("/Users/{id}"),
            json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "d.work@contoso.com"}]),
        )
        .await;
    assert_eq!(
        user["emails"],
        json!([{"type": "work", "value": "d.work@contoso.com"}])
    );
}

#[tokio::test]
async fn manager_is_accepted_as_string_object_or_array_and_cleared_by_empty() {
    let (app, token) = spawn_app_with_tenant("contoso").await;
    let id = app
        .create_user(&token, &entra_user("e@contoso.com", "e"))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/Users/{id}");
    for sent in [
        json!("boss-1"),
        json!({"value": "boss-1"}),
        json!([{"value": "boss-1"}]),
    ] {
        let res = app
            .scim_patch(
                &token,
                &path,
                &patch_op(
                    json!([{"op": "Add", "path": format!("{ENTERPRISE}:manager"), "value": sent}]),
                ),
            )
            .await;
        assert_eq!(res.status(), 200, "{sent}");
        assert_eq!(
            app.json(res).await[ENTERPRISE]["manager"],
            json!({"value": "boss-1"}),
            "{sent}"
        );
    }
    for clear in [json!(""), Value::Null] {
        app.scim_patch(
            &token,
            &path,
            &patch_op(
                json!([{"op": "Add", "path": format!("{ENTERPRISE}:manager"), "value": "x"}]),
            ),
        )
        .await;
        let res = app
            .scim_patch(&token, &path, &patch_op(json!([{"op": "Replace", "path": format!("{ENTERPRISE}:manager"), "value": clear}])))
            .await;
        assert_eq!(res.status(), 200);
        assert!(app.json(res).await[ENTERPRISE].get("manager").is_none());
    }
}

#[tokio::test]
async fn empty_operations_list_is_a_no_op() {
    let (app, token) = spawn_app_with_tenant("contoso").await;
    let user = app
        .create_user(&token, &entra_user("f@contoso.com", "f"))
        .await;
    let after = app
        .patch_ok(
            &token,
            &format!("/Users/{}", user["id"].as_str().unwrap()),
            json!([]),
        )
        .await;
    assert_eq!(after["meta"]["version"], user["meta"]["version"]);
}

#[tokio::test]
async fn patch_answers_204_when_the_client_asks_for_no_body() {
    let (app, token) = spawn_app_with_tenant("contoso").await;
    let id = app
        .create_user(&token, &entra_user("g@contoso.com", "g"))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = app
        .client
        .patch(app.url(&format!("/scim/v2/Users/{id}")))
        .bearer_auth(&token)
        .header("prefer", "return=minimal")
        .json(&patch_op(
            json!([{"op": "replace", "path": "title", "value": "x"}]),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
}

#[tokio::test]
async fn disabled_users_are_still_returned_by_get_and_filters() {
    let (app, token) = spawn_app_with_tenant("contoso").await;
    let id = app
        .create_user(&token, &entra_user("h@contoso.com", "h"))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.scim_patch(
        &token,
        &format!("/Users/{id}"),
        &patch_op(json!([{"op": "Replace", "path": "active", "value": "False"}])),
    )
    .await;
    let user = app
        .json(app.scim_get(&token, &format!("/Users/{id}")).await)
        .await;
    assert_eq!(user["active"], false);
    let list = app
        .json(
            app.scim_get(&token, "/Users?filter=userName%20eq%20%22h@contoso.com%22")
                .await,
        )
        .await;
    assert_eq!(list["totalResults"], 1);
}

#[tokio::test]
async fn delete_answers_204_then_get_is_404_and_re_create_restores_the_same_id() {
    let (app, token) = spawn_app_with_tenant("contoso").await;
    let id = app
        .create_user(&token, &entra_user("i@contoso.com", "i"))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        app.scim_delete(&token, &format!("/Users/{id}"))
            .await
            .status(),
        204
    );
    assert_eq!(
        app.scim_get(&token, &format!("/Users/{id}")).await.status(),
        404
    );
    assert_eq!(
        app.scim_delete(&token, &format!("/Users/{id}"))
            .await
            .status(),
        404
    );
    let list = app
        .json(
            app.scim_get(&token, "/Users?filter=userName%20eq%20%22i@contoso.com%22")
                .await,
        )
        .await;
    assert_eq!(list["totalResults"], 0);
    // The userName is free, and the IdP creating the person again restores the record.
    let again = app
        .create_user(&token, &entra_user("i@contoso.com", "i"))
        .await;
    assert_eq!(again["id"], id);
}

#[tokio::test]
async fn group_lookup_by_display_name_excluding_members_and_creation_with_adscim_schema() {
    let (app, token) = spawn_app_with_tenant("contoso").await;
    let res = app
        .scim_post(
            &token,
            "/Groups",
            &json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group", "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
                "externalId": "grp-1",
                "displayName": "Sales Team",
                "members": []
            }),
        )
        .await;
    assert_eq!(res.status(), 201);
    let group = app.json(res).await;
    let list = app
        .json(
            app.scim_get(
                &token,
                "/Groups?excludedAttributes=members&filter=displayName%20eq%20%22Sales%20Team%22",
            )
            .await,
        )
        .await;
    assert_eq!(list["totalResults"], 1);
    assert_eq!(list["Resources"][0]["id"], group["id"]);
    assert!(list["Resources"][0].get("members").is_none());
}

async fn users(app: &TestApp, token: &str, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        let u = app
            .create_user(token, &user_body(&format!("m{i}@contoso.com")))
            .await;
        ids.push(u["id"].as_str().unwrap().to_owned());
    }
    ids
}

async fn member_ids(app: &TestApp, token: &str, group: &str) -> Vec<String> {
    let g = app
        .json(app.scim_get(token, &format!("/Groups/{group}")).await)
        .await;
    helpers::member_ids(&g)
}

#[tokio::test]
async fn group_membership_add_with_null_ref_and_remove_by_value_array_removes_only_listed() {
    let (app, token) = spawn_app_with_tenant("contoso").await;
    let ids = users(&app, &token, 4).await;
    let group = app.create_group(&token, &json!({"displayName": "g"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/Groups/{group}");
    let add: Vec<Value> = ids
        .iter()
        .map(|id| json!({"value": id, "$ref": null}))
        .collect();
    let res = app
        .scim_patch(
            &token,
            &path,
            &patch_op(json!([{"op": "Add", "path": "members", "value": add}])),
        )
        .await;
    assert_eq!(res.status(), 204);
    assert_eq!(member_ids(&app, &token, &group).await.len(), 4);

    let res = app
        .scim_patch(&token, &path, &patch_op(json!([{"op": "Remove", "path": "members", "value": [{"value": ids[0]}, {"value": ids[1]}]}])))
        .await;
    assert_eq!(res.status(), 204);
    let mut left = vec![ids[2].clone(), ids[3].clone()];
    left.sort();
    assert_eq!(member_ids(&app, &token, &group).await, left);

    // aadOptscim062020 format: members[value eq "…"].
    let res = app
        .scim_patch(
            &token,
            &path,
            &patch_op(
                json!([{"op": "remove", "path": format!("members[value eq \"{}\"]", ids[2])}]),
            ),
        )
        .await;
    assert!(res.status().is_success());
    assert_eq!(member_ids(&app, &token, &group).await, vec![ids[3].clone()]);

    // Adding an existing member is a no-op.
    let before = app.json(app.scim_get(&token, &path).await).await["meta"]["version"].clone();
    app.scim_patch(
        &token,
        &path,
        &patch_op(json!([{"op": "add", "path": "members", "value": [{"value": ids[3]}]}])),
    )
    .await;
    let after = app.json(app.scim_get(&token, &path).await).await["meta"]["version"].clone();
    assert_eq!(before, after);
    assert_eq!(member_ids(&app, &token, &group).await, vec![ids[3].clone()]);
}

#[tokio::test]
async fn unknown_or_foreign_member_is_400_invalid_value_and_nothing_is_applied() {
    let (app, token) = spawn_app_with_tenant("contoso").await;
    let other = app.tenant_with_token("fabrikam").await;
    let mine = users(&app, &token, 1).await;
    let foreign = app.create_user(&other, &user_body("x@fabrikam.com")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let group = app.create_group(&token, &json!({"displayName": "g"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for bad in [
        uuid::Uuid::new_v4().to_string(),
        foreign.clone(),
        "not-a-uuid".into(),
    ] {
        let res = app
            .scim_patch(
                &token,
                &format!("/Groups/{group}"),
                &patch_op(json!([{"op": "add", "path": "members", "value": [{"value": mine[0]}, {"value": bad}]}])),
            )
            .await;
        assert_eq!(res.status(), 400, "{bad}");
        let body = app.json(res).await;
        assert_eq!(body["scimType"], "invalidValue");
        assert!(
            member_ids(&app, &token, &group).await.is_empty(),
            "{bad} half-applied"
        );
    }
}

#[tokio::test]
async fn concurrent_member_patches_lose_no_member() {
    let (app, token) = spawn_app_with_tenant("contoso").await;
    let ids = users(&app, &token, 24).await;
    let group = app
        .create_group(&token, &json!({"displayName": "busy"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/Groups/{group}");
    let results = futures_util::future::join_all(ids.iter().map(|id| {
        let body = patch_op(json!([{"op": "Add", "path": "members", "value": [{"value": id}]}]));
        let app = &app;
        let token = &token;
        let path = &path;
        async move { app.scim_patch(token, path, &body).await.status() }
    }))
    .await;
    assert!(results.iter().all(|s| s.is_success()), "{results:?}");
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(member_ids(&app, &token, &group).await, expected);
}

#[tokio::test]
async fn another_tenants_token_never_sees_the_user() {
    let app = spawn_app().await;
    let a = app.tenant_with_token("tenant-a").await;
    let b = app.tenant_with_token("tenant-b").await;
    let id = app.create_user(&a, &user_body("only@a.com")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        app.scim_get(&b, &format!("/Users/{id}")).await.status(),
        404
    );
    assert_eq!(
        app.scim_delete(&b, &format!("/Users/{id}")).await.status(),
        404
    );
    let list = app.json(app.scim_get(&b, "/Users").await).await;
    assert_eq!(list["totalResults"], 0);
    // And tenant B may use the same userName.
    app.create_user(&b, &user_body("only@a.com")).await;
}
