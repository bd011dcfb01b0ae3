//! Prometheus metrics: requests by route and status, latency histograms, every DB pool's
//! state.
//! One registry per app instance, so tests running several apps in a process stay apart.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

use crate::store::PoolStates;

pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    pool: IntGaugeVec,
    rate_limited: IntCounter,
    hash_checks: IntCounterVec,
    replans: IntCounter,
    together_transactions: IntCounter,
    together_writes: IntCounter,
    listener_connected: prometheus::IntGauge,
    listener_reconnects: IntCounter,
    notifications: IntCounter,
    /// Held while the counters read off the app catch up, so that two scrapes at once do
    /// not both add the same difference.
    catching_up: std::sync::Mutex<()>,
}

/// What `/metrics` reads off the rest of the app when it is scraped.
#[derive(Clone, Copy, Debug)]
pub struct Scraped {
    pub pools: PoolStates,
    /// argon2 checks run for SCIM tokens and for admin keys ([`crate::auth::Verifier`]).
    pub scim_token_checks: u64,
    pub admin_key_checks: u64,
    /// How many times the tables grew enough for every connection to plan again.
    pub replans: u64,
    /// Transactions that committed several writes to one row together, and their writes.
    pub together: crate::store::together::Together,
    /// Whether the change listener is connected, how many times it connected again after
    /// losing its connection, and how many notifications it heard.
    pub listener_connected: bool,
    pub listener_reconnects: u64,
    pub notifications: u64,
}

impl Metrics {
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new_custom(Some("scimd".into()), None)?;
        let requests = IntCounterVec::new(
            Opts::new("http_requests_total", "HTTP requests by route and status"),
            &["method", "route", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "HTTP request latency by route",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                10.0,
            ]),
            &["method", "route"],
        )?;
        let pool = IntGaugeVec::new(
            Opts::new(
                "db_pool_connections",
                "Database connections by pool (blocking: r2d2 on libpq; async: every HTTP \
                 worker's, added up) and state (in_use, idle, max: the most it may open)",
            ),
            &["pool", "state"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        let rate_limited = IntCounter::new(
            "rate_limited_total",
            "SCIM requests refused with 429 because their tenant was over its rate limit",
        )?;
        let hash_checks = IntCounterVec::new(
            Opts::new(
                "credential_hash_checks_total",
                "argon2 checks of presented credentials (each takes 19 MiB and tens of ms), by kind",
            ),
            &["kind"],
        )?;
        let replans = IntCounter::new(
            "db_replans_total",
            "Times the tables doubled in size and every database connection dropped its \
             statements' plans, to make them again for the new size",
        )?;
        registry.register(Box::new(replans.clone()))?;
        let together_transactions = IntCounter::new(
            "db_together_transactions_total",
            "Transactions that committed several writes to one group together (writes that \
             arrived while another write to the group ran)",
        )?;
        let together_writes = IntCounter::new(
            "db_together_writes_total",
            "Writes committed in those transactions, each in a savepoint of its own",
        )?;
        registry.register(Box::new(together_transactions.clone()))?;
        registry.register(Box::new(together_writes.clone()))?;
        let listener_connected = prometheus::IntGauge::new(
            "change_listener_connected",
            "1 while this node listens for credential and tenant changes made elsewhere; 0 \
             while it cannot, and its caches fall back to SCIMD_TOKEN_CACHE_TTL",
        )?;
        let listener_reconnects = IntCounter::new(
            "change_listener_reconnects_total",
            "Times the change listener connected again after losing its connection",
        )?;
        let notifications = IntCounter::new(
            "change_notifications_total",
            "Change notifications this node heard",
        )?;
        registry.register(Box::new(listener_connected.clone()))?;
        registry.register(Box::new(listener_reconnects.clone()))?;
        registry.register(Box::new(notifications.clone()))?;
        registry.register(Box::new(pool.clone()))?;
        registry.register(Box::new(rate_limited.clone()))?;
        registry.register(Box::new(hash_checks.clone()))?;
        Ok(Self {
            registry,
            requests,
            latency,
            pool,
            rate_limited,
            hash_checks,
            replans,
            together_transactions,
            together_writes,
            listener_connected,
            listener_reconnects,
            notifications,
            catching_up: std::sync::Mutex::new(()),
        })
    }

    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.requests
            .with_label_values(&[method, route, &status.to_string()])
            .inc();
        self.latency
            .with_label_values(&[method, route])
            .observe(seconds);
    }

    /// The registry, for the collectors of other parts of the server.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    pub fn rate_limited(&self) {
        self.rate_limited.inc();
    }

    pub fn render(&self, scraped: Scraped) -> Result<String, prometheus::Error> {
        let _one_at_a_time = self
            .catching_up
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for (kind, total) in [
            ("scim_token", scraped.scim_token_checks),
            ("admin_key", scraped.admin_key_checks),
        ] {
            catch_up(&self.hash_checks.with_label_values(&[kind]), total);
        }
        catch_up(&self.replans, scraped.replans);
        catch_up(&self.together_transactions, scraped.together.transactions);
        catch_up(&self.together_writes, scraped.together.writes);
        self.listener_connected
            .set(i64::from(scraped.listener_connected));
        catch_up(&self.listener_reconnects, scraped.listener_reconnects);
        catch_up(&self.notifications, scraped.notifications);
        for (name, pool) in [
            ("blocking", scraped.pools.blocking),
            ("async", scraped.pools.fast),
        ] {
            for (state, n) in [
                ("in_use", pool.in_use),
                ("idle", pool.idle),
                ("max", pool.max),
            ] {
                self.pool
                    .with_label_values(&[name, state])
                    .set(i64::from(n));
            }
        }
        let mut out = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut out)?;
        Ok(String::from_utf8_lossy(&out).into_owned())
    }
}

/// Brings `counter` up to `total`, a running total the rest of the app keeps: a counter
/// only goes up, so it takes the difference since the last scrape.
fn catch_up(counter: &IntCounter, total: u64) {
    counter.inc_by(total.saturating_sub(counter.get()));
}
