//! CSV import: choose (or paste) a file, follow its dry run to a summary with every row
//! error, then confirm. Each is a job (`provisioning::import_jobs`): the form's post makes
//! it and answers 303 to the job's page, `/console/t/{slug}/imports/{id}`, whose panel
//! shows "N of M rows" and asks for itself again every second (htmx) until the job ends,
//! whichever node answers. The confirmation posts the dry run's id, and the import applies
//! the file that dry run checked.
//!
//! With script, the form posts through htmx, which follows the 303 and swaps in the job
//! page's result area, so the form stays as it is. Without it, the browser goes to the
//! job's page, which shows the form again (with the dry run's file) and the job as it was
//! when the page was read; a reload follows it.

use actix_web::web;
use maud::{html, Markup};

use super::layout::{csrf, tenant_page, Section};
use super::{html, kind, parse_id, refused_on_form, see_other, Item, Operator, Posted, Reply};
use crate::error::Error;
use crate::http::extract::OnTenant;
use crate::http::AppState;
use crate::provisioning::admin;
use crate::provisioning::import::Summary;
use crate::provisioning::import_jobs::{self as jobs, Input, Job, Progress};
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
            label for="csv-file" { "CSV file" }
            input type="file" id="csv-file" accept=".csv,text/csv" data-fill="csv-text";
            label for="csv-text" { "…or paste it" }
            textarea id="csv-text" name="csv" rows="8" { (csv) }
            p {
                button type="submit" class="primary" { "Check the file (dry run)" }
                " " span id="import-progress" class="htmx-indicator" role="status" { "Sending the file…" }
            }
        }
        (result)
    }
}

/// `n` with a comma between thousands: `50,000`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn summary(op: &Operator, slug: &str, job: &Job, s: &Summary, refused: bool) -> Markup {
    let clean = !s.failed();
    html! {
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
                input type="hidden" name="job" value=(job.id);
                button type="submit" class="primary" { "Import these " (s.rows) " rows" }
                " " span id="import-running" class="htmx-indicator" role="status" { "Starting the import…" }
            }
        }
        @if !s.dry_run && !refused {
            p class="notice" role="status" {
                "Done. " a href={ "/console/t/" (slug) "?state=all" } { "See the people" }
            }
        }
    }
}

fn state_of(p: &Progress) -> &'static str {
    match p {
        Progress::Running { .. } => "running",
        Progress::Interrupted { .. } => "interrupted",
        Progress::Done(_) => "done",
        Progress::Refused(_) => "refused",
        Progress::Failed(_) => "failed",
    }
}

/// A job's state: while it runs, the panel asks for itself again every second (htmx), so
/// the page follows the job to its end without a reload.
fn panel(op: &Operator, slug: &str, job: &Job) -> Markup {
    let active = job.progress.active();
    let here = format!("/console/t/{slug}/imports/{}", job.id);
    html! {
        div id="import-panel" data-state=(state_of(&job.progress))
            hx-get=[active.then(|| format!("{here}/panel"))]
            hx-trigger=[active.then_some("every 1s")]
            hx-swap=[active.then_some("outerHTML")] {
            @match &job.progress {
                Progress::Running { done, total } => {
                    h2 { (if job.dry_run { "Dry run" } else { "Importing" }) }
                    p role="status" {
                        progress id="import-rows" max=(total) value=(done) aria-label="Rows done" {}
                        " " (if job.dry_run { "Checking" } else { "Importing" }) ": "
                        span data-done { (thousands(*done)) } " of "
                        span data-total { (thousands(*total)) } " rows"
                    }
                    noscript { p class="muted" { "Reload the page to follow it." } }
                }
                Progress::Interrupted { done, total } => {
                    h2 { "Interrupted" }
                    p class="error" role="alert" {
                        "The " (if job.dry_run { "dry run" } else { "import" }) " stopped after "
                        (thousands(*done)) " of " (thousands(*total)) " rows: the server running it "
                        "stopped. Its changes were rolled back, so nothing was imported. "
                        (if job.dry_run { "Check the file again." } else { "Check the file and import it again." })
                    }
                }
                Progress::Done(s) => { (summary(op, slug, job, s, false)) }
                Progress::Refused(s) => { (summary(op, slug, job, s, true)) }
                Progress::Failed(message) => {
                    h2 { (if job.dry_run { "Dry run failed" } else { "Import failed" }) }
                    p class="error" role="alert" { (message) }
                    p { "Nothing was imported." }
                }
            }
        }
    }
}

fn result(content: Markup) -> Markup {
    html! { div id="import-result" aria-live="polite" { (content) } }
}

fn page_of(op: &Operator, tenant: &Tenant, csv: &str, result: Markup) -> Markup {
    tenant_page(
        op,
        tenant,
        Section::Import,
        form(op, &tenant.slug, csv, result),
    )
}

pub async fn page(
    OnTenant { who: op, slug }: OnTenant<Operator>,
    state: web::Data<AppState>,
) -> Reply {
    let tenant = admin::tenant(&state.db, slug).await?;
    Ok(html(page_of(&op, &tenant, "", result(html! {}))))
}

/// Starts a dry run of the posted file, or the import of the dry run `job` checked, and
/// sends the browser to it.
pub async fn run(
    OnTenant { who: posted, slug }: OnTenant<Posted>,
    state: web::Data<AppState>,
) -> Reply {
    let Posted { op, fields } = posted;
    let (input, csv) = match fields.get("job") {
        Some(id) => (Input::Checked(parse_id(id, "import")?), String::new()),
        None => {
            let csv = fields.raw("csv").unwrap_or_default().to_owned();
            if csv.trim().is_empty() {
                return Err(Error::InvalidValue("choose a CSV file or paste one".into()).into());
            }
            (Input::File(csv.clone()), csv)
        }
    };
    let request_id = op.by().request_id;
    match jobs::start(
        &state.db,
        state.clock.clone(),
        slug.clone(),
        request_id,
        input,
    )
    .await
    {
        Ok(id) => Ok(see_other(&format!("/console/t/{slug}/imports/{id}"))),
        // A file the import cannot read at all (no email column, say) is the operator's to
        // fix: said on the page, beside the form, as a 200 (htmx swaps only 2xx answers).
        Err(e) if refused_on_form(&e) => {
            let tenant = admin::tenant(&state.db, slug).await?;
            let said = result(html! { p class="error" role="alert" { (e.to_string()) } });
            Ok(html(page_of(&op, &tenant, &csv, said)))
        }
        Err(e) => Err(e.into()),
    }
}

/// A job's page: the form (with a dry run's file again) and the job's panel.
pub async fn job(on: Item<Operator, kind::Import>, state: web::Data<AppState>) -> Reply {
    let (op, slug, id) = on.split();
    let tenant = admin::tenant(&state.db, slug.clone()).await?;
    let job = jobs::job(&state.db, slug.clone(), id, true, state.clock.now()).await?;
    let csv = job.csv.clone().unwrap_or_default();
    Ok(html(page_of(
        &op,
        &tenant,
        &csv,
        result(panel(&op, &slug, &job)),
    )))
}

/// The job's panel alone, for the page's polling.
pub async fn job_panel(on: Item<Operator, kind::Import>, state: web::Data<AppState>) -> Reply {
    let (op, slug, id) = on.split();
    let job = jobs::job(&state.db, slug.clone(), id, false, state.clock.now()).await?;
    Ok(html(panel(&op, &slug, &job)))
}

#[cfg(test)]
mod tests {
    use super::thousands;

    #[test]
    fn counts_read_with_thousands_separated() {
        for (n, text) in [
            (0, "0"),
            (999, "999"),
            (1_000, "1,000"),
            (1_200, "1,200"),
            (50_000, "50,000"),
            (100_000, "100,000"),
            (1_234_567, "1,234,567"),
        ] {
            assert_eq!(thousands(n), text);
        }
    }
}
