//! `store::sql::Statement`: placeholders reach PostgreSQL as binds however the text uses
//! them, appended fragments keep their own values, and a cached statement is prepared
//! once per connection while an uncached one is never kept.

use diesel::sql_types::Text;
use diesel::{QueryableByName, RunQueryDsl};

use scimd::store::rows::Count;
use scimd::store::sql::{Bind, Sql};

use crate::helpers::TestDb;

#[derive(QueryableByName, Debug, PartialEq)]
struct Pair {
    #[diesel(sql_type = Text)]
    a: String,
    #[diesel(sql_type = Text)]
    b: String,
}

/// `$2` used twice and before `$1`, and a `$` that is no placeholder.
fn reordered(first: &str, second: &str) -> Sql {
    Sql::fragment(
        "SELECT $2::text || $1::text AS a, $2::text || '$ref' AS b",
        vec![Bind::Text(first.to_owned()), Bind::Text(second.to_owned())],
    )
}

fn kept(conn: &mut diesel::PgConnection, fragment: &str) -> i64 {
    diesel::sql_query(
        "SELECT count(*) AS n FROM pg_prepared_statements WHERE NOT from_sql AND statement LIKE $1",
    )
    .bind::<Text, _>(format!("%{fragment}%"))
    .get_result::<Count>(conn)
    .expect("pg_prepared_statements")
    .n
}

/// Runs the statement `make` builds, uncached and then cached: both answer (`a`, `b`).
fn assert_answers(conn: &mut diesel::PgConnection, make: impl Fn() -> Sql, a: &str, b: &str) {
    for cached in [false, true] {
        let sql = make();
        let q = if cached {
            sql.into_cached_query()
        } else {
            sql.into_query()
        };
        let got: Pair = q.get_result(conn).expect("query");
        assert_eq!(
            got,
            Pair {
                a: a.into(),
                b: b.into()
            },
            "cached: {cached}"
        );
    }
}

#[test]
fn placeholders_bind_in_any_order_and_more_than_once() {
    let db = TestDb::new();
    assert_answers(&mut db.conn(), || reordered("x", "y"), "yx", "y$ref");
}

/// `$n` inside a string literal or a quoted identifier is text, as PostgreSQL reads it.
#[test]
fn a_dollar_number_in_a_literal_or_quoted_identifier_is_no_placeholder() {
    let db = TestDb::new();
    let make = || {
        let mut sql = Sql::new();
        sql.push(r#"SELECT '$1 and ''$2'''::text AS a, "$2"::text AS b FROM (SELECT "#);
        sql.bind(Bind::Text("bound".into()))
            .push(r#"::text AS "$2") t"#);
        sql
    };
    assert_answers(&mut db.conn(), make, "$1 and '$2'", "bound");
}

/// A fragment appended after binds of the receiver runs with its own values: its
/// placeholders are renumbered, not read as the receiver's.
#[test]
fn an_appended_fragment_runs_with_its_own_values() {
    let db = TestDb::new();
    let make = || {
        let mut sql = Sql::new();
        sql.push("SELECT ")
            .bind(Bind::Text("head".into()))
            .push("::text AS a, ");
        sql.append(Sql::fragment(
            "$2::text || $1::text || $2::text || '$1' AS b",
            vec![Bind::Text("1".into()), Bind::Text("2".into())],
        ));
        sql
    };
    assert_answers(&mut db.conn(), make, "head", "212$1");
}

#[test]
fn a_placeholder_without_its_bind_is_an_error_not_a_panic() {
    let db = TestDb::new();
    let mut conn = db.conn();
    let sql = Sql::fragment(
        "SELECT $3::text AS a, 'b' AS b",
        vec![Bind::Text("only one".into())],
    );
    let err = sql
        .into_query()
        .get_result::<Pair>(&mut conn)
        .expect_err("no bind for $3");
    assert!(err.to_string().contains("$3"), "{err}");
}

#[test]
fn cached_statements_are_prepared_once_and_uncached_ones_never_kept() {
    let db = TestDb::new();
    let mut conn = db.conn();
    for i in 0..5 {
        let mut sql = Sql::new();
        sql.push("SELECT 'kept-marker' AS a, ");
        sql.bind(Bind::Text(format!("v{i}"))).push("::text AS b");
        let got: Pair = sql
            .into_cached_query()
            .get_result(&mut conn)
            .expect("cached");
        assert_eq!(got.b, format!("v{i}"));

        let mut sql = Sql::new();
        sql.push("SELECT 'fresh-marker' AS a, ");
        sql.bind(Bind::Text(format!("v{i}"))).push("::text AS b");
        let got: Pair = sql.into_query().get_result(&mut conn).expect("uncached");
        assert_eq!(got.b, format!("v{i}"));
    }
    assert_eq!(
        kept(&mut conn, "kept-marker"),
        1,
        "one prepared statement, reused"
    );
    assert_eq!(
        kept(&mut conn, "fresh-marker"),
        0,
        "planned afresh each time"
    );
}
