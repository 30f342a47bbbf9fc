//! The door's audit log: hash-chained records, device-signed receipts and log heads.
//!
//! Each record names the hash of the one before it, so the log is a chain; the door signs a
//! receipt over each admission's record and, from time to time, the head of the chain. A
//! server that holds a signed head and the records up to it can prove none was removed or
//! altered; a sequence number that skips is a gap, and a gap is an alarm.

use serde::{Deserialize, Serialize};

use crate::codec::{self, byte_array};
use crate::grant::PackageCommitment;
use crate::keys::{hash32, Domain, KeyId, PublicKey, SigningKey};
use crate::scope::{DoorId, Role, SiteId, Time};
use crate::signed::{seal, Failures, Unverified, VERSION};
use crate::Error;

/// The largest encoded audit record.
pub const MAX_AUDIT_RECORD_LEN: usize = 128;
/// The largest receipt: a record and a signature.
pub const MAX_RECEIPT_LEN: usize = MAX_AUDIT_RECORD_LEN + 64;
/// The largest signed log head.
pub const MAX_LOG_HEAD_LEN: usize = 128;

/// The hash that links a record to the one before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ChainHash(#[serde(with = "byte_array")] pub [u8; 32]);

impl ChainHash {
    /// What the first record of a log links to.
    pub const GENESIS: ChainHash = ChainHash([0; 32]);

    /// The hash of a record's exact encoded bytes.
    pub fn of(record: &[u8]) -> ChainHash {
        ChainHash(hash32(b"porter/v1/audit-record\0", &[record]))
    }
}

/// Something the door noticed that a person should look at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Alarm {
    /// The door stayed open longer than allowed after an admission.
    HeldOpen,
    /// The door opened without an admission (forced, or the mechanical egress used).
    ForcedOpen,
    /// Too many failed attempts: the door stopped answering for a while.
    Lockout,
    /// The real-time clock read earlier than the signed floor (reset or tampered).
    ClockBehindFloor,
    /// The door found and repaired a torn write at boot.
    StorageRepaired,
}

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AuditEvent {
    /// The door opened for a grant.
    Admitted {
        /// The grant's issuer.
        issuer: KeyId,
        /// The grant's first serial.
        grant_serial: u64,
        /// Which entry of the grant, from 0.
        use_index: u8,
        /// The holder key.
        holder: KeyId,
        /// The grant's role.
        role: Role,
        /// The package the grant was for (a salted hash, never the tracking number).
        package: PackageCommitment,
    },
    /// The door refused an attempt, for this reason code.
    Rejected {
        /// [`Error::code`] of the reason.
        reason: u16,
    },
    /// The door took newer signed door state.
    DoorStateApplied {
        /// Its sequence number.
        sequence: u64,
    },
    /// An alarm.
    Alarm(Alarm),
    /// The controller started.
    Boot,
    /// The controller stored its enrolment.
    Enrolled,
}

/// One entry of the door's log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Wire format version, [`crate::VERSION`].
    pub version: u8,
    /// The site.
    pub site: SiteId,
    /// The door.
    pub door: DoorId,
    /// 0 for the first record, then one more for each.
    pub sequence: u64,
    /// Door time.
    pub at: Time,
    /// The hash of the previous record, or [`ChainHash::GENESIS`].
    pub previous: ChainHash,
    /// What happened.
    pub event: AuditEvent,
}

impl AuditRecord {
    /// Encodes the record into `out`.
    pub fn encode<'b>(&self, out: &'b mut [u8]) -> Result<&'b [u8], Error> {
        codec::encode(self, out).map(|b| &*b)
    }

    /// Decodes a record strictly.
    pub fn decode(bytes: &[u8]) -> Result<AuditRecord, Error> {
        crate::signed::check_version(bytes)?;
        codec::decode(bytes, MAX_AUDIT_RECORD_LEN)
    }

    /// Decodes and verifies a receipt: a record signed by the door's device key.
    pub fn decode_receipt(bytes: &[u8], device: &PublicKey) -> Result<AuditRecord, Error> {
        let receipt: Unverified<'_, AuditRecord> = Unverified::decode(bytes, MAX_RECEIPT_LEN)?;
        receipt.verify(device, Domain::Receipt, audit_failures())
    }

    /// Signs a receipt over `record`'s encoding: done by the door on admission.
    pub fn seal_receipt<'b>(
        &self,
        device: &SigningKey,
        out: &'b mut [u8],
    ) -> Result<&'b [u8], Error> {
        seal::<_, { MAX_RECEIPT_LEN + 32 }>(device, Domain::Receipt, self, out)
    }

    /// The hash the next record links to.
    pub fn chain_hash(&self) -> Result<ChainHash, Error> {
        let mut buf = [0u8; MAX_AUDIT_RECORD_LEN];
        Ok(ChainHash::of(self.encode(&mut buf)?))
    }
}

/// The door's signed statement of how long its log is and what its last record hashes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogHead {
    /// Wire format version, [`crate::VERSION`].
    pub version: u8,
    /// The site.
    pub site: SiteId,
    /// The door.
    pub door: DoorId,
    /// The number of records written so far (the next record's sequence).
    pub length: u64,
    /// The hash of the last record, or [`ChainHash::GENESIS`] for an empty log.
    pub head: ChainHash,
    /// Door time of signing.
    pub at: Time,
}

impl LogHead {
    /// Signs the head with the device key.
    pub fn seal<'b>(&self, device: &SigningKey, out: &'b mut [u8]) -> Result<&'b [u8], Error> {
        seal::<_, { MAX_LOG_HEAD_LEN + 32 }>(device, Domain::LogHead, self, out)
    }

    /// Decodes and verifies a signed head.
    pub fn decode_verified(bytes: &[u8], device: &PublicKey) -> Result<LogHead, Error> {
        let head: Unverified<'_, LogHead> = Unverified::decode(bytes, MAX_LOG_HEAD_LEN)?;
        head.verify(device, Domain::LogHead, audit_failures())
    }
}

fn audit_failures() -> Failures {
    Failures { weak_key: Error::AuditBadSignature, bad_signature: Error::AuditBadSignature }
}

/// Follows a log record by record, refusing gaps, repeats and broken links. The server keeps
/// one per door, starting where the last verified batch ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainFollower {
    /// The sequence number the next record must have.
    pub next_sequence: u64,
    /// The hash the next record must link to.
    pub previous: ChainHash,
}

impl ChainFollower {
    /// A follower for a log that has not started.
    pub const fn new() -> ChainFollower {
        ChainFollower { next_sequence: 0, previous: ChainHash::GENESIS }
    }

    /// Takes the next record's bytes. On error the follower is unchanged.
    pub fn follow(&mut self, record_bytes: &[u8]) -> Result<AuditRecord, Error> {
        let record = AuditRecord::decode(record_bytes)?;
        if record.sequence != self.next_sequence {
            return Err(Error::AuditGap);
        }
        if record.previous != self.previous {
            return Err(Error::AuditChainBroken);
        }
        self.next_sequence = self.next_sequence.saturating_add(1);
        self.previous = ChainHash::of(record_bytes);
        Ok(record)
    }

    /// Checks that a verified head matches where the follower stands.
    pub fn matches(&self, head: &LogHead) -> Result<(), Error> {
        if head.length != self.next_sequence {
            return Err(Error::AuditGap);
        }
        if head.head != self.previous {
            return Err(Error::AuditChainBroken);
        }
        Ok(())
    }
}

impl Default for ChainFollower {
    fn default() -> Self {
        Self::new()
    }
}

/// A record in the current version: what the door writes.
pub fn record(
    site: SiteId,
    door: DoorId,
    sequence: u64,
    at: Time,
    previous: ChainHash,
    event: AuditEvent,
) -> AuditRecord {
    AuditRecord { version: VERSION, site, door, sequence, at, previous, event }
}
