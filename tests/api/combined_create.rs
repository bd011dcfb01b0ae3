//! Creates written together (`store::users::insert_each_if_new_async`, behind
//! `FastPath::create_user`): each user gets the outcome it would have had alone.

use diesel::sql_types::{BigInt, Integer, Uuid as SqlUuid};
use diesel::{PgConnection, QueryableByName, RunQueryDsl};
use serde_json::{json, Value};
use uuid::Uuid;

use scimd::domain::Source;
use scimd::provisioning::tenants::{self, TenantSlug};
use scimd::provisioning::users::data_of;
use scimd::store::events::NewEvent;
use scimd::store::fast::connect;
use scimd::store::users::{insert_each_if_new_async, NewUser};

use crate::helpers::{count_drift, spawn_app, user_body, TestDb};

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn count(conn: &mut PgConnection, sql: &str) -> i64 {
    diesel::sql_query(sql)
        .get_result::<Count>(conn)
        .expect("count")
        .n
}

fn tenant(conn: &mut PgConnection, slug: &str) -> Uuid {
    tenants::create(conn, &TenantSlug::parse(slug).expect("slug"), None)
        .expect("tenant")
        .id
}

/// A new user of `tenant` and its creation event, as a SCIM create makes them.
pub fn entry(
    tenant_id: Uuid,
    user_name: &str,
    external_id: &str,
    email: &str,
) -> (NewUser<'static>, NewEvent) {
    let data = data_of(json!({
        "userName": user_name,
        "externalId": external_id,
        "emails": [{"value": email, "type": "work"}],
    }))
    .expect("valid user");
    let id = Uuid::now_v7();
    let event = NewEvent {
        tenant_id,
        kind: "user.created".into(),
        resource_type: "User".into(),
        resource_id: Some(id),
        actor: "token:test".into(),
        request_id: Some(format!("req-{user_name}")),
        data: json!({"userName": user_name}),
    };
    let new = NewUser {
        id,
        tenant_id,
        source: Source::Scim,
        source_ref: None,
        data,
    };
    (new, event)
}

/// What the trigger of [`watch_inserts`] does besides logging.
#[derive(Clone, Copy, PartialEq)]
enum Also {
    Nothing,
    /// An INSERT of more than one row fails.
    FailCombined,
    /// Every INSERT takes 200 ms longer, so that requests arriving meanwhile wait.
    Slow,
}

/// Records, for every INSERT statement on users, how many rows it wrote.
fn watch_inserts(conn: &mut PgConnection, also: Also) {
    let raise = match also {
        Also::Nothing => "",
        Also::FailCombined => {
            "IF (SELECT count(*) FROM written) > 1 THEN RAISE EXCEPTION 'no combined inserts here'; END IF;"
        }
        Also::Slow => "PERFORM pg_sleep(0.2);",
    };
    diesel::sql_query("CREATE TABLE insert_log (at serial, n integer)")
        .execute(conn)
        .expect("log table");
    diesel::sql_query(format!(
        "CREATE FUNCTION log_insert() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
         {raise} INSERT INTO insert_log (n) SELECT count(*) FROM written; RETURN NULL; END $$"
    ))
    .execute(conn)
    .expect("trigger function");
    diesel::sql_query(
        "CREATE TRIGGER log_insert AFTER INSERT ON users REFERENCING NEW TABLE AS written \
         FOR EACH STATEMENT EXECUTE FUNCTION log_insert()",
    )
    .execute(conn)
    .expect("trigger");
}

fn insert_log(conn: &mut PgConnection) -> Vec<i32> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Integer)]
        n: i32,
    }
    diesel::sql_query("SELECT n FROM insert_log ORDER BY at")
        .load::<Row>(conn)
        .expect("log")
        .into_iter()
        .map(|r| r.n)
        .collect()
}

/// Every user of the tenants has exactly one event, the one its create carried.
fn one_event_each(conn: &mut PgConnection) {
    let users = count(conn, "SELECT count(*) AS n FROM users");
    let matched = count(
        conn,
        "SELECT count(*) AS n FROM users u JOIN events e ON e.resource_id = u.id \
         AND e.tenant_id = u.tenant_id AND e.type = 'user.created' \
         AND e.request_id = 'req-' || u.user_name",
    );
    let events = count(conn, "SELECT count(*) AS n FROM events");
    assert_eq!((matched, events), (users, users), "one event per user");
}

#[tokio::test]
async fn combined_creates_have_each_the_outcome_it_would_have_had_alone() {
    let db = TestDb::new();
    let mut conn = db.conn();
    let acme = tenant(&mut conn, "acme");
    let other = tenant(&mut conn, "other");
    let pulled = tenant(&mut conn, "pulled");
    diesel::sql_query("UPDATE tenants SET source = 'graph' WHERE id = $1")
        .bind::<SqlUuid, _>(pulled)
        .execute(&mut conn)
        .expect("pull mode");
    let mut async_conn = connect(db.url.expose().to_owned()).await.expect("connect");
    let (old, old_event) = entry(acme, "old@x.test", "ext-old", "old@x.test");
    let first = insert_each_if_new_async(&mut async_conn, &[(old, old_event)], &Source::PULL).await;
    assert!(matches!(first.as_slice(), [Ok(Some(_))]), "{first:?}");
    watch_inserts(&mut conn, Also::Nothing);

    let entries = vec![
        entry(acme, "ann@x.test", "ext-ann", "ann@x.test"),
        entry(acme, "bob@x.test", "ext-bob", "bob@x.test"),
        // The same userName as the first, in another case: it meets ann's row.
        entry(acme, "ANN@x.test", "ext-ann-2", "ann2@x.test"),
        // The email of a user already there (the column is lower-cased).
        entry(acme, "cat@x.test", "ext-cat", "OLD@x.test"),
        // A tenant that pulls its people takes no SCIM create here.
        entry(pulled, "dan@x.test", "ext-dan", "dan@x.test"),
        entry(acme, "eve@x.test", "ext-eve", "eve@x.test"),
        // The same userName as the first, in another tenant: a different person.
        entry(other, "ann@x.test", "ext-ann", "ann@x.test"),
        // The same externalId as bob.
        entry(acme, "fay@x.test", "ext-bob", "fay@x.test"),
    ];
    let outcomes = insert_each_if_new_async(&mut async_conn, &entries, &Source::PULL).await;
    let written: Vec<Option<&str>> = outcomes
        .iter()
        .map(|o| {
            o.as_ref()
                .expect("no error")
                .as_ref()
                .map(|v| v.user.user_name.as_str())
        })
        .collect();
    assert_eq!(
        written,
        [
            Some("ann@x.test"),
            Some("bob@x.test"),
            None,
            None,
            None,
            Some("eve@x.test"),
            Some("ann@x.test"),
            None,
        ]
    );
    for (outcome, (new, _)) in outcomes.iter().zip(&entries) {
        if let Ok(Some(view)) = outcome {
            assert_eq!((view.user.id, view.user.tenant_id), (new.id, new.tenant_id));
        }
    }
    // One statement for all eight: the two that match an earlier one of them are not
    // written, as they would not have been after it.
    assert_eq!(insert_log(&mut conn), [4]);
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM users"), 5);
    one_event_each(&mut conn);
    assert_eq!(count_drift(&mut conn), [], "each tenant's count");
    // Each row's email values (the index behind `emails.value eq`) are its own.
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) AS n FROM users WHERE emails = jsonb_build_array(email)"
        ),
        5
    );
}

#[tokio::test]
async fn when_the_combined_statement_fails_each_user_is_written_alone() {
    let db = TestDb::new();
    let mut conn = db.conn();
    let acme = tenant(&mut conn, "acme");
    watch_inserts(&mut conn, Also::FailCombined);
    let mut async_conn = connect(db.url.expose().to_owned()).await.expect("connect");
    let entries: Vec<_> = ["ann", "bob", "cat"]
        .iter()
        .map(|n| {
            entry(
                acme,
                &format!("{n}@x.test"),
                &format!("ext-{n}"),
                &format!("{n}@x.test"),
            )
        })
        .collect();
    let outcomes = insert_each_if_new_async(&mut async_conn, &entries, &Source::PULL).await;
    assert!(
        outcomes.iter().all(|o| matches!(o, Ok(Some(_)))),
        "{outcomes:?}"
    );
    // The failed statement left nothing; each of the three wrote its own row.
    assert_eq!(insert_log(&mut conn), [1, 1, 1]);
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM users"), 3);
    one_event_each(&mut conn);
    assert_eq!(count_drift(&mut conn), [], "each tenant's count");
}

#[tokio::test]
async fn concurrent_creates_through_the_server_are_written_together_each_with_its_own_answer() {
    let app = spawn_app().await;
    let token = app.tenant_with_token("acme").await;
    // Slow inserts: requests that arrive while one is written wait, and go together.
    watch_inserts(&mut app.db.conn(), Also::Slow);
    let distinct = (0..24).map(|i| user_body(&format!("user{i}@example.com")));
    let same = (0..8).map(|_| user_body("same@example.com"));
    let bodies: Vec<Value> = distinct.chain(same).collect();
    let responses = futures_util::future::join_all(
        bodies
            .iter()
            .map(|body| app.scim_post(&token, "/Users", body)),
    )
    .await;
    let mut statuses = Vec::new();
    for (body, res) in bodies.iter().zip(responses) {
        let status = res.status().as_u16();
        let json: Value = res.json().await.expect("json body");
        if status == 201 {
            assert_eq!(json["userName"], body["userName"]);
            let got = app
                .scim_get(&token, &format!("/Users/{}", json["id"].as_str().unwrap()))
                .await;
            assert_eq!(got.status().as_u16(), 200);
        } else {
            assert_eq!(
                (status, json["scimType"].as_str()),
                (409, Some("uniqueness"))
            );
        }
        statuses.push(status);
    }
    assert!(statuses[..24].iter().all(|s| *s == 201), "{statuses:?}");
    let same_created = statuses[24..].iter().filter(|s| **s == 201).count();
    assert_eq!(same_created, 1, "{statuses:?}");
    let mut conn = app.db.conn();
    let log = insert_log(&mut conn);
    assert!(
        log.iter().any(|n| *n > 1),
        "some statement wrote several users: {log:?}"
    );
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM users"), 25);
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) AS n FROM events WHERE type = 'user.created'"
        ),
        25
    );
    assert_eq!(count_drift(&mut conn), [], "the tenant's count");
}
