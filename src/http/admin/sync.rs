//! `/admin/v1/tenants/{slug}/sync…`: start a pull sync (or a dry run), read a tenant's
//! runs and their plans, approve a run the deprovision brake held.

use actix_web::{get, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use super::doc::Conflict;
use super::{PageQuery, Reply, TenantList, TenantPath};
use crate::domain::{PlanAction, RunStatus, RunTrigger};
use crate::error::Error;
use crate::http::extract::{AdminCtx, ItemPath, OnItem, OnTenant};
use crate::http::AppState;
use crate::provisioning::sync as sync_writes;
use crate::store::sync::{PlanItem, RunRow};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(start_sync)
        .service(list_runs)
        .service(get_run)
        .service(run_plan)
        .service(approve_run);
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct SyncQuery {
    /// `true`: compute the plan and stop (status `planned`); nothing but the run record is
    /// written
    #[param(default = false)]
    dry_run: Option<bool>,
}

/// The run a sync request started, or the one already queued or running
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Started {
    run_id: Uuid,
    status: RunStatus,
}

/// Start a sync of the tenant's connection
///
/// Queues a run and answers at once; read it at `sync-runs/{run_id}`. If a run of the
/// tenant is already queued or running, the answer is that run and no second run starts.
#[utoipa::path(
    operation_id = "startSync",
    params(TenantPath, SyncQuery),
    responses(
        (status = 202, description = "Queued (or already queued or running)", body = Started),
        (status = 409, response = Conflict),
    )
)]
#[post("/tenants/{slug}/sync")]
async fn start_sync(
    on: OnTenant<AdminCtx>,
    state: web::Data<AppState>,
    query: web::Query<SyncQuery>,
) -> Reply {
    let dry_run = query.dry_run.unwrap_or(false);
    let now = state.clock.now();
    let run = sync_writes::queue(&state.db, on.slug, RunTrigger::Manual, dry_run, now).await?;
    state.sync_wake.notify_one();
    Ok(HttpResponse::Accepted().json(Started {
        run_id: run.id,
        status: run.status,
    }))
}

/// A run's plan, counted per action
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Counts {
    create: i64,
    update: i64,
    unchanged: i64,
    deactivate: i64,
    reactivate: i64,
    deprovision: i64,
    restore: i64,
    adopt: i64,
    skip: i64,
    group_create: i64,
    group_update: i64,
    group_delete: i64,
    member_add: i64,
    member_remove: i64,
}

impl Counts {
    fn of(v: &Value) -> Self {
        let n = |a: PlanAction| v.get(a.as_str()).and_then(Value::as_i64).unwrap_or(0);
        Self {
            create: n(PlanAction::Create),
            update: n(PlanAction::Update),
            unchanged: n(PlanAction::Unchanged),
            deactivate: n(PlanAction::Deactivate),
            reactivate: n(PlanAction::Reactivate),
            deprovision: n(PlanAction::Deprovision),
            restore: n(PlanAction::Restore),
            adopt: n(PlanAction::Adopt),
            skip: n(PlanAction::Skip),
            group_create: n(PlanAction::GroupCreate),
            group_update: n(PlanAction::GroupUpdate),
            group_delete: n(PlanAction::GroupDelete),
            member_add: n(PlanAction::MemberAdd),
            member_remove: n(PlanAction::MemberRemove),
        }
    }
}

/// Why a run failed or is held
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RunError {
    /// A stable code: `throttled`, `unreachable`, `permission_missing`, `consent_revoked`,
    /// `tenant_not_found`, `bad_secret`, `foreign_link`, `truncated`, `empty_listing`,
    /// `interrupted`, `conflict`, `brake`, …
    code: String,
    /// What happened, in plain words
    message: String,
}

/// A sync run
#[derive(Serialize, ToSchema)]
#[schema(as = SyncRun)]
#[serde(deny_unknown_fields)]
struct RunView {
    id: Uuid,
    trigger: RunTrigger,
    dry_run: bool,
    status: RunStatus,
    /// The run read the whole directory (the first run, a full resync after an expired
    /// delta link, a groups scope), so absence from it meant gone
    full: bool,
    #[schema(required = true)]
    started_at: Option<DateTime<Utc>>,
    #[schema(required = true)]
    finished_at: Option<DateTime<Utc>>,
    counts: Counts,
    #[schema(required = true)]
    error: Option<RunError>,
}

impl From<RunRow> for RunView {
    fn from(r: RunRow) -> Self {
        let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
        Self {
            id: r.id,
            trigger: r.trigger,
            dry_run: r.dry_run,
            status: r.status,
            full: r.full,
            started_at: r.started_at,
            finished_at: r.finished_at,
            counts: Counts::of(&r.counts),
            error: r.error.as_ref().map(|e| RunError {
                code: text(e, "code"),
                message: text(e, "message"),
            }),
        }
    }
}

list_page!(RunPage of RunView);

/// A tenant's sync runs, newest first
#[utoipa::path(
    operation_id = "listSyncRuns",
    params(TenantPath, PageQuery),
    responses((status = 200, description = "A page of runs", body = RunPage))
)]
#[get("/tenants/{slug}/sync-runs")]
async fn list_runs(list: TenantList, state: web::Data<AppState>) -> Reply {
    let after = list.page.time_id_cursor()?;
    let rows = sync_writes::runs(&state.db, list.slug, after, list.limit + 1).await?;
    let page = RunPage::of(
        rows,
        list.limit,
        |r| super::time_cursor(r.created_at, &r.id.to_string()),
        RunView::from,
    );
    Ok(HttpResponse::Ok().json(page))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
struct RunPath {
    /// The tenant's slug
    #[param(pattern = "^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")]
    slug: String,
    /// The run's id
    id: String,
}

impl ItemPath for RunPath {
    const KIND: &'static str = "sync run";

    fn into_parts(self) -> (String, String) {
        (self.slug, self.id)
    }
}

/// One sync run
#[utoipa::path(
    operation_id = "getSyncRun",
    params(RunPath),
    responses((status = 200, description = "The run", body = RunView))
)]
#[get("/tenants/{slug}/sync-runs/{id}")]
async fn get_run(on: OnItem<AdminCtx, RunPath>, state: web::Data<AppState>) -> Reply {
    let run = sync_writes::run(&state.db, on.slug, on.id).await?;
    Ok(HttpResponse::Ok().json(RunView::from(run)))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct PlanQuery {
    /// Only the items of this action
    #[param(value_type = Option<PlanAction>)]
    action: Option<String>,
    /// `next_cursor` from the previous page
    cursor: Option<String>,
    /// How many items a page holds at most (1 to 500; 50 by default)
    #[param(minimum = 1, maximum = 500, default = 50)]
    limit: Option<i64>,
}

/// One item of a run's plan
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PlanItemView {
    action: PlanAction,
    /// The person (or, for a group's own items, the group) it applies to; null for a create
    #[schema(required = true)]
    person_id: Option<Uuid>,
    /// The directory's id of the person (or group)
    #[schema(required = true)]
    source_ref: Option<String>,
    #[serde(rename = "userName")]
    #[schema(required = true)]
    user_name: Option<String>,
    #[schema(required = true)]
    email: Option<String>,
    #[serde(rename = "displayName")]
    #[schema(required = true)]
    display_name: Option<String>,
    /// Why: a skip's or a deprovision's reason, the group of a membership change
    #[schema(required = true)]
    reason: Option<String>,
    /// What changes: the new values of the attributes that change, or the group of a
    /// membership change
    #[schema(required = true, value_type = Option<Object>)]
    changes: Option<Value>,
}

impl From<PlanItem> for PlanItemView {
    fn from(p: PlanItem) -> Self {
        Self {
            action: p.action,
            person_id: p.person_id,
            source_ref: p.source_ref,
            user_name: p.user_name,
            email: p.email,
            display_name: p.display_name,
            reason: p.reason,
            changes: p.changes,
        }
    }
}

list_page!(PlanPage of PlanItemView);

/// A run's plan, item by item
#[utoipa::path(
    operation_id = "getSyncRunPlan",
    params(RunPath, PlanQuery),
    responses((status = 200, description = "A page of the plan", body = PlanPage))
)]
#[get("/tenants/{slug}/sync-runs/{id}/plan")]
async fn run_plan(
    on: OnItem<AdminCtx, RunPath>,
    state: web::Data<AppState>,
    query: web::Query<PlanQuery>,
) -> Reply {
    let q = query.into_inner();
    let page = PageQuery {
        cursor: q.cursor,
        limit: q.limit,
    };
    let limit = page.limit()?;
    let after = page.number()?;
    let action = q
        .action
        .map(|a| {
            PlanAction::parse(&a).ok_or_else(|| {
                Error::InvalidValue(format!("action must be {}", PlanAction::choices()))
            })
        })
        .transpose()?;
    let rows = sync_writes::plan(&state.db, on.slug, on.id, action, after, limit + 1).await?;
    let page = PlanPage::of(
        rows,
        limit,
        |p| super::number_cursor(p.ord),
        PlanItemView::from,
    );
    Ok(HttpResponse::Ok().json(page))
}

/// Apply a held run's plan
///
/// The run the deprovision brake held applies its own plan and goes on to `succeeded`.
/// 409 when the run is not held, or when another run was applied after its plan was made.
#[utoipa::path(
    operation_id = "approveSyncRun",
    params(RunPath),
    responses(
        (status = 200, description = "Applied", body = RunView),
        (status = 409, response = Conflict),
    )
)]
#[post("/tenants/{slug}/sync-runs/{id}/approve")]
async fn approve_run(on: OnItem<AdminCtx, RunPath>, state: web::Data<AppState>) -> Reply {
    let now = state.clock.now();
    let run = sync_writes::approve(&state.db, on.slug, on.id, now).await?;
    Ok(HttpResponse::Ok().json(RunView::from(run)))
}
