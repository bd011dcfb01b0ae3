//! The tenants list (with counts and connection health), creating a tenant, a tenant's
//! activity feed and its settings.

use actix_web::web;
use maud::{html, Markup};
use serde::Deserialize;

use super::layout::{csrf, head, notice, page, tenant_page, when, Section};
use super::{html, html_status, refused, see_other, Operator, Posted, Reply};
use crate::domain::{DeletePolicy, RunStatus};
use crate::error::Error;
use crate::http::extract::OnTenant;
use crate::http::{cut_page, AppState};
use crate::provisioning::admin;
use crate::provisioning::console::{self as reads, TenantLine};
use crate::provisioning::events::EventKind;
use crate::provisioning::tenants::{self, BrakePatch, RatePatch, SettingsPatch, TenantSlug};
use crate::store::tenants::Tenant;

const PAGE: i64 = 25;

#[derive(Deserialize)]
pub struct ListQuery {
    q: Option<String>,
    after: Option<String>,
    notice: Option<String>,
}

/// A search text as the lists take it: trimmed, 200 characters at most, none when blank.
pub(super) fn search_text(q: Option<&str>) -> Result<Option<String>, Error> {
    let q = q.map(str::trim).filter(|q| !q.is_empty());
    if let Some(q) = q {
        crate::provisioning::storable::text(q, "search")?;
        if q.chars().count() > 200 {
            return Err(Error::InvalidValue(
                "search is longer than 200 characters".into(),
            ));
        }
    }
    Ok(q.map(str::to_owned))
}

fn health(line: &TenantLine) -> Markup {
    let Some(h) = &line.health else {
        return html! { span class="muted" { "—" } };
    };
    html! {
        @if h.connected {
            @match h.latest_run {
                Some(RunStatus::Held) => { span class="badge warn" { "held: approve" } " " }
                Some(RunStatus::Failed) => { span class="badge bad" { "last run failed" } " " }
                _ => {}
            }
            @if h.last_error.is_some() && h.latest_run != Some(RunStatus::Failed) {
                span class="badge bad" { "error" } " "
            }
            "last sync " (when(h.last_success_at))
        } @else if h.last_push_at.is_some() {
            "last push " (when(h.last_push_at))
        } @else {
            span class="muted" { "never" }
        }
    }
}

fn tenants_page(
    op: &Operator,
    lines: &[TenantLine],
    q: Option<&str>,
    next: Option<&str>,
    message: Option<&str>,
    failed: Option<&str>,
) -> Markup {
    page(
        "Tenants",
        Some(op),
        html! {
            h1 { "Tenants" }
            (notice(message))
            @if let Some(why) = failed { p class="error" role="alert" { (why) } }
            form method="get" action="/console" class="row" role="search" {
                div {
                    label for="tenant-q" { "Search tenants" }
                    input type="search" id="tenant-q" name="q" value=[q];
                }
                button type="submit" { "Search" }
            }
            div class="table-wrap" {
                table {
                    (head(&["Tenant", "Source", "Participating / total", "Connection"]))
                    tbody {
                        @for line in lines {
                            tr {
                                td {
                                    a href={ "/console/t/" (line.tenant.slug) } { (line.tenant.name) }
                                    br; span class="muted" { (line.tenant.slug) }
                                }
                                td { (line.tenant.source.display_name()) }
                                td {
                                    span data-participating { (line.counts.participating) }
                                    " / "
                                    span data-total { (line.counts.total) }
                                }
                                td { (health(line)) }
                            }
                        }
                        @if lines.is_empty() {
                            tr { td colspan="4" class="muted" { "No tenants." } }
                        }
                    }
                }
            }
            @if let Some(next) = next {
                p class="pager" {
                    a href=(query_url("/console", &[("after", Some(next)), ("q", q)])) { "Next page" }
                }
            }
            h2 { "Create a tenant" }
            form method="post" action="/console/tenants" {
                (csrf(op))
                div class="row" {
                    div {
                        label for="new-slug" { "Slug" }
                        input type="text" id="new-slug" name="slug" required
                            pattern="[a-z0-9]([a-z0-9\\-]{0,61}[a-z0-9])?" placeholder="acme";
                    }
                    div {
                        label for="new-name" { "Name" }
                        input type="text" id="new-name" name="name" placeholder="Acme Corp";
                    }
                    button class="primary" type="submit" { "Create tenant" }
                }
            }
        },
    )
}

/// Up to a page of tenants and the slug of the next page's first, if there is one.
async fn tenants_after(
    state: &AppState,
    q: Option<String>,
    after: Option<String>,
) -> Result<(Vec<TenantLine>, Option<String>), Error> {
    let mut lines = reads::tenants(&state.db, q, after, PAGE + 1).await?;
    let next = cut_page(&mut lines, PAGE, |l| l.tenant.slug.clone());
    Ok((lines, next))
}

pub async fn list(op: Operator, state: web::Data<AppState>, query: web::Query<ListQuery>) -> Reply {
    let query = query.into_inner();
    let q = search_text(query.q.as_deref())?;
    let (lines, next) = tenants_after(&state, q.clone(), query.after).await?;
    let message = query
        .notice
        .as_deref()
        .filter(|n| *n == "created")
        .map(|_| "Tenant created.");
    Ok(html(tenants_page(
        &op,
        &lines,
        q.as_deref(),
        next.as_deref(),
        message,
        None,
    )))
}

pub async fn create(posted: Posted, state: web::Data<AppState>) -> Reply {
    let Posted { op, fields } = posted;
    let made = async {
        let slug = TenantSlug::parse(fields.get("slug").unwrap_or_default())?;
        let name = fields.get("name").map(str::to_owned);
        admin::create_tenant(&state.db, slug, name).await
    }
    .await;
    match made {
        Ok(tenant) => Ok(see_other(&format!(
            "/console/t/{}?notice=created",
            tenant.slug
        ))),
        Err(e) if e.status().is_client_error() => {
            let (lines, next) = tenants_after(&state, None, None).await?;
            let body = tenants_page(
                &op,
                &lines,
                None,
                next.as_deref(),
                None,
                Some(&e.to_string()),
            );
            Ok(html_status(e.status(), body))
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct ActivityQuery {
    #[serde(rename = "type")]
    kind: Option<String>,
    before: Option<i64>,
}

const EVENTS_PAGE: i64 = 50;

/// The tenant's events, newest first, filterable by type.
pub async fn activity(
    OnTenant { who: op, slug }: OnTenant<Operator>,
    state: web::Data<AppState>,
    web::Query(query): web::Query<ActivityQuery>,
) -> Reply {
    let kind = match query.kind.as_deref().filter(|k| !k.is_empty()) {
        None => None,
        Some(k) => Some(
            EventKind::parse(k)
                .ok_or_else(|| Error::InvalidValue("no such event type".into()))?
                .as_str()
                .to_owned(),
        ),
    };
    let tenant = admin::tenant(&state.db, slug.clone()).await?;
    let mut rows = admin::recent_events(
        &state.db,
        slug.clone(),
        kind.clone(),
        query.before,
        EVENTS_PAGE + 1,
    )
    .await?;
    let next = cut_page(&mut rows, EVENTS_PAGE, |e| e.id).flatten();
    let body = html! {
        form method="get" class="row" {
            div {
                label for="event-type" { "Type" }
                select id="event-type" name="type" {
                    option value="" { "All types" }
                    @for k in EventKind::ALL {
                        option value=(k.as_str()) selected[kind.as_deref() == Some(k.as_str())] { (k.as_str()) }
                    }
                }
            }
            button type="submit" { "Filter" }
        }
        div class="table-wrap" {
            table {
                (head(&["#", "When", "Type", "Resource", "~Actor"]))
                tbody {
                    @for e in &rows {
                        tr {
                            td { (e.id.unwrap_or_default()) }
                            td { (when(Some(e.occurred_at))) }
                            td { code { (e.kind) } }
                            td {
                                @match (e.resource_type.as_str(), e.resource_id) {
                                    ("User", Some(id)) => a href={ "/console/t/" (slug) "/people/" (id) } { "User " (short(id)) },
                                    (kind, Some(id)) => { (kind) " " (short(id)) },
                                    (kind, None) => { (kind) },
                                }
                            }
                            td class="hide-narrow" { code { (e.actor) } }
                        }
                    }
                    @if rows.is_empty() { tr { td colspan="5" class="muted" { "No events." } } }
                }
            }
        }
        @if let Some(next) = next {
            p class="pager" {
                a href=(query_url(&format!("/console/t/{slug}/activity"), &[("before", Some(&next.to_string())), ("type", kind.as_deref())])) { "Older events" }
            }
        }
    };
    Ok(html(tenant_page(&op, &tenant, Section::Activity, body)))
}

/// `path` with the given query parameters, the absent ones left out, each encoded.
pub(super) fn query_url(path: &str, params: &[(&str, Option<&str>)]) -> String {
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        if let Some(v) = v {
            out.append_pair(k, v);
        }
    }
    let query = out.finish();
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{query}")
    }
}

/// The first block of a UUID, enough to tell rows apart on a page.
pub(super) fn short(id: uuid::Uuid) -> String {
    id.to_string().chars().take(8).collect()
}

/// A labelled whole-number input between `bounds`.
fn number_field(id: &str, name: &str, label: &str, bounds: (i64, i64), value: i32) -> Markup {
    html! {
        div {
            label for=(id) { (label) }
            input type="number" id=(id) name=(name) min=(bounds.0) max=(bounds.1) value=(value);
        }
    }
}

fn settings_form(
    op: &Operator,
    tenant: &Tenant,
    message: Option<&str>,
    failed: Option<&str>,
) -> Markup {
    let policy = |p: DeletePolicy| tenant.on_source_delete == p;
    tenant_page(
        op,
        tenant,
        Section::Settings,
        html! {
            (notice(message))
            @if let Some(why) = failed { p class="error" role="alert" { (why) } }
            form method="post" {
                (csrf(op))
                label for="s-name" { "Name" }
                input type="text" id="s-name" name="name" value=(tenant.name);
                label for="s-delete" { "When the source deletes a person" }
                select id="s-delete" name="on_source_delete" {
                    option value="retain" selected[policy(DeletePolicy::Retain)] { "Retain: deprovision, restorable" }
                    option value="remove" selected[policy(DeletePolicy::Remove)] { "Remove: erase the person" }
                }
                div class="row" {
                    (number_field("s-rate", "rate_per_second", "SCIM requests per second", (1, 100_000), tenant.rate_per_second))
                    (number_field("s-burst", "rate_burst", "Burst", (1, 1_000_000), tenant.rate_burst))
                }
                label for="s-interval" { "Sync interval (15m to 30d)" }
                input type="text" id="s-interval" name="sync_interval" value=(tenants::format_interval(tenant.sync_interval_secs));
                div class="row" {
                    (number_field("s-brake-pct", "brake_max_percent", "Deprovision brake: percent", (0, 100), tenant.brake_max_percent))
                    (number_field("s-brake-min", "brake_min_count", "Deprovision brake: at least", (0, 1_000_000), tenant.brake_min_count))
                }
                p class="muted" {
                    "A sync run that would deprovision more than the larger of these is held until approved."
                }
                label for="s-erase" { "Erase deprovisioned people after (1d to 100y; empty keeps them)" }
                input type="text" id="s-erase" name="erase_deprovisioned_after"
                    value=(tenants::format_erase_after(tenant.erase_deprovisioned_after_secs).unwrap_or_default());
                p { button class="primary" type="submit" { "Save settings" } }
            }
        },
    )
}

pub async fn settings(
    OnTenant { who: op, slug }: OnTenant<Operator>,
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> Reply {
    let tenant = admin::tenant(&state.db, slug).await?;
    let message = query
        .notice
        .as_deref()
        .filter(|n| *n == "saved")
        .map(|_| "Settings saved.");
    Ok(html(settings_form(&op, &tenant, message, None)))
}

fn number(fields: &super::Fields, name: &str, what: &str) -> Result<Option<i64>, Error> {
    fields
        .get(name)
        .map(|v| {
            v.parse::<i64>()
                .map_err(|_| Error::InvalidValue(format!("{what} must be a whole number")))
        })
        .transpose()
}

pub async fn save_settings(
    OnTenant { who: posted, slug }: OnTenant<Posted>,
    state: web::Data<AppState>,
) -> Reply {
    let Posted { op, fields } = posted;
    let saved = async {
        let patch = SettingsPatch {
            name: fields.get("name").map(str::to_owned),
            source: None,
            on_source_delete: fields.get("on_source_delete").map(str::to_owned),
            rate_limit: Some(RatePatch {
                per_second: number(&fields, "rate_per_second", "requests per second")?,
                burst: number(&fields, "rate_burst", "burst")?,
            }),
            sync_interval: fields.get("sync_interval").map(str::to_owned),
            deprovision_brake: Some(BrakePatch {
                max_percent: number(&fields, "brake_max_percent", "the brake's percent")?,
                min_count: number(&fields, "brake_min_count", "the brake's count")?,
            }),
            // Sent empty: keep deprovisioned people (the setting's `null`).
            erase_deprovisioned_after: fields
                .raw("erase_deprovisioned_after")
                .map(|_| fields.get("erase_deprovisioned_after").map(str::to_owned)),
        };
        admin::update_tenant(&state.db, slug.clone(), patch, state.clock.now()).await
    }
    .await;
    match saved {
        Ok(tenant) => {
            state.rate_limits.forget(tenant.id);
            Ok(see_other(&format!(
                "/console/t/{}/settings?notice=saved",
                tenant.slug
            )))
        }
        Err(e) => {
            refused(e, |why| async move {
                let tenant = admin::tenant(&state.db, slug).await?;
                Ok(settings_form(&op, &tenant, None, Some(&why)))
            })
            .await
        }
    }
}
