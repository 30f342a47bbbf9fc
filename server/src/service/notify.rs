//! Notifications: residents' inboxes and site webhooks, queued in the caller's transaction so
//! that an event and its notifications commit together or not at all.

use super::{new_id, now, Result, Service};
use crate::ids::{EventId, NotificationId, SiteId, UnitId};
use crate::store::{EventKind, Store, Tx};

impl Service {
    /// Tells every resident of `unit_id` about `kind`, and queues one webhook message per
    /// endpoint of the site. Nothing is sent here: the outbox worker delivers after commit.
    pub(crate) async fn notify(
        &self,
        tx: &mut Tx,
        site_id: &SiteId,
        unit_id: &UnitId,
        kind: EventKind,
        data: serde_json::Value,
    ) -> Result<()> {
        let now = now();
        for resident in Store::residents_tx(tx, unit_id).await? {
            let body = data.to_string();
            Store::insert_notification(
                tx,
                &new_id::<NotificationId>("ntf"),
                &resident.id,
                kind,
                &body,
                now,
            )
            .await?;
        }
        self.notify_site(tx, site_id, kind, data).await
    }

    /// Queues one webhook message per endpoint of the site (the manager's systems).
    pub(crate) async fn notify_site(
        &self,
        tx: &mut Tx,
        site_id: &SiteId,
        kind: EventKind,
        data: serde_json::Value,
    ) -> Result<()> {
        let now = now();
        for hook in Store::webhooks(tx, site_id).await? {
            let id: EventId = new_id("evt");
            let body =
                serde_json::json!({ "id": id, "type": kind, "created_at": now, "data": data });
            Store::insert_outbox(tx, &id, &hook.id, kind, &body.to_string(), now).await?;
        }
        Ok(())
    }
}
