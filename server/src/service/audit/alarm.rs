//! Alarms raised from audit evidence: each kept once per door, kind and log sequence, and
//! naming who uploaded the evidence, so that the same evidence sent again (by the same phone or
//! another) never raises a second alarm or a second notification.

use crate::ids::{DoorId, SiteId};
use crate::service::{new_id, now, Result, Service};
use crate::store::{self, AlarmKind, EventKind, Store, Tx};

impl Service {
    /// Raises an alarm about `door` at log `sequence` unless one of that kind was raised there
    /// before, naming the uploader; true if it was new. Inside the caller's transaction.
    #[allow(clippy::too_many_arguments)] // the alarm's fields, each once
    pub(super) async fn raise_alarm_once(
        &self,
        tx: &mut Tx,
        site: &SiteId,
        door: &DoorId,
        kind: AlarmKind,
        sequence: u64,
        detail: String,
        uploader: &str,
    ) -> Result<bool> {
        let row = store::AlarmRow {
            id: new_id("alm"),
            site_id: site.clone(),
            door_id: Some(door.clone()),
            kind,
            detail: format!("{detail} (uploaded by {uploader})"),
            created_at: now(),
        };
        let key = format!("{door}:{kind}:{sequence}");
        if !Store::insert_alarm_once(tx, &row, &key, uploader).await? {
            return Ok(false);
        }
        tracing::warn!(site = %row.site_id, %door, %kind, detail = %row.detail, "alarm");
        self.metrics().alarms.inc();
        let data = serde_json::json!({
            "alarm_id": row.id,
            "door_id": row.door_id,
            "kind": row.kind,
            "detail": row.detail,
        });
        self.notify_site(tx, &row.site_id, EventKind::AlarmRaised, data).await?;
        Ok(true)
    }

    /// [`Service::raise_alarm_once`] in its own transaction.
    #[allow(clippy::too_many_arguments)] // the alarm's fields, each once
    pub(super) async fn alarm_once(
        &self,
        site: &SiteId,
        door: &DoorId,
        kind: AlarmKind,
        sequence: u64,
        detail: String,
        uploader: &str,
    ) -> Result<()> {
        let mut tx = self.store().begin().await?;
        self.raise_alarm_once(&mut tx, site, door, kind, sequence, detail, uploader).await?;
        Ok(tx.commit().await?)
    }
}
