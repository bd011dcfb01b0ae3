//! The operator's actions (the admin API, and the console after it): one async function
//! per operation, each running the rules of this layer in one call to the database. The
//! tenant is named by its slug and looked up in the same call.

use std::io::Read;

use chrono::{DateTime, Utc};
use diesel::PgConnection;
use uuid::Uuid;

use super::credentials::{self, Issued};
use super::events::Actor;
use super::import::{self, Outcome};
use super::manual::ManualPerson;
use super::people::{self, AdminGroup, Disconnected, StateChange};
use super::tenants::{self, SettingsPatch, TenantSlug};
use crate::error::Error;
use crate::store::credentials::{list_tokens, ScimToken};
use crate::store::events::{self, EventRow};
use crate::store::people::{self as people_store, Counts, ExcludedBy, Person, State};
use crate::store::retention;
use crate::store::tenants::Tenant;
use crate::store::Db;

/// Who acts, before the tenant is known: the actor of their events and the request.
#[derive(Debug, Clone)]
pub struct By {
    /// `admin:<key id>`, `import:<id>`.
    pub actor: String,
    pub request_id: Option<String>,
}

impl By {
    fn in_tenant(&self, tenant: &Tenant) -> Actor {
        Actor {
            tenant_id: tenant.id,
            actor: self.actor.clone(),
            request_id: self.request_id.clone(),
        }
    }
}

/// An operator's act on the tenant `slug`, by `by`, at `at` (the time the act is stamped
/// with, from the caller's clock).
#[derive(Debug, Clone)]
pub struct Act {
    pub slug: String,
    pub by: By,
    pub at: DateTime<Utc>,
}

/// Runs `f` with the tenant the act names (404 when none), the actor of its events and
/// its time, in one call to the database.
pub(super) async fn acting<T, F>(db: &Db, act: Act, f: F) -> Result<T, Error>
where
    T: Send + 'static,
    F: FnOnce(&mut PgConnection, &Tenant, &Actor, DateTime<Utc>) -> Result<T, Error>
        + Send
        + 'static,
{
    let Act { slug, by, at } = act;
    in_tenant(db, slug, move |conn, tenant| {
        f(conn, &tenant, &by.in_tenant(&tenant), at)
    })
    .await
}

/// Runs `f` with the tenant `slug` names (404 when none), in one call to the database.
pub(super) async fn in_tenant<T, F>(db: &Db, slug: String, f: F) -> Result<T, Error>
where
    T: Send + 'static,
    F: FnOnce(&mut PgConnection, Tenant) -> Result<T, Error> + Send + 'static,
{
    db.run(move |conn| {
        let tenant = tenants::get(conn, &slug)?;
        f(conn, tenant)
    })
    .await
}

pub async fn create_tenant(
    db: &Db,
    slug: TenantSlug,
    name: Option<String>,
) -> Result<Tenant, Error> {
    db.run(move |conn| tenants::create(conn, &slug, name.as_deref()))
        .await
}

/// Up to `limit` tenants after the slug `after`, in slug order.
pub async fn tenants(db: &Db, after: Option<String>, limit: i64) -> Result<Vec<Tenant>, Error> {
    db.run(move |conn| tenants::list(conn, after.as_deref(), limit))
        .await
}

pub async fn tenant(db: &Db, slug: String) -> Result<Tenant, Error> {
    in_tenant(db, slug, |_, tenant| Ok(tenant)).await
}

pub async fn update_tenant(
    db: &Db,
    slug: String,
    patch: SettingsPatch,
    now: DateTime<Utc>,
) -> Result<Tenant, Error> {
    db.run(move |conn| tenants::update_settings(conn, &slug, &patch, now))
        .await
}

/// Deletes the tenant and everything it owns; the tenant as it was.
pub async fn delete_tenant(db: &Db, slug: String) -> Result<Tenant, Error> {
    db.run(move |conn| tenants::delete(conn, &slug)).await
}

/// Disconnects the tenant's source, keeping its people as manual ones or not
/// ([`people::disconnect`]).
pub async fn disconnect(db: &Db, act: Act, keep_people: bool) -> Result<Disconnected, Error> {
    acting(db, act, move |conn, _, actor, now| {
        people::disconnect(conn, actor, keep_people, now)
    })
    .await
}

pub async fn issue_token(
    db: &Db,
    slug: String,
    label: Option<String>,
    expires_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<Issued, Error> {
    in_tenant(db, slug, move |conn, tenant| {
        credentials::issue_token(conn, tenant.id, label.as_deref(), expires_at, now)
    })
    .await
}

/// Up to `limit` of the tenant's tokens after `(created_at, key id)`.
pub async fn tokens(
    db: &Db,
    slug: String,
    after: Option<(DateTime<Utc>, String)>,
    limit: i64,
) -> Result<Vec<ScimToken>, Error> {
    in_tenant(db, slug, move |conn, tenant| {
        Ok(list_tokens(conn, tenant.id, after, limit)?)
    })
    .await
}

/// Revokes one of the tenant's tokens; the token.
pub async fn revoke_token(
    db: &Db,
    slug: String,
    key_id: String,
    now: DateTime<Utc>,
) -> Result<ScimToken, Error> {
    in_tenant(db, slug, move |conn, tenant| {
        credentials::revoke_token(conn, &key_id, Some(tenant.id), now)
    })
    .await
}

/// A page of people in `state`, matching `q`, after `(created_at, id)`; with the
/// excluded groups that hold them.
pub async fn people(
    db: &Db,
    slug: String,
    state: State,
    q: Option<String>,
    after: Option<people_store::After>,
    limit: i64,
) -> Result<(Vec<Person>, Vec<ExcludedBy>), Error> {
    in_tenant(db, slug, move |conn, tenant| {
        let rows = people_store::list(conn, tenant.id, state, q.as_deref(), after, limit)?;
        let ids: Vec<Uuid> = rows.iter().map(|r| r.user.id).collect();
        let excluded = people_store::excluded_groups_of(conn, tenant.id, &ids)?;
        Ok((rows, excluded))
    })
    .await
}

pub async fn counts(db: &Db, slug: String) -> Result<Counts, Error> {
    in_tenant(db, slug, |conn, tenant| {
        Ok(people_store::counts(conn, tenant.id)?)
    })
    .await
}

/// The person, deprovisioned or not, with the excluded groups that hold them.
pub async fn person(db: &Db, slug: String, id: Uuid) -> Result<(Person, Vec<ExcludedBy>), Error> {
    in_tenant(db, slug, move |conn, tenant| {
        people::person(conn, tenant.id, id)
    })
    .await
}

/// A person added by hand; the person as created.
pub async fn create_person(db: &Db, act: Act, person: ManualPerson) -> Result<Person, Error> {
    acting(db, act, move |conn, tenant, actor, _| {
        let row = people::create_manual(conn, actor, &person)?;
        Ok(people::person(conn, tenant.id, row.id)?.0)
    })
    .await
}

/// An admin deactivates (`deactivate`) or reactivates the people `ids`.
pub async fn set_admin_state(
    db: &Db,
    act: Act,
    ids: Vec<Uuid>,
    deactivate: bool,
) -> Result<StateChange, Error> {
    acting(db, act, move |conn, _, actor, _| {
        people::set_admin_state(conn, actor, &ids, deactivate)
    })
    .await
}

/// Deletes a person by the tenant's policy, or erases them when `erase`.
pub async fn delete_person(db: &Db, act: Act, id: Uuid, erase: bool) -> Result<(), Error> {
    acting(db, act, move |conn, tenant, actor, now| {
        people::delete(conn, actor, tenant, id, erase, now)
    })
    .await
}

/// Brings a deprovisioned person back; the person as they are after.
pub async fn restore_person(
    db: &Db,
    act: Act,
    id: Uuid,
) -> Result<(Person, Vec<ExcludedBy>), Error> {
    acting(db, act, move |conn, tenant, actor, now| {
        people::restore(conn, actor, id, now)?;
        people::person(conn, tenant.id, id)
    })
    .await
}

/// Gives feed positions to every committed, unsequenced event of the tenant
/// (`store::events::sequence`, in a transaction of its own), so that what is read next
/// follows commit order.
fn sequenced(conn: &mut PgConnection, tenant_id: Uuid) -> Result<(), Error> {
    events::sequence(conn, tenant_id)?;
    Ok(())
}

/// A person's events after insertion position `after_seq`, oldest first.
pub async fn history(
    db: &Db,
    slug: String,
    id: Uuid,
    after_seq: i64,
    limit: i64,
) -> Result<Vec<EventRow>, Error> {
    in_tenant(db, slug, move |conn, tenant| {
        people::person(conn, tenant.id, id)?;
        sequenced(conn, tenant.id)?;
        Ok(events::for_resource(conn, tenant.id, id, after_seq, limit)?)
    })
    .await
}

/// The tenant's event feed after position `after`, in position order. Each read first
/// sequences what has committed, so a poller passing the last position it saw never
/// misses an event whose transaction committed late (DESIGN.md, Events).
pub async fn feed(db: &Db, slug: String, after: i64, limit: i64) -> Result<Vec<EventRow>, Error> {
    in_tenant(db, slug, move |conn, tenant| {
        sequenced(conn, tenant.id)?;
        let page = events::feed(conn, tenant.id, after, limit)?;
        // The horizon only rises, and is read after the page: if it is at or below `after`
        // now, nothing after `after` had been pruned when the page was read.
        if let Some(pruned_through) = retention::horizon(conn, tenant.id)? {
            if after < pruned_through {
                let oldest_id = retention::oldest_event(conn, tenant.id)?;
                return Err(Error::EventsPruned {
                    detail: format!(
                        "events after {after} up to {pruned_through} were pruned (events are \
                         kept for SCIMD_EVENT_RETENTION); read on with after={pruned_through}"
                    ),
                    oldest_id,
                    resume_after: pruned_through,
                });
            }
        }
        Ok(page)
    })
    .await
}

/// The tenant's feed before position `before`, newest first, only of type `kind` when
/// given; sequenced first, as [`feed`] is.
pub async fn recent_events(
    db: &Db,
    slug: String,
    kind: Option<String>,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<EventRow>, Error> {
    in_tenant(db, slug, move |conn, tenant| {
        sequenced(conn, tenant.id)?;
        Ok(events::recent(
            conn,
            tenant.id,
            kind.as_deref(),
            before,
            limit,
        )?)
    })
    .await
}

/// An admin excludes ("sleeps", `exclude`) or includes a group.
pub async fn set_group_excluded(
    db: &Db,
    act: Act,
    id: Uuid,
    exclude: bool,
) -> Result<AdminGroup, Error> {
    acting(db, act, move |conn, _, actor, now| {
        people::set_group_excluded(conn, actor, id, exclude, now)
    })
    .await
}

/// A CSV import of `csv` into the tenant (rolled back when `dry_run`), attributed to a new
/// `import:<id>`. `failure_of` tells a read error of `csv` that is the client's (a body
/// too large, broken off) from one that is not.
pub async fn import_csv<R, F>(
    db: &Db,
    slug: String,
    request_id: Option<String>,
    csv: R,
    dry_run: bool,
    now: DateTime<Utc>,
    failure_of: F,
) -> Result<Outcome, Error>
where
    R: Read + Send + 'static,
    F: Fn(&std::io::Error) -> Option<Error> + Send + 'static,
{
    in_tenant(db, slug, move |conn, tenant| {
        import_into(
            conn,
            &tenant,
            request_id,
            csv,
            dry_run,
            now,
            failure_of,
            &|_| {},
        )
    })
    .await
}

/// The work of [`import_csv`], on a connection: for the console's import jobs too, which
/// follow its `progress` and record its end in the same transaction.
#[expect(clippy::too_many_arguments, reason = "import_csv's, and the progress")]
pub(super) fn import_into<R: Read>(
    conn: &mut PgConnection,
    tenant: &Tenant,
    request_id: Option<String>,
    csv: R,
    dry_run: bool,
    now: DateTime<Utc>,
    failure_of: impl Fn(&std::io::Error) -> Option<Error>,
    progress: &dyn Fn(u64),
) -> Result<Outcome, Error> {
    let by = By {
        actor: format!("import:{}", Uuid::now_v7()),
        request_id,
    };
    import::import(
        conn,
        &by.in_tenant(tenant),
        csv,
        dry_run,
        now,
        failure_of,
        progress,
    )
}
