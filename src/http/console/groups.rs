//! A tenant's groups with their member counts, and excluding ("sleeping") or including a
//! group after a confirmation that says how many people it affects.

use actix_web::web;
use maud::html;
use serde::Deserialize;
use uuid::Uuid;

use super::layout::{csrf, head, notice, tenant_page, when, Section};
use super::tenants::{query_url, search_text};
use super::{html, kind, see_other, Item, Operator, Posted, Reply};
use crate::error::Error;
use crate::http::extract::OnTenant;
use crate::http::{cut_page, AppState};
use crate::provisioning::{admin, console as reads};

const PAGE: i64 = 50;

#[derive(Deserialize)]
pub struct ListQuery {
    q: Option<String>,
    /// `<id>` of the last group of the previous page; its name is read back.
    after: Option<String>,
    after_name: Option<String>,
    notice: Option<String>,
}

pub async fn list(
    OnTenant { who: op, slug }: OnTenant<Operator>,
    state: web::Data<AppState>,
    web::Query(query): web::Query<ListQuery>,
) -> Reply {
    let q = search_text(query.q.as_deref())?;
    let after = match (query.after_name, query.after.as_deref()) {
        (Some(name), Some(id)) => Some((
            name,
            Uuid::parse_str(id).map_err(|_| Error::InvalidValue("not a page link".into()))?,
        )),
        _ => None,
    };
    let tenant = admin::tenant(&state.db, slug.clone()).await?;
    let mut rows = reads::groups(&state.db, slug.clone(), q.clone(), after, PAGE + 1).await?;
    let next = cut_page(&mut rows, PAGE, |g| {
        (g.display_name.clone(), g.id.to_string())
    });
    let here = format!("/console/t/{slug}/groups");
    let message = match query.notice.as_deref() {
        Some("excluded") => Some("Group excluded: its members no longer participate."),
        Some("included") => Some("Group included again."),
        _ => None,
    };
    let body = html! {
        (notice(message))
        form method="get" action=(here) class="row" role="search" {
            div {
                label for="groups-q" { "Search groups" }
                input type="search" id="groups-q" name="q" value=[q.as_deref()];
            }
            button type="submit" { "Search" }
        }
        div class="table-wrap" {
            table {
                (head(&["Group", "Members", "Excluded", ""]))
                tbody {
                    @for g in &rows {
                        tr {
                            td { (g.display_name) }
                            td { (g.members) }
                            td { (when(g.excluded_at)) }
                            td {
                                a class="button" href={ (here) "/" (g.id) } {
                                    @if g.excluded_at.is_some() { "Include…" } @else { "Exclude…" }
                                }
                            }
                        }
                    }
                    @if rows.is_empty() { tr { td colspan="4" class="muted" { "No groups." } } }
                }
            }
        }
        @if let Some((name, id)) = &next {
            p class="pager" {
                a href=(query_url(&here, &[("q", q.as_deref()), ("after_name", Some(name)), ("after", Some(id))])) { "Next page" }
            }
        }
    };
    Ok(html(tenant_page(&op, &tenant, Section::Groups, body)))
}

/// The confirmation: what excluding (or including) the group does, in numbers.
pub async fn confirm(on: Item<Operator, kind::Group>, state: web::Data<AppState>) -> Reply {
    let (op, slug, id) = on.split();
    let tenant = admin::tenant(&state.db, slug.clone()).await?;
    let (group, at_stake) = reads::group(&state.db, slug.clone(), id).await?;
    let excluded = group.excluded_at.is_some();
    let people = |n: i64| format!("{n} {}", if n == 1 { "person" } else { "people" });
    let body = html! {
        h2 { (group.display_name) }
        p { (group.members) " members." }
        @if excluded {
            p id="group-effect" {
                "Including this group makes " strong { (people(at_stake)) } " participate again "
                "(members who are not held out by anything else)."
            }
        } @else {
            p id="group-effect" {
                "Excluding this group stops " strong { (people(at_stake)) } " from participating: "
                "no training, no billing. Their SCIM data does not change, and a sync does not undo it."
            }
        }
        form method="post" {
            (csrf(&op))
            input type="hidden" name="exclude" value=(if excluded { "false" } else { "true" });
            div class="row" {
                @if excluded {
                    button type="submit" class="primary" { "Include the group" }
                } @else {
                    button type="submit" class="danger" { "Exclude the group" }
                }
                a class="button" href={ "/console/t/" (slug) "/groups" } { "Cancel" }
            }
        }
    };
    Ok(html(tenant_page(&op, &tenant, Section::Groups, body)))
}

pub async fn set(on: Item<Posted, kind::Group>, state: web::Data<AppState>) -> Reply {
    let (posted, slug, id) = on.split();
    let exclude = match posted.fields.get("exclude") {
        Some("true") => true,
        Some("false") => false,
        _ => return Err(Error::InvalidValue("say whether to exclude the group".into()).into()),
    };
    let act = posted.op.act(&slug, &state);
    admin::set_group_excluded(&state.db, act, id, exclude).await?;
    let what = if exclude { "excluded" } else { "included" };
    Ok(see_other(&format!(
        "/console/t/{slug}/groups?notice={what}"
    )))
}
