//! Each tenant's kept count of the users and groups SCIM sees (`store::counts`): an
//! unfiltered listing's `totalResults` is that count, and it equals a `count(*)` of the
//! tenant's rows after every write that adds or removes one, whichever path wrote it.

use diesel::sql_types::{BigInt, Text, Uuid as SqlUuid};
use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl};
use serde_json::{json, Value};
use uuid::Uuid;

use scimd::domain::Source;
use scimd::provisioning::tenants::{self, TenantSlug};
use scimd::store::groups::{self, GroupData, NewGroup};
use scimd::store::users::insert_if_new;

use crate::combined_create::entry;
use crate::helpers::{count_drift, spawn_app, spawn_app_with, user_body, TestApp, TestDb};

const T: &str = "/admin/v1/tenants/acme";

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// `totalResults` of the unfiltered `/Users` and `/Groups`.
async fn totals(app: &TestApp, token: &str) -> (i64, i64) {
    let mut out = [0; 2];
    for (n, path) in out.iter_mut().zip(["/Users?count=1", "/Groups?count=1"]) {
        let res = app.scim_get(token, path).await;
        assert_eq!(res.status(), 200, "{path}");
        *n = app.json(res).await["totalResults"]
            .as_i64()
            .expect("totalResults");
    }
    (out[0], out[1])
}

/// The users and groups of `slug` SCIM sees, counted row by row.
fn counted(conn: &mut PgConnection, slug: &str) -> (i64, i64) {
    let mut out = [0; 2];
    for (n, sql) in out.iter_mut().zip([
        "SELECT count(*) AS n FROM users u JOIN tenants t ON t.id = u.tenant_id \
         WHERE t.slug = $1 AND u.deprovisioned_at IS NULL",
        "SELECT count(*) AS n FROM groups g JOIN tenants t ON t.id = g.tenant_id WHERE t.slug = $1",
    ]) {
        *n = diesel::sql_query(sql)
            .bind::<Text, _>(slug)
            .get_result::<Count>(conn)
            .expect("count")
            .n;
    }
    (out[0], out[1])
}

/// `totalResults` is the count of `slug`'s rows, and every tenant's kept count is exact.
async fn exact(app: &TestApp, token: &str, slug: &str, after: &str) {
    let mut conn = app.db.conn();
    assert_eq!(
        totals(app, token).await,
        counted(&mut conn, slug),
        "after {after}"
    );
    assert_eq!(count_drift(&mut conn), [], "after {after}");
}

async fn ok(res: reqwest::Response, status: u16, what: &str) -> Value {
    let got = res.status().as_u16();
    let text = res.text().await.expect("body");
    assert_eq!(got, status, "{what}: {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

fn id(v: &Value) -> &str {
    v["id"].as_str().expect("id")
}

/// A server with the tenant `acme` and its SCIM token.
struct Acme {
    app: TestApp,
    token: String,
}

impl Acme {
    async fn new() -> Self {
        let app = spawn_app().await;
        let token = app.tenant_with_token("acme").await;
        Self { app, token }
    }

    /// `res` had `status`, and then acme's totals are exact. The body, when JSON.
    async fn step(&self, res: reqwest::Response, status: u16, what: &str) -> Value {
        let body = ok(res, status, what).await;
        self.exact(what).await;
        body
    }

    async fn exact(&self, after: &str) {
        exact(&self.app, &self.token, "acme", after).await;
    }

    async fn post_user(&self, user_name: &str) -> reqwest::Response {
        let body = user_body(user_name);
        self.app.scim_post(&self.token, "/Users", &body).await
    }

    async fn delete(&self, path: &str) -> reqwest::Response {
        self.app.scim_delete(&self.token, path).await
    }
}

#[tokio::test]
async fn scim_creates_deletes_restores_and_adoptions_keep_the_total_exact() {
    let acme = Acme::new().await;
    let app = &acme.app;
    acme.exact("nothing").await;

    // The one-statement create; a clash, which writes nothing.
    let ann = acme.post_user("ann@acme.test").await;
    let ann = acme.step(ann, 201, "a create").await;
    let clash = acme.post_user("ANN@acme.test").await;
    acme.step(clash, 409, "a clash").await;

    // Creates that arrive together (written in combined statements on the workers).
    let names: Vec<String> = (0..24).map(|i| format!("u{i}@acme.test")).collect();
    let posts = names.iter().map(|name| acme.post_user(name));
    for res in futures_util::future::join_all(posts).await {
        ok(res, 201, "concurrent create").await;
    }
    acme.exact("concurrent creates").await;

    // The full path: a manual person adopted by the IdP's create stays one person.
    let manual = json!({"email": "mo@acme.test"});
    let res = app.admin_post(&format!("{T}/people"), &manual).await;
    acme.step(res, 201, "a manual person").await;
    let mo = acme.post_user("mo@acme.test").await;
    let mo = acme.step(mo, 201, "an adoption").await;

    // Deleted under `retain`: deprovisioned; created again: restored.
    let ann_path = format!("/Users/{}", id(&ann));
    acme.step(acme.delete(&ann_path).await, 204, "a deprovision")
        .await;
    let back = acme.post_user("ann@acme.test").await;
    let back = acme.step(back, 201, "a restore").await;
    assert_eq!(back["id"], ann["id"], "restored, not created");

    // Deleted under `remove`: erased.
    let policy = json!({"on_source_delete": "remove"});
    ok(app.admin_patch(T, &policy).await, 200, "policy").await;
    acme.step(acme.delete(&ann_path).await, 204, "an erase")
        .await;

    // Groups: created, and deleted.
    let mut made = Vec::new();
    for name in ["One", "Two", "Three"] {
        let body = json!({"displayName": name, "members": [{"value": mo["id"]}]});
        made.push(app.create_group(&acme.token, &body).await);
    }
    acme.exact("group creates").await;
    let path = format!("/Groups/{}", id(&made[1]));
    acme.step(acme.delete(&path).await, 204, "a group delete")
        .await;

    // Bulk goes the same ways.
    let bulk = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [
            {"method": "POST", "path": "/Users", "bulkId": "u", "data": user_body("bulk@acme.test")},
            {"method": "POST", "path": "/Groups", "bulkId": "g", "data": {"displayName": "Bulk"}},
            {"method": "DELETE", "path": format!("/Groups/{}", id(&made[0]))},
        ],
    });
    let res = app.scim_post(&acme.token, "/Bulk", &bulk).await;
    acme.step(res, 200, "a bulk request").await;
}

#[tokio::test]
async fn admin_actions_and_imports_keep_the_total_exact() {
    let acme = Acme::new().await;
    let app = &acme.app;
    let mut people = Vec::new();
    for name in ["ann", "bob", "cat"] {
        let res = acme.post_user(&format!("{name}@acme.test")).await;
        people.push(ok(res, 201, "create").await);
    }
    let [ann, bob, cat] = &people[..] else {
        unreachable!()
    };
    acme.exact("creates").await;

    let person = |p: &Value| format!("{T}/people/{}", id(p));
    let restore = |p: &Value| format!("{}/restore", person(p));
    let erase = |p: &Value| format!("{}?erase=true", person(p));
    let no_body = json!({});
    for (what, res, status) in [
        ("deprovision", app.admin_delete(&person(ann)).await, 204),
        (
            "deprovision again",
            app.admin_delete(&person(ann)).await,
            204,
        ),
        (
            "restore",
            app.admin_post(&restore(ann), &no_body).await,
            200,
        ),
        (
            "erase a live person",
            app.admin_delete(&erase(bob)).await,
            204,
        ),
        ("deprovision", app.admin_delete(&person(cat)).await, 204),
        (
            "erase a deprovisioned one",
            app.admin_delete(&erase(cat)).await,
            204,
        ),
        ("deprovision", app.admin_delete(&person(ann)).await, 204),
    ] {
        acme.step(res, status, what).await;
    }

    // A CSV import: new people, and the deprovisioned one brought back.
    let file = "email,given_name,family_name\n\
                dan@acme.test,Dan,A\neve@acme.test,Eve,B\nann@acme.test,Ann,C\n";
    let res = app.import_csv("acme", file).await;
    let summary = acme.step(res, 200, "an import").await;
    assert_eq!(
        (summary["created"].as_u64(), summary["updated"].as_u64()),
        (Some(2), Some(1)),
        "{summary}"
    );
    // A refused import applies nothing, its count included.
    let refused = app
        .import_csv("acme", "email\nfay@acme.test\nnot an email\n")
        .await;
    assert!(refused.status().is_client_error(), "{}", refused.status());
    acme.exact("a refused import").await;

    // Disconnecting the source deprovisions everyone it managed, in one statement; or
    // erases them, under `remove`.
    app.create_group(&acme.token, &json!({"displayName": "All"}))
        .await;
    let disconnect = json!({"keep_people": false});
    let path = format!("{T}/disconnect");
    let res = app.admin_post(&path, &disconnect).await;
    acme.step(res, 200, "a disconnect under retain").await;
    let reconnect = json!({"source": "scim", "on_source_delete": "remove"});
    ok(app.admin_patch(T, &reconnect).await, 200, "reconnect").await;
    for name in ["gus", "hal"] {
        ok(
            acme.post_user(&format!("{name}@acme.test")).await,
            201,
            "create",
        )
        .await;
    }
    let res = app.admin_post(&path, &disconnect).await;
    acme.step(res, 200, "a disconnect under remove").await;
}

#[tokio::test]
async fn deleting_a_tenant_takes_its_counts_and_leaves_the_others_exact() {
    let app = spawn_app().await;
    let acme = app.tenant_with_token("acme").await;
    let globex = app.tenant_with_token("globex").await;
    for (token, domain) in [(&acme, "acme"), (&globex, "globex")] {
        for name in ["ann", "bob"] {
            app.create_user(token, &user_body(&format!("{name}@{domain}.test")))
                .await;
        }
        app.create_group(token, &json!({"displayName": "All"}))
            .await;
    }
    ok(app.admin_delete(T).await, 204, "delete tenant").await;
    let mut conn = app.db.conn();
    let left: Count = diesel::sql_query(
        "SELECT count(*) AS n FROM visible_counts k \
         WHERE NOT EXISTS (SELECT 1 FROM tenants t WHERE t.id = k.tenant_id)",
    )
    .get_result(&mut conn)
    .expect("count");
    assert_eq!(left.n, 0, "no count outlives its tenant");
    exact(&app, &globex, "globex", "another tenant's deletion").await;
    assert_eq!(totals(&app, &globex).await, (2, 1));
}

#[tokio::test]
async fn concurrent_writes_from_many_connections_keep_the_count_exact() {
    let app = spawn_app_with(|s| s.pool_size = 8).await;
    let token = app.tenant_with_token("acme").await;
    // (id, userName) of the users SCIM sees, and the userNames deleted in the last round.
    let mut live: Vec<(String, String)> = Vec::new();
    let mut gone: Vec<String> = Vec::new();
    for round in 0..4 {
        // New users, the users deleted in the last round created again (restores, on the
        // full path), and deletes, all at once.
        let creates: Vec<Value> = (0..40)
            .map(|i| format!("r{round}u{i}@acme.test"))
            .chain(gone.drain(..))
            .map(|name| user_body(&name))
            .collect();
        let deletes: Vec<(String, String)> = live
            .drain(..live.len().min(10))
            .map(|(id, name)| (format!("/Users/{id}"), name))
            .collect();
        let created = futures_util::future::join_all(
            creates.iter().map(|b| app.scim_post(&token, "/Users", b)),
        );
        let deleted = futures_util::future::join_all(
            deletes
                .iter()
                .map(|(path, _)| app.scim_delete(&token, path)),
        );
        let (created, deleted) = tokio::join!(created, deleted);
        for (res, (_, name)) in deleted.into_iter().zip(deletes) {
            ok(res, 204, "delete").await;
            gone.push(name);
        }
        for res in created {
            let user = ok(res, 201, "create").await;
            let name = user["userName"].as_str().expect("userName").to_owned();
            live.push((id(&user).to_owned(), name));
        }
        exact(&app, &token, "acme", &format!("round {round}")).await;
    }
    // The writes went to several of the tenant's slots, not one row.
    let slots: Count = diesel::sql_query(
        "SELECT count(*) AS n FROM visible_counts k JOIN tenants t ON t.id = k.tenant_id \
         WHERE t.slug = 'acme' AND k.users <> 0",
    )
    .get_result(&mut app.db.conn())
    .expect("slots");
    assert!(slots.n > 1, "{} slot(s)", slots.n);
}

fn new_group(tenant_id: Uuid, name: &str) -> NewGroup<'static> {
    NewGroup {
        id: Uuid::now_v7(),
        tenant_id,
        source: Source::Scim,
        source_ref: None,
        data: GroupData {
            display_name: name.into(),
            external_id: None,
            resource: json!({"displayName": name}),
        },
    }
}

#[test]
fn a_write_held_in_a_long_transaction_keeps_no_other_writer_waiting() {
    let db = TestDb::new();
    let mut setup = db.conn();
    let tenant = tenants::create(&mut setup, &TenantSlug::parse("acme").expect("slug"), None)
        .expect("tenant")
        .id;
    let mut other = db.conn();
    #[derive(QueryableByName)]
    struct Pid {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        pid: i32,
    }
    let pid = diesel::sql_query("SELECT pg_backend_pid() AS pid")
        .get_result::<Pid>(&mut other)
        .expect("pid")
        .pid;
    // Whoever waits on a row lock for a second fails, rather than the test hanging.
    diesel::sql_query("SET lock_timeout = '1s'")
        .execute(&mut other)
        .expect("timeout");

    let mut long = db.conn();
    long.transaction::<_, diesel::result::Error, _>(|long| {
        // A write that stays in its transaction, which also holds the slot the other
        // connection would take first.
        groups::insert(long, &new_group(tenant, "Held"))?;
        diesel::sql_query(
            "SELECT 1 FROM visible_counts WHERE tenant_id = $1 AND slot = 32 + $2 % 8 FOR UPDATE",
        )
        .bind::<SqlUuid, _>(tenant)
        .bind::<diesel::sql_types::Integer, _>(pid)
        .execute(long)?;

        // Meanwhile: a write of the same lane takes another free slot, and a create
        // that commits on its own has slots of its own.
        groups::insert(&mut other, &new_group(tenant, "Meanwhile")).expect("not held up");
        let (new, event) = entry(tenant, "ann@acme.test", "ext-ann", "ann@acme.test");
        let made = insert_if_new(&mut other, &new, &Source::PULL, &event).expect("not held up");
        assert!(made.is_some());
        Ok(())
    })
    .expect("the long transaction");
    assert_eq!(count_drift(&mut setup), []);
}
