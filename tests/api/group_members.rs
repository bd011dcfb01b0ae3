//! Member changes by PATCH, as identity providers send them: each operation's effect,
//! events and version exactly as if the operations were applied one by one, whether the
//! PATCH takes the one-statement path (adds and removes only, each member named once) or
//! the general one, and nothing lost when many arrive at once.

use diesel::sql_types::{Jsonb, Text, Uuid as SqlUuid};
use diesel::{QueryableByName, RunQueryDsl};
use serde_json::{json, Value};
use uuid::Uuid;

use scimd::provisioning::events::Event;
use scimd::store::rows::Count;

use crate::helpers::{patch_op, spawn_app, user_body, TestApp};

/// A tenant's app and token, a group of `members` users and `others` users outside it.
struct World {
    app: TestApp,
    token: String,
    group: String,
    members: Vec<String>,
    others: Vec<String>,
    /// The group's version and how many events it had once made.
    version0: i64,
    events0: usize,
}

async fn world(members: usize, others: usize) -> World {
    let app = spawn_app().await;
    let token = app.tenant_with_token("contoso").await;
    let mut ids = Vec::new();
    for i in 0..members + others {
        let u = app
            .create_user(&token, &user_body(&format!("m{i}@contoso.com")))
            .await;
        ids.push(u["id"].as_str().unwrap().to_owned());
    }
    let others = ids.split_off(members);
    let group = app
        .create_group(
            &token,
            &json!({
                "displayName": "Sales",
                "members": ids.iter().map(|id| json!({"value": id})).collect::<Vec<_>>(),
            }),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut w = World {
        app,
        token,
        group,
        members: ids,
        others,
        version0: 0,
        events0: 0,
    };
    w.version0 = w.version();
    w.events0 = w.events_after(0).len();
    w
}

#[derive(QueryableByName, Debug)]
struct EventLine {
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Jsonb)]
    data: Value,
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = Text)]
    id: String,
}

impl World {
    fn path(&self) -> String {
        format!("/Groups/{}", self.group)
    }

    async fn patch(&self, ops: Value) -> reqwest::Response {
        self.app
            .scim_patch(&self.token, &self.path(), &patch_op(ops))
            .await
    }

    /// [`World::patch`], asserting it succeeded.
    async fn patch_ok(&self, ops: Value) {
        let res = self.patch(ops).await;
        assert!(res.status().is_success(), "{}", res.status());
    }

    fn gid(&self) -> Uuid {
        self.group.parse().unwrap()
    }

    /// The group's members, sorted, read from the table.
    fn members_now(&self) -> Vec<String> {
        diesel::sql_query(
            "SELECT member_id::text AS id FROM group_members WHERE group_id = $1 ORDER BY 1",
        )
        .bind::<SqlUuid, _>(self.gid())
        .load::<Id>(&mut self.app.db.conn())
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect()
    }

    fn version(&self) -> i64 {
        diesel::sql_query("SELECT version AS n FROM groups WHERE id = $1")
            .bind::<SqlUuid, _>(self.gid())
            .get_result::<Count>(&mut self.app.db.conn())
            .unwrap()
            .n
    }

    /// The group's events after the first `skip`, in the order they were written.
    fn events_after(&self, skip: usize) -> Vec<(String, Value)> {
        let all = diesel::sql_query(
            "SELECT type AS kind, data FROM events WHERE resource_id = $1 ORDER BY seq",
        )
        .bind::<SqlUuid, _>(self.gid())
        .load::<EventLine>(&mut self.app.db.conn())
        .unwrap();
        all.into_iter()
            .skip(skip)
            .map(|e| (e.kind, e.data))
            .collect()
    }

    fn set_source(&self, source: &str) {
        diesel::sql_query("UPDATE tenants SET source = $1 WHERE slug = 'contoso'")
            .bind::<Text, _>(source)
            .execute(&mut self.app.db.conn())
            .unwrap();
    }

    /// The status of a member PATCH of a group that does not exist.
    async fn patch_a_missing_group(&self) -> u16 {
        let path = format!("/Groups/{}", Uuid::now_v7());
        let body = patch_op(json!([add(&[&self.others[0]])]));
        let res = self.app.scim_patch(&self.token, &path, &body).await;
        res.status().as_u16()
    }

    /// The events since the group was made.
    fn new_events(&self) -> Vec<(String, Value)> {
        self.events_after(self.events0)
    }

    /// How many times the version moved since the group was made.
    fn new_versions(&self) -> i64 {
        self.version() - self.version0
    }
}

fn sorted(ids: impl IntoIterator<Item = impl ToString>) -> Vec<String> {
    let mut v: Vec<String> = ids.into_iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

fn ids(values: &[&String]) -> Vec<Uuid> {
    values.iter().map(|v| v.parse().unwrap()).collect()
}

/// The event as the one constructor of its kind writes it.
fn removed(values: &[&String]) -> (String, Value) {
    let ids = ids(values);
    let e = Event::GroupMemberRemoved(&ids);
    (e.kind().as_str().to_owned(), e.data())
}

fn added(values: &[&String]) -> (String, Value) {
    let ids = ids(values);
    let e = Event::GroupMemberAdded(&ids);
    (e.kind().as_str().to_owned(), e.data())
}

fn remove(values: &[&String]) -> Value {
    json!({"op": "Remove", "path": "members", "value": values.iter().map(|v| json!({"value": v})).collect::<Vec<_>>()})
}

fn add(values: &[&String]) -> Value {
    json!({"op": "Add", "path": "members", "value": values.iter().map(|v| json!({"value": v})).collect::<Vec<_>>()})
}

#[tokio::test]
async fn sixteen_concurrent_remove_one_add_one_patches_lose_nothing_and_write_each_change_once() {
    let w = world(10, 8).await;
    // Sixteen PATCHes at once, two of each: member k out, outsider k in, for k < 8. Of
    // each two, whichever runs first makes the change and the other finds nothing to do.
    let results = futures_util::future::join_all((0..16).map(|i| {
        let k = i % 8;
        w.patch(json!([remove(&[&w.members[k]]), add(&[&w.others[k]])]))
    }))
    .await;
    for r in &results {
        assert!(r.status().is_success(), "{}", r.status());
    }
    let mut expected: Vec<&String> = w.others.iter().collect();
    expected.extend(&w.members[8..]);
    assert_eq!(w.members_now(), sorted(expected));
    assert_eq!(
        w.new_versions(),
        8,
        "one version per PATCH that changed something"
    );
    let events = w.new_events();
    assert_eq!(events.len(), 16, "{events:?}");
    for k in 0..8 {
        let out = removed(&[&w.members[k]]);
        let into = added(&[&w.others[k]]);
        assert_eq!(events.iter().filter(|e| **e == out).count(), 1, "{k} out");
        assert_eq!(events.iter().filter(|e| **e == into).count(), 1, "{k} in");
        // Each PATCH writes its removal before its addition, as its operations say.
        let at = |e: &(String, Value)| events.iter().position(|x| x == e).unwrap();
        assert_eq!(at(&into), at(&out) + 1, "{k}: in just after out");
    }
}

#[tokio::test]
async fn a_patch_naming_an_unknown_member_is_400_and_changes_nothing() {
    let w = world(3, 1).await;
    let members = w.members_now();
    let unknown = Uuid::now_v7().to_string();
    let res = w
        .patch(json!([
            remove(&[&w.members[0]]),
            add(&[&w.others[0]]),
            add(&[&unknown]),
        ]))
        .await;
    assert_eq!(res.status(), 400);
    let body = w.app.json(res).await;
    assert_eq!(body["scimType"], "invalidValue");
    assert!(
        body["detail"].as_str().unwrap().contains(&unknown),
        "{body}"
    );
    assert_eq!(w.members_now(), members);
    assert_eq!(w.new_versions(), 0);
    assert_eq!(w.new_events(), [], "no event");
}

#[tokio::test]
async fn another_tenants_group_and_a_deprovisioned_user_are_out_of_reach() {
    let w = world(1, 1).await;
    let other = w.app.tenant_with_token("fabrikam").await;
    let foreign = w
        .app
        .create_group(&other, &json!({"displayName": "Theirs"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let gone = w.others[0].clone();
    assert_eq!(
        w.app
            .scim_delete(&w.token, &format!("/Users/{gone}"))
            .await
            .status(),
        204
    );
    for bad in [&gone, &foreign] {
        let res = w.patch(json!([add(&[bad])])).await;
        assert_eq!(res.status(), 400, "{bad}");
        let body = w.app.json(res).await;
        assert!(body["detail"].as_str().unwrap().contains(bad.as_str()));
    }
    assert_eq!(w.members_now(), sorted(&w.members));
    // Nor can the other tenant's token PATCH this group: it is not there for it.
    let body = patch_op(json!([add(&[&w.others[0]])]));
    let res = w.app.scim_patch(&other, &w.path(), &body).await;
    assert_eq!(res.status(), 404);
    assert_eq!(w.members_now(), sorted(&w.members));
}

#[tokio::test]
async fn a_group_of_the_tenant_can_be_added_as_a_member() {
    let w = world(1, 0).await;
    let inner = w
        .app
        .create_group(&w.token, &json!({"displayName": "Inner"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    w.patch_ok(json!([add(&[&inner])])).await;
    let read = w.app.json(w.app.scim_get(&w.token, &w.path()).await).await;
    let kinds: Vec<(&str, &str)> = read["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["value"].as_str().unwrap(), m["type"].as_str().unwrap()))
        .collect();
    assert!(kinds.contains(&(inner.as_str(), "Group")), "{kinds:?}");
    assert!(
        kinds.contains(&(w.members[0].as_str(), "User")),
        "{kinds:?}"
    );
}

#[tokio::test]
async fn removing_a_non_member_and_adding_a_member_is_a_no_op() {
    let w = world(2, 1).await;
    w.patch_ok(json!([remove(&[&w.others[0]]), add(&[&w.members[0]])]))
        .await;
    assert_eq!(w.members_now(), sorted(&w.members));
    assert_eq!(w.new_versions(), 0, "nothing changed, so no new version");
    assert_eq!(w.new_events(), [], "no event");
}

#[tokio::test]
async fn each_operation_gets_an_event_of_what_it_really_changed_in_operation_order() {
    let w = world(3, 3).await;
    let (m, o) = (&w.members, &w.others);
    w.patch_ok(json!([
        add(&[&o[0], &m[0], &o[1]]),
        remove(&[&m[1], &o[2]]),
        add(&[&o[2]]),
        remove(&[&"not-a-uuid".to_owned()]),
        remove(&[&m[2]]),
    ]))
    .await;
    assert_eq!(
        w.new_events(),
        [
            added(&[&o[0], &o[1]]),
            removed(&[&m[1]]),
            added(&[&o[2]]),
            removed(&[&m[2]]),
        ]
    );
    assert_eq!(w.new_versions(), 1, "one version per PATCH");
    assert_eq!(w.members_now(), sorted([&m[0], &o[0], &o[1], &o[2]]));
}

#[tokio::test]
async fn a_member_removed_and_added_back_in_one_patch_is_changed_in_order() {
    let w = world(2, 1).await;
    let (m, o) = (&w.members, &w.others);
    // Out and back in: still a member, with both events.
    w.patch_ok(json!([remove(&[&m[0]]), add(&[&m[0]])])).await;
    assert_eq!(w.members_now(), sorted(m));
    assert_eq!(w.new_events(), [removed(&[&m[0]]), added(&[&m[0]])]);
    // In and out again: not a member, with both events.
    w.patch_ok(json!([add(&[&o[0]]), remove(&[&o[0]])])).await;
    assert_eq!(w.members_now(), sorted(m));
    assert_eq!(
        w.events_after(w.events0 + 2),
        [added(&[&o[0]]), removed(&[&o[0]])]
    );
    // Named twice in one add: added once.
    w.patch_ok(json!([add(&[&o[0], &o[0]])])).await;
    assert_eq!(w.events_after(w.events0 + 4), [added(&[&o[0]])]);
    assert_eq!(w.new_versions(), 3);
}

#[tokio::test]
async fn a_value_filter_remove_a_replace_and_a_rename_with_members_still_work() {
    let w = world(3, 2).await;
    let (m, o) = (&w.members, &w.others);
    w.patch_ok(json!([
        {"op": "remove", "path": format!("members[value eq \"{}\"]", m[0])},
        {"op": "replace", "path": "displayName", "value": "Sales EMEA"},
        add(&[&o[0]]),
    ]))
    .await;
    assert_eq!(w.members_now(), sorted([&m[1], &m[2], &o[0]]));
    let read = w.app.json(w.app.scim_get(&w.token, &w.path()).await).await;
    assert_eq!(read["displayName"], "Sales EMEA");
    w.patch_ok(json!([{"op": "replace", "path": "members", "value": [{"value": o[1]}]}]))
        .await;
    assert_eq!(w.members_now(), sorted([&o[1]]));
    w.patch_ok(json!([{"op": "remove", "path": "members"}]))
        .await;
    assert!(w.members_now().is_empty());
}

#[tokio::test]
async fn if_match_guards_a_member_patch() {
    let w = world(1, 1).await;
    let send = |etag: String| {
        w.app
            .client
            .patch(w.app.url(&format!("/scim/v2{}", w.path())))
            .bearer_auth(&w.token)
            .header("if-match", etag)
            .json(&patch_op(json!([add(&[&w.others[0]])])))
            .send()
    };
    let res = send(format!("W/\"{}\"", w.version0 + 7)).await.unwrap();
    assert_eq!(res.status(), 412);
    assert_eq!(w.members_now(), sorted(&w.members));
    let res = send(format!("W/\"{}\"", w.version0)).await.unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    assert_eq!(w.new_versions(), 1);
    assert_eq!(w.members_now(), sorted([&w.members[0], &w.others[0]]));
}

#[tokio::test]
async fn a_tenant_that_pulls_its_people_refuses_a_member_patch() {
    let w = world(1, 1).await;
    w.set_source("graph");
    let res = w
        .patch(json!([remove(&[&w.members[0]]), add(&[&w.others[0]])]))
        .await;
    assert_eq!(res.status(), 409);
    assert_eq!(w.app.json(res).await["status"], "409");
    assert_eq!(w.members_now(), sorted(&w.members));
    assert_eq!(w.new_events(), []);
    // Refused before the group is looked for: a missing one is 409 too.
    assert_eq!(w.patch_a_missing_group().await, 409);
    // Back on SCIM, a missing group is 404, and the PATCH goes through.
    w.set_source("scim");
    assert_eq!(w.patch_a_missing_group().await, 404);
    w.patch_ok(json!([remove(&[&w.members[0]]), add(&[&w.others[0]])]))
        .await;
    assert_eq!(w.members_now(), sorted(&w.others));
}

#[derive(QueryableByName, Debug)]
struct Kept {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    generic_plans: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    custom_plans: i64,
}

#[derive(QueryableByName)]
struct PlanLine {
    #[diesel(sql_type = Text)]
    #[diesel(column_name = "QUERY PLAN")]
    line: String,
}

/// The indexes that find a row by its id: the primary keys, and a member's memberships.
/// The others lead with the tenant, so a probe through one would read the tenant's rows.
const PROBES: [&str; 5] = [
    "users_pkey",
    "groups_pkey",
    "tenants_pkey",
    "group_members_pkey",
    "group_members_member",
];

/// The statements of a member PATCH: the lock (with the tenant's test) and the change.
const PATCH_STATEMENTS: [&str; 2] = ["%FOR UPDATE OF g%", "%jsonb_array_elements(%"];

/// The plan PostgreSQL keeps for the prepared statement `name` of `conn`. A generic plan
/// does not depend on the values, only on their types, so any value of each type does.
fn generic_plan(conn: &mut diesel::PgConnection, name: &str, id: &str) -> String {
    #[derive(QueryableByName)]
    struct Types {
        #[diesel(sql_type = diesel::sql_types::Array<Text>)]
        types: Vec<String>,
    }
    let types = diesel::sql_query(
        "SELECT parameter_types::text[] AS types FROM pg_prepared_statements WHERE name = $1",
    )
    .bind::<Text, _>(name)
    .get_result::<Types>(conn)
    .unwrap()
    .types;
    let args: Vec<String> = types
        .iter()
        .map(|t| match t.as_str() {
            "uuid" => format!("'{id}'"),
            "jsonb" => format!("'{}'", json!([{"change": "add", "id": id, "op": 0}])),
            "text" => "'x'".to_owned(),
            "timestamp with time zone" => "now()".to_owned(),
            other => panic!("a parameter of type {other}"),
        })
        .collect();
    diesel::sql_query("SET plan_cache_mode = force_generic_plan")
        .execute(conn)
        .unwrap();
    let lines: Vec<PlanLine> =
        diesel::sql_query(format!("EXPLAIN EXECUTE {name}({})", args.join(", ")))
            .load(conn)
            .unwrap();
    diesel::sql_query("RESET plan_cache_mode")
        .execute(conn)
        .unwrap();
    lines.into_iter().map(|l| l.line + "\n").collect()
}

/// A member PATCH is two statements, each prepared once and planned once: PostgreSQL
/// keeps their generic plans. Those find each row by its id, and never by a scan of a
/// table, of the group or of the tenant, with no statistics and with fresh ones.
#[tokio::test]
async fn a_member_patch_is_two_kept_statements_that_only_probe_primary_keys() {
    let app = crate::helpers::spawn_app_with(|s| s.pool_size = 1).await;
    let token = app.tenant_with_token("contoso").await;
    let ids = app
        .create_users(&token, (0..2).map(|i| format!("m{i}@contoso.com")))
        .await;
    let group = app
        .create_group(
            &token,
            &json!({"displayName": "Pair", "members": [{"value": ids[0]}]}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/Groups/{group}");
    let patch = |i: usize| {
        let (out, into) = if i.is_multiple_of(2) { (0, 1) } else { (1, 0) };
        let body = patch_op(json!([remove(&[&ids[out]]), add(&[&ids[into]])]));
        let (app, token, path) = (&app, &token, &path);
        async move { app.scim_patch(token, path, &body).await }
    };
    for i in 0..12 {
        assert!(patch(i).await.status().is_success());
    }
    // The pool's one connection, which served every PATCH.
    let mut pooled = app.pool.get().unwrap();
    let conn: &mut diesel::PgConnection = &mut pooled;
    let mut names = Vec::new();
    for pattern in PATCH_STATEMENTS {
        let kept: Vec<Kept> = diesel::sql_query(
            "SELECT name, generic_plans, custom_plans FROM pg_prepared_statements \
             WHERE statement LIKE $1",
        )
        .bind::<Text, _>(pattern)
        .load(conn)
        .unwrap();
        assert_eq!(kept.len(), 1, "{pattern}: {kept:?}");
        assert!(kept[0].custom_plans <= 5, "{pattern}: {kept:?}");
        assert!(kept[0].generic_plans >= 7, "{pattern}: {kept:?}");
        names.push(kept[0].name.clone());
    }

    // (A table of one page, such as this one tenant's, is read whole when the statistics
    // say so: that is no scan of a table that grows.)
    let check = |conn: &mut diesel::PgConnection, when: &str, small: &[&str]| {
        for name in &names {
            let plan = generic_plan(conn, name, &group);
            for line in plan.lines().filter(|l| l.contains("Seq Scan on ")) {
                assert!(
                    small
                        .iter()
                        .any(|t| line.contains(&format!("Seq Scan on {t} "))),
                    "{when}: {line}\n{plan}"
                );
            }
            for line in plan.lines().filter(|l| l.contains(" using ")) {
                assert!(
                    PROBES
                        .iter()
                        .any(|i| line.contains(&format!(" using {i} on "))),
                    "{when}: {line}\n{plan}"
                );
            }
        }
    };
    check(conn, "no statistics", &[]);
    // Then a tenant of thousands in groups of every size, and fresh statistics.
    diesel::sql_query(
        "WITH t AS (SELECT id FROM tenants WHERE slug = 'contoso'), \
         u AS (INSERT INTO users (id, tenant_id, user_name, resource) \
           SELECT gen_random_uuid(), t.id, 'bulk' || i || '@contoso.com', '{}' \
           FROM t, generate_series(1, 5000) AS i RETURNING id, tenant_id), \
         g AS (INSERT INTO groups (id, tenant_id, display_name) \
           SELECT gen_random_uuid(), t.id, 'G' || i FROM t, generate_series(1, 3000) AS i \
           RETURNING id, tenant_id, display_name) \
         INSERT INTO group_members (group_id, member_id, member_type, tenant_id) \
         SELECT g.id, u.id, 'User', g.tenant_id FROM g JOIN u ON g.display_name = 'G1' \
            OR (g.display_name <> 'G1' AND random() < 0.001)",
    )
    .execute(conn)
    .unwrap();
    diesel::sql_query("ANALYZE").execute(conn).unwrap();
    check(conn, "fresh statistics", &["tenants"]);
    drop(pooled);
    assert!(patch(12).await.status().is_success());
}

/// PATCHes that arrive at a group while its row is locked are committed together, each
/// still all-or-nothing: the ones naming an unknown member (as an add, or in a replace of
/// every member, which the general path applies step by step) fail alone and change nothing,
/// the others each move the version once, write their events once, and get their own
/// ETag; the versions and the events are those of the PATCHes applied one by one.
#[tokio::test]
async fn patches_that_wait_for_one_group_are_committed_together_each_all_or_nothing() {
    let w = world(12, 12).await;
    // Another transaction holds the group's row, so the PATCHes queue behind it.
    let mut holder = w.app.db.conn();
    diesel::sql_query("BEGIN").execute(&mut holder).unwrap();
    diesel::sql_query("SELECT 1 FROM groups WHERE id = $1 FOR UPDATE")
        .bind::<SqlUuid, _>(w.gid())
        .execute(&mut holder)
        .unwrap();
    let unknown = Uuid::now_v7().to_string();
    let (w, unknown) = (&w, &unknown);
    let sent = futures_util::future::join_all((0..24).map(|i| {
        let k = i / 2;
        let ops = if i % 2 == 0 {
            json!([remove(&[&w.members[k]]), add(&[&w.others[k]])])
        } else if i % 4 == 1 {
            // Half of them name a member that does not exist: refused whole, on the
            // one-statement path (an add) or on the general one (a replace).
            json!([remove(&[&w.others[k]]), add(&[unknown])])
        } else {
            json!([{"op": "Replace", "path": "members", "value": [{"value": &w.others[k]}, {"value": unknown}]}])
        };
        async move {
            let res = w.patch(ops).await;
            let etag = res
                .headers()
                .get("etag")
                .map(|v| v.to_str().unwrap().to_owned());
            (i, res.status().as_u16(), etag)
        }
    }));
    let release = async {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        diesel::sql_query("COMMIT").execute(&mut holder).unwrap();
    };
    let (answers, ()) = tokio::join!(sent, release);
    let mut etags = std::collections::HashSet::new();
    for (i, status, etag) in &answers {
        if i % 2 == 0 {
            assert_eq!(*status, 204, "PATCH {i}");
            assert!(
                etags.insert(etag.clone().unwrap()),
                "PATCH {i}: its own ETag"
            );
        } else {
            assert_eq!(*status, 400, "PATCH {i}");
        }
    }
    let mut expected: Vec<&String> = w.others.iter().collect();
    assert_eq!(w.members_now(), sorted(expected.drain(..)));
    assert_eq!(w.new_versions(), 12);
    let events = w.new_events();
    assert_eq!(events.len(), 24, "{events:?}");
    for k in 0..12 {
        let out = removed(&[&w.members[k]]);
        let at = |e: &(String, Value)| events.iter().position(|x| x == e).unwrap();
        assert_eq!(at(&added(&[&w.others[k]])), at(&out) + 1, "{k}");
    }
    // They were committed together: the first alone (it waited for the row; another may
    // have joined it before it started), then those that queued behind it in one
    // transaction.
    let metrics = w.app.metrics().await;
    let counter = |name: &str| -> u64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
            .unwrap_or_else(|| panic!("{name} in {metrics}"))
    };
    let (transactions, writes) = (
        counter("scimd_db_together_transactions_total "),
        counter("scimd_db_together_writes_total "),
    );
    assert!(
        (1..=2).contains(&transactions) && writes >= 23,
        "{writes} writes in {transactions} transactions"
    );
}
