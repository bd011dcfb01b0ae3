//! The hot lookups are answered from indexes: on a tenant of 100,000 users, the plans of
//! `userName eq`, `externalId eq`, `id eq`, `displayName eq` and `emails.value eq` have no
//! sequential scan of the users table.

use diesel::{QueryableByName, RunQueryDsl};

use scimd::scim::filter::parse_filter;
use scimd::store::filter::Sql;
use scimd::store::search::{from_where, page_sql, Kind, ListQuery, Start};

use crate::helpers::TestDb;

#[derive(QueryableByName)]
struct PlanLine {
    #[diesel(sql_type = diesel::sql_types::Text, column_name = "QUERY PLAN")]
    line: String,
}

fn explain(conn: &mut diesel::PgConnection, sql: Sql) -> String {
    let mut explained = Sql::new();
    explained.push("EXPLAIN ").push(&sql.text);
    explained.binds = sql.binds;
    explained
        .into_query()
        .load::<PlanLine>(conn)
        .expect("explain")
        .into_iter()
        .map(|l| l.line)
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn hot_lookups_use_indexes_on_a_tenant_of_100000_users() {
    let db = TestDb::new();
    let mut conn = db.conn();
    let tenant = scimd::provisioning::tenants::create(
        &mut conn,
        &scimd::provisioning::tenants::TenantSlug::parse("big").expect("slug"),
        None,
    )
    .expect("tenant");
    // 100,000 people, and a second tenant so the tenant predicate is selective too.
    diesel::sql_query(
        "INSERT INTO users (id, tenant_id, user_name, external_id, display_name, resource, email)
         SELECT gen_random_uuid(), $1, 'user' || i || '@big.example', 'ext-' || i, 'User ' || i,
                jsonb_build_object('userName', 'user' || i || '@big.example',
                                   'displayName', 'User ' || i,
                                   'emails', jsonb_build_array(jsonb_build_object('value', 'user' || i || '@big.example', 'type', 'work'))),
                'user' || i || '@big.example'
         FROM generate_series(1, 100000) AS i",
    )
    .bind::<diesel::sql_types::Uuid, _>(tenant.id)
    .execute(&mut conn)
    .expect("seed");
    diesel::sql_query("ANALYZE users")
        .execute(&mut conn)
        .expect("analyze");
    let id = uuid::Uuid::new_v4();
    for filter in [
        r#"userName eq "user77@big.example""#.to_owned(),
        r#"externalId eq "ext-77""#.to_owned(),
        format!(r#"id eq "{id}""#),
        r#"displayName eq "User 77""#.to_owned(),
        r#"emails.value eq "USER77@big.example""#.to_owned(),
    ] {
        let parsed = parse_filter(&filter).expect("filter");
        let q = ListQuery {
            filter: Some(&parsed),
            sort_by: None,
            descending: false,
            start: Start::Offset(0),
            count: 100,
            total: false,
        };
        let page = explain(
            &mut conn,
            page_sql(Kind::Users, tenant.id, &q, "http://x").expect("sql"),
        );
        assert!(!page.contains("Seq Scan on users"), "{filter}:\n{page}");
        let mut count = Sql::new();
        let body = from_where(Kind::Users, tenant.id, Some(&parsed), "http://x").expect("sql");
        count.push("SELECT count(*)").push(&body.text);
        count.binds = body.binds;
        let plan = explain(&mut conn, count);
        assert!(
            !plan.contains("Seq Scan on users"),
            "{filter} (count):\n{plan}"
        );
    }
}
