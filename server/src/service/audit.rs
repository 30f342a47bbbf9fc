//! Audit ingestion: device-signed receipts and hash-chained log batches carried by phones or
//! uplinks. Signatures and chains are verified with the protocol core; every admission is
//! matched to an issued grant, and one that matches none, or repeats a grant use already seen at
//! that door, is flagged.
//!
//! Alarms rest only on authenticated evidence. Records in a batch are not signed one by one:
//! only the door's signed head anchors them, through the hash chain. So a batch is believed only
//! if its records are consecutive and chain to the head it comes with ("anchored"); a batch that
//! is not anchored is refused without an alarm (any phone can fetch a door's head and make up
//! records). What can raise `audit_fork`: an anchored batch or a signed receipt that contradicts
//! a record already verified, or a signed head that contradicts the verified chain. `audit_gap`:
//! an anchored batch that starts after the server's next sequence (the door's ring overwrote
//! records the server never received): the server resynchronises on it and records the missing
//! range once. Every alarm is kept once per door, kind and sequence, and names the uploader.

use crate::service::Code;
use porter_protocol::{
    AuditEvent, AuditRecord, ChainFollower, ChainHash, Enrolment, LogHead, LogMask,
    MAX_ENROLMENT_LEN, MAX_RECEIPT_LEN,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{
    hex_array, hex_bytes, new_id, now, parse_doors, stored_key, Error, Principal, Result, Role,
    Service,
};
use crate::store::{self, AlarmKind, ChainRow, EventKind, Store, Tx};

/// A receipt the door handed the phone.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceiptUpload {
    /// Site id.
    pub site_id: String,
    /// Door number.
    pub door_number: u16,
    /// The device-signed receipt, hex.
    pub receipt: String,
}

/// What the server made of a receipt.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ReceiptOutcome {
    /// The record's log sequence.
    pub sequence: u64,
    /// Whether the record is an admission.
    pub admission: bool,
    /// Whether it matched an issued grant.
    pub matched: bool,
    /// The matched grant.
    pub grant_id: Option<String>,
}

/// A run of a door's log and the door's signed head.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditBatch {
    /// Site id.
    pub site_id: String,
    /// Door number.
    pub door_number: u16,
    /// Encoded records, hex, in log order, starting at or before the server's next sequence.
    pub records: Vec<String>,
    /// The device-signed log head, hex.
    pub head: String,
}

/// What the server made of a batch.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct BatchOutcome {
    /// New records accepted.
    pub accepted: usize,
    /// The sequence the server expects next from this door.
    pub next_sequence: u64,
    /// The head's length.
    pub head_length: u64,
    /// Whether the server now holds the whole log up to the head.
    pub complete: bool,
    /// Admissions among the new records.
    pub admissions: usize,
    /// Admissions that matched no issued grant (each raised an alarm).
    pub unmatched: usize,
    /// Refusals among the new records: one per `Rejected` record plus what `Tally` records
    /// counted.
    pub refused: u64,
    /// Admission records the door said it lost (`Overwritten` records; each raised an alarm).
    pub admissions_lost: u64,
    /// The server's acknowledgement that it holds the door's log up to `next_sequence`
    /// (`LogMask::ack_tag`, hex): the phone sends it to the door as a `0x08 log ack` with
    /// that length, and the door may then overwrite those records. `None` for a door enrolled
    /// without a log key.
    pub log_ack: Option<String>,
}

const BATCH_MAX_RECORDS: usize = 512;
/// Slack around a grant's window when matching, beyond the door's own clock-skew check.
const MATCH_SLACK: i64 = 300;

struct Admitted {
    sequence: i64,
    record_hex: String,
    at: i64,
    /// The matched grant and its delivery's unit, or why nothing matched.
    matched: std::result::Result<(store::GrantRow, String), String>,
    door_number: u16,
}

impl Service {
    async fn upload_door(
        &self,
        p: &Principal,
        site_id: &str,
        door_number: u16,
    ) -> Result<(store::SiteRow, store::DoorRow)> {
        if !matches!(p.role(), Role::Driver | Role::Device) {
            return Err(Error::forbidden("upload receipts or audit logs"));
        }
        let site = self.site_for(p, site_id).await?;
        let door = self.store().door_by_number(&site.id, i64::from(door_number)).await?;
        let door = door.filter(|d| match p {
            Principal::Device { door, .. } => *door == d.id,
            _ => true,
        });
        let door = door.ok_or_else(|| Error::not_found("door"))?;
        Ok((site, door))
    }

    /// Raises an alarm about `door` at log `sequence` unless one of that kind was raised there
    /// before, naming the uploader; true if it was new. Inside the caller's transaction.
    #[allow(clippy::too_many_arguments)] // the alarm's fields, each once
    async fn raise_alarm_once(
        &self,
        tx: &mut Tx,
        site: &str,
        door: &str,
        kind: AlarmKind,
        sequence: u64,
        detail: String,
        uploader: &str,
    ) -> Result<bool> {
        let row = store::AlarmRow {
            id: new_id("alm"),
            site_id: site.into(),
            door_id: Some(door.into()),
            kind,
            detail: format!("{detail} (uploaded by {uploader})"),
            created_at: now(),
        };
        let key = format!("{door}:{kind}:{sequence}");
        if !Store::insert_alarm_once(tx, &row, &key, uploader).await? {
            return Ok(false);
        }
        tracing::warn!(site = %row.site_id, door, %kind, detail = %row.detail, "alarm");
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
    async fn alarm_once(
        &self,
        site: &str,
        door: &str,
        kind: AlarmKind,
        sequence: u64,
        detail: String,
        uploader: &str,
    ) -> Result<()> {
        let mut tx = self.store().begin().await?;
        self.raise_alarm_once(&mut tx, site, door, kind, sequence, detail, uploader).await?;
        Ok(tx.commit().await?)
    }

    /// The key that unmasks holders in `door`'s log: `None` for a door enrolled without a log
    /// key (its log names holders in clear).
    fn log_mask(&self, site: &store::SiteRow, door: &store::DoorRow) -> Result<Option<LogMask>> {
        let bytes = hex_bytes("stored enrolment", &door.enrolment, MAX_ENROLMENT_LEN)?;
        let enrolment =
            Enrolment::decode_verified(&bytes, &stored_key(&site.root_key)?).map_err(|e| {
                internal(format!("door {}'s stored enrolment: {}", door.id, e.message()))
            })?;
        let Some(log_key) = enrolment.log_key else { return Ok(None) };
        let secret = self.site_log_secret(site)?.filter(|s| s.log_key().ok() == Some(log_key));
        let secret = secret.ok_or_else(|| {
            internal(format!(
                "door {} was enrolled with a log key this server does not hold: enrol it again                  with the site's log_key",
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
    async fn match_admission(
        &self,
        site: &store::SiteRow,
        door_number: u16,
        record: &AuditRecord,
        mask: Option<&LogMask>,
    ) -> Result<std::result::Result<(store::GrantRow, String), String>> {
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
        let door_ok = parse_doors(&grant.doors).unwrap_or_default().contains(&door_number);
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
    async fn record_admission(
        &self,
        tx: &mut Tx,
        site: &store::SiteRow,
        door: &store::DoorRow,
        a: &Admitted,
        uploader: &str,
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
            Ok((g, _)) => (Some(g.id.as_str()), Some(g.carrier_id.as_str())),
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
                Store::mark_entered(tx, &g.delivery_id, a.at).await?;
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

    /// Verifies a receipt under the door's enrolled device key and records its admission.
    pub async fn ingest_receipt(
        &self,
        p: &Principal,
        req: ReceiptUpload,
    ) -> Result<ReceiptOutcome> {
        let (site, door) = self.upload_door(p, &req.site_id, req.door_number).await?;
        let bytes = hex_bytes("receipt", &req.receipt, MAX_RECEIPT_LEN)?;
        let device = stored_key(&door.device_key)?;
        let record = AuditRecord::decode_receipt(&bytes, &device).map_err(|e| {
            Error::invalid(
                Code::InvalidReceipt,
                format!("the receipt does not verify under the door's key: {}", e.message()),
            )
        })?;
        check_place(&site, &door, &record)?;
        let record_hex = hex::encode(&bytes[..bytes.len() - 64]);
        let sequence = record.sequence as i64;
        let uploader = uploader(p);
        if let Some(known) = self.store().admission_record(&door.id, sequence).await? {
            if known != record_hex {
                // Both are the door's: the receipt is signed, the stored record was anchored.
                self.alarm_once(
                    &site.id,
                    &door.id,
                    AlarmKind::AuditFork,
                    record.sequence,
                    format!("two different signed records claim log sequence {sequence}"),
                    &uploader,
                )
                .await?;
                return Err(Error::conflict(
                    Code::AuditFork,
                    "the door signed a different record at this sequence before: alarm raised",
                ));
            }
        }
        let AuditEvent::Admitted { .. } = record.event else {
            return Ok(ReceiptOutcome {
                sequence: record.sequence,
                admission: false,
                matched: false,
                grant_id: None,
            });
        };
        let mask = self.log_mask(&site, &door)?;
        let matched = self.match_admission(&site, req.door_number, &record, mask.as_ref()).await?;
        let mut grant_id = matched.as_ref().ok().map(|(g, _)| g.id.clone());
        let admitted = Admitted {
            sequence,
            record_hex,
            at: i64::from(record.at.0),
            matched,
            door_number: req.door_number,
        };
        let mut tx = self.store().begin().await?;
        self.record_admission(&mut tx, &site, &door, &admitted, &uploader).await?;
        tx.commit().await?;
        self.metrics().receipts.inc();
        if grant_id.is_some() {
            // A repeated use is recorded unmatched: say what was stored.
            let stored = self.store().admission_grant(&door.id, sequence).await?;
            grant_id = stored;
        }
        Ok(ReceiptOutcome {
            sequence: record.sequence,
            admission: true,
            matched: grant_id.is_some(),
            grant_id,
        })
    }

    /// Verifies a run of a door's log against the door's signed head and the server's chain.
    pub async fn ingest_batch(&self, p: &Principal, req: AuditBatch) -> Result<BatchOutcome> {
        let (site, door) = self.upload_door(p, &req.site_id, req.door_number).await?;
        if req.records.len() > BATCH_MAX_RECORDS {
            return Err(Error::invalid(
                Code::BatchTooLarge,
                format!("at most {BATCH_MAX_RECORDS} records per batch: send the rest after"),
            ));
        }
        let uploader = uploader(p);
        let device = stored_key(&door.device_key)?;
        let mask = self.log_mask(&site, &door)?;
        let ack = |length: u64| mask.as_ref().map(|m| hex::encode(m.ack_tag(length)));
        let head_bytes = hex_bytes("head", &req.head, porter_protocol::MAX_LOG_HEAD_LEN)?;
        let head = LogHead::decode_verified(&head_bytes, &device).map_err(|e| {
            Error::invalid(
                Code::InvalidHead,
                format!("the log head does not verify under the door's key: {}", e.message()),
            )
        })?;
        if i64::from(head.site.0) != site.site_number || i64::from(head.door.0) != door.door_number
        {
            return Err(Error::invalid(Code::WrongDoor, "the log head names another site or door"));
        }
        let records = decode_run(&site, &door, &req.records)?;
        let store = self.store();
        let old = store.chain(&door.id).await?;
        let (next, previous) = match &old {
            Some(c) => (c.next_sequence as u64, ChainHash(hex_array::<32>("chain", &c.previous)?)),
            None => (0, ChainHash::GENESIS),
        };

        if !anchored(&records, &head) {
            // Only the signed head is evidence here: it may contradict the verified chain.
            if let Some(at) = self.head_contradicts(&door.id, next, previous, &head).await? {
                let detail = format!(
                    "the door signed a log head of length {} that disagrees with the verified \
                     log at record {at}",
                    head.length
                );
                self.alarm_once(&site.id, &door.id, AlarmKind::AuditFork, at, detail, &uploader)
                    .await?;
                return Err(Error::conflict(
                    Code::AuditFork,
                    "the door's signed head disagrees with the verified log: alarm raised",
                ));
            }
            // Records the server already holds, sent again with a later head: nothing new.
            let mut known = true;
            for (record, bytes) in &records {
                let stored = store.audit_record(&door.id, record.sequence as i64).await?;
                known &= stored.is_some_and(|(r, _)| r == hex::encode(bytes));
            }
            if known {
                return Ok(BatchOutcome {
                    accepted: 0,
                    next_sequence: next,
                    head_length: head.length,
                    complete: head.length == next,
                    admissions: 0,
                    unmatched: 0,
                    refused: 0,
                    admissions_lost: 0,
                    log_ack: ack(next),
                });
            }
            let first = records.first().map_or(next, |(r, _)| r.sequence);
            return Err(Error::conflict(
                Code::UnanchoredRecords,
                format!(
                    "the records must be consecutive and end at the door's signed head, which \
                     has length {}: send records {first}..{} with that head (nothing was \
                     recorded)",
                    head.length,
                    head.length.saturating_sub(1)
                ),
            ));
        }

        // Anchored: every record is the door's. Compare with what the server holds.
        let mut fresh: Vec<(AuditRecord, String, String)> = Vec::new();
        for (record, bytes) in &records {
            let seq = record.sequence;
            let hash = hex::encode(ChainHash::of(bytes).0);
            if seq < next {
                match store.audit_record(&door.id, seq as i64).await? {
                    Some((known, _)) if known == hex::encode(bytes) => continue,
                    Some(_) => {
                        let detail = format!(
                            "the door signed a log whose record {seq} differs from the one \
                             already verified"
                        );
                        self.alarm_once(
                            &site.id,
                            &door.id,
                            AlarmKind::AuditFork,
                            seq,
                            detail,
                            &uploader,
                        )
                        .await?;
                        return Err(Error::conflict(
                            Code::AuditFork,
                            format!("record {seq} differs from the verified log: alarm raised"),
                        ));
                    }
                    // A record inside a range the server never received: fill it in.
                    None => {}
                }
            } else if seq == next && next > 0 && record.previous != previous {
                let detail = format!(
                    "the door signed a log whose record {seq} does not follow the verified record \
                     {}",
                    next - 1
                );
                self.alarm_once(&site.id, &door.id, AlarmKind::AuditFork, seq, detail, &uploader)
                    .await?;
                return Err(Error::conflict(
                    Code::AuditFork,
                    format!("record {seq} breaks the verified hash chain: alarm raised"),
                ));
            }
            fresh.push((*record, hex::encode(bytes), hash));
        }
        // Admissions must agree with the receipts the door signed for them.
        let mut admitted = Vec::new();
        for (record, record_hex, _) in &fresh {
            if let AuditEvent::Admitted { .. } = record.event {
                let known = store.admission_record(&door.id, record.sequence as i64).await?;
                if known.is_some_and(|k| k != *record_hex) {
                    let detail = format!(
                        "log record {} differs from the receipt the door signed for it",
                        record.sequence
                    );
                    let seq = record.sequence;
                    self.alarm_once(
                        &site.id,
                        &door.id,
                        AlarmKind::AuditFork,
                        seq,
                        detail,
                        &uploader,
                    )
                    .await?;
                    return Err(Error::conflict(
                        Code::AuditFork,
                        format!(
                            "record {} contradicts an earlier receipt: alarm raised",
                            record.sequence
                        ),
                    ));
                }
                admitted.push(Admitted {
                    sequence: record.sequence as i64,
                    record_hex: record_hex.clone(),
                    at: i64::from(record.at.0),
                    matched: self
                        .match_admission(&site, req.door_number, record, mask.as_ref())
                        .await?,
                    door_number: req.door_number,
                });
            }
        }
        // The batch starts after the server's next record: the door no longer holds the ones
        // between (its ring overwrote them). Resynchronise on the anchored batch, once.
        let first = records.first().map_or(next, |(r, _)| r.sequence);
        let gap = (first > next).then(|| (next, first - 1));

        let now = now();
        let mut tx = store.begin().await?;
        if head.length > next {
            let new =
                ChainRow { next_sequence: head.length as i64, previous: hex::encode(head.head.0) };
            if !Store::advance_chain(&mut tx, &door.id, old.as_ref(), &new, now).await? {
                return Err(Error::conflict(
                    Code::AuditConflict,
                    "another upload for this door landed first: send the batch again",
                ));
            }
        }
        if let Some((from, to)) = gap {
            let detail = format!(
                "records {from}..={to} of the door's log never reached the server (the door \
                 overwrote them); resynchronised at record {first}"
            );
            self.raise_alarm_once(
                &mut tx,
                &site.id,
                &door.id,
                AlarmKind::AuditGap,
                from,
                detail,
                &uploader,
            )
            .await?;
        }
        for (record, record_hex, hash) in &fresh {
            Store::insert_audit_record(
                &mut tx,
                &door.id,
                record.sequence as i64,
                record_hex,
                hash,
                i64::from(record.at.0),
                now,
            )
            .await?;
            Store::set_uploader(&mut tx, &door.id, record.sequence as i64, &uploader).await?;
        }
        let mut unmatched = 0;
        for a in &admitted {
            if self.record_admission(&mut tx, &site, &door, a, &uploader).await?
                && a.matched.is_err()
            {
                unmatched += 1;
            }
        }
        // What the door itself flagged (forced open, held open, lockout, clock trouble, a
        // repaired torn write) becomes a server alarm for the manager.
        for (record, _, _) in &fresh {
            if let AuditEvent::Alarm(alarm) = record.event {
                let detail = format!(
                    "the door logged {alarm:?} at {} (log sequence {})",
                    record.at.0, record.sequence
                );
                let seq = record.sequence;
                self.raise_alarm_once(
                    &mut tx,
                    &site.id,
                    &door.id,
                    AlarmKind::DoorAlarm,
                    seq,
                    detail,
                    &uploader,
                )
                .await?;
            }
        }
        // Refusals the door logged or tallied, and admissions its ring overwrote unread.
        let (mut refused, mut admissions_lost) = (0u64, 0u64);
        for (record, _, _) in &fresh {
            match record.event {
                AuditEvent::Rejected { .. } => refused += 1,
                AuditEvent::Tally { refused: n, .. } => refused += u64::from(n),
                AuditEvent::Overwritten { admissions, before } => {
                    admissions_lost += u64::from(admissions);
                    let detail = format!(
                        "the door's log ring overwrote {admissions} admission record(s) below                          log sequence {before} before the server acknowledged them: those                          admissions are lost (log sequence {}, door time {})",
                        record.sequence, record.at.0
                    );
                    let seq = record.sequence;
                    self.raise_alarm_once(
                        &mut tx,
                        &site.id,
                        &door.id,
                        AlarmKind::AdmissionsLost,
                        seq,
                        detail,
                        &uploader,
                    )
                    .await?;
                }
                _ => {}
            }
        }
        tx.commit().await?;
        self.metrics().audit_records.add(fresh.len() as u64);
        let next_sequence = next.max(head.length);
        Ok(BatchOutcome {
            accepted: fresh.len(),
            next_sequence,
            head_length: head.length,
            complete: head.length == next_sequence,
            admissions: admitted.len(),
            unmatched,
            refused,
            admissions_lost,
            log_ack: ack(next_sequence),
        })
    }

    /// Whether a signed head contradicts the verified chain, and at which record.
    async fn head_contradicts(
        &self,
        door_id: &str,
        next: u64,
        previous: ChainHash,
        head: &LogHead,
    ) -> Result<Option<u64>> {
        if head.length == 0 || head.length > next {
            return Ok(None); // nothing verified to compare with
        }
        let last = head.length - 1;
        let verified = if head.length == next {
            Some(hex::encode(previous.0))
        } else {
            self.store().audit_record(door_id, last as i64).await?.map(|(_, hash)| hash)
        };
        Ok(verified.filter(|h| *h != hex::encode(head.head.0)).map(|_| last))
    }
}

fn internal(message: String) -> Error {
    tracing::error!(%message, "audit");
    Error::new(super::Kind::Internal, super::Code::Internal, message)
}

/// Who brought an upload, as alarms name it.
fn uploader(p: &Principal) -> String {
    match p {
        Principal::Driver { driver, token, .. } => format!("driver {driver}, token {token}"),
        Principal::Device { door, token, .. } => format!("device of door {door}, token {token}"),
        _ => format!("token {}", p.token_id()),
    }
}

/// The grant use an admission record names.
fn use_of(record_hex: &str) -> Option<u8> {
    let bytes = hex::decode(record_hex).ok()?;
    match AuditRecord::decode(&bytes).ok()?.event {
        AuditEvent::Admitted { use_index, .. } => Some(use_index),
        _ => None,
    }
}

/// Decodes a batch's records: well formed, of this door, consecutive.
fn decode_run(
    site: &store::SiteRow,
    door: &store::DoorRow,
    records: &[String],
) -> Result<Vec<(AuditRecord, Vec<u8>)>> {
    let mut out: Vec<(AuditRecord, Vec<u8>)> = Vec::with_capacity(records.len());
    for (n, record_hex) in records.iter().enumerate() {
        let bytes = hex_bytes("record", record_hex, porter_protocol::MAX_AUDIT_RECORD_LEN)?;
        let record = AuditRecord::decode(&bytes).map_err(|e| {
            Error::invalid(Code::InvalidRecord, format!("record {n} is malformed: {}", e.message()))
        })?;
        check_place(site, door, &record)?;
        if let Some((last, _)) = out.last() {
            if last.sequence.checked_add(1) != Some(record.sequence) {
                return Err(Error::invalid(
                    Code::RecordsNotConsecutive,
                    format!(
                        "record {n} has sequence {} after {}: send consecutive records",
                        record.sequence, last.sequence
                    ),
                ));
            }
        }
        out.push((record, bytes));
    }
    Ok(out)
}

/// Whether the records chain, each to the one before, and end exactly at the signed head: then
/// the head's signature covers every one of them.
fn anchored(records: &[(AuditRecord, Vec<u8>)], head: &LogHead) -> bool {
    let Some((first, _)) = records.first() else { return false };
    let mut follower = ChainFollower { next_sequence: first.sequence, previous: first.previous };
    records.iter().all(|(_, bytes)| follower.follow(bytes).is_ok())
        && follower.matches(head).is_ok()
}

fn check_place(site: &store::SiteRow, door: &store::DoorRow, record: &AuditRecord) -> Result<()> {
    if i64::from(record.site.0) != site.site_number || i64::from(record.door.0) != door.door_number
    {
        return Err(Error::invalid(Code::WrongDoor, "the record names another site or door"));
    }
    Ok(())
}
