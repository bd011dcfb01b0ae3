//! The operator console under `/console`: server-rendered pages (maud templates, checked
//! at compile time) over the same `provisioning` and `store` functions the admin API
//! calls. Its only rules are about the browser: sessions, anti-forgery tokens and headers.
//!
//! - **Sign-in.** An operator signs in with an admin key, verified by the admin API's own
//!   [`crate::auth::Verifier`] (so wrong keys are slowed and bounded exactly like bad
//!   tokens). The session is an opaque random id in the `scimd_console` cookie (HttpOnly,
//!   SameSite=Strict, Secure over https), stored hashed, with idle and absolute expiry
//!   (`provisioning::console`).
//! - **Anti-forgery.** Every POST carries the session's token in a `csrf` field; the
//!   sign-in form carries a pre-session token matched against a cookie of its own.
//! - **Headers.** A strict Content-Security-Policy (scripts and styles only from
//!   `/console/assets`, nothing inline), `X-Frame-Options: DENY`, no caching. No secret is
//!   ever put in a URL: a token or link is shown once, in the answer to the POST that made
//!   it.
//! - **Assets.** htmx and the console's own script and stylesheet are compiled into the
//!   binary (`assets/`).
//!
//! `SCIMD_CONSOLE=off` leaves the whole scope unrouted (404).

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

use actix_web::dev::{HttpServiceFactory, Payload};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::DefaultHeaders;
use actix_web::{guard, web, FromRequest, HttpMessage, HttpRequest, HttpResponse};

mod assets;
mod auth;
mod connection;
mod directory;
mod groups;
mod import;
mod layout;
mod people;
mod tenants;

use super::extract::{ItemPath, OnItem};
use super::middleware::RequestId;
use super::parse_id;
use super::AppState;
use crate::error::{ConsoleError, Error};
use crate::provisioning::admin::{Act, By};
use crate::provisioning::console::{self as sessions, SessionId};

/// The session cookie.
pub const SESSION_COOKIE: &str = "scimd_console";
/// The sign-in form's anti-forgery cookie (before there is a session).
pub const PRE_SESSION_COOKIE: &str = "scimd_console_pre";
/// The field every console form carries its anti-forgery token in.
pub const CSRF_FIELD: &str = "csrf";

/// Scripts and styles only from this server, nothing inline, no frames, forms only to
/// this server.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; \
     frame-ancestors 'none'; base-uri 'none'";

type Reply = Result<HttpResponse, ConsoleError>;

/// The `/console` scope; unrouted when the console is off.
pub fn service() -> impl HttpServiceFactory {
    web::scope("/console")
        .guard(guard::fn_guard(|ctx| {
            ctx.app_data::<web::Data<AppState>>()
                .is_some_and(|s| s.settings.console)
        }))
        .wrap(
            DefaultHeaders::new()
                .add((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
                .add((header::X_FRAME_OPTIONS, "DENY"))
                .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
                .add((header::REFERRER_POLICY, "no-referrer"))
                .add((header::CACHE_CONTROL, "no-store")),
        )
        .route("", web::get().to(tenants::list))
        .route("/", web::get().to(tenants::list))
        .route("/assets/{name}", web::get().to(assets::serve))
        .route("/sign-in", web::get().to(auth::form))
        .route("/sign-in", web::post().to(auth::sign_in))
        .route("/sign-out", web::post().to(auth::sign_out))
        .route("/tenants", web::post().to(tenants::create))
        .route("/t/{slug}", web::get().to(people::list))
        .route("/t/{slug}/people", web::post().to(people::bulk))
        .route("/t/{slug}/people/{id}", web::get().to(people::one))
        .route(
            "/t/{slug}/people/{id}/restore",
            web::post().to(people::restore),
        )
        .route(
            "/t/{slug}/people/{id}/delete",
            web::post().to(people::delete),
        )
        .route("/t/{slug}/groups", web::get().to(groups::list))
        .route("/t/{slug}/groups/{id}", web::get().to(groups::confirm))
        .route("/t/{slug}/groups/{id}", web::post().to(groups::set))
        .route("/t/{slug}/connection", web::get().to(connection::page))
        .route("/t/{slug}/directory", web::get().to(directory::page))
        .route("/t/{slug}/directory", web::post().to(directory::save))
        .route("/t/{slug}/tokens", web::post().to(connection::issue_token))
        .route(
            "/t/{slug}/tokens/{key_id}/revoke",
            web::post().to(connection::revoke_token),
        )
        .route("/t/{slug}/links", web::post().to(connection::create_link))
        .route(
            "/t/{slug}/links/{id}/revoke",
            web::post().to(connection::revoke_link),
        )
        .route("/t/{slug}/test", web::post().to(connection::test))
        .route("/t/{slug}/sync", web::post().to(connection::sync))
        .route("/t/{slug}/runs/{id}", web::get().to(connection::run))
        .route(
            "/t/{slug}/runs/{id}/panel",
            web::get().to(connection::run_panel),
        )
        .route(
            "/t/{slug}/runs/{id}/approve",
            web::post().to(connection::approve),
        )
        .route(
            "/t/{slug}/source",
            web::get().to(connection::source_confirm),
        )
        .route("/t/{slug}/source", web::post().to(connection::source))
        .route("/t/{slug}/import", web::get().to(import::page))
        .route("/t/{slug}/import", web::post().to(import::run))
        .route("/t/{slug}/imports/{id}", web::get().to(import::job))
        .route(
            "/t/{slug}/imports/{id}/panel",
            web::get().to(import::job_panel),
        )
        .route("/t/{slug}/activity", web::get().to(tenants::activity))
        .route("/t/{slug}/settings", web::get().to(tenants::settings))
        .route("/t/{slug}/settings", web::post().to(tenants::save_settings))
        .default_service(web::to(no_such_page))
}

async fn no_such_page() -> Reply {
    Err(Error::NotFound("no such console page".into()).into())
}

/// The value of cookie `name` in the request's `Cookie` header.
fn cookie(req: &HttpRequest, name: &str) -> Option<String> {
    req.headers()
        .get_all(header::COOKIE)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// Whether the browser reached this server over https (directly or through a proxy that
/// says so), or the server's public URL is https: then cookies are `Secure`.
fn over_https(req: &HttpRequest, state: &AppState) -> bool {
    req.connection_info().scheme() == "https"
        || state
            .settings
            .public_url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://"))
}

/// A `Set-Cookie` value for the console's path: HttpOnly, SameSite=Strict, Secure over
/// https; `None` clears the cookie.
fn set_cookie(name: &str, value: Option<&str>, secure: bool) -> String {
    let mut out = match value {
        Some(v) => format!("{name}={v}; Path=/console; HttpOnly; SameSite=Strict"),
        None => format!("{name}=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0"),
    };
    if secure {
        out.push_str("; Secure");
    }
    out
}

fn app_state(req: &HttpRequest) -> Result<web::Data<AppState>, Error> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| Error::internal("application state missing"))
}

/// A signed-in operator: the admin key their session was opened with.
pub struct Operator {
    pub key_id: String,
    pub request_id: String,
    session: SessionId,
}

impl Operator {
    /// The console's writes are the operator's admin key's, as through the API.
    pub fn by(&self) -> By {
        By {
            actor: format!("admin:{}", self.key_id),
            request_id: Some(self.request_id.clone()).filter(|r| !r.is_empty()),
        }
    }

    /// The operator's act on tenant `slug`, now.
    pub fn act(&self, slug: &str, state: &AppState) -> Act {
        Act {
            slug: slug.to_owned(),
            by: self.by(),
            at: state.clock.now(),
        }
    }

    /// The anti-forgery token every form of this session carries.
    pub fn csrf(&self) -> String {
        self.session.csrf_token()
    }
}

impl FromRequest for Operator {
    type Error = ConsoleError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ConsoleError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = app_state(req);
        let presented = cookie(req, SESSION_COOKIE);
        let request_id = req
            .extensions()
            .get::<RequestId>()
            .map(|r| r.0.clone())
            .unwrap_or_default();
        let signed_out = ConsoleError::SignedOut {
            htmx: req.headers().contains_key("hx-request"),
        };
        Box::pin(async move {
            let state = state?;
            let Some(presented) = presented else {
                return Err(signed_out);
            };
            let session = SessionId::presented(&presented);
            let times = state.settings.console_sessions;
            let Some(key_id) =
                sessions::session(&state.db, &session, times, state.clock.now()).await?
            else {
                return Err(signed_out);
            };
            Ok(Operator {
                key_id,
                request_id,
                session,
            })
        })
    }
}

/// The query of a page that a form's answer redirects to: the notice it shows, saying what
/// the form did.
#[derive(serde::Deserialize)]
pub struct NoticeQuery {
    pub notice: Option<String>,
}

/// The path of a page about one of a tenant's things, `K` naming which: its slug and id,
/// for [`OnItem`] to read.
#[derive(serde::Deserialize)]
#[serde(bound = "")]
pub struct ItemAt<K> {
    slug: String,
    id: String,
    #[serde(skip)]
    kind: PhantomData<K>,
}

impl<K: kind::Kind> ItemPath for ItemAt<K> {
    const KIND: &'static str = K::NAME;

    fn into_parts(self) -> (String, String) {
        (self.slug, self.id)
    }
}

/// A request about one of a tenant's `K`s by `W`: an operator, or the form they posted.
pub type Item<W, K> = OnItem<W, ItemAt<K>>;

/// The things a console page can be about, by the name a 404 gives them.
pub mod kind {
    pub trait Kind: 'static {
        const NAME: &'static str;
    }

    macro_rules! kinds {
        ($($kind:ident = $name:literal),* $(,)?) => {$(
            pub enum $kind {}

            impl Kind for $kind {
                const NAME: &'static str = $name;
            }
        )*};
    }

    kinds!(
        Person = "person",
        Group = "group",
        Run = "sync run",
        Link = "connect link",
        Import = "import",
    );
}

/// A form's fields, in order; a name may repeat (the people list's `id` checkboxes).
pub struct Fields(Vec<(String, String)>);

impl Fields {
    pub fn parse(body: &[u8]) -> Self {
        Self(
            url::form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The first value of `name`, trimmed; `None` when absent or blank.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// The first value of `name` untrimmed (a pasted file).
    pub fn raw(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A state-changing request: a signed-in operator's form that carries their session's
/// anti-forgery token. A form without it is refused before anything runs.
pub struct Posted {
    pub op: Operator,
    pub fields: Fields,
}

impl FromRequest for Posted {
    type Error = ConsoleError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ConsoleError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let op = Operator::from_request(req, payload);
        let body = super::body::read(req.clone(), payload.take());
        let header_token = req
            .headers()
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Box::pin(async move {
            let op = op.await?;
            let fields = Fields::parse(&body.await?);
            let presented = header_token.or_else(|| fields.get(CSRF_FIELD).map(str::to_owned));
            match presented {
                Some(token) if op.session.csrf_matches(&token) => Ok(Posted { op, fields }),
                _ => Err(ConsoleError::Forged),
            }
        })
    }
}

/// 303 to `to`, the answer to a form that changed something.
fn see_other(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to))
        .finish()
}

/// An HTML page answer.
fn html(markup: maud::Markup) -> HttpResponse {
    html_status(StatusCode::OK, markup)
}

/// Whether a form's page is shown again saying why `e` refused what was posted: a client
/// error, but not a 404 (the tenant or the thing is gone), which answers as one.
fn refused_on_form(e: &Error) -> bool {
    e.status().is_client_error() && e.status() != StatusCode::NOT_FOUND
}

/// The answer to a form whose action failed with `e`: when it was refused
/// ([`refused_on_form`]), the form's page again, as `again` draws it with why, under the
/// refusal's status; any other error answers as itself.
async fn refused<F>(e: Error, again: impl FnOnce(String) -> F) -> Reply
where
    F: Future<Output = Result<maud::Markup, Error>>,
{
    if !refused_on_form(&e) {
        return Err(e.into());
    }
    let page = again(e.to_string()).await?;
    Ok(html_status(e.status(), page))
}

/// An HTML page answer with `status`: a form shown again with why it was refused.
fn html_status(status: StatusCode, markup: maud::Markup) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        ))
        .body(markup.into_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_keep_repeated_fields_and_decode_them() {
        let f = Fields::parse(b"csrf=a%2Bb&id=1&id=2&q=+hello+world+&empty=");
        assert_eq!(f.get("csrf"), Some("a+b"));
        assert_eq!(f.all("id").collect::<Vec<_>>(), ["1", "2"]);
        assert_eq!(f.get("q"), Some("hello world"));
        assert_eq!(f.raw("q"), Some(" hello world "));
        assert_eq!(f.get("empty"), None);
        assert_eq!(f.get("missing"), None);
    }

    #[test]
    fn session_cookies_are_http_only_strict_and_secure_over_https() {
        let plain = set_cookie(SESSION_COOKIE, Some("abc"), false);
        assert_eq!(
            plain,
            "scimd_console=abc; Path=/console; HttpOnly; SameSite=Strict"
        );
        assert!(set_cookie(SESSION_COOKIE, Some("abc"), true).ends_with("; Secure"));
        assert!(set_cookie(SESSION_COOKIE, None, false).contains("Max-Age=0"));
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let req = actix_web::test::TestRequest::default()
            .insert_header((header::COOKIE, "a=1; scimd_console=xyz; b=2"))
            .to_http_request();
        assert_eq!(cookie(&req, SESSION_COOKIE).as_deref(), Some("xyz"));
        assert_eq!(cookie(&req, PRE_SESSION_COOKIE), None);
    }

    #[test]
    fn a_session_accepts_only_its_own_anti_forgery_token() {
        let one = SessionId::presented("one");
        let two = SessionId::presented("two");
        assert!(one.csrf_matches(&one.csrf_token()));
        assert!(!one.csrf_matches(&two.csrf_token()));
        assert!(!one.csrf_matches(""));
        assert_ne!(one.csrf_token(), "one");
    }
}
