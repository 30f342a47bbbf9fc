//! The door's audit log: hash-chained records, device-signed receipts and log heads.
//!
//! Each record names the hash of the one before it, so the log is a chain; the door signs a
//! receipt over each admission's record and, from time to time, the head of the chain. A
//! server that holds a signed head and the records up to it can prove none was removed or
//! altered; a sequence number that skips is a gap, and a gap is an alarm.
//!
//! Anyone in radio range may read a door's log (any phone carries it to the server), so what
//! identifies a holder is masked: the enrolment names the site server's X25519 [`LogKey`], door
//! and server derive one [`LogMask`] from it and the device key, and each admission's holder
//! id is XORed with a pseudo-random function of that key and the record's sequence number.
//! Only the site's server can unmask it ([`AuditRecord::holder`]); to anyone else two visits
//! by one driver look unrelated.

use serde::{Deserialize, Serialize};

use crate::codec::{self, byte_array};
use crate::grant::PackageCommitment;
use crate::keys::{hash32, Domain, KeyId, PublicKey, SigningKey};
use crate::scope::{DoorId, Role, SiteId, Time};
use crate::signed::{seal_encoded, Failures, Unverified, VERSION};
use crate::wire::{self, Decode, Encode, Reader, Writer};
use crate::Error;
use ed25519_compact::x25519;

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

/// The site server's X25519 public key for reading door logs, carried in the enrolment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LogKey(#[serde(with = "byte_array")] pub [u8; 32]);

/// The site server's secret half of its [`LogKey`]. Never on a door or a phone.
pub struct LogSecret(x25519::SecretKey);

impl LogSecret {
    /// The key made from 32 bytes of secret entropy (an all-zero seed is refused,
    /// `KeyInvalidSeed`). Keep the seed as the site's log secret.
    pub fn from_seed(seed: [u8; 32]) -> Result<LogSecret, Error> {
        if seed == [0; 32] {
            return Err(Error::KeyInvalidSeed);
        }
        Ok(LogSecret(x25519::SecretKey::new(seed)))
    }

    /// The public half, for the enrolment (`Enrolment::log_key`).
    pub fn log_key(&self) -> Result<LogKey, Error> {
        self.0.recover_public_key().map(|pk| LogKey(*pk)).map_err(|_| Error::KeyInvalidSeed)
    }
}

/// The key one door and its site's server share for masking holder ids in that door's log:
/// `SHA-512("porter/v1/log-mask-key\0" || X25519(door, server) || device key || log key)`, first
/// 32 bytes, where the door's X25519 key is its Ed25519 device key converted (RFC 7748 /
/// libsodium's `crypto_sign_ed25519_sk_to_curve25519`).
#[derive(Clone, PartialEq, Eq)]
pub struct LogMask([u8; 32]);

impl LogMask {
    /// The door's side, from its device key and the log key its enrolment names. Fails
    /// (`EnrolmentMismatch`) for a log key of small order, which would make the mask public.
    pub fn for_door(device: &SigningKey, server: &LogKey) -> Result<LogMask, Error> {
        // A door derives it again at every boot: a fuzz target that reboots may remember it
        // (`fuzz_hooks::remember_derivations`).
        #[cfg(feature = "fuzzing")]
        {
            static MASKS: crate::fuzz_hooks::Memo<([u8; 32], [u8; 32]), Result<LogMask, Error>> =
                crate::fuzz_hooks::Memo::new();
            return MASKS
                .get((device.seed(), server.0), || LogMask::derive_for_door(device, server));
        }
        #[allow(unreachable_code)] // Reason: only with the fuzzing memo above.
        LogMask::derive_for_door(device, server)
    }

    fn derive_for_door(device: &SigningKey, server: &LogKey) -> Result<LogMask, Error> {
        let az = ed25519_compact::sha512::Hash::hash(device.seed());
        let secret = x25519::SecretKey::from_slice(az.get(..32).unwrap_or(&[]))
            .map_err(|_| Error::KeyInvalidSeed)?;
        let shared =
            x25519::PublicKey::new(server.0).dh(&secret).map_err(|_| Error::EnrolmentMismatch)?;
        Ok(LogMask::derive(&*shared, &device.public_key(), server))
    }

    /// The server's side, from its log secret and the door's device key (from the enrolment).
    /// Fails (`EnrolmentMismatch`) for a device key that is not a valid point.
    pub fn for_server(secret: &LogSecret, device: &PublicKey) -> Result<LogMask, Error> {
        let edwards = ed25519_compact::PublicKey::new(device.0);
        let door =
            x25519::PublicKey::from_ed25519(&edwards).map_err(|_| Error::EnrolmentMismatch)?;
        let shared = door.dh(&secret.0).map_err(|_| Error::EnrolmentMismatch)?;
        let log_key = secret.log_key()?;
        Ok(LogMask::derive(&*shared, device, &log_key))
    }

    fn derive(shared: &[u8], device: &PublicKey, log_key: &LogKey) -> LogMask {
        LogMask(hash32(b"porter/v1/log-mask-key\0", &[shared, &device.0, &log_key.0]))
    }

    /// The site server's acknowledgement that it holds the door's log up to `length` records:
    /// the first 16 bytes of `SHA-512("porter/v1/log-ack\0" || key || length as u64 LE)`. A
    /// phone carries it back to the door (`0x08 log ack`), which may then overwrite those
    /// records; until then it keeps every admission record, or logs that it lost them.
    pub fn ack_tag(&self, length: u64) -> [u8; 16] {
        let full = hash32(b"porter/v1/log-ack\0", &[&self.0, &length.to_le_bytes()]);
        let mut tag = [0u8; 16];
        tag.copy_from_slice(full.get(..16).unwrap_or(&[0; 16]));
        tag
    }

    /// Masks a holder id for the record at `sequence`, or unmasks a masked one (XOR with
    /// the first 8 bytes of `SHA-512("porter/v1/log-mask\0" || key || sequence as u64 LE)`).
    pub fn apply(&self, sequence: u64, holder: KeyId) -> KeyId {
        let pad = hash32(b"porter/v1/log-mask\0", &[&self.0, &sequence.to_le_bytes()]);
        let mut out = holder.0;
        for (o, p) in out.iter_mut().zip(pad) {
            *o ^= p;
        }
        KeyId(out)
    }
}

impl core::fmt::Debug for LogMask {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("LogMask(..)")
    }
}

/// Something the door noticed that a person should look at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Alarm {
    /// The door stayed open longer than allowed after an admission.
    HeldOpen,
    /// The door opened without an admission and without a request to exit: forced.
    ForcedOpen,
    /// Failed signature checks took the door's back-off to its cap: someone is trying forged
    /// credentials. (The door keeps answering; the name is kept for the wire number.)
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
        /// The holder key's id, masked with the door's [`LogMask`] and this record's sequence
        /// when the enrolment named a [`LogKey`] (read it with [`AuditRecord::holder`]); in
        /// clear otherwise.
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
    /// What the door counted instead of logging one by one since the record before this one:
    /// refusals, forced and held-open alarms that came within a minute of a logged one, and
    /// exits through the door after a request to exit.
    Tally {
        /// Attempts refused (any reason).
        refused: u32,
        /// Of those, the ones that cost a signature check (what back-off counts).
        refused_signature: u32,
        /// Forced-open alarms.
        forced_open: u32,
        /// Held-open alarms.
        held_open: u32,
        /// Exits after a request to exit (not alarms).
        egress: u32,
        /// The reason code of the last refusal counted, or 0.
        last_reason: u16,
    },
    /// The ring had to overwrite records the site server had not acknowledged, holding this
    /// many admissions, all below sequence `before`: they are lost, and this says so.
    Overwritten {
        /// Admission records lost.
        admissions: u32,
        /// The first sequence not lost.
        before: u64,
    },
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
        wire::encode(self, out).map(|b| &*b)
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
        let body_len = wire::encode(self, out)?.len();
        seal_encoded::<{ MAX_RECEIPT_LEN + 32 }>(device, Domain::Receipt, body_len, out)
    }

    /// The holder of an admission, unmasked with the site server's [`LogMask`] for the door
    /// that wrote it; `None` for other events.
    pub fn holder(&self, mask: &LogMask) -> Option<KeyId> {
        match self.event {
            AuditEvent::Admitted { holder, .. } => Some(mask.apply(self.sequence, holder)),
            _ => None,
        }
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
        let body_len = wire::encode(self, out)?.len();
        seal_encoded::<{ MAX_LOG_HEAD_LEN + 32 }>(device, Domain::LogHead, body_len, out)
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

impl Decode<'_> for ChainHash {
    fn decode(r: &mut Reader<'_>) -> ChainHash {
        ChainHash(r.array())
    }
}

impl Decode<'_> for LogKey {
    fn decode(r: &mut Reader<'_>) -> LogKey {
        LogKey(r.array())
    }
}

impl Decode<'_> for Alarm {
    fn decode(r: &mut Reader<'_>) -> Alarm {
        match r.variant() {
            0 => Alarm::HeldOpen,
            1 => Alarm::ForcedOpen,
            2 => Alarm::Lockout,
            3 => Alarm::ClockBehindFloor,
            4 => Alarm::StorageRepaired,
            _ => r.refuse(Alarm::HeldOpen),
        }
    }
}

impl Decode<'_> for AuditEvent {
    fn decode(r: &mut Reader<'_>) -> AuditEvent {
        match r.variant() {
            0 => AuditEvent::Admitted {
                issuer: KeyId::decode(r),
                grant_serial: r.u64(),
                use_index: r.u8(),
                holder: KeyId::decode(r),
                role: Role::decode(r),
                package: PackageCommitment::decode(r),
            },
            1 => AuditEvent::Rejected { reason: r.u16() },
            2 => AuditEvent::DoorStateApplied { sequence: r.u64() },
            3 => AuditEvent::Alarm(Alarm::decode(r)),
            4 => AuditEvent::Boot,
            5 => AuditEvent::Enrolled,
            6 => AuditEvent::Tally {
                refused: r.u32(),
                refused_signature: r.u32(),
                forced_open: r.u32(),
                held_open: r.u32(),
                egress: r.u32(),
                last_reason: r.u16(),
            },
            7 => AuditEvent::Overwritten { admissions: r.u32(), before: r.u64() },
            _ => r.refuse(AuditEvent::Boot),
        }
    }
}

impl Decode<'_> for AuditRecord {
    fn decode(r: &mut Reader<'_>) -> AuditRecord {
        AuditRecord {
            version: r.u8(),
            site: SiteId::decode(r),
            door: DoorId::decode(r),
            sequence: r.u64(),
            at: Time::decode(r),
            previous: ChainHash::decode(r),
            event: AuditEvent::decode(r),
        }
    }
}

impl Decode<'_> for LogHead {
    fn decode(r: &mut Reader<'_>) -> LogHead {
        LogHead {
            version: r.u8(),
            site: SiteId::decode(r),
            door: DoorId::decode(r),
            length: r.u64(),
            head: ChainHash::decode(r),
            at: Time::decode(r),
        }
    }
}

impl Encode for Alarm {
    fn encode(&self, w: &mut Writer<'_>) -> Result<(), Error> {
        w.varint(*self as u64)
    }
}

impl Encode for AuditEvent {
    fn encode(&self, w: &mut Writer<'_>) -> Result<(), Error> {
        match *self {
            AuditEvent::Admitted { issuer, grant_serial, use_index, holder, role, package } => {
                w.u8(0)?;
                w.bytes(&issuer.0)?;
                w.varint(grant_serial)?;
                w.u8(use_index)?;
                w.bytes(&holder.0)?;
                role.encode(w)?;
                w.bytes(&package.0)
            }
            AuditEvent::Rejected { reason } => {
                w.u8(1)?;
                w.varint(reason.into())
            }
            AuditEvent::DoorStateApplied { sequence } => {
                w.u8(2)?;
                w.varint(sequence)
            }
            AuditEvent::Alarm(alarm) => {
                w.u8(3)?;
                alarm.encode(w)
            }
            AuditEvent::Boot => w.u8(4),
            AuditEvent::Enrolled => w.u8(5),
            AuditEvent::Tally {
                refused,
                refused_signature,
                forced_open,
                held_open,
                egress,
                last_reason,
            } => {
                w.u8(6)?;
                for count in [refused, refused_signature, forced_open, held_open, egress] {
                    w.varint(count.into())?;
                }
                w.varint(last_reason.into())
            }
            AuditEvent::Overwritten { admissions, before } => {
                w.u8(7)?;
                w.varint(admissions.into())?;
                w.varint(before)
            }
        }
    }
}

impl Encode for AuditRecord {
    fn encode(&self, w: &mut Writer<'_>) -> Result<(), Error> {
        w.u8(self.version)?;
        self.site.encode(w)?;
        self.door.encode(w)?;
        w.varint(self.sequence)?;
        self.at.encode(w)?;
        w.bytes(&self.previous.0)?;
        self.event.encode(w)
    }
}

impl Encode for LogHead {
    fn encode(&self, w: &mut Writer<'_>) -> Result<(), Error> {
        w.u8(self.version)?;
        self.site.encode(w)?;
        self.door.encode(w)?;
        w.varint(self.length)?;
        w.bytes(&self.head.0)?;
        self.at.encode(w)
    }
}
