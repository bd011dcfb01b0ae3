//! The fast path (a user by id, a filter lookup, a create that needs no decision, on async
//! connections), and the blocking path it falls back to.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use diesel::sql_types::{BigInt, Bool};
use diesel::QueryableByName;
use diesel_async::AsyncPgConnection;
use scimd::store::fast::{connect, FastPath};

use crate::helpers::{spawn_app_on, user_body, TestApp, TestDb};

/// An app with a blocking pool of two connections that gives up after 300 ms, its
/// database URL carrying `option` when given.
async fn app_with(option: Option<&str>) -> TestApp {
    let db = TestDb::new();
    let mut url = db.url.expose().to_owned();
    if let Some(option) = option {
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(option);
    }
    let url = scimd::config::DatabaseUrl::parse(&url).unwrap();
    spawn_app_on(db, |s| {
        s.database_url = url;
        s.pool_size = 2;
        s.pool_timeout = Duration::from_millis(300);
    })
    .await
}

/// A tenant, its token (verified and cached by one request) and one user's id.
async fn tenant_and_user(app: &TestApp) -> (String, String) {
    let token = app.tenant_with_token("acme").await;
    let user = app.create_user(&token, &user_body("ann@example.com")).await;
    (token, user["id"].as_str().unwrap().to_owned())
}

/// Group "Staff" with these members; its id.
async fn staff_group(app: &TestApp, token: &str, members: &[&str]) -> String {
    let members: Vec<_> = members
        .iter()
        .map(|id| serde_json::json!({"value": id}))
        .collect();
    let body = serde_json::json!({"displayName": "Staff", "members": members});
    let res = app.scim_post(token, "/Groups", &body).await;
    assert_eq!(res.status(), 201);
    app.json(res).await["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn reads_by_id_and_lookups_are_served_while_the_blocking_pool_is_exhausted() {
    let app = app_with(None).await;
    let (token, id) = tenant_and_user(&app).await;
    let group_id = staff_group(&app, &token, &[]).await;

    let held: Vec<_> = (0..2).map(|_| app.pool.get().unwrap()).collect();
    // The blocking pool is really out: a group read (which has no async path) waits and
    // gives up.
    let res = app.scim_get(&token, &format!("/Groups/{group_id}")).await;
    assert_eq!(res.status(), 503);

    let res = app.scim_get(&token, &format!("/Users/{id}")).await;
    assert_eq!(res.status(), 200);
    assert_eq!(app.json(res).await["userName"], "ann@example.com");
    let res = app
        .scim_get(
            &token,
            "/Users?filter=userName%20eq%20%22ANN@example.com%22",
        )
        .await;
    assert_eq!(res.status(), 200);
    let body = app.json(res).await;
    assert_eq!(body["totalResults"], 1);
    assert_eq!(body["Resources"][0]["id"], id.as_str());
    // A lookup that finds nothing, and an unknown id, as on the blocking path.
    let res = app
        .scim_get(
            &token,
            "/Users?filter=userName%20eq%20%22nobody@example.com%22",
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(app.json(res).await["totalResults"], 0);
    // A page past the match: totalResults comes from the count statement.
    let res = app
        .scim_get(
            &token,
            "/Users?filter=userName%20eq%20%22ann@example.com%22&startIndex=2",
        )
        .await;
    assert_eq!(res.status(), 200);
    let body = app.json(res).await;
    assert_eq!(
        (body["totalResults"].clone(), body["itemsPerPage"].clone()),
        (1.into(), 0.into())
    );
    let res = app
        .scim_get(&token, "/Users/00000000-0000-4000-8000-000000000000")
        .await;
    assert_eq!(res.status(), 404);
    drop(held);
}

#[tokio::test]
async fn lookups_by_a_unique_key_page_and_carry_groups_like_any_listing() {
    let app = app_with(None).await;
    let (token, id) = tenant_and_user(&app).await;
    let group_id = staff_group(&app, &token, &[&id]).await;

    // Only the fast path can answer while the blocking pool is held.
    let held: Vec<_> = (0..2).map(|_| app.pool.get().unwrap()).collect();
    let by_name = "filter=userName%20eq%20%22Ann@Example.com%22";
    let by_id = format!("filter=id%20eq%20%22{id}%22");
    for filter in [by_name, by_id.as_str()] {
        let page = |query: &str| format!("/Users?{filter}{query}");
        let res = app.scim_get(&token, &page("")).await;
        assert_eq!(res.status(), 200, "{filter}");
        let body = app.json(res).await;
        assert_eq!(body["totalResults"], 1, "{filter}");
        assert_eq!(body["itemsPerPage"], 1, "{filter}");
        let user = &body["Resources"][0];
        assert_eq!(user["id"], id.as_str(), "{filter}");
        assert_eq!(user["groups"][0]["value"], group_id.as_str(), "{filter}");
        assert_eq!(user["groups"][0]["display"], "Staff", "{filter}");

        for (query, total, items) in [
            ("&count=0", 1, 0),
            ("&startIndex=2", 1, 0),
            ("&count=1", 1, 1),
        ] {
            let res = app.scim_get(&token, &page(query)).await;
            assert_eq!(res.status(), 200, "{filter}{query}");
            let body = app.json(res).await;
            assert_eq!(
                (body["totalResults"].clone(), body["itemsPerPage"].clone()),
                (total.into(), items.into()),
                "{filter}{query}"
            );
            let resources = body["Resources"].as_array().map_or(0, Vec::len);
            assert_eq!(resources, items, "{filter}{query}");
        }

        let res = app
            .scim_get(&token, &page("&excludedAttributes=groups"))
            .await;
        let body = app.json(res).await;
        assert_eq!(body["Resources"][0]["id"], id.as_str(), "{filter}");
        assert!(body["Resources"][0].get("groups").is_none(), "{filter}");
    }
    drop(held);
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[tokio::test]
async fn a_new_user_is_created_with_its_event_while_the_blocking_pool_is_exhausted() {
    let app = app_with(None).await;
    let (token, _) = tenant_and_user(&app).await;

    let held: Vec<_> = (0..2).map(|_| app.pool.get().unwrap()).collect();
    let res = app
        .scim_post(&token, "/Users", &user_body("bob@example.com"))
        .await;
    assert_eq!(res.status(), 201);
    let bob = app.json(res).await;
    assert_eq!(bob["userName"], "bob@example.com");
    // The same person again needs the full path (a conflict to decide), which waits for
    // the blocking pool and gives up.
    let res = app
        .scim_post(&token, "/Users", &user_body("ANN@example.com"))
        .await;
    assert_eq!(res.status(), 503);
    drop(held);

    let res = app
        .scim_post(&token, "/Users", &user_body("ANN@example.com"))
        .await;
    assert_eq!(res.status(), 409);
    assert_eq!(app.json(res).await["scimType"], "uniqueness");
    let events: Count = {
        use diesel::RunQueryDsl;
        diesel::sql_query(
            "SELECT count(*) AS n FROM events WHERE type = 'user.created' \
             AND resource_id = $1::uuid AND data->>'userName' = 'bob@example.com'",
        )
        .bind::<diesel::sql_types::Text, _>(bob["id"].as_str().unwrap())
        .get_result(&mut app.db.conn())
        .unwrap()
    };
    assert_eq!(events.n, 1);
}

#[tokio::test]
async fn a_database_url_with_options_only_libpq_knows_keeps_everything_on_the_blocking_pool() {
    let app = app_with(Some("fallback_application_name=scimd-test")).await;
    let (token, id) = tenant_and_user(&app).await;
    let res = app.scim_get(&token, &format!("/Users/{id}")).await;
    assert_eq!(res.status(), 200);
    let res = app
        .scim_get(
            &token,
            "/Users?filter=userName%20eq%20%22ann@example.com%22",
        )
        .await;
    assert_eq!(app.json(res).await["totalResults"], 1);

    let held: Vec<_> = (0..2).map(|_| app.pool.get().unwrap()).collect();
    let res = app.scim_get(&token, &format!("/Users/{id}")).await;
    assert_eq!(res.status(), 503);
    let res = app
        .scim_get(
            &token,
            "/Users?filter=userName%20eq%20%22ann@example.com%22",
        )
        .await;
    assert_eq!(res.status(), 503);
    let res = app
        .scim_post(&token, "/Users", &user_body("bob@example.com"))
        .await;
    assert_eq!(res.status(), 503);
    drop(held);
}

#[derive(QueryableByName)]
struct Flag {
    #[diesel(sql_type = Bool)]
    on: bool,
}

async fn flag(conn: &mut AsyncPgConnection, sql: &str) -> bool {
    use diesel_async::RunQueryDsl;
    diesel::sql_query(sql)
        .get_result::<Flag>(conn)
        .await
        .unwrap()
        .on
}

async fn on_tls(conn: &mut AsyncPgConnection) -> bool {
    flag(
        conn,
        "SELECT ssl AS on FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
    )
    .await
}

/// As libpq: `disable` never uses TLS, `prefer` uses it when the server offers it,
/// `require` uses it or fails.
#[tokio::test]
async fn async_connections_use_tls_as_the_url_sslmode_says() {
    let db = TestDb::new();
    let with_mode = |mode: &str| {
        let mut url = url::Url::parse(db.url.expose()).unwrap();
        let rest: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| k != "sslmode")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        url.query_pairs_mut()
            .clear()
            .extend_pairs(rest)
            .append_pair("sslmode", mode);
        url.to_string()
    };
    let mut plain = connect(with_mode("disable")).await.unwrap();
    assert!(!on_tls(&mut plain).await);
    let offered = flag(&mut plain, "SELECT current_setting('ssl') = 'on' AS on").await;

    let mut preferred = connect(with_mode("prefer")).await.unwrap();
    assert_eq!(on_tls(&mut preferred).await, offered);
    match connect(with_mode("require")).await {
        Ok(mut required) => {
            assert!(offered, "connected without TLS on offer");
            assert!(on_tls(&mut required).await);
        }
        Err(e) => assert!(!offered, "sslmode=require failed with TLS on offer: {e}"),
    }
}

/// A server that accepts connections and hangs up at once, counting them.
async fn hanging_up_server() -> (u16, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            drop(socket);
        }
    });
    (port, accepted)
}

#[tokio::test]
async fn after_a_failed_connection_requests_skip_the_fast_path_for_a_while() {
    let (port, accepted) = hanging_up_server().await;
    let url = scimd::config::DatabaseUrl::parse(&format!(
        "postgres://scimd@127.0.0.1:{port}/scimd?sslmode=disable"
    ))
    .unwrap();
    let reads = FastPath::new(&url, 2, Duration::from_secs(2), Default::default())
        .pausing_for(Duration::from_millis(300));
    // The server counts a connection when its task gets to it: a moment after.
    let attempts = || async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        accepted.load(Ordering::SeqCst)
    };
    assert!(reads.conn().await.is_none());
    assert_eq!(attempts().await, 1);
    // Paused: no second attempt, for every clone of this worker's reads.
    assert!(reads.clone().conn().await.is_none());
    assert_eq!(attempts().await, 1);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(reads.conn().await.is_none());
    assert_eq!(attempts().await, 2);
}
