//! A tenant's people: tabs per state with their counts, search, cursor paging, multi-select
//! to deactivate or reactivate; a person's page with their SCIM data, groups, admin state
//! and history, and restore and delete.

use chrono::DateTime;
use maud::{html, Markup};
use serde::Deserialize;
use uuid::Uuid;

use super::layout::{csrf, head, notice, tenant_page, when, Section};
use super::tenants::{query_url, search_text};
use super::{html, kind, see_other, Item, NoticeQuery, Operator, Posted, Reply};
use crate::domain::AdminState;
use crate::error::Error;
use crate::http::extract::OnTenant;
use crate::http::{cut_page, AppState};
use crate::provisioning::admin;
use crate::store::people::{Counts, ExcludedBy, Person, State};
use actix_web::web;

/// People per page.
pub const PAGE: i64 = 50;

/// The tabs, in order: their query value, name, and count.
fn tabs(c: &Counts) -> [(&'static str, &'static str, i64); 7] {
    [
        ("participating", "Participating", c.participating),
        ("inactive", "Inactive", c.inactive),
        ("deactivated", "Deactivated", c.deactivated),
        ("excluded", "Excluded", c.excluded),
        ("deprovisioned", "Deprovisioned", c.deprovisioned),
        ("no_email", "No email", c.no_email),
        ("all", "All", c.total + c.deprovisioned),
    ]
}

#[derive(Deserialize)]
pub struct ListQuery {
    state: Option<String>,
    q: Option<String>,
    /// `<created_at micros>_<id>` of the last person of the previous page.
    after: Option<String>,
    notice: Option<String>,
}

/// A cursor: the last person's creation time and id. Not a secret, so plain.
fn cursor_of(p: &Person) -> String {
    format!("{}_{}", p.user.created_at.timestamp_micros(), p.user.id)
}

fn parse_cursor(c: &str) -> Result<(DateTime<chrono::Utc>, Uuid), Error> {
    c.split_once('_')
        .and_then(|(micros, id)| {
            let at = DateTime::from_timestamp_micros(micros.parse().ok()?)?;
            Some((at, Uuid::parse_str(id).ok()?))
        })
        .ok_or_else(|| Error::InvalidValue("that page link is not one this console made".into()))
}

fn email_of(p: &Person) -> Option<&str> {
    p.user.email.as_deref()
}

/// Why a person does not participate, in a few words.
fn standing(p: &Person, excluded: &[ExcludedBy]) -> Markup {
    let u = &p.user;
    let groups: Vec<&str> = excluded
        .iter()
        .filter(|g| g.member_id == u.id)
        .map(|g| g.display_name.as_str())
        .collect();
    html! {
        @if u.deprovisioned_at.is_some() {
            span class="badge bad" { "deprovisioned" }
        } @else if p.participates {
            span class="badge ok" { "participating" }
        } @else {
            @if !u.active { span class="badge warn" { "inactive at source" } " " }
            @if u.admin_state == AdminState::Deactivated { span class="badge bad" { "deactivated" } " " }
            @if u.email.is_none() { span class="badge warn" { "no email" } " " }
            @for g in groups { span class="badge warn" { "excluded by " (g) } " " }
        }
    }
}

fn notice_text(n: Option<&str>) -> Option<String> {
    let (what, count) = n?.split_once(':')?;
    let count: usize = count.parse().ok()?;
    let verb = match what {
        "deactivated" => "deactivated",
        "reactivated" => "reactivated",
        _ => return None,
    };
    Some(format!(
        "{count} {} {verb}.",
        if count == 1 { "person" } else { "people" }
    ))
}

pub async fn list(
    OnTenant { who: op, slug }: OnTenant<Operator>,
    state: web::Data<AppState>,
    web::Query(query): web::Query<ListQuery>,
) -> Reply {
    let tab = query.state.as_deref().unwrap_or("participating");
    let filter = State::parse(tab)
        .filter(|s| *s != State::Live)
        .ok_or_else(|| Error::InvalidValue("no such tab".into()))?;
    let q = search_text(query.q.as_deref())?;
    let after = query.after.as_deref().map(parse_cursor).transpose()?;
    // Three reads on three connections at once: the page takes as long as the counts,
    // the slowest of them, not the sum.
    let (tenant, counts, (mut rows, excluded)) = futures_util::future::try_join3(
        admin::tenant(&state.db, slug.clone()),
        admin::counts(&state.db, slug.clone()),
        admin::people(&state.db, slug.clone(), filter, q.clone(), after, PAGE + 1),
    )
    .await?;
    let next = cut_page(&mut rows, PAGE, cursor_of);
    let here = format!("/console/t/{slug}");
    let message = notice_text(query.notice.as_deref()).or_else(|| {
        (query.notice.as_deref() == Some("created")).then(|| "Tenant created.".to_owned())
    });
    let body = html! {
        (notice(message.as_deref()))
        nav class="tabs" aria-label="People by state" {
            @for (value, name, n) in tabs(&counts) {
                a href=(query_url(&here, &[("state", Some(value)), ("q", q.as_deref())]))
                  aria-current=[(value == tab).then_some("page")]
                  data-tab=(value) {
                    (name) " " span class="count" { (n) }
                }
            }
        }
        form method="get" action=(here) class="row" role="search" {
            input type="hidden" name="state" value=(tab);
            div {
                label for="people-q" { "Search people" }
                input type="search" id="people-q" name="q" value=[q.as_deref()]
                    placeholder="name, email, department";
            }
            button type="submit" { "Search" }
        }
        form method="post" action={ (here) "/people" } {
            (csrf(&op))
            input type="hidden" name="back" value=(query_url(&here, &[("state", Some(tab)), ("q", q.as_deref())]));
            div class="row" {
                button type="submit" name="action" value="deactivate" { "Deactivate selected" }
                button type="submit" name="action" value="reactivate" { "Reactivate selected" }
            }
            div class="table-wrap" {
                table {
                    thead { tr {
                        th scope="col" {
                            input type="checkbox" data-select-all aria-label="Select every person on this page";
                        }
                        th scope="col" { "Name" }
                        th scope="col" { "Email" }
                        th scope="col" class="hide-narrow" { "Department" }
                        th scope="col" { "Standing" }
                    } }
                    tbody {
                        @for p in &rows {
                            tr {
                                td {
                                    input type="checkbox" name="id" value=(p.user.id)
                                        aria-label={ "Select " (p.user.user_name) };
                                }
                                td {
                                    a href={ (here) "/people/" (p.user.id) } {
                                        (p.user.display_name.as_deref().unwrap_or(&p.user.user_name))
                                    }
                                }
                                td { (email_of(p).unwrap_or("—")) }
                                td class="hide-narrow" { (p.user.department.as_deref().unwrap_or("")) }
                                td { (standing(p, &excluded)) }
                            }
                        }
                        @if rows.is_empty() {
                            tr { td colspan="5" class="muted" { "Nobody here." } }
                        }
                    }
                }
            }
        }
        p class="pager" {
            @if after.is_some() {
                a href=(query_url(&here, &[("state", Some(tab)), ("q", q.as_deref())])) { "First page" }
            }
            @if let Some(next) = &next {
                a href=(query_url(&here, &[("state", Some(tab)), ("q", q.as_deref()), ("after", Some(next))])) rel="next" { "Next page" }
            }
        }
    };
    Ok(html(tenant_page(&op, &tenant, Section::People, body)))
}

/// Deactivates or reactivates the selected people, through the admin API's function.
pub async fn bulk(
    OnTenant { who: posted, slug }: OnTenant<Posted>,
    state: web::Data<AppState>,
) -> Reply {
    let Posted { op, fields } = posted;
    let deactivate = match fields.get("action") {
        Some("deactivate") => true,
        Some("reactivate") => false,
        _ => return Err(Error::InvalidValue("choose deactivate or reactivate".into()).into()),
    };
    let ids = fields
        .all("id")
        .map(|id| Uuid::parse_str(id).map_err(|_| Error::InvalidValue("not a person's id".into())))
        .collect::<Result<Vec<_>, _>>()?;
    if ids.is_empty() {
        return Err(Error::InvalidValue("select at least one person".into()).into());
    }
    let done = admin::set_admin_state(&state.db, op.act(&slug, &state), ids, deactivate).await?;
    let back = fields
        .get("back")
        .filter(|b| b.starts_with(&format!("/console/t/{slug}")))
        .map_or_else(|| format!("/console/t/{slug}"), str::to_owned);
    let sep = if back.contains('?') { '&' } else { '?' };
    let what = if deactivate {
        "deactivated"
    } else {
        "reactivated"
    };
    Ok(see_other(&format!(
        "{back}{sep}notice={what}:{}",
        done.changed
    )))
}

pub async fn one(
    on: Item<Operator, kind::Person>,
    state: web::Data<AppState>,
    query: web::Query<NoticeQuery>,
) -> Reply {
    let (op, slug, id) = on.split();
    let tenant = admin::tenant(&state.db, slug.clone()).await?;
    let (person, excluded) = admin::person(&state.db, slug.clone(), id).await?;
    let history = admin::history(&state.db, slug.clone(), id, 0, 200).await?;
    let groups = crate::provisioning::console::groups_of(&state.db, slug.clone(), id).await?;
    let u = &person.user;
    let message = match query.notice.as_deref() {
        Some("restored") => Some("Restored."),
        Some("deleted") => Some("Deleted by the tenant's policy."),
        _ => None,
    };
    let scim = serde_json::to_string_pretty(&u.resource).unwrap_or_default();
    let here = format!("/console/t/{slug}/people/{id}");
    let body = html! {
        (notice(message))
        h2 { (u.display_name.as_deref().unwrap_or(&u.user_name)) }
        dl class="facts" {
            dt { "userName" } dd { (u.user_name) }
            dt { "Email" } dd { (u.email.as_deref().unwrap_or("—")) }
            dt { "Department" } dd { (u.department.as_deref().unwrap_or("—")) }
            dt { "Source" } dd { (u.source.display_name()) }
            dt { "Active at source" } dd { (if u.active { "yes" } else { "no" }) }
            dt { "Admin state" } dd { (u.admin_state.as_str()) }
            dt { "Standing" } dd { (standing(&person, &excluded)) }
            dt { "Deprovisioned" } dd { (when(u.deprovisioned_at)) }
            dt { "Created" } dd { (when(Some(u.created_at))) }
            dt { "Updated" } dd { (when(Some(u.updated_at))) }
        }
        div class="row" {
            @if u.deprovisioned_at.is_some() {
                form method="post" action={ (here) "/restore" } {
                    (csrf(&op))
                    button type="submit" class="primary" { "Restore" }
                }
            } @else {
                form method="post" action={ "/console/t/" (slug) "/people" } {
                    (csrf(&op))
                    input type="hidden" name="id" value=(u.id);
                    input type="hidden" name="back" value=(here);
                    @if u.admin_state == AdminState::Deactivated {
                        button type="submit" name="action" value="reactivate" { "Reactivate" }
                    } @else {
                        button type="submit" name="action" value="deactivate" { "Deactivate" }
                    }
                }
                form method="post" action={ (here) "/delete" } {
                    (csrf(&op))
                    button type="submit" class="danger" {
                        "Delete (" (tenant.on_source_delete.as_str()) ")"
                    }
                }
            }
        }
        h2 { "Groups" }
        @if groups.is_empty() {
            p class="muted" { "In no group." }
        } @else {
            ul {
                @for g in &groups {
                    li {
                        a href={ "/console/t/" (slug) "/groups/" (g.id) } { (g.display_name) }
                        @if g.excluded_at.is_some() { " " span class="badge warn" { "excluded" } }
                    }
                }
            }
        }
        h2 { "History" }
        div class="table-wrap" {
            table {
                (head(&["When", "Event", "~By"]))
                tbody {
                    @for e in history.iter().rev() {
                        tr {
                            td { (when(Some(e.occurred_at))) }
                            td { code { (e.kind) } }
                            td class="hide-narrow" { code { (e.actor) } }
                        }
                    }
                }
            }
        }
        h2 { "SCIM data" }
        pre tabindex="0" aria-label="The SCIM resource" { (scim) }
    };
    Ok(html(tenant_page(&op, &tenant, Section::People, body)))
}

pub async fn restore(on: Item<Posted, kind::Person>, state: web::Data<AppState>) -> Reply {
    let (posted, slug, id) = on.split();
    admin::restore_person(&state.db, posted.op.act(&slug, &state), id).await?;
    Ok(see_other(&format!(
        "/console/t/{slug}/people/{id}?notice=restored"
    )))
}

pub async fn delete(on: Item<Posted, kind::Person>, state: web::Data<AppState>) -> Reply {
    let (posted, slug, id) = on.split();
    admin::delete_person(&state.db, posted.op.act(&slug, &state), id, false).await?;
    // Retained people can still be shown; removed ones are gone.
    match admin::person(&state.db, slug.clone(), id).await {
        Ok(_) => Ok(see_other(&format!(
            "/console/t/{slug}/people/{id}?notice=deleted"
        ))),
        Err(Error::NotFound(_)) => Ok(see_other(&format!("/console/t/{slug}?state=all"))),
        Err(e) => Err(e.into()),
    }
}
