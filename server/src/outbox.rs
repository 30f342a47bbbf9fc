//! Webhook delivery from the outbox: at least once, signed (Standard Webhooks), with
//! exponential back-off, through the guarded [`WebhookClient`].
//!
//! Events are written to the outbox in the same transaction as what they announce, so a crash
//! can never lose one. A message is leased before sending (so that two server processes on one
//! PostgreSQL do not both send it), and marked delivered only after the receiver answered 2xx:
//! a crash between the two makes it go out again. Receivers deduplicate on `webhook-id`.

use std::time::Duration;

use tokio::sync::watch;

use crate::client::WebhookClient;
use crate::service::{now, Service};
use crate::standard_webhooks::EndpointKeys;

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
    /// crash) before it is tried again, in seconds.
    pub lease: i64,
}

/// The outbox worker: the service, one webhook client (its connection pool), the policy.
#[derive(Clone, Debug)]
pub struct Outbox {
    service: Service,
    client: WebhookClient,
    policy: Policy,
}

impl Outbox {
    /// A worker sending to the service's permitted webhook targets.
    pub fn new(service: Service, policy: Policy) -> Result<Outbox, String> {
        let client = WebhookClient::new(service.webhook_targets().clone(), RECEIVER_TIMEOUT)
            .map_err(|e| format!("cannot set up the webhook client: {e}"))?;
        Ok(Outbox { service, client, policy })
    }

    /// Sends every due message once; returns how many were delivered.
    pub async fn deliver_due(&self) -> Result<usize, sqlx::Error> {
        let Policy { backoff_base, lease } = self.policy;
        let store = self.service.store();
        let metrics = self.service.metrics();
        let now = now();
        let mut delivered = 0;
        for msg in store.due_outbox(now, 20).await? {
            if !store.lease_outbox(&msg.id, msg.next_attempt_at, now + lease).await? {
                continue; // another process took it
            }
            let result = match EndpointKeys::from_seed_hex(&msg.secret) {
                Ok(keys) => {
                    let signature = keys.signature_header(&msg.id, now, msg.body.as_bytes());
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
            match result {
                Ok(r) if (200..300).contains(&r.status) => {
                    store.outbox_delivered(&msg.id, now).await?;
                    metrics.webhooks_delivered.inc();
                    delivered += 1;
                }
                other => {
                    let error = match other {
                        Ok(r) => format!("HTTP {}", r.status),
                        Err(e) => e.to_string(),
                    };
                    let wait = backoff_base.saturating_mul(1 << msg.attempts.clamp(0, 20));
                    let next = now + wait.min(MAX_BACKOFF_SECONDS);
                    tracing::warn!(event = %msg.id, attempts = msg.attempts + 1, %error, next, "webhook failed");
                    store.outbox_failed(&msg.id, next, &error).await?;
                    metrics.webhooks_failed.inc();
                }
            }
        }
        Ok(delivered)
    }

    /// Runs the worker until `shutdown` turns true.
    pub async fn run(self, interval: Duration, mut shutdown: watch::Receiver<bool>) {
        loop {
            if let Err(e) = self.deliver_due().await {
                tracing::error!(error = %e, "outbox pass failed; retrying");
            }
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = shutdown.changed() => return,
            }
            if *shutdown.borrow() {
                return;
            }
        }
    }
}
