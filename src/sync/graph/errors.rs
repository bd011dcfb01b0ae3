//! Graph's refusals in plain words ("Microsoft Graph error responses and resource types":
//! `{"error": {"code": …, "message": …}}`).

use serde::Deserialize;

use super::Reading;
use crate::sync::http::Fetched;
use crate::sync::SyncError;

#[derive(Deserialize, Default)]
struct Envelope {
    #[serde(default)]
    error: Body,
}

#[derive(Deserialize, Default)]
pub(super) struct Body {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub message: String,
}

pub(super) fn body(answer: &Fetched) -> Body {
    answer.json::<Envelope>().unwrap_or_default().error
}

/// The listing's state token is no longer valid and the listing must start over: HTTP 410
/// ("Use delta query to track changes in Microsoft Graph data", Synchronization reset), or
/// a 4xx whose code is `syncStateNotFound` (an expired delta token) or `resyncRequired`.
/// Graph has sent the codes in either case.
pub(super) fn wants_reset(answer: &Fetched) -> bool {
    let status = answer.status.as_u16();
    if status == 410 {
        return true;
    }
    if !(400..500).contains(&status) {
        return false;
    }
    let code = body(answer).code;
    code.eq_ignore_ascii_case("syncStateNotFound") || code.eq_ignore_ascii_case("resyncRequired")
}

/// `Ok` for a 2xx; otherwise the cause, named.
pub(super) fn ensure_ok(answer: &Fetched, reading: Reading<'_>) -> Result<(), SyncError> {
    if answer.status.is_success() {
        return Ok(());
    }
    let status = answer.status.as_u16();
    let Body { code, message } = body(answer);
    let what = match reading {
        Reading::Users => "list users".to_owned(),
        Reading::Groups => "list groups and their members".to_owned(),
        Reading::Group(id) => format!("read group {id}"),
        Reading::Members(id) => format!("read the members of group {id}"),
    };
    let detail = if code.is_empty() {
        format!("HTTP {status}")
    } else {
        format!("HTTP {status} {code}: {message}")
    };
    match (status, reading) {
        (403, _) => {
            let permission = match reading {
                Reading::Users => "User.Read.All",
                Reading::Groups => "GroupMember.Read.All",
                Reading::Group(_) | Reading::Members(_) => {
                    "GroupMember.Read.All (and User.Read.All for the members' details)"
                }
            };
            Err(SyncError::new(
                "permission_missing",
                format!(
                    "Microsoft Graph refused to {what}: the app needs the {permission} \
                     application permission with admin consent, which is missing or was \
                     revoked ({detail})"
                ),
            ))
        }
        (404, Reading::Group(id) | Reading::Members(id)) => Err(SyncError::new(
            "group_not_found",
            format!("The chosen group {id} does not exist in the directory ({detail})"),
        )),
        _ => Err(SyncError::new(
            "source_error",
            format!("Microsoft Graph refused to {what} ({detail})"),
        )),
    }
}

/// Graph refused a token fetched a moment before.
pub(super) fn token_rejected(answer: &Fetched) -> SyncError {
    let Body { code, message } = body(answer);
    SyncError::new(
        "token_rejected",
        format!(
            "Microsoft Graph refused a freshly issued access token ({code}: {message}); \
             check that the app belongs to this directory and cloud"
        ),
    )
}
