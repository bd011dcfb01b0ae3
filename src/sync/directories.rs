//! The directories a node can read: builds a run's connector from its tenant's stored
//! connection (the secret opened with the node's keyring) and the node's settings (the
//! Graph and Google roots, the platform credentials, the HTTP client, the retry policy).
//! A run's connector is a [`DirectoryConnector`]: Microsoft Graph or Google Directory.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::engine::{Connector, Round};
use super::google::{self, Google, GoogleConfig, ServiceAccount};
use super::graph::{self, Graph, GraphConfig, GraphScope, Roots};
use super::http::{RetryBudget, RetryPolicy, RetryStats};
use super::worker::Connect;
use super::{Page, Person, SyncError, TestReport};
use crate::config::PlatformApp;
use crate::domain::{Cloud, ConnectionScope, GoogleScope, Source};
use crate::error::Error;
use crate::provisioning::connections::{
    self, GoogleInput, Loaded, LoadedConnection, LoadedGoogle, Platform,
};
use crate::secrets::Keyring;
use crate::store::sync::RunRow;
use crate::store::Db;

/// What every run of a node shares.
#[derive(Clone)]
pub struct Directories {
    pub roots: Roots,
    pub http: reqwest::Client,
    pub policy: RetryPolicy,
    pub keyring: Option<Arc<Keyring>>,
    pub platform_app: Option<PlatformApp>,
    /// Where Google's token endpoint and Directory API are reached instead of Google's.
    pub google_roots: google::Roots,
    /// The platform-wide Google service account, if the node has one.
    pub google_account: Option<Arc<ServiceAccount>>,
    /// Retries of every run, for `/metrics`.
    pub stats: Arc<RetryStats>,
}

impl Directories {
    /// A client that follows no redirect (one could carry the bearer token to another
    /// host) and gives up on a silent server.
    pub fn client() -> reqwest::Client {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(std::time::Duration::from_secs(10))
            .timeout(std::time::Duration::from_secs(120))
            .build()
            .unwrap_or_default()
    }

    /// The Graph connector of a loaded connection.
    pub fn graph(&self, loaded: LoadedConnection) -> Result<GraphConnector, SyncError> {
        let include_guests = loaded.config.include_guests;
        let config = GraphConfig {
            directory_tenant_id: loaded.config.directory_tenant_id.to_string(),
            cloud: match loaded.config.cloud {
                Cloud::Global => graph::Cloud::Global,
                Cloud::UsGov => graph::Cloud::UsGov,
                Cloud::UsGovDod => graph::Cloud::UsGovDod,
                Cloud::China => graph::Cloud::China,
            },
            client_id: loaded.credentials.client_id,
            client_secret: loaded.credentials.client_secret,
            scope: match loaded.config.scope {
                ConnectionScope::All {} => GraphScope::All,
                ConnectionScope::Groups { group_ids } => GraphScope::Groups {
                    group_ids: group_ids.iter().map(ToString::to_string).collect(),
                },
            },
            include_guests,
        };
        let budget = RetryBudget::with_stats(self.policy.clone(), Arc::clone(&self.stats));
        Ok(GraphConnector(Graph::new(
            config,
            &self.roots,
            self.http.clone(),
            budget,
        )?))
    }

    /// The Google connector of a loaded connection.
    pub fn google(&self, loaded: LoadedGoogle) -> Result<GoogleConnector, SyncError> {
        let config = GoogleConfig {
            admin_email: loaded.config.admin_email,
            customer: loaded.config.customer,
            scope: loaded.config.scope,
            account: loaded.account,
        };
        let budget = RetryBudget::with_stats(self.policy.clone(), Arc::clone(&self.stats));
        Ok(GoogleConnector(Google::new(
            config,
            &self.google_roots,
            self.http.clone(),
            budget,
        )?))
    }

    /// The connector of a loaded connection, whichever its provider, and whether it
    /// includes the directory's guests.
    pub fn connector(&self, loaded: Loaded) -> Result<(DirectoryConnector, bool), SyncError> {
        Ok(match loaded {
            Loaded::Graph(graph) => {
                let guests = graph.config.include_guests;
                (DirectoryConnector::Graph(self.graph(graph)?), guests)
            }
            Loaded::Google(g) => (DirectoryConnector::Google(self.google(g)?), false),
        })
    }

    /// Tests a Google connection before it is saved: checks the settings (400 when they
    /// are unusable, as saving them would answer), signs in as the service account (the
    /// given key, or the platform's) acting for the administrator, and reads one page;
    /// what happened, in plain words. Writes nothing.
    pub async fn test_google(&self, input: GoogleInput) -> Result<TestReport, Error> {
        let checked = connections::check_google(input, self.google_account.as_ref())?;
        let config = GoogleConfig {
            admin_email: checked.config.admin_email,
            customer: checked.config.customer,
            scope: checked.config.scope,
            account: checked.account,
        };
        let budget = RetryBudget::with_stats(self.policy.clone(), Arc::clone(&self.stats));
        Ok(
            match Google::new(config, &self.google_roots, self.http.clone(), budget) {
                Ok(google) => google.test().await,
                Err(e) => TestReport::failed(e),
            },
        )
    }

    /// Tests a loaded connection of any provider.
    pub async fn test(&self, loaded: Loaded) -> TestReport {
        match self.connector(loaded) {
            Ok((DirectoryConnector::Graph(g), _)) => g.0.test().await,
            Ok((DirectoryConnector::Google(g), _)) => g.0.test().await,
            Err(e) => TestReport::failed(e),
        }
    }

    /// Tests the connection of the tenant `slug` (the admin API's and the console's test):
    /// signs in and reads one page, writing nothing.
    pub async fn test_tenant(&self, db: &Db, slug: String) -> Result<TestReport, Error> {
        let loaded = crate::provisioning::connections::load_any(
            db,
            self.keyring.clone(),
            self.platform_app.clone(),
            self.google_account.clone(),
            slug,
        )
        .await?;
        Ok(self.test(loaded).await)
    }

    /// The tenant's connection, its secret opened.
    pub async fn load(&self, db: &Db, tenant_id: uuid::Uuid) -> Result<Loaded, Error> {
        let keyring = self.keyring.clone();
        let graph = self.platform_app.clone();
        let google = self.google_account.clone();
        db.run(move |conn| {
            let platform = Platform {
                graph: graph.as_ref(),
                google: google.as_ref(),
            };
            connections::load_by_id(conn, keyring.as_deref(), platform, tenant_id)
        })
        .await
    }
}

fn unusable(e: &Error) -> SyncError {
    match e {
        Error::NotFound(m) | Error::Conflict(m) | Error::InvalidValue(m) => {
            SyncError::new("not_connected", m.clone())
        }
        other => {
            tracing::error!(error = %other, "cannot load a connection");
            SyncError::new(
                "internal",
                "scimd could not read the connection; see its log",
            )
        }
    }
}

impl Connect for Directories {
    type Connector = DirectoryConnector;

    async fn connect(
        &self,
        db: &Db,
        run: &RunRow,
    ) -> Result<(DirectoryConnector, bool), SyncError> {
        let loaded = self
            .load(db, run.tenant_id)
            .await
            .map_err(|e| unusable(&e))?;
        self.connector(loaded)
    }
}

/// A run's connector: the tenant's directory, whichever it is.
pub enum DirectoryConnector {
    Graph(GraphConnector),
    Google(GoogleConnector),
}

/// A round of either directory.
pub enum DirectoryRound<'a> {
    Graph(graph::Round<'a>),
    Google(google::Round<'a>),
}

impl Connector for DirectoryConnector {
    type Round<'a> = DirectoryRound<'a>;

    fn source(&self) -> Source {
        match self {
            Self::Graph(c) => c.source(),
            Self::Google(c) => c.source(),
        }
    }

    async fn round(&self, state: &Value) -> Result<DirectoryRound<'_>, SyncError> {
        Ok(match self {
            Self::Graph(c) => DirectoryRound::Graph(c.round(state).await?),
            Self::Google(c) => DirectoryRound::Google(c.round(state).await?),
        })
    }

    fn person(&self, fields: &Map<String, Value>) -> Person {
        match self {
            Self::Graph(c) => c.person(fields),
            Self::Google(c) => c.person(fields),
        }
    }

    fn sweep_reason(&self) -> &'static str {
        match self {
            Self::Graph(c) => c.sweep_reason(),
            Self::Google(c) => c.sweep_reason(),
        }
    }
}

impl Round for DirectoryRound<'_> {
    fn full(&self) -> bool {
        match self {
            Self::Graph(r) => Round::full(r),
            Self::Google(r) => Round::full(r),
        }
    }

    async fn next_page(&mut self) -> Result<Option<Page>, SyncError> {
        match self {
            Self::Graph(r) => Round::next_page(r).await,
            Self::Google(r) => Round::next_page(r).await,
        }
    }

    fn state(&self) -> Option<Value> {
        match self {
            Self::Graph(r) => Round::state(r),
            Self::Google(r) => Round::state(r),
        }
    }
}

/// Google Directory, as the engine reads it.
pub struct GoogleConnector(pub Google);

impl Connector for GoogleConnector {
    type Round<'a> = google::Round<'a>;

    fn source(&self) -> Source {
        Source::Google
    }

    async fn round(&self, state: &Value) -> Result<google::Round<'_>, SyncError> {
        self.0.round(state).await
    }

    fn person(&self, fields: &Map<String, Value>) -> Person {
        google::person(fields)
    }

    fn sweep_reason(&self) -> &'static str {
        match self.0.config().scope {
            GoogleScope::All {} => "no longer in the Google directory",
            GoogleScope::OrgUnits { .. } => "no longer in the chosen organisational units",
            GoogleScope::Groups { .. } => "no longer in the chosen groups",
        }
    }
}

impl Round for google::Round<'_> {
    fn full(&self) -> bool {
        google::Round::full(self)
    }

    async fn next_page(&mut self) -> Result<Option<Page>, SyncError> {
        google::Round::next_page(self).await
    }

    fn state(&self) -> Option<Value> {
        google::Round::state(self)
    }
}

/// Microsoft Graph, as the engine reads it.
pub struct GraphConnector(pub Graph);

impl Connector for GraphConnector {
    type Round<'a> = graph::Round<'a>;

    fn source(&self) -> Source {
        Source::Graph
    }

    async fn round(&self, state: &Value) -> Result<graph::Round<'_>, SyncError> {
        self.0.round(state).await
    }

    fn person(&self, fields: &Map<String, Value>) -> Person {
        graph::person(fields)
    }

    fn sweep_reason(&self) -> &'static str {
        match self.0.config().scope {
            GraphScope::All => "no longer in the directory",
            GraphScope::Groups { .. } => "no longer in the chosen groups",
        }
    }
}

impl Round for graph::Round<'_> {
    fn full(&self) -> bool {
        graph::Round::full(self)
    }

    async fn next_page(&mut self) -> Result<Option<Page>, SyncError> {
        graph::Round::next_page(self).await
    }

    fn state(&self) -> Option<Value> {
        graph::Round::state(self)
    }
}
