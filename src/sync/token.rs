//! An access token cached until shortly before it expires, shared by a run's requests.
//! Each directory fetches its tokens its own way; the caching is the same for all.

use std::future::Future;
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::config::Secret;
use crate::sync::http::Fetched;
use crate::sync::SyncError;

#[derive(Deserialize)]
struct Issued {
    token_type: String,
    expires_in: Lifetime,
    access_token: String,
}

/// `expires_in` is a number of seconds; some endpoints send it as a string.
#[derive(Deserialize)]
#[serde(untagged)]
enum Lifetime {
    Number(u64),
    Text(String),
}

/// A token endpoint's successful answer (RFC 6749 §5.1: `access_token`, `token_type`,
/// `expires_in`): the bearer token and its lifetime. `service` names the endpoint in
/// messages ("The Microsoft sign-in service").
pub fn issued(answer: &Fetched, service: &str) -> Result<(Secret<String>, Duration), SyncError> {
    let issued: Issued = answer.json().map_err(|_| {
        SyncError::new(
            "source_error",
            format!("{service} answered without a usable access token"),
        )
    })?;
    if !issued.token_type.eq_ignore_ascii_case("bearer") || issued.access_token.is_empty() {
        return Err(SyncError::new(
            "source_error",
            format!(
                "{service} issued a {:?} token, not a bearer token",
                issued.token_type
            ),
        ));
    }
    let seconds = match issued.expires_in {
        Lifetime::Number(n) => n,
        Lifetime::Text(t) => t.trim().parse().unwrap_or(0),
    };
    Ok((
        Secret::new(issued.access_token),
        Duration::from_secs(seconds),
    ))
}

/// A token endpoint's error response ("OAuth 2.0 error responses", RFC 6749 §5.2); what
/// it leaves out is empty.
#[derive(Deserialize, Default)]
pub struct Refusal {
    #[serde(default)]
    pub error: String,
    #[serde(default)]
    pub error_description: String,
}

/// A token endpoint's refusal whose cause the connector does not name (RFC 6749 §5.2):
/// the status, the `error` code and the first line of the `error_description`. `service`
/// names the endpoint ("The Microsoft sign-in service").
pub fn refused(service: &str, answer: &Fetched, body: &Refusal) -> SyncError {
    let (error, description) = (body.error.as_str(), body.error_description.as_str());
    SyncError::new(
        "token_error",
        format!(
            "{service} refused a token (HTTP {}, {}): {}",
            answer.status.as_u16(),
            if error.is_empty() {
                "no error code"
            } else {
                error
            },
            description.lines().next().unwrap_or_default()
        ),
    )
}

/// How long before its expiry a token is replaced: a tenth of its life, at most five
/// minutes, so a request never leaves with a token about to lapse.
pub fn margin(lifetime: Duration) -> Duration {
    (lifetime / 10).min(Duration::from_secs(300))
}

#[derive(Default)]
pub struct Cache(tokio::sync::Mutex<Option<Cached>>);

struct Cached {
    token: Secret<String>,
    renew_at: Instant,
}

impl Cache {
    /// The cached token, or a new one from `fetch` (the token and its lifetime). The lock
    /// is held while a token is fetched, so concurrent requests wait for one sign-in
    /// rather than each signing in.
    pub async fn get<F>(&self, fetch: F) -> Result<Secret<String>, SyncError>
    where
        F: Future<Output = Result<(Secret<String>, Duration), SyncError>>,
    {
        let mut slot = self.0.lock().await;
        if let Some(c) = slot.as_ref() {
            if Instant::now() < c.renew_at {
                return Ok(c.token.clone());
            }
        }
        let (token, lifetime) = fetch.await?;
        *slot = Some(Cached {
            token: token.clone(),
            renew_at: Instant::now() + lifetime.saturating_sub(margin(lifetime)),
        });
        Ok(token)
    }

    /// Drops `stale` (the directory refused it), unless another request already replaced
    /// it.
    pub async fn forget(&self, stale: &Secret<String>) {
        let mut slot = self.0.lock().await;
        if slot.as_ref().is_some_and(|c| c.token == *stale) {
            *slot = None;
        }
    }

    /// Sends a request with the cached token (or a new one from `issue`). A 401 means the
    /// token went stale (expired or revoked early): one new token, one more try, and a
    /// second 401 fails the run with `rejected`.
    pub async fn send<I, S>(
        &self,
        issue: impl Fn() -> I,
        send: impl Fn(Secret<String>) -> S,
        rejected: impl FnOnce(&Fetched) -> SyncError,
    ) -> Result<Fetched, SyncError>
    where
        I: Future<Output = Result<(Secret<String>, Duration), SyncError>>,
        S: Future<Output = Result<Fetched, SyncError>>,
    {
        let mut refreshed = false;
        loop {
            let token = self.get(issue()).await?;
            let answer = send(token.clone()).await?;
            if answer.status != reqwest::StatusCode::UNAUTHORIZED {
                return Ok(answer);
            }
            if refreshed {
                return Err(rejected(&answer));
            }
            self.forget(&token).await;
            refreshed = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_renewed_a_little_before_expiry() {
        assert_eq!(margin(Duration::from_secs(3599)), Duration::from_secs(300));
        assert_eq!(margin(Duration::from_secs(60)), Duration::from_secs(6));
    }
}
