//! Audit ingestion: device-signed receipts and hash-chained log batches carried by phones or
//! uplinks. Signatures and chains are verified with the protocol core; a gap or a fork raises an
//! alarm; every admission is matched to an issued grant, and one that matches none is flagged.

use crate::service::Code;
use porter_protocol::{
    AuditEvent, AuditRecord, ChainFollower, ChainHash, LogHead, MAX_RECEIPT_LEN,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{
    hex_array, hex_bytes, new_id, now, parse_doors, stored_key, Error, Principal, Result, Role,
    Service,
};
use crate::store::{self, ChainRow, Store, Tx};

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
        if !matches!(p.role, Role::Driver | Role::Device) {
            return Err(Error::forbidden("upload receipts or audit logs"));
        }
        let site = self.site_for(p, site_id).await?;
        let door = self.store().door_by_number(&site.id, i64::from(door_number)).await?;
        let door = door.filter(|d| p.role != Role::Device || p.door_id.as_deref() == Some(&d.id));
        let door = door.ok_or_else(|| Error::not_found("door"))?;
        Ok((site, door))
    }

    async fn alarm(
        &self,
        site: &str,
        door: Option<&str>,
        kind: &str,
        detail: String,
    ) -> Result<()> {
        let row = store::AlarmRow {
            id: new_id("alm"),
            site_id: site.into(),
            door_id: door.map(str::to_string),
            kind: kind.into(),
            detail,
            created_at: now(),
        };
        let mut tx = self.store().begin().await?;
        self.raise_alarm(&mut tx, &row).await?;
        Ok(tx.commit().await?)
    }

    /// Matches an admission to the grant it names: same issuer key and serial at the site,
    /// same holder, same package, a use the grant has, a door it names, a time in its window.
    async fn match_admission(
        &self,
        site: &store::SiteRow,
        door_number: u16,
        record: &AuditRecord,
    ) -> Result<std::result::Result<(store::GrantRow, String), String>> {
        let AuditEvent::Admitted { issuer, grant_serial, use_index, holder, package, .. } =
            record.event
        else {
            return Ok(Err("not an admission".into()));
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
    /// (unmatched). Returns whether it was new.
    async fn record_admission(
        &self,
        tx: &mut Tx,
        site: &store::SiteRow,
        door: &store::DoorRow,
        a: &Admitted,
    ) -> Result<bool> {
        let now = now();
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
                self.notify(tx, &site.id, unit, "delivery.entered", data).await?;
            }
            Err(reason) => {
                let row = store::AlarmRow {
                    id: new_id("alm"),
                    site_id: site.id.clone(),
                    door_id: Some(door.id.clone()),
                    kind: "unmatched_admission".into(),
                    detail: format!("admission at log sequence {}: {reason}", a.sequence),
                    created_at: now,
                };
                self.raise_alarm(tx, &row).await?;
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
        if let Some(known) = self.store().admission_record(&door.id, sequence).await? {
            if known != record_hex {
                self.alarm(
                    &site.id,
                    Some(&door.id),
                    "audit_fork",
                    format!("two different signed records claim log sequence {sequence}"),
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
        let matched = self.match_admission(&site, req.door_number, &record).await?;
        let grant_id = matched.as_ref().ok().map(|(g, _)| g.id.clone());
        let admitted = Admitted {
            sequence,
            record_hex,
            at: i64::from(record.at.0),
            matched,
            door_number: req.door_number,
        };
        let mut tx = self.store().begin().await?;
        self.record_admission(&mut tx, &site, &door, &admitted).await?;
        tx.commit().await?;
        self.metrics().receipts.inc();
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
        let device = stored_key(&door.device_key)?;
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
        let store = self.store();
        let old = store.chain(&door.id).await?;
        let mut follower = match &old {
            Some(c) => ChainFollower {
                next_sequence: c.next_sequence as u64,
                previous: ChainHash(hex_array::<32>("chain", &c.previous)?),
            },
            None => ChainFollower::new(),
        };
        let mut fresh: Vec<(AuditRecord, String, String)> = Vec::new();
        for (n, record_hex) in req.records.iter().enumerate() {
            let bytes = hex_bytes("record", record_hex, porter_protocol::MAX_AUDIT_RECORD_LEN)?;
            let record = AuditRecord::decode(&bytes).map_err(|e| {
                Error::invalid(
                    Code::InvalidRecord,
                    format!("record {n} is malformed: {}", e.message()),
                )
            })?;
            check_place(&site, &door, &record)?;
            if record.sequence < follower.next_sequence {
                let known = store.audit_record(&door.id, record.sequence as i64).await?;
                if known.as_ref().is_some_and(|(r, _)| *r != hex::encode(&bytes)) {
                    self.alarm(
                        &site.id,
                        Some(&door.id),
                        "audit_fork",
                        format!("record {} differs from the one already verified", record.sequence),
                    )
                    .await?;
                    return Err(Error::conflict(
                        Code::AuditFork,
                        format!(
                            "record {} differs from the verified log: alarm raised",
                            record.sequence
                        ),
                    ));
                }
                continue;
            }
            match follower.follow(&bytes) {
                Ok(record) => {
                    fresh.push((record, hex::encode(&bytes), hex::encode(follower.previous.0)))
                }
                Err(porter_protocol::Error::AuditGap) => {
                    self.alarm(
                        &site.id,
                        Some(&door.id),
                        "audit_gap",
                        format!(
                            "expected record {}, got {}: records are missing",
                            follower.next_sequence, record.sequence
                        ),
                    )
                    .await?;
                    return Err(Error::conflict(
                        Code::AuditGap,
                        format!(
                            "the log skips from {} to {}: send the records from {} on",
                            follower.next_sequence, record.sequence, follower.next_sequence
                        ),
                    ));
                }
                Err(e) => {
                    self.alarm(
                        &site.id,
                        Some(&door.id),
                        "audit_fork",
                        format!(
                            "record {} does not link to the verified log: {}",
                            record.sequence,
                            e.name()
                        ),
                    )
                    .await?;
                    return Err(Error::conflict(
                        Code::AuditFork,
                        format!("record {} breaks the hash chain: alarm raised", record.sequence),
                    ));
                }
            }
        }
        // The head must agree with the chain wherever the two overlap.
        let head_ok = if head.length == follower.next_sequence {
            follower.matches(&head).is_ok()
        } else if head.length == 0 {
            false
        } else if head.length < follower.next_sequence {
            let last = head.length - 1;
            let hash = match fresh.iter().find(|(r, _, _)| r.sequence == last) {
                Some((_, _, h)) => Some(h.clone()),
                None => store.audit_record(&door.id, last as i64).await?.map(|(_, h)| h),
            };
            hash.is_some_and(|h| h == hex::encode(head.head.0))
        } else {
            true // the head is ahead: more records are still to come
        };
        if !head_ok {
            self.alarm(
                &site.id,
                Some(&door.id),
                "audit_fork",
                format!("the signed head (length {}) disagrees with the verified log", head.length),
            )
            .await?;
            return Err(Error::conflict(
                Code::AuditFork,
                "the door's signed head disagrees with the verified log: alarm raised",
            ));
        }
        // Records are not signed one by one: only the head anchors them. New records are taken
        // only when the batch ends exactly at the signed head, so a phone cannot slip in records
        // of its own making after the last anchored one.
        if !fresh.is_empty() && head.length != follower.next_sequence {
            let first = fresh.first().map_or(0, |(r, _, _)| r.sequence);
            return Err(Error::conflict(
                Code::UnanchoredRecords,
                format!(
                    "the batch must end at the door's signed head: send records {first}..{} \
                     with the head of length {}",
                    head.length.max(follower.next_sequence),
                    head.length.max(follower.next_sequence)
                ),
            ));
        }
        // Match admissions before the write transaction (reads use the pool).
        let mut admitted = Vec::new();
        for (record, record_hex, _) in &fresh {
            if let AuditEvent::Admitted { .. } = record.event {
                // A receipt for this sequence may have come first: it must be the same record.
                let known = store.admission_record(&door.id, record.sequence as i64).await?;
                if known.is_some_and(|k| k != *record_hex) {
                    self.alarm(
                        &site.id,
                        Some(&door.id),
                        "audit_fork",
                        format!(
                            "log record {} differs from the receipt the door signed for it",
                            record.sequence
                        ),
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
                    matched: self.match_admission(&site, req.door_number, record).await?,
                    door_number: req.door_number,
                });
            }
        }
        let now = now();
        let mut tx = store.begin().await?;
        let new = ChainRow {
            next_sequence: follower.next_sequence as i64,
            previous: hex::encode(follower.previous.0),
        };
        if !fresh.is_empty()
            && !Store::advance_chain(&mut tx, &door.id, old.as_ref(), &new, now).await?
        {
            return Err(Error::conflict(
                Code::AuditConflict,
                "another upload for this door landed first: send the batch again",
            ));
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
        }
        let mut unmatched = 0;
        for a in &admitted {
            if self.record_admission(&mut tx, &site, &door, a).await? && a.matched.is_err() {
                unmatched += 1;
            }
        }
        // What the door itself flagged (forced open, held open, lockout, clock trouble, a
        // repaired torn write) becomes a server alarm for the manager.
        for (record, _, _) in &fresh {
            if let AuditEvent::Alarm(alarm) = record.event {
                let row = store::AlarmRow {
                    id: new_id("alm"),
                    site_id: site.id.clone(),
                    door_id: Some(door.id.clone()),
                    kind: "door_alarm".into(),
                    detail: format!(
                        "the door logged {alarm:?} at {} (log sequence {})",
                        record.at.0, record.sequence
                    ),
                    created_at: now,
                };
                self.raise_alarm(&mut tx, &row).await?;
            }
        }
        tx.commit().await?;
        self.metrics().audit_records.add(fresh.len() as u64);
        Ok(BatchOutcome {
            accepted: fresh.len(),
            next_sequence: follower.next_sequence,
            head_length: head.length,
            complete: head.length == follower.next_sequence,
            admissions: admitted.len(),
            unmatched,
        })
    }
}

fn check_place(site: &store::SiteRow, door: &store::DoorRow, record: &AuditRecord) -> Result<()> {
    if i64::from(record.site.0) != site.site_number || i64::from(record.door.0) != door.door_number
    {
        return Err(Error::invalid(Code::WrongDoor, "the record names another site or door"));
    }
    Ok(())
}
