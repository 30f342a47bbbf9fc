//! Webhook delivery from the outbox: at least once, signed (Standard Webhooks), with
//! exponential back-off, through the guarded [`WebhookClient`], with bounded concurrency and
//! fairness between sites.
//!
//! Events are written to the outbox in the same transaction as what they announce, so a crash
//! can never lose one. A message is leased before sending (so that two server processes on one
//! PostgreSQL do not both send it), and marked delivered only after the receiver answered 2xx:
//! a crash between the two makes it go out again. Receivers deduplicate on `webhook-id`.
//!
//! Fairness: at most [`Limits::per_site`] messages of one site are in flight at once, at most
//! [`Limits::total`] in all, and due messages are taken round-robin across sites. The worker
//! does not wait for a pass to finish before starting the next one, so a site whose receivers
//! never answer holds only its own slots (each for at most [`RECEIVER_TIMEOUT`]) and another
//! site's message leaves within one polling interval.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::client::WebhookClient;
use crate::ids::SiteId;
use crate::service::{now, Service};
use crate::standard_webhooks::EndpointKeys;
use crate::store::Due;

/// The longest wait between attempts.
const MAX_BACKOFF_SECONDS: i64 = 3600;

/// How long one receiver may take to answer.
pub const RECEIVER_TIMEOUT: Duration = Duration::from_secs(10);

/// How the worker retries.
#[derive(Clone, Copy, Debug)]
pub struct Policy {
    /// First retry delay in seconds, doubled per failed attempt up to an hour.
    pub backoff_base: i64,
    /// How long a message being sent is left alone by other workers (and by this one after a
    /// crash) before it is tried again, in seconds. Longer than [`RECEIVER_TIMEOUT`].
    pub lease: i64,
}

/// How many messages may be in flight.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// In all, per process.
    pub total: usize,
    /// For one site's endpoints.
    pub per_site: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { total: 32, per_site: 4 }
    }
}

/// Messages in flight, per site and in all.
#[derive(Debug, Default)]
struct InFlight {
    per_site: HashMap<SiteId, usize>,
    total: usize,
}

/// Gives a message's slot back when its delivery ends, however it ends.
struct Slot {
    site: SiteId,
    in_flight: Arc<Mutex<InFlight>>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut f = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        f.total = f.total.saturating_sub(1);
        if let Some(n) = f.per_site.get_mut(&self.site) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                f.per_site.remove(&self.site);
            }
        }
    }
}

/// The outbox worker: the service, one webhook client (its connection pool), the policy.
#[derive(Clone, Debug)]
pub struct Outbox {
    service: Service,
    client: WebhookClient,
    policy: Policy,
    limits: Limits,
    in_flight: Arc<Mutex<InFlight>>,
}

impl Outbox {
    /// A worker sending to the service's permitted webhook targets, with default limits.
    pub fn new(service: Service, policy: Policy) -> Result<Outbox, String> {
        let targets = service.webhook_targets().clone();
        let client = WebhookClient::new(targets, service.webhook_roots(), RECEIVER_TIMEOUT)
            .map_err(|e| format!("cannot set up the webhook client: {e}"))?;
        Ok(Outbox { service, client, policy, limits: Limits::default(), in_flight: Arc::default() })
    }

    /// The same worker with other concurrency limits (each at least 1).
    pub fn with_limits(mut self, limits: Limits) -> Outbox {
        self.limits = Limits { total: limits.total.max(1), per_site: limits.per_site.max(1) };
        self
    }

    /// Leases and starts every due message that fits the limits, without waiting for them.
    /// Each task answers whether its message was delivered.
    async fn start_due(&self, tasks: &mut JoinSet<bool>) -> Result<(), sqlx::Error> {
        let store = self.service.store();
        let now = now();
        let free = {
            let f = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
            self.limits.total.saturating_sub(f.total)
        };
        if free == 0 {
            return Ok(());
        }
        let per_site = self.limits.per_site as i64;
        for msg in store.due_outbox_fair(now, per_site, free as i64).await? {
            let slot = {
                let mut f = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
                let site = f.per_site.get(&msg.site_id).copied().unwrap_or(0);
                if f.total >= self.limits.total || site >= self.limits.per_site {
                    continue; // its site's slots are taken: it waits for the next pass
                }
                f.total += 1;
                *f.per_site.entry(msg.site_id.clone()).or_default() += 1;
                Slot { site: msg.site_id.clone(), in_flight: self.in_flight.clone() }
            };
            if !store.lease_outbox(&msg.id, msg.next_attempt_at, now + self.policy.lease).await? {
                continue; // another process took it (the slot is given back on drop)
            }
            let this = self.clone();
            tasks.spawn(async move {
                let _slot = slot;
                match this.deliver(&msg).await {
                    Ok(delivered) => delivered,
                    Err(e) => {
                        // The lease expires and the message is tried again.
                        tracing::error!(event = %msg.id, error = %e, "recording a webhook attempt failed");
                        false
                    }
                }
            });
        }
        Ok(())
    }

    /// Sends one leased message and records the outcome; true if delivered.
    async fn deliver(&self, msg: &Due) -> Result<bool, sqlx::Error> {
        let store = self.service.store();
        let metrics = self.service.metrics();
        let now = now();
        let result = match EndpointKeys::from_seed_hex(&msg.seed) {
            Ok(keys) => {
                let signature = keys.signature_header(msg.id.as_str(), now, msg.body.as_bytes());
                let timestamp = now.to_string();
                let headers = [
                    ("content-type", "application/json"),
                    ("webhook-id", msg.id.as_str()),
                    ("webhook-timestamp", timestamp.as_str()),
                    ("webhook-signature", signature.as_str()),
                ];
                self.client.post(&msg.url, &headers, msg.body.clone().into_bytes()).await
            }
            Err(e) => Err(crate::client::Error::Transport(e)),
        };
        let done = now_after(now);
        match result {
            Ok(r) if (200..300).contains(&r.status) => {
                store.outbox_delivered(&msg.id, done).await?;
                metrics.webhooks_delivered.inc();
                Ok(true)
            }
            other => {
                let error = match other {
                    Ok(r) => format!("HTTP {}", r.status),
                    Err(e) => e.to_string(),
                };
                let wait = self.policy.backoff_base.saturating_mul(1 << msg.attempts.clamp(0, 20));
                let next = done + wait.min(MAX_BACKOFF_SECONDS);
                tracing::warn!(event = %msg.id, site = %msg.site_id, attempts = msg.attempts + 1, %error, next, "webhook failed");
                store.outbox_failed(&msg.id, next, &error).await?;
                metrics.webhooks_failed.inc();
                Ok(false)
            }
        }
    }

    /// Sends every due message that fits the limits and waits for them; returns how many were
    /// delivered. (The worker does not wait: see [`Outbox::run`].)
    pub async fn deliver_due(&self) -> Result<usize, sqlx::Error> {
        let mut tasks = JoinSet::new();
        self.start_due(&mut tasks).await?;
        let mut delivered = 0;
        while let Some(done) = tasks.join_next().await {
            delivered += usize::from(done.unwrap_or(false));
        }
        Ok(delivered)
    }

    /// Runs the worker until `shutdown` turns true: every `interval` it starts what is due
    /// and fits, never waiting for a slow receiver; on shutdown it lets deliveries in flight
    /// finish (each within [`RECEIVER_TIMEOUT`]).
    pub async fn run(self, interval: Duration, mut shutdown: watch::Receiver<bool>) {
        let mut tasks = JoinSet::new();
        loop {
            if let Err(e) = self.start_due(&mut tasks).await {
                tracing::error!(error = %e, "outbox pass failed; retrying");
            }
            // Reap finished deliveries so the set does not grow.
            while tasks.try_join_next().is_some() {}
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = shutdown.changed() => break,
            }
            if *shutdown.borrow() {
                break;
            }
        }
        while tasks.join_next().await.is_some() {}
    }
}

/// The time an attempt ended (back-off counts from then, not from its start).
fn now_after(started: i64) -> i64 {
    now().max(started)
}
