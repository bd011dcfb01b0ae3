//! Request ids, the request span, the access log line and request metrics.

use std::time::Instant;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, ResponseError};
use tracing::Instrument;
use uuid::Uuid;

use super::AppState;
use crate::error::{AdminError, Error};

/// The most header bytes (names and values) a request may carry. actix-http stops reading
/// a head at 128 KiB; this refuses well before that, with a proper 431.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The request's id, taken from `X-Request-Id` or generated; in the request extensions.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

/// A client's id is kept when it is short and plain; anything else is replaced, so log
/// lines cannot be forged through it.
fn usable(value: &HeaderValue) -> Option<String> {
    let s = value.to_str().ok()?;
    let ok = (1..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:/+=".contains(&b));
    ok.then(|| s.to_owned())
}

pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(usable)
        .unwrap_or_else(|| Uuid::new_v4().to_string());
    req.extensions_mut().insert(RequestId(id.clone()));
    let method = req.method().to_string();
    let route = req
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let span =
        tracing::info_span!("request", request_id = %id, method = %method, path = %req.path());
    let started = Instant::now();

    let header_bytes: usize = req
        .headers()
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len())
        .sum();
    let result = if header_bytes > MAX_HEADER_BYTES {
        let err = Error::HeadersTooLarge(format!(
            "the request headers are larger than {MAX_HEADER_BYTES} bytes"
        ));
        let res = if req.path().starts_with("/scim/") {
            err.error_response()
        } else {
            AdminError(err).error_response()
        };
        Ok(req.into_response(res).map_into_right_body())
    } else {
        next.call(req)
            .instrument(span.clone())
            .await
            .map(ServiceResponse::map_into_left_body)
    };

    let elapsed = started.elapsed();
    let status = match &result {
        Ok(res) => res.status(),
        Err(e) => e.as_response_error().status_code(),
    };
    if let Some(state) = state {
        state
            .metrics
            .observe(&method, &route, status.as_u16(), elapsed.as_secs_f64());
    }
    tracing::info!(parent: &span, status = status.as_u16(), elapsed_ms = elapsed.as_secs_f64() * 1e3, "request");
    let mut res = result?;
    if let Ok(value) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(REQUEST_ID, value);
    }
    Ok(res)
}
