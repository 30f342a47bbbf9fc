//! API tokens: who may mint which role's token, within which scope.

use crate::ids::{CarrierId, DoorId, DriverId, ResidentId, SiteId, TokenId};
use crate::service::Code;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{new_id, now, sha256_hex, Error, Paged, Principal, Result, Role, Service};
use crate::store::{self, Page, Store, TokenScope};

/// How long a token works when its creator does not say: 90 days.
pub const DEFAULT_TOKEN_LIFETIME: i64 = 90 * 86_400;
/// The longest a token may work: 400 days.
pub const MAX_TOKEN_LIFETIME: i64 = 400 * 86_400;

/// A new token: the secret is shown once.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct TokenCreated {
    /// Token id.
    pub id: TokenId,
    /// Role.
    pub role: Role,
    /// The secret bearer token. Store it now: the server keeps only its hash.
    pub token: String,
    /// When it stops working (Unix seconds).
    pub expires_at: Option<i64>,
}

/// A token as its creator's scope lists it (never the secret).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct TokenView {
    /// Token id.
    pub id: TokenId,
    /// Role.
    pub role: Role,
    /// Label.
    pub label: String,
    /// Site (manager, resident, device).
    pub site_id: Option<SiteId>,
    /// Carrier (carrier, driver).
    pub carrier_id: Option<CarrierId>,
    /// Driver (driver).
    pub driver_id: Option<DriverId>,
    /// Resident (resident).
    pub resident_id: Option<ResidentId>,
    /// Door (device).
    pub door_id: Option<DoorId>,
    /// Creation time.
    pub created_at: i64,
    /// When it stops working.
    pub expires_at: Option<i64>,
    /// When it was revoked.
    pub revoked_at: Option<i64>,
}

impl From<store::TokenRow> for TokenView {
    fn from(r: store::TokenRow) -> Self {
        TokenView {
            id: r.id,
            role: r.role,
            label: r.label,
            site_id: r.site_id,
            carrier_id: r.carrier_id,
            driver_id: r.driver_id,
            resident_id: r.resident_id,
            door_id: r.door_id,
            created_at: r.created_at,
            expires_at: r.expires_at,
            revoked_at: r.revoked_at,
        }
    }
}

/// The field of [`NewToken`] that scopes each role's token: `create_token` refuses a token of
/// that role without it (`missing_field`), and the OpenAPI document says so.
pub const SCOPE_FIELD: [(Role, &str, &str); 5] = [
    (Role::Manager, "site_id", "SiteId"),
    (Role::Carrier, "carrier_id", "CarrierId"),
    (Role::Driver, "driver_id", "DriverId"),
    (Role::Resident, "resident_id", "ResidentId"),
    (Role::Device, "door_id", "DoorId"),
];

/// Create a token.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// Role: manager, carrier (by the operator); resident, device (by a manager); driver (by
    /// a carrier).
    pub role: Role,
    /// Site (manager).
    pub site_id: Option<SiteId>,
    /// Carrier (carrier).
    pub carrier_id: Option<CarrierId>,
    /// Driver (driver).
    pub driver_id: Option<DriverId>,
    /// Resident (resident).
    pub resident_id: Option<ResidentId>,
    /// Door (device).
    pub door_id: Option<DoorId>,
    /// Label.
    #[serde(default)]
    #[schema(max_length = 200)]
    pub label: String,
    /// Seconds until it stops working: 60..=34560000 (400 days); 90 days if absent.
    #[schema(minimum = 60, maximum = 34_560_000)]
    pub expires_in_seconds: Option<i64>,
}

impl Service {
    /// Creates a token: the operator makes manager and carrier tokens, a manager makes resident
    /// and device tokens for its site, a carrier makes driver tokens for its drivers.
    pub async fn create_token(&self, p: &Principal, req: NewToken) -> Result<TokenCreated> {
        let role = req.role;
        let mut row = store::TokenRow::of_role(role);
        match (p.role(), role) {
            (Role::Operator, Role::Manager) => {
                let site = needed(&req.site_id, role, "site_id")?;
                self.store.site(&site).await?.ok_or_else(|| Error::not_found("site"))?;
                row.site_id = Some(site);
            }
            (Role::Operator, Role::Carrier) => {
                let carrier = needed(&req.carrier_id, role, "carrier_id")?;
                self.store.carrier(&carrier).await?.ok_or_else(|| Error::not_found("carrier"))?;
                row.carrier_id = Some(carrier);
            }
            (Role::Manager, Role::Resident) => {
                let id = needed(&req.resident_id, role, "resident_id")?;
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
                let id = needed(&req.door_id, role, "door_id")?;
                let door = self.store.door(&id).await?.filter(|d| p.manages(&d.site_id));
                let door = door.ok_or_else(|| Error::not_found("door"))?;
                row.site_id = Some(door.site_id);
                row.door_id = Some(id);
            }
            (Role::Carrier, Role::Driver) => {
                let id = needed(&req.driver_id, role, "driver_id")?;
                let driver = self.store.driver(&id).await?;
                let driver = driver.filter(|d| p.carrier().is_some_and(|c| *c == d.carrier_id));
                let driver = driver.ok_or_else(|| Error::not_found("driver"))?;
                row.carrier_id = Some(driver.carrier_id);
                row.driver_id = Some(id);
            }
            _ => return Err(Error::forbidden(&format!("create {} tokens", role.as_str()))),
        }
        if req.label.chars().count() > 200 {
            return Err(Error::invalid(Code::InvalidText, "label must be at most 200 characters"));
        }
        let lifetime = req.expires_in_seconds.unwrap_or(DEFAULT_TOKEN_LIFETIME);
        if !(60..=MAX_TOKEN_LIFETIME).contains(&lifetime) {
            return Err(Error::invalid(
                Code::InvalidLifetime,
                format!("expires_in_seconds must be 60..={MAX_TOKEN_LIFETIME} (400 days)"),
            ));
        }
        let secret = format!("pt_{}", hex::encode(rand::random::<[u8; 32]>()));
        row.hash = sha256_hex(secret.as_bytes());
        row.id = new_id("tok");
        row.label = req.label;
        row.created_at = now();
        row.expires_at = Some(row.created_at + lifetime);
        row.created_by = Some(p.token_id().clone());
        self.store.insert_token(&row).await?;
        Ok(TokenCreated { id: row.id, role, token: secret, expires_at: row.expires_at })
    }

    /// The scope whose tokens `p` may list and revoke: the tokens it may create.
    fn token_scope<'a>(&self, p: &'a Principal) -> Result<TokenScope<'a>> {
        match p {
            Principal::Operator { .. } => Ok(TokenScope::Operator),
            Principal::Manager { site, .. } => Ok(TokenScope::Site(site)),
            Principal::Carrier { carrier, .. } => Ok(TokenScope::Carrier(carrier)),
            _ => Err(Error::forbidden("list tokens")),
        }
    }

    /// Lists the tokens within the caller's scope (operator: managers' and carriers'; manager:
    /// its site's residents' and devices'; carrier: its drivers').
    pub async fn list_tokens(&self, p: &Principal, page: &Page) -> Result<Paged<TokenView>> {
        let scope = self.token_scope(p)?;
        let rows = self.store.tokens_in_scope(scope, page).await?;
        Ok(Paged::of(rows.into_iter().map(TokenView::from).collect(), page, |t| t.id.clone()))
    }

    /// Revokes a token within the caller's scope, or the caller's own token.
    pub async fn revoke_token(&self, p: &Principal, id: &TokenId) -> Result<TokenView> {
        let row = self.store.token(id).await?.ok_or_else(|| Error::not_found("token"))?;
        let own = *p.token_id() == row.id;
        let in_scope = match (p, row.role) {
            (Principal::Operator { .. }, Role::Manager | Role::Carrier) => true,
            (Principal::Manager { site, .. }, Role::Resident | Role::Device) => {
                row.site_id.as_ref() == Some(site)
            }
            (Principal::Carrier { carrier, .. }, Role::Driver) => {
                row.carrier_id.as_ref() == Some(carrier)
            }
            _ => false,
        };
        if !own && !in_scope {
            return Err(Error::not_found("token"));
        }
        self.store.revoke_token(&row.id, now()).await?;
        let row = self.store.token(id).await?.ok_or_else(|| Error::not_found("token"))?;
        Ok(row.into())
    }

    /// Makes an operator token (the CLI's bootstrap, no principal needed).
    pub async fn bootstrap_operator(store: &Store, label: &str) -> Result<TokenCreated> {
        let secret = format!("pt_{}", hex::encode(rand::random::<[u8; 32]>()));
        let row = store::TokenRow {
            hash: sha256_hex(secret.as_bytes()),
            id: new_id("tok"),
            label: label.into(),
            created_at: now(),
            ..store::TokenRow::of_role(Role::Operator)
        };
        store.insert_token(&row).await?;
        Ok(TokenCreated { id: row.id, role: Role::Operator, token: secret, expires_at: None })
    }
}

/// The scope field `name` a token of `role` needs, or the refusal saying it is missing.
fn needed<Id: Clone>(field: &Option<Id>, role: Role, name: &str) -> Result<Id> {
    field.clone().ok_or_else(|| {
        Error::invalid(Code::MissingField, format!("a {} token needs {name}", role.as_str()))
    })
}
