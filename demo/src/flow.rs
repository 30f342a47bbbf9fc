//! The six steps of the demo. Each checks what it shows: a step that does not see what the
//! product promises returns a [`Failure`] naming the step, and the demo stops there.

use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use porter_protocol::{AuditEvent, AuditRecord, Coarse, DoorId, Error, PublicKey, SiteId};
use serde_json::{json, Value};

use crate::door::{Errand, Link, Verdict};
use crate::http::Api;
use crate::phone::{self, HolderKey};
use crate::portal::{self, Invitees, PortalLinks};
use crate::procs::{field, DoorSim, Programs, Server};
use crate::stay::Interrupts;
use crate::{Failure, Narrator, Options};

/// What the demo saw, for the tests to check beyond the demo's own assertions.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The site number the root key was made for.
    pub site_number: u32,
    /// The first grant's serial, as issued and as the door's receipt names it.
    pub grant_serial: u64,
    /// The receipt's log sequence.
    pub receipt_sequence: u64,
    /// Whether the server matched the receipt to the issued grant.
    pub receipt_matched: bool,
    /// What the door told the phone on the second attempt with the spent grant.
    pub replay_coarse: Coarse,
    /// The precise reason in the door's log for that refusal.
    pub replay_reason: Error,
    /// The spent grant tried after the door rebooted on its flash image: verdict and reason.
    pub spent_after_reboot: Option<(Coarse, Error)>,
    /// Records the server accepted from the first log upload, and the door's log length then.
    pub log_uploaded: (u64, u64),
    /// The notifications the resident received, in order.
    pub resident_notifications: Vec<String>,
    /// The carriers on the entries the resident sees.
    pub entry_carriers: Vec<String>,
    /// The server's answer to a fresh grant for the revoked driver: status and code.
    pub revoked_grant_refusal: (u16, String),
    /// The door state sequence the door holds after a phone carried the revocation.
    pub door_state_sequence: u64,
    /// What the door told the revoked driver's phone, and the reason in its log.
    pub revoked_at_door: (Coarse, Error),
    /// The alarms the manager sees at the end (none in an honest run).
    pub alarms: Vec<String>,
    /// The portal's address and the invitation links printed at the end (step 7).
    pub portal: Option<PortalLinks>,
    /// How long the whole story took.
    pub elapsed: Duration,
}

const TRACKING: &str = "1Z999AA10123456784";
const SECOND_TRACKING: &str = "1Z999AA10123456792";
const DOOR: u16 = 1;
/// The property manager the operator invites to the portal.
const MANAGER_NAME: &str = "C. Durand";
/// Flat 4B's resident.
const RESIDENT_NAME: &str = "A. Martin";

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

fn short(hex: &str) -> String {
    format!("{}…", hex.get(..16).unwrap_or(hex))
}

/// Registers a phone's holder key as a driver of the carrier whose token is `carrier`. The phone
/// proves it holds the key by signing a one-time challenge with porter-ffi's
/// `porter_holder_key_sign_registration`, as a driver app does.
fn register_driver(
    api: &Api,
    carrier: &str,
    phone: &HolderKey,
    label: &str,
) -> Result<Value, Failure> {
    let carriers = api.ok("GET", "/v1/carriers", carrier, None)?;
    let carrier_id = text(&carriers["items"][0], "id", "the carrier list")?.to_string();
    let c = api.ok("POST", "/v1/drivers/challenges", carrier, None)?;
    let challenge = hex::decode(text(&c, "challenge", "the registration challenge")?)
        .map_err(|_| Failure::new(format!("the registration challenge is not hex: {c}")))?;
    let signature = phone.sign_registration(&challenge, &carrier_id)?;
    api.ok(
        "POST",
        "/v1/drivers",
        carrier,
        Some(&json!({
            "holder_key": hex::encode(phone.public()?), "label": label,
            "challenge": hex::encode(&challenge), "signature": hex::encode(signature)
        })),
    )
}

fn text<'a>(v: &'a Value, key: &str, what: &str) -> Result<&'a str, Failure> {
    v[key].as_str().ok_or_else(|| Failure::new(format!("{what}: no `{key}` in {v}")))
}

fn unhex(s: &str, what: &str) -> Result<Vec<u8>, Failure> {
    hex::decode(s.trim()).map_err(|_| Failure::new(format!("{what} is not hex: {s:?}")))
}

fn ensure(ok: bool, message: impl FnOnce() -> String) -> Result<(), Failure> {
    if ok {
        Ok(())
    } else {
        Err(Failure::new(message()))
    }
}

fn key32(bytes: &[u8], what: &str) -> Result<[u8; 32], Failure> {
    bytes.try_into().map_err(|_| Failure::new(format!("{what} is not 32 bytes")))
}

fn when(t: i64) -> String {
    let s = t.rem_euclid(86_400);
    format!("{:02}:{:02}:{:02} UTC", s / 3600, s / 60 % 60, s % 60)
}

fn reason_of(record: &AuditRecord) -> Result<Error, Failure> {
    match record.event {
        AuditEvent::Rejected { reason } => Error::from_code(reason)
            .ok_or_else(|| Failure::new(format!("the door logged unknown reason {reason}"))),
        other => Err(Failure::new(format!(
            "log record {} should be a rejection, it is {other:?}",
            record.sequence
        ))),
    }
}

fn mkdir(dir: &Path) -> Result<(), Failure> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Failure::new(format!("cannot create {}: {e}", dir.display())))
}

/// Everyone's credentials and the ids the steps pass along.
struct Site {
    api: Api,
    root_file: String,
    /// The manager's saved site record (GET /v1/sites/{id}): zone and log key for the root tool.
    site_record: String,
    root_key: PublicKey,
    site_number: u32,
    site_id: String,
    operator: String,
    manager: String,
    issuer_id: String,
    device_key: [u8; 32],
}

/// Plays the whole story. Returns what it saw, or the first thing that went wrong.
pub fn run(opts: &Options, n: &mut Narrator) -> Result<Outcome, Failure> {
    let started = Instant::now();
    opts.programs.check()?;
    let dirs = ["manager", "server", "door"].map(|d| opts.work_dir.join(d));
    for d in &dirs {
        mkdir(d)?;
    }
    let [manager_dir, server_dir, door_dir] = dirs;

    // With --stay, Ctrl-C is caught from the start: it must never kill the demo before it
    // has stopped its children (one during the story takes effect when the story ends).
    let mut interrupts = if opts.stay { Some(Interrupts::catch()?) } else { None };
    let (mut server, mut door) = (None, None);
    let mut result = story(opts, n, &mut server, &mut door, &manager_dir, &server_dir, &door_dir);
    if let (Ok(outcome), Some(interrupts)) = (&mut result, &mut interrupts) {
        outcome.elapsed = started.elapsed();
        n.line("");
        n.line("The server and the door keep running (--stay). Press Ctrl-C to stop them.");
        let signal = interrupts.wait();
        n.line(&format!("\n{signal}: stopping the door and the server."));
    }
    // Power everything down whatever happened; a clean stop is part of a good run.
    let door_stopped = door.map_or(Ok(()), DoorSim::stop);
    let server_stopped = server.map_or(Ok(()), Server::stop);
    let mut outcome = result?;
    door_stopped?;
    server_stopped?;
    if !opts.stay {
        outcome.elapsed = started.elapsed();
    }
    Ok(outcome)
}

#[allow(clippy::too_many_arguments, reason = "one call site; the processes outlive the story")]
fn story(
    opts: &Options,
    n: &mut Narrator,
    server_slot: &mut Option<Server>,
    door_slot: &mut Option<DoorSim>,
    manager_dir: &Path,
    server_dir: &Path,
    door_dir: &Path,
) -> Result<Outcome, Failure> {
    let p = &opts.programs;
    let mut site =
        commission(p, n, server_slot, manager_dir, server_dir).map_err(|e| e.context("step 1"))?;
    let door =
        door_slot.insert(install_door(p, n, &mut site, door_dir).map_err(|e| e.context("step 2"))?);
    let people = onboard(n, &site).map_err(|e| e.context("step 3"))?;
    let visit = deliver(n, &site, &people, door).map_err(|e| e.context("step 4"))?;
    let mut records =
        afterwards(n, &site, &people, &visit, door).map_err(|e| e.context("step 5"))?;
    records.after_reboot = Some(
        power_cycle(p, n, &people, &visit, door_slot, door_dir).map_err(|e| e.context("step 5"))?,
    );
    let door = door_slot.as_mut().ok_or_else(|| Failure::new("step 6: the door is gone"))?;
    let mut outcome = revoke(p, n, &site, &people, door, manager_dir, visit, records)
        .map_err(|e| e.context("step 6"))?;
    let invitees = Invitees {
        site_id: &site.site_id,
        manager_name: MANAGER_NAME,
        resident_id: &people.resident_id,
        resident_name: RESIDENT_NAME,
    };
    outcome.portal = Some(
        portal::invite(p, n, &site.api, server_dir, &invitees).map_err(|e| e.context("step 7"))?,
    );
    Ok(outcome)
}

// ---------------------------------------------------------------------------------------------
// Step 1.

fn commission(
    p: &Programs,
    n: &mut Narrator,
    server_slot: &mut Option<Server>,
    manager_dir: &Path,
    server_dir: &Path,
) -> Result<Site, Failure> {
    n.step(1, "The property manager sets up the building's keys and the server");
    let root_path = manager_dir.join("site-root.key");
    let root_file = root_path.to_string_lossy().into_owned();
    let out = p.root(&["init", "--key", &root_file])?;
    let site_number: u32 = field(&out, "site ")?
        .parse()
        .map_err(|_| Failure::new(format!("`porter-root init` printed no site number: {out}")))?;
    let root_hex = field(&out, "root_key ")?;
    let root_key = PublicKey(key32(&unhex(&root_hex, "the root key")?, "the root key")?);
    n.say(
        "Property manager",
        &format!("made the site root key offline with `porter-root init`: site {site_number}"),
    );
    n.detail(&format!(
        "root public key {}, private key in {root_file} (mode 0600)",
        short(&root_hex)
    ));

    let server = server_slot.insert(Server::start(p, server_dir)?);
    let api = Api::new(&server.base)?;
    n.say(
        "Operator",
        &format!(
            "started `porter serve` on SQLite in {}, listening on {}",
            server_dir.display(),
            api.base()
        ),
    );
    let data_dir = server_dir.to_string_lossy().into_owned();
    let operator = p
        .porter(&["operator-token", "--label", "demo operator"], &[("PORTER_DATA_DIR", &data_dir)])?
        .trim()
        .to_string();
    ensure(!operator.is_empty(), || "`porter operator-token` printed no token".into())?;
    n.say("Operator", "made an operator API token with `porter operator-token`");

    let created = api.ok(
        "POST",
        "/v1/sites",
        &operator,
        Some(&json!({
            "name": "12 Rue Exemple", "site_number": site_number, "root_key": root_hex,
            "zone": "CET-1CEST,M3.5.0,M10.5.0/3"
        })),
    )?;
    let site_id = text(&created, "id", "the new site")?.to_string();
    // The manager keeps the site record: the root tool takes the site's time zone from it.
    let site_record = manager_dir.join("site.json");
    std::fs::write(&site_record, created.to_string())
        .map_err(|e| Failure::new(format!("cannot write {}: {e}", site_record.display())))?;
    let site_record = site_record.to_string_lossy().into_owned();
    ensure(created["site_number"] == json!(site_number), || {
        format!("the site came back as {created}")
    })?;
    let manager = api.ok(
        "POST",
        "/v1/tokens",
        &operator,
        Some(&json!({"role": "manager", "site_id": site_id})),
    )?;
    let manager = text(&manager, "token", "the manager token")?.to_string();
    n.say(
        "Operator",
        &format!("created site \"12 Rue Exemple\" ({site_id}) from its root public key"),
    );
    n.say("Property manager", "received a manager API token for the site");

    let issuer = api.ok("POST", &format!("/v1/sites/{site_id}/issuers"), &manager, None)?;
    let issuer_id = text(&issuer, "id", "the issuer")?.to_string();
    let issuer_key = text(&issuer, "public_key", "the issuer")?.to_string();
    n.say(
        "Server",
        &format!(
            "made an issuer key for grants ({}); it signs nothing until the root certifies it",
            short(&issuer_key)
        ),
    );
    let cert = p.root(&[
        "certify-issuer",
        "--key",
        &root_file,
        "--issuer",
        &issuer_key,
        "--doors",
        "1",
        "--max-uses",
        "2",
        "--max-grant-lifetime",
        "900",
        "--days",
        "30",
        "--site",
        &site_record,
    ])?;
    let cert = cert.trim().to_string();
    n.say(
        "Property manager",
        "certified it offline with `porter-root certify-issuer`: door 1 only, at most 2 entries",
    );
    n.detail(
        "per grant, grants of at most 15 minutes, valid 30 days; every door enforces these limits",
    );
    let uploaded = api.ok(
        "PUT",
        &format!("/v1/sites/{site_id}/issuers/{issuer_id}/certificate"),
        &manager,
        Some(&json!({"certificate": cert})),
    )?;
    ensure(uploaded["certificate"].as_str() == Some(cert.as_str()), || {
        format!("the server did not keep the certificate: {uploaded}")
    })?;
    n.say(
        "Property manager",
        &format!(
            "uploaded the certificate ({} bytes); the server checked it against the root key",
            cert.len() / 2
        ),
    );

    let list = api.ok("GET", &format!("/v1/sites/{site_id}/revocations"), &manager, None)?;
    let state = sign_state(p, &root_file, manager_dir, &list, "door-state-1")?;
    let stored = api.ok(
        "POST",
        &format!("/v1/sites/{site_id}/door-states"),
        &manager,
        Some(&json!({"state": state})),
    )?;
    n.say(
        "Property manager",
        &format!(
            "signed the first door state (sequence {}, empty deny-list, trusted time) with `porter-root sign-state` and uploaded it",
            stored["sequence"]
        ),
    );
    Ok(Site {
        api,
        root_file,
        site_record,
        root_key,
        site_number,
        site_id,
        operator,
        manager,
        issuer_id,
        device_key: [0; 32],
    })
}

/// Saves the server's revocation list and signs the next door state from it, offline.
fn sign_state(
    p: &Programs,
    root_file: &str,
    manager_dir: &Path,
    list: &Value,
    name: &str,
) -> Result<String, Failure> {
    let path = manager_dir.join(format!("{name}-revocations.json"));
    std::fs::write(&path, list.to_string())
        .map_err(|e| Failure::new(format!("cannot write {}: {e}", path.display())))?;
    let path = path.to_string_lossy().into_owned();
    let state = p.root(&["sign-state", "--key", root_file, "--revocations", &path])?;
    Ok(state.trim().to_string())
}

// ---------------------------------------------------------------------------------------------
// Step 2.

fn install_door(
    p: &Programs,
    n: &mut Narrator,
    site: &mut Site,
    door_dir: &Path,
) -> Result<DoorSim, Failure> {
    n.step(2, "A door controller is installed on the street door and commissioned");
    let flash = door_dir.join("flash.img");
    let door = DoorSim::start(p, &flash)?;
    n.say(
        "Door",
        &format!(
            "booted `porter-door-sim` with its flash in {}; it made its own key",
            flash.display()
        ),
    );
    n.detail(&format!(
        "device key {}; it listens for phones on {} (loopback only)",
        short(&door.device_key),
        door.addr
    ));
    let mut door = door;
    let mut link = Link::connect(&door.addr)?;
    let info = link.info()?;
    ensure(!info.enrolled && hex::encode(info.device_key.0) == door.device_key, || {
        format!("a fresh door should be unenrolled with the key it printed: {info:?}")
    })?;
    n.say("Installer's phone", "asked the door who it is: not commissioned yet, same device key");

    let enrolment = p.root(&[
        "enroll-device",
        "--key",
        &site.root_file,
        "--door",
        &DOOR.to_string(),
        "--device",
        &door.device_key,
        "--site",
        &site.site_record,
    ])?;
    let enrolment = enrolment.trim().to_string();
    n.say(
        "Property manager",
        &format!("signed the door's enrolment offline with `porter-root enroll-device` (site {}, door {DOOR}), naming the server's log key from the site record", site.site_number),
    );
    // Commissioning needs the installer there: the button inside the housing opens the window.
    door.command("button")?;
    door.expect_event("button pressed", Duration::from_secs(5))?;
    link.enrol(&site.root_key, &unhex(&enrolment, "the enrolment")?)?;
    let info = link.info()?;
    ensure(info.enrolled && info.site == site.site_number && info.door == DOOR, || {
        format!(
            "after enrolment the door should be site {} door {DOOR}: {info:?}",
            site.site_number
        )
    })?;
    n.say(
        "Door",
        &format!("stored the root public key and its enrolment: now site {}, door {}, log of {} record(s)", info.site, info.door, info.log_length),
    );
    let added = site.api.ok(
        "POST",
        &format!("/v1/sites/{}/doors", site.site_id),
        &site.manager,
        Some(&json!({"name": "Street door", "enrolment": enrolment})),
    )?;
    ensure(added["device_key"].as_str() == Some(door.device_key.as_str()), || {
        format!("the server registered another device key: {added}")
    })?;
    site.device_key = key32(&unhex(&door.device_key, "the device key")?, "the device key")?;
    n.say("Property manager", "uploaded the enrolment: the server now knows the door's device key");
    Ok(door)
}

// ---------------------------------------------------------------------------------------------
// Step 3.

/// The carrier, its drivers and the resident.
struct People {
    carrier: String,
    driver_id: String,
    driver: String,
    phone: HolderKey,
    resident: String,
    resident_id: String,
    delivery_id: String,
}

fn notification_kinds(api: &Api, resident: &str) -> Result<Vec<String>, Failure> {
    let notes = api.ok("GET", "/v1/me/notifications", resident, None)?;
    Ok(notes["items"]
        .as_array()
        .map(|items| items.iter().filter_map(|n| n["kind"].as_str().map(str::to_string)).collect())
        .unwrap_or_default())
}

fn onboard(n: &mut Narrator, site: &Site) -> Result<People, Failure> {
    n.step(3, "A carrier is approved, a driver and a resident join, a parcel is announced");
    let api = &site.api;
    let carrier =
        api.ok("POST", "/v1/carriers", &site.operator, Some(&json!({"name": "Rapid Parcel"})))?;
    let carrier_id = text(&carrier, "id", "the carrier")?.to_string();
    let token = api.ok(
        "POST",
        "/v1/tokens",
        &site.operator,
        Some(&json!({"role": "carrier", "carrier_id": carrier_id})),
    )?;
    let carrier = text(&token, "token", "the carrier token")?.to_string();
    n.say("Operator", "registered the carrier \"Rapid Parcel\" and gave it an API token");
    api.ok(
        "POST",
        &format!("/v1/sites/{}/approvals", site.site_id),
        &site.manager,
        Some(&json!({
            "carrier_id": carrier_id, "issuer_id": site.issuer_id, "doors": [DOOR],
            "max_uses": 2, "max_lifetime_minutes": 15
        })),
    )?;
    n.say(
        "Property manager",
        "approved Rapid Parcel at the street door: at most 2 entries, 15 minutes per grant",
    );

    let seed = rand::random();
    let phone = HolderKey::new(&seed)?;
    let holder = hex::encode(phone.public()?);
    let driver = register_driver(api, &carrier, &phone, "van 7")?;
    let driver_id = text(&driver, "id", "the driver")?.to_string();
    let token = api.ok(
        "POST",
        "/v1/tokens",
        &carrier,
        Some(&json!({"role": "driver", "driver_id": driver_id})),
    )?;
    let driver = text(&token, "token", "the driver token")?.to_string();
    n.say(
        "Driver's phone",
        &format!(
            "made its holder key with porter-ffi ({}); the private half never leaves the phone",
            short(&holder)
        ),
    );
    n.say(
        "Carrier",
        "registered the driver (\"van 7\") with that public key and gave the app a token",
    );

    let unit = api.ok(
        "POST",
        &format!("/v1/sites/{}/units", site.site_id),
        &site.manager,
        Some(&json!({"label": "4B"})),
    )?;
    let unit_id = text(&unit, "id", "the unit")?;
    let resident = api.ok(
        "POST",
        &format!("/v1/sites/{}/units/{unit_id}/residents", site.site_id),
        &site.manager,
        Some(&json!({"display_name": RESIDENT_NAME})),
    )?;
    let resident_id = text(&resident, "id", "the resident")?.to_string();
    let token = api.ok(
        "POST",
        "/v1/tokens",
        &site.manager,
        Some(&json!({"role": "resident", "resident_id": &resident_id})),
    )?;
    let resident = text(&token, "token", "the resident token")?.to_string();
    n.say(
        "Property manager",
        "added flat 4B and its resident, A. Martin, who gets the resident app",
    );
    let policy = api.ok("GET", &format!("/v1/sites/{}/policy", site.site_id), &resident, None)?;
    let rules: Vec<String> = policy
        .as_array()
        .map(|a| {
            a.iter()
                .map(|p| {
                    format!(
                        "{} at doors {} (≤{} entries, ≤{} min)",
                        p["carrier"].as_str().unwrap_or("?"),
                        p["doors"],
                        p["max_uses"],
                        p["max_lifetime_minutes"]
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    ensure(rules.len() == 1, || format!("the resident should see one approved carrier: {policy}"))?;
    n.say("Resident", &format!("sees the building's delivery-access policy: {}", rules.join("; ")));

    let t = now();
    let delivery = api.ok(
        "POST",
        "/v1/deliveries",
        &carrier,
        Some(&json!({
            "site_id": site.site_id, "unit": "4B", "tracking_number": TRACKING,
            "window_start": t - 60, "window_end": t + 3600
        })),
    )?;
    let delivery_id = text(&delivery, "id", "the delivery")?.to_string();
    n.say(
        "Carrier",
        &format!(
            "announced parcel {TRACKING} for flat 4B, delivery window {} to {}",
            when(t - 60),
            when(t + 3600)
        ),
    );
    n.detail(&format!(
        "the server keeps only a salted hash of the tracking number: package {}",
        short(text(&delivery, "package", "the delivery")?)
    ));
    let notifications = notification_kinds(api, &resident)?;
    ensure(notifications.iter().any(|k| k == "delivery.announced"), || {
        format!("the resident should have been told of the delivery: {notifications:?}")
    })?;
    n.say("Resident", "was notified: a delivery is announced for the flat (and could refuse in-building delivery)");
    Ok(People { carrier, driver_id, driver, phone, resident, resident_id, delivery_id })
}

// ---------------------------------------------------------------------------------------------
// Step 4.

/// The first visit: the grant used and the receipt.
struct Visit {
    grant: IssuedGrant,
    state: Vec<u8>,
    serial: u64,
    receipt: Vec<u8>,
    receipt_sequence: u64,
    replay: (Coarse, Error),
}

/// A grant as the server issued it, exact bytes.
struct IssuedGrant {
    id: String,
    grant: Vec<u8>,
    certificate: Vec<u8>,
}

fn ask_grant(api: &Api, driver: &str, delivery_id: &str) -> Result<IssuedGrant, Failure> {
    let g = api.ok(
        "POST",
        &format!("/v1/deliveries/{delivery_id}/grants"),
        driver,
        Some(&json!({"uses": 1, "lifetime_minutes": 10})),
    )?;
    Ok(IssuedGrant {
        id: text(&g, "id", "the grant")?.to_string(),
        grant: unhex(text(&g, "grant", "the grant")?, "the grant")?,
        certificate: unhex(text(&g, "certificate", "the grant")?, "the certificate")?,
    })
}

fn latest_state(api: &Api, site_id: &str, token: &str) -> Result<(Vec<u8>, u64), Failure> {
    let s = api.ok("GET", &format!("/v1/sites/{site_id}/door-states/latest"), token, None)?;
    let sequence = s["sequence"]
        .as_u64()
        .ok_or_else(|| Failure::new(format!("the latest door state has no sequence: {s}")))?;
    Ok((unhex(text(&s, "state", "the door state")?, "the door state")?, sequence))
}

/// One attempt at the door (challenge, presentation, verdict): a phone session over the link,
/// for the door whose device key the server holds.
fn attempt(
    link: &mut Link,
    phone: &HolderKey,
    grant: &IssuedGrant,
    state: Option<&[u8]>,
    (device_key, site_number): (PublicKey, u32),
) -> Result<Verdict, Failure> {
    let errand = Errand {
        device_key,
        door: (SiteId(site_number), DoorId(DOOR)),
        grant: &grant.grant,
        certificate: &grant.certificate,
        door_state: state,
    };
    Ok(link.visit(phone, &errand)?.verdict)
}

fn deliver(
    n: &mut Narrator,
    site: &Site,
    people: &People,
    door: &mut DoorSim,
) -> Result<Visit, Failure> {
    n.step(4, "At the door: the driver's phone presents a grant, the door opens once");
    let api = &site.api;
    let grant = ask_grant(api, &people.driver, &people.delivery_id)?;
    let summary = phone::read_grant(&grant.grant)?;
    ensure(summary.uses == 1, || format!("asked for a single-use grant, got {summary:?}"))?;
    n.say(
        "Driver's phone",
        &format!(
            "asked for a grant for the parcel: serial {}, {} entry, door {DOOR}, valid until {} ({} bytes)",
            summary.serial, summary.uses, when(i64::from(summary.not_after)), grant.grant.len()
        ),
    );
    let (state, sequence) = latest_state(api, &site.site_id, &people.driver)?;
    n.say(
        "Driver's phone",
        &format!("fetched the latest signed door state (sequence {sequence}) to carry to the door"),
    );

    let mut link = Link::connect(&door.addr)?;
    let errand = Errand {
        device_key: PublicKey(site.device_key),
        door: (SiteId(site.site_number), DoorId(DOOR)),
        grant: &grant.grant,
        certificate: &grant.certificate,
        door_state: Some(&state),
    };
    let visit = link.visit(&people.phone, &errand)?;
    let (challenge, decoded) = &visit.challenge;
    n.say(
        "Door",
        &format!(
            "sent a fresh challenge (site {}, door {}, {} bytes, answerable for 30 s)",
            decoded.site.0,
            decoded.door.0,
            challenge.len()
        ),
    );
    n.say(
        "Driver's phone",
        &format!("answered with the grant, the issuer certificate, the door state and its signature ({} bytes; the link session of `porter-link`, its proof signed by the FFI key)", visit.presentation_len),
    );
    let verdict = visit.verdict;
    let Verdict::Admitted(receipt) = verdict else {
        return Err(Failure::new(format!(
            "the door should have opened for a fresh grant: {verdict:?}"
        )));
    };
    door.expect_event("relay released", Duration::from_secs(5))?;
    let checked = phone::check_receipt(&receipt, &site.device_key)?;
    ensure(checked.admitted && checked.grant_serial == summary.serial, || {
        format!("the receipt should record this grant's admission: {checked:?}")
    })?;
    n.say(
        "Door",
        "checked everything offline, recorded the spend in flash, then released the relay: OPEN",
    );
    n.say(
        "Driver's phone",
        &format!(
            "got a receipt signed by the door's device key ({} bytes): log record {}, grant serial {}",
            receipt.len(), checked.sequence, checked.grant_serial
        ),
    );

    let door_key = (PublicKey(site.device_key), site.site_number);
    let verdict = attempt(&mut link, &people.phone, &grant, Some(&state), door_key)?;
    let Verdict::Denied { coarse, sequence } = verdict else {
        return Err(Failure::new(format!(
            "a spent single-use grant must not open the door again: {verdict:?}"
        )));
    };
    let reason = reason_of(&link.record(sequence)?)?;
    ensure(coarse == Coarse::Spent && reason == Error::ReplayDuplicate, || {
        format!("the second attempt should be refused as spent (501 ReplayDuplicate), got {coarse:?} / {} {}", reason.code(), reason.name())
    })?;
    n.say("Driver's phone", "tried the same single-use grant again");
    n.say(
        "Door",
        &format!("REFUSED: told the phone only \"{coarse:?}\"; its log record {sequence} says reason {} {}", reason.code(), reason.name()),
    );
    n.detail(reason.message());
    Ok(Visit {
        grant,
        state,
        serial: summary.serial,
        receipt,
        receipt_sequence: checked.sequence,
        replay: (coarse, reason),
    })
}

// ---------------------------------------------------------------------------------------------
// Step 5.

/// What the first upload showed.
struct Records {
    receipt_matched: bool,
    log_uploaded: (u64, u64),
    notifications: Vec<String>,
    entry_carriers: Vec<String>,
    /// The spent grant tried again after the door rebooted: verdict and reason.
    after_reboot: Option<(Coarse, Error)>,
}

/// Reads the door's whole log and head over the link and uploads them as a batch.
fn upload_log(site: &Site, token: &str, link: &mut Link) -> Result<(Value, u64), Failure> {
    let records = link.read_log(0)?;
    let head = link.log_head()?;
    let head_claims = Link::verify_head(&head, &PublicKey(site.device_key))?;
    ensure(head_claims.length == records.len() as u64, || {
        format!("the door's head says {} records, it sent {}", head_claims.length, records.len())
    })?;
    let batch = site.api.ok(
        "POST",
        "/v1/audit-batches",
        token,
        Some(&json!({
            "site_id": site.site_id, "door_number": DOOR,
            "records": records.iter().map(hex::encode).collect::<Vec<_>>(),
            "head": hex::encode(&head),
        })),
    )?;
    Ok((batch, records.len() as u64))
}

fn afterwards(
    n: &mut Narrator,
    site: &Site,
    people: &People,
    visit: &Visit,
    door: &mut DoorSim,
) -> Result<Records, Failure> {
    n.step(5, "Afterwards: the phone carries the receipt and the door's log to the server");
    let api = &site.api;
    let r = api.ok(
        "POST",
        "/v1/receipts",
        &people.driver,
        Some(&json!({"site_id": site.site_id, "door_number": DOOR, "receipt": hex::encode(&visit.receipt)})),
    )?;
    let matched = r["matched"].as_bool() == Some(true)
        && r["grant_id"].as_str() == Some(visit.grant.id.as_str());
    ensure(matched, || {
        format!("the server should match the receipt to grant {}: {r}", visit.grant.id)
    })?;
    n.say("Driver's phone", "uploaded the receipt");
    n.say(
        "Server",
        &format!(
            "verified it under the door's key and matched it to the grant it issued ({})",
            visit.grant.id
        ),
    );

    let mut link = Link::connect(&door.addr)?;
    // Anyone in radio range may read the log: the admission must not name the driver's key.
    let driver_key = PublicKey(people.phone.public()?).id();
    let mut admissions = 0;
    for bytes in link.read_log(0)? {
        let record = AuditRecord::decode(&bytes)
            .map_err(|e| Failure::new(format!("the door sent a malformed record: {e:?}")))?;
        if let AuditEvent::Admitted { holder, .. } = record.event {
            admissions += 1;
            ensure(holder != driver_key, || {
                format!(
                    "log record {} read over the radio names the driver's key id in clear",
                    record.sequence
                )
            })?;
        }
    }
    ensure(admissions > 0, || "the door's log should hold the driver's admission".to_string())?;
    n.say(
        "Anyone in radio range",
        "read the door's log: the admission's holder is masked, it does not name the driver",
    );
    let (batch, length) = upload_log(site, &people.driver, &mut link)?;
    let accepted = batch["accepted"].as_u64().unwrap_or(0);
    ensure(
        accepted == length && batch["complete"] == json!(true) && batch["unmatched"] == json!(0),
        || {
            format!(
                "the server should accept the whole log of {length} records, all matched: {batch}"
            )
        },
    )?;
    n.say(
        "Driver's phone",
        &format!("read the door's {length} log records and its signed log head, and uploaded them"),
    );
    n.say(
        "Server",
        &format!("verified the hash chain up to the head: {accepted} new records, {} admission(s), none unmatched, no gap", batch["admissions"]),
    );
    let ack = batch["log_ack"].as_str().and_then(|a| hex::decode(a).ok()).ok_or_else(|| {
        Failure::new(format!("the server should give the phone the log ack for the door: {batch}"))
    })?;
    let next = batch["next_sequence"].as_u64().unwrap_or(0);
    let acked = link.log_ack(next, &ack)?;
    ensure(acked == next, || {
        format!("the door should hold the server's ack for {next} records, it says {acked}")
    })?;
    n.say(
        "Driver's phone",
        &format!(
            "carried the server's log ack back to the door: it may now reuse those {next} records"
        ),
    );

    let notifications = notification_kinds(api, &people.resident)?;
    ensure(notifications.iter().any(|k| k == "delivery.entered"), || {
        format!("the resident should have been told of the entry: {notifications:?}")
    })?;
    let entries =
        api.ok("GET", &format!("/v1/sites/{}/entries", site.site_id), &people.resident, None)?;
    let items = entries["items"].as_array().cloned().unwrap_or_default();
    let entry_carriers: Vec<String> =
        items.iter().filter_map(|e| e["carrier"].as_str().map(str::to_string)).collect();
    ensure(items.len() == 1 && entry_carriers == ["Rapid Parcel"], || {
        format!("the resident should see one entry by Rapid Parcel: {entries}")
    })?;
    let delivery =
        api.ok("GET", &format!("/v1/deliveries/{}", people.delivery_id), &people.resident, None)?;
    ensure(delivery["entered_at"].is_i64(), || {
        format!("the delivery should be marked entered: {delivery}")
    })?;
    n.say(
        "Resident",
        &format!(
            "was notified ({}) and sees the entry in the building's log:",
            notifications.join(", ")
        ),
    );
    for e in &items {
        n.detail(&format!(
            "{} through door {} at {} (log record {})",
            e["carrier"].as_str().unwrap_or("?"),
            DOOR,
            when(e["at"].as_i64().unwrap_or(0)),
            e["sequence"]
        ));
    }
    door.expect_event("relay secured", Duration::from_secs(10))?;
    n.say("Door", "locked again by itself after its 5 s release");
    Ok(Records {
        receipt_matched: matched,
        log_uploaded: (accepted, length),
        notifications,
        entry_carriers,
        after_reboot: None,
    })
}

/// The door loses power and boots again from its flash image: same key, still commissioned,
/// the log continues, and the spent grant stays spent.
#[allow(clippy::too_many_arguments, reason = "the story's state, passed on once")]
fn power_cycle(
    p: &Programs,
    n: &mut Narrator,
    people: &People,
    visit: &Visit,
    door_slot: &mut Option<DoorSim>,
    door_dir: &Path,
) -> Result<(Coarse, Error), Failure> {
    let before = {
        let door = door_slot.as_mut().ok_or_else(|| Failure::new("the door is gone"))?;
        Link::connect(&door.addr)?.info()?
    };
    if let Some(door) = door_slot.take() {
        door.stop()?;
    }
    let door = door_slot.insert(DoorSim::start(p, &door_dir.join("flash.img"))?);
    let mut link = Link::connect(&door.addr)?;
    let after = link.info()?;
    ensure(
        after.enrolled
            && after.device_key == before.device_key
            && after.boot_count == before.boot_count + 1
            && after.log_length == before.log_length + 1,
        || {
            format!("after a reboot the door should be the same, one boot record on: {before:?} -> {after:?}")
        },
    )?;
    n.say(
        "Door",
        &format!(
            "lost power and booted again from its flash: same device key, still site {} door {}, boot {}, log continues at {} records",
            after.site, after.door, after.boot_count, after.log_length
        ),
    );
    let door_key = (after.device_key, after.site);
    let verdict = attempt(&mut link, &people.phone, &visit.grant, Some(&visit.state), door_key)?;
    let Verdict::Denied { coarse, sequence } = verdict else {
        return Err(Failure::new(format!(
            "a reboot must not make a spent grant usable again: {verdict:?}"
        )));
    };
    let reason = reason_of(&link.record(sequence)?)?;
    ensure(coarse == Coarse::Spent && reason == Error::ReplayDuplicate, || {
        format!(
            "after the reboot the grant should still be spent, got {coarse:?} / {} {}",
            reason.code(),
            reason.name()
        )
    })?;
    n.say("Driver's phone", "tried the spent grant once more after the reboot");
    n.say(
        "Door",
        &format!("REFUSED: still \"{coarse:?}\" (log record {sequence}: {} {}): the spend was in flash before the relay moved", reason.code(), reason.name()),
    );
    Ok((coarse, reason))
}

// ---------------------------------------------------------------------------------------------
// Step 6.

#[allow(clippy::too_many_arguments, reason = "the story's state, passed on once")]
fn revoke(
    p: &Programs,
    n: &mut Narrator,
    site: &Site,
    people: &People,
    door: &mut DoorSim,
    manager_dir: &Path,
    visit: Visit,
    records: Records,
) -> Result<Outcome, Failure> {
    n.step(6, "The manager revokes the driver; a phone carries the revocation to the offline door");
    let api = &site.api;
    // A second parcel: the driver holds a grant for it from before the revocation.
    let t = now();
    let second = api.ok(
        "POST",
        "/v1/deliveries",
        &people.carrier,
        Some(&json!({
            "site_id": site.site_id, "unit": "4B", "tracking_number": SECOND_TRACKING,
            "window_start": t - 60, "window_end": t + 3600
        })),
    )?;
    let second_id = text(&second, "id", "the second delivery")?.to_string();
    let held = ask_grant(api, &people.driver, &second_id)?;
    n.say("Driver's phone", "holds a grant for a second parcel, issued before anything happened");

    api.ok(
        "POST",
        &format!("/v1/sites/{}/revocations", site.site_id),
        &site.manager,
        Some(&json!({"kind": "driver", "id": people.driver_id})),
    )?;
    n.say(
        "Property manager",
        "revoked the driver at this building (the server stops issuing at once)",
    );
    let list =
        api.ok("GET", &format!("/v1/sites/{}/revocations", site.site_id), &site.manager, None)?;
    let state = sign_state(p, &site.root_file, manager_dir, &list, "door-state-2")?;
    let stored = api.ok(
        "POST",
        &format!("/v1/sites/{}/door-states", site.site_id),
        &site.manager,
        Some(&json!({"state": state})),
    )?;
    let sequence = stored["sequence"].as_u64().unwrap_or(0);
    ensure(sequence == 2, || format!("the revocation should be door state 2: {stored}"))?;
    n.say(
        "Property manager",
        &format!("signed door state {sequence} with the driver's key on its deny-list (`porter-root sign-state`) and uploaded it"),
    );

    let refused = api.call(
        "POST",
        &format!("/v1/deliveries/{second_id}/grants"),
        &people.driver,
        Some(&json!({"uses": 1, "lifetime_minutes": 10})),
    )?;
    ensure(refused.status == 422 && refused.code() == "driver_revoked", || {
        format!(
            "the server must refuse a fresh grant to a revoked driver: {} {}",
            refused.status, refused.body
        )
    })?;
    n.say("Driver's phone", "asked for a fresh grant for the second parcel");
    n.say(
        "Server",
        &format!("REFUSED: {} {}: {}", refused.status, refused.code(), refused.message()),
    );

    // Another driver's phone passing by carries the new state to the door.
    let other_seed = rand::random();
    let other_phone = HolderKey::new(&other_seed)?;
    let other_driver = register_driver(api, &people.carrier, &other_phone, "bike 2")?;
    let token = api.ok(
        "POST",
        "/v1/tokens",
        &people.carrier,
        Some(&json!({"role": "driver", "driver_id": other_driver["id"]})),
    )?;
    let other_token = text(&token, "token", "the second driver's token")?;
    let (latest, latest_seq) = latest_state(api, &site.site_id, other_token)?;
    let mut link = Link::connect(&door.addr)?;
    let held_seq = link.door_state(&latest)?;
    ensure(latest_seq == 2 && held_seq == 2, || {
        format!("the door should now hold door state 2 (server {latest_seq}, door {held_seq})")
    })?;
    n.say(
        "Another driver's phone",
        &format!("fetched door state {latest_seq} and handed it to the door as it passed by"),
    );
    n.say("Door", &format!("verified the root's signature and took door state {held_seq}: the deny-list is in force, offline"));

    let mut link = Link::connect(&door.addr)?;
    let door_key = (PublicKey(site.device_key), site.site_number);
    let verdict = attempt(&mut link, &people.phone, &held, None, door_key)?;
    let Verdict::Denied { coarse, sequence } = verdict else {
        return Err(Failure::new(format!(
            "the door must refuse the revoked driver's grant: {verdict:?}"
        )));
    };
    let reason = reason_of(&link.record(sequence)?)?;
    ensure(reason == Error::HolderRevoked, || {
        format!(
            "the revoked driver should be refused as 403 HolderRevoked, got {} {}",
            reason.code(),
            reason.name()
        )
    })?;
    n.say("Driver's phone", "the revoked driver tried the grant it already held");
    n.say(
        "Door",
        &format!("REFUSED: told the phone only \"{coarse:?}\"; its log record {sequence} says reason {} {}", reason.code(), reason.name()),
    );
    n.detail(reason.message());

    // That phone uploads the door's log: the server sees the refusal too.
    let (batch, length) = upload_log(site, other_token, &mut link)?;
    ensure(batch["complete"] == json!(true) && batch["unmatched"] == json!(0), || {
        format!("the rest of the log should upload cleanly: {batch}")
    })?;
    n.say(
        "Another driver's phone",
        &format!("uploaded the door's log, now {length} records: chain intact"),
    );
    let alarms =
        api.ok("GET", &format!("/v1/sites/{}/alarms", site.site_id), &site.manager, None)?;
    let alarms: Vec<String> = alarms["items"]
        .as_array()
        .map(|a| a.iter().map(|x| format!("{}: {}", x["kind"], x["detail"])).collect())
        .unwrap_or_default();
    ensure(alarms.is_empty(), || format!("an honest run raises no alarm: {alarms:?}"))?;
    n.say("Property manager", "sees no alarm: no gap, no fork, every entry matched to a grant");
    let status = door.status()?;
    n.say("Door", &format!("status: {status}"));

    Ok(Outcome {
        site_number: site.site_number,
        grant_serial: visit.serial,
        receipt_sequence: visit.receipt_sequence,
        receipt_matched: records.receipt_matched,
        replay_coarse: visit.replay.0,
        replay_reason: visit.replay.1,
        log_uploaded: records.log_uploaded,
        spent_after_reboot: records.after_reboot,
        resident_notifications: records.notifications,
        entry_carriers: records.entry_carriers,
        revoked_grant_refusal: (refused.status, refused.code().to_string()),
        door_state_sequence: held_seq,
        revoked_at_door: (coarse, reason),
        alarms,
        portal: None,
        elapsed: Duration::ZERO,
    })
}
