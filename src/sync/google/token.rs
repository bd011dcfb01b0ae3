//! The service account's access token ("Using OAuth 2.0 for Server to Server
//! Applications"): a JWT signed with the account's key (RS256) naming the account (`iss`),
//! the administrator it acts for (`sub`), the scopes and the token URI (`aud`), exchanged
//! at the token URI for a bearer token.

use std::time::Duration;

use serde::Serialize;

use super::{Google, SCOPES};
use crate::config::Secret;
use crate::sync::http::{fetch, Fetched};
use crate::sync::token::Refusal;
use crate::sync::SyncError;

/// How long an assertion is valid: Google takes at most an hour.
const ASSERTION_LIFETIME: u64 = 3600;

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: &'a str,
    scope: &'a str,
    aud: &'a str,
    iat: u64,
    exp: u64,
}

/// The signed assertion for `scope` (space-separated scopes).
fn assertion(google: &Google, scope: &str) -> Result<String, SyncError> {
    let account = &google.config.account;
    let now = u64::try_from(chrono::Utc::now().timestamp()).unwrap_or(0);
    let claims = Claims {
        iss: account.client_email(),
        sub: &google.config.admin_email,
        scope,
        aud: google.token_url.as_str(),
        iat: now,
        exp: now + ASSERTION_LIFETIME,
    };
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = account.key_id().map(str::to_owned);
    jsonwebtoken::encode(&header, &claims, account.signing_key()).map_err(|e| {
        SyncError::new(
            "bad_secret",
            format!("The service account key cannot sign a token request: {e}"),
        )
    })
}

/// A token for `scope`, and its lifetime.
pub(super) async fn request(
    google: &Google,
    scope: &str,
) -> Result<(Secret<String>, Duration), SyncError> {
    let answer = exchange(google, scope).await?;
    if !answer.status.is_success() {
        return Err(refused(google, &answer, None));
    }
    crate::sync::token::issued(&answer, "The Google token endpoint")
}

async fn exchange(google: &Google, scope: &str) -> Result<Fetched, SyncError> {
    let jwt = assertion(google, scope)?;
    let form = [
        ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
        ("assertion", jwt.as_str()),
    ];
    let url = &google.token_url;
    let host = url.host_str().unwrap_or_default();
    fetch(&google.budget, "the Google token endpoint", host, || {
        google.http.post(url.clone()).form(&form)
    })
    .await
}

/// Signs in for a connection test. When the token endpoint refuses the scopes, each is
/// asked for alone, so the message can name the ones the delegation lacks.
pub(super) async fn diagnose(google: &Google) -> Result<(), SyncError> {
    let all = SCOPES.join(" ");
    let answer = exchange(google, &all).await?;
    if answer.status.is_success() {
        return Ok(());
    }
    let body: Refusal = answer.json().unwrap_or_default();
    if body.error != "unauthorized_client" {
        return Err(refused(google, &answer, None));
    }
    let mut missing = Vec::new();
    for scope in SCOPES {
        if !exchange(google, scope).await?.status.is_success() {
            missing.push(scope);
        }
    }
    Err(refused(google, &answer, Some(&missing)))
}

/// The token endpoint said no ("OAuth 2.0 error responses": `error`,
/// `error_description`): the cause, named. `missing` are the scopes a test found refused
/// one by one.
fn refused(google: &Google, answer: &Fetched, missing: Option<&[&str]>) -> SyncError {
    let body: Refusal = answer.json().unwrap_or_default();
    let account = &google.config.account;
    let admin = &google.config.admin_email;
    let description = body.error_description.to_ascii_lowercase();
    match body.error.as_str() {
        "unauthorized_client" => match missing {
            Some(missing) if !missing.is_empty() && missing.len() < SCOPES.len() => SyncError::new(
                "scope_missing",
                format!(
                    "Domain-wide delegation for the service account (client ID {}) lacks \
                         {}: in the Google Admin console (Security › Access and data control › \
                         API controls › Domain-wide delegation), edit the client and add {}",
                    account.client_id(),
                    if missing.len() == 1 {
                        "a scope".to_owned()
                    } else {
                        format!("{} scopes", missing.len())
                    },
                    missing.join(", ")
                ),
            ),
            _ => SyncError::new(
                "delegation_missing",
                format!(
                    "The service account {} (client ID {}) has no domain-wide delegation in \
                     this Google Workspace: in the Google Admin console (Security › Access and \
                     data control › API controls › Domain-wide delegation), add the client ID \
                     with the scopes {}",
                    account.client_email(),
                    account.client_id(),
                    SCOPES.join(",")
                ),
            ),
        },
        "invalid_grant"
            if description.contains("invalid email") || description.contains("user id") =>
        {
            SyncError::new(
                "admin_not_found",
                format!(
                    "Google does not know the administrator {admin}: give the address of an \
                     existing administrator of this Google Workspace"
                ),
            )
        }
        "invalid_grant" | "invalid_client"
            if description.contains("signature")
                || description.contains("account not found")
                || body.error == "invalid_client" =>
        {
            SyncError::new(
                "bad_secret",
                format!(
                    "Google refused the service account key of {} ({}): the key was deleted or \
                     the account disabled; create a new JSON key and save the connection again",
                    account.client_email(),
                    body.error_description
                ),
            )
        }
        _ => crate::sync::token::refused("The Google token endpoint", answer, &body),
    }
}
