//! Webhook endpoints and the outbox.

use sqlx::Row;

use super::{i, s, Backend, EventKind, Page, Result, Store, Tx};
use crate::ids::{EventId, SiteId, WebhookId};

/// A webhook endpoint of a site.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct WebhookRow {
    /// Public id.
    pub id: WebhookId,
    /// Site id.
    pub site_id: SiteId,
    /// Target URL.
    pub url: String,
    /// HMAC secret.
    pub secret: String,
}

/// A pending or delivered webhook message.
#[derive(Clone, Debug)]
pub struct OutboxRow {
    /// Public id (also the event id the receiver deduplicates on).
    pub id: EventId,
    /// Webhook id.
    pub webhook_id: WebhookId,
    /// What happened.
    pub event: EventKind,
    /// JSON body.
    pub body: String,
    /// Attempts so far.
    pub attempts: i64,
    /// Next attempt time.
    pub next_attempt_at: i64,
    /// Target URL.
    pub url: String,
    /// HMAC secret.
    pub secret: String,
}

impl Store {
    /// Inserts a webhook endpoint.
    pub async fn insert_webhook(&self, r: &WebhookRow, now: i64) -> Result<()> {
        exec!(
            &self.pool,
            "INSERT INTO webhooks (id, site_id, url, secret, created_at) VALUES ($1,$2,$3,$4,$5)",
            r.id.clone(),
            r.site_id.clone(),
            r.url.clone(),
            r.secret.clone(),
            now
        )?;
        Ok(())
    }

    /// Every webhook of a site.
    pub async fn webhooks(tx: &mut Tx, site_id: &SiteId) -> Result<Vec<WebhookRow>> {
        all!(
            &mut **tx,
            WebhookRow,
            "SELECT id, site_id, url, secret FROM webhooks WHERE site_id = $1 ORDER BY id",
            site_id.clone()
        )
    }

    /// Queues a webhook message.
    pub async fn insert_outbox(
        tx: &mut Tx,
        id: &EventId,
        webhook_id: &WebhookId,
        event: EventKind,
        body: &str,
        now: i64,
    ) -> Result<()> {
        exec!(
            &mut **tx,
            "INSERT INTO outbox (id, webhook_id, event, body, attempts, next_attempt_at, created_at)
             VALUES ($1,$2,$3,$4,0,$5,$5)",
            id.clone(),
            webhook_id.clone(),
            event.as_str(),
            body.to_string(),
            now
        )?;
        Ok(())
    }

    /// Outbox messages due at `now`, oldest first.
    pub async fn due_outbox(&self, now: i64, limit: i64) -> Result<Vec<OutboxRow>> {
        let rows = sqlx::query(
            "SELECT o.id, o.webhook_id, o.event, o.body, o.attempts, o.next_attempt_at, w.url,
                    w.secret
             FROM outbox o JOIN webhooks w ON w.id = o.webhook_id
             WHERE o.delivered_at IS NULL AND o.next_attempt_at <= $1 ORDER BY o.id LIMIT $2",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(self.read())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(OutboxRow {
                    id: r.try_get("id")?,
                    webhook_id: r.try_get("webhook_id")?,
                    event: r.try_get("event")?,
                    body: s(r, "body")?,
                    attempts: i(r, "attempts")?,
                    next_attempt_at: i(r, "next_attempt_at")?,
                    url: s(r, "url")?,
                    secret: s(r, "secret")?,
                })
            })
            .collect()
    }

    /// Leases a due message until `lease_until`, so that one process sends it at a time;
    /// false if another process leased it first.
    pub async fn lease_outbox(
        &self,
        id: &EventId,
        seen_next: i64,
        lease_until: i64,
    ) -> Result<bool> {
        let n = exec!(
            &self.pool,
            "UPDATE outbox SET next_attempt_at = $1
             WHERE id = $2 AND next_attempt_at = $3 AND delivered_at IS NULL",
            lease_until,
            id.clone(),
            seen_next
        )?;
        Ok(n == 1)
    }

    /// Marks a message delivered.
    pub async fn outbox_delivered(&self, id: &EventId, now: i64) -> Result<()> {
        exec!(
            &self.pool,
            "UPDATE outbox SET delivered_at = $1, attempts = attempts + 1 WHERE id = $2",
            now,
            id.clone()
        )?;
        Ok(())
    }

    /// Records a failed attempt and when to try again.
    pub async fn outbox_failed(&self, id: &EventId, next: i64, error: &str) -> Result<()> {
        exec!(
            &self.pool,
            "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $1, last_error = $2
             WHERE id = $3",
            next,
            error.to_string(),
            id.clone()
        )?;
        Ok(())
    }

    /// Messages not yet delivered.
    pub async fn outbox_pending(&self) -> Result<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM outbox WHERE delivered_at IS NULL")
            .fetch_one(self.read())
            .await?;
        i(&row, "n")
    }
}

/// A message due for delivery, with its endpoint.
#[derive(Clone, Debug)]
pub struct Due {
    /// Event id (the `webhook-id` receivers deduplicate on).
    pub id: EventId,
    /// The site whose endpoint it goes to (the unit of fairness).
    pub site_id: SiteId,
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

impl Store {
    /// Inserts a webhook endpoint unless its site already has `max`; false if it has.
    ///
    /// Count and insert are serialised per site: under PostgreSQL's READ COMMITTED two
    /// concurrent `INSERT ... WHERE (SELECT COUNT(*) ...) < max` statements each count the
    /// other's row as absent and both insert (11 endpoints under a cap of 10), so the site's
    /// row is locked first (`FOR UPDATE`) and the count taken after the lock, by a statement
    /// that sees every insert committed before it. SQLite serialises writers itself (one
    /// connection, and a write transaction locks the database).
    pub async fn insert_webhook_within(&self, r: &WebhookRow, now: i64, max: i64) -> Result<bool> {
        let mut tx = self.begin().await?;
        if self.backend == Backend::Postgres {
            let site = r.site_id.clone();
            exec!(&mut *tx, "SELECT id FROM sites WHERE id = $1 FOR UPDATE", site)?;
        }
        let n = exec!(
            &mut *tx,
            "INSERT INTO webhooks (id, site_id, url, secret, created_at)
             SELECT $1, $2, $3, $4, $5
             WHERE (SELECT COUNT(*) FROM webhooks WHERE site_id = $2) < $6",
            r.id.clone(),
            r.site_id.clone(),
            r.url.clone(),
            r.secret.clone(),
            now,
            max
        )?;
        tx.commit().await?;
        Ok(n == 1)
    }

    /// One webhook endpoint.
    pub async fn webhook(&self, id: &WebhookId) -> Result<Option<WebhookRow>> {
        one!(
            &self.pool,
            WebhookRow,
            "SELECT id, site_id, url, secret FROM webhooks WHERE id = $1",
            id.clone()
        )
    }

    /// A page of a site's webhook endpoints, in id order.
    pub async fn webhooks_page(&self, site_id: &SiteId, page: &Page) -> Result<Vec<WebhookRow>> {
        all!(
            &self.pool,
            WebhookRow,
            "SELECT id, site_id, url, secret FROM webhooks
             WHERE site_id = $1 AND id > $2 ORDER BY id LIMIT $3",
            site_id.clone(),
            page.after.clone(),
            page.limit
        )
    }

    /// Deletes a webhook endpoint and its outbox messages, sent or not (a deleted endpoint is
    /// sent nothing more); false if it did not exist.
    pub async fn delete_webhook(&self, id: &WebhookId) -> Result<bool> {
        let id = id.clone();
        let mut tx = self.begin().await?;
        exec!(&mut *tx, "DELETE FROM outbox WHERE webhook_id = $1", id.clone())?;
        let n = exec!(&mut *tx, "DELETE FROM webhooks WHERE id = $1", id)?;
        tx.commit().await?;
        Ok(n == 1)
    }

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
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Due {
                    id: r.try_get("id")?,
                    site_id: r.try_get("site_id")?,
                    body: s(r, "body")?,
                    attempts: i(r, "attempts")?,
                    next_attempt_at: i(r, "next_attempt_at")?,
                    url: s(r, "url")?,
                    seed: s(r, "secret")?,
                })
            })
            .collect()
    }
}
