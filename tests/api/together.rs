//! Writes committed together (`Db::run_together`), at the store: a write that meets a
//! database error without a savepoint of its own aborts the transaction, and then no
//! write of the batch may be answered as done.

use std::time::Duration;

use diesel::{Connection, RunQueryDsl};

use scimd::error::Error;
use scimd::store::rows::Count;
use scimd::store::Db;

use crate::helpers::TestDb;

#[tokio::test]
async fn a_batch_aborted_by_one_write_answers_none_of_them_as_done_and_applies_none() {
    let test_db = TestDb::new();
    let mut setup = test_db.conn();
    diesel::sql_query("CREATE TABLE together_probe (v text PRIMARY KEY)")
        .execute(&mut setup)
        .unwrap();
    diesel::sql_query("INSERT INTO together_probe VALUES ('lock')")
        .execute(&mut setup)
        .unwrap();
    let db = Db::new(&test_db.url, 4, Duration::from_secs(5));
    let key = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());

    // The first write waits for a row another connection holds, so the next ones queue
    // behind it and run together once it is released.
    let mut holder = test_db.conn();
    diesel::sql_query("BEGIN").execute(&mut holder).unwrap();
    diesel::sql_query("SELECT 1 FROM together_probe WHERE v = 'lock' FOR UPDATE")
        .execute(&mut holder)
        .unwrap();
    let insert = |v: &'static str| {
        move |conn: &mut diesel::PgConnection| -> Result<(), Error> {
            conn.transaction(|conn| {
                diesel::sql_query(format!("INSERT INTO together_probe VALUES ('{v}')"))
                    .execute(conn)?;
                Ok(())
            })
        }
    };
    let first = db.run_together(key, |conn| {
        diesel::sql_query("SELECT 1 FROM together_probe WHERE v = 'lock' FOR UPDATE")
            .execute(conn)?;
        Ok(())
    });
    let before = db.run_together(key, insert("before"));
    // No savepoint: its error leaves the shared transaction aborted.
    let breaking = db.run_together(key, |conn| {
        diesel::sql_query("SELECT 1 / 0").execute(conn)?;
        Ok(())
    });
    let after = db.run_together(key, insert("after"));
    let release = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        diesel::sql_query("COMMIT").execute(&mut holder).unwrap();
    };
    let (first, before, breaking, after, ()) =
        tokio::join!(first, before, breaking, after, release);
    // Alone, or in the same batch as the others (which this runtime usually makes).
    assert!(
        first.as_ref().map_or_else(|e| e.status() == 503, |()| true),
        "{first:?}"
    );
    for (what, out) in [("before", before), ("breaking", breaking), ("after", after)] {
        let status = out.expect_err(what).status();
        assert_eq!(status, 503, "{what}: retry, nothing applied");
    }
    let rows = diesel::sql_query("SELECT count(*) AS n FROM together_probe WHERE v <> 'lock'")
        .get_result::<Count>(&mut setup)
        .unwrap()
        .n;
    assert_eq!(rows, 0, "nothing of the batch was applied");
    assert!(db.together().writes >= 3, "they ran together");
}
