//! Typed settings. The command line (`main.rs`) fills them from flags and their env twins;
//! tests build them directly. Secrets are wrapped so they never reach a log line.

use std::fmt;
use std::net::SocketAddr;
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

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
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
    pub fn new(database_url: DatabaseUrl) -> Self {
        Self {
            database_url,
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: None,
            pool_size: 10,
            pool_timeout: Duration::from_secs(5),
            token_cache_ttl: Duration::from_secs(60),
            max_body_bytes: 16 * 1024 * 1024,
            workers: None,
            shutdown_timeout: Duration::from_secs(30),
            client_request_timeout: Duration::from_secs(60),
            bootstrap: true,
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

    #[test]
    fn secrets_do_not_print() {
        let url = DatabaseUrl::parse("postgres://u:hunter2@h/db").ok();
        assert!(!format!("{url:?}").contains("hunter2"));
    }
}
