//! A tenant's connection: SCIM's base URL and tokens (issued and shown once, listed,
//! revoked); a pull connection's provider and scope, its test, "sync now" and "dry run",
//! its runs and their plans (approve a held one); connect links; switching source or
//! disconnecting, after a confirmation that says what happens to the people.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::Value;

use super::directory::{provider_name, scope_fields, scope_of, scope_words};
use super::layout::{csrf, head, notice, shown_once, tenant_page, when, Section};
use super::{html, kind, refused, see_other, Item, NoticeQuery, Operator, Posted, Reply};
use crate::domain::{PlanAction, Provider, RunStatus, RunTrigger, Source};
use crate::error::Error;
use crate::http::extract::OnTenant;
use crate::http::AppState;
use crate::provisioning::connect_links::{self as links, LinkInput, LinkSettings, LinkState};
use crate::provisioning::connections::{self, DirectoryConfig};
use crate::provisioning::credentials::{self as creds, TokenState};
use crate::provisioning::tenants::SettingsPatch;
use crate::provisioning::{admin, sync as syncs};
use crate::store::sync::RunRow;
use crate::store::tenants::Tenant;

/// What the page shows above its sections after an action: a plain notice, a value shown
/// once, or a test's outcome.
enum Shown {
    Nothing,
    Notice(&'static str),
    Token(String),
    Link(String),
    Test {
        ok: bool,
        detail: String,
    },
    /// A form on the page was refused: why.
    Failed(String),
}

fn notice_of(n: Option<&str>) -> Shown {
    match n {
        Some("revoked") => Shown::Notice("Token revoked: it is refused from now on."),
        Some("link-revoked") => Shown::Notice("Connect link revoked."),
        Some("switched") => Shown::Notice("Source switched."),
        Some("disconnected") => Shown::Notice("Disconnected: the tenant is now managed by hand."),
        Some("connected") => Shown::Notice(
            "Connection saved: the directory is the tenant's source. Start a dry run to see what \
             its first run would do.",
        ),
        _ => Shown::Nothing,
    }
}

async fn render(
    op: &Operator,
    state: &AppState,
    slug: String,
    shown: Shown,
) -> Result<Markup, Error> {
    let tenant = admin::tenant(&state.db, slug.clone()).await?;
    let tokens = admin::tokens(&state.db, slug.clone(), None, 100).await?;
    let connection = match connections::get(&state.db, slug.clone()).await {
        Ok(c) => Some(c),
        Err(Error::NotFound(_)) => None,
        Err(e) => return Err(e),
    };
    let runs = syncs::runs(&state.db, slug.clone(), None, 10).await?;
    let link_list = links::list(&state.db, slug.clone(), None, 50).await?;
    let now = state.clock.now();
    let base = format!(
        "{}/scim/v2",
        state
            .settings
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", state.settings.bind))
            .trim_end_matches('/')
    );
    let here = format!("/console/t/{slug}");
    let link_settings = LinkSettings::of(&state.settings);
    let body = html! {
        @match &shown {
            Shown::Nothing => {},
            Shown::Notice(text) => (notice(Some(text))),
            Shown::Token(token) => (shown_once("new-token", "New SCIM token", token)),
            Shown::Link(url) => (shown_once("new-link", "Connect link", url)),
            Shown::Test { ok, detail } => {
                p class=(if *ok { "notice" } else { "error" }) role="status" id="test-result" {
                    (if *ok { "Test passed: " } else { "Test failed: " }) (detail)
                }
            },
            Shown::Failed(why) => p class="error" role="alert" id="form-error" { (why) },
        }
        h2 { "SCIM" }
        dl class="facts" {
            dt { "Base URL" }
            dd {
                input type="text" id="scim-base" readonly value=(base) aria-label="SCIM base URL";
                " " button type="button" data-copy="scim-base" { "Copy" }
            }
        }
        form method="post" action={ (here) "/tokens" } class="row" {
            (csrf(op))
            div {
                label for="token-label" { "Label" }
                input type="text" id="token-label" name="label" placeholder="Entra provisioning";
            }
            div {
                label for="token-expiry" { "Expires in" }
                input type="text" id="token-expiry" name="expires_in" placeholder="e.g. 365d (never if blank)";
            }
            button type="submit" class="primary" { "Issue token" }
        }
        div class="table-wrap" {
            table id="tokens" {
                (head(&["Key id", "Label", "~Created", "Last used", "State", ""]))
                tbody {
                    @for t in &tokens {
                        @let live = TokenState::of(t, now) == TokenState::Live;
                        tr {
                            td { code { (t.key_id) } }
                            td { (t.label.as_deref().unwrap_or("")) }
                            td class="hide-narrow" { (when(Some(t.created_at))) }
                            td { (when(t.last_used_at)) }
                            td { (TokenState::of(t, now).as_str()) }
                            td {
                                @if live {
                                    form method="post" action={ (here) "/tokens/" (t.key_id) "/revoke" } {
                                        (csrf(op))
                                        button type="submit" class="danger" { "Revoke" }
                                    }
                                }
                            }
                        }
                    }
                    @if tokens.is_empty() { tr { td colspan="6" class="muted" { "No tokens." } } }
                }
            }
        }
        h2 { "Directory connection" }
        @if let Some(c) = &connection {
            dl class="facts" {
                dt { "Provider" } dd { (provider_name(c.provider)) }
                dt { "Scope" } dd { (scope_words(&scope_value(&c.config))) }
                dt { "Last success" } dd { (when(c.last_success_at)) }
                dt { "Next run" } dd { (when(c.next_run_at)) }
                @if let Some(e) = &c.last_error {
                    dt { "Last error" } dd { span class="badge bad" { (e.code) } " " (e.message) }
                }
            }
            div class="row" {
                form method="post" action={ (here) "/test" } {
                    (csrf(op))
                    button type="submit" { "Test the connection" }
                }
                form method="post" action={ (here) "/sync" } {
                    (csrf(op))
                    input type="hidden" name="dry_run" value="true";
                    button type="submit" { "Dry run" }
                }
                form method="post" action={ (here) "/sync" } {
                    (csrf(op))
                    input type="hidden" name="dry_run" value="false";
                    button type="submit" class="primary" { "Sync now" }
                }
                a class="button" href={ (here) "/directory" } { "Edit the connection…" }
            }
        } @else {
            p class="muted" {
                "No directory connection. Connect one with the client's details, send a connect "
                "link to the client's IT admin, or push over SCIM."
            }
            div class="row" {
                @for p in [Provider::Graph, Provider::Google] {
                    a class="button" href={ (here) "/directory?provider=" (p.as_str()) } {
                        "Connect " (provider_name(p)) "…"
                    }
                }
            }
        }
        @if !runs.is_empty() {
            h3 { "Recent runs" }
            div class="table-wrap" {
                table {
                    (head(&["Run", "Status", "~Trigger", "Finished"]))
                    tbody {
                        @for r in &runs {
                            tr {
                                td { a href={ (here) "/runs/" (r.id) } { (super::tenants::short(r.id)) } @if r.dry_run { " (dry run)" } }
                                td { (status_badge(r.status)) }
                                td class="hide-narrow" { (r.trigger.as_str()) }
                                td { (when(r.finished_at)) }
                            }
                        }
                    }
                }
            }
        }
        h2 { "Connect links" }
        @let graph_missing = link_settings.missing(Provider::Graph);
        @let google_missing = link_settings.missing(Provider::Google);
        @let link_providers: Vec<Provider> = [Provider::Graph, Provider::Google]
            .into_iter()
            .filter(|p| link_settings.missing(*p).is_none())
            .collect();
        @if graph_missing.is_some() && google_missing.is_some() {
            p class="muted" { "This server cannot make connect links: " (graph_missing.unwrap_or_default()) }
        } @else {
            form method="post" action={ (here) "/links" } {
                (csrf(op))
                div class="row" {
                    div {
                        label for="link-provider" { "Directory" }
                        select id="link-provider" name="provider" {
                            @for p in &link_providers { option value=(p.as_str()) { (provider_name(*p)) } }
                        }
                    }
                    div {
                        label for="link-expiry" { "Valid for" }
                        input type="text" id="link-expiry" name="expires_in" value="7d";
                    }
                }
                (scope_fields(&link_providers, "link", "all", ""))
                p { button type="submit" class="primary" { "Create connect link" } }
            }
        }
        @if !link_list.is_empty() {
            div class="table-wrap" {
                table {
                    (head(&["Directory", "Scope", "~Created", "Expires", "State", ""]))
                    tbody {
                        @for l in &link_list {
                            @let st = LinkState::of(l, now);
                            tr {
                                td { (provider_name(l.provider)) }
                                td { (scope_words(&l.scope)) }
                                td class="hide-narrow" { (when(Some(l.created_at))) }
                                td { (when(Some(l.expires_at))) }
                                td { (link_state(st)) }
                                td {
                                    @if st == LinkState::Pending {
                                        form method="post" action={ (here) "/links/" (l.id) "/revoke" } {
                                            (csrf(op))
                                            button type="submit" class="danger" { "Revoke" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 { "Source" }
        p { "The tenant's people come from " strong { (tenant.source.display_name()) } "." }
        div class="row" {
            @for to in [Source::Scim, Source::Manual] {
                @if to != tenant.source {
                    a class="button" href={ (here) "/source?to=" (to.as_str()) } {
                        "Switch to " (to.display_name()) "…"
                    }
                }
            }
            @if tenant.source != Source::Manual || connection.is_some() {
                a class="button" href={ (here) "/source?to=disconnect" } { "Disconnect…" }
            }
        }
    };
    Ok(tenant_page(op, &tenant, Section::Connection, body))
}

fn link_state(s: LinkState) -> &'static str {
    match s {
        LinkState::Pending => "pending",
        LinkState::Used => "used",
        LinkState::Expired => "expired",
        LinkState::Revoked => "revoked",
    }
}

fn scope_value(config: &DirectoryConfig) -> Value {
    let scope = match config {
        DirectoryConfig::Graph(c) => serde_json::to_value(&c.scope),
        DirectoryConfig::Google(c) => serde_json::to_value(&c.scope),
    };
    scope.unwrap_or_default()
}

fn status_badge(s: RunStatus) -> Markup {
    let class = match s {
        RunStatus::Succeeded | RunStatus::Planned => "badge ok",
        RunStatus::Failed => "badge bad",
        RunStatus::Held => "badge warn",
        RunStatus::Queued | RunStatus::Running => "badge",
    };
    html! { span class=(class) data-status=(s.as_str()) { (s.as_str()) } }
}

fn no_store(markup: Markup) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .content_type("text/html; charset=utf-8")
        .body(markup.into_string())
}

pub async fn page(
    OnTenant { who: op, slug }: OnTenant<Operator>,
    state: web::Data<AppState>,
    query: web::Query<NoticeQuery>,
) -> Reply {
    let shown = notice_of(query.notice.as_deref());
    Ok(html(render(&op, &state, slug, shown).await?))
}

/// Issues a token and shows it in this answer only: it is never in a URL or stored.
pub async fn issue_token(
    OnTenant { who: posted, slug }: OnTenant<Posted>,
    state: web::Data<AppState>,
) -> Reply {
    let Posted { op, fields } = posted;
    let now = state.clock.now();
    let expires_at = fields
        .get("expires_in")
        .map(creds::parse_expires_in)
        .transpose()?
        .map(|d| now + d);
    let label = fields.get("label").map(str::to_owned);
    let issued = admin::issue_token(&state.db, slug.clone(), label, expires_at, now).await?;
    Ok(no_store(
        render(&op, &state, slug, Shown::Token(issued.token)).await?,
    ))
}

#[derive(Deserialize)]
pub struct TokenPath {
    slug: String,
    key_id: String,
}

pub async fn revoke_token(
    posted: Posted,
    state: web::Data<AppState>,
    path: web::Path<TokenPath>,
) -> Reply {
    let _ = posted;
    let TokenPath { slug, key_id } = path.into_inner();
    let revoked = admin::revoke_token(&state.db, slug.clone(), key_id, state.clock.now()).await?;
    state.scim_tokens.forget_key(&revoked.key_id);
    Ok(see_other(&format!(
        "/console/t/{slug}/connection?notice=revoked"
    )))
}

pub async fn create_link(
    OnTenant { who: posted, slug }: OnTenant<Posted>,
    state: web::Data<AppState>,
) -> Reply {
    let Posted { op, fields } = posted;
    let made = async {
        let provider = fields
            .get("provider")
            .and_then(Provider::parse)
            .ok_or_else(|| {
                Error::InvalidValue(format!("the directory must be {}", Provider::choices()))
            })?;
        let input = LinkInput {
            provider,
            scope: scope_of(provider, &fields)?,
            expires_in: fields.get("expires_in").map(str::to_owned),
        };
        let settings = LinkSettings::of(&state.settings);
        links::create(&state.db, settings, op.act(&slug, &state), input).await
    }
    .await;
    match made {
        Ok(made) => Ok(no_store(
            render(&op, &state, slug, Shown::Link(made.url)).await?,
        )),
        Err(e) => refused(e, |why| render(&op, &state, slug, Shown::Failed(why))).await,
    }
}

pub async fn revoke_link(on: Item<Posted, kind::Link>, state: web::Data<AppState>) -> Reply {
    // The form is read for its anti-forgery token; it has no fields.
    let (_, slug, id) = on.split();
    links::revoke(&state.db, slug.clone(), id, state.clock.now()).await?;
    Ok(see_other(&format!(
        "/console/t/{slug}/connection?notice=link-revoked"
    )))
}

/// Signs in to the directory and reads one page, writing nothing.
pub async fn test(
    OnTenant { who: posted, slug }: OnTenant<Posted>,
    state: web::Data<AppState>,
) -> Reply {
    let report = state
        .directories
        .test_tenant(&state.db, slug.clone())
        .await?;
    let shown = Shown::Test {
        ok: report.ok,
        detail: report.detail,
    };
    Ok(html(render(&posted.op, &state, slug, shown).await?))
}

/// Queues a run (or finds the one queued or running) and shows it.
pub async fn sync(
    OnTenant { who: posted, slug }: OnTenant<Posted>,
    state: web::Data<AppState>,
) -> Reply {
    let dry_run = posted.fields.get("dry_run") == Some("true");
    let now = state.clock.now();
    let run = syncs::queue(&state.db, slug.clone(), RunTrigger::Manual, dry_run, now).await?;
    state.sync_wake.notify_one();
    Ok(see_other(&format!("/console/t/{slug}/runs/{}", run.id)))
}

/// Plan items listed per action on a run's page.
const ITEMS_PER_ACTION: i64 = 100;

/// A run's state: while it is queued or running, the panel asks for itself again every
/// second (htmx), so the page follows the run to its end without a reload.
async fn panel(op: &Operator, state: &AppState, slug: &str, run: &RunRow) -> Result<Markup, Error> {
    let active = RunStatus::ACTIVE.contains(&run.status);
    let here = format!("/console/t/{slug}/runs/{}", run.id);
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    let mut groups = Vec::new();
    if !active {
        for action in PlanAction::ALL {
            let n = run
                .counts
                .get(action.as_str())
                .and_then(Value::as_i64)
                .unwrap_or(0);
            if n == 0 || *action == PlanAction::Unchanged {
                continue;
            }
            let items = syncs::plan(
                &state.db,
                slug.to_owned(),
                run.id,
                Some(*action),
                0,
                ITEMS_PER_ACTION,
            )
            .await?;
            groups.push((*action, n, items));
        }
    }
    let unchanged = run
        .counts
        .get(PlanAction::Unchanged.as_str())
        .and_then(Value::as_i64)
        .unwrap_or(0);
    Ok(html! {
        div id="run-panel" aria-live="polite"
            hx-get=[active.then(|| format!("{here}/panel"))]
            hx-trigger=[active.then_some("every 1s")]
            hx-swap=[active.then_some("outerHTML")] {
            dl class="facts" {
                dt { "Status" } dd { (status_badge(run.status)) @if active { " " span class="muted" { "(following…)" } } }
                dt { "Kind" } dd { (if run.dry_run { "dry run: nothing is applied" } else { "sync" }) }
                dt { "Started" } dd { (when(run.started_at)) }
                dt { "Finished" } dd { (when(run.finished_at)) }
            }
            @if let Some(e) = &run.error {
                @if run.status == RunStatus::Held {
                    div class="notice" role="status" {
                        p { strong { "Held: " } (text(e, "message")) }
                        form method="post" action={ (here) "/approve" } {
                            (csrf(op))
                            button type="submit" class="danger" { "Approve and apply the plan" }
                        }
                    }
                } @else {
                    p class="error" role="alert" { strong { (text(e, "code")) ": " } (text(e, "message")) }
                }
            }
            @if !active {
                h2 { "Plan" }
                p { (unchanged) " unchanged." }
                @if groups.is_empty() { p class="muted" { "Nothing to change." } }
                @for (action, n, items) in &groups {
                    section data-action=(action.as_str()) {
                        h3 { (action.as_str()) " " span class="count" { (n) } }
                        ul {
                            @for item in items {
                                li {
                                    (item.display_name.as_deref().or(item.user_name.as_deref()).or(item.email.as_deref()).or(item.source_ref.as_deref()).unwrap_or("—"))
                                    @if let Some(email) = &item.email { " " span class="muted" { "<" (email) ">" } }
                                    @if let Some(reason) = &item.reason { " — " (reason) }
                                }
                            }
                        }
                        @if *n > ITEMS_PER_ACTION { p class="muted" { "and " (n - ITEMS_PER_ACTION) " more" } }
                    }
                }
            }
        }
    })
}

pub async fn run(on: Item<Operator, kind::Run>, state: web::Data<AppState>) -> Reply {
    let (op, slug, id) = on.split();
    let tenant = admin::tenant(&state.db, slug.clone()).await?;
    let run = syncs::run(&state.db, slug.clone(), id).await?;
    let body = html! {
        p { a href={ "/console/t/" (slug) "/connection" } { "← Connection" } }
        h2 { "Sync run " (super::tenants::short(run.id)) }
        (panel(&op, &state, &slug, &run).await?)
    };
    Ok(html(tenant_page(&op, &tenant, Section::Connection, body)))
}

/// The run's panel alone, for the page's polling.
pub async fn run_panel(on: Item<Operator, kind::Run>, state: web::Data<AppState>) -> Reply {
    let (op, slug, id) = on.split();
    let run = syncs::run(&state.db, slug.clone(), id).await?;
    Ok(html(panel(&op, &state, &slug, &run).await?))
}

pub async fn approve(on: Item<Posted, kind::Run>, state: web::Data<AppState>) -> Reply {
    // The form is read for its anti-forgery token; it has no fields.
    let (_, slug, id) = on.split();
    syncs::approve(&state.db, slug.clone(), id, state.clock.now()).await?;
    Ok(see_other(&format!("/console/t/{slug}/runs/{id}")))
}

#[derive(Deserialize)]
pub struct SourceQuery {
    to: String,
}

/// What a switch or a disconnect would do, in words and numbers.
fn consequences(tenant: &Tenant, to: &str, live: i64) -> Result<(String, Markup), Error> {
    let people = |n: i64| format!("{n} {}", if n == 1 { "person" } else { "people" });
    Ok(match to {
        "disconnect" => (
            "Disconnect".to_owned(),
            html! {
                p { "The tenant becomes managed by hand, and its directory connection, if any, is removed." }
                p { "Choose what happens to its " strong { (people(live)) } ":" }
                ul {
                    li { strong { "Keep them" } ": they stay, and become managed by hand." }
                    li {
                        strong { "Let them go" } ": "
                        @if tenant.on_source_delete == crate::domain::DeletePolicy::Remove {
                            "they are erased (the tenant's policy is remove); only their events remain."
                        } @else {
                            "they are deprovisioned (the tenant's policy is retain); they can be restored."
                        }
                    }
                }
            },
        ),
        other => {
            let to = Source::parse(other)
                .filter(|s| !s.is_pull())
                .ok_or_else(|| Error::InvalidValue("switch to scim or manual".into()))?;
            (
                format!("Switch to {}", to.display_name()),
                html! {
                    p {
                        "The tenant's " strong { (people(live)) } " stay as they are, with their history. "
                        @if to == Source::Scim {
                            "When the identity provider pushes the same person (same userName or email), "
                            "it takes them over: same id, same history."
                        } @else {
                            "From now on they are managed by hand (the console, the admin API, CSV imports)."
                        }
                    }
                },
            )
        }
    })
}

pub async fn source_confirm(
    OnTenant { who: op, slug }: OnTenant<Operator>,
    state: web::Data<AppState>,
    query: web::Query<SourceQuery>,
) -> Reply {
    let tenant = admin::tenant(&state.db, slug.clone()).await?;
    let counts = admin::counts(&state.db, slug.clone()).await?;
    let (title, what) = consequences(&tenant, &query.to, counts.total)?;
    let body = html! {
        h2 { (title) }
        (what)
        form method="post" {
            (csrf(&op))
            input type="hidden" name="to" value=(query.to);
            div class="row" {
                @if query.to == "disconnect" {
                    button type="submit" name="keep_people" value="true" class="primary" { "Disconnect, keep the people" }
                    button type="submit" name="keep_people" value="false" class="danger" { "Disconnect, let them go" }
                } @else {
                    button type="submit" class="primary" { (title) }
                }
                a class="button" href={ "/console/t/" (slug) "/connection" } { "Cancel" }
            }
        }
    };
    Ok(html(tenant_page(&op, &tenant, Section::Connection, body)))
}

pub async fn source(
    OnTenant { who: posted, slug }: OnTenant<Posted>,
    state: web::Data<AppState>,
) -> Reply {
    let Posted { op, fields } = posted;
    let now = state.clock.now();
    match fields.get("to") {
        Some("disconnect") => {
            let keep = match fields.get("keep_people") {
                Some("true") => true,
                Some("false") => false,
                _ => {
                    return Err(Error::InvalidValue("say whether to keep the people".into()).into())
                }
            };
            let done = admin::disconnect(&state.db, op.act(&slug, &state), keep).await?;
            if let Some(t) = &done.tenant {
                state.rate_limits.forget(t.id);
            }
            Ok(see_other(&format!(
                "/console/t/{slug}/connection?notice=disconnected"
            )))
        }
        Some(to) => {
            let source = Source::parse(to)
                .filter(|s| !s.is_pull())
                .ok_or_else(|| Error::InvalidValue("switch to scim or manual".into()))?;
            let patch = SettingsPatch {
                source: Some(source.as_str().to_owned()),
                ..SettingsPatch::default()
            };
            admin::update_tenant(&state.db, slug.clone(), patch, now).await?;
            Ok(see_other(&format!(
                "/console/t/{slug}/connection?notice=switched"
            )))
        }
        None => Err(Error::InvalidValue("say what to switch to".into()).into()),
    }
}
