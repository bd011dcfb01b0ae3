//! `/admin/v1/tenants/{slug}/people…` and `/groups/{id}/exclude|include`: the people list
//! the training platform runs on, and the admin's overrides.

use actix_web::http::header;
use actix_web::{delete, get, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::openapi::schema::{
    AdditionalProperties, AnyOfBuilder, ObjectBuilder, Schema, SchemaType, Type,
};
use utoipa::openapi::RefOr;
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use super::doc::Conflict;
use super::{act, number_cursor, parse_json, time_cursor, PageQuery, Reply, TenantPath};
use crate::domain::{AdminState, Source};
use crate::error::Error;
use crate::http::body::AdminBody;
use crate::http::extract::{AdminCtx, ItemPath, OnItem, OnTenant};
use crate::http::AppState;
use crate::provisioning::admin;
use crate::provisioning::events::EventKind;
use crate::provisioning::manual::{ManualPerson, RawPerson};
use crate::provisioning::people::{self as writes, AdminGroup};
use crate::store::events::EventRow;
use crate::store::people::{self, ExcludedBy, Person, State};

// The static routes (`counts`, `deactivate`, …) before `{id}`, which would match them too.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_people)
        .service(create_person)
        .service(count_people)
        .service(deactivate_people)
        .service(reactivate_people)
        .service(super::import::import_people)
        .service(get_person)
        .service(delete_person)
        .service(restore_person)
        .service(person_history)
        .service(exclude_group)
        .service(include_group);
}

/// A SCIM email (RFC 7643 §4.1.2), as the identity source gave it
#[derive(ToSchema)]
#[expect(
    dead_code,
    reason = "documents the SCIM values a person view passes on"
)]
struct Email {
    #[schema(example = "ada@acme.example")]
    value: Option<String>,
    #[serde(rename = "type")]
    #[schema(example = "work")]
    kind: Option<String>,
    primary: Option<bool>,
    display: Option<String>,
}

/// A SCIM name (RFC 7643 §4.1.1), as the identity source gave it
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
#[expect(
    dead_code,
    reason = "documents the SCIM values a person view passes on"
)]
struct Name {
    #[schema(example = "Ada")]
    given_name: Option<String>,
    #[schema(example = "Lovelace")]
    family_name: Option<String>,
    formatted: Option<String>,
    middle_name: Option<String>,
    honorific_prefix: Option<String>,
    honorific_suffix: Option<String>,
}

/// An excluded group a person is in
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ExcludingGroup {
    id: Uuid,
    #[serde(rename = "displayName")]
    display_name: String,
}

/// A person of the tenant, as the training platform sees them
#[derive(Serialize, ToSchema)]
#[schema(as = Person)]
#[serde(deny_unknown_fields)]
struct PersonView {
    id: Uuid,
    #[serde(rename = "userName")]
    #[schema(example = "ada@acme.example")]
    user_name: String,
    /// SCIM email objects
    #[schema(value_type = Vec<Email>)]
    emails: Value,
    /// The SCIM name
    #[schema(value_type = Option<Name>, required = true)]
    name: Value,
    #[serde(rename = "displayName")]
    #[schema(required = true)]
    display_name: Option<String>,
    #[schema(required = true)]
    department: Option<String>,
    source: Source,
    /// Whether the identity source has the person active
    active: bool,
    /// Set by an operator with deactivate and reactivate
    admin_state: AdminState,
    /// The excluded groups the person is in
    excluded_by_groups: Vec<ExcludingGroup>,
    #[schema(required = true)]
    deprovisioned_at: Option<DateTime<Utc>>,
    /// Not deprovisioned, active, admin_state active, has a deliverable email and in no
    /// excluded group
    participating: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

fn person_view(person: &Person, excluded_by: &[&ExcludedBy]) -> PersonView {
    let row = &person.user;
    let r = &row.resource;
    PersonView {
        id: row.id,
        user_name: row.user_name.clone(),
        emails: r.get("emails").cloned().unwrap_or_else(|| json!([])),
        name: r.get("name").cloned().unwrap_or(Value::Null),
        display_name: row.display_name.clone(),
        department: row.department.clone(),
        source: row.source,
        active: row.active,
        admin_state: row.admin_state,
        excluded_by_groups: excluded_by
            .iter()
            .map(|g| ExcludingGroup {
                id: g.group_id,
                display_name: g.display_name.clone(),
            })
            .collect(),
        deprovisioned_at: row.deprovisioned_at,
        participating: person.participates,
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}

fn one_person(person: &Person, excluded: &[ExcludedBy]) -> PersonView {
    let id = person.user.id;
    let mine: Vec<&ExcludedBy> = excluded.iter().filter(|g| g.member_id == id).collect();
    person_view(person, &mine)
}

list_page!(PersonPage of PersonView);

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
struct PersonPath {
    /// The tenant's slug
    #[param(pattern = "^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")]
    slug: String,
    /// The person's id; an unknown id, one that is not a UUID or one of another tenant
    /// answers 404
    #[param(format = Uuid)]
    id: String,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
struct GroupPath {
    /// The tenant's slug
    #[param(pattern = "^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")]
    slug: String,
    /// The group's id; an unknown id, one that is not a UUID or one of another tenant
    /// answers 404
    #[param(format = Uuid)]
    id: String,
}

impl ItemPath for PersonPath {
    const KIND: &'static str = "person";

    fn into_parts(self) -> (String, String) {
        (self.slug, self.id)
    }
}

impl ItemPath for GroupPath {
    const KIND: &'static str = "group";

    fn into_parts(self) -> (String, String) {
        (self.slug, self.id)
    }
}

/// Which people to list. The page (`cursor`, `limit`) is a [`PageQuery`] read from the same
/// query string: not `#[serde(flatten)]` into this, as a flattened query string gives every
/// value as a string, and `limit` would no longer parse as a number.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// Only people in this state. Without it, every live (not deprovisioned) person; `all`
    /// includes deprovisioned people too. The states overlap: a person can be both
    /// `inactive` and `excluded`.
    #[param(value_type = Option<StateFilter>, inline)]
    state: Option<String>,
    /// Case-insensitive substring of the email, userName, name, displayName or department
    #[param(example = "lovelace", max_length = 200)]
    q: Option<String>,
}

/// The values of the list's `state` parameter: the store's filters by name.
struct StateFilter;

impl utoipa::PartialSchema for StateFilter {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(State::filter_names()))
            .into()
    }
}

impl ToSchema for StateFilter {}

/// List the tenant's people
#[utoipa::path(
    operation_id = "listPeople",
    params(TenantPath, ListQuery, PageQuery),
    responses(
        (status = 200, description = "A page of people", body = PersonPage),
    )
)]
#[get("/tenants/{slug}/people")]
async fn list_people(
    on: OnTenant<AdminCtx>,
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
    page: web::Query<PageQuery>,
) -> Reply {
    let query = query.into_inner();
    let limit = page.limit()?;
    let after = page.time_id_cursor()?;
    let filter = match query.state.as_deref() {
        None | Some("") => State::Live,
        Some(s) => State::parse(s)
            .filter(|s| *s != State::Live)
            .ok_or_else(|| {
                Error::InvalidValue(format!(
                    "state `{}` is not one of {}",
                    s.chars().take(40).collect::<String>(),
                    State::filter_names().collect::<Vec<_>>().join(", ")
                ))
            })?,
    };
    let q = query
        .q
        .map(|q| q.trim().to_owned())
        .filter(|q| !q.is_empty());
    if let Some(q) = &q {
        crate::provisioning::storable::text(q, "q")?;
        if q.chars().count() > 200 {
            return Err(Error::InvalidValue("q is longer than 200 characters".into()).into());
        }
    }
    let (rows, excluded) = admin::people(&state.db, on.slug, filter, q, after, limit + 1).await?;
    let page = PersonPage::of(
        rows,
        limit,
        |r| time_cursor(r.user.created_at, &r.user.id.to_string()),
        |r| one_person(&r, &excluded),
    );
    Ok(HttpResponse::Ok().json(page))
}

/// How many people are in each state. `total` counts live people; the others count the
/// people in each state and overlap like the list's `state` filter; deprovisioned people are
/// not part of `total`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PeopleCounts {
    #[schema(minimum = 0)]
    total: i64,
    #[schema(minimum = 0)]
    participating: i64,
    #[schema(minimum = 0)]
    inactive: i64,
    #[schema(minimum = 0)]
    deactivated: i64,
    #[schema(minimum = 0)]
    excluded: i64,
    #[schema(minimum = 0)]
    deprovisioned: i64,
    #[schema(minimum = 0)]
    no_email: i64,
}

impl From<people::Counts> for PeopleCounts {
    fn from(c: people::Counts) -> Self {
        let people::Counts {
            total,
            participating,
            inactive,
            deactivated,
            excluded,
            deprovisioned,
            no_email,
        } = c;
        Self {
            total,
            participating,
            inactive,
            deactivated,
            excluded,
            deprovisioned,
            no_email,
        }
    }
}

/// How many people are in each state
#[utoipa::path(
    operation_id = "countPeople",
    params(TenantPath),
    responses(
        (
            status = 200,
            description = "The counts",
            body = PeopleCounts,
            example = json!({
                "total": 420, "participating": 391, "inactive": 12, "deactivated": 9,
                "excluded": 14, "deprovisioned": 37, "no_email": 3
            })
        ),
    )
)]
#[get("/tenants/{slug}/people/counts")]
async fn count_people(on: OnTenant<AdminCtx>, state: web::Data<AppState>) -> Reply {
    let counts = admin::counts(&state.db, on.slug).await?;
    Ok(HttpResponse::Ok().json(PeopleCounts::from(counts)))
}

/// One person, deprovisioned or not
#[utoipa::path(
    operation_id = "getPerson",
    params(PersonPath),
    responses(
        (status = 200, description = "The person", body = PersonView),
    )
)]
#[get("/tenants/{slug}/people/{id}")]
async fn get_person(on: OnItem<AdminCtx, PersonPath>, state: web::Data<AppState>) -> Reply {
    let (row, excluded) = admin::person(&state.db, on.slug, on.id).await?;
    Ok(HttpResponse::Ok().json(one_person(&row, &excluded)))
}

/// A person added by hand
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PersonCreate {
    /// Also the person's userName
    // An `Option`, so that `ManualPerson::check` refuses a missing email in its own words.
    #[schema(value_type = String, required = true, format = Email, example = "ada@acme.example")]
    email: Option<String>,
    given_name: Option<String>,
    family_name: Option<String>,
    display_name: Option<String>,
    department: Option<String>,
}

impl From<PersonCreate> for RawPerson {
    fn from(p: PersonCreate) -> Self {
        Self {
            email: p.email,
            given_name: p.given_name,
            family_name: p.family_name,
            display_name: p.display_name,
            department: p.department,
        }
    }
}

/// Add a person by hand
///
/// The person's source is `manual`. A live person with that email or userName answers 409.
#[utoipa::path(
    operation_id = "createPerson",
    params(TenantPath),
    request_body(
        content = PersonCreate,
        example = json!({
            "email": "ada@acme.example", "given_name": "Ada", "family_name": "Lovelace",
            "display_name": "Ada Lovelace", "department": "Engineering"
        })
    ),
    responses(
        (
            status = 201,
            description = "Created",
            body = PersonView,
            headers(("Location" = String, description = "The new person's URL, relative to the request's: `people/<id>`"))
        ),
        (status = 409, response = Conflict),
    )
)]
#[post("/tenants/{slug}/people")]
async fn create_person(
    on: OnTenant<AdminCtx>,
    state: web::Data<AppState>,
    AdminBody(body): AdminBody,
) -> Reply {
    let raw: RawPerson = parse_json::<PersonCreate>(&body)?.into();
    let person = ManualPerson::check(&raw).map_err(Error::InvalidValue)?;
    let row = admin::create_person(&state.db, act(on.slug, &on.who, &state), person).await?;
    let location = format!("people/{}", row.user.id);
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, location))
        .json(person_view(&row, &[])))
}

// The example is the schema's, so that the two operations taking it (deactivate and
// reactivate) show the same one; likewise `BulkStateResult`'s.
/// The people a bulk state change is for
#[derive(Deserialize, ToSchema)]
#[schema(
    as = IdList,
    example = json!({"ids": ["7d4c2e9a-1b3f-4a6e-8c5d-9e0f1a2b3c4d", "5a1e3f7b-2c4d-4e6f-8a9b-0c1d2e3f4a5b"]})
)]
#[serde(deny_unknown_fields)]
struct Ids {
    #[schema(min_items = 1, max_items = 1000)]
    ids: Vec<Uuid>,
}

/// What a bulk state change did
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"changed": 1, "unchanged": 1}))]
#[serde(deny_unknown_fields)]
struct BulkStateResult {
    changed: usize,
    /// Already in the requested state
    unchanged: usize,
}

impl From<writes::StateChange> for BulkStateResult {
    fn from(c: writes::StateChange) -> Self {
        let writes::StateChange { changed, unchanged } = c;
        Self { changed, unchanged }
    }
}

async fn set_state(
    on: OnTenant<AdminCtx>,
    state: web::Data<AppState>,
    body: &[u8],
    deactivate: bool,
) -> Reply {
    let req: Ids = parse_json(body)?;
    let act = act(on.slug, &on.who, &state);
    let done = admin::set_admin_state(&state.db, act, req.ids, deactivate).await?;
    Ok(HttpResponse::Ok().json(BulkStateResult::from(done)))
}

/// Deactivate people
///
/// Sets admin_state to `deactivated` on every listed person. If any id is unknown the
/// answer is 404 naming it and nothing changes.
#[utoipa::path(
    operation_id = "deactivatePeople",
    params(TenantPath),
    request_body = Ids,
    responses((status = 200, description = "Done", body = BulkStateResult))
)]
#[post("/tenants/{slug}/people/deactivate")]
async fn deactivate_people(
    on: OnTenant<AdminCtx>,
    state: web::Data<AppState>,
    AdminBody(body): AdminBody,
) -> Reply {
    set_state(on, state, &body, true).await
}

/// Reactivate people
///
/// Sets admin_state to `active` on every listed person. If any id is unknown the answer is
/// 404 naming it and nothing changes.
#[utoipa::path(
    operation_id = "reactivatePeople",
    params(TenantPath),
    request_body = Ids,
    responses((status = 200, description = "Done", body = BulkStateResult))
)]
#[post("/tenants/{slug}/people/reactivate")]
async fn reactivate_people(
    on: OnTenant<AdminCtx>,
    state: web::Data<AppState>,
    AdminBody(body): AdminBody,
) -> Reply {
    set_state(on, state, &body, false).await
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct DeleteQuery {
    /// Erase the person's row whatever the tenant's on_source_delete policy (only the
    /// events remain). Without it a live person is deprovisioned (retain) or erased
    /// (remove), and deleting a deprovisioned person is a no-op.
    #[serde(default)]
    #[param(default = false)]
    erase: bool,
}

/// Delete a person by the tenant's on_source_delete policy
///
/// `retain`: the person is deprovisioned and can be restored. `remove`: the person is
/// erased.
#[utoipa::path(
    operation_id = "deletePerson",
    params(PersonPath, DeleteQuery),
    responses(
        (status = 204, description = "Deleted"),
    )
)]
#[delete("/tenants/{slug}/people/{id}")]
async fn delete_person(
    on: OnItem<AdminCtx, PersonPath>,
    state: web::Data<AppState>,
    query: web::Query<DeleteQuery>,
) -> Reply {
    let act = act(on.slug, &on.who, &state);
    admin::delete_person(&state.db, act, on.id, query.erase).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Bring a deprovisioned person back
///
/// A live person with the person's userName answers 409.
#[utoipa::path(
    operation_id = "restorePerson",
    params(PersonPath),
    responses(
        (status = 200, description = "The restored person", body = PersonView),
        (status = 409, response = Conflict),
    )
)]
#[post("/tenants/{slug}/people/{id}/restore")]
async fn restore_person(on: OnItem<AdminCtx, PersonPath>, state: web::Data<AppState>) -> Reply {
    let act = act(on.slug, &on.who, &state);
    let (row, excluded) = admin::restore_person(&state.db, act, on.id).await?;
    Ok(HttpResponse::Ok().json(one_person(&row, &excluded)))
}

/// An event's `type`: the kinds of `provisioning::events::EventKind`.
/// `user.deactivated` and `user.reactivated`: the identity source changed `active`;
/// `user.excluded` and `user.included`: an operator deactivated or reactivated the person
struct EventType;

impl utoipa::PartialSchema for EventType {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(EventKind::ALL.iter().map(|k| k.as_str())))
            .into()
    }
}

impl ToSchema for EventType {}

/// An event's `data`: one shape per kind (`EventKind::data_fields`), each written the same
/// by every path that records the kind.
struct EventData;

impl utoipa::PartialSchema for EventData {
    fn schema() -> RefOr<Schema> {
        // Kinds with the same members share one shape; `anyOf`, as a `data` with those
        // members fits each of them.
        let mut shapes: Vec<(&[&str], Vec<&str>)> = Vec::new();
        for kind in EventKind::ALL {
            match shapes.iter_mut().find(|(f, _)| *f == kind.data_fields()) {
                Some((_, kinds)) => kinds.push(kind.as_str()),
                None => shapes.push((kind.data_fields(), vec![kind.as_str()])),
            }
        }
        let mut any = AnyOfBuilder::new();
        for (fields, kinds) in shapes {
            let mut object = ObjectBuilder::new()
                .schema_type(Type::Object)
                .title(Some(kinds.join(", ")))
                .additional_properties(Some(AdditionalProperties::FreeForm(false)));
            for field in fields {
                object = object
                    .property(
                        *field,
                        ObjectBuilder::new().schema_type(SchemaType::AnyValue),
                    )
                    .required(*field);
            }
            any = any.item(object);
        }
        any.description(Some(
            "What the event says, by its type (see the info description for each member)",
        ))
        .into()
    }
}

impl ToSchema for EventData {}

/// An event as the admin API shows it (the feed and a person's history)
#[derive(Serialize, ToSchema)]
#[schema(as = Event)]
#[serde(deny_unknown_fields)]
pub(super) struct EventView {
    /// The event's position in the tenant's feed
    #[schema(required = true, value_type = i64)]
    id: Option<i64>,
    #[serde(rename = "type")]
    #[schema(value_type = EventType)]
    kind: String,
    #[schema(example = "User")]
    resource_type: String,
    #[schema(required = true)]
    resource_id: Option<Uuid>,
    #[schema(example = "admin:k7f3q2")]
    actor: String,
    #[schema(required = true)]
    request_id: Option<String>,
    occurred_at: DateTime<Utc>,
    /// What the event says; its members depend on the type
    #[schema(value_type = EventData)]
    data: Value,
}

pub(super) fn event_view(e: &EventRow) -> EventView {
    EventView {
        id: e.id,
        kind: e.kind.clone(),
        resource_type: e.resource_type.clone(),
        resource_id: e.resource_id,
        actor: e.actor.clone(),
        request_id: e.request_id.clone(),
        occurred_at: e.occurred_at,
        data: e.data.clone(),
    }
}

list_page!(EventHistoryPage of EventView);

/// The events about one person
#[utoipa::path(
    operation_id = "personHistory",
    params(PersonPath, PageQuery),
    responses(
        (status = 200, description = "A page of events", body = EventHistoryPage),
    )
)]
#[get("/tenants/{slug}/people/{id}/history")]
async fn person_history(
    on: OnItem<AdminCtx, PersonPath>,
    state: web::Data<AppState>,
    query: web::Query<PageQuery>,
) -> Reply {
    let limit = query.limit()?;
    let after = query.number()?;
    let rows = admin::history(&state.db, on.slug, on.id, after, limit + 1).await?;
    let page = EventHistoryPage::of(rows, limit, |e| number_cursor(e.seq), |e| event_view(&e));
    Ok(HttpResponse::Ok().json(page))
}

/// A group and whether its members are excluded
#[derive(Serialize, ToSchema)]
#[schema(as = AdminGroup)]
#[serde(deny_unknown_fields)]
struct GroupView {
    id: Uuid,
    #[serde(rename = "displayName")]
    #[schema(example = "Contractors")]
    display_name: String,
    excluded: bool,
    #[schema(required = true)]
    excluded_at: Option<DateTime<Utc>>,
    #[schema(minimum = 0)]
    members: i64,
}

fn group_view(g: &AdminGroup) -> GroupView {
    GroupView {
        id: g.row.id,
        display_name: g.row.display_name.clone(),
        excluded: g.row.excluded_at.is_some(),
        excluded_at: g.row.excluded_at,
        members: g.members,
    }
}

async fn set_group(
    on: OnItem<AdminCtx, GroupPath>,
    state: web::Data<AppState>,
    exclude: bool,
) -> Reply {
    let act = act(on.slug, &on.who, &state);
    let group = admin::set_group_excluded(&state.db, act, on.id, exclude).await?;
    Ok(HttpResponse::Ok().json(group_view(&group)))
}

/// Exclude a group's members from participating
#[utoipa::path(
    operation_id = "excludeGroup",
    params(GroupPath),
    responses(
        (status = 200, description = "The group", body = GroupView),
    )
)]
#[post("/tenants/{slug}/groups/{id}/exclude")]
async fn exclude_group(on: OnItem<AdminCtx, GroupPath>, state: web::Data<AppState>) -> Reply {
    set_group(on, state, true).await
}

/// Stop excluding a group's members
#[utoipa::path(
    operation_id = "includeGroup",
    params(GroupPath),
    responses(
        (status = 200, description = "The group", body = GroupView),
    )
)]
#[post("/tenants/{slug}/groups/{id}/include")]
async fn include_group(on: OnItem<AdminCtx, GroupPath>, state: web::Data<AppState>) -> Reply {
    set_group(on, state, false).await
}
