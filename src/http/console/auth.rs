//! Sign-in with an admin key, and sign-out.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use maud::html;
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::layout::page;
use super::{
    app_state, cookie, over_https, set_cookie, Fields, Posted, Reply, CSRF_FIELD,
    PRE_SESSION_COOKIE, SESSION_COOKIE,
};
use crate::error::{ConsoleError, Error};
use crate::provisioning::console as sessions;

fn sign_in_page(token: &str, failed: Option<&str>) -> maud::Markup {
    page(
        "Sign in",
        None,
        html! {
            div class="narrow" {
                h1 { "Sign in" }
                @if let Some(why) = failed {
                    p class="error" role="alert" id="sign-in-error" { (why) }
                }
                form method="post" action="/console/sign-in" {
                    input type="hidden" name=(CSRF_FIELD) value=(token);
                    label for="key" { "Admin key" }
                    input type="password" id="key" name="key" autocomplete="off"
                        required placeholder="scimd_…";
                    p { button class="primary" type="submit" { "Sign in" } }
                }
                p class="muted" {
                    "An admin key is made with " code { "scimd admin-key create" } "."
                }
            }
        },
    )
}

/// A fresh pre-session token, in its cookie and in the form.
fn fresh_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn form_answer(
    req: &HttpRequest,
    status: actix_web::http::StatusCode,
    failed: Option<&str>,
) -> Reply {
    let state = app_state(req)?;
    let token = fresh_token();
    Ok(HttpResponse::build(status)
        .insert_header((
            header::SET_COOKIE,
            set_cookie(PRE_SESSION_COOKIE, Some(&token), over_https(req, &state)),
        ))
        .content_type("text/html; charset=utf-8")
        .body(sign_in_page(&token, failed).into_string()))
}

/// The sign-in form.
pub async fn form(req: HttpRequest) -> Reply {
    form_answer(&req, actix_web::http::StatusCode::OK, None)
}

fn same(a: &str, b: &str) -> bool {
    Sha256::digest(a.as_bytes()) == Sha256::digest(b.as_bytes())
}

/// Checks the key with the admin API's verifier (bounded argon2 checks, a dummy hash for
/// unknown key ids, and the client address's allowance of failed sign-ins: wrong keys
/// cost what bad tokens cost) and opens a session.
pub async fn sign_in(req: HttpRequest, body: web::Payload) -> Reply {
    let state = app_state(&req)?;
    let body = crate::http::body::read(req.clone(), body.into_inner()).await?;
    let fields = Fields::parse(&body);
    let expected = cookie(&req, PRE_SESSION_COOKIE);
    match (expected.as_deref(), fields.get(CSRF_FIELD)) {
        (Some(expected), Some(presented)) if same(expected, presented) => {}
        _ => return Err(ConsoleError::Forged),
    }
    let key = fields.get("key").unwrap_or_default();
    let from = crate::http::client::client_key(&req, &state.settings.trusted_proxies);
    let principal = match state.admin_keys.verify(&state.db, key, from).await {
        Ok(p) => p,
        Err(Error::Unauthorized(_)) => {
            tracing::info!("console sign-in refused: wrong admin key");
            return form_answer(
                &req,
                actix_web::http::StatusCode::UNAUTHORIZED,
                Some("That admin key is not valid."),
            );
        }
        Err(e) => return Err(e.into()),
    };
    let now = state.clock.now();
    let times = state.settings.console_sessions;
    let session = sessions::open_session(&state.db, principal.key_id, times, now).await?;
    let secure = over_https(&req, &state);
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/console"))
        .append_header((
            header::SET_COOKIE,
            set_cookie(SESSION_COOKIE, Some(session.expose()), secure),
        ))
        .append_header((
            header::SET_COOKIE,
            set_cookie(PRE_SESSION_COOKIE, None, secure),
        ))
        .finish())
}

/// Ends the session, here and in the store: the old cookie is refused from now on.
pub async fn sign_out(req: HttpRequest, posted: Posted) -> Reply {
    let state = app_state(&req)?;
    sessions::close_session(&state.db, &posted.op.session).await?;
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, crate::error::CONSOLE_SIGN_IN))
        .insert_header((
            header::SET_COOKIE,
            set_cookie(SESSION_COOKIE, None, over_https(&req, &state)),
        ))
        .finish())
}
