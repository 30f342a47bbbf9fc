//! API tokens: who may mint which role's token, within which scope.

use crate::service::Code;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{new_id, now, sha256_hex, Error, Principal, Result, Role, Service};
use crate::store::{self, Store};

/// A new token: the secret is shown once.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct TokenCreated {
    /// Token id.
    pub id: String,
    /// Role.
    pub role: Role,
    /// The secret bearer token. Store it now: the server keeps only its hash.
    pub token: String,
}

/// Create a token.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// Role: manager, carrier (by the operator); resident, device (by a manager); driver (by
    /// a carrier).
    pub role: String,
    /// Site (manager).
    pub site_id: Option<String>,
    /// Carrier (carrier).
    pub carrier_id: Option<String>,
    /// Driver (driver).
    pub driver_id: Option<String>,
    /// Resident (resident).
    pub resident_id: Option<String>,
    /// Door (device).
    pub door_id: Option<String>,
    /// Label.
    #[serde(default)]
    pub label: String,
}

impl Service {
    /// Creates a token: the operator makes manager and carrier tokens, a manager makes resident
    /// and device tokens for its site, a carrier makes driver tokens for its drivers.
    pub async fn create_token(&self, p: &Principal, req: NewToken) -> Result<TokenCreated> {
        let role = Role::parse(&req.role).ok_or_else(|| {
            Error::invalid(
                Code::InvalidRole,
                "role must be one of manager, carrier, driver, resident, device",
            )
        })?;
        let mut row = store::TokenRow { role: role.as_str().into(), ..Default::default() };
        let need = |v: &Option<String>, name: &str| -> Result<String> {
            v.clone().ok_or_else(|| {
                Error::invalid(
                    Code::MissingField,
                    format!("a {} token needs {name}", role.as_str()),
                )
            })
        };
        match (p.role, role) {
            (Role::Operator, Role::Manager) => {
                let site = need(&req.site_id, "site_id")?;
                self.store.site(&site).await?.ok_or_else(|| Error::not_found("site"))?;
                row.site_id = Some(site);
            }
            (Role::Operator, Role::Carrier) => {
                let carrier = need(&req.carrier_id, "carrier_id")?;
                self.store.carrier(&carrier).await?.ok_or_else(|| Error::not_found("carrier"))?;
                row.carrier_id = Some(carrier);
            }
            (Role::Manager, Role::Resident) => {
                let id = need(&req.resident_id, "resident_id")?;
                let resident =
                    self.store.resident(&id).await?.ok_or_else(|| Error::not_found("resident"))?;
                let unit = self.store.unit(&resident.unit_id).await?;
                let unit = unit.filter(|u| p.manages(&u.site_id));
                let unit = unit.ok_or_else(|| Error::not_found("resident"))?;
                row.site_id = Some(unit.site_id);
                row.unit_id = Some(unit.id);
                row.resident_id = Some(id);
            }
            (Role::Manager, Role::Device) => {
                let id = need(&req.door_id, "door_id")?;
                let door = self.store.door(&id).await?.filter(|d| p.manages(&d.site_id));
                let door = door.ok_or_else(|| Error::not_found("door"))?;
                row.site_id = Some(door.site_id);
                row.door_id = Some(id);
            }
            (Role::Carrier, Role::Driver) => {
                let id = need(&req.driver_id, "driver_id")?;
                let driver = self.store.driver(&id).await?;
                let driver = driver.filter(|d| Some(&d.carrier_id) == p.carrier_id.as_ref());
                let driver = driver.ok_or_else(|| Error::not_found("driver"))?;
                row.carrier_id = Some(driver.carrier_id);
                row.driver_id = Some(id);
            }
            _ => return Err(Error::forbidden(&format!("create {} tokens", role.as_str()))),
        }
        if req.label.len() > 200 {
            return Err(Error::invalid(Code::InvalidText, "label must be at most 200 bytes"));
        }
        let secret = format!("pt_{}", hex::encode(rand::random::<[u8; 32]>()));
        row.hash = sha256_hex(secret.as_bytes());
        row.id = new_id("tok");
        row.label = req.label;
        row.created_at = now();
        self.store.insert_token(&row).await?;
        Ok(TokenCreated { id: row.id, role, token: secret })
    }

    /// Makes an operator token (the CLI's bootstrap, no principal needed).
    pub async fn bootstrap_operator(store: &Store, label: &str) -> Result<TokenCreated> {
        let secret = format!("pt_{}", hex::encode(rand::random::<[u8; 32]>()));
        let row = store::TokenRow {
            hash: sha256_hex(secret.as_bytes()),
            id: new_id("tok"),
            role: "operator".into(),
            label: label.into(),
            created_at: now(),
            ..Default::default()
        };
        store.insert_token(&row).await?;
        Ok(TokenCreated { id: row.id, role: Role::Operator, token: secret })
    }
}
