//! User and Group resources, pure: normalising POST/PUT bodies into the canonical stored
//! form, the database columns derived from it, rendering it back as an RFC 7643 resource,
//! and projecting that with `attributes` / `excludedAttributes` (RFC 7644 §3.4.2.5, §3.9).
//!
//! # Canonical stored form
//!
//! A JSON object holding a resource's attributes under their schema names (`userName`,
//! `name` → `{"givenName": …}`, `emails` → `[{"value": …, "primary": true}]`), the
//! Enterprise User extension's attributes inside an object keyed by its URN, and nothing
//! else: no `id`, `meta`, `schemas`, `groups` (User), `members` (Group) nor `password`. No
//! nulls, empty strings, empty arrays or empty objects are stored.
//!
//! The concerns live in submodules, re-exported here: `normalize` (bodies into the stored
//! form, with the input leniency it allows), `columns` (the indexed columns derived from
//! it), `render` (the stored form back as a resource) and `project` (`returned`,
//! `attributes` and `excludedAttributes` applied to a rendered resource).

mod columns;
mod normalize;
mod project;
mod render;

pub use columns::{group_columns, user_columns, GroupColumns, UserColumns};
pub(crate) use normalize::{
    is_group, is_user, members_value, normalize_resource, normalize_single, normalize_value,
    password_value, unwrap_single,
};
pub use normalize::{normalize_group, normalize_user, GroupInput, MemberRef, UserInput};
pub use project::{project, wants};
pub use render::{render_group, render_user, Meta};

/// Why a resource body (or a PATCH request) is rejected: each variant is a `400` with the
/// `scimType` of RFC 7644 §3.12, Table 9, and a plain-English `detail`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResourceError {
    #[error("{0}")]
    InvalidSyntax(String),
    #[error("{0}")]
    InvalidValue(String),
    #[error("{0}")]
    InvalidPath(String),
    #[error("{0}")]
    NoTarget(String),
    #[error("{0}")]
    Mutability(String),
    #[error("{0}")]
    InvalidFilter(String),
}

impl ResourceError {
    /// The RFC 7644 §3.12 `scimType`.
    pub fn scim_type(&self) -> &'static str {
        match self {
            ResourceError::InvalidSyntax(_) => "invalidSyntax",
            ResourceError::InvalidValue(_) => "invalidValue",
            ResourceError::InvalidPath(_) => "invalidPath",
            ResourceError::NoTarget(_) => "noTarget",
            ResourceError::Mutability(_) => "mutability",
            ResourceError::InvalidFilter(_) => "invalidFilter",
        }
    }

    /// The `detail` text of the error response.
    pub fn detail(&self) -> String {
        self.to_string()
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used)]
pub(crate) mod tests;
