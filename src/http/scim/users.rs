//! `/Users` (RFC 7644 §3.3–§3.6, RFC 7643 §4.1): what is particular to users. The
//! handlers are in `resources.rs`.

use chrono::{DateTime, Utc};
use diesel::PgConnection;
use serde_json::Value;
use uuid::Uuid;

use super::common::{user_json, user_location};
use super::params::Projection;
use super::resources::{CreatedOr, Resource};
use crate::error::Error;
use crate::provisioning::events::Actor;
use crate::provisioning::users::{self as prov, Created, SCIM};
use crate::scim::patch::PatchRequest;
use crate::scim::resource::{normalize_user, project, wants, UserInput};
use crate::scim::schema::USER_RESOURCE;
use crate::store::fast::{AsyncConn, FastPath};
use crate::store::search::{self, Kind, ListQuery};
use crate::store::tenants::Tenant;
use crate::store::users::{self, UserData, UserView};

/// Whether the response shows `groups`, which are then read with the user.
fn wants_groups(projection: &Projection) -> bool {
    wants(
        &USER_RESOURCE,
        &projection.attributes,
        &projection.excluded,
        "groups",
    )
}

fn render(view: &UserView, base: &str, projection: &Projection) -> Value {
    let groups = view.groups();
    project(
        user_json(&view.user, base, groups.as_deref()),
        &USER_RESOURCE,
        &projection.attributes,
        &projection.excluded,
    )
}

/// A one-statement create's outcome: the user rendered, or the input handed back.
fn created_or_input(
    done: Result<UserView, UserData>,
    password: Option<String>,
    base: &str,
) -> CreatedOr<Users> {
    match done {
        Ok(view) => {
            let body = render(&view, base, &Projection::default());
            Ok((view, body))
        }
        Err(data) => Err(UserInput {
            resource: data.resource,
            password,
        }),
    }
}

/// `/Users`.
pub struct Users;

impl Resource for Users {
    type Row = UserView;
    type Input = UserInput;
    const KIND: Kind = Kind::Users;
    const FAST_PATH: bool = true;

    fn not_found(id: &str) -> Error {
        prov::not_found(id)
    }

    fn normalize(body: &Value) -> Result<UserInput, Error> {
        Ok(normalize_user(body)?)
    }

    fn version(row: &UserView) -> i64 {
        row.user.version
    }

    fn position(row: &UserView) -> (DateTime<Utc>, Uuid) {
        (row.user.created_at, row.user.id)
    }

    fn location(base: &str, row: &UserView) -> String {
        user_location(base, row.user.id)
    }

    fn load(
        conn: &mut PgConnection,
        tenant_id: Uuid,
        id: Uuid,
        base: &str,
        projection: &Projection,
    ) -> Result<(UserView, Value), Error> {
        let view = users::view(conn, tenant_id, id, wants_groups(projection))?
            .ok_or_else(|| prov::not_found(&id.to_string()))?;
        let body = render(&view, base, projection);
        Ok((view, body))
    }

    async fn load_async(
        conn: &mut AsyncConn,
        tenant_id: Uuid,
        id: Uuid,
        base: &str,
        projection: &Projection,
    ) -> Option<Result<(UserView, Value), Error>> {
        let view = users::view_async(conn, tenant_id, id, wants_groups(projection)).await;
        Some(match view {
            Ok(Some(view)) => {
                let body = render(&view, base, projection);
                Ok((view, body))
            }
            Ok(None) => Err(prov::not_found(&id.to_string())),
            Err(e) => Err(e.into()),
        })
    }

    async fn lookup_async(
        conn: &mut AsyncConn,
        tenant_id: Uuid,
        q: &ListQuery<'_>,
        base: &str,
        projection: &Projection,
    ) -> Option<Result<(Vec<UserView>, Vec<Value>), Error>> {
        let rows = search::lookup_users(conn, tenant_id, q, base, wants_groups(projection)).await;
        Some(rows.map_err(Error::from).map(|rows| {
            let rendered = rows.iter().map(|r| render(r, base, projection)).collect();
            (rows, rendered)
        }))
    }

    async fn create_new_fast(
        fast: &FastPath,
        actor: &Actor,
        input: UserInput,
        base: &str,
    ) -> Result<(CreatedOr<Self>, bool), Error> {
        let data = prov::data_of(input.resource)?;
        let (done, tried) = prov::create_new_fast(fast, actor, SCIM, data).await?;
        Ok((created_or_input(done, input.password, base), tried))
    }

    fn fetch(
        conn: &mut PgConnection,
        tenant_id: Uuid,
        q: &ListQuery<'_>,
        base: &str,
        projection: &Projection,
    ) -> Result<Vec<UserView>, Error> {
        Ok(search::list_users(conn, tenant_id, q, base, wants_groups(projection))?.0)
    }

    fn render_page(
        _conn: &mut PgConnection,
        rows: &[UserView],
        base: &str,
        projection: &Projection,
    ) -> Result<Vec<Value>, Error> {
        Ok(rows.iter().map(|r| render(r, base, projection)).collect())
    }

    fn create_new(
        conn: &mut PgConnection,
        actor: &Actor,
        input: UserInput,
        base: &str,
    ) -> Result<CreatedOr<Self>, Error> {
        let data = prov::data_of(input.resource)?;
        let done = prov::create_new(conn, actor, SCIM, data)?;
        Ok(created_or_input(done, input.password, base))
    }

    fn create(
        conn: &mut PgConnection,
        actor: &Actor,
        input: UserInput,
        now: DateTime<Utc>,
        base: &str,
    ) -> Result<(UserView, Value), Error> {
        let (row, how) = prov::create(conn, actor, SCIM, input, now)?;
        if how == Created::New {
            // A new person belongs to no group yet: nothing more to read.
            let view = UserView::without_groups(row);
            let body = render(&view, base, &Projection::default());
            return Ok((view, body));
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
