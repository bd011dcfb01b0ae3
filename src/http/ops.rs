//! Liveness, readiness and metrics.

use std::time::Duration;

use actix_web::{web, HttpResponse};
use diesel::RunQueryDsl;
use serde_json::json;

use super::metrics::Scraped;
use super::AppState;

/// 200 while the process runs.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// 200 when PostgreSQL answers a query, 503 when it does not.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let probe = state.db.run(|conn| {
        diesel::sql_query("SELECT 1").execute(conn)?;
        Ok(())
    });
    match tokio::time::timeout(Duration::from_secs(10), probe).await {
        Ok(Ok(())) => HttpResponse::Ok().json(json!({"status": "ready", "database": "up"})),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "not ready");
            HttpResponse::ServiceUnavailable()
                .json(json!({"status": "unavailable", "database": "down"}))
        }
        Err(_) => HttpResponse::ServiceUnavailable()
            .json(json!({"status": "unavailable", "database": "timeout"})),
    }
}

pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let scraped = Scraped {
        pool: state.db.state(),
        scim_token_checks: state.scim_tokens.hash_checks(),
        admin_key_checks: state.admin_keys.hash_checks(),
    };
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
