//! The event feed (`GET /admin/v1/tenants/{slug}/events?after=&limit=`): a poller never
//! misses an event, even one whose transaction commits after later ones.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use diesel::prelude::*;
use serde_json::{json, Value};

use crate::helpers::{patch_op, spawn_app, spawn_app_with_tenant, user_body, TestApp};

const T: &str = "/admin/v1/tenants/acme";

async fn poll(app: &TestApp, after: i64, limit: i64) -> (Vec<Value>, i64) {
    let res = app
        .admin_get(&format!("{T}/events?after={after}&limit={limit}"))
        .await;
    assert_eq!(res.status(), 200);
    let page: Value = res.json().await.expect("json");
    let items = page["items"].as_array().expect("items").clone();
    (items, page["next_after"].as_i64().expect("next_after"))
}

/// Every event of the tenant, by drained polling from `after`.
async fn drain(app: &TestApp, mut after: i64, seen: &mut Vec<Value>) -> i64 {
    loop {
        let (items, next) = poll(app, after, 7).await;
        if items.is_empty() {
            assert_eq!(next, after);
            return after;
        }
        for e in &items {
            let id = e["id"].as_i64().expect("id");
            assert!(id > after, "ids rise: {id} after {after}");
            after = id;
        }
        assert_eq!(next, after);
        seen.extend(items);
    }
}

#[tokio::test]
async fn the_feed_carries_every_write_with_its_fields_in_id_order() {
    let (app, token) = spawn_app_with_tenant("acme").await;
    let other = app.tenant_with_token("globex").await;
    let u = app.create_user(&token, &user_body("ann@acme.test")).await;
    app.create_user(&other, &user_body("bob@globex.test")).await;
    let id = u["id"].as_str().unwrap();
    app.scim_patch(
        &token,
        &format!("/Users/{id}"),
        &patch_op(json!([{"op": "replace", "path": "active", "value": false}])),
    )
    .await;
    let g = app
        .create_group(
            &token,
            &json!({"displayName": "All", "members": [{"value": id}]}),
        )
        .await;
    let gid = g["id"].as_str().unwrap();
    app.admin_post(&format!("{T}/groups/{gid}/exclude"), &json!({}))
        .await;
    app.admin_post(&format!("{T}/people/deactivate"), &json!({"ids": [id]}))
        .await;
    app.scim_delete(&token, &format!("/Users/{id}")).await;
    let mut seen = Vec::new();
    drain(&app, 0, &mut seen).await;
    let kinds: Vec<&str> = seen.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "user.created",
            "user.updated",
            "user.deactivated",
            "group.created",
            "group.member_added",
            "group.excluded",
            "user.excluded",
            "group.member_removed",
            "user.deprovisioned"
        ],
        "only this tenant's events, in order"
    );
    let first = &seen[0];
    for key in [
        "id",
        "type",
        "resource_type",
        "resource_id",
        "actor",
        "request_id",
        "occurred_at",
        "data",
    ] {
        assert!(first.get(key).is_some(), "{key} in {first}");
    }
    assert_eq!(first["resource_id"], id);
    assert!(first["actor"].as_str().unwrap().starts_with("token:"));
    assert!(seen[5]["actor"].as_str().unwrap().starts_with("admin:"));
    for bad in ["after=-1", "after=x", "limit=0", "limit=1001"] {
        let res = app.admin_get(&format!("{T}/events?{bad}")).await;
        assert_eq!(res.status(), 400, "{bad}");
    }
    assert_eq!(
        app.admin_get("/admin/v1/tenants/nobody/events")
            .await
            .status(),
        404
    );
}

/// A transaction that inserted its event before others but commits after them: the poller
/// has already moved past the others' ids, and must still get it.
#[tokio::test]
async fn an_event_committed_late_is_not_skipped() {
    let (app, token) = spawn_app_with_tenant("acme").await;
    let tenant_id: uuid::Uuid = {
        use scimd::store::schema::tenants::dsl::*;
        tenants
            .filter(slug.eq("acme"))
            .select(id)
            .first(&mut app.db.conn())
            .unwrap()
    };
    let mut slow = app.db.conn();
    diesel::sql_query("BEGIN").execute(&mut slow).unwrap();
    diesel::sql_query(
        "INSERT INTO events (tenant_id, type, resource_type, actor, data) \
         VALUES ($1, 'user.updated', 'User', 'test:late', '{}')",
    )
    .bind::<diesel::sql_types::Uuid, _>(tenant_id)
    .execute(&mut slow)
    .unwrap();
    // Later writes commit first, and the poller reads past them.
    app.create_user(&token, &user_body("ann@acme.test")).await;
    app.create_user(&token, &user_body("bob@acme.test")).await;
    let mut seen = Vec::new();
    let after = drain(&app, 0, &mut seen).await;
    assert_eq!(seen.len(), 2);
    diesel::sql_query("COMMIT").execute(&mut slow).unwrap();
    let after = drain(&app, after, &mut seen).await;
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert_eq!(seen[2]["actor"], "test:late");
    assert!(after > 0);
}

/// Concurrent writers on several connections, a poller running beside them: when all is
/// done, the poller has seen every event of the tenant exactly once, in rising id order.
#[tokio::test]
async fn concurrent_writers_and_a_poller_see_every_event_exactly_once() {
    let app = Arc::new(spawn_app().await);
    let token = app.tenant_with_token("acme").await;
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let poller = {
        let app = app.clone();
        let done = done.clone();
        tokio::spawn(async move {
            let mut seen = Vec::new();
            let mut after = 0;
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                after = drain(&app, after, &mut seen).await;
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            drain(&app, after, &mut seen).await;
            seen
        })
    };
    let mut writers = Vec::new();
    for w in 0..8 {
        let app = app.clone();
        let token = token.clone();
        writers.push(tokio::spawn(async move {
            for i in 0..12 {
                let u = app
                    .create_user(&token, &user_body(&format!("w{w}-{i}@acme.test")))
                    .await;
                let id = u["id"].as_str().unwrap().to_owned();
                app.patch_ok(
                    &token,
                    &format!("/Users/{id}"),
                    json!([{"op": "replace", "path": "displayName", "value": "x"}]),
                )
                .await;
            }
        }));
    }
    for w in writers {
        w.await.unwrap();
    }
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let seen = poller.await.unwrap();
    let ids: Vec<i64> = seen.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    let unique: HashSet<i64> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "no event twice");
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "rising ids");
    // Every event the tenant has in the database, by its own count.
    let stored: i64 = diesel::sql_query(
        "SELECT count(*) AS n FROM events e JOIN tenants t ON t.id = e.tenant_id WHERE t.slug = 'acme'",
    )
    .get_result::<Count>(&mut app.db.conn())
    .unwrap()
    .n;
    assert_eq!(stored, 8 * 12 * 2);
    assert_eq!(ids.len() as i64, stored, "every event seen");
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// Every kind of event, written by every path that writes it (SCIM, Bulk, the admin API,
/// a CSV import, a disconnect), has the one shape of its kind: exactly the members
/// `EventKind::data_fields` names.
#[tokio::test]
async fn every_writer_gives_each_kind_of_event_its_one_shape() {
    use scimd::provisioning::events::EventKind;
    let (app, token) = spawn_app_with_tenant("acme").await;
    // SCIM: create (one statement), create over a manual person (adoption), update,
    // deactivate, delete, re-create (restore), groups and members.
    let manual = app
        .admin_post(
            &format!("{T}/people"),
            &json!({"email": "bob@example.com", "given_name": "Bob"}),
        )
        .await;
    assert_eq!(manual.status(), 201);
    let ann = app.create_user(&token, &user_body("ann@example.com")).await;
    let ann = ann["id"].as_str().unwrap().to_owned();
    let bob = app.create_user(&token, &user_body("bob@example.com")).await;
    let bob = bob["id"].as_str().unwrap().to_owned();
    let off = patch_op(json!([{"op": "replace", "path": "active", "value": false}]));
    assert_eq!(
        app.scim_patch(&token, &format!("/Users/{ann}"), &off)
            .await
            .status(),
        200
    );
    let group = app
        .create_group(
            &token,
            &json!({"displayName": "Staff", "members": [{"value": ann}]}),
        )
        .await;
    let group = group["id"].as_str().unwrap().to_owned();
    let swap = patch_op(json!([
        {"op": "remove", "path": "members", "value": [{"value": ann}]},
        {"op": "add", "path": "members", "value": [{"value": bob}]},
        {"op": "replace", "path": "displayName", "value": "All staff"},
    ]));
    assert_eq!(
        app.scim_patch(&token, &format!("/Groups/{group}"), &swap)
            .await
            .status(),
        204
    );
    // The admin API: sleep and wake the group, deactivate and reactivate a person.
    for action in ["exclude", "include"] {
        let res = app
            .admin_post(&format!("{T}/groups/{group}/{action}"), &json!({}))
            .await;
        assert_eq!(res.status(), 200, "{action}");
    }
    for action in ["deactivate", "reactivate"] {
        let res = app
            .admin_post(&format!("{T}/people/{action}"), &json!({"ids": [bob]}))
            .await;
        assert_eq!(res.status(), 200, "{action}");
    }
    assert_eq!(
        app.scim_delete(&token, &format!("/Users/{ann}"))
            .await
            .status(),
        204
    );
    app.create_user(&token, &user_body("ann@example.com")).await;
    // Bulk: a group made and deleted.
    let bulk = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [
            {"method": "POST", "path": "/Groups", "bulkId": "g", "data": {"displayName": "Temp"}},
            {"method": "DELETE", "path": "/Groups/bulkId:g"},
        ],
    });
    assert_eq!(app.scim_post(&token, "/Bulk", &bulk).await.status(), 200);
    // A CSV import: a new person and a change to a manual one.
    let cat_in = |department: &str| {
        format!("email,given_name,department\ncat@example.com,Cat,{department}\n")
    };
    let res = app.import_csv("acme", &cat_in("Sales")).await;
    assert_eq!(res.status(), 200);
    let res = app.import_csv("acme", &cat_in("Legal")).await;
    assert_eq!(res.status(), 200);
    // A disconnect that keeps the people (they become manual), then an erasure.
    let res = app
        .admin_post(&format!("{T}/disconnect"), &json!({"keep_people": true}))
        .await;
    assert_eq!(res.status(), 200);
    let res = app
        .admin_delete(&format!("{T}/people/{bob}?erase=true"))
        .await;
    assert!(res.status().is_success(), "{}", res.status());

    let (events, _) = poll(&app, 0, 1000).await;
    let mut seen = HashSet::new();
    for e in &events {
        let kind = e["type"].as_str().unwrap();
        let kind = EventKind::parse(kind).unwrap_or_else(|| panic!("unknown kind {kind}"));
        let mut got: Vec<&str> = e["data"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut want = kind.data_fields().to_vec();
        got.sort_unstable();
        want.sort_unstable();
        assert_eq!(got, want, "{}: {e}", kind.as_str());
        assert_eq!(e["resource_type"], kind.resource_type(), "{e}");
        seen.insert(kind);
    }
    // Most kinds were written, several by more than one path.
    assert!(seen.len() >= 14, "only {} kinds: {seen:?}", seen.len());
}
