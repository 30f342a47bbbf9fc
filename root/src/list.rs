//! What the tool reads from the server, saved to files and carried to the offline machine: the
//! revocation list of `GET /v1/sites/{id}/revocations` and the site record of `GET
//! /v1/sites/{id}` (for its time zone).
//!
//! Read strictly: every field the signature depends on must be present (no `serde(default)`),
//! kinds are an enum, numbers must fit the door's types. Fields the server adds later are
//! ignored, so a newer server's export still reads.

use std::collections::BTreeMap;

use porter_protocol::{DenyKind, DenySubject, Time};
use serde::{Deserialize, Serialize};

use crate::Error;

/// The parts of the server's site record the tool uses.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SiteRecord {
    /// Site number.
    pub site_number: u32,
    /// The site's time zone, a POSIX TZ rule.
    pub zone: String,
    /// The site server's log key (hex), for door enrolments; absent from older servers.
    #[serde(default)]
    pub log_key: Option<String>,
}

impl SiteRecord {
    /// The site's zone, checked against the key's site.
    pub fn zone_for(&self, site: u32) -> Result<porter_protocol::TimeZone, Error> {
        if self.site_number != site {
            return Err(Error::Input(format!(
                "the site record is for site {}, the key for site {site}: save GET \
                 /v1/sites/{{id}} of this key's site",
                self.site_number
            )));
        }
        parse_zone(&self.zone)
    }
}

impl SiteRecord {
    /// The site's log key, checked against the key's site.
    pub fn log_key_for(&self, site: u32) -> Result<porter_protocol::LogKey, Error> {
        if self.site_number != site {
            return Err(Error::Input(format!(
                "the site record is for site {}, the key for site {site}: save GET \
                 /v1/sites/{{id}} of this key's site",
                self.site_number
            )));
        }
        let hex = self.log_key.as_deref().ok_or_else(|| {
            Error::Input(
                "the site record has no log_key (the server predates log keys): upgrade the \
                 server and save GET /v1/sites/{id} again"
                    .into(),
            )
        })?;
        parse_log_key(hex)
    }
}

/// Parses a site log key: 64 hex digits, as the site record's `log_key` shows it.
pub fn parse_log_key(text: &str) -> Result<porter_protocol::LogKey, Error> {
    let bytes = hex::decode(text.trim()).ok().and_then(|b| <[u8; 32]>::try_from(b).ok());
    bytes.map(porter_protocol::LogKey).ok_or_else(|| {
        Error::Input(format!(
            "{text:?} is not a log key (64 hex digits): copy log_key from GET /v1/sites/{{id}}"
        ))
    })
}

/// Parses a POSIX TZ rule such as `CET-1CEST,M3.5.0,M10.5.0/3` or `UTC0`.
pub fn parse_zone(zone: &str) -> Result<porter_protocol::TimeZone, Error> {
    porter_protocol::TimeZone::parse_posix(zone).map_err(|e| {
        Error::Input(format!(
            "{zone:?} is not a POSIX TZ rule ({}): copy the site's zone from GET /v1/sites/{{id}}",
            e.message()
        ))
    })
}

/// The site's newest door state, as `GET /v1/sites/{id}/door-states/latest` shows it. Only the signed
/// bytes are trusted (verified under the root key); the other fields are ignored.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CurrentState {
    /// The root-signed state, hex.
    pub state: String,
}

/// The pending deny-list and the fences in force, as the server exports them.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RevocationList {
    /// Site number.
    pub site_number: u32,
    /// Sequence of the newest uploaded door state (0 if none).
    pub current_sequence: i64,
    /// Its grant fence.
    pub grant_fence: i64,
    /// Its certificate epoch fence.
    pub cert_epoch_fence: i64,
    /// Every revocation.
    pub revocations: Vec<Revocation>,
}

/// One revoked object.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Revocation {
    /// The server's id of the revocation.
    pub id: String,
    /// What was revoked.
    pub kind: RevocationKind,
    /// The server's id of the revoked object.
    pub target_id: String,
    /// The deny-list subject, 16 hex digits, as `porter-protocol` computed it on the server.
    pub subject: String,
    /// When the entry may be pruned (unix seconds).
    pub until: i64,
    /// For issuers: the certificate epoch (how the entry folds into a fence); null otherwise.
    pub epoch: Option<i64>,
}

/// What a revocation denies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RevocationKind {
    /// An issuer key: every grant and certificate of it.
    Issuer,
    /// A driver's holder key: every grant to it.
    Driver,
    /// One grant.
    Grant,
}

/// One checked deny-list entry.
pub(crate) struct Entry {
    pub subject: DenySubject,
    pub until: Time,
    pub kind: DenyKind,
}

fn to_u32(what: &str, value: i64) -> Result<u32, Error> {
    u32::try_from(value).map_err(|_| {
        Error::Input(format!(
            "{what} is {value}, outside 0..=4294967295: the revocation list is damaged or from \
             another server version; export it again"
        ))
    })
}

impl RevocationList {
    /// The grant fence and certificate epoch fence in force, checked.
    pub(crate) fn fences(&self) -> Result<(Time, u32), Error> {
        Ok((
            Time(to_u32("grant_fence", self.grant_fence)?),
            to_u32("cert_epoch_fence", self.cert_epoch_fence)?,
        ))
    }

    /// The next sequence: one more than the server's current.
    pub(crate) fn next_sequence(&self) -> Result<u64, Error> {
        u64::try_from(self.current_sequence).ok().and_then(|s| s.checked_add(1)).ok_or_else(|| {
            Error::Input(format!(
                "current_sequence is {}: the revocation list is damaged; export it again",
                self.current_sequence
            ))
        })
    }

    /// Every revocation as a deny-list entry, refusing two different objects with one subject.
    pub(crate) fn entries(&self) -> Result<Vec<Entry>, Error> {
        let mut seen: BTreeMap<[u8; 8], &Revocation> = BTreeMap::new();
        let mut out = Vec::with_capacity(self.revocations.len());
        for r in &self.revocations {
            let subject: [u8; 8] =
                hex::decode(&r.subject).ok().and_then(|b| b.try_into().ok()).ok_or_else(|| {
                    Error::Input(format!(
                        "revocation {} has subject {:?}, not 16 hex digits; export the list again",
                        r.id, r.subject
                    ))
                })?;
            if let Some(first) = seen.get(&subject) {
                if (first.kind, &first.target_id) != (r.kind, &r.target_id) {
                    return Err(Error::SubjectCollision(format!(
                        "revocations {} ({:?} {}) and {} ({:?} {}) share the deny subject {}: a \
                         door cannot tell them apart. Nothing was signed. Replace one of the two \
                         keys (a new issuer, or the driver registered again with a new key), \
                         revoke the old one, and export the list again",
                        first.id, first.kind, first.target_id, r.id, r.kind, r.target_id, r.subject
                    )));
                }
            }
            seen.insert(subject, r);
            let kind = match (r.kind, r.epoch) {
                (RevocationKind::Issuer, Some(epoch)) => DenyKind::Issuer {
                    epoch: to_u32(&format!("revocation {} epoch", r.id), epoch)?,
                },
                (RevocationKind::Issuer, None) => {
                    return Err(Error::Input(format!(
                        "issuer revocation {} has no certificate epoch: without it the entry \
                         cannot fold into a fence; export the list again from the server",
                        r.id
                    )))
                }
                (_, None) => DenyKind::ShortLived,
                (kind, Some(_)) => {
                    return Err(Error::Input(format!(
                        "revocation {} ({kind:?}) carries an epoch, which only issuers have: the \
                         list is damaged; export it again",
                        r.id
                    )))
                }
            };
            let until = Time(to_u32(&format!("revocation {} until", r.id), r.until)?);
            out.push(Entry { subject: DenySubject(subject), until, kind });
        }
        Ok(out)
    }
}
