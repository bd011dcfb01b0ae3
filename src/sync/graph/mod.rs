//! The Microsoft Graph connector: reads a Microsoft 365 directory with an app's own
//! credentials (client credentials) and hands the engine pages of users and groups.
//!
//! Two scopes:
//!
//! - [`GraphScope::All`]: every user (`users: delta`) and every group with its user
//!   members (`groups: delta`, `$select=…,members`). The first round lists everything;
//!   later rounds start from the delta links the previous round left ([`Round::state`])
//!   and bring only changes.
//! - [`GraphScope::Groups`]: the transitive user members of chosen groups, read in full
//!   every run (`transitiveMembers/microsoft.graph.user`), and each chosen group with its
//!   complete member list.
//!
//! The connector never writes anywhere: the engine stages what a [`Round`] yields and
//! stores [`Round::state`] in the same transaction as the changes.

mod errors;
mod person;
mod round;
mod token;

use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use url::Url;

use crate::config::Secret;
use crate::sync::http::{fetch, Fetched, RetryBudget};
use crate::sync::{SyncError, TestReport};

pub use person::{person, person_fields, user_select, USER_FIELDS};
pub use round::Round;

/// A Microsoft cloud: where the app signs in and where Graph answers ("Microsoft Graph
/// national cloud deployments").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Cloud {
    #[serde(rename = "global")]
    Global,
    /// US Government L4 (GCC High).
    #[serde(rename = "usgov")]
    UsGov,
    /// US Government L5 (DoD).
    #[serde(rename = "usgov-dod")]
    UsGovDod,
    /// Microsoft 365 operated by 21Vianet.
    #[serde(rename = "china")]
    China,
}

impl Cloud {
    pub const ALL: [Self; 4] = [Self::Global, Self::UsGov, Self::UsGovDod, Self::China];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Global => "global",
            Self::UsGov => "usgov",
            Self::UsGovDod => "usgov-dod",
            Self::China => "china",
        }
    }

    /// The Microsoft Entra ID (token service) root.
    pub const fn login_root(self) -> &'static str {
        match self {
            Self::Global => "https://login.microsoftonline.com",
            Self::UsGov | Self::UsGovDod => "https://login.microsoftonline.us",
            Self::China => "https://login.chinacloudapi.cn",
        }
    }

    /// The Microsoft Graph service root; also the resource a token is asked for.
    pub const fn graph_root(self) -> &'static str {
        match self {
            Self::Global => "https://graph.microsoft.com",
            Self::UsGov => "https://graph.microsoft.us",
            Self::UsGovDod => "https://dod-graph.microsoft.us",
            Self::China => "https://microsoftgraph.chinacloudapi.cn",
        }
    }

    /// For messages: the cloud as a technician knows it.
    pub const fn label(self) -> &'static str {
        match self {
            Self::Global => "the global Microsoft cloud",
            Self::UsGov => "the US Government cloud (L4)",
            Self::UsGovDod => "the US Government DoD cloud (L5)",
            Self::China => "the China cloud operated by 21Vianet",
        }
    }
}

impl FromStr for Cloud {
    type Err = SyncError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| {
                SyncError::new(
                    "bad_config",
                    format!("unknown Microsoft cloud {s:?} (global, usgov, usgov-dod or china)"),
                )
            })
    }
}

/// Whom a connection reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "scope", rename_all = "lowercase")]
pub enum GraphScope {
    All,
    Groups { group_ids: Vec<String> },
}

/// One connection's settings.
#[derive(Debug, Clone)]
pub struct GraphConfig {
    /// The client's directory (tenant) ID or one of its verified domains.
    pub directory_tenant_id: String,
    pub cloud: Cloud,
    pub client_id: String,
    pub client_secret: Secret<String>,
    pub scope: GraphScope,
    /// Not used by the connector (it maps `guest` and passes everyone on); kept here so a
    /// connection's settings travel together.
    pub include_guests: bool,
}

/// Roots that replace the cloud's for every cloud (tests, benchmarks, a proxy). Only the
/// scheme, host and port are taken: the paths stay Microsoft's. An override may be plain
/// `http`; the built-in roots are all `https`.
#[derive(Debug, Clone, Default)]
pub struct Roots {
    pub login: Option<Url>,
    pub api: Option<Url>,
}

/// What a Graph request reads, for messages that name the missing permission.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Reading<'a> {
    Users,
    Groups,
    Group(&'a str),
    Members(&'a str),
}

/// A connector for one connection and one run.
pub struct Graph {
    config: GraphConfig,
    /// Where tokens come from (an origin: scheme, host, port).
    login: Url,
    /// Where Graph answers (an origin). Links elsewhere are refused.
    api: Url,
    http: reqwest::Client,
    budget: RetryBudget,
    token: crate::sync::token::Cache,
}

impl std::fmt::Debug for Graph {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Graph")
            .field("tenant", &self.config.directory_tenant_id)
            .field("cloud", &self.config.cloud)
            .field("api", &self.api.as_str())
            .finish_non_exhaustive()
    }
}

impl Graph {
    /// Checks the settings and picks the roots. `http` should not follow redirects (a
    /// redirect could carry the bearer token elsewhere) and should carry the timeouts the
    /// caller wants; `budget` is the run's retry allowance.
    pub fn new(
        config: GraphConfig,
        roots: &Roots,
        http: reqwest::Client,
        budget: RetryBudget,
    ) -> Result<Self, SyncError> {
        let bad = |m: String| Err(SyncError::new("bad_config", m));
        let tenant = &config.directory_tenant_id;
        if tenant.is_empty()
            || !tenant
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        {
            return bad(format!(
                "the directory tenant ID {tenant:?} is neither a tenant ID nor a domain name"
            ));
        }
        if config.client_id.trim().is_empty() {
            return bad("the application (client) ID is empty".into());
        }
        if let GraphScope::Groups { group_ids } = &config.scope {
            if group_ids.is_empty() {
                return bad("the connection reads chosen groups, but none is chosen".into());
            }
            if let Some(id) = group_ids.iter().find(|id| {
                id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            }) {
                return bad(format!("{id:?} is not a group ID"));
            }
        }
        let login = origin(roots.login.as_ref(), config.cloud.login_root(), "login")?;
        let api = origin(roots.api.as_ref(), config.cloud.graph_root(), "Graph")?;
        Ok(Self {
            config,
            login,
            api,
            http,
            budget,
            token: crate::sync::token::Cache::default(),
        })
    }

    pub fn config(&self) -> &GraphConfig {
        &self.config
    }

    /// The run's retry allowance (its counters feed `/metrics`).
    pub fn budget(&self) -> &RetryBudget {
        &self.budget
    }

    /// Starts a round from the state the previous one left (`{}`: none, a full round).
    pub async fn round(&self, state: &Value) -> Result<Round<'_>, SyncError> {
        Round::start(self, state)
    }

    /// Signs in and reads one small page, and says in plain words whether that worked.
    pub async fn test(&self) -> TestReport {
        TestReport::of(self.try_test().await)
    }

    async fn try_test(&self) -> Result<String, SyncError> {
        match &self.config.scope {
            GraphScope::All => {
                let url = self.url("/v1.0/users/delta", &[("$select", "id")]);
                let answer = self.get(&url, Some("odata.maxpagesize=1")).await?;
                errors::ensure_ok(&answer, Reading::Users)?;
                Ok("Connected: signed in and read 1 page of users from Microsoft Graph".into())
            }
            GraphScope::Groups { group_ids } => {
                let first = group_ids.first().map(String::as_str).unwrap_or_default();
                let url = self.url(
                    &format!("/v1.0/groups/{first}/transitiveMembers/microsoft.graph.user"),
                    &[("$select", "id"), ("$top", "1")],
                );
                let answer = self.get(&url, None).await?;
                errors::ensure_ok(&answer, Reading::Members(first))?;
                Ok(format!(
                    "Connected: signed in and read 1 page of the members of group {first} \
                     from Microsoft Graph"
                ))
            }
        }
    }

    /// A Graph URL on the configured root.
    fn url(&self, path: &str, query: &[(&str, &str)]) -> Url {
        let mut url = self.api.clone();
        url.set_path(path);
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }

    /// A link Graph gave (or a stored one) if it points at the configured root; never
    /// followed otherwise.
    fn own_link(&self, raw: &str) -> Result<Url, SyncError> {
        let link = Url::parse(raw).map_err(|_| {
            SyncError::new(
                "source_error",
                "Microsoft Graph returned a next-page or delta link that is not a URL",
            )
        })?;
        if same_origin(&link, &self.api) {
            Ok(link)
        } else {
            Err(SyncError::new(
                "foreign_link",
                format!(
                    "Microsoft Graph returned a link to {}, not to {}; the run stopped \
                     without following it",
                    link.host_str().unwrap_or("an unknown host"),
                    self.api.host_str().unwrap_or_default()
                ),
            ))
        }
    }

    /// GET with the app's token. A 401 means the token went stale (expired or revoked
    /// early): one new token, one more try, and a second 401 fails the run.
    async fn get(&self, url: &Url, prefer: Option<&str>) -> Result<Fetched, SyncError> {
        let host = url.host_str().unwrap_or_default();
        self.token
            .send(
                || token::request(self),
                |token| {
                    fetch(&self.budget, "Microsoft Graph", host, move || {
                        let request = self
                            .http
                            .get(url.clone())
                            .bearer_auth(token.expose())
                            .header(reqwest::header::ACCEPT, "application/json");
                        match prefer {
                            Some(p) => request.header("Prefer", p),
                            None => request,
                        }
                    })
                },
                errors::token_rejected,
            )
            .await
    }
}

/// The state a finished all-users round leaves.
fn delta_state(users: &str, groups: &str) -> Value {
    json!({ "users": users, "groups": groups })
}

/// Where an admin of any directory grants the app `client_id` the application
/// permissions it is registered with (the Microsoft identity platform's admin consent
/// endpoint, v2.0, `organizations`): Microsoft then redirects to `redirect_uri` with
/// `admin_consent=True`, `tenant` and the `state` given here, or with `error` and
/// `error_description`.
pub fn admin_consent_url(
    roots: &Roots,
    cloud: Cloud,
    client_id: &str,
    redirect_uri: &str,
    state: &str,
) -> Result<Url, SyncError> {
    let mut url = origin(roots.login.as_ref(), cloud.login_root(), "login")?;
    url.set_path("/organizations/v2.0/adminconsent");
    url.query_pairs_mut()
        .append_pair("client_id", client_id)
        .append_pair("scope", &format!("{}/.default", cloud.graph_root()))
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("state", state);
    Ok(url)
}

/// The origin (scheme, host, port) to call: the override's, else the cloud's.
fn origin(over: Option<&Url>, builtin: &str, what: &str) -> Result<Url, SyncError> {
    let bad = |m: String| SyncError::new("bad_config", m);
    let Some(over) = over else {
        return Url::parse(builtin).map_err(|e| bad(format!("{builtin}: {e}")));
    };
    if !matches!(over.scheme(), "http" | "https") || over.host_str().is_none() {
        return Err(bad(format!(
            "the {what} root override {over} must be an http or https URL with a host"
        )));
    }
    let mut url = over.clone();
    url.set_path("/");
    url.set_query(None);
    url.set_fragment(None);
    let _ = url.set_username("");
    let _ = url.set_password(None);
    Ok(url)
}

fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str().map(str::to_ascii_lowercase) == b.host_str().map(str::to_ascii_lowercase)
        && a.port_or_known_default() == b.port_or_known_default()
}

#[cfg(test)]
#[expect(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn config(cloud: Cloud) -> GraphConfig {
        GraphConfig {
            directory_tenant_id: "contoso.onmicrosoft.com".into(),
            cloud,
            client_id: "11111111-2222-3333-4444-555555555555".into(),
            client_secret: Secret::new("s".into()),
            scope: GraphScope::All,
            include_guests: false,
        }
    }

    fn graph(cloud: Cloud, roots: &Roots) -> Result<Graph, SyncError> {
        Graph::new(
            config(cloud),
            roots,
            reqwest::Client::new(),
            RetryBudget::new(Default::default()),
        )
    }

    #[test]
    fn each_cloud_has_its_documented_roots() {
        let roots: Vec<_> = Cloud::ALL
            .iter()
            .map(|c| (c.as_str(), c.login_root(), c.graph_root()))
            .collect();
        assert_eq!(
            roots,
            [
                (
                    "global",
                    "https://login.microsoftonline.com",
                    "https://graph.microsoft.com"
                ),
                (
                    "usgov",
                    "https://login.microsoftonline.us",
                    "https://graph.microsoft.us"
                ),
                (
                    "usgov-dod",
                    "https://login.microsoftonline.us",
                    "https://dod-graph.microsoft.us"
                ),
                (
                    "china",
                    "https://login.chinacloudapi.cn",
                    "https://microsoftgraph.chinacloudapi.cn"
                ),
            ]
        );
    }

    #[test]
    fn clouds_read_and_write_their_names() {
        for c in Cloud::ALL {
            assert_eq!(c.as_str().parse::<Cloud>().unwrap(), c);
            assert_eq!(serde_json::to_value(c).unwrap(), c.as_str());
        }
        assert_eq!("gov".parse::<Cloud>().unwrap_err().code, "bad_config");
    }

    #[test]
    fn graph_urls_use_the_cloud_root_without_overrides() {
        let g = graph(Cloud::UsGovDod, &Roots::default()).unwrap();
        assert_eq!(
            g.url("/v1.0/users/delta", &[]).as_str(),
            "https://dod-graph.microsoft.us/v1.0/users/delta"
        );
        assert_eq!(g.login.as_str(), "https://login.microsoftonline.us/");
    }

    #[test]
    fn an_override_replaces_scheme_host_and_port_for_every_cloud() {
        let roots = Roots {
            login: Some(Url::parse("http://127.0.0.1:9/ignored/path").unwrap()),
            api: Some(Url::parse("http://127.0.0.1:10/x?y=1").unwrap()),
        };
        for cloud in Cloud::ALL {
            let g = graph(cloud, &roots).unwrap();
            assert_eq!(g.login.as_str(), "http://127.0.0.1:9/");
            assert_eq!(
                g.url("/v1.0/groups/delta", &[]).as_str(),
                "http://127.0.0.1:10/v1.0/groups/delta"
            );
        }
    }

    #[test]
    fn an_override_must_be_http_or_https() {
        let roots = Roots {
            api: Some(Url::parse("ftp://example.com").unwrap()),
            ..Roots::default()
        };
        assert_eq!(graph(Cloud::Global, &roots).unwrap_err().code, "bad_config");
    }

    #[test]
    fn links_to_another_host_or_port_are_foreign() {
        let g = graph(Cloud::Global, &Roots::default()).unwrap();
        assert!(g
            .own_link("https://graph.microsoft.com/v1.0/users/delta?$skiptoken=x")
            .is_ok());
        assert!(g
            .own_link("https://GRAPH.microsoft.com:443/v1.0/users/delta")
            .is_ok());
        for foreign in [
            "https://graph.microsoft.com.evil.example/v1.0/users/delta",
            "http://graph.microsoft.com/v1.0/users/delta",
            "https://graph.microsoft.com:8443/v1.0/users/delta",
        ] {
            assert_eq!(
                g.own_link(foreign).unwrap_err().code,
                "foreign_link",
                "{foreign}"
            );
        }
    }

    #[test]
    fn a_tenant_that_could_escape_the_path_is_refused() {
        let mut c = config(Cloud::Global);
        c.directory_tenant_id = "contoso/../common".into();
        let err = Graph::new(
            c,
            &Roots::default(),
            reqwest::Client::new(),
            RetryBudget::new(Default::default()),
        )
        .unwrap_err();
        assert_eq!(err.code, "bad_config");
    }
}
