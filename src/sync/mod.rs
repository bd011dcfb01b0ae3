//! Pull mode (DESIGN.md, Pull sync): connectors read a tenant's directory (Microsoft
//! Graph, Google Directory), the engine stages what they read, plans, and applies the plan
//! through [`crate::provisioning`] in one transaction.
//!
//! A connector knows its directory's wire format and nothing of scimd's store: it hands
//! the engine [`Page`]s of [`DirUser`] and [`DirGroup`] entries, maps a directory user to
//! a [`Person`], and gives back the state the next run starts from (a delta link).

pub mod directories;
pub mod engine;
pub mod google;
pub mod graph;
pub mod http;
pub mod metrics;
pub mod token;
pub mod worker;

use serde_json::{Map, Value};

/// Why the directory reported an object gone (Graph's `@removed.reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    /// Soft-deleted: restorable at the source for a while (Graph `changed`).
    Changed,
    /// Deleted for good (Graph `deleted`).
    Deleted,
}

impl Removal {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Changed => "changed",
            Self::Deleted => "deleted",
        }
    }
}

/// A user entry as the directory gave it. In a delta round an entry may carry only the
/// properties that changed: those absent keep their stored values.
#[derive(Debug, Clone, PartialEq)]
pub struct DirUser {
    /// The directory's immutable id: the person's `source_ref`.
    pub id: String,
    pub removed: Option<Removal>,
    /// The properties the entry carries, as the directory spelled them (without `id` and
    /// `@removed`).
    pub fields: Map<String, Value>,
}

/// A change to a group's members, or one member of a full list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberChange {
    /// The member user's directory id.
    pub id: String,
    pub removed: bool,
}

/// A group entry as the directory gave it.
#[derive(Debug, Clone, PartialEq)]
pub struct DirGroup {
    pub id: String,
    pub removed: Option<Removal>,
    /// The properties the entry carries (`displayName`, …), without `id`, `@removed` and
    /// the members.
    pub fields: Map<String, Value>,
    /// Members added or removed; every member of the group when `members_full`. A group
    /// whose members span pages comes as several entries with the same id: their member
    /// lists add up.
    pub members: Vec<MemberChange>,
    /// `members` (with those of the group's other entries in this round) is the whole
    /// list, not changes to it.
    pub members_full: bool,
}

/// One page of a round.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Page {
    /// Discard everything this round gave so far: the connector started over with a full
    /// listing (a delta link the directory no longer knows, HTTP 410).
    pub reset: bool,
    pub users: Vec<DirUser>,
    pub groups: Vec<DirGroup>,
}

/// A directory user as scimd keeps a person: what a connector maps a user object to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Person {
    pub user_name: Option<String>,
    /// The deliverable work address; `None` when the user has no mailbox.
    pub email: Option<String>,
    pub display_name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    /// Enabled at the source.
    pub active: bool,
    /// A guest of the directory, skipped unless the connection includes guests.
    pub guest: bool,
    pub department: Option<String>,
    pub title: Option<String>,
    pub employee_id: Option<String>,
    /// The manager as the directory names them (an email address), lower-cased: made the
    /// manager's scimd id when that person is synced by the same connection.
    pub manager: Option<String>,
}

/// Why a run stopped: a stable code (`throttled`, `unreachable`, `permission_missing`,
/// `consent_revoked`, `tenant_not_found`, `bad_secret`, `foreign_link`, `truncated`,
/// `source_error`, `interrupted`, …) and a message in plain words for a technician.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SyncError {
    pub code: &'static str,
    pub message: String,
}

impl SyncError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

/// What a connection test found, in words for the technician who set it up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestReport {
    pub ok: bool,
    pub detail: String,
}

impl TestReport {
    /// The report of a test that said `detail` when it passed.
    pub fn of(tried: Result<String, SyncError>) -> Self {
        match tried {
            Ok(detail) => Self { ok: true, detail },
            Err(e) => Self::failed(e),
        }
    }

    /// The report of a test that failed with `e`.
    pub fn failed(e: SyncError) -> Self {
        Self {
            ok: false,
            detail: e.message,
        }
    }
}

/// A directory's text property as a person keeps it: trimmed, `None` when blank.
pub fn trimmed(text: Option<&str>) -> Option<String> {
    text.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// `v`'s fields, as a connector's `person` takes a user object.
#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests pass objects")]
pub(crate) fn fields_of(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap()
}
