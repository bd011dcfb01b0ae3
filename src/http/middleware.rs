//! Request ids, the request span, the access log line and request metrics.

use std::time::Instant;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, HttpRequest, ResponseError};
use tracing::Instrument;
use uuid::Uuid;

use super::AppState;
use crate::config::DEFAULT_MAX_HEADER_BYTES;
use crate::error::{AdminError, Error};

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

/// The route of a request that a scope's guard answered before routing reached it (the
/// admin API's check of the key), for [`route_of`].
pub struct GuardedRoute(pub String);

/// The route pattern a routed request matched, e.g. `/scim/v2/Users/{id}`, or
/// `unmatched`: a label of bounded cardinality for the metrics. Rebuilt from what routing
/// left in the match info (each dynamic segment is a slice of the path), where
/// `match_pattern` would walk the route table and run its regexes a second time.
pub fn route_of(req: &HttpRequest) -> String {
    let info = req.match_info();
    if !info.unprocessed().is_empty() {
        // A guard in front of the routes answered for a route it had matched, or a default
        // service answered: no route matched the whole path.
        return req
            .extensions()
            .get::<GuardedRoute>()
            .map_or_else(|| "unmatched".to_owned(), |r| r.0.clone());
    }
    let path = info.as_str();
    let mut route = String::with_capacity(path.len());
    let mut done = 0;
    for (name, value) in info.iter() {
        let start = (value.as_ptr() as usize).wrapping_sub(path.as_ptr() as usize);
        match start
            .checked_add(value.len())
            .and_then(|end| path.get(start..end))
        {
            Some(slice) if start >= done && std::ptr::eq(slice, value) => {
                route.push_str(&path[done..start]);
                route.push('{');
                route.push_str(name);
                route.push('}');
                done = start + value.len();
            }
            // Not a slice of the path (a value set by hand): ask the route table.
            _ => {
                return req
                    .match_pattern()
                    .unwrap_or_else(|| "unmatched".to_owned())
            }
        }
    }
    route.push_str(&path[done..]);
    // `/Users/` is registered as another spelling of `/Users`: one label for both.
    if route.len() > 1 && route.ends_with('/') {
        route.pop();
    }
    route
}

/// The path as the request log shows it: a connect link's token is a credential, so
/// `/connect/<token>` (and anything under it) is logged as `/connect/{token}`; the
/// provider callbacks under `/connect/microsoft/` carry no token in their path.
pub fn logged_path(path: &str) -> std::borrow::Cow<'_, str> {
    match path.strip_prefix("/connect/") {
        Some(rest) if !rest.starts_with("microsoft/") => "/connect/{token}".into(),
        _ => path.into(),
    }
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
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let span = tracing::info_span!("request", request_id = %id, method = %method, path = %logged_path(req.path()));
    let started = Instant::now();

    // The edge checks ([`super::edge`]) refuse large heads before they are parsed; this
    // covers the requests they could not follow (after a body of unknown framing) and apps
    // served without them.
    let max_header_bytes = state
        .as_ref()
        .map_or(DEFAULT_MAX_HEADER_BYTES, |s| s.settings.max_header_bytes);
    let header_bytes: usize = req
        .headers()
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len())
        .sum();
    let result = if header_bytes > max_header_bytes {
        let err = Error::HeadersTooLarge(format!(
            "the request's header fields are larger than {max_header_bytes} bytes"
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
    // Routing fills in the request's match info: the route is read from it afterwards.
    // (Holding a clone of the request during the call would stop routing from writing it.)
    let (route, status) = match &result {
        Ok(res) => (route_of(res.request()), res.status()),
        Err(e) => ("unmatched".to_owned(), e.as_response_error().status_code()),
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

#[cfg(test)]
#[expect(clippy::unwrap_used)]
mod tests {
    use std::sync::{Arc, Mutex};

    use actix_web::middleware::from_fn;
    use actix_web::{test, App};

    use super::*;

    #[actix_web::test]
    async fn connect_link_tokens_are_not_in_the_logged_path() {
        assert_eq!(logged_path("/connect/c2VjcmV0LXRva2Vu"), "/connect/{token}");
        assert_eq!(logged_path("/connect/c2VjcmV0/more"), "/connect/{token}");
        assert_eq!(
            logged_path("/connect/microsoft/callback"),
            "/connect/microsoft/callback"
        );
        assert_eq!(logged_path("/scim/v2/Users/abc"), "/scim/v2/Users/abc");
    }

    /// A writer into a shared buffer: what a subscriber logs, for a test to read.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// The request log line and every line logged inside the request carry the path
    /// without a link's token.
    #[actix_web::test]
    async fn the_request_log_never_shows_a_connect_link_token() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        let app = test::init_service(App::new().wrap(from_fn(observe)).route(
            "/connect/{token}",
            actix_web::web::get().to(|| async {
                tracing::info!("inside the handler");
                actix_web::HttpResponse::Ok().finish()
            }),
        ))
        .await;
        let token = "c2VjcmV0LWxpbmstdG9rZW4tdGhhdC1tdXN0LW5vdC1sZWFr";
        let res = test::call_service(
            &app,
            test::TestRequest::get()
                .uri(&format!("/connect/{token}"))
                .to_request(),
        )
        .await;
        assert_eq!(res.status(), 200);
        let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert!(logs.contains("inside the handler"), "{logs}");
        assert!(logs.contains("/connect/{token}"), "{logs}");
        assert!(!logs.contains(token), "{logs}");
    }

    /// For every kind of path, the route rebuilt from the match info is the pattern the
    /// route table gives, and paths no route matches are `unmatched`.
    #[actix_web::test]
    async fn the_route_label_is_the_matched_pattern() {
        // (path, route_of, match_pattern) of each request
        type Seen = Vec<(String, String, Option<String>)>;
        let seen: Arc<Mutex<Seen>> = Arc::default();
        let record = seen.clone();
        let app = test::init_service(
            App::new()
                .wrap(from_fn(move |req: ServiceRequest, next: Next<_>| {
                    let record = record.clone();
                    async move {
                        let res = next.call(req).await?;
                        let routed = res.request();
                        record.lock().unwrap().push((
                            routed.path().to_owned(),
                            route_of(routed),
                            routed.match_pattern(),
                        ));
                        Ok(res)
                    }
                }))
                .configure(crate::http::routes),
        )
        .await;
        let cases = [
            ("/healthz", "/healthz"),
            ("/scim/v2/Users", "/scim/v2/Users"),
            ("/scim/v2/Users/", "/scim/v2/Users"),
            ("/scim/v2/Users/.search", "/scim/v2/Users/.search"),
            ("/scim/v2/Users/abc", "/scim/v2/Users/{id}"),
            ("/scim/v2/Users/Users", "/scim/v2/Users/{id}"),
            ("/scim/v2/Groups/%E2%82%AC%20x", "/scim/v2/Groups/{id}"),
            (
                "/scim/v2/Schemas/urn:ietf:params:scim:schemas:core:2.0:User",
                "/scim/v2/Schemas/{id}",
            ),
            (
                "/admin/v1/tenants/tenants/people/people/history",
                "/admin/v1/tenants/{slug}/people/{id}/history",
            ),
            // The admin API refuses a method a route lacks before routing (405).
            ("/admin/v1/tenants/tenants/tokens/k1", "unmatched"),
            ("/scim/v2/Users/abc/more", "unmatched"),
            ("/scim/v2/nothing", "unmatched"),
            ("/nothing/at/all", "unmatched"),
        ];
        for (path, _) in cases {
            test::call_service(&app, test::TestRequest::get().uri(path).to_request()).await;
        }
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), cases.len());
        for ((path, want), (seen_path, route, pattern)) in cases.iter().zip(seen.iter()) {
            assert_eq!(path, seen_path);
            assert_eq!(route, want, "{path}");
            if *want != "unmatched" {
                // `/Users/` is a route of its own, labelled as `/Users`.
                let pattern = pattern.as_deref().map(|p| p.strip_suffix('/').unwrap_or(p));
                assert_eq!(pattern, Some(*want), "{path}");
            }
        }
    }
}
