//! The way to the database: `sslmode=verify-full` with a CA file on every connection a
//! node opens (the blocking pool on libpq, each worker's async connections on
//! tokio-postgres, the migration's), a certificate from another CA refused, and never a
//! password from `DATABASE_URL` in an error or a log line. On servers of the tests' own,
//! with a throwaway CA made by `openssl`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use diesel::{Connection, PgConnection, RunQueryDsl};
use serde_json::{json, Value};

use scimd::config::DatabaseUrl;
use scimd::store::{database, fast, Db};

use crate::helpers::{free_port, init_logs, ScimClient, Served};
use crate::own_pg::{run, serve_on, OwnPostgres};

/// A CA, a server certificate it signed for 127.0.0.1 and localhost, and another CA.
struct Certs {
    ca: PathBuf,
    wrong_ca: PathBuf,
}

fn make_certs(dir: &Path) -> Certs {
    let openssl = |args: &[&str]| run(Command::new("openssl").current_dir(dir).args(args));
    let req = |key: &str, out: &str, subject: &str, x509: bool| {
        let mut args = vec![
            "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", out,
        ];
        args.extend(["-subj", subject]);
        if x509 {
            args.extend(["-x509", "-days", "2"]);
        }
        openssl(&args);
    };
    req("ca.key", "ca.crt", "/CN=scimd test CA", true);
    req("wrong.key", "wrong.crt", "/CN=another CA", true);
    req("server.key", "server.csr", "/CN=localhost", false);
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n",
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.crt",
        "-days",
        "2",
        "-extfile",
        "server.ext",
    ]);
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        dir.join("server.key"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    Certs {
        ca: dir.join("ca.crt"),
        wrong_ca: dir.join("wrong.crt"),
    }
}

/// A server that takes TLS connections only over TCP (plain ones are rejected).
fn tls_postgres() -> (OwnPostgres, Certs) {
    let mut certs = None;
    let pg = OwnPostgres::start_with(|dir| {
        certs = Some(make_certs(dir));
        std::fs::write(
            dir.join("hba.conf"),
            "local all all trust\n\
             hostssl all all 127.0.0.1/32 trust\n\
             hostnossl all all 127.0.0.1/32 reject\n",
        )
        .unwrap();
        format!(
            "\nssl = on\nssl_cert_file = '{d}/server.crt'\nssl_key_file = '{d}/server.key'\n\
             hba_file = '{d}/hba.conf'\n",
            d = dir.display()
        )
    });
    (pg, certs.unwrap())
}

fn verify_full(pg: &OwnPostgres, ca: &Path) -> DatabaseUrl {
    pg.url_with(&format!("sslmode=verify-full&sslrootcert={}", ca.display()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_full_with_the_right_ca_serves_on_every_pool() {
    init_logs();
    let (pg, certs) = tls_postgres();
    let url = verify_full(&pg, &certs.ca);
    // The async connections are not left out for it.
    assert_eq!(
        fast::unsupported(url.expose(), Vec::new(), None),
        None,
        "verify-full with a CA file is for every pool"
    );
    // The migration's connection.
    database::migrate(&url).unwrap();

    let (base, token) = serve_on(&url, |settings| settings.pool_size = 4);
    let mut conn = PgConnection::establish(url.expose()).unwrap();
    let client = reqwest::Client::new();
    let scim = ScimClient::new(&format!("{base}/scim/v2"), &token);

    // Creates and reads by id run on the workers' async connections, the group's writes
    // on the blocking pool.
    let mut ids = Vec::new();
    for i in 0..8 {
        let res = scim
            .post(
                "/Users",
                &json!({"userName": format!("tls{i}@example.com")}),
            )
            .await;
        assert_eq!(res.status(), 201);
        ids.push(
            res.json::<Value>().await.unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    for id in &ids {
        let res = scim.get(&format!("/Users/{id}")).await;
        assert_eq!(res.status(), 200);
    }
    let res = scim
        .post(
            "/Groups",
            &json!({"displayName": "TLS", "members": [{"value": ids[0]}]}),
        )
        .await;
    assert_eq!(res.status(), 201);
    // Each worker's pools answer (/readyz asks the worker it lands on).
    for _ in 0..6 {
        let res = client.get(format!("{base}/readyz")).send().await.unwrap();
        assert_eq!(res.status(), 200);
        let body: Value = res.json().await.unwrap();
        assert_eq!(
            body["pools"],
            json!({"blocking": "up", "async": "up"}),
            "{body}"
        );
    }
    // Every connection to the database is TLS (the server rejects the others anyway),
    // and the async pools hold some of them.
    #[derive(diesel::QueryableByName)]
    struct Conns {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        tls: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        plain: i64,
    }
    let conns: Conns = diesel::sql_query(
        "SELECT count(*) FILTER (WHERE s.ssl) AS tls, count(*) FILTER (WHERE NOT s.ssl) AS plain \
         FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) \
         WHERE a.datname = 'scimd' AND a.backend_type = 'client backend'",
    )
    .get_result(&mut conn)
    .unwrap();
    assert_eq!(conns.plain, 0);
    assert!(conns.tls >= 2, "{} TLS connections", conns.tls);
    let metrics = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let opened = |state: &str| {
        let key = format!("scimd_db_pool_connections{{pool=\"async\",state=\"{state}\"}} ");
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(&key))
            .and_then(|n| n.trim().parse::<u64>().ok())
            .unwrap_or(0)
    };
    assert!(
        opened("idle") + opened("in_use") >= 1,
        "no async connection was opened: {metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_from_another_ca_is_refused_by_every_driver() {
    init_logs();
    let (pg, certs) = tls_postgres();
    let wrong = verify_full(&pg, &certs.wrong_ca);

    // libpq: the migration's connection and the blocking pool.
    let err = database::connect(&wrong)
        .err()
        .expect("refused")
        .to_string();
    assert!(err.contains("certificate verify failed"), "{err}");
    let db = Db::new(&wrong, 1, Duration::from_secs(2));
    let err = db.get().err().expect("refused");
    let text = format!("{err}: {:?}", err);
    assert!(text.contains("certificate verify failed"), "{text}");

    // tokio-postgres: the async connections.
    let err = fast::connect(wrong.expose().to_owned())
        .await
        .err()
        .expect("refused")
        .to_string();
    assert!(err.contains("certificate verify failed"), "{err}");

    // With the right CA, both connect: the refusals were the CA's doing.
    let right = verify_full(&pg, &certs.ca);
    assert!(database::connect(&right.with_database("postgres")).is_ok());
    assert!(
        fast::connect(right.with_database("postgres").expose().to_owned())
            .await
            .is_ok()
    );

    // verify-full checks the host name too: the certificate names 127.0.0.1 and
    // localhost, not 127.0.0.2 (the same server on the loopback).
    let raw = right
        .with_database("postgres")
        .expose()
        .replace("127.0.0.1", "127.0.0.2");
    let other_name = DatabaseUrl::parse(&raw).unwrap();
    assert!(database::connect(&other_name).is_err());
    assert!(fast::connect(other_name.expose().to_owned()).await.is_err());
}

/// Errors of a connection that fails, from every driver, carry no password.
#[tokio::test]
async fn a_failed_connection_names_no_password() {
    init_logs();
    let url = DatabaseUrl::parse("postgres://scimd:Pa55-w0rd-ZQX@127.0.0.1:1/scimd").unwrap();
    let err = database::connect(&url)
        .err()
        .expect("nothing listens there");
    let text = format!("{err} {err:?}");
    assert!(text.contains("127.0.0.1:1"), "{text}");
    assert!(!text.contains("Pa55-w0rd-ZQX"), "{text}");

    let err = Db::new(&url, 1, Duration::from_millis(500))
        .get()
        .err()
        .expect("nothing listens there");
    let mut text = format!("{err} {err:?}");
    let mut source = std::error::Error::source(&err);
    while let Some(e) = source {
        text.push_str(&format!(" {e} {e:?}"));
        source = e.source();
    }
    assert!(!text.contains("Pa55-w0rd-ZQX"), "{text}");

    let err = fast::connect(url.expose().to_owned()).await.err().unwrap();
    let text = format!("{err} {err:?}");
    assert!(!text.contains("Pa55-w0rd-ZQX"), "{text}");
    // A URL libpq cannot parse is quoted whole in its error: the password goes.
    let url =
        DatabaseUrl::parse("postgres://scimd:Pa55-w0rd-ZQX@127.0.0.1:1/scimd?port=x").unwrap();
    let err = database::connect(&url).err().unwrap();
    let text = format!("{err} {err:?}");
    assert!(!text.contains("Pa55-w0rd-ZQX"), "{text}");
}

/// A node whose database needs a password logs its failures while PostgreSQL is down
/// (each pool's), and none of those lines carries the password.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_lines_of_failed_connections_carry_no_password() {
    init_logs();
    let pg = OwnPostgres::start_with(|dir| {
        std::fs::write(
            dir.join("hba.conf"),
            "local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n",
        )
        .unwrap();
        format!("\nhba_file = '{}/hba.conf'\n", dir.display())
    });
    let secret = "Pw-in-the-URL-4417";
    // Through the socket, which trusts: give `postgres` the password.
    let socket = format!(
        "postgres://postgres@{}:{}/postgres",
        percent_encoding::utf8_percent_encode(
            &pg.dir.display().to_string(),
            percent_encoding::NON_ALPHANUMERIC
        ),
        pg.port
    );
    let mut admin = PgConnection::establish(&socket).unwrap();
    diesel::sql_query(format!("ALTER ROLE postgres PASSWORD '{secret}'"))
        .execute(&mut admin)
        .unwrap();
    drop(admin);
    let url = format!(
        "postgres://postgres:{secret}@127.0.0.1:{}/scimd?sslmode=disable",
        pg.port
    );
    let port = free_port();
    let log = pg.dir.join("scimd.log");
    let mut node = Served::spawn(
        Command::new(env!("CARGO_BIN_EXE_scimd"))
            .env("DATABASE_URL", &url)
            .env("SCIMD_LOG", "debug")
            .env("SCIMD_POOL_TIMEOUT", "1s")
            .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap()),
    );
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let unknown_token = ScimClient::new(&format!("{base}/scim/v2"), "scimd_nokey_nosecret");
    let until = Instant::now() + Duration::from_secs(60);
    loop {
        let res = client.get(format!("{base}/readyz")).send().await;
        if res.is_ok_and(|r| r.status() == 200) {
            break;
        }
        assert!(Instant::now() < until, "scimd did not become ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // PostgreSQL down for a while, with requests that need each pool.
    pg.stop();
    for _ in 0..3 {
        let res = client.get(format!("{base}/readyz")).send().await.unwrap();
        assert_eq!(res.status(), 503);
        let res = unknown_token
            .get("/Users/00000000-0000-0000-0000-000000000000")
            .await;
        assert_ne!(res.status(), 500);
    }
    pg.start_again();
    Command::new("kill")
        .args(["-TERM", &node.id().to_string()])
        .status()
        .unwrap();
    let _ = node.wait();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.lines()
            .any(|l| l.contains("WARN") || l.contains("ERROR")),
        "no failure was logged: {text}"
    );
    assert!(
        !text.contains(secret),
        "the password is in the log:\n{text}"
    );
}
