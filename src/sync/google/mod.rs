//! The Google Workspace connector: reads a customer's directory through the Admin SDK
//! Directory API as a service account acting for one of the customer's administrators
//! (domain-wide delegation), and hands the engine pages of users and groups.
//!
//! Google has no delta: every round is a full listing of the connection's scope, and the
//! engine's staging, plan and brake diff it against everyone the connection manages.
//!
//! - [`GoogleScope::All`]: `users.list` for the customer, then every group
//!   (`groups.list`) with its user members (`members.list`, nested membership included).
//! - [`GoogleScope::OrgUnits`]: `users.list` with `query=orgUnitPath='…'` for each unit
//!   (sub-units included), then every group as above.
//! - [`GoogleScope::Groups`]: the chosen groups (`groups.get`) and their user members,
//!   nested membership included; each member's details with `users.get`.

mod account;
mod errors;
mod person;
mod round;
mod token;

use std::sync::Arc;

use serde_json::Value;
use url::Url;

use crate::domain::GoogleScope;
use crate::sync::http::{fetch_classified, Fetched, RetryBudget};
use crate::sync::{SyncError, TestReport};

pub use account::ServiceAccount;
pub use errors::Reading;
pub use person::{person, USER_FIELDS};
pub use round::Round;

/// The Directory API's root.
pub const DIRECTORY_ROOT: &str = "https://admin.googleapis.com";
/// Google's token endpoint, when the key names none.
pub const TOKEN_URI: &str = "https://oauth2.googleapis.com/token";

/// The read-only scopes the service account's delegation must allow, all asked for in
/// every token.
pub const SCOPES: [&str; 4] = [
    "https://www.googleapis.com/auth/admin.directory.user.readonly",
    "https://www.googleapis.com/auth/admin.directory.group.readonly",
    "https://www.googleapis.com/auth/admin.directory.group.member.readonly",
    "https://www.googleapis.com/auth/admin.directory.orgunit.readonly",
];

/// One connection's settings.
#[derive(Debug, Clone)]
pub struct GoogleConfig {
    /// The administrator the service account acts for (the JWT's `sub`).
    pub admin_email: String,
    /// `my_customer` (the administrator's own) or a customer id.
    pub customer: String,
    pub scope: GoogleScope,
    pub account: Arc<ServiceAccount>,
}

/// Roots that replace Google's (tests, benchmarks, a proxy): `token` replaces the whole
/// token URI (also the JWT's audience), `directory` the Directory API's scheme, host and
/// port (the paths stay). Only these may be plain `http`.
#[derive(Debug, Clone, Default)]
pub struct Roots {
    pub token: Option<Url>,
    pub directory: Option<Url>,
}

/// A connector for one connection and one run.
pub struct Google {
    config: GoogleConfig,
    token_url: Url,
    api: Url,
    http: reqwest::Client,
    budget: RetryBudget,
    token: crate::sync::token::Cache,
}

impl std::fmt::Debug for Google {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Google")
            .field("customer", &self.config.customer)
            .field("admin", &self.config.admin_email)
            .field("api", &self.api.as_str())
            .finish_non_exhaustive()
    }
}

/// Users asked for per `users.list` page: the API's largest.
pub const USERS_PAGE: &str = "500";
/// Groups or members asked for per page: the API's largest.
pub const GROUPS_PAGE: &str = "200";

impl Google {
    /// Checks the settings and picks the endpoints. `http` should not follow redirects
    /// and should carry the caller's timeouts; `budget` is the run's retry allowance.
    pub fn new(
        config: GoogleConfig,
        roots: &Roots,
        http: reqwest::Client,
        budget: RetryBudget,
    ) -> Result<Self, SyncError> {
        let bad = |m: String| SyncError::new("bad_config", m);
        if !crate::domain::is_email(&config.admin_email) {
            return Err(bad(format!(
                "the administrator {:?} is not an email address",
                config.admin_email
            )));
        }
        if !is_customer(&config.customer) {
            return Err(bad(format!(
                "the customer {:?} is neither my_customer nor a customer ID",
                config.customer
            )));
        }
        let token_url = match &roots.token {
            Some(url) => overridden(url, "token URL")?,
            None => config.account.token_uri()?,
        };
        let api = match &roots.directory {
            Some(url) => {
                let mut url = overridden(url, "Directory root")?;
                url.set_path("/");
                url.set_query(None);
                url
            }
            None => Url::parse(DIRECTORY_ROOT).map_err(|e| bad(e.to_string()))?,
        };
        Ok(Self {
            config,
            token_url,
            api,
            http,
            budget,
            token: crate::sync::token::Cache::default(),
        })
    }

    pub fn config(&self) -> &GoogleConfig {
        &self.config
    }

    /// The run's retry allowance (its counters feed `/metrics`).
    pub fn budget(&self) -> &RetryBudget {
        &self.budget
    }

    /// Starts a round: always a full listing (Google keeps no delta).
    pub async fn round(&self, _state: &Value) -> Result<Round<'_>, SyncError> {
        Ok(Round::start(self))
    }

    /// Signs in and reads one user (and one group, or the first chosen group), and says in
    /// plain words whether that worked.
    pub async fn test(&self) -> TestReport {
        TestReport::of(self.try_test().await)
    }

    async fn try_test(&self) -> Result<String, SyncError> {
        token::diagnose(self).await?;
        let customer = self.config.customer.as_str();
        let read = match &self.config.scope {
            GoogleScope::All {} | GoogleScope::OrgUnits { .. } => {
                let query = match &self.config.scope {
                    GoogleScope::OrgUnits { paths } => {
                        paths.first().map(|p| (org_unit_query(p), p.as_str()))
                    }
                    _ => None,
                };
                let mut params = vec![
                    ("customer", customer.to_owned()),
                    ("maxResults", "1".to_owned()),
                    ("fields", "kind,users(id)".to_owned()),
                ];
                if let Some((q, _)) = &query {
                    params.push(("query", q.clone()));
                }
                let url = self.url("/admin/directory/v1/users", &params);
                let reading = match &query {
                    Some((_, path)) => Reading::OrgUnit(path),
                    None => Reading::Users,
                };
                errors::ensure_ok(self, &self.get(&url).await?, reading)?;
                let url = self.url(
                    "/admin/directory/v1/groups",
                    &[
                        ("customer", customer.to_owned()),
                        ("maxResults", "1".to_owned()),
                        ("fields", "kind,groups(id)".to_owned()),
                    ],
                );
                errors::ensure_ok(self, &self.get(&url).await?, Reading::Groups)?;
                match query {
                    Some((_, path)) => format!("1 user of organisational unit {path} and 1 group"),
                    None => "1 user and 1 group".to_owned(),
                }
            }
            GoogleScope::Groups { group_emails } => {
                let first = group_emails.first().map(String::as_str).unwrap_or_default();
                let url = self.url(
                    &format!("/admin/directory/v1/groups/{}/members", key(first)),
                    &[
                        ("maxResults", "1".to_owned()),
                        ("includeDerivedMembership", "true".to_owned()),
                        ("fields", "kind,members(id)".to_owned()),
                    ],
                );
                errors::ensure_ok(self, &self.get(&url).await?, Reading::Members(first))?;
                format!("1 member of group {first}")
            }
        };
        Ok(format!(
            "Connected: the service account {} signed in as {} and read {read} of customer \
             {customer} from Google Workspace",
            self.config.account.client_email(),
            self.config.admin_email
        ))
    }

    /// A Directory API URL on the configured root.
    fn url(&self, path: &str, query: &[(&str, String)]) -> Url {
        let mut url = self.api.clone();
        url.set_path(path);
        if !query.is_empty() {
            url.query_pairs_mut()
                .extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())));
        }
        url
    }

    /// GET with the service account's token; rate-limit answers are retried. A 401 means
    /// the token went stale: one new token, one more try, and a second 401 fails the run.
    async fn get(&self, url: &Url) -> Result<Fetched, SyncError> {
        let scopes = SCOPES.join(" ");
        let host = url.host_str().unwrap_or_default();
        self.token
            .send(
                || token::request(self, &scopes),
                |token| {
                    fetch_classified(
                        &self.budget,
                        "the Google Directory API",
                        host,
                        errors::rate_limited,
                        move || {
                            self.http
                                .get(url.clone())
                                .bearer_auth(token.expose())
                                .header(reqwest::header::ACCEPT, "application/json")
                        },
                    )
                },
                errors::token_rejected,
            )
            .await
    }
}

/// `query` for the users of an organisational unit and its sub-units.
fn org_unit_query(path: &str) -> String {
    format!("orgUnitPath='{path}'")
}

/// What a path segment leaves as it is: RFC 3986's unreserved characters.
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A user or group key (an id or an address) as one path segment.
fn key(k: &str) -> String {
    percent_encoding::utf8_percent_encode(k, SEGMENT).to_string()
}

/// `my_customer`, or a customer id (`C0123abcd`).
pub fn is_customer(c: &str) -> bool {
    c == "my_customer"
        || ((2..=64).contains(&c.len()) && c.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// An override: an http or https URL with a host.
fn overridden(url: &Url, what: &str) -> Result<Url, SyncError> {
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(SyncError::new(
            "bad_config",
            format!("the Google {what} override {url} must be an http or https URL with a host"),
        ));
    }
    let mut url = url.clone();
    url.set_fragment(None);
    let _ = url.set_username("");
    let _ = url.set_password(None);
    Ok(url)
}

#[cfg(test)]
#[expect(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn customers_are_my_customer_or_an_id() {
        assert!(is_customer("my_customer"));
        assert!(is_customer("C01ab2cd3"));
        assert!(!is_customer("C01/../x"));
        assert!(!is_customer(""));
    }

    #[test]
    fn keys_are_one_path_segment() {
        assert_eq!(key("sales@example.com"), "sales%40example.com");
        assert_eq!(key("a/b"), "a%2Fb");
    }

    #[test]
    fn an_override_must_be_http_or_https() {
        let ftp = Url::parse("ftp://example.com/token").unwrap();
        assert_eq!(
            overridden(&ftp, "token URL").unwrap_err().code,
            "bad_config"
        );
        let ok = Url::parse("http://127.0.0.1:9/token").unwrap();
        assert_eq!(
            overridden(&ok, "token URL").unwrap().as_str(),
            "http://127.0.0.1:9/token"
        );
    }
}
