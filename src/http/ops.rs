//! Liveness, readiness and metrics.

use std::time::Duration;

use actix_web::{web, HttpResponse};
use serde_json::json;

use super::metrics::Scraped;
use super::AppState;
use crate::store::{Db, Probe};

/// 200 while the process runs.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// 200 when PostgreSQL answers a query on the blocking pool, which every request can fall
/// back to; 503 when it does not. The body says what each pool of this worker found
/// (`off`: this worker has no async connections).
pub async fn readyz(db: web::Data<Db>) -> HttpResponse {
    let word = |p: Probe| match p {
        Probe::Up => "up",
        Probe::Down => "down",
        Probe::Off => "off",
    };
    match tokio::time::timeout(Duration::from_secs(10), db.probe()).await {
        Ok((blocking, fast)) => {
            let pools = json!({"blocking": word(blocking), "async": word(fast)});
            if blocking == Probe::Up {
                HttpResponse::Ok()
                    .json(json!({"status": "ready", "database": "up", "pools": pools}))
            } else {
                HttpResponse::ServiceUnavailable()
                    .json(json!({"status": "unavailable", "database": "down", "pools": pools}))
            }
        }
        Err(_) => HttpResponse::ServiceUnavailable()
            .json(json!({"status": "unavailable", "database": "timeout"})),
    }
}

pub async fn metrics(state: web::Data<AppState>, db: web::Data<Db>) -> HttpResponse {
    let scraped = Scraped {
        pools: db.states(),
        scim_token_checks: state.scim_tokens.hash_checks(),
        admin_key_checks: state.admin_keys.hash_checks(),
        replans: db.replans(),
        together: db.together(),
        listener_connected: state.listener.connected(),
        listener_reconnects: state.listener.reconnects(),
        notifications: state.listener.heard(),
    };
    // The stalest connected tenant; a database that cannot say leaves the gauge as it was.
    let now = state.clock.now();
    match crate::provisioning::sync::oldest_success_age(&state.db, now).await {
        Ok(age) => state.sync_metrics.scraped(age),
        Err(e) => tracing::warn!(error = %e, "cannot read the age of the stalest sync"),
    }
    match state.metrics.render(scraped) {
        Ok(text) => HttpResponse::Ok()
            .content_type("text/plain; version=0.0.4; charset=utf-8")
            .body(text),
        Err(e) => {
            tracing::error!(error = %e, "cannot render metrics");
            HttpResponse::InternalServerError().finish()
        }
    }
}
