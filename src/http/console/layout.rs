//! The page frame and the small pieces every page uses.

use chrono::{DateTime, Utc};
use maud::{html, Markup, DOCTYPE};

use super::assets::HTMX;
use super::{Operator, CSRF_FIELD};
use crate::store::tenants::Tenant;

/// htmx's settings: no inline styles (the indicator's are in the stylesheet) and no
/// evaluated code, both of which the Content-Security-Policy would refuse.
const HTMX_CONFIG: &str = r#"{"includeIndicatorStyles":false,"allowEval":false,"allowScriptTags":false,"historyCacheSize":0}"#;

/// A tenant's sections, in the order of its tabs.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Section {
    People,
    Groups,
    Connection,
    Import,
    Activity,
    Settings,
}

impl Section {
    const ALL: [(Section, &'static str, &'static str); 6] = [
        (Section::People, "People", ""),
        (Section::Groups, "Groups", "/groups"),
        (Section::Connection, "Connection", "/connection"),
        (Section::Import, "Import", "/import"),
        (Section::Activity, "Activity", "/activity"),
        (Section::Settings, "Settings", "/settings"),
    ];
}

/// A whole page: `title`, the signed-in operator's bar, and `body`.
pub fn page(title: &str, op: Option<&Operator>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="htmx-config" content=(HTMX_CONFIG);
                title { (title) " · scimd console" }
                link rel="stylesheet" href="/console/assets/console.css";
                script src={ "/console/assets/" (HTMX) } defer {}
                script src="/console/assets/console.js" defer {}
            }
            body {
                header class="top" {
                    a class="brand" href="/console" { "scimd console" }
                    @if let Some(op) = op {
                        a href="/console" { "Tenants" }
                        form class="inline" method="post" action="/console/sign-out" {
                            (csrf(op))
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}

/// A tenant's page: its name, its sections' tabs, and `body`.
pub fn tenant_page(op: &Operator, tenant: &Tenant, section: Section, body: Markup) -> Markup {
    let title = Section::ALL
        .iter()
        .find(|(s, _, _)| *s == section)
        .map_or("", |(_, name, _)| *name);
    page(
        &format!("{title} · {}", tenant.name),
        Some(op),
        html! {
            p class="muted" { a href="/console" { "Tenants" } " / " (tenant.slug) }
            h1 { (tenant.name) " " span class="badge" { (tenant.source.display_name()) } }
            nav class="tabs" aria-label="Tenant sections" {
                @for (s, name, path) in Section::ALL {
                    a href={ "/console/t/" (tenant.slug) (path) }
                      aria-current=[(s == section).then_some("page")] { (name) }
                }
            }
            (body)
        },
    )
}

/// The hidden anti-forgery field of a form.
pub fn csrf(op: &Operator) -> Markup {
    html! { input type="hidden" name=(CSRF_FIELD) value=(op.csrf()); }
}

/// A time as people read it, in UTC; a dash when there is none.
pub fn when(at: Option<DateTime<Utc>>) -> Markup {
    match at {
        Some(at) => html! {
            time datetime=(at.to_rfc3339()) { (at.format("%Y-%m-%d %H:%M UTC")) }
        },
        None => html! { span class="muted" { "—" } },
    }
}

/// A notice above a page's content, after an action.
pub fn notice(text: Option<&str>) -> Markup {
    html! {
        @if let Some(text) = text {
            p class="notice" role="status" { (text) }
        }
    }
}

/// A value shown once, with a copy button.
pub fn shown_once(id: &str, label: &str, value: &str) -> Markup {
    html! {
        div class="notice" role="status" {
            p { strong { (label) } " — shown this once; copy it now." }
            textarea id=(id) class="secret" readonly rows="2" aria-label=(label) { (value) }
            p { button type="button" data-copy=(id) { "Copy" } }
        }
    }
}

/// A table's header row; a column whose name starts with `~` is hidden at phone width.
pub fn head(columns: &[&str]) -> Markup {
    html! {
        thead { tr {
            @for c in columns {
                @if let Some(name) = c.strip_prefix('~') {
                    th scope="col" class="hide-narrow" { (name) }
                } @else {
                    th scope="col" { (c) }
                }
            }
        } }
    }
}
