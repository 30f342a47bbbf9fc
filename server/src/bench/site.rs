//! A realistic site, set up through the real API the way its people would: the operator makes
//! the site and a carrier, the manager enrols doors and certifies an issuer (the bench plays
//! the offline root with a throwaway key it never stores), approves the carrier and adds units
//! with residents, the carrier registers drivers with proof of possession of their phones'
//! keys and announces deliveries.

use std::sync::Arc;

use futures_util::stream::{self, StreamExt, TryStreamExt};
use porter_protocol::{
    Certificate, DoorId, DoorScope, Enrolment, Hours, IssuerLimits, LogKey, PublicKey, Role,
    RoleSet, SigningKey, SiteId, Time, TimeZone, MAX_CERTIFICATE_LEN, MAX_ENROLMENT_LEN, VERSION,
};
use serde_json::{json, Value};

use super::api::{field, Api};
use crate::service::{now, registration_message};

/// A door the audit workload uploads for.
pub struct Door {
    /// Its number at the site.
    pub number: u16,
    /// The controller's device key (it signs the log head).
    pub device: SigningKey,
    /// The device token the door's uplink uploads with.
    pub token: String,
}

/// A driver the grant workload asks for.
pub struct Driver {
    /// The driver's API token.
    pub token: String,
}

/// Everything the workloads need.
pub struct Site {
    /// Site id.
    pub id: String,
    /// Site number (what signed objects name).
    pub number: u32,
    /// The site's log key, if the server made one (doors mask holders with it).
    pub log_key: Option<LogKey>,
    /// Enrolled doors, numbered from 1.
    pub doors: Vec<Door>,
    /// Registered drivers, each with a token.
    pub drivers: Vec<Driver>,
    /// Open deliveries, inside their window for the next hours.
    pub deliveries: Vec<String>,
}

/// How big a site to make.
pub struct Shape {
    /// Doors (one per audit client).
    pub doors: usize,
    /// Drivers (one per grant client).
    pub drivers: usize,
    /// Deliveries to announce (each yields up to 4 grants).
    pub deliveries: usize,
    /// Units, each with one resident (deliveries go round them).
    pub units: usize,
    /// Concurrent requests while setting up.
    pub concurrency: usize,
}

fn hex_key(k: &SigningKey) -> String {
    hex::encode(k.public_key().0)
}

fn new_key() -> SigningKey {
    // A seed from the OS's random source; from_seed refuses only an all-zero seed.
    SigningKey::from_seed(rand::random()).expect("a random seed makes a key")
}

/// Sets up a site of `shape` on the server behind `api` as `operator`.
pub async fn set_up(api: &Api, operator: &str, shape: &Shape) -> Result<Site, String> {
    let root = new_key();
    let number = rand::random::<u32>() | 1;
    let site = api
        .expect(
            "POST",
            "/v1/sites",
            operator,
            Some(json!({
                "name": format!("Bench site {number}"), "site_number": number,
                "root_key": hex_key(&root), "zone": "UTC0"
            })),
        )
        .await?;
    let site_id = field(&site, "id")?;
    let log_key = site["log_key"]
        .as_str()
        .and_then(|k| hex::decode(k).ok())
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .map(LogKey);
    let manager = token(api, operator, json!({"role": "manager", "site_id": site_id})).await?;

    let doors = stream::iter(1..=shape.doors.max(1) as u16)
        .map(|n| enrol_door(api, &manager, &site_id, &root, number, log_key, n))
        .buffered(shape.concurrency)
        .try_collect::<Vec<_>>()
        .await?;

    let issuer =
        api.expect("POST", &format!("/v1/sites/{site_id}/issuers"), &manager, None).await?;
    let issuer_id = field(&issuer, "id")?;
    let issuer_key = parse_key(&field(&issuer, "public_key")?)?;
    let cert = certify(&root, number, issuer_key)?;
    let path = format!("/v1/sites/{site_id}/issuers/{issuer_id}/certificate");
    api.expect("PUT", &path, &manager, Some(json!({"certificate": hex::encode(cert)}))).await?;

    let carrier =
        api.expect("POST", "/v1/carriers", operator, Some(json!({"name": "Bench Parcel"}))).await?;
    let carrier_id = field(&carrier, "id")?;
    let carrier =
        token(api, operator, json!({"role": "carrier", "carrier_id": carrier_id})).await?;
    let approval = json!({
        "carrier_id": carrier_id, "issuer_id": issuer_id, "doors": [1],
        "max_uses": 4, "max_lifetime_minutes": 15
    });
    api.expect("POST", &format!("/v1/sites/{site_id}/approvals"), &manager, Some(approval)).await?;

    let carrier_ref = (carrier.as_str(), carrier_id.as_str());
    let drivers = stream::iter(0..shape.drivers.max(1))
        .map(|n| register_driver(api, carrier_ref, n))
        .buffered(shape.concurrency)
        .try_collect::<Vec<_>>()
        .await?;

    let units = stream::iter(0..shape.units.max(1))
        .map(|n| add_unit(api, &manager, &site_id, n))
        .buffered(shape.concurrency)
        .try_collect::<Vec<_>>()
        .await?;
    let units = Arc::new(units);
    let deliveries = stream::iter(0..shape.deliveries)
        .map(|n| {
            let unit = units[n % units.len()].clone();
            announce(api, &carrier, &site_id, unit, n)
        })
        .buffer_unordered(shape.concurrency)
        .try_collect::<Vec<_>>()
        .await?;
    Ok(Site { id: site_id, number, log_key, doors, drivers, deliveries })
}

async fn token(api: &Api, by: &str, body: Value) -> Result<String, String> {
    field(&api.expect("POST", "/v1/tokens", by, Some(body)).await?, "token")
}

fn parse_key(hex_text: &str) -> Result<PublicKey, String> {
    let bytes = hex::decode(hex_text).ok().and_then(|b| <[u8; 32]>::try_from(b).ok());
    bytes.map(PublicKey).ok_or_else(|| format!("setup: {hex_text:?} is not a public key"))
}

/// The issuer certificate the site's root signs (what `porter-root certify-issuer` makes):
/// every door, deliveries, all hours, a month long.
fn certify(root: &SigningKey, site: u32, issuer: PublicKey) -> Result<Vec<u8>, String> {
    let now = now() as u32;
    let cert = Certificate {
        version: VERSION,
        site: SiteId(site),
        issuer,
        epoch: 1,
        not_before: Time(now - 3600),
        not_after: Time(now + 30 * 86_400),
        limits: IssuerLimits {
            doors: DoorScope::All,
            roles: RoleSet::only(Role::Delivery),
            hours: Hours { weekdays: 0x7f, from_minute: 0, to_minute: 1440 },
            zone: TimeZone::UTC,
            max_grant_lifetime: 900,
            max_uses: 4,
        },
    };
    let mut buf = [0u8; MAX_CERTIFICATE_LEN];
    let bytes = cert.seal(root, &mut buf).map_err(|e| format!("certify: {}", e.message()))?;
    Ok(bytes.to_vec())
}

async fn enrol_door(
    api: &Api,
    manager: &str,
    site_id: &str,
    root: &SigningKey,
    site: u32,
    log_key: Option<LogKey>,
    number: u16,
) -> Result<Door, String> {
    let device = new_key();
    let enrolment = Enrolment {
        version: VERSION,
        site: SiteId(site),
        door: DoorId(number),
        device: device.public_key(),
        issued_at: Time(now() as u32),
        log_key,
    };
    let mut buf = [0u8; MAX_ENROLMENT_LEN];
    let bytes = enrolment.seal(root, &mut buf).map_err(|e| format!("enrol: {}", e.message()))?;
    let body = json!({"name": format!("door {number}"), "enrolment": hex::encode(bytes)});
    let door =
        api.expect("POST", &format!("/v1/sites/{site_id}/doors"), manager, Some(body)).await?;
    let door_id = field(&door, "id")?;
    let token = token(api, manager, json!({"role": "device", "door_id": door_id})).await?;
    Ok(Door { number, device, token })
}

/// Registers a driver the way a phone does: a fresh challenge signed with its holder key.
async fn register_driver(api: &Api, carrier: (&str, &str), n: usize) -> Result<Driver, String> {
    let (carrier, carrier_id) = carrier;
    let holder = new_key();
    let challenge = api.expect("POST", "/v1/drivers/challenges", carrier, None).await?;
    let challenge_hex = field(&challenge, "challenge")?;
    let challenge: [u8; 32] = hex::decode(&challenge_hex)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or("setup: the driver challenge is not 32 bytes of hex")?;
    let pair = ed25519_compact::KeyPair::from_seed(ed25519_compact::Seed::new(holder.seed()));
    let signature = pair.sk.sign(registration_message(&challenge, carrier_id), None);
    let body = json!({
        "holder_key": hex_key(&holder), "label": format!("van {n}"),
        "challenge": challenge_hex, "signature": hex::encode(*signature)
    });
    let driver = api.expect("POST", "/v1/drivers", carrier, Some(body)).await?;
    let driver_id = field(&driver, "id")?;
    let token = token(api, carrier, json!({"role": "driver", "driver_id": driver_id})).await?;
    Ok(Driver { token })
}

async fn add_unit(api: &Api, manager: &str, site_id: &str, n: usize) -> Result<String, String> {
    let label = format!("{}{}", n / 4 + 1, ['A', 'B', 'C', 'D'][n % 4]);
    let unit = api
        .expect(
            "POST",
            &format!("/v1/sites/{site_id}/units"),
            manager,
            Some(json!({"label": label})),
        )
        .await?;
    let unit_id = field(&unit, "id")?;
    let path = format!("/v1/sites/{site_id}/units/{unit_id}/residents");
    api.expect("POST", &path, manager, Some(json!({"display_name": format!("Resident {n}")})))
        .await?;
    Ok(label)
}

async fn announce(
    api: &Api,
    carrier: &str,
    site_id: &str,
    unit: String,
    n: usize,
) -> Result<String, String> {
    let now = now();
    let body = json!({
        "site_id": site_id, "unit": unit, "tracking_number": format!("1ZBENCH{n:010}"),
        "window_start": now - 60, "window_end": now + 6 * 3600
    });
    field(&api.expect("POST", "/v1/deliveries", carrier, Some(body)).await?, "id")
}
