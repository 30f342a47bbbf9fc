//! Drivers: a carrier's phones, by holder key.

use crate::ids::{CarrierId, DriverId};
use crate::service::Code;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use porter_protocol::DenySubject;

use super::{
    client_key, hex_array, new_id, now, stored_key, text, Error, Paged, Principal, Result, Service,
};
use crate::store::{self, Page, Store, TokenOwner};

/// A driver.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct DriverView {
    /// Id.
    pub id: DriverId,
    /// Carrier id.
    pub carrier_id: CarrierId,
    /// Holder key, hex.
    pub holder_key: String,
    /// Label.
    pub label: String,
    /// Whether the carrier revoked it.
    pub revoked: bool,
}

impl From<store::DriverRow> for DriverView {
    fn from(r: store::DriverRow) -> Self {
        DriverView {
            id: r.id,
            carrier_id: r.carrier_id,
            holder_key: r.holder_key,
            label: r.label,
            revoked: r.revoked_at.is_some(),
        }
    }
}

/// Register a driver.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDriver {
    /// The phone's Ed25519 public key, hex.
    #[schema(min_length = 64, max_length = 64, pattern = r"^[0-9a-fA-F]*$")]
    pub holder_key: String,
    /// The carrier's label.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub label: String,
    /// A challenge from `POST /v1/drivers/challenges`, hex (32 bytes, used once).
    #[schema(min_length = 64, max_length = 64, pattern = r"^[0-9a-fA-F]*$")]
    pub challenge: String,
    /// The phone's Ed25519 signature, hex, over [`registration_message`]: proof that it holds
    /// the private half of `holder_key`.
    #[schema(min_length = 128, max_length = 128, pattern = r"^[0-9a-fA-F]*$")]
    pub signature: String,
}

/// A registration challenge.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct DriverChallenge {
    /// 32 random bytes, hex.
    pub challenge: String,
    /// Until when it may be used (Unix seconds).
    pub expires_at: i64,
}

/// How long a registration challenge may be used.
pub const CHALLENGE_LIFETIME: i64 = 300;

/// The tag before a registration proof: NUL-terminated and distinct from every
/// `porter_protocol::Domain` tag, so no protocol message can be taken for a proof or back.
pub const REGISTRATION_TAG: &[u8] = porter_protocol::registration(&[0; 32], "")[0];

/// What the phone signs (plain Ed25519) to register: the tag, the challenge's 32 bytes, then
/// the carrier id's UTF-8 bytes (so a proof made for one carrier serves no other).
pub fn registration_message(challenge: &[u8; 32], carrier_id: &str) -> Vec<u8> {
    porter_protocol::registration(challenge, carrier_id).concat()
}

impl Service {
    /// A one-time challenge the driver's phone signs to register its key (carrier).
    pub async fn driver_challenge(&self, p: &Principal) -> Result<DriverChallenge> {
        let Principal::Carrier { carrier, .. } = p else {
            return Err(Error::forbidden("register drivers"));
        };
        let challenge = hex::encode(rand::random::<[u8; 32]>());
        let now = now();
        let expires_at = now + CHALLENGE_LIFETIME;
        self.store.insert_driver_challenge(&challenge, carrier, expires_at, now).await?;
        Ok(DriverChallenge { challenge, expires_at })
    }

    /// Registers a driver's holder key (carrier). The phone proves it holds the key by signing
    /// a fresh challenge; small-order and non-canonical keys are refused, and so is a key whose
    /// deny-list subject equals an existing issuer's or driver's (a door could not revoke one
    /// without the other).
    pub async fn register_driver(&self, p: &Principal, req: NewDriver) -> Result<DriverView> {
        let Principal::Carrier { carrier, .. } = p else {
            return Err(Error::forbidden("register drivers"));
        };
        let key = client_key("holder_key", &req.holder_key)?;
        text("label", &req.label, 200)?;
        let challenge = hex_array::<32>("challenge", &req.challenge)?;
        let signature = hex_array::<64>("signature", &req.signature)?;
        // Used once, by this carrier, in time: taken before the signature is checked, so a
        // wrong guess costs the challenge.
        if !self.store.take_driver_challenge(&req.challenge, carrier, now()).await? {
            return Err(Error::invalid(
                Code::InvalidChallenge,
                "unknown, used or expired challenge: get a new one from POST /v1/drivers/challenges",
            ));
        }
        let message = registration_message(&challenge, carrier.as_str());
        if !porter_protocol::verify_raw(&key.0, &message, &signature) {
            return Err(Error::invalid(
                Code::InvalidProof,
                "the signature does not verify under holder_key: the phone must sign the \
                 registration message with the key it registers",
            ));
        }
        let subject = DenySubject::holder(&key);
        if let Some((kind, id)) = self.subject_holders(subject).await?.into_iter().next() {
            return Err(Error::conflict(
                Code::DenySubjectCollision,
                format!(
                    "this key's deny-list subject equals {kind} {id}'s: a door could not revoke one \
                     without the other. Make a new key on the phone and register that"
                ),
            ));
        }
        let row = store::DriverRow {
            id: new_id("drv"),
            carrier_id: carrier.clone(),
            holder_key: req.holder_key.to_lowercase(),
            label: req.label,
            revoked_at: None,
            created_at: now(),
        };
        self.store.insert_driver(&row).await?;
        Ok(row.into())
    }

    /// Lists a carrier's drivers (carrier).
    pub async fn list_drivers(&self, p: &Principal, page: &Page) -> Result<Paged<DriverView>> {
        let Principal::Carrier { carrier, .. } = p else {
            return Err(Error::forbidden("list drivers"));
        };
        let rows = self.store.drivers(carrier, page).await?;
        Ok(Paged::of(rows.into_iter().map(DriverView::from).collect(), page, |d| d.id.clone()))
    }

    /// Retires a driver everywhere (carrier): no further grants, and every token of the driver
    /// is revoked (it can no longer read its carrier's deliveries); existing grants expire
    /// within minutes. Sites that must stop them sooner revoke the driver in their door state.
    pub async fn retire_driver(&self, p: &Principal, id: &DriverId) -> Result<DriverView> {
        let Principal::Carrier { carrier, .. } = p else {
            return Err(Error::forbidden("retire drivers"));
        };
        let d = self.store.driver(id).await?.filter(|d| *carrier == d.carrier_id);
        let d = d.ok_or_else(|| Error::not_found("driver"))?;
        let now = now();
        self.store.retire_driver(id, now).await?;
        let mut tx = self.store.begin().await?;
        Store::revoke_tokens_of(&mut tx, TokenOwner::Driver(&d.id), now).await?;
        tx.commit().await?;
        let d = self.store.driver(id).await?.ok_or_else(|| Error::not_found("driver"))?;
        Ok(d.into())
    }

    /// The drivers and issuers whose deny-list subject is `subject`: (kind, id).
    async fn subject_holders(&self, subject: DenySubject) -> Result<Vec<(&'static str, String)>> {
        let mut out = Vec::new();
        for (id, key) in self.store.all_driver_keys().await? {
            if stored_key(&key).is_ok_and(|k| DenySubject::holder(&k) == subject) {
                out.push(("driver", id));
            }
        }
        for (id, key) in self.store.all_issuer_keys().await? {
            if stored_key(&key).is_ok_and(|k| DenySubject::issuer(&k) == subject) {
                out.push(("issuer", id));
            }
        }
        Ok(out)
    }
}
