//! Hearing about changes other writers made: one dedicated connection per node listens on
//! the channel [`CHANNEL`], which triggers fill whenever a credential or a tenant row
//! changes (the migration `change_notifications`). Every writer notifies (any node, any
//! command, a statement typed by hand) without remembering to, and only when its
//! transaction commits.
//!
//! The connection is tokio-postgres's, made as [`super::fast`] makes its own (TLS
//! included), with its own `application_name` so an operator can find it in
//! `pg_stat_activity`. When it drops, the listener says so once ([`Heard::Lost`]) and
//! connects again with a growing pause; meanwhile nothing is heard, and the node's caches
//! fall back to their TTL. Once it listens again ([`Heard::Listening`]) the node must treat
//! everything it cached as stale: what was announced while it was away is lost.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio_postgres::AsyncMessage;
use uuid::Uuid;

use crate::config::DatabaseUrl;

/// The channel the triggers notify on.
pub const CHANNEL: &str = "scimd_changes";

/// What changed, as a notification's payload names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A SCIM token was revoked, expired, rehashed or deleted: `token:<key id>`.
    Token(String),
    /// The same for an admin key: `admin_key:<key id>`.
    AdminKey(String),
    /// A tenant's settings changed, or it was deleted: `tenant:<id>`.
    Tenant(Uuid),
}

impl Change {
    pub fn parse(payload: &str) -> Option<Self> {
        let (kind, value) = payload.split_once(':')?;
        match kind {
            "token" if !value.is_empty() => Some(Self::Token(value.to_owned())),
            "admin_key" if !value.is_empty() => Some(Self::AdminKey(value.to_owned())),
            "tenant" => Uuid::parse_str(value).ok().map(Self::Tenant),
            _ => None,
        }
    }
}

/// What the listener tells its node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Heard {
    /// Listening (again): whatever was announced before now may have been missed.
    Listening,
    Change(Change),
    /// The connection is gone: nothing is heard until [`Heard::Listening`].
    Lost,
}

/// The listener's state, for `/metrics`.
#[derive(Debug, Default)]
pub struct ListenerState {
    connected: AtomicBool,
    reconnects: AtomicU64,
    heard: AtomicU64,
}

impl ListenerState {
    pub fn connected(&self) -> bool {
        self.connected.load(Ordering::Relaxed)
    }

    /// How many times it listened again after losing its connection.
    pub fn reconnects(&self) -> u64 {
        self.reconnects.load(Ordering::Relaxed)
    }

    /// Notifications heard.
    pub fn heard(&self) -> u64 {
        self.heard.load(Ordering::Relaxed)
    }
}

/// How the listener waits.
#[derive(Debug, Clone, Copy)]
pub struct ListenTiming {
    /// The first pause before connecting again; it doubles after each failure...
    pub retry: Duration,
    /// ...up to this.
    pub max_retry: Duration,
    /// How often an idle connection is checked with a query, so that a connection whose
    /// network died silently is noticed.
    pub keepalive: Duration,
}

impl Default for ListenTiming {
    fn default() -> Self {
        Self {
            retry: Duration::from_secs(1),
            max_retry: Duration::from_secs(30),
            keepalive: Duration::from_secs(30),
        }
    }
}

/// One node's listener.
pub struct Listener {
    url: DatabaseUrl,
    /// The connection's `application_name`.
    name: String,
    timing: ListenTiming,
    state: Arc<ListenerState>,
}

impl Listener {
    pub fn new(url: DatabaseUrl, name: String, timing: ListenTiming) -> Self {
        Self {
            url,
            name,
            timing,
            state: Arc::default(),
        }
    }

    /// The `application_name` its connection shows in `pg_stat_activity`.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn state(&self) -> Arc<ListenerState> {
        Arc::clone(&self.state)
    }

    /// Listens until `shutdown` resolves, telling `on` what it hears; connects again by
    /// itself whenever the connection is lost.
    pub async fn run(&self, on: impl Fn(Heard), shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut pause = self.timing.retry;
        // Whether the loss of the connection has been told (and logged) already.
        let mut lost = false;
        loop {
            let session = self.session(&on, &mut lost);
            let outcome = tokio::select! {
                () = &mut shutdown => break,
                outcome = session => outcome,
            };
            match outcome {
                // It listened, then lost the connection: start again from the first pause.
                Ok(()) => pause = self.timing.retry,
                Err(e) if lost => tracing::debug!(error = %e, "still cannot listen for changes"),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen for changes; cached credentials and tenant settings expire by their TTL until it can");
                    lost = true;
                    on(Heard::Lost);
                }
            }
            tokio::select! {
                () = &mut shutdown => break,
                () = tokio::time::sleep(pause) => {}
            }
            pause = (pause * 2).min(self.timing.max_retry);
        }
        self.state.connected.store(false, Ordering::Relaxed);
    }

    /// One connection: connects, listens, hands on what it hears until the connection
    /// ends. `Err` when it could not listen at all.
    async fn session(&self, on: &impl Fn(Heard), lost: &mut bool) -> Result<(), String> {
        // The async pool's TLS (sslmode, sslrootcert as libpq reads them), and no password
        // in what a failure says.
        let redact = |text: String| self.url.redact(&text);
        let (mut config, tls) =
            super::tls::client_config(self.url.expose()).map_err(|e| redact(e.to_string()))?;
        config.application_name(&self.name);
        config.connect_timeout(Duration::from_secs(10));
        let (client, mut connection) = config
            .connect(tls)
            .await
            .map_err(|e| redact(crate::error::chain(&e)))?;
        // The connection is driven by its own task, which hands on the notifications.
        let (tx, mut rx) = mpsc::unbounded_channel::<String>();
        let mut driver = tokio::spawn(async move {
            let mut messages = futures_util::stream::poll_fn(|cx| connection.poll_message(cx));
            while let Some(message) = messages.next().await {
                match message {
                    Ok(AsyncMessage::Notification(n)) => {
                        if tx.send(n.payload().to_owned()).is_err() {
                            return None;
                        }
                    }
                    Ok(_) => {}
                    Err(e) => return Some(e.to_string()),
                }
            }
            None
        });
        let listening = tokio::time::timeout(
            Duration::from_secs(10),
            client.batch_execute(&format!("LISTEN {CHANNEL}")),
        )
        .await;
        match listening {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                driver.abort();
                return Err(e.to_string());
            }
            Err(_) => {
                driver.abort();
                return Err("LISTEN did not answer within 10 s".into());
            }
        }
        self.state.connected.store(true, Ordering::Relaxed);
        if *lost {
            tracing::info!(name = %self.name, "listening for changes again");
            self.state.reconnects.fetch_add(1, Ordering::Relaxed);
        } else {
            tracing::debug!(name = %self.name, "listening for changes");
        }
        *lost = false;
        on(Heard::Listening);

        let keepalive = self.timing.keepalive;
        let why = loop {
            tokio::select! {
                payload = rx.recv() => match payload {
                    Some(payload) => {
                        self.state.heard.fetch_add(1, Ordering::Relaxed);
                        match Change::parse(&payload) {
                            Some(change) => on(Heard::Change(change)),
                            None => tracing::debug!(%payload, "ignored a notification scimd does not know"),
                        }
                    }
                    // The driver ended: it says why.
                    None => break match (&mut driver).await {
                        Ok(Some(e)) => e,
                        _ => "the connection ended".to_owned(),
                    },
                },
                () = tokio::time::sleep(keepalive) => {
                    match tokio::time::timeout(keepalive, client.simple_query("SELECT 1")).await {
                        Ok(Ok(_)) => {}
                        Ok(Err(e)) => break e.to_string(),
                        Err(_) => break "the connection stopped answering".to_owned(),
                    }
                }
            }
        };
        driver.abort();
        self.state.connected.store(false, Ordering::Relaxed);
        tracing::warn!(error = %why, name = %self.name, "lost the connection that listens for changes; cached credentials and tenant settings expire by their TTL until it is back");
        *lost = true;
        on(Heard::Lost);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_name_what_changed() {
        assert_eq!(
            Change::parse("token:k7f3q2"),
            Some(Change::Token("k7f3q2".into()))
        );
        assert_eq!(
            Change::parse("admin_key:a1"),
            Some(Change::AdminKey("a1".into()))
        );
        let id = Uuid::now_v7();
        assert_eq!(
            Change::parse(&format!("tenant:{id}")),
            Some(Change::Tenant(id))
        );
        for unknown in ["", "token:", "tenant:nope", "group:x", "token"] {
            assert_eq!(Change::parse(unknown), None, "{unknown}");
        }
    }
}
