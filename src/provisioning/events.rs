//! Building the events every write appends (DESIGN.md, Events), in the writer's transaction.

use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use crate::store::events::{NewEvent, Stamp};

/// Who is writing, for the event log.
#[derive(Debug, Clone)]
pub struct Actor {
    pub tenant_id: Uuid,
    /// `token:<key id>`, `admin:<key id>`, `sync:<run id>`, `import:<id>`.
    pub actor: String,
    pub request_id: Option<String>,
}

impl Actor {
    pub fn event(
        &self,
        kind: &str,
        resource_type: &str,
        resource_id: Uuid,
        data: Value,
    ) -> NewEvent {
        NewEvent {
            tenant_id: self.tenant_id,
            kind: kind.to_owned(),
            resource_type: resource_type.to_owned(),
            resource_id: Some(resource_id),
            actor: self.actor.clone(),
            request_id: self.request_id.clone(),
            data,
        }
    }

    /// The event fields of a change to many rows in one statement, made `at`.
    pub fn stamp(&self, at: DateTime<Utc>) -> Stamp<'_> {
        Stamp {
            tenant_id: self.tenant_id,
            actor: &self.actor,
            request_id: self.request_id.as_deref(),
            at,
        }
    }
}

/// The top-level attributes whose values differ, with their new values (`null` when gone).
pub fn changed_fields(before: &Value, after: &Value) -> serde_json::Map<String, Value> {
    let empty = serde_json::Map::new();
    let b = before.as_object().unwrap_or(&empty);
    let a = after.as_object().unwrap_or(&empty);
    let mut out = serde_json::Map::new();
    for (k, v) in a {
        if b.get(k) != Some(v) {
            out.insert(k.clone(), v.clone());
        }
    }
    for k in b.keys() {
        if !a.contains_key(k) {
            out.insert(k.clone(), Value::Null);
        }
    }
    out
}
