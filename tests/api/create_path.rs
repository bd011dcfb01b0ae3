//! The one-statement create (`store::users::insert_if_new`, which `provisioning::push`
//! tries first): it writes a brand-new user with its event, and writes nothing at all
//! whenever the full path must decide.

use diesel::sql_types::{BigInt, Text, Uuid as SqlUuid};
use diesel::{PgConnection, QueryableByName, RunQueryDsl};
use serde_json::json;
use uuid::Uuid;

use scimd::domain::Source;
use scimd::provisioning::events::Actor;
use scimd::provisioning::tenants::{self, TenantSlug};
use scimd::provisioning::users::{data_of, new_user};
use scimd::store::users::{insert_if_new, UserData, UserView};

use crate::helpers::TestDb;

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn count(conn: &mut PgConnection, sql: &str, tenant: Uuid) -> i64 {
    diesel::sql_query(sql)
        .bind::<SqlUuid, _>(tenant)
        .get_result::<Count>(conn)
        .expect("count")
        .n
}

fn rows(conn: &mut PgConnection, tenant: Uuid) -> (i64, i64) {
    (
        count(
            conn,
            "SELECT count(*) AS n FROM users WHERE tenant_id = $1",
            tenant,
        ),
        count(
            conn,
            "SELECT count(*) AS n FROM events WHERE tenant_id = $1",
            tenant,
        ),
    )
}

fn data(user_name: &str, external_id: &str, email: &str) -> UserData {
    data_of(json!({
        "userName": user_name,
        "externalId": external_id,
        "emails": [{"value": email, "type": "work", "primary": true}],
        "active": true,
    }))
    .expect("valid user")
}

/// The one-statement create of `d`: the user it wrote, if it wrote one.
fn create_new(conn: &mut PgConnection, actor: &Actor, d: UserData) -> Option<UserView> {
    let (new, event) = new_user(actor, Source::Scim, d);
    insert_if_new(conn, &new, &Source::PULL, &event).expect("no error")
}

/// The one-statement create of `d` writes nothing: the tenant keeps its one user and one
/// event.
fn hands_back(conn: &mut PgConnection, actor: &Actor, d: UserData, why: &str) {
    assert_eq!(create_new(conn, actor, d).map(|v| v.user.id), None, "{why}");
    assert_eq!(rows(conn, actor.tenant_id), (1, 1), "{why}");
}

#[test]
fn a_new_user_is_written_with_its_event_and_anything_to_decide_writes_nothing() {
    let db = TestDb::new();
    let mut conn = db.conn();
    let tenant = tenants::create(&mut conn, &TenantSlug::parse("fast").expect("slug"), None)
        .expect("tenant");
    let actor = Actor {
        tenant_id: tenant.id,
        actor: "token:test".into(),
        request_id: Some("req-1".into()),
    };

    let view = create_new(
        &mut conn,
        &actor,
        data("ann@x.test", "ext-ann", "ann@x.test"),
    )
    .expect("a brand-new user takes the one-statement path");
    assert_eq!(view.user.user_name, "ann@x.test");
    assert_eq!(rows(&mut conn, tenant.id), (1, 1));
    #[derive(QueryableByName)]
    struct Event {
        #[diesel(sql_type = Text)]
        type_: String,
        #[diesel(sql_type = Text)]
        request_id: String,
        #[diesel(sql_type = Text)]
        user_name: String,
    }
    let event: Event = diesel::sql_query(
        "SELECT type AS type_, request_id, data->>'userName' AS user_name FROM events \
         WHERE tenant_id = $1 AND resource_id = $2",
    )
    .bind::<SqlUuid, _>(tenant.id)
    .bind::<SqlUuid, _>(view.user.id)
    .get_result(&mut conn)
    .expect("the event of the new user");
    assert_eq!(
        (
            event.type_.as_str(),
            event.request_id.as_str(),
            event.user_name.as_str()
        ),
        ("user.created", "req-1", "ann@x.test")
    );

    // Each of these could be the same person: the data comes back, nothing is written.
    for (why, d) in [
        (
            "same userName, other case",
            data("ANN@x.test", "ext-2", "two@x.test"),
        ),
        (
            "same externalId",
            data("bob@x.test", "ext-ann", "bob@x.test"),
        ),
        ("same email", data("cat@x.test", "ext-3", "Ann@X.test")),
    ] {
        hands_back(&mut conn, &actor, d, why);
    }

    // A deprovisioned person is still a candidate (to be restored by the full path).
    diesel::sql_query("UPDATE users SET deprovisioned_at = now() WHERE tenant_id = $1")
        .bind::<SqlUuid, _>(tenant.id)
        .execute(&mut conn)
        .expect("deprovision");
    hands_back(
        &mut conn,
        &actor,
        data("ann@x.test", "ext-ann", "ann@x.test"),
        "a deprovisioned match goes to the full path",
    );

    // A tenant that pulls its people takes no SCIM write on this path either.
    diesel::sql_query("UPDATE tenants SET source = 'graph' WHERE id = $1")
        .bind::<SqlUuid, _>(tenant.id)
        .execute(&mut conn)
        .expect("pull mode");
    hands_back(
        &mut conn,
        &actor,
        data("dan@x.test", "ext-dan", "dan@x.test"),
        "pull mode goes to the full path, which answers 409",
    );
}
