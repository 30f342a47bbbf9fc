//! Revocations and the root-signed door states that carry them to doors.

use crate::ids::{DriverId, GrantId, IssuerId, SiteId};
use crate::service::Code;
use porter_protocol::{DenySubject, DoorState, MAX_DOOR_STATE_LEN};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{
    hex_bytes, new_id, now, protocol, stored_key, Error, Principal, Result, Role, Service,
};
use crate::store::{self, RevocationKind};

/// A revocation and the deny-list entry the next door state should carry.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct RevocationView {
    /// Id.
    pub id: String,
    /// Issuer, driver or grant.
    pub kind: RevocationKind,
    /// The revoked object.
    pub target_id: String,
    /// The deny-list subject, hex (8 bytes).
    pub subject: String,
    /// When the entry may be pruned.
    pub until: i64,
    /// For issuers: the certificate epoch (how the entry folds into a fence).
    pub epoch: Option<i64>,
}

/// What `porter-root sign-state` needs: the pending deny-list and the fences in force.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
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
    pub revocations: Vec<RevocationView>,
}

/// The newest signed door state of a site.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct DoorStateView {
    /// Sequence.
    pub sequence: i64,
    /// Signing time.
    pub issued_at: i64,
    /// The signed state, hex: carry it to the door as is.
    pub state: String,
}

/// Revoke something at a site.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRevocation {
    /// Issuer, driver or grant.
    pub kind: RevocationKind,
    /// Its id.
    pub id: String,
}

/// Upload a signed door state.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DoorStateUpload {
    /// The root-signed state from `porter-root sign-state`, hex.
    #[schema(min_length = 2, max_length = 7168, pattern = r"^([0-9a-fA-F]{2})+$")]
    pub state: String,
}

/// How far ahead of the server's clock a door state's signing time may be, in seconds.
pub const MAX_STATE_CLOCK_AHEAD: i64 = 300;

impl Service {
    /// Revokes an issuer, a driver (at this site) or a grant (manager). The server stops
    /// issuing at once; doors learn it from the next signed door state.
    pub async fn revoke(
        &self,
        p: &Principal,
        site_id: &SiteId,
        req: NewRevocation,
    ) -> Result<RevocationView> {
        let site = self.managed_site(p, site_id, "revoke").await?;
        let now = now();
        let (subject, until, epoch) = match req.kind {
            RevocationKind::Issuer => {
                let i = self
                    .store
                    .issuer(&IssuerId::from(req.id.as_str()))
                    .await?
                    .filter(|i| i.site_id == site.id);
                let i = i.ok_or_else(|| Error::not_found("issuer"))?;
                let key = stored_key(&i.public_key)?;
                (DenySubject::issuer(&key), i.not_after.unwrap_or(now + 86_400 * 366), i.epoch)
            }
            RevocationKind::Driver => {
                // A driver is visible to a manager only through its carrier's approval at the
                // site (present or withdrawn): another carrier's drivers do not exist here.
                let d = self.store.driver(&DriverId::from(req.id.as_str())).await?;
                let d = match d {
                    Some(d) if self.store.approval(site_id, &d.carrier_id).await?.is_some() => d,
                    _ => return Err(Error::not_found("driver")),
                };
                let key = stored_key(&d.holder_key)?;
                // Grants live at most a day; past that the entry denies nothing.
                (DenySubject::holder(&key), now + 86_400, None)
            }
            RevocationKind::Grant => {
                let g = self
                    .store
                    .grant(&GrantId::from(req.id.as_str()))
                    .await?
                    .filter(|g| g.site_id == site.id);
                let g = g.ok_or_else(|| Error::not_found("grant"))?;
                let issuer = self.store.issuer(&g.issuer_id).await?;
                let issuer = issuer.ok_or_else(|| Error::not_found("issuer"))?;
                let key = stored_key(&issuer.public_key)?;
                (DenySubject::grant(key.id(), g.serial as u64), g.not_after, None)
            }
        };
        let row = store::RevocationRow {
            id: new_id("rev"),
            site_id: site.id,
            kind: req.kind,
            target_id: req.id,
            subject: hex::encode(subject.0),
            until,
            epoch,
            created_at: now,
        };
        self.store.insert_revocation(&row).await?;
        Ok(RevocationView {
            id: row.id,
            kind: row.kind,
            target_id: row.target_id,
            subject: row.subject,
            until: row.until,
            epoch: row.epoch,
        })
    }

    /// The pending deny-list for `porter-root sign-state` (manager).
    pub async fn list_revocations(
        &self,
        p: &Principal,
        site_id: &SiteId,
    ) -> Result<RevocationList> {
        let site = self.managed_site(p, site_id, "list revocations").await?;
        let latest = self.store.latest_door_state(site_id).await?;
        let revocations = self.store.revocations(site_id).await?;
        Ok(RevocationList {
            site_number: site.site_number as u32,
            current_sequence: latest.as_ref().map_or(0, |s| s.sequence),
            grant_fence: latest.as_ref().map_or(0, |s| s.grant_fence),
            cert_epoch_fence: latest.as_ref().map_or(0, |s| s.cert_epoch_fence),
            revocations: revocations
                .into_iter()
                .map(|r| RevocationView {
                    id: r.id,
                    kind: r.kind,
                    target_id: r.target_id,
                    subject: r.subject,
                    until: r.until,
                    epoch: r.epoch,
                })
                .collect(),
        })
    }

    /// Stores a root-signed door state newer than the last one (manager).
    pub async fn upload_door_state(
        &self,
        p: &Principal,
        site_id: &SiteId,
        req: DoorStateUpload,
    ) -> Result<DoorStateView> {
        let site = self.managed_site(p, site_id, "upload door state").await?;
        let bytes = hex_bytes("state", &req.state, MAX_DOOR_STATE_LEN)?;
        let number = porter_protocol::SiteId(site.site_number as u32);
        let latest = self.store.latest_door_state(site_id).await?;
        let mut base = DoorState::genesis(number);
        base.sequence = latest.as_ref().map_or(0, |s| s.sequence as u64);
        let unverified =
            DoorState::decode(&bytes).map_err(|e| protocol(Code::InvalidState, "door state", e))?;
        let state = base.accept_newer(unverified, &stored_key(&site.root_key)?).map_err(|e| {
            if e == porter_protocol::Error::StateNotNewer {
                Error::conflict(
                    Code::StateNotNewer,
                    format!(
                        "sequence must be greater than {}: sign the next state with a higher --sequence",
                        base.sequence
                    ),
                )
            } else {
                protocol(Code::InvalidState, "door state", e)
            }
        })?;
        // A state signed "in the future" would fence every grant issued until then and hold
        // doors to a clock no one has reached: refuse it (the root's laptop clock is wrong).
        let now = now();
        if i64::from(state.issued_at.0) > now + MAX_STATE_CLOCK_AHEAD {
            return Err(Error::invalid(
                Code::StateFromTheFuture,
                format!(
                    "the door state was signed at {} but the server's clock reads {now}: fix the \
                     signing machine's clock and sign again",
                    state.issued_at.0
                ),
            ));
        }
        let row = store::DoorStateRow {
            site_id: site.id,
            sequence: state.sequence as i64,
            state: hex::encode(&bytes),
            issued_at: i64::from(state.issued_at.0),
            grant_fence: i64::from(state.grant_fence.0),
            cert_epoch_fence: i64::from(state.cert_epoch_fence),
        };
        self.store.insert_door_state(&row, now).await.map_err(|e| {
            if store::is_unique_violation(&e) {
                Error::conflict(Code::StateNotNewer, "another upload took this sequence first")
            } else {
                e.into()
            }
        })?;
        Ok(DoorStateView { sequence: row.sequence, issued_at: row.issued_at, state: row.state })
    }

    /// The newest door state, for a phone or an uplink to carry to the doors: the manager,
    /// a device of the site, or a carrier or driver approved there.
    pub async fn latest_door_state(
        &self,
        p: &Principal,
        site_id: &SiteId,
    ) -> Result<Option<DoorStateView>> {
        if p.role() == Role::Resident {
            return Err(Error::forbidden("read door state"));
        }
        self.site_for(p, site_id).await?; // may `p` see the site at all
        let latest = self.store.latest_door_state(site_id).await?;
        Ok(latest.map(|s| DoorStateView {
            sequence: s.sequence,
            issued_at: s.issued_at,
            state: s.state,
        }))
    }
}
