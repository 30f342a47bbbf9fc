//! The outbox's queries: due messages picked fairly across sites, leases, outcomes.

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::store::{Result, Store};

/// A message due for delivery, with its endpoint.
#[derive(Clone, Debug)]
pub struct Due {
    /// Event id (the `webhook-id` receivers deduplicate on).
    pub id: String,
    /// The site whose endpoint it goes to (the unit of fairness).
    pub site_id: String,
    /// JSON body.
    pub body: String,
    /// Attempts so far.
    pub attempts: i64,
    /// The next-attempt time it was read with (the lease compares it).
    pub next_attempt_at: i64,
    /// Target URL.
    pub url: String,
    /// The endpoint's signing seed, hex.
    pub seed: String,
}

fn due(r: &AnyRow) -> Result<Due> {
    Ok(Due {
        id: r.try_get("id")?,
        site_id: r.try_get("site_id")?,
        body: r.try_get("body")?,
        attempts: r.try_get("attempts")?,
        next_attempt_at: r.try_get("next_attempt_at")?,
        url: r.try_get("url")?,
        seed: r.try_get("secret")?,
    })
}

impl Store {
    /// Messages due at `now`, at most `per_site` of each site, taken round-robin across sites
    /// (every site's oldest first, then every site's second, ...), at most `limit` in all: a
    /// site with a long backlog cannot crowd out another's first message.
    pub async fn due_outbox_fair(&self, now: i64, per_site: i64, limit: i64) -> Result<Vec<Due>> {
        let rows = sqlx::query(
            "SELECT id, site_id, body, attempts, next_attempt_at, url, secret FROM (
                 SELECT o.id, w.site_id, o.body, o.attempts, o.next_attempt_at, w.url, w.secret,
                        ROW_NUMBER() OVER (PARTITION BY w.site_id ORDER BY o.next_attempt_at, o.id)
                            AS turn
                 FROM outbox o JOIN webhooks w ON w.id = o.webhook_id
                 WHERE o.delivered_at IS NULL AND o.next_attempt_at <= $1
             ) due
             WHERE turn <= $2 ORDER BY turn, next_attempt_at, id LIMIT $3",
        )
        .bind(now)
        .bind(per_site)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(due).collect()
    }
}
