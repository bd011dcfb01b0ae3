//! `/Users` (RFC 7644 §3.3–§3.6, RFC 7643 §4.1): what is particular to users. The
//! handlers are in `resources.rs`.

use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use super::common::{user_json, user_location};
use super::resources::Resource;
use crate::error::Error;
use crate::provisioning::events::Actor;
use crate::provisioning::push;
use crate::provisioning::users::not_found;
use crate::scim::resource::{normalize_user, UserInput};
use crate::scim::schema::{ResourceTypeDef, USER_RESOURCE};
use crate::store::users::UserView;
use crate::store::{Db, Page, PageSpec};

/// `/Users`.
pub struct Users;

impl Resource for Users {
    type Push = push::Users;
    const DEF: &'static ResourceTypeDef = &USER_RESOURCE;
    const MORE: &'static str = "groups";

    fn not_found(id: &str) -> Error {
        not_found(id)
    }

    fn normalize(body: &Value) -> Result<UserInput, Error> {
        Ok(normalize_user(body)?)
    }

    fn position(row: &UserView) -> (DateTime<Utc>, Uuid) {
        (row.user.created_at, row.user.id)
    }

    fn location(base: &str, row: &UserView) -> String {
        user_location(base, row.user.id)
    }

    fn json(view: &UserView, base: &str) -> Value {
        user_json(&view.user, base, view.groups().as_deref())
    }

    async fn load(db: &Db, tenant_id: Uuid, id: Uuid, groups: bool) -> Result<UserView, Error> {
        db.user(tenant_id, id, groups)
            .await?
            .ok_or_else(|| not_found(&id.to_string()))
    }

    async fn page(
        db: &Db,
        tenant_id: Uuid,
        spec: PageSpec,
        base: String,
        groups: bool,
    ) -> Result<Page<UserView>, Error> {
        db.users_page(tenant_id, spec, base, groups).await
    }

    /// Nearly every create takes the one-statement path ([`push::create_user`]).
    async fn create(
        db: &Db,
        actor: &Actor,
        input: UserInput,
        now: DateTime<Utc>,
    ) -> Result<UserView, Error> {
        Ok(push::create_user(db, actor, input, now).await?.0)
    }
}
