//! Webhook delivery from the outbox: at least once, signed, with exponential back-off.
//!
//! Events are written to the outbox in the same transaction as what they announce, so a crash
//! can never lose one. A message is leased before sending (so that two server processes on one
//! PostgreSQL do not both send it), and marked delivered only after the receiver answered 2xx:
//! a crash between the two makes it go out again. Receivers deduplicate on `Porter-Event-Id`.

use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::sync::watch;

use crate::client;
use crate::service::{now, Service};

/// The longest wait between attempts.
const MAX_BACKOFF_SECONDS: i64 = 3600;

/// The `Porter-Signature` header: `t=<unix time>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`,
/// keyed by the webhook secret's text as returned when the webhook was created.
pub fn signature(secret: &str, timestamp: i64, body: &str) -> String {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    format!("t={timestamp},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// How the worker retries.
#[derive(Clone, Copy, Debug)]
pub struct Policy {
    /// First retry delay in seconds, doubled per failed attempt up to an hour.
    pub backoff_base: i64,
    /// How long a message being sent is left alone by other workers (and by this one after a
    /// crash) before it is tried again, in seconds.
    pub lease: i64,
}

/// Sends every due message once; returns how many were delivered.
pub async fn deliver_due(service: &Service, policy: Policy) -> Result<usize, sqlx::Error> {
    let Policy { backoff_base, lease } = policy;
    let store = service.store();
    let now = now();
    let mut delivered = 0;
    for msg in store.due_outbox(now, 20).await? {
        if !store.lease_outbox(&msg.id, msg.next_attempt_at, now + lease).await? {
            continue; // another process took it
        }
        let sig = signature(&msg.secret, now, &msg.body);
        let headers = [
            ("Content-Type", "application/json"),
            ("Porter-Event-Id", msg.id.as_str()),
            ("Porter-Event", msg.event.as_str()),
            ("Porter-Signature", sig.as_str()),
        ];
        let result = client::request(
            "POST",
            &msg.url,
            &headers,
            msg.body.as_bytes(),
            Duration::from_secs(10),
        )
        .await;
        match result {
            Ok(r) if (200..300).contains(&r.status) => {
                store.outbox_delivered(&msg.id, now).await?;
                service.metrics().webhooks_delivered.inc();
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
                service.metrics().webhooks_failed.inc();
            }
        }
    }
    Ok(delivered)
}

/// Runs the worker until `shutdown` turns true.
pub async fn run(
    service: Service,
    interval: Duration,
    policy: Policy,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        if let Err(e) = deliver_due(&service, policy).await {
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
