//! The events every write appends (DESIGN.md, Events), in the writer's transaction.
//!
//! Each kind has one constructor, an [`Event`] variant, and so one shape of `data`,
//! whichever write path (SCIM, the admin API, a CSV import, a sync) records it. The kinds
//! and their `data`:
//!
//! | kind | `data` |
//! |---|---|
//! | `user.created` | `userName`, `externalId`, `source`, `active` |
//! | `user.updated` | `changed`: each top-level attribute that changed, with its new value (`null`: gone); `previous_source`: the source before, `null` unless this change moved the person to another (a disconnect that keeps them makes them `manual`) |
//! | `user.deactivated`, `user.reactivated` | `active`: the IdP's new `active` |
//! | `user.excluded`, `user.included` | `admin_state`: `deactivated` or `active` (an admin's decision) |
//! | `user.deprovisioned`, `user.removed` | `userName` |
//! | `user.restored`, `user.adopted` | `userName`, `source`, `previous_source`, `changed` |
//! | `group.created` | `displayName`, `externalId` |
//! | `group.updated` | `changed` |
//! | `group.deleted` | `displayName` |
//! | `group.excluded`, `group.included` | `displayName`, `members`: how many it has |
//! | `group.member_added`, `group.member_removed` | `members`: the member ids |
//! | `connection.created` | `provider`, `directory`: the directory's tenant id (Graph) or the administrator's domain (Google), `scope` |

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};
use uuid::Uuid;

use crate::domain::{AdminState, Provider, Source};
use crate::store::events::{NewEvent, Stamp};

/// Who is writing, for the event log.
#[derive(Debug, Clone)]
pub struct Actor {
    pub tenant_id: Uuid,
    /// `token:<key id>`, `admin:<key id>`, `sync:<run id>`, `import:<id>`, `link:<id>`.
    pub actor: String,
    pub request_id: Option<String>,
}

impl Actor {
    /// `event`, of the resource `resource_id`, by this actor.
    pub fn record(&self, resource_id: Uuid, event: Event) -> NewEvent {
        let kind = event.kind();
        NewEvent {
            tenant_id: self.tenant_id,
            kind: kind.as_str().to_owned(),
            resource_type: kind.resource_type().to_owned(),
            resource_id: Some(resource_id),
            actor: self.actor.clone(),
            request_id: self.request_id.clone(),
            data: event.data(),
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

/// The kinds of event, each mapped to its text (the feed's `type`) here only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    UserCreated,
    UserUpdated,
    UserDeactivated,
    UserReactivated,
    UserExcluded,
    UserIncluded,
    UserDeprovisioned,
    UserRemoved,
    UserRestored,
    UserAdopted,
    GroupCreated,
    GroupUpdated,
    GroupDeleted,
    GroupExcluded,
    GroupIncluded,
    GroupMemberAdded,
    GroupMemberRemoved,
    ConnectionCreated,
}

impl EventKind {
    pub const ALL: [Self; 18] = [
        Self::UserCreated,
        Self::UserUpdated,
        Self::UserDeactivated,
        Self::UserReactivated,
        Self::UserExcluded,
        Self::UserIncluded,
        Self::UserDeprovisioned,
        Self::UserRemoved,
        Self::UserRestored,
        Self::UserAdopted,
        Self::GroupCreated,
        Self::GroupUpdated,
        Self::GroupDeleted,
        Self::GroupExcluded,
        Self::GroupIncluded,
        Self::GroupMemberAdded,
        Self::GroupMemberRemoved,
        Self::ConnectionCreated,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::UserCreated => "user.created",
            Self::UserUpdated => "user.updated",
            Self::UserDeactivated => "user.deactivated",
            Self::UserReactivated => "user.reactivated",
            Self::UserExcluded => "user.excluded",
            Self::UserIncluded => "user.included",
            Self::UserDeprovisioned => "user.deprovisioned",
            Self::UserRemoved => "user.removed",
            Self::UserRestored => "user.restored",
            Self::UserAdopted => "user.adopted",
            Self::GroupCreated => "group.created",
            Self::GroupUpdated => "group.updated",
            Self::GroupDeleted => "group.deleted",
            Self::GroupExcluded => "group.excluded",
            Self::GroupIncluded => "group.included",
            Self::GroupMemberAdded => "group.member_added",
            Self::GroupMemberRemoved => "group.member_removed",
            Self::ConnectionCreated => "connection.created",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The members of the kind's `data` (the table above), which every event of the kind
    /// has, whoever wrote it.
    pub const fn data_fields(self) -> &'static [&'static str] {
        match self {
            Self::UserCreated => &["userName", "externalId", "source", "active"],
            Self::UserUpdated => &["changed", "previous_source"],
            Self::UserDeactivated | Self::UserReactivated => &["active"],
            Self::UserExcluded | Self::UserIncluded => &["admin_state"],
            Self::UserDeprovisioned | Self::UserRemoved => &["userName"],
            Self::UserRestored | Self::UserAdopted => {
                &["userName", "source", "previous_source", "changed"]
            }
            Self::GroupCreated => &["displayName", "externalId"],
            Self::GroupUpdated => &["changed"],
            Self::GroupDeleted => &["displayName"],
            Self::GroupExcluded | Self::GroupIncluded => &["displayName", "members"],
            Self::GroupMemberAdded | Self::GroupMemberRemoved => &["members"],
            Self::ConnectionCreated => &["provider", "directory", "scope"],
        }
    }

    /// The SCIM resource type of the events' resource.
    pub const fn resource_type(self) -> &'static str {
        match self {
            Self::UserCreated
            | Self::UserUpdated
            | Self::UserDeactivated
            | Self::UserReactivated
            | Self::UserExcluded
            | Self::UserIncluded
            | Self::UserDeprovisioned
            | Self::UserRemoved
            | Self::UserRestored
            | Self::UserAdopted => "User",
            Self::ConnectionCreated => "Connection",
            _ => "Group",
        }
    }
}

/// A person taken back or over by a source: restored after being deprovisioned, or
/// adopted from another source.
#[derive(Debug, Clone)]
pub struct TakeOver<'a> {
    pub user_name: &'a str,
    pub source: Source,
    pub previous_source: Source,
    /// [`changed_fields`] of the resource.
    pub changed: Map<String, Value>,
}

/// What happened, with what the feed tells about it: one variant per kind.
#[derive(Debug, Clone)]
pub enum Event<'a> {
    UserCreated {
        user_name: &'a str,
        external_id: Option<&'a str>,
        source: Source,
        active: bool,
    },
    UserUpdated {
        changed: Map<String, Value>,
        /// The source before, when this change moved the person to another.
        previous_source: Option<&'a str>,
    },
    /// The IdP set `active` (`user.reactivated` or `user.deactivated`).
    UserActive(bool),
    /// An admin deactivated (`user.excluded`) or reactivated (`user.included`) them.
    UserExcluded(bool),
    UserDeprovisioned {
        user_name: &'a str,
    },
    UserRemoved {
        user_name: &'a str,
    },
    UserRestored(TakeOver<'a>),
    UserAdopted(TakeOver<'a>),
    GroupCreated {
        display_name: &'a str,
        external_id: Option<&'a str>,
    },
    GroupUpdated {
        changed: Map<String, Value>,
    },
    GroupDeleted {
        display_name: &'a str,
    },
    /// An admin excluded ("slept", `group.excluded`) or included the group.
    GroupExcluded {
        excluded: bool,
        display_name: &'a str,
        members: i64,
    },
    GroupMemberAdded(&'a [Uuid]),
    GroupMemberRemoved(&'a [Uuid]),
    /// A connection was made through a connect link (the resource is the tenant's one
    /// connection: its id is the tenant's).
    ConnectionCreated {
        provider: Provider,
        directory: &'a str,
        scope: &'a Value,
    },
}

impl Event<'_> {
    pub fn kind(&self) -> EventKind {
        match self {
            Self::UserCreated { .. } => EventKind::UserCreated,
            Self::UserUpdated { .. } => EventKind::UserUpdated,
            Self::UserActive(true) => EventKind::UserReactivated,
            Self::UserActive(false) => EventKind::UserDeactivated,
            Self::UserExcluded(true) => EventKind::UserExcluded,
            Self::UserExcluded(false) => EventKind::UserIncluded,
            Self::UserDeprovisioned { .. } => EventKind::UserDeprovisioned,
            Self::UserRemoved { .. } => EventKind::UserRemoved,
            Self::UserRestored(_) => EventKind::UserRestored,
            Self::UserAdopted(_) => EventKind::UserAdopted,
            Self::GroupCreated { .. } => EventKind::GroupCreated,
            Self::GroupUpdated { .. } => EventKind::GroupUpdated,
            Self::GroupDeleted { .. } => EventKind::GroupDeleted,
            Self::GroupExcluded { excluded: true, .. } => EventKind::GroupExcluded,
            Self::GroupExcluded {
                excluded: false, ..
            } => EventKind::GroupIncluded,
            Self::GroupMemberAdded(_) => EventKind::GroupMemberAdded,
            Self::GroupMemberRemoved(_) => EventKind::GroupMemberRemoved,
            Self::ConnectionCreated { .. } => EventKind::ConnectionCreated,
        }
    }

    /// The event's `data`, in the one shape of its kind (the table above).
    pub fn data(&self) -> Value {
        match self {
            Self::UserCreated {
                user_name,
                external_id,
                source,
                active,
            } => json!({
                "userName": user_name,
                "externalId": external_id,
                "source": source,
                "active": active,
            }),
            Self::UserUpdated {
                changed,
                previous_source,
            } => json!({"changed": changed, "previous_source": previous_source}),
            Self::GroupUpdated { changed } => json!({"changed": changed}),
            Self::UserActive(active) => json!({"active": active}),
            Self::UserExcluded(excluded) => json!({
                "admin_state": if *excluded { AdminState::Deactivated } else { AdminState::Active },
            }),
            Self::UserDeprovisioned { user_name } | Self::UserRemoved { user_name } => {
                json!({"userName": user_name})
            }
            Self::UserRestored(t) | Self::UserAdopted(t) => json!({
                "userName": t.user_name,
                "source": t.source,
                "previous_source": t.previous_source,
                "changed": t.changed,
            }),
            Self::GroupCreated {
                display_name,
                external_id,
            } => json!({"displayName": display_name, "externalId": external_id}),
            Self::GroupDeleted { display_name } => json!({"displayName": display_name}),
            Self::GroupExcluded {
                display_name,
                members,
                ..
            } => json!({"displayName": display_name, "members": members}),
            Self::GroupMemberAdded(ids) | Self::GroupMemberRemoved(ids) => {
                json!({"members": ids})
            }
            Self::ConnectionCreated {
                provider,
                directory,
                scope,
            } => json!({"provider": provider, "directory": directory, "scope": scope}),
        }
    }
}

/// The top-level attributes whose values differ, with their new values (`null` when gone).
pub fn changed_fields(before: &Value, after: &Value) -> Map<String, Value> {
    let empty = Map::new();
    let b = before.as_object().unwrap_or(&empty);
    let a = after.as_object().unwrap_or(&empty);
    let mut out = Map::new();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_one_text_that_reads_back() {
        let mut texts: Vec<&str> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
        for kind in EventKind::ALL {
            assert_eq!(EventKind::parse(kind.as_str()), Some(kind));
            let prefix = kind.as_str().split('.').next().unwrap_or_default();
            assert_eq!(prefix, kind.resource_type().to_lowercase());
        }
        texts.sort_unstable();
        texts.dedup();
        assert_eq!(texts.len(), EventKind::ALL.len());
        assert_eq!(EventKind::parse("user.nope"), None);
    }

    /// One event of each kind, as its constructor builds it.
    fn one_of_each() -> Vec<Event<'static>> {
        let t = || TakeOver {
            user_name: "a",
            source: Source::Scim,
            previous_source: Source::Manual,
            changed: Map::new(),
        };
        vec![
            Event::UserCreated {
                user_name: "a",
                external_id: None,
                source: Source::Scim,
                active: true,
            },
            Event::UserUpdated {
                changed: Map::new(),
                previous_source: None,
            },
            Event::UserActive(false),
            Event::UserActive(true),
            Event::UserExcluded(true),
            Event::UserExcluded(false),
            Event::UserDeprovisioned { user_name: "a" },
            Event::UserRemoved { user_name: "a" },
            Event::UserRestored(t()),
            Event::UserAdopted(t()),
            Event::GroupCreated {
                display_name: "g",
                external_id: None,
            },
            Event::GroupUpdated {
                changed: Map::new(),
            },
            Event::GroupDeleted { display_name: "g" },
            Event::GroupExcluded {
                excluded: true,
                display_name: "g",
                members: 1,
            },
            Event::GroupExcluded {
                excluded: false,
                display_name: "g",
                members: 1,
            },
            Event::GroupMemberAdded(&[]),
            Event::GroupMemberRemoved(&[]),
            Event::ConnectionCreated {
                provider: Provider::Graph,
                directory: "contoso.onmicrosoft.com",
                scope: &Value::Null,
            },
        ]
    }

    #[test]
    fn each_kind_has_exactly_its_documented_data_fields() {
        let events = one_of_each();
        let mut kinds: Vec<EventKind> = events.iter().map(Event::kind).collect();
        kinds.dedup();
        assert_eq!(
            kinds,
            EventKind::ALL.to_vec(),
            "one constructor per kind, in order"
        );
        for event in events {
            let data = event.data();
            let mut got: Vec<&str> = data
                .as_object()
                .map(|o| o.keys().map(String::as_str).collect())
                .unwrap_or_default();
            let mut want = event.kind().data_fields().to_vec();
            got.sort_unstable();
            want.sort_unstable();
            assert_eq!(got, want, "{}", event.kind().as_str());
        }
    }

    #[test]
    fn a_user_created_event_has_one_shape() {
        let actor = Actor {
            tenant_id: Uuid::nil(),
            actor: "token:k".into(),
            request_id: None,
        };
        let id = Uuid::nil();
        let event = actor.record(
            id,
            Event::UserCreated {
                user_name: "ann@example.com",
                external_id: None,
                source: Source::Manual,
                active: true,
            },
        );
        assert_eq!(event.kind, "user.created");
        assert_eq!(event.resource_type, "User");
        assert_eq!(
            event.data,
            json!({"userName": "ann@example.com", "externalId": null, "source": "manual", "active": true})
        );
    }
}
