//! A PostgreSQL server of a test's own (its own data folder and port, on 127.0.0.1), for
//! tests that restart it or configure it (TLS), never the shared one.

use std::path::{Path, PathBuf};
use std::process::Command;

use diesel::{Connection, PgConnection, RunQueryDsl};

use scimd::clock::SharedClock;
use scimd::config::{DatabaseUrl, Settings};
use scimd::Application;

use crate::helpers::free_port;

pub struct OwnPostgres {
    pub dir: PathBuf,
    bin: PathBuf,
    pub port: u16,
}

impl OwnPostgres {
    pub fn start() -> Self {
        Self::start_with(|_| String::new())
    }

    /// Started with the settings `conf` writes (given the server's folder, where files
    /// it needs can be put), appended to `postgresql.conf`.
    pub fn start_with(conf: impl FnOnce(&Path) -> String) -> Self {
        let bin = scimd::store::local::server_bin_dir().expect("PostgreSQL's server programs");
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("scimd-pg-{}-{port}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let this = Self { dir, bin, port };
        let data = this.dir.join("data");
        let extra = conf(&this.dir);
        // PostgreSQL will not run as root: its files and processes belong to `postgres`.
        if is_root() {
            run(Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&this.dir));
        }
        run(this
            .cmd("initdb")
            .args(["-A", "trust", "-U", "postgres", "--no-sync", "-D"])
            .arg(&data));
        if !extra.is_empty() {
            let conf = data.join("postgresql.conf");
            let mut text = std::fs::read_to_string(&conf).unwrap();
            text.push_str(&extra);
            std::fs::write(&conf, text).unwrap();
        }
        this.start_again();
        this
    }

    /// `pg_ctl start`, which returns once the server accepts connections.
    pub fn start_again(&self) {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} -c fsync=off",
            self.port,
            self.dir.display()
        );
        run(self
            .cmd("pg_ctl")
            .args(["-w", "-D"])
            .arg(self.dir.join("data"))
            .arg("-l")
            .arg(self.dir.join("log"))
            .args(["-o", &options, "start"]));
    }

    /// `pg_ctl stop -m fast`.
    pub fn stop(&self) {
        run(self
            .cmd("pg_ctl")
            .args(["-w", "-m", "fast", "-D"])
            .arg(self.dir.join("data"))
            .arg("stop"));
    }

    /// `pg_ctl restart -m fast`, which returns once the server accepts connections.
    pub fn restart(&self) {
        run(self
            .cmd("pg_ctl")
            .args(["-w", "-m", "fast", "-D"])
            .arg(self.dir.join("data"))
            .arg("-l")
            .arg(self.dir.join("log"))
            .arg("restart"));
    }

    pub fn url(&self) -> DatabaseUrl {
        self.url_with("sslmode=disable")
    }

    /// The URL of database `scimd` over TCP, with `query`.
    pub fn url_with(&self, query: &str) -> DatabaseUrl {
        let raw = format!("postgres://postgres@127.0.0.1:{}/scimd?{query}", self.port);
        DatabaseUrl::parse(&raw).unwrap()
    }

    fn cmd(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        }
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        let _ = self
            .cmd("pg_ctl")
            .args(["-m", "immediate", "-D"])
            .arg(self.dir.join("data"))
            .arg("stop")
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// The app on a migrated `url` (port 0, two workers, `tune`d), serving in the background,
/// with the bootstrap tenant's rate limit out of any test load's reach: its base URL and
/// SCIM token.
pub fn serve_on(url: &DatabaseUrl, tune: impl FnOnce(&mut Settings)) -> (String, String) {
    let mut settings = Settings::new(url.clone());
    settings.bind = "127.0.0.1:0".parse().unwrap();
    settings.workers = Some(2);
    tune(&mut settings);
    let clock: SharedClock = scimd::clock::system();
    let app = Application::build(settings, clock).unwrap();
    let base = format!("http://{}", app.addr());
    tokio::spawn(app.run_until_stopped());

    let mut conn = PgConnection::establish(url.expose()).unwrap();
    let made = scimd::provisioning::credentials::bootstrap(&mut conn, chrono::Utc::now())
        .unwrap()
        .unwrap();
    diesel::sql_query("UPDATE tenants SET rate_per_second = 100000, rate_burst = 100000")
        .execute(&mut conn)
        .unwrap();
    (base, made.token.token)
}
