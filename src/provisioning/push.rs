//! SCIM push: the writes an identity provider sends to `/scim/v2`, one async function per
//! operation for the HTTP layer (single requests and Bulk alike).
//!
//! A tenant that pulls its people from a directory (source `graph` or `google`) refuses
//! them with 409. That rule is [`pushing_tenant`], which each write runs first inside its
//! own transaction (the one-statement create, and the statement that locks a group for
//! its writes, test the same list of sources in their SQL), so a write can never slip past
//! a switch of the tenant's source that committed before it.

use chrono::{DateTime, Utc};
use diesel::PgConnection;
use uuid::Uuid;

use super::events::Actor;
use super::groups;
use super::tenants;
use super::users::{self, map_unique, Created};
use crate::domain::Source;
use crate::error::Error;
use crate::scim::patch::PatchRequest;
use crate::scim::resource::{GroupInput, UserInput};
use crate::store::db::{group_view, GroupView};
use crate::store::tenants::Tenant;
use crate::store::users::{self as user_store, UserView};
use crate::store::Db;

/// The tenant, when it takes SCIM writes: 409 while it pulls its people. Runs inside the
/// write's transaction.
pub(crate) fn pushing_tenant(conn: &mut PgConnection, tenant_id: Uuid) -> Result<Tenant, Error> {
    let tenant = tenants::by_id(conn, tenant_id)?;
    if tenant.source.is_pull() {
        return Err(Error::Conflict(format!(
            "tenant `{}` takes its people from {} (pull mode), so SCIM writes are refused; \
             switch the tenant's source to `{}` to provision over SCIM",
            tenant.slug,
            tenant.source.display_name(),
            Source::Scim,
        )));
    }
    Ok(tenant)
}

/// POST /Users. A create that needs no decision (nearly every one an IdP sends) is one
/// statement that writes the user and its event ([`Db::insert_user_if_new`]); anything
/// else (a possible returning or adopted person, a clash, a pulling tenant) takes the
/// full path, [`users::create_from`].
pub async fn create_user(
    db: &Db,
    actor: &Actor,
    input: UserInput,
    now: DateTime<Utc>,
) -> Result<(UserView, Created), Error> {
    // `password` is accepted and dropped: people sign in at their IdP, never here.
    let data = users::data_of(input.resource)?;
    let (new, event) = users::new_user(actor, Source::Scim, data);
    let (outcome, new) = db.insert_user_if_new(new, event, &Source::PULL).await?;
    let data = match outcome.map_err(|e| map_unique(e, &new.data.user_name))? {
        Some(view) => return Ok((view, Created::New)),
        None => new.data,
    };
    let actor = actor.clone();
    db.run(move |conn| {
        let (row, how) = users::create_from(conn, &actor, Source::Scim, data, now)?;
        if how == Created::New {
            // A new person belongs to no group yet: nothing more to read.
            return Ok((UserView::without_groups(row), how));
        }
        Ok((Users::read(conn, actor.tenant_id, row.id, true)?, how))
    })
    .await
}

/// The resource a write is aimed at, by whom, and when.
#[derive(Debug, Clone)]
pub struct At {
    pub actor: Actor,
    pub id: Uuid,
    /// The version the client read (`If-Match`), if it sent one.
    pub if_match: Option<i64>,
    pub now: DateTime<Utc>,
}

/// A resource type SCIM pushes: its writes, each in one transaction that runs
/// [`pushing_tenant`] first, and how it is read back after one.
pub trait Pushed: 'static {
    type Input: Send + 'static;
    /// The resource as SCIM shows it.
    type View: Send + 'static;

    /// POST on the full path, by `at.actor` at `at.now` (`at.id` is not read); the new
    /// resource's id and version.
    fn create(conn: &mut PgConnection, at: &At, input: Self::Input) -> Result<(Uuid, i64), Error>;
    /// PUT; the new version.
    fn replace(conn: &mut PgConnection, at: &At, input: Self::Input) -> Result<i64, Error>;
    /// PATCH (RFC 7644 §3.5.2): all operations apply, or none; the new version.
    fn patch(conn: &mut PgConnection, at: &At, request: &PatchRequest) -> Result<i64, Error>;
    fn delete(conn: &mut PgConnection, at: &At) -> Result<(), Error>;
    /// The resource, with a user's groups or a group's members when `more`.
    fn read(
        conn: &mut PgConnection,
        tenant_id: Uuid,
        id: Uuid,
        more: bool,
    ) -> Result<Self::View, Error>;
    fn version(view: &Self::View) -> i64;
    /// PATCHes to one resource are committed together when they arrive at once
    /// ([`Db::run_together`]).
    const TOGETHER: bool = false;
}

/// `/Users`.
pub struct Users;

impl Pushed for Users {
    type Input = UserInput;
    type View = UserView;

    fn create(conn: &mut PgConnection, at: &At, input: UserInput) -> Result<(Uuid, i64), Error> {
        let (row, _) = users::create(conn, &at.actor, Source::Scim, input, at.now)?;
        Ok((row.id, row.version))
    }

    fn replace(conn: &mut PgConnection, at: &At, input: UserInput) -> Result<i64, Error> {
        Ok(users::replace(conn, &at.actor, at.id, at.if_match, input, at.now)?.version)
    }

    fn patch(conn: &mut PgConnection, at: &At, request: &PatchRequest) -> Result<i64, Error> {
        Ok(users::patch(conn, &at.actor, at.id, at.if_match, request, at.now)?.version)
    }

    fn delete(conn: &mut PgConnection, at: &At) -> Result<(), Error> {
        users::delete(conn, &at.actor, at.id, at.if_match, at.now)
    }

    fn read(
        conn: &mut PgConnection,
        tenant_id: Uuid,
        id: Uuid,
        groups: bool,
    ) -> Result<UserView, Error> {
        user_store::view(conn, tenant_id, id, groups)?
            .ok_or_else(|| users::not_found(&id.to_string()))
    }

    fn version(view: &UserView) -> i64 {
        view.user.version
    }
}

/// `/Groups`.
pub struct Groups;

impl Pushed for Groups {
    type Input = GroupInput;
    type View = GroupView;
    /// Entra sends one PATCH per membership change, many at once to one group: each holds
    /// the group's lock to its commit, so they are committed together.
    const TOGETHER: bool = true;

    fn create(conn: &mut PgConnection, at: &At, input: GroupInput) -> Result<(Uuid, i64), Error> {
        let row = groups::create(conn, &at.actor, Source::Scim, input)?;
        Ok((row.id, row.version))
    }

    fn replace(conn: &mut PgConnection, at: &At, input: GroupInput) -> Result<i64, Error> {
        Ok(groups::replace(conn, &at.actor, at.id, at.if_match, input, at.now)?.version)
    }

    fn patch(conn: &mut PgConnection, at: &At, request: &PatchRequest) -> Result<i64, Error> {
        Ok(groups::patch(conn, &at.actor, at.id, at.if_match, request, at.now)?.version)
    }

    fn delete(conn: &mut PgConnection, at: &At) -> Result<(), Error> {
        groups::delete(conn, &at.actor, at.id, at.if_match)
    }

    fn read(
        conn: &mut PgConnection,
        tenant_id: Uuid,
        id: Uuid,
        members: bool,
    ) -> Result<GroupView, Error> {
        group_view(conn, tenant_id, id, members)?.ok_or_else(|| groups::not_found(&id.to_string()))
    }

    fn version(view: &GroupView) -> i64 {
        view.group.version
    }
}

/// POST on the full path; the resource as created, with everything.
pub async fn create<P: Pushed>(
    db: &Db,
    actor: &Actor,
    input: P::Input,
    now: DateTime<Utc>,
) -> Result<P::View, Error> {
    let at = At {
        actor: actor.clone(),
        id: Uuid::nil(),
        if_match: None,
        now,
    };
    db.run(move |conn| {
        let (id, _) = P::create(conn, &at, input)?;
        P::read(conn, at.actor.tenant_id, id, true)
    })
    .await
}

/// PUT; the resource as it is after, with what `more` says.
pub async fn replace<P: Pushed>(
    db: &Db,
    at: At,
    input: P::Input,
    more: bool,
) -> Result<P::View, Error> {
    db.run(move |conn| {
        P::replace(conn, &at, input)?;
        P::read(conn, at.actor.tenant_id, at.id, more)
    })
    .await
}

/// PATCH; the new version, and the resource as it is after when `read_back` says with
/// what (`None`: nothing is read back).
pub async fn patch<P: Pushed>(
    db: &Db,
    at: At,
    request: PatchRequest,
    read_back: Option<bool>,
) -> Result<(i64, Option<P::View>), Error> {
    let key = (at.actor.tenant_id, at.id);
    let write = move |conn: &mut PgConnection| {
        let version = P::patch(conn, &at, &request)?;
        match read_back {
            None => Ok((version, None)),
            Some(more) => {
                let view = P::read(conn, at.actor.tenant_id, at.id, more)?;
                Ok((P::version(&view), Some(view)))
            }
        }
    };
    if P::TOGETHER {
        db.run_together(key, write).await
    } else {
        db.run(write).await
    }
}

/// DELETE.
pub async fn delete<P: Pushed>(db: &Db, at: At) -> Result<(), Error> {
    db.run(move |conn| P::delete(conn, &at)).await
}

/// One write of a Bulk request (RFC 7644 §3.7), parsed; creates carry no id.
#[derive(Debug)]
pub enum Write<I> {
    Create(I),
    Replace(I),
    Patch(PatchRequest),
    Delete,
}

/// A Bulk operation's write, in its own transaction like the single request's; the
/// resource's id and new version, or `None` after a delete.
pub async fn bulk<P: Pushed>(
    db: &Db,
    at: At,
    write: Write<P::Input>,
) -> Result<Option<(Uuid, i64)>, Error> {
    db.run(move |conn| match write {
        Write::Create(input) => P::create(conn, &at, input).map(Some),
        Write::Replace(input) => P::replace(conn, &at, input).map(|v| Some((at.id, v))),
        Write::Patch(request) => P::patch(conn, &at, &request).map(|v| Some((at.id, v))),
        Write::Delete => P::delete(conn, &at).map(|()| None),
    })
    .await
}
