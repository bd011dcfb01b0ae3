//! Rendering a canonical stored form back as an RFC 7643 resource, with `id`, `schemas`
//! and the server-maintained `meta`.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value};

use crate::scim::schema::{ENTERPRISE_USER_SCHEMA_URN, GROUP_SCHEMA_URN, USER_SCHEMA_URN};

/// The server-maintained part of a resource (RFC 7643 §3.1, `meta`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meta {
    pub resource_type: &'static str,
    pub created: DateTime<Utc>,
    pub last_modified: DateTime<Utc>,
    pub location: String,
    pub version: String,
}

impl Meta {
    /// The `meta` object, timestamps in RFC 3339 UTC (`Z`), with as many fractional digits
    /// as needed (none for whole seconds).
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "resourceType": self.resource_type,
            "created": self.created.to_rfc3339_opts(SecondsFormat::AutoSi, true),
            "lastModified": self.last_modified.to_rfc3339_opts(SecondsFormat::AutoSi, true),
            "location": self.location,
            "version": self.version,
        })
    }
}

fn render(stored: &Value, id: &str, meta: &Meta, schemas: Vec<Value>) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("schemas".to_owned(), Value::Array(schemas));
    out.insert("id".to_owned(), Value::String(id.to_owned()));
    if let Some(obj) = stored.as_object() {
        for (k, v) in obj {
            if !is_server_key(k) {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    out.insert("meta".to_owned(), meta.to_json());
    out
}

/// Keys a stored form must not carry into a response, in case one slipped in.
fn is_server_key(key: &str) -> bool {
    ["id", "meta", "schemas", "password"]
        .iter()
        .any(|k| key.eq_ignore_ascii_case(k))
}

/// The full User resource (RFC 7643 §4.1): `schemas` (core, plus the Enterprise User URN
/// when the stored form has the extension object), `id`, the stored attributes, `groups`
/// when given and non-empty, and `meta`.
pub fn render_user(stored: &Value, id: &str, meta: &Meta, groups: Option<Vec<Value>>) -> Value {
    let mut schemas = vec![Value::String(USER_SCHEMA_URN.to_owned())];
    if stored.get(ENTERPRISE_USER_SCHEMA_URN).is_some() {
        schemas.push(Value::String(ENTERPRISE_USER_SCHEMA_URN.to_owned()));
    }
    let mut out = render(stored, id, meta, schemas);
    out.remove("groups");
    if let Some(groups) = groups.filter(|g| !g.is_empty()) {
        out.insert("groups".to_owned(), Value::Array(groups));
    }
    Value::Object(out)
}

/// The full Group resource (RFC 7643 §4.2). `members: Some(list)` is rendered even when
/// empty (`"members": []`); `None` leaves the key out (e.g. not loaded because not wanted).
pub fn render_group(stored: &Value, id: &str, meta: &Meta, members: Option<Vec<Value>>) -> Value {
    let mut out = render(
        stored,
        id,
        meta,
        vec![Value::String(GROUP_SCHEMA_URN.to_owned())],
    );
    out.remove("members");
    if let Some(members) = members {
        out.insert("members".to_owned(), Value::Array(members));
    }
    Value::Object(out)
}
