//! Sites, doors, issuers, carriers, approvals, drivers, units, residents, deliveries, tokens,
//! revocations and door states.

use porter_protocol::{
    Certificate, DenySubject, DoorState, Enrolment, PackageCommitment, PublicKey,
    MAX_CERTIFICATE_LEN, MAX_DOOR_STATE_LEN, MAX_ENROLMENT_LEN,
};
use serde::{Deserialize, Serialize};

use super::{
    hex_array, hex_bytes, new_id, now, sha256_hex, stored_key, Error, Paged, Principal, Result,
    Role, Service,
};
use crate::store::{self, Page, Store};

// ---------------------------------------------------------------------------------------------
// Views: what the API returns.

/// A site.
#[derive(Clone, Debug, Serialize)]
pub struct SiteView {
    /// Id.
    pub id: String,
    /// The protocol site number.
    pub site_number: u32,
    /// Name.
    pub name: String,
    /// Root public key, hex.
    pub root_key: String,
    /// UTC offset, minutes.
    pub utc_offset_minutes: i64,
}

impl From<store::SiteRow> for SiteView {
    fn from(r: store::SiteRow) -> Self {
        SiteView {
            id: r.id,
            site_number: r.site_number as u32,
            name: r.name,
            root_key: r.root_key,
            utc_offset_minutes: r.utc_offset_minutes,
        }
    }
}

/// A door.
#[derive(Clone, Debug, Serialize)]
pub struct DoorView {
    /// Id.
    pub id: String,
    /// Site id.
    pub site_id: String,
    /// Door number.
    pub door_number: u16,
    /// Name.
    pub name: String,
    /// Device key, hex.
    pub device_key: String,
}

impl From<store::DoorRow> for DoorView {
    fn from(r: store::DoorRow) -> Self {
        DoorView {
            id: r.id,
            site_id: r.site_id,
            door_number: r.door_number as u16,
            name: r.name,
            device_key: r.device_key,
        }
    }
}

/// An issuer key (never its secret).
#[derive(Clone, Debug, Serialize)]
pub struct IssuerView {
    /// Id.
    pub id: String,
    /// Site id.
    pub site_id: String,
    /// Public key, hex: what `porter root certify-issuer --issuer` takes.
    pub public_key: String,
    /// The certificate, hex, once uploaded.
    pub certificate: Option<String>,
    /// Certificate epoch.
    pub epoch: Option<i64>,
    /// Certificate end.
    pub not_after: Option<i64>,
    /// Whether it was revoked.
    pub revoked: bool,
}

impl From<store::IssuerRow> for IssuerView {
    fn from(r: store::IssuerRow) -> Self {
        IssuerView {
            id: r.id,
            site_id: r.site_id,
            public_key: r.public_key,
            certificate: r.certificate,
            epoch: r.epoch,
            not_after: r.not_after,
            revoked: r.revoked_at.is_some(),
        }
    }
}

/// A carrier.
#[derive(Clone, Debug, Serialize)]
pub struct CarrierView {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
}

/// A carrier's approval at a site.
#[derive(Clone, Debug, Serialize)]
pub struct ApprovalView {
    /// Id.
    pub id: String,
    /// Site id.
    pub site_id: String,
    /// Carrier id.
    pub carrier_id: String,
    /// Issuer id.
    pub issuer_id: String,
    /// Allowed door numbers; empty means every door.
    pub doors: Vec<u16>,
    /// Most entries per grant.
    pub max_uses: i64,
    /// Longest grant, minutes.
    pub max_lifetime_minutes: i64,
    /// Whether it was withdrawn.
    pub revoked: bool,
}

impl From<store::ApprovalRow> for ApprovalView {
    fn from(r: store::ApprovalRow) -> Self {
        ApprovalView {
            doors: parse_doors(&r.doors).unwrap_or_default(),
            id: r.id,
            site_id: r.site_id,
            carrier_id: r.carrier_id,
            issuer_id: r.issuer_id,
            max_uses: r.max_uses,
            max_lifetime_minutes: r.max_lifetime_minutes,
            revoked: r.revoked_at.is_some(),
        }
    }
}

/// A driver.
#[derive(Clone, Debug, Serialize)]
pub struct DriverView {
    /// Id.
    pub id: String,
    /// Carrier id.
    pub carrier_id: String,
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

/// A unit.
#[derive(Clone, Debug, Serialize)]
pub struct UnitView {
    /// Id.
    pub id: String,
    /// Site id.
    pub site_id: String,
    /// Label.
    pub label: String,
}

/// A resident.
#[derive(Clone, Debug, Serialize)]
pub struct ResidentView {
    /// Id.
    pub id: String,
    /// Unit id.
    pub unit_id: String,
    /// Name.
    pub display_name: String,
    /// Whether in-building delivery is refused.
    pub opted_out: bool,
}

impl From<store::ResidentRow> for ResidentView {
    fn from(r: store::ResidentRow) -> Self {
        ResidentView {
            id: r.id,
            unit_id: r.unit_id,
            display_name: r.display_name,
            opted_out: r.opted_out,
        }
    }
}

/// A delivery. The tracking number is not in it: the server never kept it.
#[derive(Clone, Debug, Serialize)]
pub struct DeliveryView {
    /// Id.
    pub id: String,
    /// Site id.
    pub site_id: String,
    /// Carrier id.
    pub carrier_id: String,
    /// Unit id.
    pub unit_id: String,
    /// The package commitment carried by grants, hex.
    pub package: String,
    /// Window start.
    pub window_start: i64,
    /// Window end.
    pub window_end: i64,
    /// `open` or `cancelled`.
    pub status: String,
    /// When a door first opened for it.
    pub entered_at: Option<i64>,
}

impl From<store::DeliveryRow> for DeliveryView {
    fn from(r: store::DeliveryRow) -> Self {
        DeliveryView {
            id: r.id,
            site_id: r.site_id,
            carrier_id: r.carrier_id,
            unit_id: r.unit_id,
            package: r.package,
            window_start: r.window_start,
            window_end: r.window_end,
            status: r.status,
            entered_at: r.entered_at,
        }
    }
}

/// A grant as the site's manager sees it: enough to revoke it or its driver, nothing that names
/// a person (drivers are pseudonymous ids to the building).
#[derive(Clone, Debug, Serialize)]
pub struct GrantView {
    /// Id (for a `grant` revocation).
    pub id: String,
    /// Delivery id.
    pub delivery_id: String,
    /// Driver id (for a `driver` revocation).
    pub driver_id: String,
    /// Carrier id.
    pub carrier_id: String,
    /// Issuer id.
    pub issuer_id: String,
    /// First serial.
    pub serial: i64,
    /// Entries per door.
    pub uses: i64,
    /// Doors.
    pub doors: Vec<u16>,
    /// Validity start.
    pub not_before: i64,
    /// Validity end.
    pub not_after: i64,
    /// Whether it was revoked.
    pub revoked: bool,
}

impl From<store::GrantRow> for GrantView {
    fn from(g: store::GrantRow) -> Self {
        GrantView {
            doors: parse_doors(&g.doors).unwrap_or_default(),
            id: g.id,
            delivery_id: g.delivery_id,
            driver_id: g.driver_id,
            carrier_id: g.carrier_id,
            issuer_id: g.issuer_id,
            serial: g.serial,
            uses: g.uses,
            not_before: g.not_before,
            not_after: g.not_after,
            revoked: g.revoked_at.is_some(),
        }
    }
}

/// A new token: the secret is shown once.
#[derive(Clone, Debug, Serialize)]
pub struct TokenCreated {
    /// Token id.
    pub id: String,
    /// Role.
    pub role: Role,
    /// The secret bearer token. Store it now: the server keeps only its hash.
    pub token: String,
}

/// A revocation and the deny-list entry the next door state should carry.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RevocationView {
    /// Id.
    pub id: String,
    /// `issuer`, `driver` or `grant`.
    pub kind: String,
    /// The revoked object.
    pub target_id: String,
    /// The deny-list subject, hex (8 bytes).
    pub subject: String,
    /// When the entry may be pruned.
    pub until: i64,
    /// For issuers: the certificate epoch (how the entry folds into a fence).
    pub epoch: Option<i64>,
}

/// What `porter root sign-state` needs: the pending deny-list and the fences in force.
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
    pub revocations: Vec<RevocationView>,
}

/// The newest signed door state of a site.
#[derive(Clone, Debug, Serialize)]
pub struct DoorStateView {
    /// Sequence.
    pub sequence: i64,
    /// Signing time.
    pub issued_at: i64,
    /// The signed state, hex: carry it to the door as is.
    pub state: String,
}

/// An entry through a door, as residents see it: carrier, door and time only.
#[derive(Clone, Debug, Serialize)]
pub struct EntryView {
    /// Door id.
    pub door_id: String,
    /// Log sequence.
    pub sequence: i64,
    /// Carrier name, if the entry matched a grant.
    pub carrier: Option<String>,
    /// Whether it matched an issued grant.
    pub matched: bool,
    /// Door time.
    pub at: i64,
}

/// An alarm.
#[derive(Clone, Debug, Serialize)]
pub struct AlarmView {
    /// Id.
    pub id: String,
    /// Door id.
    pub door_id: Option<String>,
    /// Kind: `audit_gap`, `audit_fork`, `unmatched_admission`, `receipt_conflict`.
    pub kind: String,
    /// What was seen.
    pub detail: String,
    /// When.
    pub created_at: i64,
}

/// A notification.
#[derive(Clone, Debug, Serialize)]
pub struct NotificationView {
    /// Id.
    pub id: String,
    /// `delivery.announced` or `delivery.entered`.
    pub kind: String,
    /// Details.
    pub body: serde_json::Value,
    /// When.
    pub created_at: i64,
}

/// A carrier's place in the building's policy, as residents see it.
#[derive(Clone, Debug, Serialize)]
pub struct PolicyEntry {
    /// Carrier name.
    pub carrier: String,
    /// Doors (empty: every door).
    pub doors: Vec<u16>,
    /// Most entries per grant.
    pub max_uses: i64,
    /// Longest grant, minutes.
    pub max_lifetime_minutes: i64,
    /// The issuer certificate's weekday mask (bit 0 = Monday), minutes from/to.
    pub hours: Option<(u8, u16, u16)>,
}

/// A webhook endpoint and its Standard Webhooks keys: the secret is shown once.
#[derive(Clone, Debug, Serialize)]
pub struct WebhookCreated {
    /// Id.
    pub id: String,
    /// URL.
    pub url: String,
    /// `whsec_...`: the HMAC-SHA256 secret for `v1` signatures.
    pub secret: String,
    /// `whpk_...`: the Ed25519 public key for `v1a` signatures (verify with this and hold no
    /// secret).
    pub public_key: String,
}

// ---------------------------------------------------------------------------------------------
// Requests.

/// Create a site.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewSite {
    /// Name.
    pub name: String,
    /// The site number chosen by `porter root init`.
    pub site_number: u32,
    /// The root public key, hex.
    pub root_key: String,
    /// UTC offset in minutes.
    #[serde(default)]
    pub utc_offset_minutes: i16,
}

/// Enrol a door.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewDoor {
    /// Name.
    pub name: String,
    /// The root-signed enrolment from `porter root enroll-device`, hex.
    pub enrolment: String,
}

/// Upload a certificate.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertificateUpload {
    /// The root-signed certificate from `porter root certify-issuer`, hex.
    pub certificate: String,
}

/// Create a carrier.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewCarrier {
    /// Name.
    pub name: String,
}

/// Approve a carrier at a site.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewApproval {
    /// Carrier id.
    pub carrier_id: String,
    /// The certified issuer that signs this carrier's grants here.
    pub issuer_id: String,
    /// Allowed doors; empty or absent means every door the certificate allows.
    #[serde(default)]
    pub doors: Vec<u16>,
    /// Most entries per grant.
    pub max_uses: u8,
    /// Longest grant, minutes.
    pub max_lifetime_minutes: u32,
}

/// Register a driver.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewDriver {
    /// The phone's Ed25519 public key, hex.
    pub holder_key: String,
    /// The carrier's label.
    pub label: String,
}

/// Create a unit.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUnit {
    /// Label ("4B").
    pub label: String,
}

/// Add a resident.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewResident {
    /// Name.
    pub display_name: String,
}

/// Announce a delivery.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewDelivery {
    /// Site id.
    pub site_id: String,
    /// Unit label at that site.
    pub unit: String,
    /// The tracking number: hashed with a fresh salt, then forgotten.
    pub tracking_number: String,
    /// Window start.
    pub window_start: i64,
    /// Window end.
    pub window_end: i64,
}

/// Create a token.
#[derive(Clone, Debug, Deserialize)]
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

/// Revoke something at a site.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewRevocation {
    /// `issuer`, `driver` or `grant`.
    pub kind: String,
    /// Its id.
    pub id: String,
}

/// Upload a signed door state.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DoorStateUpload {
    /// The root-signed state from `porter root sign-state`, hex.
    pub state: String,
}

/// Add a webhook.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    /// `https://host/path` or `http://host:port/path`; it must reach a public address unless
    /// the server's `webhook_allow_targets` lists its range.
    pub url: String,
}

/// Set the opt-out.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptOut {
    /// Whether in-building delivery is refused.
    pub opted_out: bool,
}

// ---------------------------------------------------------------------------------------------
// Helpers.

/// Parses a stored door list: empty string = every door.
pub(crate) fn parse_doors(s: &str) -> Option<Vec<u16>> {
    if s.is_empty() {
        return Some(Vec::new());
    }
    s.split(',').map(|d| d.parse().ok()).collect()
}

pub(crate) fn format_doors(doors: &[u16]) -> String {
    doors.iter().map(u16::to_string).collect::<Vec<_>>().join(",")
}

fn text(field: &str, s: &str, max: usize) -> Result<()> {
    if s.trim().is_empty() || s.len() > max || s.chars().any(char::is_control) {
        return Err(Error::invalid(
            "invalid_text",
            format!("{field} must be 1..={max} bytes of printable text"),
        ));
    }
    Ok(())
}

/// Validates a public key given by a client: 32 bytes, canonical, not of small order.
pub(crate) fn client_key(field: &str, s: &str) -> Result<PublicKey> {
    let key = PublicKey(hex_array::<32>(field, s)?);
    key.validate().map_err(|e| {
        Error::invalid(
            "weak_key",
            format!("{field} is not a usable Ed25519 public key ({e:?}): generate a fresh key"),
        )
    })?;
    Ok(key)
}

fn protocol(code: &'static str, what: &str, e: porter_protocol::Error) -> Error {
    Error::invalid(code, format!("{what} refused: {} ({})", e.message(), e.name()))
}

impl Service {
    pub(super) async fn site_for(&self, p: &Principal, site_id: &str) -> Result<store::SiteRow> {
        let visible = match p.role {
            Role::Operator => true,
            Role::Manager | Role::Resident | Role::Device => p.site_id.as_deref() == Some(site_id),
            Role::Carrier | Role::Driver => {
                let carrier = Principal::field(&p.carrier_id)?;
                self.store.approval(site_id, carrier).await?.is_some_and(|a| a.revoked_at.is_none())
            }
        };
        if !visible {
            return Err(Error::not_found("site"));
        }
        self.store.site(site_id).await?.ok_or_else(|| Error::not_found("site"))
    }

    pub(super) async fn managed_site(
        &self,
        p: &Principal,
        site_id: &str,
        what: &str,
    ) -> Result<store::SiteRow> {
        if !matches!(p.role, Role::Manager) {
            return Err(Error::forbidden(what));
        }
        if !p.manages(site_id) {
            return Err(Error::not_found("site"));
        }
        self.store.site(site_id).await?.ok_or_else(|| Error::not_found("site"))
    }

    // --- tokens ---

    /// Creates a token: the operator makes manager and carrier tokens, a manager makes resident
    /// and device tokens for its site, a carrier makes driver tokens for its drivers.
    pub async fn create_token(&self, p: &Principal, req: NewToken) -> Result<TokenCreated> {
        let role = Role::parse(&req.role).ok_or_else(|| {
            Error::invalid(
                "invalid_role",
                "role must be one of manager, carrier, driver, resident, device",
            )
        })?;
        let mut row = store::TokenRow { role: role.as_str().into(), ..Default::default() };
        let need = |v: &Option<String>, name: &str| -> Result<String> {
            v.clone().ok_or_else(|| {
                Error::invalid("missing_field", format!("a {} token needs {name}", role.as_str()))
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
            return Err(Error::invalid("invalid_text", "label must be at most 200 bytes"));
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

    // --- sites ---

    /// Creates a site (operator).
    pub async fn create_site(&self, p: &Principal, req: NewSite) -> Result<SiteView> {
        if !p.is(Role::Operator) {
            return Err(Error::forbidden("create sites"));
        }
        text("name", &req.name, 200)?;
        client_key("root_key", &req.root_key)?;
        if req.utc_offset_minutes.unsigned_abs() > 18 * 60 {
            return Err(Error::invalid(
                "invalid_offset",
                "utc_offset_minutes must be within ±1080",
            ));
        }
        let row = store::SiteRow {
            id: new_id("site"),
            site_number: i64::from(req.site_number),
            name: req.name,
            root_key: req.root_key.to_lowercase(),
            utc_offset_minutes: i64::from(req.utc_offset_minutes),
            created_at: now(),
        };
        self.store.insert_site(&row).await?;
        Ok(row.into())
    }

    /// Lists sites: all for the operator, its own for a manager.
    pub async fn list_sites(&self, p: &Principal, page: &Page) -> Result<Paged<SiteView>> {
        let only = match p.role {
            Role::Operator => None,
            Role::Manager => Some(Principal::field(&p.site_id)?),
            _ => return Err(Error::forbidden("list sites")),
        };
        let rows = self.store.sites(only, page).await?;
        Ok(Paged::of(rows.into_iter().map(SiteView::from).collect(), page, |s| s.id.clone()))
    }

    /// One site.
    pub async fn get_site(&self, p: &Principal, site_id: &str) -> Result<SiteView> {
        Ok(self.site_for(p, site_id).await?.into())
    }

    // --- doors ---

    /// Enrols a door from a root-signed enrolment (manager).
    pub async fn add_door(&self, p: &Principal, site_id: &str, req: NewDoor) -> Result<DoorView> {
        let site = self.managed_site(p, site_id, "enrol doors").await?;
        text("name", &req.name, 200)?;
        let bytes = hex_bytes("enrolment", &req.enrolment, MAX_ENROLMENT_LEN)?;
        let root = stored_key(&site.root_key)?;
        let enrolment = Enrolment::decode_verified(&bytes, &root)
            .map_err(|e| protocol("invalid_enrolment", "enrolment", e))?;
        if i64::from(enrolment.site.0) != site.site_number {
            return Err(Error::invalid("wrong_site", "the enrolment names another site"));
        }
        client_key("enrolment device key", &hex::encode(enrolment.device.0))?;
        let row = store::DoorRow {
            id: new_id("door"),
            site_id: site.id,
            door_number: i64::from(enrolment.door.0),
            name: req.name,
            device_key: hex::encode(enrolment.device.0),
            enrolment: hex::encode(&bytes),
            created_at: now(),
        };
        self.store.insert_door(&row).await?;
        Ok(row.into())
    }

    /// Lists a site's doors (manager).
    pub async fn list_doors(
        &self,
        p: &Principal,
        site_id: &str,
        page: &Page,
    ) -> Result<Paged<DoorView>> {
        self.managed_site(p, site_id, "list doors").await?;
        let rows = self.store.doors(site_id, page).await?;
        Ok(Paged::of(rows.into_iter().map(DoorView::from).collect(), page, |d| d.id.clone()))
    }

    // --- issuers ---

    /// Makes a new issuer key for a site (manager). The root certifies it offline.
    pub async fn create_issuer(&self, p: &Principal, site_id: &str) -> Result<IssuerView> {
        let site = self.managed_site(p, site_id, "create issuers").await?;
        let key =
            porter_protocol::SigningKey::from_seed(rand::random::<[u8; 32]>()).map_err(|_| {
                Error::new(super::Kind::Internal, "internal", "the random source failed; retry")
            })?;
        let public = key.public_key();
        let row = store::IssuerRow {
            id: new_id("iss"),
            site_id: site.id,
            public_key: hex::encode(public.0),
            key_id: hex::encode(public.id().0),
            secret_seed: self.store_seed(&hex::encode(public.0), &key.seed())?,
            certificate: None,
            epoch: None,
            not_before: None,
            not_after: None,
            next_serial: 1,
            revoked_at: None,
            created_at: now(),
        };
        self.store.insert_issuer(&row).await?;
        Ok(row.into())
    }

    /// Stores a root-signed certificate for an issuer (manager).
    pub async fn upload_certificate(
        &self,
        p: &Principal,
        site_id: &str,
        issuer_id: &str,
        req: CertificateUpload,
    ) -> Result<IssuerView> {
        let site = self.managed_site(p, site_id, "upload certificates").await?;
        let issuer = self.store.issuer(issuer_id).await?.filter(|i| i.site_id == site.id);
        let issuer = issuer.ok_or_else(|| Error::not_found("issuer"))?;
        let bytes = hex_bytes("certificate", &req.certificate, MAX_CERTIFICATE_LEN)?;
        let cert = Certificate::decode_verified(&bytes, &stored_key(&site.root_key)?)
            .map_err(|e| protocol("invalid_certificate", "certificate", e))?;
        if i64::from(cert.site.0) != site.site_number {
            return Err(Error::invalid("wrong_site", "the certificate names another site"));
        }
        if hex::encode(cert.issuer.0) != issuer.public_key {
            return Err(Error::invalid(
                "wrong_issuer",
                "the certificate certifies another key than this issuer's",
            ));
        }
        if issuer.revoked_at.is_some() {
            return Err(Error::conflict(
                "issuer_revoked",
                "this issuer was revoked; make a new one",
            ));
        }
        self.store
            .set_certificate(
                issuer_id,
                &hex::encode(&bytes),
                i64::from(cert.epoch),
                i64::from(cert.not_before.0),
                i64::from(cert.not_after.0),
            )
            .await?;
        let issuer =
            self.store.issuer(issuer_id).await?.ok_or_else(|| Error::not_found("issuer"))?;
        Ok(issuer.into())
    }

    /// Lists a site's issuers (manager).
    pub async fn list_issuers(
        &self,
        p: &Principal,
        site_id: &str,
        page: &Page,
    ) -> Result<Paged<IssuerView>> {
        self.managed_site(p, site_id, "list issuers").await?;
        let rows = self.store.issuers(site_id, page).await?;
        Ok(Paged::of(rows.into_iter().map(IssuerView::from).collect(), page, |i| i.id.clone()))
    }

    // --- carriers and approvals ---

    /// Creates a carrier (operator).
    pub async fn create_carrier(&self, p: &Principal, req: NewCarrier) -> Result<CarrierView> {
        if !p.is(Role::Operator) {
            return Err(Error::forbidden("create carriers"));
        }
        text("name", &req.name, 200)?;
        let row = store::CarrierRow { id: new_id("car"), name: req.name, created_at: now() };
        self.store.insert_carrier(&row).await?;
        Ok(CarrierView { id: row.id, name: row.name })
    }

    /// Lists carriers: all for the operator and managers (to approve them), its own for a
    /// carrier.
    pub async fn list_carriers(&self, p: &Principal, page: &Page) -> Result<Paged<CarrierView>> {
        let only = match p.role {
            Role::Operator | Role::Manager => None,
            Role::Carrier => Some(Principal::field(&p.carrier_id)?),
            _ => return Err(Error::forbidden("list carriers")),
        };
        let rows = self.store.carriers(only, page).await?;
        let items = rows.into_iter().map(|c| CarrierView { id: c.id, name: c.name }).collect();
        Ok(Paged::of(items, page, |c: &CarrierView| c.id.clone()))
    }

    /// Approves a carrier at a site with limits (manager).
    pub async fn approve(
        &self,
        p: &Principal,
        site_id: &str,
        req: NewApproval,
    ) -> Result<ApprovalView> {
        let site = self.managed_site(p, site_id, "approve carriers").await?;
        self.store.carrier(&req.carrier_id).await?.ok_or_else(|| Error::not_found("carrier"))?;
        let issuer = self.store.issuer(&req.issuer_id).await?.filter(|i| i.site_id == site.id);
        let issuer = issuer.ok_or_else(|| Error::not_found("issuer"))?;
        if issuer.certificate.is_none() || issuer.revoked_at.is_some() {
            return Err(Error::refused(
                "issuer_not_certified",
                "the issuer has no certificate (or was revoked): upload one first",
            ));
        }
        let mut doors = req.doors.clone();
        doors.sort_unstable();
        doors.dedup();
        if doors.len() > porter_protocol::MAX_CERT_DOORS {
            return Err(Error::invalid("too_many_doors", "at most 16 doors per approval"));
        }
        if req.max_uses == 0 || req.max_uses > porter_protocol::MAX_GRANT_USES {
            return Err(Error::invalid("invalid_uses", "max_uses must be 1..=32"));
        }
        if req.max_lifetime_minutes == 0 || req.max_lifetime_minutes > 24 * 60 {
            return Err(Error::invalid(
                "invalid_lifetime",
                "max_lifetime_minutes must be 1..=1440",
            ));
        }
        let row = store::ApprovalRow {
            id: new_id("apr"),
            site_id: site.id,
            carrier_id: req.carrier_id,
            issuer_id: req.issuer_id,
            doors: format_doors(&doors),
            max_uses: i64::from(req.max_uses),
            max_lifetime_minutes: i64::from(req.max_lifetime_minutes),
            revoked_at: None,
            created_at: now(),
        };
        self.store.insert_approval(&row).await?;
        Ok(row.into())
    }

    /// Lists a site's approvals (manager).
    pub async fn list_approvals(
        &self,
        p: &Principal,
        site_id: &str,
        page: &Page,
    ) -> Result<Paged<ApprovalView>> {
        self.managed_site(p, site_id, "list approvals").await?;
        let rows = self.store.approvals(site_id, page).await?;
        Ok(Paged::of(rows.into_iter().map(ApprovalView::from).collect(), page, |a| a.id.clone()))
    }

    /// Withdraws a carrier's approval (manager): no further grants.
    pub async fn withdraw_approval(
        &self,
        p: &Principal,
        site_id: &str,
        approval_id: &str,
    ) -> Result<()> {
        self.managed_site(p, site_id, "withdraw approvals").await?;
        let page = Page { after: String::new(), limit: 1000 };
        let approvals = self.store.approvals(site_id, &page).await?;
        if !approvals.iter().any(|a| a.id == approval_id) {
            return Err(Error::not_found("approval"));
        }
        self.store.revoke_approval(approval_id, now()).await?;
        Ok(())
    }

    // --- drivers ---

    /// Registers a driver's holder key (carrier). Small-order and non-canonical keys are refused.
    pub async fn register_driver(&self, p: &Principal, req: NewDriver) -> Result<DriverView> {
        if !p.is(Role::Carrier) {
            return Err(Error::forbidden("register drivers"));
        }
        let carrier = Principal::field(&p.carrier_id)?;
        client_key("holder_key", &req.holder_key)?;
        text("label", &req.label, 200)?;
        let row = store::DriverRow {
            id: new_id("drv"),
            carrier_id: carrier.into(),
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
        if !p.is(Role::Carrier) {
            return Err(Error::forbidden("list drivers"));
        }
        let rows = self.store.drivers(Principal::field(&p.carrier_id)?, page).await?;
        Ok(Paged::of(rows.into_iter().map(DriverView::from).collect(), page, |d| d.id.clone()))
    }

    /// Retires a driver everywhere (carrier): no further grants; existing ones expire within
    /// minutes. Sites that must stop them sooner revoke the driver in their door state.
    pub async fn retire_driver(&self, p: &Principal, id: &str) -> Result<DriverView> {
        if !p.is(Role::Carrier) {
            return Err(Error::forbidden("retire drivers"));
        }
        let d =
            self.store.driver(id).await?.filter(|d| p.carrier_id.as_deref() == Some(&d.carrier_id));
        let d = d.ok_or_else(|| Error::not_found("driver"))?;
        self.store.retire_driver(&d.id, now()).await?;
        let d = self.store.driver(id).await?.ok_or_else(|| Error::not_found("driver"))?;
        Ok(d.into())
    }

    // --- units and residents ---

    /// Creates a unit (manager).
    pub async fn create_unit(
        &self,
        p: &Principal,
        site_id: &str,
        req: NewUnit,
    ) -> Result<UnitView> {
        let site = self.managed_site(p, site_id, "create units").await?;
        text("label", &req.label, 64)?;
        let row = store::UnitRow {
            id: new_id("unit"),
            site_id: site.id,
            label: req.label,
            created_at: now(),
        };
        self.store.insert_unit(&row).await?;
        Ok(UnitView { id: row.id, site_id: row.site_id, label: row.label })
    }

    /// Lists a site's units (manager).
    pub async fn list_units(
        &self,
        p: &Principal,
        site_id: &str,
        page: &Page,
    ) -> Result<Paged<UnitView>> {
        self.managed_site(p, site_id, "list units").await?;
        let rows = self.store.units(site_id, page).await?;
        let items =
            rows.into_iter().map(|u| UnitView { id: u.id, site_id: u.site_id, label: u.label });
        Ok(Paged::of(items.collect(), page, |u: &UnitView| u.id.clone()))
    }

    /// Adds a resident to a unit (manager).
    pub async fn add_resident(
        &self,
        p: &Principal,
        site_id: &str,
        unit_id: &str,
        req: NewResident,
    ) -> Result<ResidentView> {
        let site = self.managed_site(p, site_id, "add residents").await?;
        let unit = self.store.unit(unit_id).await?.filter(|u| u.site_id == site.id);
        let unit = unit.ok_or_else(|| Error::not_found("unit"))?;
        text("display_name", &req.display_name, 200)?;
        let row = store::ResidentRow {
            id: new_id("res"),
            unit_id: unit.id,
            display_name: req.display_name,
            opted_out: false,
            created_at: now(),
        };
        self.store.insert_resident(&row).await?;
        Ok(row.into())
    }

    /// The calling resident.
    pub async fn me(&self, p: &Principal) -> Result<ResidentView> {
        if !p.is(Role::Resident) {
            return Err(Error::forbidden("read a resident profile"));
        }
        let r = self.store.resident(Principal::field(&p.resident_id)?).await?;
        Ok(r.ok_or_else(|| Error::not_found("resident"))?.into())
    }

    /// Sets the calling resident's opt-out from in-building delivery.
    pub async fn set_opt_out(&self, p: &Principal, req: OptOut) -> Result<ResidentView> {
        if !p.is(Role::Resident) {
            return Err(Error::forbidden("set an opt-out"));
        }
        self.store.set_opt_out(Principal::field(&p.resident_id)?, req.opted_out).await?;
        self.me(p).await
    }

    /// The calling resident's notifications.
    pub async fn my_notifications(
        &self,
        p: &Principal,
        page: &Page,
    ) -> Result<Paged<NotificationView>> {
        if !p.is(Role::Resident) {
            return Err(Error::forbidden("read notifications"));
        }
        let rows = self.store.notifications(Principal::field(&p.resident_id)?, page).await?;
        let items = rows
            .into_iter()
            .map(|n| NotificationView {
                id: n.id,
                kind: n.kind,
                body: serde_json::from_str(&n.body).unwrap_or(serde_json::Value::Null),
                created_at: n.created_at,
            })
            .collect();
        Ok(Paged::of(items, page, |n: &NotificationView| n.id.clone()))
    }

    // --- deliveries ---

    /// Announces a delivery (carrier approved at the site). The tracking number is hashed with
    /// a fresh salt into the package commitment and never stored. Residents are told in the
    /// same transaction.
    pub async fn announce(&self, p: &Principal, req: NewDelivery) -> Result<DeliveryView> {
        if !p.is(Role::Carrier) {
            return Err(Error::forbidden("announce deliveries"));
        }
        let carrier = Principal::field(&p.carrier_id)?.to_string();
        let site = self.site_for(p, &req.site_id).await?;
        let unit = self.store.unit_by_label(&site.id, &req.unit).await?;
        let unit = unit.ok_or_else(|| Error::not_found("unit"))?;
        if req.tracking_number.is_empty() || req.tracking_number.len() > 64 {
            return Err(Error::invalid("invalid_tracking", "tracking_number must be 1..=64 bytes"));
        }
        if req.window_end <= req.window_start
            || req.window_end.saturating_sub(req.window_start) > 7 * 86_400
        {
            return Err(Error::invalid(
                "invalid_window",
                "window_end must be after window_start, and the window at most 7 days",
            ));
        }
        if req.window_end <= now() {
            return Err(Error::invalid("invalid_window", "the delivery window is already over"));
        }
        let salt: [u8; 16] = rand::random();
        let package = PackageCommitment::new(&salt, req.tracking_number.as_bytes());
        let row = store::DeliveryRow {
            id: new_id("dlv"),
            site_id: site.id.clone(),
            carrier_id: carrier,
            unit_id: unit.id.clone(),
            tracking_salt: hex::encode(salt),
            package: hex::encode(package.0),
            window_start: req.window_start,
            window_end: req.window_end,
            status: "open".into(),
            entered_at: None,
            created_at: now(),
        };
        let carrier_name = self.store.carrier(&row.carrier_id).await?.map(|c| c.name);
        let mut tx = self.store.begin().await?;
        Store::insert_delivery(&mut tx, &row).await?;
        let body = serde_json::json!({
            "delivery_id": row.id,
            "unit_id": row.unit_id,
            "carrier": carrier_name,
            "window_start": row.window_start,
            "window_end": row.window_end,
        });
        self.notify(&mut tx, &site.id, &unit.id, "delivery.announced", body).await?;
        tx.commit().await?;
        Ok(row.into())
    }

    async fn delivery_for(&self, p: &Principal, id: &str) -> Result<store::DeliveryRow> {
        let d = self.store.delivery(id).await?.ok_or_else(|| Error::not_found("delivery"))?;
        let visible = match p.role {
            Role::Carrier | Role::Driver => p.carrier_id.as_deref() == Some(&d.carrier_id),
            Role::Resident => p.unit_id.as_deref() == Some(&d.unit_id),
            Role::Manager => p.site_id.as_deref() == Some(&d.site_id),
            _ => false,
        };
        if !visible {
            return Err(Error::not_found("delivery"));
        }
        Ok(d)
    }

    /// One delivery (its carrier, driver, resident or site manager).
    pub async fn get_delivery(&self, p: &Principal, id: &str) -> Result<DeliveryView> {
        Ok(self.delivery_for(p, id).await?.into())
    }

    /// Lists deliveries: a carrier's own, or a resident's unit's.
    pub async fn list_deliveries(&self, p: &Principal, page: &Page) -> Result<Paged<DeliveryView>> {
        let rows = match p.role {
            Role::Carrier | Role::Driver => {
                self.store.deliveries(Some(Principal::field(&p.carrier_id)?), None, page).await?
            }
            Role::Resident => {
                self.store.deliveries(None, Some(Principal::field(&p.unit_id)?), page).await?
            }
            _ => return Err(Error::forbidden("list deliveries")),
        };
        Ok(Paged::of(rows.into_iter().map(DeliveryView::from).collect(), page, |d| d.id.clone()))
    }

    /// Cancels a delivery (its carrier): no further grants.
    pub async fn cancel_delivery(&self, p: &Principal, id: &str) -> Result<DeliveryView> {
        if !p.is(Role::Carrier) {
            return Err(Error::forbidden("cancel deliveries"));
        }
        let d = self.delivery_for(p, id).await?;
        self.store.set_delivery_status(&d.id, "cancelled").await?;
        self.get_delivery(p, id).await
    }

    // --- revocations and door state ---

    /// Revokes an issuer, a driver (at this site) or a grant (manager). The server stops
    /// issuing at once; doors learn it from the next signed door state.
    pub async fn revoke(
        &self,
        p: &Principal,
        site_id: &str,
        req: NewRevocation,
    ) -> Result<RevocationView> {
        let site = self.managed_site(p, site_id, "revoke").await?;
        let now = now();
        let (subject, until, epoch) = match req.kind.as_str() {
            "issuer" => {
                let i = self.store.issuer(&req.id).await?.filter(|i| i.site_id == site.id);
                let i = i.ok_or_else(|| Error::not_found("issuer"))?;
                let key = stored_key(&i.public_key)?;
                (DenySubject::issuer(&key), i.not_after.unwrap_or(now + 86_400 * 366), i.epoch)
            }
            "driver" => {
                let d = self.store.driver(&req.id).await?;
                // A driver is visible to a manager only through grants at the site.
                let d = d.ok_or_else(|| Error::not_found("driver"))?;
                let key = stored_key(&d.holder_key)?;
                // Grants live at most a day; past that the entry denies nothing.
                (DenySubject::holder(&key), now + 86_400, None)
            }
            "grant" => {
                let g = self.store.grant(&req.id).await?.filter(|g| g.site_id == site.id);
                let g = g.ok_or_else(|| Error::not_found("grant"))?;
                let issuer = self.store.issuer(&g.issuer_id).await?;
                let issuer = issuer.ok_or_else(|| Error::not_found("issuer"))?;
                let key = stored_key(&issuer.public_key)?;
                (DenySubject::grant(key.id(), g.serial as u64), g.not_after, None)
            }
            _ => {
                return Err(Error::invalid("invalid_kind", "kind must be issuer, driver or grant"))
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

    /// The pending deny-list for `porter root sign-state` (manager).
    pub async fn list_revocations(&self, p: &Principal, site_id: &str) -> Result<RevocationList> {
        let site = self.managed_site(p, site_id, "list revocations").await?;
        let latest = self.store.latest_door_state(&site.id).await?;
        let revocations = self.store.revocations(&site.id).await?;
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
        site_id: &str,
        req: DoorStateUpload,
    ) -> Result<DoorStateView> {
        let site = self.managed_site(p, site_id, "upload door state").await?;
        let bytes = hex_bytes("state", &req.state, MAX_DOOR_STATE_LEN)?;
        let number = porter_protocol::SiteId(site.site_number as u32);
        let latest = self.store.latest_door_state(&site.id).await?;
        let mut base = DoorState::genesis(number);
        base.sequence = latest.as_ref().map_or(0, |s| s.sequence as u64);
        let unverified =
            DoorState::decode(&bytes).map_err(|e| protocol("invalid_state", "door state", e))?;
        let state = base.accept_newer(unverified, &stored_key(&site.root_key)?).map_err(|e| {
            if e == porter_protocol::Error::StateNotNewer {
                Error::conflict(
                    "state_not_newer",
                    format!(
                        "sequence must be greater than {}: sign the next state with a higher --sequence",
                        base.sequence
                    ),
                )
            } else {
                protocol("invalid_state", "door state", e)
            }
        })?;
        let row = store::DoorStateRow {
            site_id: site.id,
            sequence: state.sequence as i64,
            state: hex::encode(&bytes),
            issued_at: i64::from(state.issued_at.0),
            grant_fence: i64::from(state.grant_fence.0),
            cert_epoch_fence: i64::from(state.cert_epoch_fence),
        };
        self.store.insert_door_state(&row, now()).await.map_err(|e| {
            if store::is_unique_violation(&e) {
                Error::conflict("state_not_newer", "another upload took this sequence first")
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
        site_id: &str,
    ) -> Result<Option<DoorStateView>> {
        if p.is(Role::Resident) {
            return Err(Error::forbidden("read door state"));
        }
        let site = self.site_for(p, site_id).await?;
        let latest = self.store.latest_door_state(&site.id).await?;
        Ok(latest.map(|s| DoorStateView {
            sequence: s.sequence,
            issued_at: s.issued_at,
            state: s.state,
        }))
    }

    /// Adds a webhook endpoint for the site's notifications (manager).
    pub async fn add_webhook(
        &self,
        p: &Principal,
        site_id: &str,
        req: NewWebhook,
    ) -> Result<WebhookCreated> {
        let site = self.managed_site(p, site_id, "add webhooks").await?;
        if let Err(e) = crate::client::webhook_url(&req.url) {
            return Err(Error::invalid(
                "invalid_url",
                format!("url must be https://host/path or http://host:port/path: {e}"),
            ));
        }
        // The stored seed derives both signing keys (see `standard_webhooks`).
        let seed: [u8; 32] = rand::random();
        let keys = crate::standard_webhooks::EndpointKeys::from_seed(&seed);
        let row = store::WebhookRow {
            id: new_id("hook"),
            site_id: site.id,
            url: req.url,
            secret: hex::encode(seed),
        };
        self.store.insert_webhook(&row, now()).await?;
        Ok(WebhookCreated {
            id: row.id,
            url: row.url,
            secret: keys.secret(),
            public_key: keys.public_key(),
        })
    }

    /// A site's grants (manager), to revoke a grant or its driver.
    pub async fn list_grants(
        &self,
        p: &Principal,
        site_id: &str,
        page: &Page,
    ) -> Result<Paged<GrantView>> {
        self.managed_site(p, site_id, "list grants").await?;
        let rows = self.store.grants_of_site(site_id, page).await?;
        Ok(Paged::of(rows.into_iter().map(GrantView::from).collect(), page, |g| g.id.clone()))
    }

    /// A site's alarms (manager).
    pub async fn list_alarms(
        &self,
        p: &Principal,
        site_id: &str,
        page: &Page,
    ) -> Result<Paged<AlarmView>> {
        self.managed_site(p, site_id, "list alarms").await?;
        let rows = self.store.alarms(site_id, page).await?;
        let items = rows
            .into_iter()
            .map(|a| AlarmView {
                id: a.id,
                door_id: a.door_id,
                kind: a.kind,
                detail: a.detail,
                created_at: a.created_at,
            })
            .collect();
        Ok(Paged::of(items, page, |a: &AlarmView| a.id.clone()))
    }

    /// Every entry into the building: carrier, door and time (manager and residents).
    pub async fn list_entries(
        &self,
        p: &Principal,
        site_id: &str,
        page: &Page,
    ) -> Result<Paged<EntryView>> {
        if !matches!(p.role, Role::Manager | Role::Resident | Role::Operator) {
            return Err(Error::forbidden("read the access log"));
        }
        let site = self.site_for(p, site_id).await?;
        let rows = self.store.admissions(&site.id, page).await?;
        let mut items = Vec::with_capacity(rows.len());
        for a in rows {
            let carrier = match &a.carrier_id {
                Some(c) => self.store.carrier(c).await?.map(|c| c.name),
                None => None,
            };
            items.push(EntryView {
                door_id: a.door_id,
                sequence: a.sequence,
                matched: a.grant_id.is_some(),
                carrier,
                at: a.at,
            });
        }
        Ok(Paged::of(items, page, |e: &EntryView| format!("{}:{}", e.door_id, e.sequence)))
    }

    /// The site's delivery-access policy as residents see it: who may enter, where, how long.
    pub async fn policy(&self, p: &Principal, site_id: &str) -> Result<Vec<PolicyEntry>> {
        if !matches!(p.role, Role::Manager | Role::Resident | Role::Operator) {
            return Err(Error::forbidden("read the site policy"));
        }
        let site = self.site_for(p, site_id).await?;
        let page = Page { after: String::new(), limit: 1000 };
        let mut out = Vec::new();
        for a in self.store.approvals(&site.id, &page).await? {
            if a.revoked_at.is_some() {
                continue;
            }
            let carrier =
                self.store.carrier(&a.carrier_id).await?.map(|c| c.name).unwrap_or_default();
            let hours = match self.store.issuer(&a.issuer_id).await? {
                Some(store::IssuerRow { certificate: Some(c), .. }) => hex::decode(c)
                    .ok()
                    .and_then(|b| Certificate::decode(&b).ok().map(|c| c.claims().limits.hours))
                    .map(|h| (h.weekdays, h.from_minute, h.to_minute)),
                _ => None,
            };
            out.push(PolicyEntry {
                carrier,
                doors: parse_doors(&a.doors).unwrap_or_default(),
                max_uses: a.max_uses,
                max_lifetime_minutes: a.max_lifetime_minutes,
                hours,
            });
        }
        Ok(out)
    }
}
