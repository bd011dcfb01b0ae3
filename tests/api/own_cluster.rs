//! `scimd` with no `DATABASE_URL` and nothing answering at the default address: it starts
//! a PostgreSQL of its own from the one installed here, in `SCIMD_DATA_DIR`, on a Unix
//! socket only, says so once, and stops it when it exits. The default address is moved to
//! a port where nothing listens (`SCIMD_DEFAULT_DATABASE_URL`), as a server answers at the
//! real one on machines that run the other tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl};

use scimd::store::local::LocalCluster;

use crate::cli::{bootstrap_lines, printed, stop};
use crate::helpers::{free_port, Served};

/// `scimd` with no `DATABASE_URL`, its data folder `dir`, and nothing at the default
/// address.
fn scimd(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_scimd"));
    cmd.env_remove("DATABASE_URL")
        .env(
            "SCIMD_DEFAULT_DATABASE_URL",
            format!("postgres://postgres@127.0.0.1:{}/scimd", free_port()),
        )
        .env("SCIMD_DATA_DIR", dir)
        .env("SCIMD_LOG", "warn")
        .env_remove("SCIMD_BIND");
    cmd
}

/// Whether the cluster in `dir` runs (its postmaster holds `postmaster.pid`).
fn running(dir: &Path) -> bool {
    dir.join("postgres/postmaster.pid").exists()
}

fn own_lines(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.contains("scimd's own PostgreSQL"))
        .collect()
}

#[derive(QueryableByName)]
struct Setting {
    #[diesel(sql_type = diesel::sql_types::Text)]
    value: String,
}

struct Folder(PathBuf);

impl Drop for Folder {
    fn drop(&mut self) {
        // A failed test may leave the cluster running: stop it, then remove its files.
        if running(&self.0) {
            if let Ok(mut cluster) = LocalCluster::start(&self.0, None, "-") {
                cluster.stop();
            }
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test]
async fn serve_without_a_database_url_runs_its_own_postgres_and_stops_it_on_exit() {
    let dir = Folder(std::env::temp_dir().join(format!(
        "scimd-own-{}-{}",
        std::process::id(),
        free_port()
    )));
    let port = free_port();
    let stderr_file = std::env::temp_dir().join(format!("scimd-own-{port}.err"));
    let mut child = Served::spawn(
        scimd(&dir.0)
            .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr_file).unwrap()),
    );
    let lines = bootstrap_lines(&mut child).await;
    let stderr = std::fs::read_to_string(&stderr_file).unwrap();
    let token = printed(&lines, "SCIM token:")
        .unwrap_or_else(|| panic!("no token in {lines:?}; stderr: {stderr}"));
    let own = own_lines(&stderr);
    assert_eq!(own.len(), 1, "said once: {stderr}");
    assert!(own[0].contains("created and started"), "{stderr}");
    assert!(own[0].contains("Unix socket"), "{stderr}");
    assert!(running(&dir.0));

    let client = reqwest::Client::new();
    let res = client
        .post(format!("http://127.0.0.1:{port}/scim/v2/Users"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"userName": "own@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);

    // A Unix socket in the folder, and no TCP address.
    assert!(dir.0.join(".s.PGSQL.5432").exists());
    let cluster = LocalCluster::start(&dir.0, None, "-").unwrap();
    assert!(!cluster.owned(), "the serving scimd owns it");
    let mut conn = PgConnection::establish(cluster.url("scimd").unwrap().expose()).unwrap();
    let listen: Setting = diesel::sql_query(
        "SELECT setting AS value FROM pg_settings WHERE name = 'listen_addresses'",
    )
    .get_result(&mut conn)
    .unwrap();
    assert_eq!(listen.value, "");
    drop(conn);
    drop(cluster);
    assert!(running(&dir.0), "a scimd that joined leaves it running");

    // SIGTERM: scimd stops, and its PostgreSQL with it.
    let status = stop(child).await;
    assert!(status.success(), "{status:?}");
    assert!(
        !running(&dir.0),
        "PostgreSQL still runs after scimd stopped"
    );

    // Another command starts it again on the same data, and stops it when it ends.
    let out = scimd(&dir.0).args(["tenant", "list"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("default\t"));
    assert_eq!(own_lines(&stderr).len(), 1, "{stderr}");
    assert!(own_lines(&stderr)[0].contains(": started"), "{stderr}");
    assert!(!running(&dir.0));

    // A scimd killed with SIGKILL cannot stop it; the next one takes it over and does.
    let mut child = Served::spawn(
        scimd(&dir.0)
            .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    let until = Instant::now() + Duration::from_secs(60);
    while client
        .get(format!("http://127.0.0.1:{port}/readyz"))
        .send()
        .await
        .map_or(true, |r| r.status() != 200)
    {
        assert!(Instant::now() < until, "scimd did not become ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(running(&dir.0));
    let out = scimd(&dir.0).args(["tenant", "list"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(own_lines(&stderr)[0].contains("took over"), "{stderr}");
    assert!(!running(&dir.0));
    let _ = std::fs::remove_file(stderr_file);
}

#[test]
fn without_postgresql_installed_the_error_says_what_to_install() {
    let dir = std::env::temp_dir().join(format!("scimd-none-{}", free_port()));
    // A folder without initdb and pg_ctl stands for a machine without PostgreSQL.
    let out = scimd(&dir)
        .env("SCIMD_POSTGRES_BIN", std::env::temp_dir())
        .arg("migrate")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    for what in [
        "apt-get install postgresql",
        "dnf install postgresql-server",
        "DATABASE_URL",
    ] {
        assert!(err.contains(what), "{what} in {err}");
    }
    assert!(!dir.exists(), "nothing was made");
}

#[test]
fn a_command_that_needs_no_database_starts_none() {
    let dir = std::env::temp_dir().join(format!("scimd-nodb-{}", free_port()));
    let out = scimd(&dir)
        .args(["secret-key", "generate"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(!String::from_utf8_lossy(&out.stdout).trim().is_empty());
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!dir.exists());
}
