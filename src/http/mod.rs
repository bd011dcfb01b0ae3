//! actix-web only: routes, extractors and thin handlers. Handlers extract an authenticated
//! context and a typed request, call one provisioning or [`Db`] function, and map the
//! error in one place (`crate::error`). Each worker has its own [`Db`] (`web::Data<Db>`),
//! with its share of async connections.

pub mod admin;
pub mod body;
pub mod changes;
pub mod client;
pub mod connect;
pub mod console;
pub mod edge;
pub mod extract;
pub mod metrics;
pub mod middleware;
pub mod ops;
pub mod ratelimit;
pub mod scim;

use actix_web::{web, HttpResponse};

use crate::auth::Verifier;
use crate::clock::SharedClock;
use crate::config::Settings;
use crate::error::Error;
use crate::store::Db;
use uuid::Uuid;

/// Shared by every worker of one server.
pub struct AppState {
    pub settings: Settings,
    /// The node's pools, without a worker's async connections.
    pub db: Db,
    pub clock: SharedClock,
    pub scim_tokens: Verifier,
    pub admin_keys: Verifier,
    /// Failed sign-ins per client address: both verifiers' and connect links'.
    pub signins: std::sync::Arc<crate::auth::SignInLimiter>,
    pub metrics: metrics::Metrics,
    pub sync_metrics: crate::sync::metrics::SyncMetrics,
    /// How this node reaches directories (connection tests use it).
    pub directories: crate::sync::directories::Directories,
    /// The /ServiceProviderConfig body and the base URL it was built for.
    pub spc_cache: std::sync::Mutex<Option<(String, String)>>,
    /// Per-tenant SCIM rate limits.
    pub rate_limits: ratelimit::RateLimits,
    /// Wakes this node's sync scheduler when a run is queued here.
    pub sync_wake: std::sync::Arc<tokio::sync::Notify>,
    /// Whether this node hears of changes made elsewhere ([`crate::store::notify`]).
    pub listener: std::sync::Arc<crate::store::notify::ListenerState>,
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(ops::healthz))
        .route("/readyz", web::get().to(ops::readyz))
        .route("/metrics", web::get().to(ops::metrics))
        .service(
            web::scope("/scim/v2")
                .app_data(web::QueryConfig::default().error_handler(|e, _| {
                    crate::error::Error::InvalidValue(format!("invalid query string: {e}")).into()
                }))
                .configure(scim::configure),
        )
        .service(admin::service())
        .service(console::service())
        .configure(connect::routes)
        .default_service(web::to(not_found));
}

/// An id from the path; one that is not a UUID is as unknown as any other (404).
pub(crate) fn parse_id(raw: &str, what: &str) -> Result<Uuid, Error> {
    Uuid::parse_str(raw).map_err(|_| {
        Error::NotFound(format!(
            "no {what} `{}` in this tenant",
            raw.chars().take(64).collect::<String>()
        ))
    })
}

/// Keeps the first `limit` of `rows`, fetched with one more to learn whether another page
/// follows, and gives what `next_of` takes from the last kept row when one does.
pub(crate) fn cut_page<T, C>(
    rows: &mut Vec<T>,
    limit: i64,
    next_of: impl FnOnce(&T) -> C,
) -> Option<C> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    if rows.len() > limit {
        rows.truncate(limit);
        rows.last().map(next_of)
    } else {
        None
    }
}

/// Outside `/scim/v2`, errors are the admin API's problems (RFC 9457).
async fn not_found() -> HttpResponse {
    use actix_web::ResponseError;
    crate::error::AdminError(crate::error::Error::NotFound("no such endpoint".into()))
        .error_response()
}
