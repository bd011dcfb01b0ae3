//! What pull sync tells `/metrics`: runs by provider and status, how long they took,
//! retries after throttling, and how stale the stalest tenant is.

use std::sync::Arc;

use prometheus::{
    HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
};

use super::http::RetryStats;

/// The collectors, registered in the server's registry.
#[derive(Clone)]
pub struct SyncMetrics {
    runs: IntCounterVec,
    duration: HistogramVec,
    throttled: IntCounter,
    oldest_success: IntGauge,
    /// Every run's retries on this node (the connectors count them).
    pub retries: Arc<RetryStats>,
}

impl SyncMetrics {
    pub fn new(registry: &Registry) -> Result<Self, prometheus::Error> {
        let runs = IntCounterVec::new(
            Opts::new(
                "sync_runs_total",
                "Pull sync runs this node ended, by provider and status",
            ),
            &["provider", "status"],
        )?;
        let duration = HistogramVec::new(
            HistogramOpts::new(
                "sync_run_duration_seconds",
                "How long a pull sync run took, from its start to its end, by provider",
            )
            .buckets(vec![
                1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0,
            ]),
            &["provider"],
        )?;
        let throttled = IntCounter::new(
            "sync_throttled_retries_total",
            "Requests to a directory retried after it throttled them (429, 503, 504)",
        )?;
        let oldest_success = IntGauge::new(
            "sync_oldest_success_age_seconds",
            "Seconds since the last successful sync of the connected tenant that has waited \
             longest (a connection never applied counts from its creation)",
        )?;
        registry.register(Box::new(runs.clone()))?;
        registry.register(Box::new(duration.clone()))?;
        registry.register(Box::new(throttled.clone()))?;
        registry.register(Box::new(oldest_success.clone()))?;
        Ok(Self {
            runs,
            duration,
            throttled,
            oldest_success,
            retries: Arc::new(RetryStats::default()),
        })
    }

    /// A run ended.
    pub fn ended(&self, provider: &str, status: &str, seconds: f64) {
        self.runs.with_label_values(&[provider, status]).inc();
        self.duration
            .with_label_values(&[provider])
            .observe(seconds);
    }

    /// Brings the scraped values up to date: the retry counter, and the stalest tenant's
    /// age (from the database, at scrape time).
    pub fn scraped(&self, oldest_success_age_secs: i64) {
        // A counter only goes up: it takes the difference since the last scrape.
        let total = self.retries.throttled_retries();
        self.throttled
            .inc_by(total.saturating_sub(self.throttled.get()));
        self.oldest_success.set(oldest_success_age_secs);
    }
}
