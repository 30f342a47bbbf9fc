//! Matching admissions to deliveries: which issued grant an admission record names, whether it
//! is a use the grant has at a door and time it allows, and writing it once. A matched
//! admission tells the residents their delivery entered; an unmatched one, or a second
//! admission of the same grant use, raises an alarm.

use porter_protocol::{AuditEvent, AuditRecord, Enrolment, LogMask, MAX_ENROLMENT_LEN};

use super::{internal, Admitted};
use crate::ids::{DeliveryId, UnitId};
use crate::service::{hex_bytes, now, stored_key, Result, Service};
use crate::store::{self, AlarmKind, EventKind, Store, Tx};

/// Slack around a grant's window when matching, beyond the door's own clock-skew check.
const MATCH_SLACK: i64 = 300;

impl Service {
    /// The key that unmasks holders in `door`'s log: `None` for a door enrolled without a log
    /// key (its log names holders in clear).
    pub(super) fn log_mask(
        &self,
        site: &store::SiteRow,
        door: &store::DoorRow,
    ) -> Result<Option<LogMask>> {
        let bytes = hex_bytes("stored enrolment", &door.enrolment, MAX_ENROLMENT_LEN)?;
        let enrolment =
            Enrolment::decode_verified(&bytes, &stored_key(&site.root_key)?).map_err(|e| {
                internal(format!("door {}'s stored enrolment: {}", door.id, e.message()))
            })?;
        let Some(log_key) = enrolment.log_key else { return Ok(None) };
        let secret = self.site_log_secret(site)?.filter(|s| s.log_key().ok() == Some(log_key));
        let secret = secret.ok_or_else(|| {
            internal(format!(
                "door {} was enrolled with a log key this server does not hold: enrol it again with the site's log_key",
                door.id
            ))
        })?;
        let mask = LogMask::for_server(&secret, &enrolment.device)
            .map_err(|e| internal(format!("door {}'s log mask: {}", door.id, e.message())))?;
        Ok(Some(mask))
    }

    /// Matches an admission to the grant it names: same issuer key and serial at the site,
    /// same holder (unmasked with `mask` when the door masks its log), same package, a use the
    /// grant has, a door it names, a time in its window.
    pub(super) async fn match_admission(
        &self,
        site: &store::SiteRow,
        door_number: u16,
        record: &AuditRecord,
        mask: Option<&LogMask>,
    ) -> Result<std::result::Result<(store::GrantRow, UnitId), String>> {
        let AuditEvent::Admitted { issuer, grant_serial, use_index, holder, package, .. } =
            record.event
        else {
            return Ok(Err("not an admission".into()));
        };
        let holder = match mask {
            Some(mask) => record.holder(mask).unwrap_or(holder),
            None => holder,
        };
        let Ok(serial) = i64::try_from(grant_serial) else {
            return Ok(Err(format!("serial {grant_serial} was never issued")));
        };
        let store = self.store();
        let Some(grant) = store.grant_by_serial(&site.id, &hex::encode(issuer.0), serial).await?
        else {
            return Ok(Err(format!(
                "no grant of issuer {} with serial {grant_serial}",
                hex::encode(issuer.0)
            )));
        };
        let driver = store.driver(&grant.driver_id).await?;
        let delivery = store.delivery(&grant.delivery_id).await?;
        let holder_ok =
            driver.and_then(|d| stored_key(&d.holder_key).ok()).is_some_and(|k| k.id() == holder);
        let package_ok = delivery.as_ref().is_some_and(|d| d.package == hex::encode(package.0));
        let door_ok = grant.doors.0.contains(&door_number);
        let at = i64::from(record.at.0);
        let time_ok = at >= grant.not_before - MATCH_SLACK && at <= grant.not_after + MATCH_SLACK;
        let use_ok = i64::from(use_index) < grant.uses;
        let problems: Vec<&str> = [
            (holder_ok, "holder"),
            (package_ok, "package"),
            (door_ok, "door"),
            (time_ok, "time"),
            (use_ok, "use index"),
        ]
        .iter()
        .filter(|(ok, _)| !ok)
        .map(|(_, what)| *what)
        .collect();
        match delivery {
            Some(d) if problems.is_empty() => Ok(Ok((grant, d.unit_id))),
            _ => Ok(Err(format!("grant {} differs in: {}", grant.id, problems.join(", ")))),
        }
    }
    /// Writes one admission; on first sight, tells the residents (matched) or raises an alarm
    /// (unmatched, or a grant use this door already admitted). Returns whether it was new.
    /// A matched delivery is not marked entered here but pushed onto `entered`, for
    /// [`mark_entered_in_order`] once the batch is recorded.
    pub(super) async fn record_admission(
        &self,
        tx: &mut Tx,
        site: &store::SiteRow,
        door: &store::DoorRow,
        a: &Admitted,
        uploader: &str,
        entered: &mut Vec<(DeliveryId, i64)>,
    ) -> Result<bool> {
        let now = now();
        // The door admits each use of a grant once: a second admission of the same use is not
        // a delivery but a replay (or a door fault), and is not matched.
        let mut a = Admitted { matched: a.matched.clone(), record_hex: a.record_hex.clone(), ..*a };
        if let (Ok((g, _)), Some(use_index)) = (&a.matched, use_of(&a.record_hex)) {
            for (earlier, record) in Store::admissions_of_grant(tx, &door.id, &g.id).await? {
                if earlier != a.sequence && use_of(&record) == Some(use_index) {
                    let detail = format!(
                        "log sequence {} admits use {use_index} of grant {} again (first at \
                         sequence {earlier})",
                        a.sequence, g.id
                    );
                    self.raise_alarm_once(
                        tx,
                        &site.id,
                        &door.id,
                        AlarmKind::RepeatedAdmission,
                        a.sequence as u64,
                        detail,
                        uploader,
                    )
                    .await?;
                    a.matched =
                        Err(format!("use {use_index} of grant {} was admitted before", g.id));
                    break;
                }
            }
        }
        let a = &a;
        let (grant_id, carrier_id) = match &a.matched {
            Ok((g, _)) => (Some(&g.id), Some(&g.carrier_id)),
            Err(_) => (None, None),
        };
        let new = Store::insert_admission(
            tx,
            &door.id,
            a.sequence,
            &site.id,
            &a.record_hex,
            grant_id,
            carrier_id,
            a.at,
            now,
        )
        .await?;
        if !new {
            return Ok(false);
        }
        Store::set_uploader(tx, &door.id, a.sequence, uploader).await?;
        match &a.matched {
            Ok((g, unit)) => {
                entered.push((g.delivery_id.clone(), a.at));
                let data = serde_json::json!({
                    "delivery_id": g.delivery_id,
                    "unit_id": unit,
                    "carrier_id": g.carrier_id,
                    "door_number": a.door_number,
                    "at": a.at,
                });
                self.notify(tx, &site.id, unit, EventKind::DeliveryEntered, data).await?;
            }
            Err(reason) if reason.ends_with("was admitted before") => {} // alarmed above
            Err(reason) => {
                let detail = format!("admission at log sequence {}: {reason}", a.sequence);
                let (kind, seq) = (AlarmKind::UnmatchedAdmission, a.sequence as u64);
                self.raise_alarm_once(tx, &site.id, &door.id, kind, seq, detail, uploader).await?;
            }
        }
        Ok(true)
    }
}

/// Marks the deliveries a batch entered, each at its first admission, in ascending delivery
/// id order. The order is the point: two doors of a site can upload at once batches that admit
/// the same deliveries in different log orders, and row locks taken in log order would
/// deadlock them on PostgreSQL (one aborted after the deadlock timeout). Every transaction
/// that locks several delivery rows takes them in this one order.
pub(super) async fn mark_entered_in_order(
    tx: &mut Tx,
    mut entered: Vec<(DeliveryId, i64)>,
) -> Result<()> {
    // A stable sort keeps each delivery's admissions in log order: the first one is kept.
    entered.sort_by(|a, b| a.0.cmp(&b.0));
    entered.dedup_by(|later, first| later.0 == first.0);
    for (delivery_id, at) in &entered {
        Store::mark_entered(tx, delivery_id, *at).await?;
    }
    Ok(())
}

/// The grant use an admission record names.
fn use_of(record_hex: &str) -> Option<u8> {
    let bytes = hex::decode(record_hex).ok()?;
    match AuditRecord::decode(&bytes).ok()?.event {
        AuditEvent::Admitted { use_index, .. } => Some(use_index),
        _ => None,
    }
}
