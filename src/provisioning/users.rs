//! The SCIM User write path: create (with restore and adoption), replace, patch, delete,
//! each in one transaction with its events (DESIGN.md, Lifecycle and Events).

use chrono::{DateTime, Utc};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::{Connection, PgConnection};
use serde_json::Value;
use uuid::Uuid;

use super::events::{changed_fields, Actor, Event, TakeOver};
use super::push::pushing_tenant;
use super::storable;
use crate::domain::{DeletePolicy, Source};
use crate::error::Error;
use crate::scim::patch::{self, PatchRequest};
use crate::scim::resource::{user_columns, UserInput};
use crate::store::events::{self, NewEvent};
use crate::store::groups;
use crate::store::users::{self, Candidate, NewUser, UserData, UserRow};

/// The row's columns from the resource, refused when PostgreSQL could not store or
/// index them.
pub fn data_of(resource: Value) -> Result<UserData, Error> {
    storable::json(&resource)?;
    let c = user_columns(&resource);
    storable::indexed(Some(&c.user_name), "userName")?;
    storable::indexed(c.external_id.as_deref(), "externalId")?;
    storable::indexed(c.display_name.as_deref(), "displayName")?;
    if let Some(emails) = resource.get("emails").and_then(Value::as_array) {
        for email in emails {
            storable::indexed(email.get("value").and_then(Value::as_str), "emails.value")?;
        }
    }
    Ok(UserData {
        user_name: c.user_name,
        external_id: c.external_id,
        display_name: c.display_name,
        active: c.active,
        email: c.email,
        department: c.department,
        emails: Value::from(c.emails),
        resource,
    })
}

fn uniqueness(user_name: &str) -> Error {
    Error::Uniqueness(format!(
        "userName `{user_name}` is already taken in this tenant"
    ))
}

pub(crate) fn map_unique(e: DieselError, user_name: &str) -> Error {
    match e {
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => uniqueness(user_name),
        other => other.into(),
    }
}

pub fn not_found(id: &str) -> Error {
    Error::NotFound(format!(
        "no User `{}`",
        id.chars().take(64).collect::<String>()
    ))
}

/// What a create did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Created {
    New,
    /// A deprovisioned person of this source came back: same id and history.
    Restored,
    /// A person kept by hand, by CSV or by a previous source was taken over.
    Adopted,
}

/// POST /Users (RFC 7644 §3.3) on the full path. A userName clash with a live person this source manages is
/// 409 uniqueness; a deprovisioned person with the same userName or externalId is restored;
/// a live person of another source with the same userName or email is adopted.
pub fn create(
    conn: &mut PgConnection,
    actor: &Actor,
    source: Source,
    input: UserInput,
    now: DateTime<Utc>,
) -> Result<(UserRow, Created), Error> {
    create_from(conn, actor, source, data_of(input.resource)?, now)
}

/// A brand-new user of `source` with its `user.created` event, for the one-statement
/// create ([`crate::store::Db::insert_user_if_new`]).
pub fn new_user(actor: &Actor, source: Source, data: UserData) -> (NewUser<'static>, NewEvent) {
    let id = Uuid::now_v7();
    let event = actor.record(id, created_event(&data, source));
    let new = NewUser {
        id,
        tenant_id: actor.tenant_id,
        source,
        source_ref: None,
        data,
    };
    (new, event)
}

pub(crate) fn created_event(data: &UserData, source: Source) -> Event<'_> {
    Event::UserCreated {
        user_name: &data.user_name,
        external_id: data.external_id.as_deref(),
        source,
        active: data.active,
    }
}

/// [`create`] from the row's columns.
pub fn create_from(
    conn: &mut PgConnection,
    actor: &Actor,
    source: Source,
    data: UserData,
    now: DateTime<Utc>,
) -> Result<(UserRow, Created), Error> {
    conn.transaction(|conn| {
        pushing_tenant(conn, actor.tenant_id)?;
        let candidates = users::find_candidates(conn, actor.tenant_id, &data)?;
        let live = |c: &&Candidate| c.user.deprovisioned_at.is_none();
        // A live person with this userName.
        if let Some(c) = candidates.iter().filter(live).find(|c| c.same_user_name) {
            if c.user.source == source {
                return Err(uniqueness(&data.user_name));
            }
            let row = take_over(conn, actor, &c.user, data, source, now, Created::Adopted)?;
            return Ok((row, Created::Adopted));
        }
        // A live person of another source with this email.
        if let Some(c) = candidates
            .iter()
            .filter(live)
            .find(|c| c.same_email && c.user.source != source)
        {
            let row = take_over(conn, actor, &c.user, data, source, now, Created::Adopted)?;
            return Ok((row, Created::Adopted));
        }
        // The same person, deprovisioned earlier: restore them.
        if let Some(c) = candidates
            .iter()
            .filter(|c| !live(c))
            .find(|c| c.same_user_name || c.same_external_id)
        {
            let row = take_over(conn, actor, &c.user, data, source, now, Created::Restored)?;
            return Ok((row, Created::Restored));
        }
        let id = Uuid::now_v7();
        let user_name = data.user_name.clone();
        let event = actor.record(id, created_event(&data, source));
        let row = users::insert(
            conn,
            &NewUser {
                id,
                tenant_id: actor.tenant_id,
                source,
                source_ref: None,
                data,
            },
        )
        .map_err(|e| map_unique(e, &user_name))?;
        events::insert(conn, &event)?;
        Ok((row, Created::New))
    })
}

/// Writes `data` over an existing row and makes it live under `source`.
pub(crate) fn take_over(
    conn: &mut PgConnection,
    actor: &Actor,
    existing: &UserRow,
    data: UserData,
    source: Source,
    now: DateTime<Utc>,
    how: Created,
) -> Result<UserRow, Error> {
    let before = existing.resource.clone();
    let user_name = data.user_name.clone();
    let lifted = users::set_lifecycle(conn, existing.tenant_id, existing.id, source, None, now)
        .map_err(|e| map_unique(e, &user_name))?;
    let row = users::update(
        conn,
        actor.tenant_id,
        existing.id,
        lifted.version,
        &data,
        now,
    )
    .map_err(|e| map_unique(e, &user_name))?
    .ok_or_else(|| Error::internal("row changed under its lock"))?;
    let taken = TakeOver {
        user_name: &row.user_name,
        source,
        previous_source: existing.source,
        changed: changed_fields(&before, &row.resource),
    };
    let event = match how {
        Created::Adopted => Event::UserAdopted(taken),
        Created::Restored | Created::New => Event::UserRestored(taken),
    };
    events::insert(conn, &actor.record(row.id, event))?;
    Ok(row)
}

fn check_version(row: &UserRow, if_match: Option<i64>) -> Result<(), Error> {
    match if_match {
        Some(v) if v != row.version => Err(Error::PreconditionFailed(format!(
            "the resource is at version {}, not {v}",
            row.version
        ))),
        _ => Ok(()),
    }
}

/// Writes the new resource if it differs, with `user.updated` and, when `active` flipped,
/// `user.deactivated` / `user.reactivated`.
pub(crate) fn write_update(
    conn: &mut PgConnection,
    actor: &Actor,
    row: UserRow,
    resource: Value,
    now: DateTime<Utc>,
) -> Result<UserRow, Error> {
    if resource == row.resource {
        return Ok(row);
    }
    let data = data_of(resource)?;
    let user_name = data.user_name.clone();
    let updated = users::update(conn, actor.tenant_id, row.id, row.version, &data, now)
        .map_err(|e| map_unique(e, &user_name))?
        .ok_or_else(|| Error::internal("row changed under its lock"))?;
    let changed = changed_fields(&row.resource, &updated.resource);
    let event = Event::UserUpdated {
        changed,
        previous_source: None,
    };
    events::insert(conn, &actor.record(row.id, event))?;
    if row.active != updated.active {
        let event = Event::UserActive(updated.active);
        events::insert(conn, &actor.record(row.id, event))?;
    }
    Ok(updated)
}

/// PUT /Users/{id} (RFC 7644 §3.5.1).
pub fn replace(
    conn: &mut PgConnection,
    actor: &Actor,
    id: Uuid,
    if_match: Option<i64>,
    input: UserInput,
    now: DateTime<Utc>,
) -> Result<UserRow, Error> {
    conn.transaction(|conn| {
        pushing_tenant(conn, actor.tenant_id)?;
        let row = users::find_for_update(conn, actor.tenant_id, id)?
            .ok_or_else(|| not_found(&id.to_string()))?;
        check_version(&row, if_match)?;
        write_update(conn, actor, row, input.resource, now)
    })
}

/// PATCH /Users/{id} (RFC 7644 §3.5.2): all operations apply, or none.
pub fn patch(
    conn: &mut PgConnection,
    actor: &Actor,
    id: Uuid,
    if_match: Option<i64>,
    request: &PatchRequest,
    now: DateTime<Utc>,
) -> Result<UserRow, Error> {
    conn.transaction(|conn| {
        pushing_tenant(conn, actor.tenant_id)?;
        let row = users::find_for_update(conn, actor.tenant_id, id)?
            .ok_or_else(|| not_found(&id.to_string()))?;
        check_version(&row, if_match)?;
        let patched = patch::apply_user_patch(&row.resource, &id.to_string(), request)?;
        write_update(conn, actor, row, patched.resource, now)
    })
}

/// DELETE /Users/{id} (RFC 7644 §3.6), by the tenant's `on_source_delete` policy:
/// `retain` deprovisions (invisible to SCIM, userName free, history kept), `remove` erases.
pub fn delete(
    conn: &mut PgConnection,
    actor: &Actor,
    id: Uuid,
    if_match: Option<i64>,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    conn.transaction(|conn| {
        let tenant = pushing_tenant(conn, actor.tenant_id)?;
        let row = users::find_for_update(conn, actor.tenant_id, id)?
            .ok_or_else(|| not_found(&id.to_string()))?;
        check_version(&row, if_match)?;
        end(
            conn,
            actor,
            &row,
            tenant.on_source_delete == DeletePolicy::Remove,
            now,
        )
    })
}

/// Ends a person's life at their source: they leave every group, then are erased
/// (`remove`) or deprovisioned, with their events. The caller holds the row's lock.
pub(crate) fn end(
    conn: &mut PgConnection,
    actor: &Actor,
    row: &UserRow,
    remove: bool,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    let id = row.id;
    groups::lock_groups_of(conn, row.tenant_id, id)?;
    let left = groups::remove_from_all(conn, row.tenant_id, id)?;
    for group_id in left {
        groups::touch(conn, row.tenant_id, group_id, now)?;
        let event = Event::GroupMemberRemoved(&[id]);
        events::insert(conn, &actor.record(group_id, event))?;
    }
    if remove {
        users::delete(conn, row.tenant_id, id)?;
        let event = Event::UserRemoved {
            user_name: &row.user_name,
        };
        events::insert(conn, &actor.record(id, event))?;
    } else if row.deprovisioned_at.is_none() {
        users::set_lifecycle(conn, row.tenant_id, id, row.source, Some(now), now)?;
        let event = Event::UserDeprovisioned {
            user_name: &row.user_name,
        };
        events::insert(conn, &actor.record(id, event))?;
    }
    Ok(())
}
