//! The SCIM User write path: create (with restore and adoption), replace, patch, delete,
//! each in one transaction with its events (DESIGN.md, Lifecycle and Events).

use chrono::{DateTime, Utc};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::{Connection, PgConnection, QueryResult};
use serde_json::{json, Value};
use uuid::Uuid;

use super::events::{changed_fields, Actor};
use super::storable;
use super::tenants::PULL_SOURCES;
use crate::error::Error;
use crate::scim::patch::{self, PatchRequest};
use crate::scim::resource::{user_columns, UserInput};
use crate::store::events::{self, NewEvent};
use crate::store::fast::{FastCreate, FastPath};
use crate::store::groups;
use crate::store::tenants::Tenant;
use crate::store::users::{self, NewUser, UserData, UserRow, UserView};

/// Where a write comes from; people are managed by one source at a time.
pub const SCIM: &str = "scim";

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

fn map_unique(e: DieselError, user_name: &str) -> Error {
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

/// SCIM writes are refused while the tenant pulls people from a directory.
pub fn check_push_allowed(tenant: &Tenant) -> Result<(), Error> {
    match tenant.source.as_str() {
        s if PULL_SOURCES.contains(&s) => Err(Error::Conflict(format!(
            "tenant `{}` takes its people from {} (pull mode), so SCIM writes are refused; \
             switch the tenant's source to `scim` to provision over SCIM",
            tenant.slug,
            if tenant.source == "graph" {
                "Microsoft Graph"
            } else {
                "Google Directory"
            }
        ))),
        _ => Ok(()),
    }
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

/// POST /Users (RFC 7644 §3.3). A userName clash with a live person this source manages is
/// 409 uniqueness; a deprovisioned person with the same userName or externalId is restored;
/// a live person of another source with the same userName or email is adopted.
pub fn create(
    conn: &mut PgConnection,
    actor: &Actor,
    source: &str,
    input: UserInput,
    now: DateTime<Utc>,
) -> Result<(UserRow, Created), Error> {
    create_from(conn, actor, source, data_of(input.resource)?, now)
}

/// A brand-new user and its `user.created` event in one statement, when nothing needs
/// deciding: the tenant takes SCIM writes, and no user, live or deprovisioned, could be
/// the same person. `Ok(Err(data))` hands `data` back, with nothing written, for
/// [`create_from`] to decide (adoption, restoration, conflict, the tenant's mode). This
/// is the path of nearly every create an IdP sends, at one round trip instead of six.
pub fn create_new(
    conn: &mut PgConnection,
    actor: &Actor,
    source: &str,
    data: UserData,
) -> Result<Result<UserView, UserData>, Error> {
    let (new, event) = new_with_event(actor, source, data);
    let done = users::insert_if_new(conn, &new, &PULL_SOURCES, &event);
    created_or_handed_back(done, new)
}

/// [`create_new`] on the fast path ([`FastPath::create_user`]), which may write it
/// together with other creates; `false` beside the data handed back when it had no
/// connection and tried nothing.
pub async fn create_new_fast(
    fast: &FastPath,
    actor: &Actor,
    source: &'static str,
    data: UserData,
) -> Result<(Result<UserView, UserData>, bool), Error> {
    let (new, event) = new_with_event(actor, source, data);
    match fast.create_user(new, event, &PULL_SOURCES).await {
        FastCreate::Done(done, new) => Ok((created_or_handed_back(done, new)?, true)),
        FastCreate::NoConnection(new, _) => Ok((Err(new.data), false)),
        FastCreate::Lost(e) => Err(e.into()),
    }
}

fn new_with_event<'a>(actor: &Actor, source: &'a str, data: UserData) -> (NewUser<'a>, NewEvent) {
    let id = Uuid::now_v7();
    let event = actor.event("user.created", "User", id, created_event(&data));
    let new = NewUser {
        id,
        tenant_id: actor.tenant_id,
        source,
        source_ref: None,
        data,
    };
    (new, event)
}

fn created_or_handed_back(
    done: QueryResult<Option<UserView>>,
    new: NewUser<'_>,
) -> Result<Result<UserView, UserData>, Error> {
    match done.map_err(|e| map_unique(e, &new.data.user_name))? {
        Some(view) => Ok(Ok(view)),
        None => Ok(Err(new.data)),
    }
}

/// The data of a `user.created` event.
fn created_event(data: &UserData) -> Value {
    json!({"userName": data.user_name, "externalId": data.external_id, "active": data.active})
}

/// [`create`] from the row's columns.
pub fn create_from(
    conn: &mut PgConnection,
    actor: &Actor,
    source: &str,
    data: UserData,
    now: DateTime<Utc>,
) -> Result<(UserRow, Created), Error> {
    conn.transaction(|conn| {
        let emails: Vec<String> = data.email.iter().cloned().collect();
        let candidates = users::find_candidates(
            conn,
            actor.tenant_id,
            &data.user_name,
            data.external_id.as_deref(),
            &emails,
        )?;
        let same_name = |u: &&UserRow| u.user_name.to_lowercase() == data.user_name.to_lowercase();
        // A live person with this userName.
        if let Some(live) = candidates
            .iter()
            .filter(|u| u.deprovisioned_at.is_none())
            .find(same_name)
        {
            if live.source == source {
                return Err(uniqueness(&data.user_name));
            }
            let row = take_over(conn, actor, live, data, source, now, "user.adopted")?;
            return Ok((row, Created::Adopted));
        }
        // A live person of another source with this email.
        if let Some(other) = candidates
            .iter()
            .filter(|u| u.deprovisioned_at.is_none() && u.source != source)
            .find(|u| u.email.is_some() && u.email == data.email)
        {
            let row = take_over(conn, actor, other, data, source, now, "user.adopted")?;
            return Ok((row, Created::Adopted));
        }
        // The same person, deprovisioned earlier: restore them.
        if let Some(gone) = candidates
            .iter()
            .filter(|u| u.deprovisioned_at.is_some())
            .find(|u| {
                same_name(u) || (data.external_id.is_some() && u.external_id == data.external_id)
            })
        {
            let row = take_over(conn, actor, gone, data, source, now, "user.restored")?;
            return Ok((row, Created::Restored));
        }
        let id = Uuid::now_v7();
        let user_name = data.user_name.clone();
        let event = created_event(&data);
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
        events::insert(conn, &actor.event("user.created", "User", id, event))?;
        Ok((row, Created::New))
    })
}

/// Writes `data` over an existing row and makes it live under `source`.
fn take_over(
    conn: &mut PgConnection,
    actor: &Actor,
    existing: &UserRow,
    data: UserData,
    source: &str,
    now: DateTime<Utc>,
    kind: &str,
) -> Result<UserRow, Error> {
    let before = existing.resource.clone();
    let user_name = data.user_name.clone();
    let lifted = users::set_lifecycle(conn, existing.id, source, None, now)
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
    events::insert(
        conn,
        &actor.event(
            kind,
            "User",
            row.id,
            json!({
                "previous_source": existing.source,
                "source": source,
                "changed": changed_fields(&before, &row.resource),
            }),
        ),
    )?;
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
fn write_update(
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
    events::insert(
        conn,
        &actor.event("user.updated", "User", row.id, json!({"changed": changed})),
    )?;
    if row.active != updated.active {
        let kind = if updated.active {
            "user.reactivated"
        } else {
            "user.deactivated"
        };
        events::insert(
            conn,
            &actor.event(kind, "User", row.id, json!({"active": updated.active})),
        )?;
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
    tenant: &Tenant,
    id: Uuid,
    if_match: Option<i64>,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    conn.transaction(|conn| {
        let row = users::find_for_update(conn, actor.tenant_id, id)?
            .ok_or_else(|| not_found(&id.to_string()))?;
        check_version(&row, if_match)?;
        end(conn, actor, &row, tenant.on_source_delete == "remove", now)
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
    groups::lock_groups_of(conn, id)?;
    let left = groups::remove_from_all(conn, id)?;
    for group_id in left {
        groups::touch(conn, group_id, now)?;
        events::insert(
            conn,
            &actor.event(
                "group.member_removed",
                "Group",
                group_id,
                json!({"members": [id]}),
            ),
        )?;
    }
    if remove {
        users::delete(conn, id)?;
        events::insert(
            conn,
            &actor.event(
                "user.removed",
                "User",
                id,
                json!({"userName": row.user_name}),
            ),
        )?;
    } else if row.deprovisioned_at.is_none() {
        users::set_lifecycle(conn, id, &row.source, Some(now), now)?;
        events::insert(
            conn,
            &actor.event(
                "user.deprovisioned",
                "User",
                id,
                json!({"userName": row.user_name}),
            ),
        )?;
    }
    Ok(())
}
