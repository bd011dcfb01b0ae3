//! `/Groups` (RFC 7644 §3.3–§3.6, RFC 7643 §4.2): what is particular to groups. The
//! handlers are in `resources.rs`. Members are loaded only when the response shows them:
//! `excludedAttributes=members` never reads the membership table.

use chrono::{DateTime, Utc};
use diesel::PgConnection;
use serde_json::Value;
use uuid::Uuid;

use super::common::{group_json, group_location};
use super::params::Projection;
use super::resources::Resource;
use crate::error::Error;
use crate::provisioning::events::Actor;
use crate::provisioning::groups::{self as prov, not_found};
use crate::provisioning::users::SCIM;
use crate::scim::patch::PatchRequest;
use crate::scim::resource::{normalize_group, project, wants, GroupInput};
use crate::scim::schema::GROUP_RESOURCE;
use crate::store::groups::{self, members_of, GroupRow};
use crate::store::search::{self, Kind, ListQuery};
use crate::store::tenants::Tenant;

fn render(
    conn: &mut PgConnection,
    row: &GroupRow,
    base: &str,
    projection: &Projection,
) -> Result<Value, Error> {
    let members = if wants(
        &GROUP_RESOURCE,
        &projection.attributes,
        &projection.excluded,
        "members",
    ) {
        Some(members_of(conn, row.id)?)
    } else {
        None
    };
    Ok(project(
        group_json(row, base, members.as_deref()),
        &GROUP_RESOURCE,
        &projection.attributes,
        &projection.excluded,
    ))
}

/// `/Groups`.
pub struct Groups;

impl Resource for Groups {
    type Row = GroupRow;
    type Input = GroupInput;
    const KIND: Kind = Kind::Groups;

    fn not_found(id: &str) -> Error {
        not_found(id)
    }

    fn normalize(body: &Value) -> Result<GroupInput, Error> {
        Ok(normalize_group(body)?)
    }

    fn version(row: &GroupRow) -> i64 {
        row.version
    }

    fn position(row: &GroupRow) -> (DateTime<Utc>, Uuid) {
        (row.created_at, row.id)
    }

    fn location(base: &str, row: &GroupRow) -> String {
        group_location(base, row.id)
    }

    fn load(
        conn: &mut PgConnection,
        tenant_id: Uuid,
        id: Uuid,
        base: &str,
        projection: &Projection,
    ) -> Result<(GroupRow, Value), Error> {
        let row = groups::find(conn, tenant_id, id)?.ok_or_else(|| not_found(&id.to_string()))?;
        let body = render(conn, &row, base, projection)?;
        Ok((row, body))
    }

    fn fetch(
        conn: &mut PgConnection,
        tenant_id: Uuid,
        q: &ListQuery<'_>,
        base: &str,
        _projection: &Projection,
    ) -> Result<Vec<GroupRow>, Error> {
        Ok(search::list_groups(conn, tenant_id, q, base)?.0)
    }

    fn render_page(
        conn: &mut PgConnection,
        rows: &[GroupRow],
        base: &str,
        projection: &Projection,
    ) -> Result<Vec<Value>, Error> {
        rows.iter()
            .map(|r| render(conn, r, base, projection))
            .collect()
    }

    fn create(
        conn: &mut PgConnection,
        actor: &Actor,
        input: GroupInput,
        _now: DateTime<Utc>,
        base: &str,
    ) -> Result<(GroupRow, Value), Error> {
        let row = prov::create(conn, actor, SCIM, input)?;
        Self::load(conn, actor.tenant_id, row.id, base, &Projection::default())
    }

    fn replace(
        conn: &mut PgConnection,
        actor: &Actor,
        id: Uuid,
        if_match: Option<i64>,
        input: GroupInput,
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
        _tenant: &Tenant,
        id: Uuid,
        if_match: Option<i64>,
        _now: DateTime<Utc>,
    ) -> Result<(), Error> {
        prov::delete(conn, actor, id, if_match)
    }
}
