//! The one place errors become HTTP responses.
//!
//! [`Error`] has a variant for each RFC 7644 §3.12 `scimType` plus the plain statuses the
//! server uses. Its `ResponseError` impl writes the RFC 7644 §3.12 body as
//! `application/scim+json`; [`AdminError`] writes the same error as an RFC 9457 problem
//! (`application/problem+json`) for the admin API. Internal causes are logged with their
//! chain and never sent to the client.

use std::error::Error as StdError;

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

pub const SCIM_ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
pub const SCIM_CONTENT_TYPE: &str = "application/scim+json";
/// RFC 9457 §3: the media type of a problem details object.
pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";
/// Each kind of admin error is the problem type `PROBLEM_TYPE_BASE` + its code, with `-`
/// for `_`: `https://scimd.dev/problems/not-found` for `not_found`.
pub const PROBLEM_TYPE_BASE: &str = "https://scimd.dev/problems/";

type Cause = Box<dyn StdError + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    // 400 with a scimType (RFC 7644 §3.12, Table 9).
    #[error("{0}")]
    InvalidFilter(String),
    #[error("{0}")]
    TooMany(String),
    #[error("{0}")]
    Uniqueness(String),
    #[error("{0}")]
    Mutability(String),
    #[error("{0}")]
    InvalidSyntax(String),
    #[error("{0}")]
    InvalidPath(String),
    #[error("{0}")]
    NoTarget(String),
    #[error("{0}")]
    InvalidValue(String),
    #[error("{0}")]
    InvalidVersion(String),
    #[error("{0}")]
    Sensitive(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    MethodNotAllowed(String),
    /// 409 without a scimType: the request is valid but the tenant's state refuses it.
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    PreconditionFailed(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    HeadersTooLarge(String),
    /// 414: the request line (a filter in the URL, say) is over the limit.
    #[error("{0}")]
    UriTooLong(String),
    /// 408: the client did not send its request head in time.
    #[error("{0}")]
    RequestTimeout(String),
    /// 410: events the reader has not read were pruned (the feed keeps
    /// `SCIMD_EVENT_RETENTION`). The feed goes on after `resume_after`; `oldest_id` is the
    /// oldest event still kept, if any is.
    #[error("{detail}")]
    EventsPruned {
        detail: String,
        oldest_id: Option<i64>,
        resume_after: i64,
    },
    #[error("{detail}")]
    TooManyRequests {
        detail: String,
        retry_after_secs: u64,
    },
    #[error("{0}")]
    NotImplemented(String),
    /// The transaction collided with a concurrent one (a deadlock or a serialization
    /// failure) and was rolled back whole: 503, and the client should retry.
    #[error("a concurrent change to the same resources collided with this one; nothing was applied; retry")]
    Contention(#[source] Cause),
    /// The database cannot be reached: 503, and the client should retry.
    #[error("the service is temporarily unavailable; retry shortly")]
    Unavailable(#[source] Cause),
    #[error("internal server error")]
    Internal(#[source] Cause),
}

impl Error {
    pub fn internal(cause: impl Into<Cause>) -> Self {
        Self::Internal(cause.into())
    }

    /// A 429 whose `Retry-After` is `wait` ([`retry_after_secs`]).
    pub fn too_many_requests(detail: impl Into<String>, wait: std::time::Duration) -> Self {
        Self::TooManyRequests {
            detail: detail.into(),
            retry_after_secs: retry_after_secs(wait),
        }
    }

    pub fn status(&self) -> StatusCode {
        use Error::*;
        match self {
            Uniqueness(_) => StatusCode::CONFLICT,
            InvalidFilter(_) | TooMany(_) | Mutability(_) | InvalidSyntax(_) | InvalidPath(_)
            | NoTarget(_) | InvalidValue(_) | InvalidVersion(_) | Sensitive(_) | BadRequest(_) => {
                StatusCode::BAD_REQUEST
            }
            Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Forbidden(_) => StatusCode::FORBIDDEN,
            NotFound(_) => StatusCode::NOT_FOUND,
            MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Conflict(_) => StatusCode::CONFLICT,
            PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            HeadersTooLarge(_) => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            UriTooLong(_) => StatusCode::URI_TOO_LONG,
            RequestTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            EventsPruned { .. } => StatusCode::GONE,
            TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            NotImplemented(_) => StatusCode::NOT_IMPLEMENTED,
            Unavailable(_) | Contention(_) => StatusCode::SERVICE_UNAVAILABLE,
            Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// RFC 7644 §3.12 `scimType`, where one applies. Uniqueness is a 409 (RFC 7644 §3.3).
    pub fn scim_type(&self) -> Option<&'static str> {
        use Error::*;
        Some(match self {
            InvalidFilter(_) => "invalidFilter",
            TooMany(_) => "tooMany",
            Uniqueness(_) => "uniqueness",
            Mutability(_) => "mutability",
            InvalidSyntax(_) => "invalidSyntax",
            InvalidPath(_) => "invalidPath",
            NoTarget(_) => "noTarget",
            InvalidValue(_) => "invalidValue",
            InvalidVersion(_) => "invalidVers",
            Sensitive(_) => "sensitive",
            _ => return None,
        })
    }

    /// A short machine code for the admin API: the problem's `error` member, and the last
    /// segment of its `type`.
    pub fn code(&self) -> &'static str {
        self.names().0
    }

    /// The problem's `title` (RFC 9457 §3.1.3): the same for every error of a kind.
    pub fn title(&self) -> &'static str {
        self.names().1
    }

    /// The kind's code ([`Error::code`]) and title ([`Error::title`]), each kind's pair on
    /// one line.
    fn names(&self) -> (&'static str, &'static str) {
        use Error::*;
        match self {
            InvalidFilter(_) => ("invalid_filter", "Invalid filter"),
            TooMany(_) => ("too_many", "Too many results"),
            Uniqueness(_) => ("uniqueness", "Not unique"),
            Mutability(_) => ("mutability", "Attribute is read-only"),
            InvalidSyntax(_) => ("invalid_syntax", "Invalid syntax"),
            InvalidPath(_) => ("invalid_path", "Invalid path"),
            NoTarget(_) => ("no_target", "No target"),
            InvalidValue(_) => ("invalid_value", "Invalid value"),
            InvalidVersion(_) => ("invalid_version", "Invalid version"),
            Sensitive(_) => ("sensitive", "Sensitive data in the request"),
            BadRequest(_) => ("bad_request", "Bad request"),
            Unauthorized(_) => ("unauthorized", "Unauthorized"),
            Forbidden(_) => ("forbidden", "Forbidden"),
            NotFound(_) => ("not_found", "Not found"),
            MethodNotAllowed(_) => ("method_not_allowed", "Method not allowed"),
            Conflict(_) => ("conflict", "Conflict"),
            PreconditionFailed(_) => ("precondition_failed", "Precondition failed"),
            PayloadTooLarge(_) => ("payload_too_large", "Payload too large"),
            UnsupportedMediaType(_) => ("unsupported_media_type", "Unsupported media type"),
            HeadersTooLarge(_) => ("headers_too_large", "Request headers too large"),
            UriTooLong(_) => ("uri_too_long", "Request line too long"),
            RequestTimeout(_) => ("request_timeout", "Request timeout"),
            EventsPruned { .. } => ("events_pruned", "Events pruned"),
            TooManyRequests { .. } => ("too_many_requests", "Too many requests"),
            NotImplemented(_) => ("not_implemented", "Not implemented"),
            Unavailable(_) => ("unavailable", "Service unavailable"),
            Contention(_) => ("contention", "Concurrent change"),
            Internal(_) => ("internal", "Internal server error"),
        }
    }

    /// The problem's `type` (RFC 9457 §3.1.1): a URI per kind, built from [`Error::code`].
    pub fn problem_type(&self) -> String {
        format!("{PROBLEM_TYPE_BASE}{}", self.code().replace('_', "-"))
    }

    /// The RFC 9457 problem details body of the admin API.
    pub fn problem(&self) -> Problem {
        Problem {
            kind: self.problem_type(),
            title: self.title(),
            status: self.status().as_u16(),
            detail: self.to_string(),
            error: self.code(),
        }
    }

    fn log(&self) {
        match self {
            Error::Internal(cause) => {
                tracing::error!(error = %chain(cause.as_ref()), "request failed")
            }
            Error::Unavailable(cause) => {
                tracing::warn!(error = %chain(cause.as_ref()), "database unavailable")
            }
            Error::Contention(cause) => {
                tracing::warn!(error = %chain(cause.as_ref()), "transaction rolled back by a conflict")
            }
            _ => {}
        }
    }

    fn decorate(&self, builder: &mut actix_web::HttpResponseBuilder) {
        match self {
            Error::Unauthorized(_) => {
                builder.insert_header((
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"scimd\""),
                ));
            }
            Error::TooManyRequests {
                retry_after_secs, ..
            } => {
                builder.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
                // A client over its limit reconnects before its next try: a flood pays a
                // connection per request instead of streaming requests down kept-alive ones.
                builder.force_close();
            }
            Error::Unavailable(_) => {
                builder.insert_header((header::RETRY_AFTER, "5"));
            }
            Error::UriTooLong(_) | Error::HeadersTooLarge(_) | Error::RequestTimeout(_) => {
                builder.force_close();
            }
            Error::Contention(_) => {
                builder.insert_header((header::RETRY_AFTER, "1"));
            }
            _ => {}
        }
    }

    /// The RFC 7644 §3.12 error body.
    pub fn scim_body(&self) -> serde_json::Value {
        let mut body = json!({
            "schemas": [SCIM_ERROR_SCHEMA],
            "status": self.status().as_u16().to_string(),
            "detail": self.to_string(),
        });
        if let (Some(t), Some(obj)) = (self.scim_type(), body.as_object_mut()) {
            obj.insert("scimType".into(), t.into());
        }
        body
    }
}

/// `Retry-After` for a wait: whole seconds, rounded up, at least 1.
pub fn retry_after_secs(wait: std::time::Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

/// An error and its causes, on one line.
pub fn chain(e: &(dyn StdError + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cur = c.source();
    }
    out
}

impl ResponseError for Error {
    fn status_code(&self) -> StatusCode {
        self.status()
    }

    fn error_response(&self) -> HttpResponse {
        self.log();
        let mut builder = HttpResponse::build(self.status());
        self.decorate(&mut builder);
        builder
            .content_type(SCIM_CONTENT_TYPE)
            .body(self.scim_body().to_string())
    }
}

/// An admin API error as an RFC 9457 problem details object.
///
/// `type` is `https://scimd.dev/problems/` followed by the error's code with `-` for `_`
/// (`https://scimd.dev/problems/not-found`); `title` is the same for every problem of a type;
/// `detail` says what went wrong with this request. `error`, an extension member (RFC 9457
/// §3.2), is that code itself (`not_found`): the admin API answered it before it spoke
/// RFC 9457, and scripts read it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
// Closes the schema (`additionalProperties: false`); serialization ignores it.
#[serde(deny_unknown_fields)]
pub struct Problem {
    /// The kind of problem: `https://scimd.dev/problems/<error with - for _>`.
    #[serde(rename = "type")]
    #[schema(
        format = "uri",
        pattern = "^https://scimd\\.dev/problems/[a-z]+(-[a-z]+)*$",
        example = "https://scimd.dev/problems/not-found"
    )]
    pub kind: String,
    /// A short summary of the kind, the same for every problem of a type.
    #[schema(example = "Not found")]
    pub title: &'static str,
    /// The HTTP status code.
    #[schema(minimum = 400, maximum = 599, example = 404)]
    pub status: u16,
    /// What went wrong with this request, in plain English.
    #[schema(example = "no tenant `acme`")]
    pub detail: String,
    /// The kind as a short machine code.
    #[schema(pattern = "^[a-z]+(_[a-z]+)*$", example = "not_found")]
    pub error: &'static str,
}

/// The problem a feed read from before pruned events answers (410, `events_pruned`): the
/// members of [`Problem`], and where the feed goes on.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PrunedProblem {
    /// `https://scimd.dev/problems/events-pruned`
    #[serde(rename = "type")]
    pub kind: String,
    pub title: &'static str,
    /// 410
    pub status: u16,
    pub detail: String,
    /// `events_pruned`
    pub error: &'static str,
    /// The id of the oldest event of the tenant the feed still holds; `null` when it holds
    /// none
    #[schema(required = true, example = 51234)]
    pub oldest_id: Option<i64>,
    /// Read on with this as `after`: the tenant's events up to it are gone
    #[schema(example = 51233)]
    pub resume_after: i64,
}

impl Error {
    /// The admin API's body for this error: its [`Problem`], with the members its kind adds.
    fn problem_body(&self) -> serde_json::Result<String> {
        let problem = self.problem();
        match self {
            Error::EventsPruned {
                oldest_id,
                resume_after,
                ..
            } => serde_json::to_string(&PrunedProblem {
                kind: problem.kind,
                title: problem.title,
                status: problem.status,
                detail: problem.detail,
                error: problem.error,
                oldest_id: *oldest_id,
                resume_after: *resume_after,
            }),
            _ => serde_json::to_string(&problem),
        }
    }
}

/// The same errors, answered by the admin API as RFC 9457 problem details
/// (`application/problem+json`): `{"type": "https://scimd.dev/problems/not-found",
/// "title": "Not found", "status": 404, "detail": "…", "error": "not_found"}`.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct AdminError(#[from] pub Error);

impl ResponseError for AdminError {
    fn status_code(&self) -> StatusCode {
        self.0.status()
    }

    fn error_response(&self) -> HttpResponse {
        self.0.log();
        let mut builder = HttpResponse::build(self.0.status());
        self.0.decorate(&mut builder);
        match self.0.problem_body() {
            Ok(body) => builder.content_type(PROBLEM_CONTENT_TYPE).body(body),
            Err(e) => {
                tracing::error!(error = %e, "cannot write a problem body");
                builder.finish()
            }
        }
    }
}

/// The same errors, answered by the operator console as an HTML page; and the console's
/// own refusals: a request without a live session is sent to sign in, and a form without
/// its session's anti-forgery token is refused.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    #[error(transparent)]
    Error(#[from] Error),
    /// No live session: 303 to the sign-in page. A request htmx made (a run's panel
    /// polling itself) is answered 401 with `HX-Redirect` instead: htmx would follow a 303
    /// inside the element it swaps, and put the sign-in page there.
    #[error("sign in first")]
    SignedOut { htmx: bool },
    /// A state-changing request without the session's anti-forgery token: 403.
    #[error("the form's anti-forgery token is missing or wrong")]
    Forged,
}

/// Where the console sends a request without a live session.
pub const CONSOLE_SIGN_IN: &str = "/console/sign-in";

impl ResponseError for ConsoleError {
    fn status_code(&self) -> StatusCode {
        match self {
            ConsoleError::Error(e) => e.status(),
            ConsoleError::SignedOut { htmx: false } => StatusCode::SEE_OTHER,
            ConsoleError::SignedOut { htmx: true } => StatusCode::UNAUTHORIZED,
            ConsoleError::Forged => StatusCode::FORBIDDEN,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let (status, title, detail) = match self {
            ConsoleError::SignedOut { htmx: false } => {
                return HttpResponse::SeeOther()
                    .insert_header((header::LOCATION, CONSOLE_SIGN_IN))
                    .finish();
            }
            ConsoleError::SignedOut { htmx: true } => {
                return HttpResponse::Unauthorized()
                    .insert_header(("HX-Redirect", CONSOLE_SIGN_IN))
                    .finish();
            }
            ConsoleError::Forged => (
                StatusCode::FORBIDDEN,
                "Refused",
                "The form was not sent from this console (its anti-forgery token is missing \
                 or wrong). Reload the page and try again."
                    .to_owned(),
            ),
            ConsoleError::Error(e) => {
                e.log();
                (e.status(), e.title(), e.to_string())
            }
        };
        let page = maud::html! {
            (maud::DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    title { (title) " · scimd" }
                    link rel="stylesheet" href="/console/assets/console.css";
                }
                body {
                    main class="narrow" {
                        h1 { (title) }
                        p class="error" role="alert" { (detail) }
                        p { a href="/console" { "Back to the console" } }
                    }
                }
            }
        };
        let mut builder = HttpResponse::build(status);
        if let ConsoleError::Error(e) = self {
            if !matches!(e, Error::Unauthorized(_)) {
                e.decorate(&mut builder);
            }
        }
        builder
            .content_type("text/html; charset=utf-8")
            .body(page.into_string())
    }
}

impl From<diesel::result::Error> for Error {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error as D};
        match e {
            D::DatabaseError(DatabaseErrorKind::ClosedConnection, _)
            | D::DatabaseError(DatabaseErrorKind::UnableToSendCommand, _)
            | D::BrokenTransactionManager => Error::Unavailable(Box::new(e)),
            D::DatabaseError(_, ref info) if is_connection_failure(info.message()) => {
                Error::Unavailable(Box::new(e))
            }
            // 40001 is classified; 40P01 (deadlock_detected) reaches diesel unclassified.
            D::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => {
                Error::Contention(Box::new(e))
            }
            D::DatabaseError(_, ref info) if info.message().contains("deadlock detected") => {
                Error::Contention(Box::new(e))
            }
            other => Error::Internal(Box::new(other)),
        }
    }
}

/// libpq reports a dropped server connection as an unclassified error with one of these texts.
fn is_connection_failure(message: &str) -> bool {
    const SIGNS: [&str; 5] = [
        "server closed the connection",
        "terminating connection",
        "no connection to the server",
        "connection to server",
        "could not receive data",
    ];
    SIGNS.iter().any(|s| message.contains(s))
}

impl From<r2d2::Error> for Error {
    fn from(e: r2d2::Error) -> Self {
        Error::Unavailable(Box::new(e))
    }
}

impl From<actix_web::error::BlockingError> for Error {
    fn from(e: actix_web::error::BlockingError) -> Self {
        Error::internal(e)
    }
}

impl From<crate::scim::resource::ResourceError> for Error {
    fn from(e: crate::scim::resource::ResourceError) -> Self {
        use crate::scim::resource::ResourceError as R;
        match e {
            R::InvalidSyntax(m) => Error::InvalidSyntax(m),
            R::InvalidValue(m) => Error::InvalidValue(m),
            R::InvalidPath(m) => Error::InvalidPath(m),
            R::NoTarget(m) => Error::NoTarget(m),
            R::Mutability(m) => Error::Mutability(m),
            R::InvalidFilter(m) => Error::InvalidFilter(m),
        }
    }
}

impl From<crate::scim::filter::FilterError> for Error {
    fn from(e: crate::scim::filter::FilterError) -> Self {
        match e.scim_type() {
            "invalidPath" => Error::InvalidPath(e.detail()),
            _ => Error::InvalidFilter(e.detail()),
        }
    }
}

impl From<crate::store::search::ListError> for Error {
    fn from(e: crate::store::search::ListError) -> Self {
        match e {
            crate::store::search::ListError::Filter(f) => f.into(),
            crate::store::search::ListError::Db(d) => d.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::MessageBody;

    fn content_type(resp: &HttpResponse) -> Option<&str> {
        resp.headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
    }

    fn body(resp: HttpResponse) -> serde_json::Value {
        let bytes = resp.into_body().try_into_bytes().unwrap_or_default();
        serde_json::from_slice(&bytes).unwrap_or_default()
    }

    #[test]
    fn scim_error_body_is_rfc_7644_shaped() {
        let resp = Error::InvalidFilter("unknown attribute `foo`".into()).error_response();
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        assert_eq!(content_type(&resp), Some(SCIM_CONTENT_TYPE));
        assert_eq!(
            body(resp),
            json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                "status": "400",
                "scimType": "invalidFilter",
                "detail": "unknown attribute `foo`",
            })
        );
    }

    #[test]
    fn unauthorized_carries_www_authenticate_and_no_scim_type() {
        let resp = Error::Unauthorized("missing bearer token".into()).error_response();
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
        assert!(resp.headers().get(header::WWW_AUTHENTICATE).is_some());
        assert_eq!(
            body(resp),
            json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                "status": "401",
                "detail": "missing bearer token",
            })
        );
    }

    #[test]
    fn deadlocks_and_serialization_failures_are_503_with_retry_after() {
        use diesel::result::{DatabaseErrorKind, Error as D};
        for e in [
            D::DatabaseError(
                DatabaseErrorKind::Unknown,
                Box::new("deadlock detected".to_owned()),
            ),
            D::DatabaseError(
                DatabaseErrorKind::SerializationFailure,
                Box::new("could not serialize access".to_owned()),
            ),
        ] {
            let e = Error::from(e);
            assert!(matches!(e, Error::Contention(_)), "{e:?}");
            let resp = e.error_response();
            assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(
                resp.headers()
                    .get(header::RETRY_AFTER)
                    .map(|v| v.as_bytes()),
                Some(&b"1"[..])
            );
            let text = body(resp).to_string();
            assert!(!text.contains("deadlock"), "{text}");
        }
    }

    #[test]
    fn internal_causes_are_never_sent() {
        let resp = Error::internal("password=hunter2 leaked").error_response();
        let text = body(resp).to_string();
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("internal server error"));
    }

    #[test]
    fn admin_errors_are_rfc_9457_problems() {
        let resp = AdminError(Error::NotFound("no tenant `x`".into())).error_response();
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
        assert_eq!(content_type(&resp), Some(PROBLEM_CONTENT_TYPE));
        assert_eq!(
            body(resp),
            json!({
                "type": "https://scimd.dev/problems/not-found",
                "title": "Not found",
                "status": 404,
                "detail": "no tenant `x`",
                "error": "not_found",
            })
        );
    }

    #[test]
    fn admin_problems_keep_the_error_headers_and_hide_internal_causes() {
        let resp = AdminError(Error::Unauthorized("missing admin key".into())).error_response();
        assert!(resp.headers().get(header::WWW_AUTHENTICATE).is_some());
        let resp = AdminError(Error::internal("password=hunter2")).error_response();
        let body = body(resp);
        assert_eq!(body["type"], "https://scimd.dev/problems/internal");
        assert_eq!(body["status"], 500);
        assert!(!body.to_string().contains("hunter2"), "{body}");
    }
}
