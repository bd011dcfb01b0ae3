//! The Directory API's refusals in plain words. Its error body ("Directory API: Error
//! codes", the JSON error format of Google APIs): `{"error": {"code": 403, "message": …,
//! "errors": [{"domain": "global", "reason": "forbidden", "message": …}]}}`.

use serde::Deserialize;

use super::Google;
use crate::sync::http::Fetched;
use crate::sync::SyncError;

#[derive(Deserialize, Default)]
struct Envelope {
    #[serde(default)]
    error: Body,
}

#[derive(Deserialize, Default)]
struct Body {
    #[serde(default)]
    message: String,
    #[serde(default)]
    errors: Vec<Detail>,
}

#[derive(Deserialize, Default)]
struct Detail {
    #[serde(default)]
    reason: String,
}

fn body(answer: &Fetched) -> Body {
    answer.json::<Envelope>().unwrap_or_default().error
}

fn reasons(body: &Body) -> impl Iterator<Item = &str> {
    body.errors.iter().map(|d| d.reason.as_str())
}

/// What a Directory request reads, for messages.
#[derive(Debug, Clone, Copy)]
pub enum Reading<'a> {
    Users,
    OrgUnit(&'a str),
    User(&'a str),
    Groups,
    Group(&'a str),
    Members(&'a str),
}

impl Reading<'_> {
    pub(super) fn what(self) -> String {
        match self {
            Self::Users => "list users".into(),
            Self::OrgUnit(p) => format!("list the users of organisational unit {p}"),
            Self::User(id) => format!("read user {id}"),
            Self::Groups => "list groups".into(),
            Self::Group(g) => format!("read group {g}"),
            Self::Members(g) => format!("list the members of group {g}"),
        }
    }

    /// The delegated scope the request needs.
    fn scope(self) -> &'static str {
        match self {
            Self::Users | Self::OrgUnit(_) | Self::User(_) => super::SCOPES[0],
            Self::Groups | Self::Group(_) => super::SCOPES[1],
            Self::Members(_) => super::SCOPES[2],
        }
    }
}

/// 403 with a rate-limit reason, or 429: "slow down" ("Directory API: Limits and quotas").
pub fn rate_limited(answer: &Fetched) -> bool {
    answer.status.as_u16() == 403
        && reasons(&body(answer)).any(|r| {
            matches!(
                r,
                "rateLimitExceeded" | "userRateLimitExceeded" | "quotaExceeded"
            )
        })
}

/// A user deleted while the run read it: 404, or 412 (a precondition that no longer holds).
pub(super) fn gone(answer: &Fetched) -> bool {
    matches!(answer.status.as_u16(), 404 | 412)
}

/// `Ok` for a 2xx; otherwise the cause, named.
pub(super) fn ensure_ok(
    google: &Google,
    answer: &Fetched,
    reading: Reading<'_>,
) -> Result<(), SyncError> {
    if answer.status.is_success() {
        return Ok(());
    }
    let status = answer.status.as_u16();
    let b = body(answer);
    let reason = reasons(&b).next().unwrap_or_default().to_owned();
    let detail = if b.message.is_empty() {
        format!("HTTP {status}")
    } else if reason.is_empty() {
        format!("HTTP {status}: {}", b.message)
    } else {
        format!("HTTP {status} {reason}: {}", b.message)
    };
    let what = reading.what();
    let config = &google.config;
    let admin = &config.admin_email;
    let customer = &config.customer;
    let lower = b.message.to_ascii_lowercase();
    let err = |code: &'static str, m: String| Err(SyncError::new(code, m));
    match (status, reading) {
        (403, _) if reason == "accessNotConfigured" || lower.contains("has not been used") => err(
            "api_disabled",
            format!(
                "The Admin SDK API is not enabled in the service account's Google Cloud \
                 project: enable it there ({detail})"
            ),
        ),
        (403, _) if lower.contains("scope") => err(
            "scope_missing",
            format!(
                "Google refused to {what}: the token lacks the scope {} ({detail})",
                reading.scope()
            ),
        ),
        (403, _) => err(
            "not_admin",
            format!(
                "Google refused to {what}: {admin}, the user scimd acts as, is not an \
                 administrator allowed to read users and groups; make it a super admin or give \
                 its admin role the Users and Groups read privileges ({detail})"
            ),
        ),
        (400 | 404, Reading::OrgUnit(path))
            if lower.contains("org") || reason == "invalid" || status == 404 =>
        {
            err(
                "org_unit_not_found",
                format!(
                    "The organisational unit {path} was not found in customer {customer}: \
                     check its path ({detail})"
                ),
            )
        }
        (404, Reading::Group(g) | Reading::Members(g)) => err(
            "group_not_found",
            format!("The chosen group {g} does not exist in customer {customer} ({detail})"),
        ),
        (404, Reading::Users | Reading::Groups | Reading::OrgUnit(_)) => err(
            "customer_not_found",
            format!(
                "The customer {customer} was not found: use my_customer, or the customer ID \
                 shown in the Google Admin console (Account › Account settings) ({detail})"
            ),
        ),
        (400, Reading::Users | Reading::Groups)
            if customer != "my_customer"
                && (reason == "badRequest" || lower.contains("customer")) =>
        {
            err(
                "customer_not_found",
                format!(
                    "The customer {customer} was not found: use my_customer, or the customer \
                     ID shown in the Google Admin console (Account › Account settings) \
                     ({detail})"
                ),
            )
        }
        _ => err(
            "source_error",
            format!("Google refused to {what} ({detail})"),
        ),
    }
}

/// The Directory API refused a token issued a moment before.
pub(super) fn token_rejected(answer: &Fetched) -> SyncError {
    let b = body(answer);
    SyncError::new(
        "token_rejected",
        format!(
            "The Google Directory API refused a freshly issued access token ({}); check the \
             service account's domain-wide delegation",
            b.message
        ),
    )
}
