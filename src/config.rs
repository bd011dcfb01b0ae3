//! Typed settings. `scimd serve` reads [`ServeArgs`] from its flags and their env twins and
//! turns them into [`Settings`]; tests build [`Settings::new`] directly. Every default is
//! written once, here, and both paths start from it. Secrets are wrapped so they never reach
//! a log line.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::Duration;

/// A value that must not be printed: `Debug` and `Display` show a placeholder.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    pub fn new(value: T) -> Self {
        Self(value)
    }

    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// Where the database is. Parsed at the edge: holding one means the URL is a PostgreSQL URL
/// with a database name.
#[derive(Clone, Debug)]
pub struct DatabaseUrl {
    url: Secret<url::Url>,
}

#[derive(Debug, thiserror::Error)]
pub enum DatabaseUrlError {
    #[error("DATABASE_URL is not a valid URL ({0})")]
    Unparseable(url::ParseError),
    #[error("DATABASE_URL must start with postgres:// or postgresql://, not {0}://")]
    Scheme(String),
    #[error("DATABASE_URL names no database (expected postgres://user@host:port/dbname)")]
    NoDatabase,
    #[error("DATABASE_URL names no host")]
    NoHost,
}

impl DatabaseUrl {
    pub fn parse(raw: &str) -> Result<Self, DatabaseUrlError> {
        let url = url::Url::parse(raw).map_err(DatabaseUrlError::Unparseable)?;
        if !matches!(url.scheme(), "postgres" | "postgresql") {
            return Err(DatabaseUrlError::Scheme(url.scheme().to_owned()));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(DatabaseUrlError::NoHost);
        }
        let this = Self {
            url: Secret::new(url),
        };
        if this.database_name().is_empty() {
            return Err(DatabaseUrlError::NoDatabase);
        }
        Ok(this)
    }

    /// The full URL, password included: only for handing to the driver.
    pub fn expose(&self) -> &str {
        self.url.expose().as_str()
    }

    pub fn database_name(&self) -> String {
        let path = self.url.expose().path().trim_start_matches('/');
        percent_decode(path)
    }

    /// The same server with another database (`postgres`, to create this one).
    pub fn with_database(&self, name: &str) -> Self {
        let mut url = self.url.expose().clone();
        url.set_path(&format!("/{name}"));
        Self {
            url: Secret::new(url),
        }
    }

    /// host:port for messages; never the user or password.
    pub fn server(&self) -> String {
        let url = self.url.expose();
        format!(
            "{}:{}",
            url.host_str().unwrap_or_default(),
            url.port().unwrap_or(5432)
        )
    }
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Pretty,
    Json,
}

/// Where the database is when `DATABASE_URL` is not set.
pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/scimd";

const DEFAULT_BIND: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 8080));
const DEFAULT_POOL_SIZE: u32 = 10;
const DEFAULT_POOL_TIMEOUT: Duration = Duration::from_secs(5);
const DEFAULT_TOKEN_CACHE_TTL: Duration = Duration::from_secs(60);
const DEFAULT_MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(30);

/// The flags of `scimd serve`, each with its env twin. `--help` shows the defaults above;
/// [`ServeArgs::default`] holds the same values for [`Settings::new`].
#[derive(Clone, Debug, PartialEq, Eq, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "SCIMD_BIND", default_value_t = DEFAULT_BIND)]
    pub bind: SocketAddr,
    /// Do not create the `default` tenant on an empty database.
    #[arg(long, env = "SCIMD_NO_BOOTSTRAP")]
    pub no_bootstrap: bool,
    /// External base URL (for SCIM `meta.location`), e.g. https://scim.example.com.
    #[arg(long, env = "SCIMD_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Database connections in the pool.
    #[arg(long, env = "SCIMD_POOL_SIZE", default_value_t = DEFAULT_POOL_SIZE)]
    pub pool_size: u32,
    /// How long a request waits for a database connection before a 503.
    #[arg(long, env = "SCIMD_POOL_TIMEOUT", default_value_t = DEFAULT_POOL_TIMEOUT.into())]
    pub pool_timeout: humantime::Duration,
    /// How long a verified token stays cached.
    #[arg(long, env = "SCIMD_TOKEN_CACHE_TTL", default_value_t = DEFAULT_TOKEN_CACHE_TTL.into())]
    pub token_cache_ttl: humantime::Duration,
    /// Largest request body, in bytes.
    #[arg(long, env = "SCIMD_MAX_BODY_BYTES", default_value_t = DEFAULT_MAX_BODY_BYTES)]
    pub max_body_bytes: usize,
    /// HTTP worker threads (default: one per core).
    #[arg(long, env = "SCIMD_WORKERS")]
    pub workers: Option<usize>,
    /// How long in-flight requests may run after SIGINT/SIGTERM.
    #[arg(long, env = "SCIMD_SHUTDOWN_TIMEOUT", default_value_t = DEFAULT_SHUTDOWN_TIMEOUT.into())]
    pub shutdown_timeout: humantime::Duration,
}

impl Default for ServeArgs {
    /// The values `scimd serve` runs with when given no flags and no env twins.
    fn default() -> Self {
        Self {
            bind: DEFAULT_BIND,
            no_bootstrap: false,
            public_url: None,
            pool_size: DEFAULT_POOL_SIZE,
            pool_timeout: DEFAULT_POOL_TIMEOUT.into(),
            token_cache_ttl: DEFAULT_TOKEN_CACHE_TTL.into(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            workers: None,
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT.into(),
        }
    }
}

/// Everything `serve` needs.
#[derive(Clone, Debug)]
pub struct Settings {
    pub database_url: DatabaseUrl,
    pub bind: SocketAddr,
    /// The externally visible base (`https://scim.example.com`), for SCIM `meta.location`
    /// and the bootstrap message. Derived from the bound address when unset.
    pub public_url: Option<String>,
    pub pool_size: u32,
    /// How long a request waits for a database connection before it is answered 503.
    pub pool_timeout: Duration,
    pub token_cache_ttl: Duration,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    pub workers: Option<usize>,
    /// How long in-flight requests may run after SIGINT/SIGTERM.
    pub shutdown_timeout: Duration,
    /// How long a client may take to send its request.
    pub client_request_timeout: Duration,
    pub bootstrap: bool,
    /// The largest SCIM page (`count`) served (RFC 7644 §3.4.2.4).
    pub max_results: i64,
    /// Bulk limits advertised in /ServiceProviderConfig and enforced (RFC 7644 §3.7).
    pub bulk_max_operations: usize,
    pub bulk_max_payload: usize,
}

impl Settings {
    /// The settings `scimd serve` runs with when given no flags and no env twins.
    pub fn new(database_url: DatabaseUrl) -> Self {
        Self::from_args(database_url, ServeArgs::default())
    }

    /// The settings for `serve`'s flags; the rest have no flag and take their defaults here.
    pub fn from_args(database_url: DatabaseUrl, args: ServeArgs) -> Self {
        // Taken apart whole, so a flag added to `ServeArgs` cannot be forgotten here.
        let ServeArgs {
            bind,
            no_bootstrap,
            public_url,
            pool_size,
            pool_timeout,
            token_cache_ttl,
            max_body_bytes,
            workers,
            shutdown_timeout,
        } = args;
        Self {
            database_url,
            bind,
            public_url,
            pool_size,
            pool_timeout: pool_timeout.into(),
            token_cache_ttl: token_cache_ttl.into(),
            max_body_bytes,
            workers,
            shutdown_timeout: shutdown_timeout.into(),
            client_request_timeout: Duration::from_secs(60),
            bootstrap: !no_bootstrap,
            max_results: 1000,
            bulk_max_operations: 1000,
            bulk_max_payload: 4 * 1024 * 1024,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_url_accepts_postgres_urls_and_names_the_database() {
        let url = DatabaseUrl::parse("postgres://u:pw@db.example:6543/sc%20imd").ok();
        let url = url.as_ref();
        assert_eq!(
            url.map(DatabaseUrl::database_name).as_deref(),
            Some("sc imd")
        );
        assert_eq!(
            url.map(DatabaseUrl::server).as_deref(),
            Some("db.example:6543")
        );
        let other = url.map(|u| u.with_database("postgres"));
        assert_eq!(
            other.as_ref().map(DatabaseUrl::expose),
            Some("postgres://u:pw@db.example:6543/postgres")
        );
    }

    #[test]
    fn database_url_rejects_what_is_not_a_postgres_url() {
        assert!(matches!(
            DatabaseUrl::parse("not a url"),
            Err(DatabaseUrlError::Unparseable(_))
        ));
        assert!(matches!(
            DatabaseUrl::parse("mysql://h/db"),
            Err(DatabaseUrlError::Scheme(_))
        ));
        assert!(matches!(
            DatabaseUrl::parse("postgres://h/"),
            Err(DatabaseUrlError::NoDatabase)
        ));
    }

    /// What clap fills in when `serve` is given nothing (env twins ignored) is what
    /// `Settings::new` starts from.
    #[test]
    fn serve_defaults_are_the_ones_settings_start_from() {
        use clap::{Args, FromArgMatches};
        let command = ServeArgs::augment_args(clap::Command::new("serve"))
            .mut_args(|arg| arg.env(None::<&str>));
        let parsed = command
            .try_get_matches_from(["serve"])
            .and_then(|m| ServeArgs::from_arg_matches(&m));
        assert_eq!(parsed.ok(), Some(ServeArgs::default()));
    }

    #[test]
    fn secrets_do_not_print() {
        let url = DatabaseUrl::parse("postgres://u:hunter2@h/db").ok();
        assert!(!format!("{url:?}").contains("hunter2"));
    }
}
