//! `/Groups` (RFC 7644 §3.3–§3.6, RFC 7643 §4.2): what is particular to groups. The
//! handlers are in `resources.rs`. Members are read only when the response shows them:
//! `excludedAttributes=members` never reads the membership table, and a PATCH answers 204
//! without reading it unless the client asks for the group.

use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use super::common::{group_json, group_location};
use super::resources::Resource;
use crate::error::Error;
use crate::provisioning::groups::not_found;
use crate::provisioning::push;
use crate::scim::resource::{normalize_group, GroupInput};
use crate::scim::schema::{ResourceTypeDef, GROUP_RESOURCE};
use crate::store::db::GroupView;
use crate::store::{Db, Page, PageSpec};

/// `/Groups`.
pub struct Groups;

impl Resource for Groups {
    type Push = push::Groups;
    const DEF: &'static ResourceTypeDef = &GROUP_RESOURCE;
    const MORE: &'static str = "members";
    /// A group's answer would carry every member: megabytes for a large group, for each
    /// membership change Entra ID sends, which reads nothing of it. Microsoft's reference
    /// implementation answers a group PATCH with 204 too.
    const PATCH_ANSWERS_EMPTY: bool = true;

    fn not_found(id: &str) -> Error {
        not_found(id)
    }

    fn normalize(body: &Value) -> Result<GroupInput, Error> {
        Ok(normalize_group(body)?)
    }

    fn position(row: &GroupView) -> (DateTime<Utc>, Uuid) {
        (row.group.created_at, row.group.id)
    }

    fn location(base: &str, row: &GroupView) -> String {
        group_location(base, row.group.id)
    }

    fn json(view: &GroupView, base: &str) -> Value {
        group_json(&view.group, base, view.members.as_deref())
    }

    async fn load(db: &Db, tenant_id: Uuid, id: Uuid, members: bool) -> Result<GroupView, Error> {
        db.group(tenant_id, id, members)
            .await?
            .ok_or_else(|| not_found(&id.to_string()))
    }

    async fn page(
        db: &Db,
        tenant_id: Uuid,
        spec: PageSpec,
        base: String,
        members: bool,
    ) -> Result<Page<GroupView>, Error> {
        db.groups_page(tenant_id, spec, base, members).await
    }
}
