//! The platform admin's side of the lifecycle (DESIGN.md, Lifecycle): deactivating and
//! reactivating people, excluding ("sleeping") groups, deleting and restoring people,
//! creating manual people, and disconnecting a tenant's source.
//!
//! None of it is ever reflected into the SCIM resource: the admin state and group
//! exclusion live in their own columns, SCIM writes never touch them, and the SCIM
//! version does not move when they change.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use diesel::{Connection, PgConnection};
use uuid::Uuid;

use super::events::{Actor, Event, TakeOver};
use super::manual::ManualPerson;
use super::users as user_writes;
use crate::domain::{AdminState, DeletePolicy, Source};
use crate::error::Error;
use crate::store::events::{self, NewEvent};
use crate::store::groups::{self, GroupRow};
use crate::store::people;
use crate::store::tenants::{self, Tenant};
use crate::store::users::{self, NewUser, UserRow};

/// The most ids one deactivate or reactivate request may carry.
pub const MAX_IDS: usize = 1000;

/// What a bulk state change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct StateChange {
    pub changed: usize,
    pub unchanged: usize,
}

/// Deactivates (`deactivate`) or reactivates people by id, all or none: any id that is not
/// a person of the tenant is 404 and nothing changes. Already in the state is a no-op.
pub fn set_admin_state(
    conn: &mut PgConnection,
    actor: &Actor,
    ids: &[Uuid],
    deactivate: bool,
) -> Result<StateChange, Error> {
    if ids.is_empty() || ids.len() > MAX_IDS {
        return Err(Error::InvalidValue(format!(
            "ids must hold between 1 and {MAX_IDS} ids"
        )));
    }
    let mut seen = HashSet::with_capacity(ids.len());
    let ids: Vec<Uuid> = ids.iter().copied().filter(|id| seen.insert(*id)).collect();
    conn.transaction(|conn| {
        let known: HashSet<Uuid> = people::known_ids(conn, actor.tenant_id, &ids)?
            .into_iter()
            .collect();
        let unknown: Vec<String> = ids
            .iter()
            .filter(|id| !known.contains(id))
            .take(10)
            .map(Uuid::to_string)
            .collect();
        if !unknown.is_empty() {
            return Err(Error::NotFound(format!(
                "no person {} in this tenant; nothing was changed",
                unknown.join(", ")
            )));
        }
        let state = if deactivate {
            AdminState::Deactivated
        } else {
            AdminState::Active
        };
        let changed = people::set_admin_state(conn, actor.tenant_id, &ids, state)?;
        let batch: Vec<NewEvent> = changed
            .iter()
            .map(|id| actor.record(*id, Event::UserExcluded(deactivate)))
            .collect();
        events::insert_many(conn, &batch)?;
        Ok(StateChange {
            changed: changed.len(),
            unchanged: ids.len() - changed.len(),
        })
    })
}

/// A group as the admin API shows it.
#[derive(Debug, Clone)]
pub struct AdminGroup {
    pub row: GroupRow,
    pub members: i64,
}

/// Excludes ("sleeps") or includes a group: its members do not participate while it is
/// excluded. Already in the state is a no-op.
pub fn set_group_excluded(
    conn: &mut PgConnection,
    actor: &Actor,
    group_id: Uuid,
    exclude: bool,
    now: DateTime<Utc>,
) -> Result<AdminGroup, Error> {
    conn.transaction(|conn| {
        let row = groups::find_for_update(conn, actor.tenant_id, group_id)?
            .ok_or_else(|| super::groups::not_found(&group_id.to_string()))?;
        let members = groups::member_count(conn, actor.tenant_id, group_id)?;
        if row.excluded_at.is_some() == exclude {
            return Ok(AdminGroup { row, members });
        }
        let row = groups::set_excluded(conn, actor.tenant_id, group_id, exclude.then_some(now))?;
        let event = Event::GroupExcluded {
            excluded: exclude,
            display_name: &row.display_name,
            members,
        };
        events::insert(conn, &actor.record(group_id, event))?;
        Ok(AdminGroup { row, members })
    })
}

/// Deletes a person: by the tenant's `on_source_delete` policy (retain: deprovisioned and
/// restorable; remove: erased), or erased whatever the policy with `erase`. Deleting a
/// deprovisioned person without `erase` is a no-op.
pub fn delete(
    conn: &mut PgConnection,
    actor: &Actor,
    tenant: &Tenant,
    id: Uuid,
    erase: bool,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    conn.transaction(|conn| {
        let row = users::find_any_for_update(conn, actor.tenant_id, id)?
            .ok_or_else(|| person_not_found(id))?;
        let remove = erase || tenant.on_source_delete == DeletePolicy::Remove;
        if row.deprovisioned_at.is_some() && !remove {
            return Ok(());
        }
        user_writes::end(conn, actor, &row, remove, now)
    })
}

/// Erases a person deprovisioned before `cutoff` (their tenant's
/// `erase_deprovisioned_after`), as a delete with erase does: a `user.removed` event and
/// the row gone. A person restored since, or deprovisioned later, is left alone; whether
/// they were erased.
pub fn erase_deprovisioned(
    conn: &mut PgConnection,
    actor: &Actor,
    id: Uuid,
    cutoff: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<bool, Error> {
    conn.transaction(|conn| {
        let Some(row) = users::find_any_for_update(conn, actor.tenant_id, id)? else {
            return Ok(false);
        };
        if row.deprovisioned_at.is_none_or(|at| at >= cutoff) {
            return Ok(false);
        }
        user_writes::end(conn, actor, &row, true, now)?;
        Ok(true)
    })
}

pub fn person_not_found(id: Uuid) -> Error {
    Error::NotFound(format!("no person `{id}` in this tenant"))
}

/// Brings back a deprovisioned person (same id and history, admin state kept). A live
/// person is returned as is. 409 when a live person has taken the userName since.
pub fn restore(
    conn: &mut PgConnection,
    actor: &Actor,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<UserRow, Error> {
    conn.transaction(|conn| {
        let row = users::find_any_for_update(conn, actor.tenant_id, id)?
            .ok_or_else(|| person_not_found(id))?;
        if row.deprovisioned_at.is_none() {
            return Ok(row);
        }
        let restored = users::set_lifecycle(conn, row.tenant_id, id, row.source, None, now)
            .map_err(|e| match e {
                diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::UniqueViolation,
                    _,
                ) => Error::Conflict(format!(
                    "userName `{}` now belongs to another person; this one cannot be restored \
                     until that one is deleted",
                    row.user_name
                )),
                other => other.into(),
            })?;
        let event = Event::UserRestored(TakeOver {
            user_name: &restored.user_name,
            source: restored.source,
            previous_source: row.source,
            changed: Default::default(),
        });
        events::insert(conn, &actor.record(id, event))?;
        Ok(restored)
    })
}

/// Creates one manual person. 409 when a live person already has the email (as email or
/// userName, case-insensitively).
pub fn create_manual(
    conn: &mut PgConnection,
    actor: &Actor,
    person: &ManualPerson,
) -> Result<UserRow, Error> {
    conn.transaction(|conn| {
        let taken = people::find_by_emails(conn, actor.tenant_id, &[person.key()])?;
        if let Some(live) = taken.iter().find(|u| u.deprovisioned_at.is_none()) {
            return Err(Error::Uniqueness(format!(
                "person `{}` already has the email `{}`",
                live.id, person.email
            )));
        }
        let row = insert_manual(conn, actor.tenant_id, Uuid::now_v7(), person, None)?;
        events::insert(conn, &created_event(actor, &row))?;
        Ok(row)
    })
}

pub(crate) fn insert_manual(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
    person: &ManualPerson,
    manager: Option<Uuid>,
) -> Result<UserRow, Error> {
    let new = new_manual(tenant_id, id, person, manager)?;
    users::insert(conn, &new).map_err(|e| match e {
        // A person with this email as userName was created since the caller's check.
        diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        ) => Error::Uniqueness(format!(
            "a person with the email `{}` already exists",
            person.email
        )),
        other => other.into(),
    })
}

pub(crate) fn new_manual(
    tenant_id: Uuid,
    id: Uuid,
    person: &ManualPerson,
    manager: Option<Uuid>,
) -> Result<NewUser<'static>, Error> {
    Ok(NewUser {
        id,
        tenant_id,
        source: Source::Manual,
        source_ref: None,
        data: user_writes::data_of(person.resource(manager, None))?,
    })
}

pub(crate) fn created_event(actor: &Actor, row: &UserRow) -> NewEvent {
    let event = Event::UserCreated {
        user_name: &row.user_name,
        external_id: row.external_id.as_deref(),
        source: row.source,
        active: row.active,
    };
    actor.record(row.id, event)
}

/// What a disconnect did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Disconnected {
    #[serde(skip)]
    pub tenant: Option<Tenant>,
    pub people_kept: usize,
    pub people_deprovisioned: usize,
    pub people_removed: usize,
}

/// Disconnects the tenant's source: the tenant becomes `manual` and loses its connection
/// (with the directory objects its runs mirrored), if it had one. With `keep_people`,
/// everyone the source managed becomes a manual person (same id, history and admin
/// state); without, they are deprovisioned (or erased, under the `remove` policy) and leave
/// their groups. One transaction, set-based, with an event per person.
pub fn disconnect(
    conn: &mut PgConnection,
    actor: &Actor,
    keep_people: bool,
    now: DateTime<Utc>,
) -> Result<Disconnected, Error> {
    conn.transaction(|conn| {
        let tenant = tenants::lock(conn, actor.tenant_id)?;
        let mut out = Disconnected {
            tenant: None,
            people_kept: 0,
            people_deprovisioned: 0,
            people_removed: 0,
        };
        let stamp = actor.stamp(now);
        if keep_people {
            out.people_kept = people::make_sourced_manual(conn, &stamp)?;
            groups::make_sourced_manual(conn, actor.tenant_id)?;
        } else {
            // Leaving groups first: one member_removed event per group, its version bumped.
            people::remove_sourced_from_groups(conn, &stamp)?;
            if tenant.on_source_delete == DeletePolicy::Remove {
                out.people_removed = people::remove_sourced(conn, &stamp)?;
            } else {
                out.people_deprovisioned = people::deprovision_sourced(conn, &stamp)?;
            }
        }
        super::connections::remove(conn, tenant.id)?;
        let tenant = tenants::update_settings(
            conn,
            tenant.id,
            &tenants::SettingsChange {
                source: Some(Source::Manual),
                ..tenants::SettingsChange::default()
            },
            now,
        )?;
        out.tenant = Some(tenant);
        Ok(out)
    })
}

/// The person, with the groups that exclude them.
pub fn person(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<(people::Person, Vec<people::ExcludedBy>), Error> {
    let person = people::one(conn, tenant_id, id)?.ok_or_else(|| person_not_found(id))?;
    let excluded = people::excluded_groups_of(conn, tenant_id, &[id])?;
    Ok((person, excluded))
}
