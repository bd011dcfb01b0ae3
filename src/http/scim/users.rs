//! `/Users` (RFC 7644 §3.3–§3.6, RFC 7643 §4.1): what is particular to users. The
//! handlers are in `resources.rs`.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::PgConnection;
use serde_json::Value;
use uuid::Uuid;

use super::common::{user_json, user_location};
use super::params::Projection;
use super::resources::Resource;
use crate::error::Error;
use crate::provisioning::events::Actor;
use crate::provisioning::users::{self as prov, Created, SCIM};
use crate::scim::patch::PatchRequest;
use crate::scim::resource::{normalize_user, project, wants, UserInput};
use crate::scim::schema::USER_RESOURCE;
use crate::store::groups::groups_of_many;
use crate::store::search::{self, Kind, ListQuery};
use crate::store::tenants::Tenant;
use crate::store::users::{self, UserRow};

/// Each user's groups: (group id, displayName).
type GroupsByUser = HashMap<Uuid, Vec<(Uuid, String)>>;

/// The groups of each user, when the response will show them.
fn groups_for(
    conn: &mut PgConnection,
    rows: &[UserRow],
    projection: &Projection,
) -> Result<Option<GroupsByUser>, Error> {
    if !wants(
        &USER_RESOURCE,
        &projection.attributes,
        &projection.excluded,
        "groups",
    ) || rows.is_empty()
    {
        return Ok(None);
    }
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let mut by_user = GroupsByUser::new();
    for (member, group, name) in groups_of_many(conn, &ids)? {
        by_user.entry(member).or_default().push((group, name));
    }
    Ok(Some(by_user))
}

fn render(
    row: &UserRow,
    base: &str,
    groups: Option<&GroupsByUser>,
    projection: &Projection,
) -> Value {
    let mine = groups.map(|g| g.get(&row.id).map(Vec::as_slice).unwrap_or_default());
    project(
        user_json(row, base, mine),
        &USER_RESOURCE,
        &projection.attributes,
        &projection.excluded,
    )
}

/// `/Users`.
pub struct Users;

impl Resource for Users {
    type Row = UserRow;
    type Input = UserInput;
    const KIND: Kind = Kind::Users;

    fn not_found(id: &str) -> Error {
        prov::not_found(id)
    }

    fn normalize(body: &Value) -> Result<UserInput, Error> {
        Ok(normalize_user(body)?)
    }

    fn version(row: &UserRow) -> i64 {
        row.version
    }

    fn position(row: &UserRow) -> (DateTime<Utc>, Uuid) {
        (row.created_at, row.id)
    }

    fn location(base: &str, row: &UserRow) -> String {
        user_location(base, row.id)
    }

    fn load(
        conn: &mut PgConnection,
        tenant_id: Uuid,
        id: Uuid,
        base: &str,
        projection: &Projection,
    ) -> Result<(UserRow, Value), Error> {
        let row =
            users::find(conn, tenant_id, id)?.ok_or_else(|| prov::not_found(&id.to_string()))?;
        let groups = groups_for(conn, std::slice::from_ref(&row), projection)?;
        let body = render(&row, base, groups.as_ref(), projection);
        Ok((row, body))
    }

    fn fetch(
        conn: &mut PgConnection,
        tenant_id: Uuid,
        q: &ListQuery<'_>,
        base: &str,
    ) -> Result<Vec<UserRow>, Error> {
        Ok(search::list_users(conn, tenant_id, q, base)?.0)
    }

    fn render_page(
        conn: &mut PgConnection,
        rows: &[UserRow],
        base: &str,
        projection: &Projection,
    ) -> Result<Vec<Value>, Error> {
        let groups = groups_for(conn, rows, projection)?;
        Ok(rows
            .iter()
            .map(|r| render(r, base, groups.as_ref(), projection))
            .collect())
    }

    fn create(
        conn: &mut PgConnection,
        actor: &Actor,
        input: UserInput,
        now: DateTime<Utc>,
        base: &str,
    ) -> Result<(UserRow, Value), Error> {
        let (row, how) = prov::create(conn, actor, SCIM, input, now)?;
        if how == Created::New {
            // A new person belongs to no group yet: nothing more to read.
            let body = render(&row, base, None, &Projection::default());
            return Ok((row, body));
        }
        Self::load(conn, actor.tenant_id, row.id, base, &Projection::default())
    }

    fn replace(
        conn: &mut PgConnection,
        actor: &Actor,
        id: Uuid,
        if_match: Option<i64>,
        input: UserInput,
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        prov::replace(conn, actor, id, if_match, input, now).map(drop)
    }

    fn patch(
        conn: &mut PgConnection,
        actor: &Actor,
        id: Uuid,
        if_match: Option<i64>,
        request: &PatchRequest,
        now: DateTime<Utc>,
    ) -> Result<i64, Error> {
        Ok(prov::patch(conn, actor, id, if_match, request, now)?.version)
    }

    fn delete(
        conn: &mut PgConnection,
        actor: &Actor,
        tenant: &Tenant,
        id: Uuid,
        if_match: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        prov::delete(conn, actor, tenant, id, if_match, now)
    }
}
