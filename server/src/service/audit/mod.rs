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
//!
//! The module is split by job:
//! - this file: the wire types of both uploads, the batch limits, and what both uploads share
//!   (finding the door an uploader may write to, naming the uploader, checking that a record
//!   names this site and door);
//! - [`receipt`]: ingesting one device-signed receipt;
//! - [`batch`]: ingesting a run of the log against the door's signed head: decoding the run,
//!   checking it is anchored, comparing it with the verified chain, resynchronising over a gap,
//!   and recording what the door itself flagged;
//! - [`matching`]: matching an admission to the grant it names, writing it once, and marking the
//!   deliveries it entered (in a deadlock-free order);
//! - [`alarm`]: raising an alarm once per door, kind and sequence, naming the uploader.
//!
//! Receipts and batches reach the same admissions table through [`matching`], so a receipt and
//! the anchored record for the same sequence are checked against each other whichever comes
//! first.

mod alarm;
mod batch;
mod matching;
mod receipt;

use crate::service::Code;
use porter_protocol::{AuditRecord, MAX_AUDIT_RECORD_LEN};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Error, Principal, Result, Role, Service};
use crate::ids::{GrantId, SiteId, UnitId};
use crate::store;

/// A receipt the door handed the phone.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceiptUpload {
    /// Site id.
    pub site_id: SiteId,
    /// Door number.
    pub door_number: u16,
    /// The device-signed receipt, hex.
    #[schema(min_length = 2, max_length = 384, pattern = r"^([0-9a-fA-F]{2})+$")]
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
    pub grant_id: Option<GrantId>,
}

/// A run of a door's log and the door's signed head.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditBatch {
    /// Site id.
    pub site_id: SiteId,
    /// Door number.
    pub door_number: u16,
    /// Encoded records, hex, in log order, starting at or before the server's next sequence.
    #[schema(schema_with = record_list_schema)]
    pub records: Vec<String>,
    /// The device-signed log head, hex.
    #[schema(min_length = 2, max_length = 256, pattern = r"^([0-9a-fA-F]{2})+$")]
    pub head: String,
}

/// `records`: at most [`BATCH_MAX_RECORDS`] hex strings of at most `MAX_AUDIT_RECORD_LEN` bytes.
fn record_list_schema() -> utoipa::openapi::Array {
    use utoipa::openapi::{ArrayBuilder, ObjectBuilder, Type};
    let record = ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(2))
        .max_length(Some(2 * porter_protocol::MAX_AUDIT_RECORD_LEN))
        .pattern(Some("^([0-9a-fA-F]{2})+$"));
    ArrayBuilder::new()
        .items(record)
        .max_items(Some(BATCH_MAX_RECORDS))
        .description(Some(
            "Encoded records, hex, in log order, starting at or before the server's next sequence.",
        ))
        .build()
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

/// The most records one batch may carry.
pub const BATCH_MAX_RECORDS: usize = 512;
/// The largest audit-batch body: [`BATCH_MAX_RECORDS`] records of the largest size, hex, each
/// quoted with a separator and some whitespace, the largest head, and room for the rest of the
/// JSON. Derived, so that the body limit can never refuse a batch the record limit allows.
pub const BATCH_MAX_BODY_BYTES: usize = BATCH_MAX_RECORDS
    * (2 * MAX_AUDIT_RECORD_LEN + RECORD_JSON_OVERHEAD)
    + 2 * porter_protocol::MAX_LOG_HEAD_LEN
    + 4096;
/// Quotes, comma and up to a pretty-printer's indentation around each record in the JSON.
const RECORD_JSON_OVERHEAD: usize = 16;

struct Admitted {
    sequence: i64,
    record_hex: String,
    at: i64,
    /// The matched grant and its delivery's unit, or why nothing matched.
    matched: std::result::Result<(store::GrantRow, UnitId), String>,
    door_number: u16,
}

impl Service {
    async fn upload_door(
        &self,
        p: &Principal,
        site_id: &SiteId,
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

fn check_place(site: &store::SiteRow, door: &store::DoorRow, record: &AuditRecord) -> Result<()> {
    if i64::from(record.site.0) != site.site_number || i64::from(record.door.0) != door.door_number
    {
        return Err(Error::invalid(Code::WrongDoor, "the record names another site or door"));
    }
    Ok(())
}
