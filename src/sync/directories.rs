//! The directories a node can read: builds a run's connector from its tenant's stored
//! connection (the secret opened with the node's keyring) and the node's settings (the
//! Graph roots, the HTTP client, the retry policy).

use std::sync::Arc;

use serde_json::{Map, Value};

use super::engine::{Connector, Round};
use super::graph::{self, Graph, GraphConfig, GraphScope, Roots};
use super::http::{RetryBudget, RetryPolicy, RetryStats};
use super::worker::Connect;
use super::{Page, Person, SyncError};
use crate::config::PlatformApp;
use crate::domain::{Cloud, ConnectionScope, Source};
use crate::error::Error;
use crate::provisioning::connections::{self, LoadedConnection};
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

    /// The tenant's connection, its secret opened.
    pub async fn load(&self, db: &Db, tenant_id: uuid::Uuid) -> Result<LoadedConnection, Error> {
        let keyring = self.keyring.clone();
        let platform = self.platform_app.clone();
        db.run(move |conn| {
            connections::load_by_id(conn, keyring.as_deref(), platform.as_ref(), tenant_id)
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
    type Connector = GraphConnector;

    async fn connect(&self, db: &Db, run: &RunRow) -> Result<(GraphConnector, bool), SyncError> {
        let loaded = self
            .load(db, run.tenant_id)
            .await
            .map_err(|e| unusable(&e))?;
        let include_guests = loaded.config.include_guests;
        Ok((self.graph(loaded)?, include_guests))
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
