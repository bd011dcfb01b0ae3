//! One HTTP request to a directory, retried the way the directories ask to be retried.
//!
//! Shared by the connectors (Microsoft Graph, Google Directory), so both follow
//! the same rules:
//!
//! - 429, 503 and 504 mean "slow down": the wait the server names in `Retry-After`
//!   (delta-seconds or an HTTP-date) is honoured, as Microsoft's "Microsoft Graph
//!   throttling guidance" and "Microsoft Graph error responses and resource types" ask;
//!   without the header the exponential backoff below applies.
//! - Other 5xx answers, connection failures, timeouts and bodies cut off mid-way are
//!   retried with exponential backoff and jitter (built by `backon`).
//! - A connector may name other answers that mean "slow down" ([`fetch_classified`]):
//!   Google's 403 with the reason `rateLimitExceeded`, `userRateLimitExceeded` or
//!   `quotaExceeded` is retried as a 429 is.
//! - Everything else (2xx, 3xx, 4xx) goes back to the caller, which knows what a 404 or a
//!   410 means for its directory.
//!
//! Retries are capped three ways: attempts per request, the longest single wait (a
//! `Retry-After` above it fails the run as throttled rather than stalling it for an hour),
//! and a budget per run (total retries and total time spent waiting) shared by every
//! request of the run, so a directory that is slow everywhere cannot keep a run alive for
//! ever. The loop is our own around `backon`'s delay iterator rather than `backon`'s
//! `Retryable`, because the wait before each retry depends on the answer (its
//! `Retry-After`) and on the run's budget, both of which are plain values here.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::StatusCode;

use super::SyncError;

/// How hard one run tries before it gives up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per request, the first one included.
    pub max_attempts: u32,
    /// The longest single wait. A `Retry-After` asking for more fails the run.
    pub max_wait: Duration,
    /// The first backoff delay (doubled on each retry, plus jitter).
    pub base_delay: Duration,
    /// The longest backoff delay.
    pub max_backoff: Duration,
    /// Retries allowed across every request of one run.
    pub run_retries: u64,
    /// Time allowed to be spent waiting across every request of one run.
    pub run_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 6,
            max_wait: Duration::from_secs(60),
            base_delay: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            run_retries: 100,
            run_wait: Duration::from_secs(15 * 60),
        }
    }
}

/// Counters a process keeps across runs, for `/metrics`.
#[derive(Debug, Default)]
pub struct RetryStats {
    /// Requests sent, retries included.
    pub attempts: AtomicU64,
    /// Retries of any kind.
    pub retries: AtomicU64,
    /// Retries after the directory said "slow down" (429, 503, 504, Google's rate-limit 403).
    pub throttled_retries: AtomicU64,
}

impl RetryStats {
    pub fn attempts(&self) -> u64 {
        self.attempts.load(Ordering::Relaxed)
    }

    pub fn retries(&self) -> u64 {
        self.retries.load(Ordering::Relaxed)
    }

    pub fn throttled_retries(&self) -> u64 {
        self.throttled_retries.load(Ordering::Relaxed)
    }
}

/// One run's allowance of retries, shared (cloned) by every request of the run.
#[derive(Debug, Clone)]
pub struct RetryBudget {
    policy: RetryPolicy,
    used: Arc<Used>,
    stats: Arc<RetryStats>,
}

#[derive(Debug, Default)]
struct Used {
    retries: AtomicU64,
    waited_ms: AtomicU64,
}

impl RetryBudget {
    /// A fresh budget whose counters are its own.
    pub fn new(policy: RetryPolicy) -> Self {
        Self::with_stats(policy, Arc::default())
    }

    /// A fresh budget that also counts into `stats`, which outlives the run (the process's
    /// metrics).
    pub fn with_stats(policy: RetryPolicy, stats: Arc<RetryStats>) -> Self {
        Self {
            policy,
            used: Arc::default(),
            stats,
        }
    }

    pub fn policy(&self) -> &RetryPolicy {
        &self.policy
    }

    pub fn stats(&self) -> &Arc<RetryStats> {
        &self.stats
    }

    /// Retries this run has made so far.
    pub fn retries_used(&self) -> u64 {
        self.used.retries.load(Ordering::Relaxed)
    }

    /// Takes one retry and `wait` from the run's allowance, or says why not.
    fn charge(&self, wait: Duration) -> Result<(), &'static str> {
        let retries = self.used.retries.fetch_add(1, Ordering::Relaxed) + 1;
        if retries > self.policy.run_retries {
            return Err("retries");
        }
        let ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
        let waited = self.used.waited_ms.fetch_add(ms, Ordering::Relaxed);
        let total = Duration::from_millis(waited.saturating_add(ms));
        if total > self.policy.run_wait {
            return Err("waiting time");
        }
        Ok(())
    }
}

/// A complete answer: status, headers and the whole body.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Fetched {
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Why one attempt asked for another.
enum Retry {
    /// The server said "slow down" (429, 503, 504, or a connector's own signal).
    Throttled(StatusCode),
    /// Another 5xx.
    Failed(StatusCode),
    /// No complete answer (refused, reset, timed out, cut off).
    Transport(String),
}

/// Sends the request `build` makes until it gets an answer worth returning, retrying as
/// the module doc says. `service` names the other side in messages ("Microsoft Graph",
/// "the Microsoft sign-in service"); `host` is who was called, for "cannot reach" messages.
pub async fn fetch(
    budget: &RetryBudget,
    service: &str,
    host: &str,
    build: impl Fn() -> reqwest::RequestBuilder,
) -> Result<Fetched, SyncError> {
    fetch_classified(budget, service, host, |_| false, build).await
}

/// [`fetch`], where `slow_down` also names answers that mean "slow down" besides 429, 503
/// and 504 (Google's 403 with a rate-limit reason): they are retried like a 429,
/// honouring `Retry-After` when given.
pub async fn fetch_classified(
    budget: &RetryBudget,
    service: &str,
    host: &str,
    slow_down: impl Fn(&Fetched) -> bool,
    build: impl Fn() -> reqwest::RequestBuilder,
) -> Result<Fetched, SyncError> {
    let policy = &budget.policy;
    let mut backoff = ExponentialBuilder::default()
        .with_min_delay(policy.base_delay)
        .with_max_delay(policy.max_backoff)
        .with_jitter()
        .without_max_times()
        .build();
    let mut attempt = 1u32;
    loop {
        budget.stats.attempts.fetch_add(1, Ordering::Relaxed);
        let (retry, asked) = match attempt_once(build()).await {
            Ok(answer) => match answer.status.as_u16() {
                429 | 503 | 504 => {
                    let asked = retry_after(&answer.headers);
                    (Retry::Throttled(answer.status), asked)
                }
                500..=599 => (Retry::Failed(answer.status), retry_after(&answer.headers)),
                _ if slow_down(&answer) => {
                    let asked = retry_after(&answer.headers);
                    (Retry::Throttled(answer.status), asked)
                }
                _ => return Ok(answer),
            },
            Err(cause) => (Retry::Transport(cause), None),
        };
        if attempt >= policy.max_attempts {
            return Err(gave_up(&retry, service, host, attempt));
        }
        let wait = match asked {
            Some(asked) if asked > policy.max_wait => {
                return Err(SyncError::new(
                    "throttled",
                    format!(
                        "{service} asked to wait {} s before trying again, longer than the \
                         {} s a run waits; the run will be tried again later",
                        asked.as_secs(),
                        policy.max_wait.as_secs()
                    ),
                ));
            }
            Some(asked) => asked,
            None => backoff.next().unwrap_or(policy.max_backoff),
        };
        if let Err(what) = budget.charge(wait) {
            let mut err = gave_up(&retry, service, host, attempt);
            err.message = format!(
                "{} (this run used up its allowance of {what} for retries)",
                err.message
            );
            return Err(err);
        }
        budget.stats.retries.fetch_add(1, Ordering::Relaxed);
        if matches!(retry, Retry::Throttled(_)) {
            budget
                .stats
                .throttled_retries
                .fetch_add(1, Ordering::Relaxed);
        }
        tracing::debug!(
            service,
            attempt,
            wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
            "retrying a directory request"
        );
        tokio::time::sleep(wait).await;
        attempt += 1;
    }
}

async fn attempt_once(request: reqwest::RequestBuilder) -> Result<Fetched, String> {
    let response = request.send().await.map_err(|e| cause_text(&e))?;
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.bytes().await.map_err(|e| cause_text(&e))?.to_vec();
    Ok(Fetched {
        status,
        headers,
        body,
    })
}

fn gave_up(retry: &Retry, service: &str, host: &str, attempts: u32) -> SyncError {
    match retry {
        Retry::Throttled(status) => SyncError::new(
            "throttled",
            format!(
                "{service} kept asking to slow down (HTTP {}) after {attempts} attempts; \
                 the run will be tried again later",
                status.as_u16()
            ),
        ),
        Retry::Failed(status) => SyncError::new(
            "source_error",
            format!(
                "{service} kept failing (HTTP {}) after {attempts} attempts",
                status.as_u16()
            ),
        ),
        Retry::Transport(cause) => SyncError::new(
            "unreachable",
            format!("Cannot reach {service} at {host} after {attempts} attempts: {cause}"),
        ),
    }
}

/// The wait a `Retry-After` header asks for: delta-seconds or an HTTP-date (RFC 9110
/// §10.2.3). A date in the past means "now".
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let raw = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = raw.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = chrono::DateTime::parse_from_rfc2822(raw).ok()?;
    let wait = at.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

/// A transport error in words, down to its root cause ("connection refused"), without the
/// URL (which can carry a delta token).
fn cause_text(err: &reqwest::Error) -> String {
    let mut text = if err.is_timeout() {
        "timed out".to_owned()
    } else if err.is_connect() {
        "connection failed".to_owned()
    } else if err.is_body() || err.is_decode() {
        "the answer was cut off".to_owned()
    } else {
        "the request failed".to_owned()
    };
    let mut source = std::error::Error::source(err);
    let mut last = None;
    while let Some(cause) = source {
        last = Some(cause.to_string());
        source = cause.source();
    }
    if let Some(last) = last {
        text.push_str(" (");
        text.push_str(&last);
        text.push(')');
    }
    text
}

#[cfg(test)]
#[expect(clippy::unwrap_used)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn retry_after_reads_delta_seconds() {
        assert_eq!(retry_after(&headers("7")), Some(Duration::from_secs(7)));
    }

    #[test]
    fn retry_after_reads_an_http_date() {
        let at = chrono::Utc::now() + chrono::Duration::seconds(30);
        let raw = at.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
        let wait = retry_after(&headers(&raw)).unwrap();
        assert!(wait > Duration::from_secs(25) && wait <= Duration::from_secs(30));
    }

    #[test]
    fn retry_after_in_the_past_means_now_and_garbage_means_none() {
        assert_eq!(
            retry_after(&headers("Sun, 06 Nov 1994 08:49:37 GMT")),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after(&headers("soon")), None);
    }

    #[test]
    fn the_run_budget_is_shared_and_capped() {
        let budget = RetryBudget::new(RetryPolicy {
            run_retries: 2,
            ..RetryPolicy::default()
        });
        let other = budget.clone();
        assert!(budget.charge(Duration::from_secs(1)).is_ok());
        assert!(other.charge(Duration::from_secs(1)).is_ok());
        assert_eq!(budget.charge(Duration::from_secs(1)), Err("retries"));
    }

    #[test]
    fn the_run_budget_caps_total_waiting() {
        let budget = RetryBudget::new(RetryPolicy {
            run_wait: Duration::from_secs(10),
            ..RetryPolicy::default()
        });
        assert!(budget.charge(Duration::from_secs(6)).is_ok());
        assert_eq!(budget.charge(Duration::from_secs(6)), Err("waiting time"));
    }
}
