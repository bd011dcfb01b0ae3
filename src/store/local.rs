//! A PostgreSQL cluster of scimd's own, for a machine where PostgreSQL is installed but no
//! server is set up: when `DATABASE_URL` is not set and nothing answers at the default
//! address, scimd runs the installed PostgreSQL's `initdb` and `pg_ctl` itself.
//!
//! The cluster lives in the data folder (`SCIMD_DATA_DIR`, default `./scimd-data`): its
//! files in `postgres/`, its log in `postgres.log`, and its one way in, a Unix socket, in
//! the folder itself. It listens on no TCP address (`listen_addresses = ''`), and the
//! folder is readable by its owner only, so only that user (and root) can reach it; inside,
//! the superuser `postgres` needs no password.
//!
//! The scimd that starts the cluster owns it and stops it (`pg_ctl stop -m fast`) when it
//! exits; ownership is an exclusive lock on `scimd.lock` held for the process's life, so
//! another scimd on the same folder (`scimd token issue` beside `scimd serve`) joins the
//! running cluster without stopping it, and one that finds the cluster running with no
//! owner (its scimd was killed) takes it over.
//!
//! PostgreSQL refuses to run as root. Run as root, scimd runs `initdb` and `pg_ctl` as the
//! `postgres` user that PostgreSQL's packages create (`runuser -u postgres`), and hands it
//! the data folder; without such a user it stops with an error saying so.

use std::fs::{File, TryLockError};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use crate::config::DatabaseUrl;

/// The data folder when `SCIMD_DATA_DIR` is not set.
pub const DEFAULT_DATA_DIR: &str = "scimd-data";

/// The port in the socket's name (`.s.PGSQL.5432`); nothing listens on it over TCP.
const PORT: u16 = 5432;

/// How long `pg_ctl` waits for the server to start or stop.
const PG_CTL_WAIT_SECS: &str = "60";

/// What to install, per family of systems.
const INSTALL_HINT: &str = "install PostgreSQL's server (Debian, Ubuntu: apt-get install \
     postgresql; Fedora, RHEL: dnf install postgresql-server; Alpine: apk add postgresql; \
     macOS: brew install postgresql), or set DATABASE_URL to a PostgreSQL server";

#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    #[error(
        "DATABASE_URL is not set, nothing answers at {default}, and no PostgreSQL is \
         installed here to start one from (no initdb and pg_ctl in SCIMD_POSTGRES_BIN, or \
         when it is not set on PATH, in `pg_config --bindir`, /usr/lib/postgresql/*/bin, \
         /usr/pgsql-*/bin, /usr/local/pgsql/bin or /opt/homebrew/bin): {INSTALL_HINT}"
    )]
    NotInstalled { default: String },
    #[error(
        "PostgreSQL refuses to run as root, and there is no `postgres` user to run it as: \
         run scimd as an ordinary user, or set DATABASE_URL"
    )]
    Root,
    #[error("{what}: {detail}")]
    Failed { what: String, detail: String },
}

fn failed(what: impl Into<String>, detail: impl ToString) -> LocalError {
    LocalError::Failed {
        what: what.into(),
        detail: detail.to_string(),
    }
}

/// A running cluster in a data folder; stopped when dropped, if this process owns it.
#[derive(Debug)]
pub struct LocalCluster {
    dir: PathBuf,
    bin: PathBuf,
    run_as: Option<&'static str>,
    /// The lock that makes this process the owner; `None` when another scimd owns it.
    owner: Option<File>,
    /// What happened at start, for the one line that says so.
    pub started: Started,
}

/// What [`LocalCluster::start`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Started {
    /// Made the cluster (`initdb`) and started it.
    Created,
    /// Started a cluster made earlier.
    Started,
    /// Found it running with no owner (its scimd was killed) and took it over.
    TookOver,
    /// Found it running under another scimd, which keeps it.
    Joined,
}

impl LocalCluster {
    /// Starts the cluster in `dir`, making it first if the folder holds none, or joins it
    /// when it already runs. Returns once it accepts connections.
    /// `bin`: where `initdb` and `pg_ctl` are; searched for ([`server_bin_dir`]) when
    /// `None`. `default`: the address that did not answer, for the error.
    pub fn start(dir: &Path, bin: Option<&Path>, default: &str) -> Result<Self, LocalError> {
        let bin = match bin {
            Some(bin) => Some(bin.to_owned()).filter(|b| has_server_programs(b)),
            None => server_bin_dir(),
        };
        let bin = bin.ok_or_else(|| LocalError::NotInstalled {
            default: default.to_owned(),
        })?;
        let run_as = if is_root() {
            if !user_exists("postgres") {
                return Err(LocalError::Root);
            }
            Some("postgres")
        } else {
            None
        };
        let fresh = !dir.exists();
        std::fs::create_dir_all(dir)
            .map_err(|e| failed(format!("cannot create {}", dir.display()), e))?;
        let dir = std::fs::canonicalize(dir)
            .map_err(|e| failed(format!("cannot find {}", dir.display()), e))?;
        restrict(&dir)?;
        if let Some(user) = run_as {
            if fresh || !dir.join("postgres").exists() {
                run(Command::new("chown").arg(format!("{user}:")).arg(&dir))?;
            }
        }
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join("scimd.lock"))
            .map_err(|e| failed("cannot open the data folder's lock", e))?;
        let owner = match lock.try_lock() {
            Ok(()) => Some(lock),
            Err(TryLockError::WouldBlock) => None,
            Err(TryLockError::Error(e)) => return Err(failed("cannot lock the data folder", e)),
        };
        let mut this = Self {
            dir,
            bin,
            run_as,
            owner,
            started: Started::Joined,
        };
        let data = this.data();
        let running = this
            .pg_ctl(&["status", "-D"], &data)
            .is_ok_and(|o| o.status.success());
        this.started = match (running, this.owner.is_some()) {
            (true, true) => Started::TookOver,
            (true, false) => Started::Joined,
            (false, _) => {
                let made = if data.join("PG_VERSION").exists() {
                    Started::Started
                } else {
                    this.init()?;
                    Started::Created
                };
                this.write_settings()?;
                let log = this.dir.join("postgres.log");
                let out = this.pg_ctl(
                    &[
                        "start",
                        "-w",
                        "-t",
                        PG_CTL_WAIT_SECS,
                        "-l",
                        &path(&log),
                        "-D",
                    ],
                    &data,
                )?;
                if !out.status.success() {
                    return Err(failed(
                        format!("PostgreSQL did not start (its log: {})", log.display()),
                        output_text(&out),
                    ));
                }
                made
            }
        };
        Ok(this)
    }

    /// A URL of `database` on this cluster, through its socket.
    pub fn url(&self, database: &str) -> Result<DatabaseUrl, LocalError> {
        let dir = path(&self.dir);
        let host = percent_encoding::utf8_percent_encode(&dir, percent_encoding::NON_ALPHANUMERIC);
        let raw = format!("postgres://postgres@{host}:{PORT}/{database}");
        DatabaseUrl::parse(&raw).map_err(|e| failed("no URL for the cluster's socket", e))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The PostgreSQL version it runs.
    pub fn version(&self) -> String {
        std::fs::read_to_string(self.data().join("PG_VERSION"))
            .map(|v| v.trim().to_owned())
            .unwrap_or_default()
    }

    /// Whether this process stops it when it ends.
    pub fn owned(&self) -> bool {
        self.owner.is_some()
    }

    /// Stops the cluster now, if this process owns it.
    pub fn stop(&mut self) {
        if self.owner.take().is_none() {
            return;
        }
        let data = self.data();
        match self.pg_ctl(
            &["stop", "-w", "-t", PG_CTL_WAIT_SECS, "-m", "fast", "-D"],
            &data,
        ) {
            Ok(out) if out.status.success() => {
                tracing::info!(dir = %self.dir.display(), "stopped scimd's own PostgreSQL");
            }
            Ok(out) => tracing::warn!(
                dir = %self.dir.display(),
                output = %output_text(&out),
                "scimd's own PostgreSQL did not stop"
            ),
            Err(e) => tracing::warn!(error = %e, "scimd's own PostgreSQL did not stop"),
        }
    }

    fn data(&self) -> PathBuf {
        self.dir.join("postgres")
    }

    fn init(&self) -> Result<(), LocalError> {
        let data = self.data();
        // UTF-8 text, and C.UTF-8's Unicode case mapping (`lower()`) and byte order where
        // the system has that locale; else the environment's locale.
        let mut failure = String::new();
        for locale in [&["--locale=C.UTF-8"][..], &[]] {
            let out = self
                .server_command("initdb")
                .args([
                    "-U",
                    "postgres",
                    "-A",
                    "trust",
                    "-E",
                    "UTF8",
                    "--no-instructions",
                ])
                .args(locale)
                .arg("-D")
                .arg(&data)
                .output()
                .map_err(|e| failed("cannot run initdb", e))?;
            if out.status.success() {
                failure.clear();
                break;
            }
            // A half-made cluster would stop every later start: clear it.
            let _ = std::fs::remove_dir_all(&data);
            failure = output_text(&out);
        }
        if !failure.is_empty() {
            return Err(failed("initdb failed", failure));
        }
        let conf = data.join("postgresql.conf");
        let mut text =
            std::fs::read_to_string(&conf).map_err(|e| failed("cannot read postgresql.conf", e))?;
        text.push_str("\n# Written by scimd at every start.\ninclude_if_exists = 'scimd.conf'\n");
        self.write_owned(&conf, &text)
    }

    /// Where it listens: written at every start, as the folder may have moved.
    fn write_settings(&self) -> Result<(), LocalError> {
        let socket_dir = path(&self.dir).replace('\'', "''");
        let text = format!(
            "listen_addresses = ''\nport = {PORT}\nunix_socket_directories = '{socket_dir}'\n\
             unix_socket_permissions = 0700\n"
        );
        self.write_owned(&self.data().join("scimd.conf"), &text)
    }

    /// Writes `text` to `file`, owned by the user the server runs as.
    fn write_owned(&self, file: &Path, text: &str) -> Result<(), LocalError> {
        std::fs::write(file, text)
            .map_err(|e| failed(format!("cannot write {}", file.display()), e))?;
        if let Some(user) = self.run_as {
            run(Command::new("chown").arg(format!("{user}:")).arg(file))?;
        }
        Ok(())
    }

    fn pg_ctl(&self, args: &[&str], data: &Path) -> Result<Output, LocalError> {
        self.server_command("pg_ctl")
            .args(args)
            .arg(data)
            .output()
            .map_err(|e| failed("cannot run pg_ctl", e))
    }

    fn server_command(&self, program: &str) -> Command {
        let program = self.bin.join(program);
        match self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(program);
                c
            }
            None => Command::new(program),
        }
    }
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Whether anything accepts a connection at `url`'s host and port within a second.
pub fn answers(url: &DatabaseUrl) -> bool {
    let addrs: Vec<SocketAddr> = url
        .server()
        .to_socket_addrs()
        .map(Iterator::collect)
        .unwrap_or_default();
    addrs
        .iter()
        .any(|a| TcpStream::connect_timeout(a, Duration::from_secs(1)).is_ok())
}

/// Where `initdb` and `pg_ctl` are: `PATH`, `pg_config --bindir`, then the folders
/// packages install them in (Debian's per-version folders, newest first).
pub fn server_bin_dir() -> Option<PathBuf> {
    let mut candidates: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        if out.status.success() {
            candidates.push(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()));
        }
    }
    for parent in ["/usr/lib/postgresql", "/usr"] {
        let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(parent)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                let version = if parent == "/usr" {
                    name.strip_prefix("pgsql-")?.parse().ok()?
                } else {
                    name.parse().ok()?
                };
                Some((version, e.path().join("bin")))
            })
            .collect();
        versions.sort_by_key(|v| std::cmp::Reverse(v.0));
        candidates.extend(versions.into_iter().map(|(_, p)| p));
    }
    candidates.extend(
        [
            "/usr/local/pgsql/bin",
            "/opt/homebrew/bin",
            "/usr/local/bin",
        ]
        .map(PathBuf::from),
    );
    candidates.into_iter().find(|d| has_server_programs(d))
}

fn has_server_programs(dir: &Path) -> bool {
    dir.join("initdb").is_file() && dir.join("pg_ctl").is_file()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn user_exists(name: &str) -> bool {
    Command::new("id")
        .arg("-u")
        .arg(name)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The folder readable by its owner only: the socket in it needs no password.
fn restrict(dir: &Path) -> Result<(), LocalError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .map_err(|e| failed(format!("cannot restrict {}", dir.display()), e))
}

fn run(cmd: &mut Command) -> Result<(), LocalError> {
    let out = cmd
        .output()
        .map_err(|e| failed(format!("cannot run {cmd:?}"), e))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(failed(format!("{cmd:?} failed"), output_text(&out)))
    }
}

fn output_text(out: &Output) -> String {
    let mut text = String::from_utf8_lossy(&out.stderr).trim().to_owned();
    if text.is_empty() {
        text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    }
    text
}

fn path(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}
