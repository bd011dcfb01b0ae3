//! The SCIM Group write path. Members live in `group_members`: adding or removing k members
//! costs O(k) whatever the group's size, and a group's row lock serialises concurrent
//! PATCHes to it so none loses a member.
//!
//! The lock is held until the write commits, so a busy group takes one write at a time,
//! and the rate it takes them at is set by how long each holds the lock. A PATCH that
//! only adds and removes members (nearly every one an IdP sends) therefore holds it for
//! two statements: [`locked`] takes it together with the tenant's test, and
//! [`groups::change_members`] makes every change, its events and the new version at once.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::{Connection, PgConnection};
use serde_json::Value;
use uuid::Uuid;

use super::events::{changed_fields, Actor, Event};
use super::push::pushing_tenant;
use super::storable;
use crate::domain::Source;
use crate::error::Error;
use crate::scim::patch::{self, MemberChange, PatchRequest, Patched};
use crate::scim::resource::{group_columns, GroupInput, MemberRef};
use crate::store::events;
use crate::store::groups::{
    self, GroupData, GroupRow, Member, MemberEdit, MemberEvents, MemberKind, NewGroup,
};
use crate::store::users;

pub fn not_found(id: &str) -> Error {
    Error::NotFound(format!(
        "no Group `{}`",
        id.chars().take(64).collect::<String>()
    ))
}

/// The row's columns from the resource, refused when PostgreSQL could not store or
/// index them.
fn data_of(resource: Value) -> Result<GroupData, Error> {
    storable::json(&resource)?;
    let c = group_columns(&resource);
    storable::indexed(Some(&c.display_name), "displayName")?;
    storable::indexed(c.external_id.as_deref(), "externalId")?;
    Ok(GroupData {
        display_name: c.display_name,
        external_id: c.external_id,
        resource,
    })
}

/// A member reference's id, checked as far as it can be without the database: 400
/// invalidValue when it is no id, is the group itself, or has a `display` PostgreSQL
/// cannot store.
fn member_id(group_id: Uuid, r: &MemberRef) -> Result<Uuid, Error> {
    let id = Uuid::parse_str(&r.value).map_err(|_| unknown_member(&r.value))?;
    if id == group_id {
        return Err(Error::InvalidValue(
            "a group cannot be a member of itself".into(),
        ));
    }
    if let Some(display) = &r.display {
        storable::text(display, "members.display")?;
    }
    Ok(id)
}

/// Resolves member references to users and groups of this tenant. Any that is not one is
/// 400 invalidValue, naming it, before anything is written.
fn resolve_members(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    group_id: Uuid,
    refs: &[MemberRef],
) -> Result<Vec<Member>, Error> {
    let mut ids = Vec::with_capacity(refs.len());
    let mut displays: HashMap<Uuid, Option<String>> = HashMap::with_capacity(refs.len());
    for r in refs {
        let id = member_id(group_id, r)?;
        if let std::collections::hash_map::Entry::Vacant(slot) = displays.entry(id) {
            ids.push(id);
            slot.insert(r.display.clone());
        }
    }
    let mut found_users = HashSet::with_capacity(ids.len());
    let mut found_groups = HashSet::new();
    for chunk in ids.chunks(10_000) {
        found_users.extend(users::existing_ids(conn, tenant_id, chunk)?);
        let rest: Vec<Uuid> = chunk
            .iter()
            .filter(|id| !found_users.contains(*id))
            .copied()
            .collect();
        if !rest.is_empty() {
            found_groups.extend(groups::existing_ids(conn, tenant_id, &rest)?);
        }
    }
    ids.into_iter()
        .map(|id| {
            let kind = if found_users.contains(&id) {
                MemberKind::User
            } else if found_groups.contains(&id) {
                MemberKind::Group
            } else {
                return Err(unknown_member(&id.to_string()));
            };
            let display = displays.remove(&id).flatten();
            Ok(Member { id, kind, display })
        })
        .collect()
}

fn unknown_member(value: &str) -> Error {
    Error::InvalidValue(format!(
        "member `{}` is not a user or group of this tenant",
        value.chars().take(64).collect::<String>()
    ))
}

fn member_ids(values: &[String]) -> Vec<Uuid> {
    // A value that is no UUID cannot be a member, so removing it removes nothing.
    values
        .iter()
        .filter_map(|v| Uuid::parse_str(v).ok())
        .collect()
}

fn add(
    conn: &mut PgConnection,
    actor: &Actor,
    group_id: Uuid,
    members: &[Member],
) -> Result<usize, Error> {
    let added = groups::add_members(conn, actor.tenant_id, group_id, members)?;
    if !added.is_empty() {
        let event = Event::GroupMemberAdded(&added);
        events::insert(conn, &actor.record(group_id, event))?;
    }
    Ok(added.len())
}

fn remove(
    conn: &mut PgConnection,
    actor: &Actor,
    group_id: Uuid,
    ids: &[Uuid],
) -> Result<usize, Error> {
    let removed = groups::remove_members(conn, actor.tenant_id, group_id, ids)?;
    if !removed.is_empty() {
        let event = Event::GroupMemberRemoved(&removed);
        events::insert(conn, &actor.record(group_id, event))?;
    }
    Ok(removed.len())
}

/// Makes the membership exactly `members`: removes the others, adds the missing.
fn set_members(
    conn: &mut PgConnection,
    actor: &Actor,
    group_id: Uuid,
    members: &[Member],
) -> Result<usize, Error> {
    let wanted: HashSet<Uuid> = members.iter().map(|m| m.id).collect();
    let current = groups::member_ids(conn, actor.tenant_id, group_id)?;
    let gone: Vec<Uuid> = current
        .iter()
        .filter(|id| !wanted.contains(id))
        .copied()
        .collect();
    let have: HashSet<Uuid> = current.into_iter().collect();
    let new: Vec<Member> = members
        .iter()
        .filter(|m| !have.contains(&m.id))
        .cloned()
        .collect();
    Ok(remove(conn, actor, group_id, &gone)? + add(conn, actor, group_id, &new)?)
}

/// POST /Groups (RFC 7644 §3.3).
pub fn create(
    conn: &mut PgConnection,
    actor: &Actor,
    source: Source,
    input: GroupInput,
) -> Result<GroupRow, Error> {
    conn.transaction(|conn| {
        pushing_tenant(conn, actor.tenant_id)?;
        let id = Uuid::now_v7();
        let members = resolve_members(
            conn,
            actor.tenant_id,
            id,
            input.members.as_deref().unwrap_or_default(),
        )?;
        let row = groups::insert(
            conn,
            &NewGroup {
                id,
                tenant_id: actor.tenant_id,
                source,
                source_ref: None,
                data: data_of(input.resource)?,
            },
        )?;
        let event = Event::GroupCreated {
            display_name: &row.display_name,
            external_id: row.external_id.as_deref(),
        };
        events::insert(conn, &actor.record(id, event))?;
        add(conn, actor, id, &members)?;
        Ok(row)
    })
}

/// The group, locked, once the tenant is known to take SCIM writes and `if_match` (if
/// any) is its version. One statement when both hold; when it finds nothing, the two
/// steps again, [`pushing_tenant`] first, say what is wrong (409 or 404).
fn locked(
    conn: &mut PgConnection,
    actor: &Actor,
    id: Uuid,
    if_match: Option<i64>,
) -> Result<GroupRow, Error> {
    let row = match groups::lock_if_pushing(conn, actor.tenant_id, id, &Source::PULL)? {
        Some(row) => row,
        None => {
            pushing_tenant(conn, actor.tenant_id)?;
            groups::find_for_update(conn, actor.tenant_id, id)?
                .ok_or_else(|| not_found(&id.to_string()))?
        }
    };
    match if_match {
        Some(v) if v != row.version => Err(Error::PreconditionFailed(format!(
            "the resource is at version {}, not {v}",
            row.version
        ))),
        _ => Ok(row),
    }
}

/// Writes the new attributes (and bumps the version when membership changed).
fn finish(
    conn: &mut PgConnection,
    actor: &Actor,
    row: GroupRow,
    resource: Value,
    members_changed: bool,
    now: DateTime<Utc>,
) -> Result<GroupRow, Error> {
    if resource != row.resource {
        let data = data_of(resource)?;
        let updated = groups::update(conn, row.tenant_id, row.id, row.version, &data, now)?
            .ok_or_else(|| Error::internal("row changed under its lock"))?;
        let changed = changed_fields(&row.resource, &updated.resource);
        events::insert(conn, &actor.record(row.id, Event::GroupUpdated { changed }))?;
        return Ok(updated);
    }
    if members_changed {
        return Ok(groups::touch(conn, row.tenant_id, row.id, now)?);
    }
    Ok(row)
}

/// PUT /Groups/{id} (RFC 7644 §3.5.1): `members` given replaces the membership; absent, it
/// is cleared, as a replace of the whole resource says.
pub fn replace(
    conn: &mut PgConnection,
    actor: &Actor,
    id: Uuid,
    if_match: Option<i64>,
    input: GroupInput,
    now: DateTime<Utc>,
) -> Result<GroupRow, Error> {
    conn.transaction(|conn| {
        let row = locked(conn, actor, id, if_match)?;
        let members = resolve_members(
            conn,
            actor.tenant_id,
            id,
            input.members.as_deref().unwrap_or_default(),
        )?;
        let changed = set_members(conn, actor, id, &members)? > 0;
        finish(conn, actor, row, input.resource, changed, now)
    })
}

/// PATCH /Groups/{id} (RFC 7644 §3.5.2): all operations apply, or none.
///
/// A PATCH that only adds and removes members is two statements (the lock, then
/// [`change_members`]), and both write nothing when they refuse it. Inside a transaction
/// that holds other writes already ([`crate::store::Db::run_together`]) it therefore needs
/// no savepoint of its own; any other PATCH takes one there, and alone every PATCH is its
/// own transaction.
pub fn patch(
    conn: &mut PgConnection,
    actor: &Actor,
    id: Uuid,
    if_match: Option<i64>,
    request: &PatchRequest,
    now: DateTime<Utc>,
) -> Result<GroupRow, Error> {
    let in_transaction = AnsiTransactionManager::transaction_manager_status_mut(conn)
        .transaction_depth()
        .is_ok_and(|depth| depth.is_some());
    if in_transaction {
        let row = locked(conn, actor, id, if_match)?;
        let patched = patch::apply_group_patch(&row.resource, &id.to_string(), request)?;
        if let Some(edits) = only_members(id, &row, &patched) {
            return change_members(conn, actor, row, &edits, now);
        }
        return conn.transaction(|conn| apply_patch(conn, actor, id, row, patched, now));
    }
    conn.transaction(|conn| {
        let row = locked(conn, actor, id, if_match)?;
        let patched = patch::apply_group_patch(&row.resource, &id.to_string(), request)?;
        if let Some(edits) = only_members(id, &row, &patched) {
            return change_members(conn, actor, row, &edits, now);
        }
        apply_patch(conn, actor, id, row, patched, now)
    })
}

/// The member edits of a PATCH that changes nothing else ([`member_edits`]).
fn only_members(id: Uuid, row: &GroupRow, patched: &Patched) -> Option<Vec<MemberEdit>> {
    if patched.resource == row.resource {
        member_edits(id, &patched.members)
    } else {
        None
    }
}

/// A PATCH's operations one by one, on the group [`locked`] holds.
fn apply_patch(
    conn: &mut PgConnection,
    actor: &Actor,
    id: Uuid,
    row: GroupRow,
    patched: Patched,
    now: DateTime<Utc>,
) -> Result<GroupRow, Error> {
    let mut changed = 0;
    for change in &patched.members {
        changed += match change {
            MemberChange::Add(refs) => {
                let members = resolve_members(conn, actor.tenant_id, id, refs)?;
                add(conn, actor, id, &members)?
            }
            MemberChange::Remove(values) => remove(conn, actor, id, &member_ids(values))?,
            MemberChange::RemoveAll => {
                let all = groups::member_ids(conn, actor.tenant_id, id)?;
                remove(conn, actor, id, &all)?
            }
            MemberChange::Replace(refs) => {
                let members = resolve_members(conn, actor.tenant_id, id, refs)?;
                set_members(conn, actor, id, &members)?
            }
        };
    }
    finish(conn, actor, row, patched.resource, changed > 0, now)
}

/// The members a PATCH removes and adds, in request order, when that is all it does and
/// [`change_members`] can do it in one statement: only adds and removes, each id named
/// once (a PATCH that removes a member and adds it back must do so in order), every added
/// reference valid as far as [`member_id`] can tell (the general path reports the first
/// that is not, as it always has), and something to do. `None` otherwise: the general
/// path applies the operations one by one.
fn member_edits(group_id: Uuid, changes: &[MemberChange]) -> Option<Vec<MemberEdit>> {
    let mut seen = HashSet::new();
    let mut edits = Vec::new();
    for (op, change) in changes.iter().enumerate() {
        match change {
            MemberChange::Remove(values) => {
                for id in member_ids(values) {
                    seen.insert(id).then_some(())?;
                    edits.push(MemberEdit::Remove { id, op });
                }
            }
            MemberChange::Add(refs) => {
                for r in refs {
                    let id = member_id(group_id, r).ok()?;
                    seen.insert(id).then_some(())?;
                    let display = r.display.clone();
                    edits.push(MemberEdit::Add { id, display, op });
                }
            }
            MemberChange::RemoveAll | MemberChange::Replace(_) => return None,
        }
    }
    (!edits.is_empty()).then_some(edits)
}

/// Makes a PATCH's [`member_edits`] in one statement, on the group [`locked`] holds:
/// the same changes, events and version as the operations applied one by one.
fn change_members(
    conn: &mut PgConnection,
    actor: &Actor,
    row: GroupRow,
    edits: &[MemberEdit],
    now: DateTime<Utc>,
) -> Result<GroupRow, Error> {
    let removed = actor.record(row.id, Event::GroupMemberRemoved(&[]));
    let added = actor.record(row.id, Event::GroupMemberAdded(&[]));
    let events = MemberEvents {
        removed: &removed,
        added: &added,
    };
    let done = groups::change_members(conn, row.id, edits, events, now)?;
    if let Some(id) = done.unknown {
        return Err(unknown_member(&id.to_string()));
    }
    Ok(match (done.version, done.updated_at) {
        (Some(version), Some(updated_at)) => GroupRow {
            version,
            updated_at,
            ..row
        },
        _ => row,
    })
}

/// DELETE /Groups/{id} (RFC 7644 §3.6).
pub fn delete(
    conn: &mut PgConnection,
    actor: &Actor,
    id: Uuid,
    if_match: Option<i64>,
) -> Result<(), Error> {
    conn.transaction(|conn| {
        let row = locked(conn, actor, id, if_match)?;
        // Its own memberships in other groups go too (nested groups), parents locked first.
        groups::lock_groups_of(conn, actor.tenant_id, id)?;
        for parent in groups::remove_from_all(conn, actor.tenant_id, id)? {
            let event = Event::GroupMemberRemoved(&[id]);
            events::insert(conn, &actor.record(parent, event))?;
        }
        groups::delete(conn, actor.tenant_id, id)?;
        let event = Event::GroupDeleted {
            display_name: &row.display_name,
        };
        events::insert(conn, &actor.record(id, event))?;
        Ok(())
    })
}
