//! The app's access token: client credentials ("Microsoft identity platform and the OAuth
//! 2.0 client credentials flow"), cached until shortly before it expires.

use std::time::Duration;

use serde::Deserialize;

use super::Graph;
use crate::config::Secret;
use crate::sync::http::{fetch, Fetched};
use crate::sync::token::Refusal;
use crate::sync::SyncError;

/// The sign-in service's error response: the OAuth fields and its AADSTS codes.
#[derive(Deserialize, Default)]
struct Refused {
    #[serde(flatten)]
    oauth: Refusal,
    #[serde(default)]
    error_codes: Vec<u64>,
}

pub(super) async fn request(graph: &Graph) -> Result<(Secret<String>, Duration), SyncError> {
    let config = &graph.config;
    let mut url = graph.login.clone();
    url.set_path(&format!(
        "/{}/oauth2/v2.0/token",
        config.directory_tenant_id
    ));
    // The scope names the cloud's Graph resource even when the transport root is
    // overridden: the token's audience is Graph, whatever host relays the calls.
    let scope = format!("{}/.default", config.cloud.graph_root());
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", config.client_id.as_str()),
        ("client_secret", config.client_secret.expose().as_str()),
        ("scope", scope.as_str()),
    ];
    let host = url.host_str().unwrap_or_default().to_owned();
    let answer = fetch(
        &graph.budget,
        "the Microsoft sign-in service",
        &host,
        || graph.http.post(url.clone()).form(&form),
    )
    .await?;
    if !answer.status.is_success() {
        return Err(refused(graph, &answer));
    }
    crate::sync::token::issued(&answer, "The Microsoft sign-in service")
}

/// The token endpoint said no: name the cause from its AADSTS code ("Microsoft Entra
/// authentication and authorization error codes").
fn refused(graph: &Graph, answer: &Fetched) -> SyncError {
    let config = &graph.config;
    let body: Refused = answer.json().unwrap_or_default();
    let mut codes = body.error_codes.clone();
    if codes.is_empty() {
        codes.extend(aadsts_in(&body.oauth.error_description));
    }
    let has = |c: u64| codes.contains(&c);
    let tenant = &config.directory_tenant_id;
    if has(90002) || has(900023) || has(90072) {
        let code = codes.first().copied().unwrap_or(90002);
        return SyncError::new(
            "tenant_not_found",
            format!(
                "The directory (tenant) {tenant:?} was not found in {}: check the directory \
                 tenant ID and the cloud (AADSTS{code})",
                config.cloud.label()
            ),
        );
    }
    if has(7000215) {
        return SyncError::new(
            "bad_secret",
            "The client secret is wrong or expired (AADSTS7000215): enter the secret's \
             value (not its ID), or create a new secret for the app",
        );
    }
    if has(7000222) {
        return SyncError::new(
            "bad_secret",
            "The client secret has expired (AADSTS7000222): create a new secret for the app \
             and enter its value",
        );
    }
    if has(700016) {
        return SyncError::new(
            "client_not_found",
            format!(
                "The application (client) ID {:?} was not found in the directory {tenant:?} \
                 (AADSTS700016): check the client ID, and that an administrator of this \
                 directory consented to the app",
                config.client_id
            ),
        );
    }
    if has(65001) {
        return SyncError::new(
            "consent_revoked",
            "Admin consent for the app is missing or was revoked (AADSTS65001): an \
             administrator of the directory must grant consent again",
        );
    }
    crate::sync::token::refused("The Microsoft sign-in service", answer, &body.oauth)
}

/// The AADSTS numbers a description mentions ("AADSTS7000215: Invalid client secret…").
fn aadsts_in(text: &str) -> impl Iterator<Item = u64> + '_ {
    text.match_indices("AADSTS").filter_map(move |(at, tag)| {
        let digits: String = text[at + tag.len()..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aadsts_codes_are_read_from_a_description() {
        let codes: Vec<_> =
            aadsts_in("AADSTS7000215: Invalid client secret. Trace ID: x AADSTS1").collect();
        assert_eq!(codes, [7000215, 1]);
    }
}
