//! The people list, participation and the admin's overrides (`/admin/v1/tenants/{slug}/…`),
//! tenant settings, adoption and disconnecting a source.

use reqwest::header::AUTHORIZATION;
use serde_json::{json, Value};

use crate::helpers::{patch_op, spawn_app_with_tenant, user_body, TestApp};

const T: &str = "/admin/v1/tenants/acme";

/// Creates the SCIM group `name` of these people (as SCIM created them).
async fn group_of(app: &TestApp, token: &str, name: &str, people: &[&Value]) -> Value {
    let members: Vec<Value> = people.iter().map(|p| json!({"value": p["id"]})).collect();
    app.create_group(token, &json!({"displayName": name, "members": members}))
        .await
}

async fn body(res: reqwest::Response) -> (u16, Value) {
    let status = res.status().as_u16();
    let text = res.text().await.expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn people(app: &TestApp, query: &str) -> Vec<Value> {
    let (status, page) = body(
        app.admin_get(&format!("{T}/people?limit=500&{query}"))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{page}");
    page["items"].as_array().expect("items").clone()
}

async fn person(app: &TestApp, id: &str) -> Value {
    let (status, p) = body(app.admin_get(&format!("{T}/people/{id}")).await).await;
    assert_eq!(status, 200, "{p}");
    p
}

async fn counts(app: &TestApp) -> Value {
    let (status, c) = body(app.admin_get(&format!("{T}/people/counts")).await).await;
    assert_eq!(status, 200, "{c}");
    c
}

/// Disconnects the tenant's source, keeping its people or not: the answer, a 200.
async fn disconnect(app: &TestApp, keep_people: bool) -> Value {
    let (status, r) = body(
        app.admin_post(
            &format!("{T}/disconnect"),
            &json!({"keep_people": keep_people}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{r}");
    r
}

fn ids(items: &[Value]) -> Vec<String> {
    let mut out: Vec<String> = items
        .iter()
        .map(|p| p["id"].as_str().expect("id").to_owned())
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn tenant_settings_are_read_patched_and_checked() {
    let (app, _) = spawn_app_with_tenant("acme").await;
    let (status, t) = body(app.admin_get(T).await).await;
    assert_eq!(status, 200);
    assert_eq!(t["source"], "scim");
    assert_eq!(t["on_source_delete"], "retain");
    let (status, t) = body(
        app.admin_patch(
            T,
            &json!({"on_source_delete": "remove", "rate_limit": {"per_second": 30}}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{t}");
    assert_eq!(t["on_source_delete"], "remove");
    assert_eq!(t["rate_limit"]["per_second"], 30);
    assert_eq!(t["rate_limit"]["burst"], 1_000_000, "burst left as it was");
    assert_eq!(t["source"], "scim", "source left as it was");
    // Invalid values and unknown keys refuse the whole patch.
    for bad in [
        json!({"source": "ldap"}),
        json!({"on_source_delete": "remove", "source": "nope"}),
        json!({"rate_limit": {"per_second": 0}}),
        json!({"rate_limit": {"per_second": "fast"}}),
        json!({"colour": "blue"}),
        json!([]),
    ] {
        let (status, e) = body(app.admin_patch(T, &bad).await).await;
        assert_eq!(status, 400, "{bad} -> {e}");
        assert!(e["detail"].as_str().is_some(), "{e}");
    }
    let (_, t) = body(app.admin_get(T).await).await;
    assert_eq!(t["on_source_delete"], "remove");
    assert_eq!(t["rate_limit"]["per_second"], 30);
    let (status, _) = body(
        app.admin_patch("/admin/v1/tenants/nobody", &json!({}))
            .await,
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_pull_source_refuses_scim_writes_with_a_reason_and_switching_keeps_people() {
    let (app, token) = spawn_app_with_tenant("acme").await;
    let ann = app.create_user(&token, &user_body("ann@acme.test")).await;
    let (status, _) = body(app.admin_patch(T, &json!({"source": "graph"})).await).await;
    assert_eq!(status, 200);
    let (status, e) = body(
        app.scim_post(&token, "/Users", &user_body("bob@acme.test"))
            .await,
    )
    .await;
    assert_eq!(status, 409, "{e}");
    assert!(
        e["detail"].as_str().unwrap().contains("Microsoft Graph"),
        "{e}"
    );
    let (status, _) = body(app.admin_patch(T, &json!({"source": "scim"})).await).await;
    assert_eq!(status, 200);
    // Switching back and forth kept everyone.
    let p = person(&app, ann["id"].as_str().unwrap()).await;
    assert_eq!(p["participating"], true);
    assert_eq!(counts(&app).await["total"], 1);
}

/// Seeds: ann (participates), ina (IdP inactive), dee (admin deactivated), exa (in an
/// excluded group), noe (no deliverable email), gon (deprovisioned).
async fn seed(app: &TestApp, token: &str) -> Value {
    let mut out = serde_json::Map::new();
    for name in ["ann", "ina", "dee", "exa", "noe", "gon"] {
        let mut b = user_body(&format!("{name}@acme.test"));
        if name == "noe" {
            b["emails"] = json!([{"value": "not-an-address", "type": "work"}]);
        }
        if name == "ina" {
            b["active"] = json!(false);
        }
        b["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"] =
            json!({"department": format!("Dept-{name}")});
        let u = app.create_user(token, &b).await;
        out.insert(name.into(), u["id"].clone());
    }
    let sleepers = app
        .create_group(
            token,
            &json!({"displayName": "Shared mailboxes", "members": [{"value": out["exa"]}]}),
        )
        .await;
    out.insert("group".into(), sleepers["id"].clone());
    let (status, r) = body(
        app.admin_post(
            &format!("{T}/people/deactivate"),
            &json!({"ids": [out["dee"]]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r, json!({"changed": 1, "unchanged": 0}));
    let (status, g) = body(
        app.admin_post(
            &format!("{T}/groups/{}/exclude", sleepers["id"].as_str().unwrap()),
            &json!({}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{g}");
    assert_eq!(g["excluded"], true);
    assert_eq!(g["members"], 1);
    let res = app
        .scim_delete(token, &format!("/Users/{}", out["gon"].as_str().unwrap()))
        .await;
    assert_eq!(res.status(), 204);
    Value::Object(out)
}

#[tokio::test]
async fn states_counts_and_items_agree() {
    let (app, token) = spawn_app_with_tenant("acme").await;
    let s = seed(&app, &token).await;
    let id = |n: &str| s[n].as_str().unwrap().to_owned();
    assert_eq!(
        counts(&app).await,
        json!({"total": 5, "participating": 1, "inactive": 1, "deactivated": 1,
               "excluded": 1, "deprovisioned": 1, "no_email": 1})
    );
    for (state, expected) in [
        ("participating", vec!["ann"]),
        ("inactive", vec!["ina"]),
        ("deactivated", vec!["dee"]),
        ("excluded", vec!["exa"]),
        ("deprovisioned", vec!["gon"]),
        ("no_email", vec!["noe"]),
        ("all", vec!["ann", "ina", "dee", "exa", "noe", "gon"]),
    ] {
        let items = people(&app, &format!("state={state}")).await;
        let mut want: Vec<String> = expected.iter().map(|n| id(n)).collect();
        want.sort();
        assert_eq!(ids(&items), want, "state={state}");
        let c = counts(&app).await;
        if state != "all" {
            assert_eq!(c[state], items.len(), "count of {state}");
        }
    }
    // Without a state: every live person.
    assert_eq!(people(&app, "").await.len(), 5);
    // Each item carries the contract's fields, and `participating` agrees with the filter.
    for p in people(&app, "state=all").await {
        for key in [
            "id",
            "userName",
            "emails",
            "name",
            "displayName",
            "department",
            "source",
            "active",
            "admin_state",
            "excluded_by_groups",
            "deprovisioned_at",
            "participating",
        ] {
            assert!(p.get(key).is_some(), "{key} missing in {p}");
        }
        assert_eq!(p["participating"], p["id"] == s["ann"], "{p}");
    }
    let exa = person(&app, &id("exa")).await;
    assert_eq!(
        exa["excluded_by_groups"],
        json!([{"id": s["group"], "displayName": "Shared mailboxes"}])
    );
    assert_eq!(exa["department"], "Dept-exa");
    let gon = person(&app, &id("gon")).await;
    assert!(gon["deprovisioned_at"].is_string());
    // q matches email, name or department, case-insensitively, literally.
    assert_eq!(ids(&people(&app, "q=ANN@ACME").await), vec![id("ann")]);
    assert_eq!(ids(&people(&app, "q=dept-ina").await), vec![id("ina")]);
    assert_eq!(people(&app, "q=Smith").await.len(), 5, "family name");
    assert!(people(&app, "q=%25").await.is_empty(), "a literal %");
    // Including the group brings its member back.
    let (status, _) = body(
        app.admin_post(&format!("{T}/groups/{}/include", id("group")), &json!({}))
            .await,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(counts(&app).await["participating"], 2);
}

#[tokio::test]
async fn the_people_list_pages_by_cursor_without_gaps_or_repeats() {
    let (app, token) = spawn_app_with_tenant("acme").await;
    app.create_users(&token, (0..23).map(|i| format!("p{i:02}@acme.test")))
        .await;
    let mut seen = Vec::new();
    let mut url = format!("{T}/people?limit=5");
    let mut pages = 0;
    loop {
        let (status, page) = body(app.admin_get(&url).await).await;
        assert_eq!(status, 200, "{page}");
        pages += 1;
        seen.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => url = format!("{T}/people?limit=5&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(pages, 5);
    assert_eq!(seen.len(), 23);
    let names: Vec<&str> = seen
        .iter()
        .map(|p| p["userName"].as_str().unwrap())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "creation order");
    for bad in [
        "state=sleeping",
        "limit=0",
        "limit=501",
        "cursor=%21%21",
        "cursor=bm9waXBl",
    ] {
        let (status, e) = body(app.admin_get(&format!("{T}/people?{bad}")).await).await;
        assert_eq!(status, 400, "{bad}: {e}");
    }
}

#[tokio::test]
async fn an_admin_deactivation_sticks_through_entra_and_okta_and_never_reaches_scim() {
    let (app, token) = spawn_app_with_tenant("acme").await;
    let u = app.create_user(&token, &user_body("ann@acme.test")).await;
    let id = u["id"].as_str().unwrap();
    let version = u["meta"]["version"].clone();
    let (status, _) = body(
        app.admin_post(&format!("{T}/people/deactivate"), &json!({"ids": [id]}))
            .await,
    )
    .await;
    assert_eq!(status, 200);
    // SCIM still sees what the IdP set, at the same version.
    let scim = app
        .json(app.scim_get(&token, &format!("/Users/{id}")).await)
        .await;
    assert_eq!(scim["active"], true);
    assert_eq!(scim["meta"]["version"], version);
    // Entra disables then re-enables ("True" as a string); Okta PUTs the whole user.
    for value in ["False", "True"] {
        app.patch_ok(
            &token,
            &format!("/Users/{id}"),
            json!([{"op": "Replace", "path": "active", "value": value}]),
        )
        .await;
    }
    let res = app
        .scim_put(&token, &format!("/Users/{id}"), &user_body("ann@acme.test"))
        .await;
    assert_eq!(res.status(), 200);
    let p = person(&app, id).await;
    assert_eq!(p["active"], true);
    assert_eq!(p["admin_state"], "deactivated");
    assert_eq!(p["participating"], false);
    // Deleted and re-created by the IdP (restore): still deactivated.
    assert_eq!(
        app.scim_delete(&token, &format!("/Users/{id}"))
            .await
            .status(),
        204
    );
    let again = app.create_user(&token, &user_body("ann@acme.test")).await;
    assert_eq!(again["id"], id);
    assert_eq!(person(&app, id).await["admin_state"], "deactivated");
    // Reactivation by the admin lifts it; a second one changes nothing.
    for expected in [
        json!({"changed": 1, "unchanged": 0}),
        json!({"changed": 0, "unchanged": 1}),
    ] {
        let (status, r) = body(
            app.admin_post(&format!("{T}/people/reactivate"), &json!({"ids": [id]}))
                .await,
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(r, expected);
    }
    assert_eq!(person(&app, id).await["participating"], true);
    // The history tells the story, oldest first.
    let (status, h) = body(app.admin_get(&format!("{T}/people/{id}/history")).await).await;
    assert_eq!(status, 200);
    let kinds: Vec<&str> = h["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "user.created",
            "user.excluded",
            "user.updated",
            "user.deactivated",
            "user.updated",
            "user.reactivated",
            "user.deprovisioned",
            "user.restored",
            "user.included"
        ]
    );
    assert!(h["items"][1]["actor"]
        .as_str()
        .unwrap()
        .starts_with("admin:"));
}

#[tokio::test]
async fn unknown_and_foreign_ids_are_404_and_change_nothing() {
    let (app, token) = spawn_app_with_tenant("acme").await;
    let other = app.tenant_with_token("globex").await;
    let mine = app.create_user(&token, &user_body("ann@acme.test")).await;
    let theirs = app.create_user(&other, &user_body("bob@globex.test")).await;
    let foreign_group = app
        .create_group(&other, &json!({"displayName": "Globex all"}))
        .await;
    let (status, e) = body(
        app.admin_post(
            &format!("{T}/people/deactivate"),
            &json!({"ids": [mine["id"], theirs["id"]]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 404, "{e}");
    assert!(e["detail"]
        .as_str()
        .unwrap()
        .contains(theirs["id"].as_str().unwrap()));
    assert_eq!(
        person(&app, mine["id"].as_str().unwrap()).await["admin_state"],
        "active"
    );
    for path in [
        format!("{T}/people/{}", theirs["id"].as_str().unwrap()),
        format!("{T}/people/{}", uuid::Uuid::new_v4()),
        format!("{T}/people/not-a-uuid"),
        format!("{T}/people/{}/history", theirs["id"].as_str().unwrap()),
    ] {
        let (status, _) = body(app.admin_get(&path).await).await;
        assert_eq!(status, 404, "{path}");
    }
    for path in [
        format!(
            "{T}/groups/{}/exclude",
            foreign_group["id"].as_str().unwrap()
        ),
        format!("{T}/groups/nope/exclude"),
        format!("{T}/people/{}/restore", theirs["id"].as_str().unwrap()),
    ] {
        let (status, _) = body(app.admin_post(&path, &json!({})).await).await;
        assert_eq!(status, 404, "{path}");
    }
    let (status, _) = body(
        app.admin_delete(&format!("{T}/people/{}", theirs["id"].as_str().unwrap()))
            .await,
    )
    .await;
    assert_eq!(status, 404);
    for bad in [
        json!({"ids": []}),
        json!({"ids": ["nope"]}),
        json!({"ids": "x"}),
        json!({}),
        json!({"ids": [mine["id"]], "extra": 1}),
    ] {
        let (status, e) = body(
            app.admin_post(&format!("{T}/people/deactivate"), &bad)
                .await,
        )
        .await;
        assert_eq!(status, 400, "{bad}: {e}");
    }
    let too_many: Vec<String> = (0..1001)
        .map(|_| uuid::Uuid::new_v4().to_string())
        .collect();
    let (status, _) = body(
        app.admin_post(&format!("{T}/people/deactivate"), &json!({"ids": too_many}))
            .await,
    )
    .await;
    assert_eq!(status, 400);
    // The other tenant's person is untouched.
    let res = app
        .client
        .get(app.url("/admin/v1/tenants/globex/people/counts"))
        .header(AUTHORIZATION, format!("Bearer {}", app.admin_key))
        .send()
        .await
        .unwrap();
    assert_eq!(body(res).await.1["participating"], 1);
}

#[tokio::test]
async fn delete_and_restore_follow_the_policy_and_keep_the_id() {
    let (app, token) = spawn_app_with_tenant("acme").await;
    let u = app.create_user(&token, &user_body("ann@acme.test")).await;
    let id = u["id"].as_str().unwrap().to_owned();
    let (status, _) = body(app.admin_delete(&format!("{T}/people/{id}")).await).await;
    assert_eq!(status, 204);
    assert_eq!(
        app.scim_get(&token, &format!("/Users/{id}")).await.status(),
        404
    );
    assert_eq!(counts(&app).await["deprovisioned"], 1);
    // A second delete is a no-op; restore brings the same person back, visible to SCIM.
    let (status, _) = body(app.admin_delete(&format!("{T}/people/{id}")).await).await;
    assert_eq!(status, 204);
    let (status, p) = body(
        app.admin_post(&format!("{T}/people/{id}/restore"), &json!({}))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{p}");
    assert_eq!(p["id"], id.as_str());
    assert!(p["deprovisioned_at"].is_null());
    assert_eq!(
        app.scim_get(&token, &format!("/Users/{id}")).await.status(),
        200
    );
    // Restoring a person whose userName was taken since is a 409, and changes nothing.
    let (status, _) = body(app.admin_delete(&format!("{T}/people/{id}")).await).await;
    assert_eq!(status, 204);
    let (status, taker) = body(
        app.admin_post(&format!("{T}/people"), &json!({"email": "ann@acme.test"}))
            .await,
    )
    .await;
    assert_eq!(status, 201, "{taker}");
    assert_ne!(taker["id"], id.as_str());
    let (status, e) = body(
        app.admin_post(&format!("{T}/people/{id}/restore"), &json!({}))
            .await,
    )
    .await;
    assert_eq!(status, 409, "{e}");
    assert!(person(&app, &id).await["deprovisioned_at"].is_string());
    // `erase` removes the row for good.
    let (status, _) = body(
        app.admin_delete(&format!("{T}/people/{id}?erase=true"))
            .await,
    )
    .await;
    assert_eq!(status, 204);
    let (status, _) = body(app.admin_get(&format!("{T}/people/{id}")).await).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn manual_people_are_created_checked_and_adopted_by_scim() {
    let (app, token) = spawn_app_with_tenant("acme").await;
    let (status, p) = body(
        app.admin_post(
            &format!("{T}/people"),
            &json!({"email": "Ann@Acme.test", "given_name": "Ann", "family_name": "Lee",
                    "display_name": "Ann Lee", "department": "Sales"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{p}");
    assert_eq!(p["source"], "manual");
    assert_eq!(p["participating"], true);
    assert_eq!(p["department"], "Sales");
    let id = p["id"].as_str().unwrap().to_owned();
    // The admin deactivates the manual person; then Entra provisions the same person
    // (email differs in case): adopted, same id, admin state kept, 201.
    body(
        app.admin_post(&format!("{T}/people/deactivate"), &json!({"ids": [id]}))
            .await,
    )
    .await;
    let res = app
        .scim_post(&token, "/Users", &user_body("ann@acme.TEST"))
        .await;
    assert_eq!(res.status(), 201);
    let adopted = app.json(res).await;
    assert_eq!(adopted["id"], id.as_str());
    let p = person(&app, &id).await;
    assert_eq!(p["source"], "scim");
    assert_eq!(p["admin_state"], "deactivated");
    // Now the same source manages them: another create is a uniqueness 409.
    let (status, e) = body(
        app.scim_post(&token, "/Users", &user_body("ann@acme.test"))
            .await,
    )
    .await;
    assert_eq!(status, 409);
    assert_eq!(e["scimType"], "uniqueness");
    // Manual create refuses a live email, bad fields and unknown keys.
    for (bad, code) in [
        (json!({"email": "ANN@acme.test"}), 409),
        (json!({"email": "not an email"}), 400),
        (json!({"given_name": "No email"}), 400),
        (json!({"email": "x@y.z", "phone": "1"}), 400),
        (
            json!({"email": "x@y.z", "department": "a".repeat(300)}),
            400,
        ),
        (json!({"email": "x\u{0}@y.z"}), 400),
    ] {
        let (status, e) = body(app.admin_post(&format!("{T}/people"), &bad).await).await;
        assert_eq!(status, code, "{bad}: {e}");
    }
    assert_eq!(counts(&app).await["total"], 1);
}

#[tokio::test]
async fn disconnect_keeps_people_as_manual_or_deprovisions_them() {
    let (app, token) = spawn_app_with_tenant("acme").await;
    let ann = app.create_user(&token, &user_body("ann@acme.test")).await;
    let r = disconnect(&app, true).await;
    assert_eq!(r["people_kept"], 1);
    assert_eq!(r["tenant"]["source"], "manual");
    let p = person(&app, ann["id"].as_str().unwrap()).await;
    assert_eq!(p["source"], "manual");
    assert_eq!(p["participating"], true);
    // Reconnect SCIM: the IdP's create adopts the manual person.
    body(app.admin_patch(T, &json!({"source": "scim"})).await).await;
    let again = app.create_user(&token, &user_body("ann@acme.test")).await;
    assert_eq!(again["id"], ann["id"]);
    let bob = app.create_user(&token, &user_body("bob@acme.test")).await;
    let group = group_of(&app, &token, "All", &[&bob]).await;
    let r = disconnect(&app, false).await;
    assert_eq!(r["people_deprovisioned"], 2);
    let c = counts(&app).await;
    assert_eq!(c["total"], 0);
    assert_eq!(c["deprovisioned"], 2);
    let g = app
        .json(
            app.scim_get(
                &token,
                &format!("/Groups/{}", group["id"].as_str().unwrap()),
            )
            .await,
        )
        .await;
    assert_eq!(g["members"].as_array().map_or(0, Vec::len), 0, "{g}");
    for bad in [json!({}), json!({"keep_people": "yes"})] {
        let (status, _) = body(app.admin_post(&format!("{T}/disconnect"), &bad).await).await;
        assert_eq!(status, 400, "{bad}");
    }
}

/// One event written by a disconnect: (type, resource type, resource id, data).
type Written = (String, String, Option<uuid::Uuid>, Value);

/// The event `kind` of the SCIM user `user` (as SCIM created them), with `data`.
fn user_event(kind: &str, user: &Value, data: Value) -> Written {
    (
        kind.to_owned(),
        "User".to_owned(),
        Some(uuid_of(user)),
        data,
    )
}

/// The events of tenant `acme` after insertion position `after`, in insertion order, each
/// checked to carry the admin as actor, a request id and the disconnect's time.
fn events_after(conn: &mut diesel::PgConnection, after: i64) -> Vec<Written> {
    use diesel::sql_types::{BigInt, Bool, Jsonb, Nullable, Text, Uuid as SqlUuid};
    use diesel::{QueryableByName, RunQueryDsl};
    #[derive(QueryableByName)]
    struct Event {
        #[diesel(sql_type = Text)]
        type_: String,
        #[diesel(sql_type = Text)]
        resource_type: String,
        #[diesel(sql_type = Nullable<SqlUuid>)]
        resource_id: Option<uuid::Uuid>,
        #[diesel(sql_type = Bool)]
        by_admin: bool,
        #[diesel(sql_type = Bool)]
        with_request_id: bool,
        #[diesel(sql_type = Bool)]
        at_tenant_change: bool,
        #[diesel(sql_type = Jsonb)]
        data: Value,
    }
    diesel::sql_query(
        "SELECT e.type AS type_, e.resource_type, e.resource_id, e.actor LIKE 'admin:%' AS by_admin, \
         e.request_id IS NOT NULL AS with_request_id, e.occurred_at = t.updated_at AS at_tenant_change, \
         e.data FROM events e JOIN tenants t ON t.id = e.tenant_id \
         WHERE t.slug = 'acme' AND e.seq > $1 ORDER BY e.seq",
    )
    .bind::<BigInt, _>(after)
    .load::<Event>(conn)
    .expect("events")
    .into_iter()
    .map(|e| {
        assert!(e.by_admin && e.with_request_id && e.at_tenant_change, "{}", e.type_);
        (e.type_, e.resource_type, e.resource_id, e.data)
    })
    .collect()
}

fn last_seq(conn: &mut diesel::PgConnection) -> i64 {
    use diesel::{QueryableByName, RunQueryDsl};
    #[derive(QueryableByName)]
    struct Seq {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    diesel::sql_query("SELECT coalesce(max(seq), 0) AS n FROM events")
        .get_result::<Seq>(conn)
        .expect("last seq")
        .n
}

fn group_source(conn: &mut diesel::PgConnection, id: uuid::Uuid) -> String {
    use diesel::{QueryableByName, RunQueryDsl};
    #[derive(QueryableByName)]
    struct Source {
        #[diesel(sql_type = diesel::sql_types::Text)]
        source: String,
    }
    diesel::sql_query("SELECT source FROM groups WHERE id = $1 AND source_ref IS NULL")
        .bind::<diesel::sql_types::Uuid, _>(id)
        .get_result::<Source>(conn)
        .expect("group")
        .source
}

fn uuid_of(v: &Value) -> uuid::Uuid {
    v["id"].as_str().and_then(|s| s.parse().ok()).expect("id")
}

/// Each way of disconnecting writes its event per person and per group that lost members.
#[tokio::test]
async fn disconnect_writes_an_event_per_person_and_per_group_left() {
    let (app, token) = spawn_app_with_tenant("acme").await;
    let mut conn = app.db.conn();
    let ann = app.create_user(&token, &user_body("ann@acme.test")).await;
    let all = group_of(&app, &token, "All", &[&ann]).await;

    // Kept: each person becomes manual, with an update naming the previous source.
    let after = last_seq(&mut conn);
    disconnect(&app, true).await;
    assert_eq!(
        events_after(&mut conn, after),
        vec![user_event(
            "user.updated",
            &ann,
            json!({"changed": {"source": "manual"}, "previous_source": "scim"})
        )]
    );
    assert_eq!(group_source(&mut conn, uuid_of(&all)), "manual");

    // Deprovisioned: the group left first (one event for all its leavers), then each person.
    body(app.admin_patch(T, &json!({"source": "scim"})).await).await;
    let bob = app.create_user(&token, &user_body("bob@acme.test")).await;
    let cat = app.create_user(&token, &user_body("cat@acme.test")).await;
    let pair = group_of(&app, &token, "Pair", &[&bob, &cat]).await;
    let after = last_seq(&mut conn);
    disconnect(&app, false).await;
    let mut written = events_after(&mut conn, after);
    assert_eq!(written.len(), 3, "{written:?}");
    let (kind, rt, id, data) = written.remove(0);
    assert_eq!(
        (kind.as_str(), rt.as_str(), id),
        ("group.member_removed", "Group", Some(uuid_of(&pair)))
    );
    let mut left: Vec<&str> = data["members"]
        .as_array()
        .expect("members")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    left.sort_unstable();
    let mut expected = vec![
        bob["id"].as_str().expect("id"),
        cat["id"].as_str().expect("id"),
    ];
    expected.sort_unstable();
    assert_eq!(left, expected);
    written.sort_by_key(|(_, _, id, _)| *id);
    let mut want = vec![
        user_event(
            "user.deprovisioned",
            &bob,
            json!({"userName": "bob@acme.test"}),
        ),
        user_event(
            "user.deprovisioned",
            &cat,
            json!({"userName": "cat@acme.test"}),
        ),
    ];
    want.sort_by_key(|(_, _, id, _)| *id);
    assert_eq!(written, want);
    let g = app
        .json(
            app.scim_get(
                &token,
                &format!("/Groups/{}", pair["id"].as_str().expect("id")),
            )
            .await,
        )
        .await;
    assert_ne!(
        g["meta"]["version"], pair["meta"]["version"],
        "version bumped: {g}"
    );

    // Removed (the tenant's policy): the same, with the people erased.
    body(
        app.admin_patch(T, &json!({"source": "scim", "on_source_delete": "remove"}))
            .await,
    )
    .await;
    let dan = app.create_user(&token, &user_body("dan@acme.test")).await;
    let after = last_seq(&mut conn);
    let r = disconnect(&app, false).await;
    assert_eq!(r["people_removed"], 1, "{r}");
    assert_eq!(
        events_after(&mut conn, after),
        vec![user_event(
            "user.removed",
            &dan,
            json!({"userName": "dan@acme.test"})
        )]
    );
    let (status, _) = body(
        app.admin_get(&format!("{T}/people/{}", dan["id"].as_str().expect("id")))
            .await,
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn scim_adopts_a_manual_person_by_email_when_the_user_name_differs() {
    let (app, token) = spawn_app_with_tenant("acme").await;
    let (status, manual) = body(
        app.admin_post(
            &format!("{T}/people"),
            &json!({"email": "Kim@Acme.test", "given_name": "Kim"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{manual}");
    // Okta sends its own login as userName, with the work email beside it.
    let mut b = user_body("kim.okta-login");
    b["emails"] = json!([{"value": "kim@acme.test", "type": "work", "primary": true}]);
    let res = app.scim_post(&token, "/Users", &b).await;
    assert_eq!(res.status(), 201);
    let adopted = app.json(res).await;
    assert_eq!(adopted["id"], manual["id"]);
    assert_eq!(adopted["userName"], "kim.okta-login");
    let p = person(&app, manual["id"].as_str().unwrap()).await;
    assert_eq!(p["source"], "scim");
    let (_, h) = body(
        app.admin_get(&format!(
            "{T}/people/{}/history",
            manual["id"].as_str().unwrap()
        ))
        .await,
    )
    .await;
    let kinds: Vec<&str> = h["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["user.created", "user.adopted"]);
    assert_eq!(counts(&app).await["total"], 1);
}

#[tokio::test]
async fn an_exclusion_sticks_through_scim_group_updates_and_covers_new_members() {
    let (app, token) = spawn_app_with_tenant("acme").await;
    let ann = app.create_user(&token, &user_body("ann@acme.test")).await;
    let bob = app.create_user(&token, &user_body("bob@acme.test")).await;
    let g = group_of(&app, &token, "Shared", &[&ann]).await;
    let gid = g["id"].as_str().unwrap();
    let (status, _) = body(
        app.admin_post(&format!("{T}/groups/{gid}/exclude"), &json!({}))
            .await,
    )
    .await;
    assert_eq!(status, 200);
    // Okta renames the group and adds bob; Entra PUTs it whole.
    let res = app
        .scim_patch(
            &token,
            &format!("/Groups/{gid}"),
            &patch_op(json!([
                {"op": "replace", "value": {"id": gid, "displayName": "Shared mailboxes"}},
                {"op": "add", "path": "members", "value": [{"value": bob["id"]}]}
            ])),
        )
        .await;
    assert_eq!(res.status(), 204);
    let res = app
        .scim_put(
            &token,
            &format!("/Groups/{gid}"),
            &json!({"displayName": "Shared mailboxes",
                    "members": [{"value": ann["id"]}, {"value": bob["id"]}]}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let c = counts(&app).await;
    assert_eq!(c["excluded"], 2, "{c}");
    assert_eq!(c["participating"], 0, "{c}");
    let p = person(&app, bob["id"].as_str().unwrap()).await;
    assert_eq!(
        p["excluded_by_groups"],
        json!([{"id": gid, "displayName": "Shared mailboxes"}])
    );
}

#[tokio::test]
async fn the_documented_states_are_the_ones_the_people_list_accepts() {
    let (app, _token) = spawn_app_with_tenant("acme").await;
    let (status, doc) = body(app.anonymous_get("/admin/v1/openapi.json").await).await;
    assert_eq!(status, 200);
    let state = doc["paths"]["/tenants/{slug}/people"]["get"]["parameters"]
        .as_array()
        .expect("parameters")
        .iter()
        .find(|p| p["name"] == "state")
        .expect("a `state` parameter")
        .clone();
    let documented: Vec<&str> = state["schema"]["enum"]
        .as_array()
        .expect("an enum")
        .iter()
        .map(|v| v.as_str().expect("a string"))
        .collect();
    assert_eq!(
        documented,
        [
            "participating",
            "inactive",
            "deactivated",
            "excluded",
            "deprovisioned",
            "no_email",
            "all"
        ]
    );
    for s in &documented {
        let (status, e) = body(app.admin_get(&format!("{T}/people?state={s}")).await).await;
        assert_eq!(status, 200, "{s}: {e}");
    }
    // `live` is the default, asked for by naming no state; the refusal lists the rest.
    for s in ["live", "sleeping"] {
        let (status, e) = body(app.admin_get(&format!("{T}/people?state={s}")).await).await;
        assert_eq!(status, 400, "{s}: {e}");
        assert_eq!(
            e["detail"],
            format!("state `{s}` is not one of {}", documented.join(", ")),
            "{s}"
        );
    }
}
