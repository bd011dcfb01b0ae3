//! Typed settings. `scimd serve` reads [`ServeArgs`] from its flags and their env twins and
//! turns them into [`Settings`]; tests build [`Settings::new`] directly. Every default is
//! written once, here, and both paths start from it. Secrets are wrapped so they never reach
//! a log line.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::Arc;
use std::time::Duration;

use crate::secrets::{KeyError, Keyring};

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

/// What clap reads a secret flag or env twin into.
impl From<String> for Secret<String> {
    fn from(value: String) -> Self {
        Self(value)
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

    /// host:port for messages; never the user or password. A Unix socket's folder is
    /// shown decoded (`/run/scimd:5432`).
    pub fn server(&self) -> String {
        let url = self.url.expose();
        format!(
            "{}:{}",
            percent_decode(url.host_str().unwrap_or_default()),
            url.port().unwrap_or(5432)
        )
    }

    /// `text` with this URL's password (as written, and percent-decoded; in the user part
    /// or a `password` parameter) replaced by `***`. For drivers' error texts, a few of
    /// which quote the URL they were given.
    pub fn redact(&self, text: &str) -> String {
        let url = self.url.expose();
        let mut secrets: Vec<String> = url
            .query_pairs()
            .filter(|(k, _)| k == "password")
            .map(|(_, v)| v.into_owned())
            .collect();
        if let Some(raw) = url.password() {
            secrets.push(raw.to_owned());
            secrets.push(percent_decode(raw));
        }
        // The longest first, so that a decoded form inside a raw one goes whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        let mut out = text.to_owned();
        for secret in secrets.iter().filter(|s| !s.is_empty()) {
            out = out.replace(secret.as_str(), "***");
        }
        out
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
const DEFAULT_SYNC_WORKERS: usize = 2;
const DEFAULT_CONSOLE_IDLE_TIMEOUT: Duration = Duration::from_secs(30 * 60);
const DEFAULT_CONSOLE_SESSION_LIFETIME: Duration = Duration::from_secs(12 * 60 * 60);

/// How long operator console sessions live: unused, and at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionTimes {
    pub idle: Duration,
    pub absolute: Duration,
}

/// Whether a feature is served: `on` or `off`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Switch {
    On,
    Off,
}

const DEFAULT_AUTH_FAILURES_PER_MINUTE: u32 = 20;
const DEFAULT_CLIENT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_KEEP_ALIVE: Duration = Duration::from_secs(5);
const DEFAULT_MAX_CONNECTIONS: usize = 1024;
const DEFAULT_MAX_REQUEST_LINE_BYTES: usize = 16 * 1024;
pub const DEFAULT_MAX_HEADER_BYTES: usize = 16 * 1024;

/// A proxy whose `X-Forwarded-For` is believed: one address or a CIDR block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrustedProxy(pub ipnet::IpNet);

impl std::str::FromStr for TrustedProxy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        s.parse::<ipnet::IpNet>()
            .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
            .map(|net| Self(net.trunc()))
            .map_err(|_| format!("`{s}` is neither an IP address nor a CIDR block"))
    }
}

impl fmt::Display for TrustedProxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
const DEFAULT_EVENT_RETENTION: Duration = Duration::from_secs(400 * 24 * 3600);
/// A shorter retention would prune what feed readers have not had a chance to read.
const MIN_EVENT_RETENTION: Duration = Duration::from_secs(24 * 3600);

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
    /// Proxies (addresses or CIDR blocks, comma-separated) whose X-Forwarded-For names the
    /// client; from any other peer the header is ignored.
    #[arg(long, env = "SCIMD_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<TrustedProxy>,
    /// Failed sign-ins a client address may make per minute before it gets 429; 0: no limit.
    #[arg(long, env = "SCIMD_AUTH_FAILURES_PER_MINUTE", default_value_t = DEFAULT_AUTH_FAILURES_PER_MINUTE)]
    pub auth_failures_per_minute: u32,
    /// How long a client may take to send a request's head (request line and headers);
    /// slower ones get 408 and are disconnected.
    #[arg(long, env = "SCIMD_CLIENT_REQUEST_TIMEOUT", default_value_t = DEFAULT_CLIENT_REQUEST_TIMEOUT.into())]
    pub client_request_timeout: humantime::Duration,
    /// How long an idle connection is kept open for its next request; 0s: one request per
    /// connection.
    #[arg(long, env = "SCIMD_KEEP_ALIVE", default_value_t = DEFAULT_KEEP_ALIVE.into())]
    pub keep_alive: humantime::Duration,
    /// Open connections per HTTP worker; past it, new ones wait in the listen backlog.
    #[arg(long, env = "SCIMD_MAX_CONNECTIONS", default_value_t = DEFAULT_MAX_CONNECTIONS)]
    pub max_connections: usize,
    /// Longest request line (method, URI, version), in bytes; longer ones get 414.
    #[arg(long, env = "SCIMD_MAX_REQUEST_LINE_BYTES", default_value_t = DEFAULT_MAX_REQUEST_LINE_BYTES)]
    pub max_request_line_bytes: usize,
    /// Most bytes of header fields a request may carry; more get 431.
    #[arg(long, env = "SCIMD_MAX_HEADER_BYTES", default_value_t = DEFAULT_MAX_HEADER_BYTES)]
    pub max_header_bytes: usize,
    #[command(flatten)]
    pub keys: SecretKeyArgs,
    /// Application (client) id of a platform-wide Microsoft Entra app registration that
    /// connections may use instead of their own.
    #[arg(long, env = "SCIMD_GRAPH_CLIENT_ID")]
    pub graph_client_id: Option<String>,
    /// Client secret of the platform-wide app registration.
    #[arg(long, env = "SCIMD_GRAPH_CLIENT_SECRET", hide_env_values = true)]
    pub graph_client_secret: Option<Secret<String>>,
    /// Pull syncs this node runs at once; 0 turns pulling off on this node.
    #[arg(long, env = "SCIMD_SYNC_WORKERS", default_value_t = DEFAULT_SYNC_WORKERS)]
    pub sync_workers: usize,
    /// Events older than this are pruned from the feed and the audit log (e.g. 400d).
    // Written as days: humantime would show 400 days as `1year 1month 4days 7h 26m 24s`.
    #[arg(long, env = "SCIMD_EVENT_RETENTION", default_value = "400d")]
    pub event_retention: humantime::Duration,
    /// Replaces the Microsoft sign-in root (https://login.microsoftonline.com and its
    /// national twins) for every cloud: scheme, host and port; the paths stay.
    #[arg(long, env = "SCIMD_GRAPH_LOGIN_URL")]
    pub graph_login_url: Option<url::Url>,
    /// Replaces the Microsoft Graph root (https://graph.microsoft.com and its national
    /// twins) for every cloud: scheme, host and port; the paths stay.
    #[arg(long, env = "SCIMD_GRAPH_API_URL")]
    pub graph_api_url: Option<url::Url>,
    /// The platform-wide Google service account: its JSON key file. Google connections
    /// that give no key of their own act as it.
    #[arg(long, env = "SCIMD_GOOGLE_SERVICE_ACCOUNT_FILE")]
    pub google_service_account_file: Option<std::path::PathBuf>,
    /// Replaces the whole Google token URI (the service account key's `token_uri`, also
    /// the JWT's audience).
    #[arg(long, env = "SCIMD_GOOGLE_TOKEN_URL")]
    pub google_token_url: Option<url::Url>,
    /// Replaces the Google Directory API root (https://admin.googleapis.com): scheme, host
    /// and port; the paths stay.
    #[arg(long, env = "SCIMD_GOOGLE_DIRECTORY_URL")]
    pub google_directory_url: Option<url::Url>,
    /// The operator console at /console: `on` or `off`.
    #[arg(long, env = "SCIMD_CONSOLE", value_enum, default_value_t = Switch::On)]
    pub console: Switch,
    /// A console session unused this long is signed out.
    #[arg(long, env = "SCIMD_CONSOLE_IDLE_TIMEOUT", default_value_t = DEFAULT_CONSOLE_IDLE_TIMEOUT.into())]
    pub console_idle_timeout: humantime::Duration,
    /// A console session ends this long after sign-in, however it is used.
    #[arg(long, env = "SCIMD_CONSOLE_SESSION_LIFETIME", default_value_t = DEFAULT_CONSOLE_SESSION_LIFETIME.into())]
    pub console_session_lifetime: humantime::Duration,
}

/// The keys connection secrets are sealed with (`serve`, `secret-key rotate`).
#[derive(Clone, Debug, Default, PartialEq, Eq, clap::Args)]
pub struct SecretKeyArgs {
    /// Key that seals connection secrets at rest: 32 bytes, standard base64 (`scimd
    /// secret-key generate`). Without it, connections cannot store a client secret.
    #[arg(long, env = "SCIMD_SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<Secret<String>>,
    /// The key before the current one: values sealed under it still open until `scimd
    /// secret-key rotate` seals them again.
    #[arg(long, env = "SCIMD_SECRET_KEY_PREVIOUS", hide_env_values = true)]
    pub secret_key_previous: Option<Secret<String>>,
}

impl SecretKeyArgs {
    /// The keyring these keys make; none without a current key.
    pub fn keyring(&self) -> Result<Option<Keyring>, KeyError> {
        Keyring::from_settings(self.secret_key.as_ref(), self.secret_key_previous.as_ref())
    }
}

/// A platform-wide Microsoft Entra app registration: connections that give no client id
/// and secret of their own authenticate as it.
#[derive(Clone, Debug)]
pub struct PlatformApp {
    pub client_id: String,
    pub client_secret: Secret<String>,
}

/// A setting of `serve` that cannot be used: the server does not start.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(
        "SCIMD_GRAPH_CLIENT_ID and SCIMD_GRAPH_CLIENT_SECRET go together: set both or neither"
    )]
    HalfPlatformApp,
    #[error("SCIMD_GOOGLE_SERVICE_ACCOUNT_FILE {path}: {reason}")]
    GoogleAccount { path: String, reason: String },
    #[error("SCIMD_EVENT_RETENTION must be at least 1d, not {0}")]
    Retention(humantime::Duration),
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
            trusted_proxies: Vec::new(),
            auth_failures_per_minute: DEFAULT_AUTH_FAILURES_PER_MINUTE,
            client_request_timeout: DEFAULT_CLIENT_REQUEST_TIMEOUT.into(),
            keep_alive: DEFAULT_KEEP_ALIVE.into(),
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_request_line_bytes: DEFAULT_MAX_REQUEST_LINE_BYTES,
            max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
            keys: SecretKeyArgs::default(),
            graph_client_id: None,
            graph_client_secret: None,
            sync_workers: DEFAULT_SYNC_WORKERS,
            event_retention: DEFAULT_EVENT_RETENTION.into(),
            graph_login_url: None,
            graph_api_url: None,
            google_service_account_file: None,
            google_token_url: None,
            google_directory_url: None,
            console: Switch::On,
            console_idle_timeout: DEFAULT_CONSOLE_IDLE_TIMEOUT.into(),
            console_session_lifetime: DEFAULT_CONSOLE_SESSION_LIFETIME.into(),
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
    /// How long a client may take to send a request's head ([`crate::http::edge`]).
    pub client_request_timeout: Duration,
    /// How long an idle connection waits for its next request; zero: none.
    pub keep_alive: Duration,
    /// Open connections per HTTP worker.
    pub max_connections: usize,
    /// Request line and header limits (414, 431), checked before actix-http parses a head.
    pub max_request_line_bytes: usize,
    pub max_header_bytes: usize,
    /// Peers whose `X-Forwarded-For` is believed ([`crate::http::client`]).
    pub trusted_proxies: Vec<TrustedProxy>,
    /// Failed sign-ins per client address per minute ([`crate::auth::failures`]); 0: none.
    pub auth_failures_per_minute: u32,
    pub bootstrap: bool,
    /// The largest SCIM page (`count`) served (RFC 7644 §3.4.2.4).
    pub max_results: i64,
    /// Bulk limits advertised in /ServiceProviderConfig and enforced (RFC 7644 §3.7).
    pub bulk_max_operations: usize,
    pub bulk_max_payload: usize,
    /// Seals and opens connection secrets; `None` when `SCIMD_SECRET_KEY` is not set, and
    /// then no secret can be stored.
    pub keyring: Option<Arc<Keyring>>,
    /// The platform-wide Graph app registration, if the server has one.
    pub graph_app: Option<PlatformApp>,
    /// Pull syncs run at once on this node; 0: none.
    pub sync_workers: usize,
    /// Where Microsoft's sign-in and Graph are reached instead of their clouds' roots.
    pub graph_login_url: Option<url::Url>,
    pub graph_api_url: Option<url::Url>,
    /// The platform-wide Google service account, if the server has one.
    pub google_account: Option<Arc<crate::sync::google::ServiceAccount>>,
    /// Where Google's token endpoint and Directory API are reached instead of Google's.
    pub google_token_url: Option<url::Url>,
    pub google_directory_url: Option<url::Url>,
    /// How often the sync scheduler looks for due connections and queued runs.
    pub sync_tick: Duration,
    /// Whether /console is served.
    pub console: bool,
    /// How long console sessions live, idle and at most.
    pub console_sessions: SessionTimes,
    /// Events older than this are pruned.
    pub event_retention: Duration,
    /// How often a node offers to do the housekeeping (pruning, erasing); one node at a
    /// time does it ([`crate::provisioning::retention`]).
    pub housekeeping_every: Duration,
    /// How the node's change listener reconnects ([`crate::store::notify`]).
    pub listen: crate::store::notify::ListenTiming,
}

impl Settings {
    /// The settings `scimd serve` runs with when given no flags and no env twins.
    pub fn new(database_url: DatabaseUrl) -> Self {
        Self::plain(database_url, ServeArgs::default())
    }

    /// The settings for `serve`'s flags; the rest have no flag and take their defaults here.
    /// A secret key that is not one, or half a platform app, is refused.
    pub fn from_args(database_url: DatabaseUrl, args: ServeArgs) -> Result<Self, SettingsError> {
        let keyring = args.keys.keyring()?.map(Arc::new);
        let graph_app = match (&args.graph_client_id, &args.graph_client_secret) {
            (Some(client_id), Some(client_secret)) => Some(PlatformApp {
                client_id: client_id.clone(),
                client_secret: client_secret.clone(),
            }),
            (None, None) => None,
            _ => return Err(SettingsError::HalfPlatformApp),
        };
        if Duration::from(args.event_retention) < MIN_EVENT_RETENTION {
            return Err(SettingsError::Retention(args.event_retention));
        }
        let google_account = match &args.google_service_account_file {
            Some(path) => Some(Arc::new(read_google_account(path)?)),
            None => None,
        };
        Ok(Self {
            keyring,
            graph_app,
            google_account,
            ..Self::plain(database_url, args)
        })
    }

    /// Every setting but those that must be checked first (the keys, the platform app).
    fn plain(database_url: DatabaseUrl, args: ServeArgs) -> Self {
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
            trusted_proxies,
            auth_failures_per_minute,
            client_request_timeout,
            keep_alive,
            max_connections,
            max_request_line_bytes,
            max_header_bytes,
            keys: _,
            graph_client_id: _,
            graph_client_secret: _,
            sync_workers,
            event_retention,
            graph_login_url,
            graph_api_url,
            google_service_account_file: _,
            google_token_url,
            google_directory_url,
            console,
            console_idle_timeout,
            console_session_lifetime,
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
            client_request_timeout: client_request_timeout.into(),
            keep_alive: keep_alive.into(),
            max_connections,
            max_request_line_bytes,
            max_header_bytes,
            trusted_proxies,
            auth_failures_per_minute,
            bootstrap: !no_bootstrap,
            max_results: 1000,
            bulk_max_operations: 1000,
            bulk_max_payload: 4 * 1024 * 1024,
            keyring: None,
            graph_app: None,
            sync_workers,
            graph_login_url,
            graph_api_url,
            google_account: None,
            google_token_url,
            google_directory_url,
            sync_tick: Duration::from_secs(10),
            console: console == Switch::On,
            console_sessions: SessionTimes {
                idle: console_idle_timeout.into(),
                absolute: console_session_lifetime.into(),
            },
            event_retention: event_retention.into(),
            housekeeping_every: Duration::from_secs(600),
            listen: crate::store::notify::ListenTiming::default(),
        }
    }
}

/// The platform's Google service account key file, read and checked.
fn read_google_account(
    path: &std::path::Path,
) -> Result<crate::sync::google::ServiceAccount, SettingsError> {
    let fail = |reason: String| SettingsError::GoogleAccount {
        path: path.display().to_string(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
    crate::sync::google::ServiceAccount::parse(&text).map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Why `args` stop the server, if they do.
    fn refusal(url: &DatabaseUrl, args: ServeArgs) -> Option<String> {
        Settings::from_args(url.clone(), args)
            .err()
            .map(|e| e.to_string())
    }

    /// Asserts that the server was stopped, with a message `says` accepts.
    #[track_caller]
    fn assert_refused(err: Option<String>, says: impl FnOnce(&str) -> bool) {
        assert!(err.as_deref().is_some_and(says), "{err:?}");
    }

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
    fn an_unreadable_google_service_account_file_stops_the_server_naming_it() {
        let Ok(url) = DatabaseUrl::parse(DEFAULT_DATABASE_URL) else {
            return;
        };
        let dir = std::env::temp_dir().join(format!("scimd-google-{}", std::process::id()));
        let missing = ServeArgs {
            google_service_account_file: Some(dir.join("missing.json")),
            ..ServeArgs::default()
        };
        let err = refusal(&url, missing);
        assert_refused(err, |e| {
            e.contains("SCIMD_GOOGLE_SERVICE_ACCOUNT_FILE") && e.contains("missing.json")
        });
        let _ = std::fs::create_dir_all(&dir);
        let not_a_key = dir.join("not-a-key.json");
        let _ = std::fs::write(&not_a_key, r#"{"type": "authorized_user"}"#);
        let bad = ServeArgs {
            google_service_account_file: Some(not_a_key),
            ..ServeArgs::default()
        };
        let err = refusal(&url, bad);
        let _ = std::fs::remove_dir_all(&dir);
        assert_refused(err, |e| e.contains("service_account"));
    }

    #[test]
    fn half_a_platform_app_or_a_bad_key_stops_the_server() {
        let url = DatabaseUrl::parse(DEFAULT_DATABASE_URL).ok();
        let Some(url) = url else { return };
        let half = ServeArgs {
            graph_client_id: Some("app".into()),
            ..ServeArgs::default()
        };
        let err = refusal(&url, half);
        assert_refused(err, |e| e.contains("SCIMD_GRAPH_CLIENT_SECRET"));
        let bad_key = ServeArgs {
            keys: SecretKeyArgs {
                secret_key: Some(Secret::new("c2hvcnQ=".into())),
                secret_key_previous: None,
            },
            ..ServeArgs::default()
        };
        let err = refusal(&url, bad_key);
        assert_refused(err, |e| {
            e.starts_with("SCIMD_SECRET_KEY must decode to 32 bytes")
        });
        let good = ServeArgs {
            keys: SecretKeyArgs {
                secret_key: Some(Secret::new(crate::secrets::generate_key())),
                secret_key_previous: None,
            },
            graph_client_id: Some("app".into()),
            graph_client_secret: Some(Secret::new("pw".into())),
            ..ServeArgs::default()
        };
        let settings = Settings::from_args(url, good).ok();
        assert!(settings
            .as_ref()
            .is_some_and(|s| s.keyring.is_some() && s.graph_app.is_some()));
        assert!(!format!("{settings:?}").contains("pw\""));
    }

    #[test]
    fn trusted_proxies_are_addresses_or_cidr_blocks() {
        let parsed: Vec<Result<TrustedProxy, String>> = [
            "10.0.0.1",
            " 10.1.2.3/8",
            "::1",
            "fd00::/8",
            "nope",
            "10.0.0.0/33",
        ]
        .iter()
        .map(|s| s.parse())
        .collect();
        let shown: Vec<String> = parsed
            .iter()
            .map(|p| match p {
                Ok(p) => p.to_string(),
                Err(e) => e.clone(),
            })
            .collect();
        assert_eq!(
            shown,
            [
                "10.0.0.1/32",
                "10.0.0.0/8",
                "::1/128",
                "fd00::/8",
                "`nope` is neither an IP address nor a CIDR block",
                "`10.0.0.0/33` is neither an IP address nor a CIDR block",
            ]
        );
    }

    #[test]
    fn an_event_retention_under_a_day_stops_the_server() {
        let Ok(url) = DatabaseUrl::parse(DEFAULT_DATABASE_URL) else {
            return;
        };
        let short = ServeArgs {
            event_retention: Duration::from_secs(3600).into(),
            ..ServeArgs::default()
        };
        let err = refusal(&url, short);
        assert_eq!(
            err.as_deref(),
            Some("SCIMD_EVENT_RETENTION must be at least 1d, not 1h")
        );
        let settings = Settings::from_args(url, ServeArgs::default()).ok();
        assert_eq!(
            settings.map(|s| s.event_retention),
            Some(Duration::from_secs(400 * 24 * 3600))
        );
    }

    #[test]
    fn secrets_do_not_print() {
        let url = DatabaseUrl::parse("postgres://u:hunter2@h/db").ok();
        assert!(!format!("{url:?}").contains("hunter2"));
    }
}
