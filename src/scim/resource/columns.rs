//! The database columns derived from a resource's canonical stored form: what the store
//! indexes and filters on.

use serde_json::Value;

use crate::scim::schema::ENTERPRISE_USER_SCHEMA_URN;

/// The User columns the database indexes, derived from the canonical stored form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserColumns {
    pub user_name: String,
    pub external_id: Option<String>,
    pub display_name: Option<String>,
    /// `true` when `active` is absent.
    pub active: bool,
    /// The deliverable address, lower-cased: the primary email, else the first of type
    /// `work`, else the first; only if it has text on both sides of an `@`.
    pub email: Option<String>,
    /// The Enterprise User extension's `department`.
    pub department: Option<String>,
    /// Every email value, lower-cased as the filter evaluator compares them (for
    /// `emails.value eq`).
    pub emails: Vec<String>,
}

fn str_field(obj: &Value, key: &str) -> Option<String> {
    obj.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// Derives the indexed columns from a User's canonical stored form.
pub fn user_columns(stored: &Value) -> UserColumns {
    let emails: &[Value] = stored
        .get("emails")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice);
    let chosen = emails
        .iter()
        .find(|e| e.get("primary") == Some(&Value::Bool(true)))
        .or_else(|| {
            emails.iter().find(|e| {
                e.get("type")
                    .and_then(Value::as_str)
                    .is_some_and(|t| t.eq_ignore_ascii_case("work"))
            })
        })
        .or_else(|| emails.first());
    let email = chosen
        .and_then(|e| e.get("value"))
        .and_then(Value::as_str)
        .filter(|s| is_deliverable(s))
        .map(str::to_lowercase);
    UserColumns {
        user_name: str_field(stored, "userName").unwrap_or_default(),
        external_id: str_field(stored, "externalId"),
        display_name: str_field(stored, "displayName"),
        active: stored
            .get("active")
            .and_then(Value::as_bool)
            .unwrap_or(true),
        email,
        department: stored
            .get(ENTERPRISE_USER_SCHEMA_URN)
            .and_then(|ext| str_field(ext, "department")),
        emails: emails
            .iter()
            .filter_map(|e| e.get("value").and_then(Value::as_str))
            .map(str::to_lowercase)
            .collect(),
    }
}

/// Text on both sides of an `@`.
fn is_deliverable(address: &str) -> bool {
    address
        .rsplit_once('@')
        .is_some_and(|(local, domain)| !local.trim().is_empty() && !domain.trim().is_empty())
}

/// The Group columns the database indexes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupColumns {
    pub display_name: String,
    pub external_id: Option<String>,
}

/// Derives the indexed columns from a Group's canonical stored form.
pub fn group_columns(stored: &Value) -> GroupColumns {
    GroupColumns {
        display_name: str_field(stored, "displayName").unwrap_or_default(),
        external_id: str_field(stored, "externalId"),
    }
}
