//! Ingesting a batch: a run of the door's log with the door's signed head. Records are not
//! signed one by one, so the run is believed only if it is consecutive and chains to the head
//! ("anchored"). An anchored run is compared with the verified chain (a contradiction raises
//! `audit_fork`), resynchronised over a gap the door's ring overwrote (`audit_gap`), and
//! recorded with its admissions matched and the door's own alarms and losses raised. A run that
//! is not anchored is refused, and only its signed head is weighed as evidence.

use porter_protocol::{AuditEvent, AuditRecord, ChainFollower, ChainHash, LogHead};

use super::matching::mark_entered_in_order;
use super::{check_place, uploader, Admitted, AuditBatch, BatchOutcome, BATCH_MAX_RECORDS};
use crate::ids::DoorId;
use crate::service::{
    hex_array, hex_bytes, now, stored_key, Code, Error, Principal, Result, Service,
};
use crate::store::{self, AlarmKind, ChainRow, Store};

impl Service {
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
                let refusal = "the door's signed head disagrees with the verified log";
                return Err(self.fork(&site, &door, at, detail, &uploader, refusal).await?);
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
                        let refusal = format!("record {seq} differs from the verified log");
                        return Err(self
                            .fork(&site, &door, seq, detail, &uploader, &refusal)
                            .await?);
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
                let refusal = format!("record {seq} breaks the verified hash chain");
                return Err(self.fork(&site, &door, seq, detail, &uploader, &refusal).await?);
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
                    let refusal = format!("record {seq} contradicts an earlier receipt");
                    return Err(self.fork(&site, &door, seq, detail, &uploader, &refusal).await?);
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
        let rows: Vec<(i64, String, String, i64)> = fresh
            .iter()
            .map(|(record, record_hex, hash)| {
                let (seq, at) = (record.sequence as i64, i64::from(record.at.0));
                (seq, record_hex.clone(), hash.clone(), at)
            })
            .collect();
        Store::insert_audit_records(&mut tx, &door.id, &rows, &uploader, now).await?;
        let mut unmatched = 0;
        let mut entered = Vec::new();
        for a in &admitted {
            if self.record_admission(&mut tx, &site, &door, a, &uploader, &mut entered).await?
                && a.matched.is_err()
            {
                unmatched += 1;
            }
        }
        mark_entered_in_order(&mut tx, entered).await?;
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
                        "the door's log ring overwrote {admissions} admission record(s) below log sequence {before} before the server acknowledged them: those admissions are lost (log sequence {}, door time {})",
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

    /// Raises the `audit_fork` alarm for log record `sequence` (once per door and record) and
    /// returns the 409 that refuses the batch, `refusal` saying what contradicted what.
    async fn fork(
        &self,
        site: &store::SiteRow,
        door: &store::DoorRow,
        sequence: u64,
        detail: String,
        uploader: &str,
        refusal: &str,
    ) -> Result<Error> {
        let kind = AlarmKind::AuditFork;
        self.alarm_once(&site.id, &door.id, kind, sequence, detail, uploader).await?;
        Ok(Error::conflict(Code::AuditFork, format!("{refusal}: alarm raised")))
    }

    /// Whether a signed head contradicts the verified chain, and at which record.
    async fn head_contradicts(
        &self,
        door_id: &DoorId,
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
