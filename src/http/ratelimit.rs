//! Per-tenant rate limits on the SCIM API: a token bucket (GCRA, from `governor`) per
//! tenant, with the tenant's `rate_limit` settings (default 100/s, burst 200).
//!
//! Buckets live in this node's memory and are checked before any database work, so a
//! tenant over its limit costs one hash lookup and never takes a connection another
//! tenant needs. Settings are read from the tenant row when a bucket is made and again
//! after `refresh` (the token cache TTL); a settings change applies at once on the node
//! that made it and, through the change notifications ([`crate::store::notify`]), within a
//! second on every other. The limit is per node: with N nodes behind a balancer a tenant
//! gets up to N times its limit (the README says how to size it).

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use governor::clock::Clock as GovernorClock;
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use uuid::Uuid;

use crate::clock::SharedClock;
use crate::error::Error;

/// The server's clock, as governor reads time: nanoseconds since the epoch. Tests that
/// move a manual clock move the buckets with it.
#[derive(Clone)]
struct BucketClock(SharedClock);

impl GovernorClock for BucketClock {
    type Instant = Nanos;

    fn now(&self) -> Nanos {
        let nanos = self.0.now().timestamp_nanos_opt().unwrap_or(0);
        Nanos::from(u64::try_from(nanos).unwrap_or(0))
    }
}

type Bucket = RateLimiter<NotKeyed, InMemoryState, BucketClock, NoOpMiddleware<Nanos>>;

struct Entry {
    bucket: Arc<Bucket>,
    limit: (u32, u32),
    loaded_at: DateTime<Utc>,
    /// The settings changed elsewhere: read them again.
    stale: bool,
}

/// A tenant's limit: sustained requests per second and burst.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub per_second: u32,
    pub burst: u32,
}

pub struct RateLimits {
    clock: SharedClock,
    refresh: chrono::Duration,
    entries: Mutex<HashMap<Uuid, Entry>>,
}

/// What a check decided.
#[derive(Debug, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    /// Over the limit: retry after this long.
    Limited(Duration),
    /// No bucket, or its settings are due a re-read: call [`RateLimits::load`].
    Unknown,
}

impl RateLimits {
    pub fn new(clock: SharedClock, refresh: Duration) -> Self {
        Self {
            clock,
            refresh: chrono::Duration::from_std(refresh).unwrap_or(chrono::Duration::seconds(60)),
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Entry>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes one request from the tenant's bucket.
    pub fn check(&self, tenant_id: Uuid) -> Decision {
        let now = self.clock.now();
        let bucket = match self.entries().get(&tenant_id) {
            Some(e) if !e.stale && now - e.loaded_at < self.refresh => e.bucket.clone(),
            _ => return Decision::Unknown,
        };
        decide(&bucket, &self.clock)
    }

    /// Installs the tenant's limit (keeping its bucket's state when the limit is the same)
    /// and takes one request from it.
    pub fn load(&self, tenant_id: Uuid, limit: Limit) -> Decision {
        let now = self.clock.now();
        let key = (limit.per_second.max(1), limit.burst.max(1));
        let bucket = {
            let mut entries = self.entries();
            let entry = entries.entry(tenant_id).or_insert_with(|| Entry {
                bucket: Arc::new(bucket(key, &self.clock)),
                limit: key,
                loaded_at: now,
                stale: false,
            });
            if entry.limit != key {
                entry.bucket = Arc::new(bucket(key, &self.clock));
                entry.limit = key;
            }
            entry.loaded_at = now;
            entry.stale = false;
            entry.bucket.clone()
        };
        decide(&bucket, &self.clock)
    }

    /// Drops a tenant's bucket, so its settings are read again (after a change).
    pub fn forget(&self, tenant_id: Uuid) {
        self.entries().remove(&tenant_id);
    }

    /// Has the tenant's settings read again on its next request (they changed on another
    /// node); its bucket keeps its state if the limit is the same.
    pub fn expire(&self, tenant_id: Uuid) {
        if let Some(entry) = self.entries().get_mut(&tenant_id) {
            entry.stale = true;
        }
    }

    /// [`RateLimits::expire`] for every tenant (changes may have been missed).
    pub fn expire_all(&self) {
        for entry in self.entries().values_mut() {
            entry.stale = true;
        }
    }
}

fn bucket((per_second, burst): (u32, u32), clock: &SharedClock) -> Bucket {
    let one = NonZeroU32::MIN;
    let quota = Quota::per_second(NonZeroU32::new(per_second).unwrap_or(one))
        .allow_burst(NonZeroU32::new(burst).unwrap_or(one));
    RateLimiter::direct_with_clock(quota, BucketClock(clock.clone()))
}

fn decide(bucket: &Bucket, clock: &SharedClock) -> Decision {
    match bucket.check() {
        Ok(()) => Decision::Allowed,
        Err(not_until) => {
            Decision::Limited(not_until.wait_time_from(BucketClock(clock.clone()).now()))
        }
    }
}

/// The 429 for a request over its tenant's limit: `Retry-After` in whole seconds, at least 1.
pub fn too_many(wait: Duration) -> Error {
    Error::too_many_requests(
        "too many requests for this tenant; retry after the time Retry-After gives",
        wait,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    #[test]
    fn a_bucket_allows_its_burst_then_refills_at_its_rate() {
        let manual = Arc::new(ManualClock::new(Utc::now()));
        let clock: SharedClock = manual.clone();
        let limits = RateLimits::new(clock, Duration::from_secs(60));
        let tenant = Uuid::now_v7();
        let other = Uuid::now_v7();
        let limit = Limit {
            per_second: 2,
            burst: 5,
        };
        assert_eq!(limits.check(tenant), Decision::Unknown);
        assert_eq!(limits.load(tenant, limit), Decision::Allowed);
        for _ in 0..4 {
            assert_eq!(limits.check(tenant), Decision::Allowed);
        }
        let sixth = limits.check(tenant);
        assert!(
            matches!(sixth, Decision::Limited(wait) if wait <= Duration::from_millis(500)),
            "the sixth request in a burst of 5 must wait at most 500 ms: {sixth:?}"
        );
        // Another tenant is untouched.
        assert_eq!(limits.load(other, limit), Decision::Allowed);
        // Half a second later one more request fits (2/s), then it is full again.
        manual.advance(chrono::Duration::milliseconds(500));
        assert_eq!(limits.check(tenant), Decision::Allowed);
        assert!(matches!(limits.check(tenant), Decision::Limited(_)));
        // Reloading the same limit keeps the bucket's state; a new limit starts afresh.
        assert!(matches!(limits.load(tenant, limit), Decision::Limited(_)));
        assert_eq!(
            limits.load(
                tenant,
                Limit {
                    per_second: 2,
                    burst: 6
                }
            ),
            Decision::Allowed
        );
        // Settings are re-read after the refresh period.
        manual.advance(chrono::Duration::seconds(61));
        assert_eq!(limits.check(tenant), Decision::Unknown);
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        for (wait, secs) in [(0, 1), (1, 1), (999, 1), (1000, 1), (1001, 2), (2500, 3)] {
            let e = too_many(Duration::from_millis(wait));
            assert!(
                matches!(e, Error::TooManyRequests { retry_after_secs, .. } if retry_after_secs == secs),
                "{wait} ms: {e:?}"
            );
        }
    }
}
