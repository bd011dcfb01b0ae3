//! `/connect/…`: the pages a client's IT admin sees through a connect link
//! (`provisioning::connect_links`). Server-rendered, self-contained HTML: one inline
//! stylesheet allowed by its hash, no script, no third-party asset, a strict
//! Content-Security-Policy; never cached, never sending a referrer (the link token is in
//! the URL). The request log shows `/connect/{token}`, never the token
//! (`middleware::logged_path`).

use std::fmt::Write as _;
use std::sync::OnceLock;

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::middleware::RequestId;
use super::AppState;
use crate::auth::failures::Limited;
use crate::domain::{DirectoryTenantId, Provider};
use crate::error::retry_after_secs;
use crate::provisioning::connect_links::{
    self as links, Candidate, Connected, LinkProblem, LinkSettings, OpenLink, Purpose, Signer,
};
use crate::sync::google;
use crate::sync::graph::{self, Cloud};

/// Where Microsoft sends the admin back after the consent screen.
pub const CALLBACK_PATH: &str = "/connect/microsoft/callback";

pub fn routes(cfg: &mut web::ServiceConfig) {
    // The callback first: `/connect/{token}` would not match it (one segment), but the
    // order says which path is which.
    cfg.route(CALLBACK_PATH, web::get().to(microsoft_callback))
        .route("/connect/{token}", web::get().to(link_page))
        .route("/connect/{token}", web::post().to(google_verify));
}

const STYLE: &str = "body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;\
padding:0 1rem;color:#1d2430}h1{font-size:1.5rem}ul{padding-left:1.2rem}\
.button{display:inline-block;background:#0b57d0;color:#fff;padding:.6rem 1.2rem;\
border-radius:.3rem;text-decoration:none;font-weight:600}.muted{color:#5b6472;font-size:.9rem}\
.detail{background:#f3f4f6;padding:.6rem;border-radius:.3rem;overflow-wrap:anywhere}";

/// The policy of every page: nothing loads but the one stylesheet; a form posts only back
/// to this server (`form: true`, the Google form) or nowhere; no frame embeds the page, no
/// `<base>` moves its links.
fn content_security_policy(form: bool) -> &'static str {
    static POLICIES: OnceLock<[String; 2]> = OnceLock::new();
    let [without, with] = POLICIES.get_or_init(|| {
        let hash = STANDARD.encode(Sha256::digest(STYLE.as_bytes()));
        ["'none'", "'self'"].map(|action| {
            format!(
                "default-src 'none'; style-src 'sha256-{hash}'; form-action {action}; \
                 frame-ancestors 'none'; base-uri 'none'"
            )
        })
    });
    if form {
        with
    } else {
        without
    }
}

/// Text made safe for HTML content and attribute values.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A page: its status, its title (plain text) and its body (HTML, escaped by the caller).
fn page(status: StatusCode, title: &str, body: &str) -> HttpResponse {
    page_with(status, title, body, false)
}

/// [`page`], with a form that posts back to this server when `form`.
fn page_with(status: StatusCode, title: &str, body: &str, form: bool) -> HttpResponse {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex\"><title>{title}</title>\
         <style>{STYLE}</style></head><body><h1>{title}</h1>{body}</body></html>",
        title = escape(title),
    );
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(content_security_policy(form)),
        ))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .body(html)
}

fn paragraph(text: &str) -> String {
    format!("<p>{}</p>", escape(text))
}

const ASK_AGAIN: &str =
    "Ask your training provider for a new link; this one cannot be used any more.";

/// The page that says why a link's step cannot go on.
fn problem_page(problem: LinkProblem) -> HttpResponse {
    let (status, title, text): (StatusCode, &str, String) = match problem {
        LinkProblem::Unknown => (
            StatusCode::NOT_FOUND,
            "This link is not valid",
            format!("The link may have been copied incompletely. {ASK_AGAIN}"),
        ),
        LinkProblem::Used => (
            StatusCode::GONE,
            "This link was used already",
            format!("Your directory was connected with it. {ASK_AGAIN}"),
        ),
        LinkProblem::Expired => (
            StatusCode::GONE,
            "This link has expired",
            ASK_AGAIN.to_owned(),
        ),
        LinkProblem::Revoked => (
            StatusCode::GONE,
            "This link was withdrawn",
            format!("Your training provider withdrew it. {ASK_AGAIN}"),
        ),
        LinkProblem::BadSignature => (
            StatusCode::BAD_REQUEST,
            "This answer cannot be checked",
            "The answer that brought you here was not issued by this service, or was \
             changed on the way. Nothing was saved. Open the link you were sent again to \
             start over."
                .to_owned(),
        ),
        LinkProblem::StateExpired => (
            StatusCode::BAD_REQUEST,
            "This answer is too old",
            "More than an hour passed since you started from the link. Nothing was saved. \
             Open the link you were sent again to start over."
                .to_owned(),
        ),
        LinkProblem::Replayed => (
            StatusCode::BAD_REQUEST,
            "This answer was used already",
            "Each answer can be used once, and this one was. Nothing was saved. Open the \
             link you were sent again to start over."
                .to_owned(),
        ),
        LinkProblem::AlreadyConnected => (
            StatusCode::CONFLICT,
            "Already connected",
            "Your organisation already has a directory connected to this service. Nothing \
             was changed. Contact your training provider if it should be replaced."
                .to_owned(),
        ),
        LinkProblem::DirectoryTaken => (
            StatusCode::CONFLICT,
            "This directory is connected to another organisation",
            "The directory you consented for already feeds another organisation on this \
             service, so it was not connected here. Nothing was saved. Contact your \
             training provider."
                .to_owned(),
        ),
        LinkProblem::Unavailable(why) => {
            tracing::warn!(reason = %why, "a connect link cannot be completed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "This service cannot connect directories right now",
                "Nothing was saved. Contact your training provider.".to_owned(),
            )
        }
        LinkProblem::Failed(e) => {
            let status = e.status();
            if status.is_server_error() {
                tracing::error!(error = %e, cause = ?std::error::Error::source(&e), "a connect link step failed");
            }
            (
                status,
                "Something went wrong",
                "This service could not complete the step. Nothing was saved. Try again in \
                 a few minutes from the link you were sent."
                    .to_owned(),
            )
        }
    };
    page(status, title, &paragraph(&text))
}

fn settings(state: &AppState) -> LinkSettings {
    LinkSettings::of(&state.settings)
}

fn signer(settings: &LinkSettings) -> Result<Signer, LinkProblem> {
    let keyring = settings.keyring.as_deref().ok_or_else(|| {
        LinkProblem::Unavailable("the server has no SCIMD_SECRET_KEY to sign with".into())
    })?;
    Ok(Signer::new(keyring)?)
}

fn when(at: DateTime<Utc>) -> String {
    at.format("%-d %B %Y at %H:%M UTC").to_string()
}

/// Opens the link `token` names. A token no link has is a failed sign-in of the client's
/// address ([`crate::auth::failures`]), and an address past its allowance gets 429 before
/// the lookup: link tokens cannot be guessed, and trying costs the guesser.
async fn open_link(
    req: &HttpRequest,
    state: &AppState,
    token: String,
    now: DateTime<Utc>,
) -> Result<OpenLink, HttpResponse> {
    let from = super::client::client_key(req, &state.settings.trusted_proxies);
    let attempt = state.signins.begin(from).map_err(|Limited(wait)| {
        let mut res = page(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many attempts",
            "<p>Too many links that do not exist were opened from your network. Wait a \
             minute, then open the link you were sent again.</p>",
        );
        if let Ok(secs) = HeaderValue::from_str(&retry_after_secs(wait).to_string()) {
            res.headers_mut().insert(header::RETRY_AFTER, secs);
        }
        res
    })?;
    let opened = links::open(&state.db, token, now).await;
    if !matches!(opened, Err(LinkProblem::Unknown)) {
        attempt.succeeded();
    }
    opened.map_err(problem_page)
}

/// `GET /connect/{token}`: what the link asks and the step to give it.
async fn link_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    token: web::Path<String>,
) -> HttpResponse {
    let now = state.clock.now();
    let open = match open_link(&req, &state, token.into_inner(), now).await {
        Ok(open) => open,
        Err(res) => return res,
    };
    let result = match open.link.provider {
        Provider::Graph => microsoft_page(&state, &open, now),
        Provider::Google => google_page(&state, &open, now, None),
    };
    result.unwrap_or_else(problem_page)
}

/// Who asks, what is read and what is not, in plain words.
fn what_is_asked(open: &OpenLink, directory: &str) -> String {
    let mut html = String::new();
    let _ = write!(
        html,
        "<p>This link connects the {directory} of <strong>{tenant}</strong> to the \
         security-awareness training service your organisation uses, so that the list of \
         people who receive training stays current without anyone typing it in.</p>\
         <p>The service will <strong>read</strong>, and never change:</p>\
         <ul><li>names</li><li>email addresses</li><li>department</li><li>manager</li>\
         <li>group membership</li></ul>\
         <p>It will <strong>not</strong> read passwords, mail or files, and it cannot sign \
         in as anyone.</p>",
        directory = escape(directory),
        tenant = escape(&open.tenant.name),
    );
    html
}

fn microsoft_page(
    state: &AppState,
    open: &OpenLink,
    now: DateTime<Utc>,
) -> Result<HttpResponse, LinkProblem> {
    let settings = settings(state);
    if let Some(missing) = settings.missing(Provider::Graph) {
        return Err(LinkProblem::Unavailable(missing));
    }
    let (Some(app), Some(base)) = (settings.graph_app.as_ref(), settings.base()) else {
        return Err(LinkProblem::Unavailable(
            "no platform app or public URL".into(),
        ));
    };
    let signed = signer(&settings)?.sign(Purpose::Consent, open.link.id, now);
    let consent = graph::admin_consent_url(
        &state.directories.roots,
        Cloud::Global,
        &app.client_id,
        &format!("{base}{CALLBACK_PATH}"),
        &signed,
    )
    .map_err(|e| LinkProblem::Unavailable(e.message))?;
    let mut body = what_is_asked(open, "Microsoft 365 (Entra ID) directory");
    let _ = write!(
        body,
        "<p>You need to be a Global Administrator (or Privileged Role Administrator) of \
         your Microsoft 365 organisation. The button takes you to Microsoft, which shows \
         the permissions it grants and asks you to accept.</p>\
         <p><a class=\"button\" href=\"{href}\">Sign in with Microsoft and review</a></p>\
         <p class=\"muted\">This link works once and expires on {expires}.</p>",
        href = escape(consent.as_str()),
        expires = escape(&when(open.link.expires_at)),
    );
    Ok(page(
        StatusCode::OK,
        &format!("Connect {}'s directory", open.tenant.name),
        &body,
    ))
}

/// What Microsoft's admin consent endpoint sends back (the redirect's query).
#[derive(Deserialize)]
struct CallbackQuery {
    admin_consent: Option<String>,
    tenant: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

fn request_id(req: &HttpRequest) -> Option<String> {
    req.extensions().get::<RequestId>().map(|r| r.0.clone())
}

/// `GET /connect/microsoft/callback`: checks the state, then saves, tests and starts the
/// connection the admin consented to.
async fn microsoft_callback(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    // Unknown members are left alone; a query that does not read is a bad answer.
    let query = web::Query::<CallbackQuery>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .unwrap_or(CallbackQuery {
            admin_consent: None,
            tenant: None,
            state: None,
            error: None,
            error_description: None,
        });
    match consent(&state, query, request_id(&req)).await {
        Ok(res) => res,
        Err(problem) => problem_page(problem),
    }
}

async fn consent(
    state: &AppState,
    query: CallbackQuery,
    request_id: Option<String>,
) -> Result<HttpResponse, LinkProblem> {
    let now = state.clock.now();
    let settings = settings(state);
    let signed = signer(&settings)?.verify(
        Purpose::Consent,
        query.state.as_deref().unwrap_or_default(),
        now,
    )?;
    let open = links::consume(&state.db, signed, now).await?;
    if open.link.provider != Provider::Graph {
        return Err(LinkProblem::BadSignature);
    }
    if let Some(error) = query.error.as_deref() {
        let description = query.error_description.as_deref().unwrap_or_default();
        tracing::info!(link = %open.link.id, error, "admin consent was not given");
        let body = format!(
            "{}<p class=\"detail\">{}</p>{}",
            paragraph("Microsoft answered that consent was not given:"),
            escape(&format!("{error}: {description}")),
            paragraph(
                "Nothing was saved. If you declined by mistake, or another administrator \
                 must consent, open the link you were sent again."
            ),
        );
        return Ok(page(StatusCode::OK, "Consent was not given", &body));
    }
    let consented = query
        .admin_consent
        .as_deref()
        .is_some_and(|c| c.eq_ignore_ascii_case("true"));
    // Microsoft names the directory by its tenant id, a GUID; the connection is made for
    // the link's own tenant only, whatever directory that is.
    let directory = query
        .tenant
        .as_deref()
        .filter(|t| uuid::Uuid::try_parse(t).is_ok())
        .and_then(|t| DirectoryTenantId::parse(t).ok());
    let (true, Some(directory)) = (consented, directory) else {
        let body = paragraph(
            "Microsoft's answer did not say that consent was given for a directory. \
             Nothing was saved. Open the link you were sent again to start over.",
        );
        return Ok(page(
            StatusCode::BAD_REQUEST,
            "Consent was not confirmed",
            &body,
        ));
    };
    let app = settings
        .graph_app
        .as_ref()
        .ok_or_else(|| LinkProblem::Unavailable("no platform app".into()))?;
    let candidate = links::graph_connection(&open, directory, app)?;
    let report = match state.directories.graph(candidate.clone()) {
        Ok(connector) => connector.0.test().await,
        Err(e) => crate::sync::TestReport::failed(e),
    };
    if !report.ok {
        tracing::info!(link = %open.link.id, detail = %report.detail, "a consented connection failed its test");
        let body = format!(
            "{}<p class=\"detail\">{}</p>{}",
            paragraph("Consent was given, but the service could not read the directory with it:"),
            escape(&report.detail),
            paragraph(
                "Nothing was saved. Microsoft can take a few minutes to apply a new consent: \
                 open the link you were sent again in a few minutes. If this persists, send \
                 this message to your training provider."
            ),
        );
        return Ok(page(StatusCode::OK, "Not connected yet", &body));
    }
    let done = links::connect(
        &state.db,
        settings,
        open.link.id,
        Candidate::Graph(Box::new(candidate)),
        request_id,
        now,
    )
    .await?;
    Ok(connected_page(state, &open, &done, "Microsoft 365"))
}

/// The page after a connection was saved; wakes the scheduler for the first dry run.
fn connected_page(state: &AppState, open: &OpenLink, done: &Connected, what: &str) -> HttpResponse {
    state.sync_wake.notify_one();
    tracing::info!(link = %open.link.id, tenant = %done.tenant.slug, run = %done.run_id, "connected through a link");
    let body = format!(
        "{}{}",
        paragraph(&format!(
            "The {what} directory of {} is connected. A first trial read has started; it \
             changes nothing, and your training provider reviews it before anyone is added.",
            done.tenant.name
        )),
        paragraph("You can close this page."),
    );
    page(StatusCode::OK, "Connected", &body)
}

/// The Google page: what to grant in the Admin console, and the form that verifies it.
/// `notice` is what went wrong the last time the form was sent.
fn google_page(
    state: &AppState,
    open: &OpenLink,
    now: DateTime<Utc>,
    notice: Option<(StatusCode, String)>,
) -> Result<HttpResponse, LinkProblem> {
    let settings = settings(state);
    if let Some(missing) = settings.missing(Provider::Google) {
        return Err(LinkProblem::Unavailable(missing));
    }
    let Some(account) = settings.google_account.as_ref() else {
        return Err(LinkProblem::Unavailable(
            "no platform service account".into(),
        ));
    };
    let form_token = signer(&settings)?.sign(Purpose::Form, open.link.id, now);
    let mut body = what_is_asked(open, "Google Workspace directory");
    let status = match &notice {
        Some((status, text)) => {
            let _ = write!(body, "<p class=\"detail\">{}</p>", escape(text));
            *status
        }
        None => StatusCode::OK,
    };
    let _ = write!(
        body,
        "<p>You need to be a super administrator of your Google Workspace.</p>\
         <ol><li>In the Google Admin console (admin.google.com), open <strong>Security \
         &rsaquo; Access and data control &rsaquo; API controls &rsaquo; Manage Domain Wide \
         Delegation</strong> and choose <strong>Add new</strong>.</li>\
         <li>Client ID: <code>{client_id}</code></li>\
         <li>OAuth scopes (all four, read-only):<p class=\"detail\"><code>{scopes}</code></p></li>\
         <li>Choose <strong>Authorise</strong>, then come back to this page.</li></ol>\
         <form method=\"post\"><p><label for=\"admin_email\">Your administrator email \
         address</label><br><input id=\"admin_email\" name=\"admin_email\" type=\"email\" \
         required autocomplete=\"email\"></p>\
         <input type=\"hidden\" name=\"form_token\" value=\"{form_token}\">\
         <p><button class=\"button\" type=\"submit\">Verify and connect</button></p></form>\
         <p class=\"muted\">Verifying reads one page of your directory as that administrator \
         and changes nothing. This link works once and expires on {expires}.</p>",
        client_id = escape(account.client_id()),
        scopes = escape(&google::SCOPES.join(",")),
        form_token = escape(&form_token),
        expires = escape(&when(open.link.expires_at)),
    );
    Ok(page_with(
        status,
        &format!("Connect {}'s directory", open.tenant.name),
        &body,
        true,
    ))
}

/// What the Google form sends.
#[derive(Deserialize)]
struct VerifyForm {
    admin_email: Option<String>,
    form_token: Option<String>,
}

/// `POST /connect/{token}`: "Verify and connect" on the Google page. Checks the form's
/// anti-forgery token (signed for this link, less than an hour old), tests the connection
/// as the administrator named, and saves it when the test passes; otherwise the page
/// again, saying why, with nothing stored.
async fn google_verify(
    req: HttpRequest,
    state: web::Data<AppState>,
    token: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let now = state.clock.now();
    let open = match open_link(&req, &state, token.into_inner(), now).await {
        Ok(open) if open.link.provider == Provider::Google => open,
        Ok(_) => return problem_page(LinkProblem::BadSignature),
        Err(res) => return res,
    };
    match verify(&state, &open, &body, request_id(&req), now).await {
        Ok(res) => res,
        Err(problem) => problem_page(problem),
    }
}

async fn verify(
    state: &AppState,
    open: &OpenLink,
    body: &[u8],
    request_id: Option<String>,
    now: DateTime<Utc>,
) -> Result<HttpResponse, LinkProblem> {
    // An HTML form's body is a query string (application/x-www-form-urlencoded).
    let form = std::str::from_utf8(body)
        .ok()
        .and_then(|b| web::Query::<VerifyForm>::from_query(b).ok())
        .map(web::Query::into_inner)
        .ok_or(LinkProblem::BadSignature)?;
    let settings = settings(state);
    let signed = signer(&settings)?.verify(
        Purpose::Form,
        form.form_token.as_deref().unwrap_or_default(),
        now,
    )?;
    if signed.link_id != open.link.id {
        return Err(LinkProblem::BadSignature);
    }
    let admin_email = form.admin_email.unwrap_or_default();
    let input = links::google_connection(open, &admin_email)?;
    let report = match state.directories.test_google(input.clone()).await {
        Ok(report) => report,
        // Settings the test refuses (an address that is not one): the form again.
        Err(e) if e.status().is_client_error() => {
            return google_page(
                state,
                open,
                now,
                Some((StatusCode::BAD_REQUEST, e.to_string())),
            );
        }
        Err(e) => return Err(e.into()),
    };
    if !report.ok {
        tracing::info!(link = %open.link.id, detail = %report.detail, "a delegated connection failed its test");
        let notice = format!(
            "Not connected yet: {} Nothing was saved. Check the delegation above (Google can \
             take a few minutes to apply it) and verify again.",
            report.detail
        );
        return google_page(state, open, now, Some((StatusCode::OK, notice)));
    }
    let done = links::connect(
        &state.db,
        settings,
        open.link.id,
        Candidate::Google(input),
        request_id,
        now,
    )
    .await?;
    Ok(connected_page(state, open, &done, "Google Workspace"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_for_content_and_attributes() {
        assert_eq!(
            escape("<a href=\"x\">Tom & Jerry's</a>"),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;"
        );
    }

    #[test]
    fn the_policy_allows_exactly_the_inline_stylesheet() {
        let csp = content_security_policy(false);
        assert!(
            csp.starts_with("default-src 'none'; style-src 'sha256-"),
            "{csp}"
        );
        assert!(!csp.contains("unsafe-inline"));
        let hash = STANDARD.encode(Sha256::digest(STYLE.as_bytes()));
        assert!(csp.contains(&hash));
        for directive in [
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "form-action 'none'",
        ] {
            assert!(csp.contains(directive), "{directive}");
        }
        let with_form = content_security_policy(true);
        assert_eq!(
            with_form,
            csp.replace("form-action 'none'", "form-action 'self'")
        );
    }
}
