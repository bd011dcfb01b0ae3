//! Connecting a tenant to its directory from the console: the form that creates or edits a
//! pull connection (Microsoft Graph or Google Workspace), saved by the same
//! `provisioning::connections` functions as the admin API's `PUT …/connection`, and the
//! scope fields that this form and the connect-link form share.
//!
//! The form is its own confirmation: above its button it says what saving does to the
//! tenant's people (a new source adopts the people its directory lists and leaves the
//! others as they are; a new directory or scope reads everything again). A secret typed
//! into it is never shown again, not even when the form comes back with an error.

use actix_web::web;
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::{json, Value};

use super::layout::{csrf, tenant_page, Section};
use super::{html, refused, see_other, Fields, Operator, Posted, Reply};
use crate::config::Secret;
use crate::domain::{Cloud, ConnectionScope, DirectoryTenantId, GoogleScope, Provider};
use crate::error::Error;
use crate::http::extract::OnTenant;
use crate::http::AppState;
use crate::provisioning::admin;
use crate::provisioning::connections::{
    self, ConnectionInput, DirectoryConfig, GoogleInput, Saved,
};
use crate::store::tenants::Tenant;

/// A provider's name as the console shows it.
pub fn provider_name(p: Provider) -> &'static str {
    match p {
        Provider::Graph => "Microsoft 365",
        Provider::Google => "Google Workspace",
    }
}

/// What the scope fields offer for `provider`: the `scope` value, its label, and what the
/// `scope_items` lines then name.
fn scope_kinds(provider: Provider) -> &'static [(&'static str, &'static str, &'static str)] {
    match provider {
        Provider::Graph => &[
            ("all", "The whole directory", ""),
            ("groups", "Members of groups", "group object ids (GUIDs)"),
        ],
        Provider::Google => &[
            ("all", "The whole directory", ""),
            ("groups", "Members of groups", "group email addresses"),
            (
                "org_units",
                "Organisational units",
                "unit paths such as /Sales",
            ),
        ],
    }
}

/// The scope chosen in a form (`scope`, and `scope_items`: one item a line, or separated
/// by commas), as `provider`'s connection takes it. `provisioning` checks it again.
pub fn scope_of(provider: Provider, fields: &Fields) -> Result<Value, Error> {
    let items: Vec<&str> = fields
        .raw("scope_items")
        .unwrap_or_default()
        .split(['\n', ',', ';'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let kind = fields.get("scope").unwrap_or("all");
    let key = match (provider, kind) {
        (_, "all") => return Ok(json!({"type": "all"})),
        (Provider::Graph, "groups") => {
            if let Some(bad) = items.iter().find(|i| uuid::Uuid::try_parse(i).is_err()) {
                return Err(Error::InvalidValue(format!(
                    "`{}` is not a group's object id: Entra shows it as a GUID \
                     (b1e2c3d4-a5b6-4c7d-8e9f-0a1b2c3d4e5f)",
                    bad.chars().take(80).collect::<String>()
                )));
            }
            "group_ids"
        }
        (Provider::Google, "groups") => "group_emails",
        (Provider::Google, "org_units") => "paths",
        _ => {
            let kinds: Vec<&str> = scope_kinds(provider).iter().map(|k| k.1).collect();
            return Err(Error::InvalidValue(format!(
                "the scope must be one of: {}",
                kinds.join(", ")
            )));
        }
    };
    if items.is_empty() {
        return Err(Error::InvalidValue(
            "name at least one group or unit, one a line, or read the whole directory".into(),
        ));
    }
    Ok(json!({"type": kind, key: items}))
}

/// The scope fields for a form whose directory is one of `providers`: a choice of kind,
/// and the items, filled with `kind` and `items`.
pub fn scope_fields(providers: &[Provider], prefix: &str, kind: &str, items: &str) -> Markup {
    let mut kinds: Vec<(&str, &str)> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    for p in providers {
        for (value, label, named) in scope_kinds(*p) {
            if !kinds.iter().any(|k| k.0 == *value) {
                kinds.push((value, label));
            }
            if !named.is_empty() {
                let whose = if providers.len() > 1 {
                    provider_name(*p)
                } else {
                    ""
                };
                names.push(format!("{whose} {}: {named}", label.to_lowercase()));
            }
        }
    }
    html! {
        fieldset class="scope" {
            legend { "Who is read" }
            @for (value, label) in &kinds {
                @let id = format!("{prefix}-scope-{value}");
                label for=(id) class="choice" {
                    input type="radio" id=(id) name="scope" value=(value) checked[*value == kind];
                    " " (label)
                }
            }
            @let id = format!("{prefix}-scope-items");
            label for=(id) { "Groups or units, one a line (" (names.join("; ").trim()) ")" }
            textarea id=(id) name="scope_items" rows="3" { (items) }
        }
    }
}

/// A scope as the form shows it: its kind and its items, one a line.
fn scope_values(scope: &Value) -> (String, String) {
    let kind = scope
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("all")
        .to_owned();
    let items = ["group_ids", "group_emails", "paths"]
        .iter()
        .filter_map(|k| scope.get(k).and_then(Value::as_array))
        .flatten()
        .filter_map(Value::as_str)
        .collect::<Vec<_>>()
        .join("\n");
    (kind, items)
}

/// A scope (as stored, JSON) in words: "the whole directory", "members of 2 groups: …".
pub fn scope_words(scope: &Value) -> String {
    let (kind, items) = scope_values(scope);
    let items: Vec<&str> = items.lines().collect();
    let what = match kind.as_str() {
        "all" => return "the whole directory".into(),
        "groups" => ("members of", "group", "groups"),
        "org_units" => ("people of", "unit", "units"),
        other => return other.to_owned(),
    };
    let shown = items.iter().take(3).copied().collect::<Vec<_>>().join(", ");
    format!(
        "{} {} {}: {shown}{}",
        what.0,
        items.len(),
        if items.len() == 1 { what.1 } else { what.2 },
        if items.len() > 3 { ", …" } else { "" }
    )
}

/// The form's values: from the stored connection, or as posted (never a secret).
#[derive(Default)]
struct Values {
    directory: String,
    cloud: String,
    client_id: String,
    include_guests: bool,
    admin_email: String,
    customer: String,
    scope: String,
    scope_items: String,
}

impl Values {
    fn of(config: &DirectoryConfig) -> Self {
        match config {
            DirectoryConfig::Graph(c) => {
                let (scope, scope_items) =
                    scope_values(&serde_json::to_value(&c.scope).unwrap_or_default());
                Self {
                    directory: c.directory_tenant_id.as_str().to_owned(),
                    cloud: c.cloud.as_str().to_owned(),
                    client_id: c.client_id.map(|id| id.to_string()).unwrap_or_default(),
                    include_guests: c.include_guests,
                    scope,
                    scope_items,
                    ..Self::default()
                }
            }
            DirectoryConfig::Google(c) => {
                let (scope, scope_items) =
                    scope_values(&serde_json::to_value(&c.scope).unwrap_or_default());
                Self {
                    admin_email: c.admin_email.clone(),
                    customer: c.customer.clone(),
                    scope,
                    scope_items,
                    ..Self::default()
                }
            }
        }
    }

    fn posted(fields: &Fields) -> Self {
        let text = |name: &str| fields.get(name).unwrap_or_default().to_owned();
        Self {
            directory: text("directory_tenant_id"),
            cloud: text("cloud"),
            client_id: text("client_id"),
            include_guests: fields.get("include_guests").is_some(),
            admin_email: text("admin_email"),
            customer: text("customer"),
            scope: text("scope"),
            scope_items: fields.raw("scope_items").unwrap_or_default().to_owned(),
        }
    }
}

/// What saving does to the tenant's `people` people, in words.
fn what_happens(tenant: &Tenant, provider: Provider, replacing: bool, people: i64) -> Markup {
    let name = provider_name(provider);
    let people = format!("{people} {}", if people == 1 { "person" } else { "people" });
    html! {
        div class="notice" id="what-happens" {
            @if replacing {
                p {
                    "Saving replaces the connection's settings. A new directory, cloud or scope "
                    "forgets what the last runs learnt: the next run reads everything again and "
                    "deprovisions the people the directory no longer lists (a run that would "
                    "deprovision more than the brake allows is held for approval)."
                }
            } @else {
                p {
                    "Saving makes " strong { (name) } " the source of this tenant's "
                    strong { (people) } " (today: " (tenant.source.display_name()) "). "
                    "SCIM writes are refused from then on."
                }
                p {
                    "The first run adopts the people the directory lists (same userName or email: "
                    "same id, same history) and creates the others. People it does not list stay "
                    "as they are. Nothing runs until you start it: begin with a dry run."
                }
            }
        }
    }
}

struct FormPage<'a> {
    tenant: &'a Tenant,
    provider: Provider,
    values: Values,
    /// The connection stored now, if it is this provider's.
    replacing: bool,
    people: i64,
    failed: Option<String>,
}

fn form(op: &Operator, state: &AppState, page: FormPage<'_>) -> Markup {
    let FormPage {
        tenant,
        provider,
        values: v,
        replacing,
        people,
        failed,
    } = page;
    let settings = &state.settings;
    let here = format!("/console/t/{}/directory", tenant.slug);
    let body = html! {
        p { a href={ "/console/t/" (tenant.slug) "/connection" } { "← Connection" } }
        h2 { @if replacing { "Edit the " } @else { "Connect " } (provider_name(provider)) @if replacing { " connection" } }
        @if let Some(why) = &failed { p class="error" role="alert" { (why) } }
        form method="post" action=(here) {
            (csrf(op))
            input type="hidden" name="provider" value=(provider.as_str());
            @match provider {
                Provider::Graph => {
                    label for="d-directory" { "Directory (tenant) id or domain" }
                    input type="text" id="d-directory" name="directory_tenant_id" required
                        value=(v.directory) placeholder="contoso.onmicrosoft.com";
                    label for="d-cloud" { "Cloud" }
                    select id="d-cloud" name="cloud" {
                        @for c in Cloud::ALL {
                            option value=(c.as_str()) selected[v.cloud == c.as_str()] { (c.as_str()) }
                        }
                    }
                    div class="row" {
                        div {
                            label for="d-client-id" { "Application (client) id" }
                            input type="text" id="d-client-id" name="client_id" value=(v.client_id)
                                placeholder=(if settings.graph_app.is_some() { "empty: the platform's app" } else { "required" });
                        }
                        div {
                            label for="d-client-secret" { "Client secret" }
                            input type="password" id="d-client-secret" name="client_secret" autocomplete="off"
                                placeholder=(if replacing { "empty: keep the stored one" } else { "" });
                        }
                    }
                    p class="muted" {
                        @if settings.graph_app.is_some() {
                            "Leave both empty to use the platform's app registration. "
                        }
                        "A secret is stored sealed and never shown again."
                    }
                    label for="d-guests" class="choice" {
                        input type="checkbox" id="d-guests" name="include_guests" value="true" checked[v.include_guests];
                        " Guests of the directory are people too"
                    }
                },
                Provider::Google => {
                    label for="d-admin" { "Administrator the service account acts for" }
                    input type="email" id="d-admin" name="admin_email" required value=(v.admin_email)
                        placeholder="it-admin@example.com";
                    label for="d-customer" { "Customer" }
                    input type="text" id="d-customer" name="customer"
                        value=(if v.customer.is_empty() { "my_customer" } else { &v.customer });
                    label for="d-key" { "Service account key (JSON)" }
                    textarea id="d-key" name="service_account" rows="4" autocomplete="off" {}
                    p class="muted" {
                        @if settings.google_account.is_some() {
                            "Leave it empty to use the platform's service account. "
                        }
                        "A key is stored sealed and never shown again; to keep the connection's "
                        "own key when editing, paste it again."
                    }
                },
            }
            (scope_fields(&[provider], "d", if v.scope.is_empty() { "all" } else { &v.scope }, &v.scope_items))
            (what_happens(tenant, provider, replacing, people))
            p {
                button type="submit" class="primary" {
                    @if replacing { "Save the connection" } @else { "Connect and make " (provider_name(provider)) " the source" }
                }
                " " a class="button" href={ "/console/t/" (tenant.slug) "/connection" } { "Cancel" }
            }
        }
    };
    tenant_page(op, tenant, Section::Connection, body)
}

/// The stored connection, when the tenant has one.
async fn stored(state: &AppState, slug: &str) -> Result<Option<connections::Connection>, Error> {
    match connections::get(&state.db, slug.to_owned()).await {
        Ok(c) => Ok(Some(c)),
        Err(Error::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
pub struct FormQuery {
    provider: Option<String>,
}

fn provider_of(
    text: Option<&str>,
    stored: Option<&connections::Connection>,
) -> Result<Provider, Error> {
    match text {
        Some(p) => Provider::parse(p).ok_or_else(|| {
            Error::InvalidValue(format!("the directory must be {}", Provider::choices()))
        }),
        None => Ok(stored.map_or(Provider::Graph, |c| c.provider)),
    }
}

/// The form, filled with the stored connection when it is this provider's.
pub async fn page(
    OnTenant { who: op, slug }: OnTenant<Operator>,
    state: web::Data<AppState>,
    query: web::Query<FormQuery>,
) -> Reply {
    let tenant = admin::tenant(&state.db, slug.clone()).await?;
    let stored = stored(&state, &slug).await?;
    let provider = provider_of(query.provider.as_deref(), stored.as_ref())?;
    let same = stored.filter(|c| c.provider == provider);
    let people = admin::counts(&state.db, slug).await?.total;
    let page = FormPage {
        tenant: &tenant,
        provider,
        values: same
            .as_ref()
            .map(|c| Values::of(&c.config))
            .unwrap_or_default(),
        replacing: same.is_some(),
        people,
        failed: None,
    };
    Ok(html(form(&op, &state, page)))
}

/// Saves the connection; a mistake comes back as the form with the reason, nothing saved.
pub async fn save(
    OnTenant { who: posted, slug }: OnTenant<Posted>,
    state: web::Data<AppState>,
) -> Reply {
    let Posted { op, fields } = posted;
    let provider = provider_of(Some(fields.get("provider").unwrap_or_default()), None)?;
    match save_posted(&state, &slug, provider, &fields).await {
        Ok(saved) => {
            state.rate_limits.forget(saved.tenant.id);
            Ok(see_other(&format!(
                "/console/t/{slug}/connection?notice=connected"
            )))
        }
        Err(e) => {
            refused(e, |why| async move {
                let tenant = admin::tenant(&state.db, slug.clone()).await?;
                let replacing = stored(&state, &slug)
                    .await?
                    .is_some_and(|c| c.provider == provider);
                let people = admin::counts(&state.db, slug).await?.total;
                let page = FormPage {
                    tenant: &tenant,
                    provider,
                    values: Values::posted(&fields),
                    replacing,
                    people,
                    failed: Some(why),
                };
                Ok(form(&op, &state, page))
            })
            .await
        }
    }
}

async fn save_posted(
    state: &AppState,
    slug: &str,
    provider: Provider,
    fields: &Fields,
) -> Result<Saved, Error> {
    let scope = scope_of(provider, fields)?;
    let settings = &state.settings;
    let keyring = settings.keyring.clone();
    let now = state.clock.now();
    let slug = slug.to_owned();
    match provider {
        Provider::Graph => {
            let directory_tenant_id =
                DirectoryTenantId::parse(fields.get("directory_tenant_id").unwrap_or_default())
                    .map_err(Error::InvalidValue)?;
            let cloud = fields
                .get("cloud")
                .map(|c| {
                    Cloud::parse(c).ok_or_else(|| {
                        Error::InvalidValue(format!("the cloud must be {}", Cloud::choices()))
                    })
                })
                .transpose()?;
            let client_id = fields
                .get("client_id")
                .map(|id| {
                    uuid::Uuid::try_parse(id).map_err(|_| {
                        Error::InvalidValue(
                            "the application (client) id is a GUID, as Entra shows it".into(),
                        )
                    })
                })
                .transpose()?;
            let scope: ConnectionScope = serde_json::from_value(scope)
                .map_err(|e| Error::InvalidValue(format!("scope: {e}")))?;
            let input = ConnectionInput {
                provider,
                directory_tenant_id,
                cloud,
                client_id,
                client_secret: fields
                    .raw("client_secret")
                    .filter(|s| !s.is_empty())
                    .map(|s| Secret::new(s.to_owned())),
                scope,
                include_guests: Some(fields.get("include_guests").is_some()),
            };
            let platform = settings.graph_app.clone();
            connections::save(&state.db, keyring, platform, slug, input, now).await
        }
        Provider::Google => {
            let scope: GoogleScope = serde_json::from_value(scope)
                .map_err(|e| Error::InvalidValue(format!("scope: {e}")))?;
            let input = GoogleInput {
                admin_email: fields.get("admin_email").unwrap_or_default().to_owned(),
                customer: fields.get("customer").unwrap_or("my_customer").to_owned(),
                service_account: fields
                    .get("service_account")
                    .map(|s| Secret::new(s.to_owned())),
                scope,
            };
            let platform = settings.google_account.clone();
            connections::save_google(&state.db, keyring, platform, slug, input, now).await
        }
    }
}
