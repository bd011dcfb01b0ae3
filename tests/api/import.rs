//! CSV import of manual people: plans, per-row errors, all-or-nothing, re-imports that
//! change nothing, and the hostile files.

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use serde_json::{json, Value};

use crate::helpers::{spawn_app_with_tenant, user_body, TestApp};

const T: &str = "/admin/v1/tenants/acme";
const HEADER: &str = "email,given_name,family_name,display_name,department,manager_email\n";

async fn import(app: &TestApp, dry_run: bool, content_type: &str, file: Vec<u8>) -> (u16, Value) {
    let res = app
        .client
        .post(app.url(&format!("{T}/people/import?dry_run={dry_run}")))
        .header(AUTHORIZATION, format!("Bearer {}", app.admin_key))
        .header(CONTENT_TYPE, content_type)
        .body(file)
        .send()
        .await
        .expect("request");
    let status = res.status().as_u16();
    let text = res.text().await.expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn csv(app: &TestApp, dry_run: bool, file: &str) -> (u16, Value) {
    import(app, dry_run, "text/csv", file.as_bytes().to_vec()).await
}

async fn counts(app: &TestApp) -> Value {
    app.admin_json(&format!("{T}/people/counts")).await
}

async fn everyone(app: &TestApp) -> Vec<Value> {
    let page = app
        .admin_json(&format!("{T}/people?limit=500&state=all"))
        .await;
    page["items"].as_array().expect("items").clone()
}

fn summary(v: &Value) -> (u64, u64, u64, usize) {
    (
        v["created"].as_u64().unwrap(),
        v["updated"].as_u64().unwrap(),
        v["unchanged"].as_u64().unwrap(),
        v["errors"].as_array().unwrap().len(),
    )
}

#[tokio::test]
async fn a_dry_run_plans_a_real_import_applies_and_a_reimport_changes_nothing() {
    let (app, _) = spawn_app_with_tenant("acme").await;
    // A BOM, CRLF line ends, quoted fields with commas, a manager later in the file.
    let file = "\u{feff}email,given_name,family_name,display_name,department,manager_email\r\n\
                ann@acme.test,Ann,Lee,\"Lee, Ann\",Sales,boss@acme.test\r\n\
                bob@acme.test,Bob,Ray,,Sales,ann@acme.test\r\n\
                boss@acme.test,Bo,Ss,,,\r\n";
    let (status, plan) = csv(&app, true, file).await;
    assert_eq!(status, 200, "{plan}");
    assert_eq!(plan["dry_run"], true);
    assert_eq!(summary(&plan), (3, 0, 0, 0));
    assert_eq!(counts(&app).await["total"], 0, "a dry run changes nothing");

    let (status, done) = csv(&app, false, file).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(summary(&done), (3, 0, 0, 0));
    let people = everyone(&app).await;
    assert_eq!(people.len(), 3);
    let by_email = |e: &str| {
        people
            .iter()
            .find(|p| p["userName"] == e)
            .cloned()
            .unwrap_or_else(|| panic!("{e} missing"))
    };
    let ann = by_email("ann@acme.test");
    assert_eq!(ann["displayName"], "Lee, Ann");
    assert_eq!(ann["source"], "manual");
    assert_eq!(ann["participating"], true);
    let boss = by_email("boss@acme.test");
    // The manager, resolved to an id, shows through SCIM's enterprise extension.
    let token = app.issue_token("acme", &json!({})).await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let scim_ann = app
        .json(
            app.scim_get(&token, &format!("/Users/{}", ann["id"].as_str().unwrap()))
                .await,
        )
        .await;
    assert_eq!(
        scim_ann["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["manager"]["value"],
        boss["id"]
    );

    let (status, again) = csv(&app, false, file).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(summary(&again), (0, 0, 3, 0));
    // Events: one user.created each, none for the re-import.
    let feed = app.admin_json(&format!("{T}/events?limit=1000")).await;
    let created = feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "user.created")
        .inspect(|e| assert!(e["actor"].as_str().unwrap().starts_with("import:")))
        .count();
    assert_eq!(created, 3);

    // A changed row updates that person only.
    let changed = file.replace("Bo,Ss,,,", "Bo,Ss,,Board,");
    let (status, upd) = csv(&app, false, &changed).await;
    assert_eq!(status, 200, "{upd}");
    assert_eq!(summary(&upd), (0, 1, 2, 0));
}

#[tokio::test]
async fn any_row_error_applies_nothing_and_names_every_bad_row() {
    let (app, _) = spawn_app_with_tenant("acme").await;
    let file = format!(
        "{HEADER}\
         good@acme.test,Good,One,,,\n\
         not-an-email,Bad,Two,,,\n\
         good2@acme.test,Good,Three,,,nobody@acme.test\n\
         GOOD@acme.test,Dup,Four,,,\n\
         short@acme.test,Only,Three\n\
         ,,,,,\n\
         self@acme.test,Me,Myself,,,self@acme.test\n\
         {}@acme.test,Long,Local,,,\n",
        "x".repeat(300)
    );
    for dry_run in [true, false] {
        let (status, s) = csv(&app, dry_run, &file).await;
        let errors: Vec<u64> = s["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("{s}"))
            .iter()
            .map(|e| e["row"].as_u64().unwrap())
            .collect();
        // Rows count from the header (row 1); the blank row 7 is skipped.
        assert_eq!(errors, [3, 5, 6, 8, 9, 4], "{s}");
        for e in s["errors"].as_array().unwrap() {
            assert!(!e["message"].as_str().unwrap().is_empty());
        }
        assert_eq!(status, if dry_run { 200 } else { 422 }, "{s}");
        assert_eq!(counts(&app).await["total"], 0, "nothing applied");
    }
}

#[tokio::test]
async fn people_another_source_manages_are_skipped_and_deprovisioned_ones_restored() {
    let (app, token) = spawn_app_with_tenant("acme").await;
    let scim = app.create_user(&token, &user_body("ann@acme.test")).await;
    let gone = app.create_user(&token, &user_body("old@acme.test")).await;
    app.scim_delete(&token, &format!("/Users/{}", gone["id"].as_str().unwrap()))
        .await;
    let file = format!("{HEADER}ann@acme.test,Ann,Other,,,\nold@acme.test,Old,Timer,,,\n");
    let (status, s) = csv(&app, false, &file).await;
    assert_eq!(status, 200, "{s}");
    assert_eq!(summary(&s), (0, 1, 0, 0));
    assert_eq!(s["skipped"][0]["row"], 2);
    assert!(s["skipped"][0]["message"]
        .as_str()
        .unwrap()
        .contains("scim"));
    // The SCIM person is untouched; the deprovisioned one is back, same id, manual.
    let ann = app
        .json(
            app.scim_get(&token, &format!("/Users/{}", scim["id"].as_str().unwrap()))
                .await,
        )
        .await;
    assert_eq!(ann["name"]["familyName"], "Smith");
    let old = app
        .admin_json(&format!("{T}/people/{}", gone["id"].as_str().unwrap()))
        .await;
    assert!(old["deprovisioned_at"].is_null(), "{old}");
    assert_eq!(old["source"], "manual");
}

#[tokio::test]
async fn hostile_files_get_a_clear_4xx_and_change_nothing() {
    let (app, _) = spawn_app_with_tenant("acme").await;
    let cases: Vec<(&str, &str, Vec<u8>, u16)> = vec![
        ("not csv", "application/json", b"{}".to_vec(), 415),
        (
            "latin-1 charset",
            "text/csv; charset=iso-8859-1",
            HEADER.as_bytes().to_vec(),
            415,
        ),
        ("empty", "text/csv", Vec::new(), 400),
        (
            "no email column",
            "text/csv",
            b"name,department\nAnn,Sales\n".to_vec(),
            400,
        ),
        (
            "unknown column",
            "text/csv",
            b"email,phone\na@b.c,1\n".to_vec(),
            400,
        ),
        (
            "repeated column",
            "text/csv",
            b"email,email\na@b.c,a@b.c\n".to_vec(),
            400,
        ),
        (
            "utf-16",
            "text/csv",
            {
                let mut v = vec![0xFF, 0xFE];
                for u in "email\r\na@b.c\r\n".encode_utf16() {
                    v.extend_from_slice(&u.to_le_bytes());
                }
                v
            },
            415,
        ),
    ];
    for (what, ct, file, code) in cases {
        let (status, e) = import(&app, false, ct, file).await;
        assert_eq!(status, code, "{what}: {e}");
        assert!(e["detail"].as_str().is_some(), "{what}: {e}");
    }
    // A Latin-1 byte in a data row is that row's error.
    let mut latin1 = HEADER.as_bytes().to_vec();
    latin1.extend_from_slice(b"ok@acme.test,Ann,,,,\nrene@acme.test,Ren\xE9,,,,\n");
    let (status, s) = import(&app, false, "text/csv", latin1).await;
    assert_eq!(status, 422, "{s}");
    assert_eq!(s["errors"][0]["row"], 3);
    assert!(s["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("UTF-8"));
    // A 50 MB file: 413, whether announced by its length or not.
    let mut big = HEADER.as_bytes().to_vec();
    let mut i = 0u64;
    while big.len() < 50 * 1024 * 1024 {
        big.extend_from_slice(
            format!("user{i}@acme.test,Given,Family,Display Name,Department,\n").as_bytes(),
        );
        i += 1;
    }
    let (status, e) = import(&app, false, "text/csv", big.clone()).await;
    assert_eq!(status, 413, "{e}");
    let stream = futures_util::stream::iter(
        big.chunks(1 << 20)
            .map(|c| Ok::<_, std::io::Error>(c.to_vec()))
            .collect::<Vec<_>>(),
    );
    let res = app
        .client
        .post(app.url(&format!("{T}/people/import")))
        .header(AUTHORIZATION, format!("Bearer {}", app.admin_key))
        .header(CONTENT_TYPE, "text/csv")
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await;
    // The server answers 413 as soon as the limit is passed; it may close the connection
    // before the client has sent everything, which reqwest can report as an error.
    if let Ok(res) = res {
        assert_eq!(res.status(), 413);
    }
    assert_eq!(counts(&app).await["total"], 0, "nothing applied");
}

/// One person, matched by two rows of a file (one by email, one by userName): a row error,
/// never a server error, and nothing applied.
#[tokio::test]
async fn two_rows_matching_one_person_are_a_row_error() {
    let (app, token) = spawn_app_with_tenant("acme").await;
    let mut b = user_body("lee@acme.test");
    b["emails"] = json!([{"value": "kim@acme.test", "type": "work", "primary": true}]);
    let person = app.create_user(&token, &b).await;
    // The tenant's people become manual, so the import may change them.
    let res = app
        .admin_post(&format!("{T}/disconnect"), &json!({"keep_people": true}))
        .await;
    assert_eq!(res.status(), 200);
    let file = format!("{HEADER}kim@acme.test,Kim,One,,,\nlee@acme.test,Lee,Two,,,\n");
    for dry_run in [true, false] {
        let (status, s) = csv(&app, dry_run, &file).await;
        assert_eq!(status, if dry_run { 200 } else { 422 }, "{s}");
        assert_eq!(s["errors"].as_array().unwrap().len(), 1, "{s}");
        assert_eq!(s["errors"][0]["row"], 3, "{s}");
    }
    let after = app
        .admin_json(&format!("{T}/people/{}", person["id"].as_str().unwrap()))
        .await;
    assert_eq!(
        after["userName"], "lee@acme.test",
        "nothing applied: {after}"
    );
    assert_eq!(counts(&app).await["total"], 1);
}

/// The import tells how far it has gone after each batch of rows (read, checked and
/// applied in its transaction), and last the file's rows, which `count_rows` knew before
/// it started. The console's jobs write this to their row as they go.
#[tokio::test]
async fn an_import_reports_its_rows_done_after_each_batch() {
    use scimd::provisioning::events::Actor;
    use scimd::provisioning::import::{self as csv_import, Outcome};

    let (app, _) = spawn_app_with_tenant("acme").await;
    let tenant_id = {
        #[derive(diesel::QueryableByName)]
        struct Id {
            #[diesel(sql_type = diesel::sql_types::Uuid)]
            id: uuid::Uuid,
        }
        let mut conn = app.db.conn();
        diesel::RunQueryDsl::get_result::<Id>(
            diesel::sql_query("SELECT id FROM tenants WHERE slug = 'acme'"),
            &mut conn,
        )
        .unwrap()
        .id
    };
    let mut file = String::from("email,display_name\n");
    for i in 0..2500 {
        // Every tenth name is quoted, with a comma; every hundredth row is followed by a
        // blank one, which is no row.
        if i % 10 == 0 {
            file.push_str(&format!("p{i}@acme.test,\"P, {i}\"\n"));
        } else {
            file.push_str(&format!("p{i}@acme.test,P {i}\n"));
        }
        if i % 100 == 0 {
            file.push_str(",\n");
        }
    }
    assert_eq!(csv_import::count_rows(file.as_bytes()).unwrap(), 2500);
    let actor = Actor {
        tenant_id,
        actor: "import:test".into(),
        request_id: None,
    };
    let seen = std::cell::RefCell::new(Vec::new());
    let mut conn = app.pool.get().unwrap();
    let outcome = csv_import::import(
        &mut conn,
        &actor,
        file.as_bytes(),
        false,
        chrono::Utc::now(),
        |_| None,
        &|n| seen.borrow_mut().push(n),
    )
    .unwrap();
    drop(conn);
    assert_eq!(seen.into_inner(), [1000, 2000, 2500]);
    let Outcome::Done(summary) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!((summary.rows, summary.created), (2500, 2500));
    assert_eq!(counts(&app).await["total"], 2500);
}
