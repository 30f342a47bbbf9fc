//! Ingesting one receipt: a single admission record the door signed and handed the phone. It
//! is evidence on its own (the signature covers it), so it is matched and recorded at once; a
//! receipt that contradicts a record already verified at that sequence raises `audit_fork`.

use porter_protocol::{AuditEvent, AuditRecord, MAX_RECEIPT_LEN};

use super::matching::mark_entered_in_order;
use super::{check_place, uploader, Admitted, ReceiptOutcome, ReceiptUpload};
use crate::service::{hex_bytes, stored_key, Code, Error, Principal, Result, Service};
use crate::store::AlarmKind;

impl Service {
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
        let mut entered = Vec::new();
        self.record_admission(&mut tx, &site, &door, &admitted, &uploader, &mut entered).await?;
        mark_entered_in_order(&mut tx, entered).await?;
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
            grant_id: grant_id.map(String::from),
        })
    }
}
