//! CSV import: choose (or paste) a file, see the dry run's summary with every row error,
//! then confirm. The form posts through htmx when it can, so the summary replaces the
//! form's result area with an indicator while the import runs; without script it is an
//! ordinary form post.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use maud::{html, Markup};

use super::layout::{csrf, tenant_page, Section};
use super::{html, Operator, Posted, Reply, SlugPath};
use crate::error::Error;
use crate::http::AppState;
use crate::provisioning::admin;
use crate::provisioning::import::{Outcome, Summary};
use crate::store::tenants::Tenant;

fn form(op: &Operator, slug: &str, csv: &str, result: Markup) -> Markup {
    html! {
        p {
            "Columns: " code { "email" } " (required), " code { "given_name" } ", "
            code { "family_name" } ", " code { "display_name" } ", " code { "department" } ", "
            code { "manager_email" } ". UTF-8, with a header row."
        }
        form method="post" action={ "/console/t/" (slug) "/import" }
            hx-post={ "/console/t/" (slug) "/import" } hx-target="#import-result"
            hx-select="#import-result" hx-swap="outerHTML" hx-indicator="#import-progress" {
            (csrf(op))
            input type="hidden" name="dry_run" value="true";
            label for="csv-file" { "CSV file" }
            input type="file" id="csv-file" accept=".csv,text/csv" data-fill="csv-text";
            label for="csv-text" { "…or paste it" }
            textarea id="csv-text" name="csv" rows="8" { (csv) }
            p {
                button type="submit" class="primary" { "Check the file (dry run)" }
                " " span id="import-progress" class="htmx-indicator" role="status" { "Checking the file…" }
            }
        }
        (result)
    }
}

fn summary(op: &Operator, slug: &str, csv: &str, s: &Summary, refused: bool) -> Markup {
    let clean = !s.failed();
    html! {
        div id="import-result" aria-live="polite" {
            h2 { @if s.dry_run { "Dry run" } @else if refused { "Import refused" } @else { "Imported" } }
            dl class="facts" {
                dt { "Rows" } dd data-rows { (s.rows) }
                dt { "Create" } dd data-created { (s.created) }
                dt { "Update" } dd data-updated { (s.updated) }
                dt { "Unchanged" } dd { (s.unchanged) }
                dt { "Skipped" } dd { (s.skipped.len()) }
                dt { "Errors" } dd data-errors { (s.errors.len() + s.not_listed) }
            }
            @if !s.errors.is_empty() {
                h3 { "Row errors" }
                p class="error" role="alert" { "Nothing is imported while a row has an error. Fix the file and check it again." }
                ul id="row-errors" {
                    @for e in &s.errors { li { "Row " (e.row) ": " (e.message) } }
                }
                @if s.not_listed > 0 { p class="muted" { "and " (s.not_listed) " more not listed" } }
            }
            @if !s.skipped.is_empty() {
                h3 { "Skipped rows" }
                ul { @for e in &s.skipped { li { "Row " (e.row) ": " (e.message) } } }
            }
            @if s.dry_run && clean {
                form method="post" action={ "/console/t/" (slug) "/import" }
                    hx-post={ "/console/t/" (slug) "/import" } hx-target="#import-result"
                    hx-select="#import-result" hx-swap="outerHTML" hx-indicator="#import-running" {
                    (csrf(op))
                    input type="hidden" name="dry_run" value="false";
                    input type="hidden" name="csv" value=(csv);
                    button type="submit" class="primary" { "Import these " (s.rows) " rows" }
                    " " span id="import-running" class="htmx-indicator" role="status" { "Importing…" }
                }
            }
            @if !s.dry_run && !refused {
                p class="notice" role="status" {
                    "Done. " a href={ "/console/t/" (slug) "?state=all" } { "See the people" }
                }
            }
        }
    }
}

fn page_of(op: &Operator, tenant: &Tenant, csv: &str, result: Markup) -> Markup {
    tenant_page(
        op,
        tenant,
        Section::Import,
        form(op, &tenant.slug, csv, result),
    )
}

pub async fn page(op: Operator, state: web::Data<AppState>, path: web::Path<SlugPath>) -> Reply {
    let tenant = admin::tenant(&state.db, path.into_inner().slug).await?;
    let empty = html! { div id="import-result" aria-live="polite" {} };
    Ok(html(page_of(&op, &tenant, "", empty)))
}

pub async fn run(posted: Posted, state: web::Data<AppState>, path: web::Path<SlugPath>) -> Reply {
    let Posted { op, fields } = posted;
    let slug = path.into_inner().slug;
    let tenant = admin::tenant(&state.db, slug.clone()).await?;
    let dry_run = fields.get("dry_run") != Some("false");
    let csv = fields.raw("csv").unwrap_or_default().to_owned();
    if csv.trim().is_empty() {
        return Err(Error::InvalidValue("choose a CSV file or paste one".into()).into());
    }
    let request_id = op.by().request_id;
    let reader = std::io::Cursor::new(csv.clone().into_bytes());
    let outcome = admin::import_csv(
        &state.db,
        slug.clone(),
        request_id,
        reader,
        dry_run,
        state.clock.now(),
        |_| None,
    )
    .await;
    // The page is a 200 whatever the summary says (htmx swaps only 2xx answers), and the
    // summary says it.
    let result = match outcome {
        Ok(Outcome::Done(s)) => summary(&op, &slug, &csv, &s, false),
        Ok(Outcome::Refused(s)) => summary(&op, &slug, &csv, &s, true),
        // A file the import cannot read at all (no email column, say) is the operator's
        // to fix: said on the page, beside the form.
        Err(e) if e.status().is_client_error() && e.status() != StatusCode::NOT_FOUND => html! {
            div id="import-result" aria-live="polite" {
                p class="error" role="alert" { (e.to_string()) }
            }
        },
        Err(e) => return Err(e.into()),
    };
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(page_of(&op, &tenant, &csv, result).into_string()))
}
