//! What broke under load (issue 11): audit uploads from two doors admitting the same deliveries
//! at once, and audit batches as large as the documented maximum.

use porter_protocol::{
    record, AuditEvent, ChainHash, DoorId, LogHead, LogMask, SigningKey, SiteId, Time,
    MAX_AUDIT_RECORD_LEN, MAX_LOG_HEAD_LEN, VERSION,
};
use porter_root as root;
use serde_json::{json, Value};

use crate::audit::admitted;
use crate::harness::*;

/// One door's hash-chained log, as its firmware keeps it (holders masked with its log mask).
struct Log {
    site: SiteId,
    door: DoorId,
    device: SigningKey,
    mask: Option<LogMask>,
    records: Vec<Vec<u8>>,
    previous: ChainHash,
}

impl Log {
    fn new(w: &World, door: u16, device: SigningKey) -> Log {
        let mask = w.log_key.map(|k| LogMask::for_door(&device, &k).unwrap());
        let (site, door) = (SiteId(w.site_number), DoorId(door));
        Log { site, door, device, mask, records: Vec::new(), previous: ChainHash::GENESIS }
    }

    fn append(&mut self, at: u32, event: AuditEvent) {
        let sequence = self.records.len() as u64;
        let event = match (event, &self.mask) {
            (
                AuditEvent::Admitted { issuer, grant_serial, use_index, holder, role, package },
                Some(m),
            ) => {
                let holder = m.apply(sequence, holder);
                AuditEvent::Admitted { issuer, grant_serial, use_index, holder, role, package }
            }
            (event, _) => event,
        };
        let r = record(self.site, self.door, sequence, Time(at), self.previous, event);
        let mut buf = [0u8; MAX_AUDIT_RECORD_LEN];
        let bytes = r.encode(&mut buf).unwrap().to_vec();
        self.previous = ChainHash::of(&bytes);
        self.records.push(bytes);
    }

    /// Records `from..` with the door's signed head.
    fn batch(&self, site_id: &str, from: usize) -> Value {
        let head = LogHead {
            version: VERSION,
            site: self.site,
            door: self.door,
            length: self.records.len() as u64,
            head: self.previous,
            at: Time(now() as u32),
        };
        let mut buf = [0u8; MAX_LOG_HEAD_LEN];
        let records: Vec<String> = self.records[from..].iter().map(hex::encode).collect();
        json!({
            "site_id": site_id,
            "door_number": self.door.0,
            "records": records,
            "head": hex::encode(head.seal(&self.device, &mut buf).unwrap()),
        })
    }
}

/// Enrols door `number` at the world's site; returns its device key.
async fn enrol_door(w: &World, number: u16) -> SigningKey {
    let device = new_key();
    let enrolment =
        root::enroll_device(&w.root, number, device.public_key(), w.log_key, now() as u32).unwrap();
    call(
        &w.base,
        "POST",
        &format!("/v1/sites/{}/doors", w.site_id),
        &w.manager,
        Some(json!({"name": format!("door {number}"), "enrolment": hex::encode(enrolment)})),
    )
    .await
    .ok();
    device
}

/// Two doors of one site upload, at the same moment, batches that admit the same deliveries in
/// opposite orders (a driver who went in through both doors, logged in different orders). On
/// PostgreSQL the old code marked deliveries entered in log order, so the two transactions
/// locked the same delivery rows in opposite orders and deadlocked: one upload got 503 after
/// the deadlock timeout. Every upload must succeed and every delivery be entered.
#[tokio::test]
async fn two_doors_admitting_the_same_deliveries_at_once_never_deadlock() {
    for backend in backends() {
        let server = Server::start(&backend).await;
        let approval = json!({"doors": [1, 2], "max_uses": 4, "max_lifetime_minutes": 15});
        let w = World::with(&server, cert_options(), approval).await;
        let mut door1 = Log::new(&w, 1, SigningKey::from_seed(w.device.seed()).unwrap());
        let mut door2 = Log::new(&w, 2, enrol_door(&w, 2).await);
        let mut deliveries = Vec::new();
        for round in 0..4 {
            let mut admissions = Vec::new();
            for n in 0..24 {
                let d =
                    w.announce(&format!("1ZLOAD{round:02}{n:04}"), now() - 60, now() + 3600).await;
                let g =
                    w.ask(&d, json!({"uses": 1, "lifetime_minutes": 10, "doors": [1, 2]})).await;
                admissions.push(admitted(&w, &g.ok()));
                deliveries.push(d);
            }
            let (from1, from2) = (door1.records.len(), door2.records.len());
            for a in &admissions {
                door1.append(now() as u32, *a);
            }
            for a in admissions.iter().rev() {
                door2.append(now() as u32, *a);
            }
            let (b1, b2) = (door1.batch(&w.site_id, from1), door2.batch(&w.site_id, from2));
            let path = "/v1/audit-batches";
            let (r1, r2) = tokio::join!(
                call(&w.base, "POST", path, &w.driver, Some(b1)),
                call(&w.base, "POST", path, &w.driver, Some(b2)),
            );
            for r in [r1, r2] {
                let b = r.ok();
                assert_eq!(
                    (b["accepted"].as_u64(), b["unmatched"].as_u64()),
                    (Some(24), Some(0)),
                    "{}: round {round}: {b}",
                    backend.name()
                );
            }
        }
        for d in &deliveries {
            let v = call(&w.base, "GET", &format!("/v1/deliveries/{d}"), &w.carrier, None).await;
            assert!(v.ok()["entered_at"].as_i64().is_some(), "{}: {d}", backend.name());
        }
    }
}

/// The largest admission record a door writes: the widest serial, use, time and sequence
/// fields its encoding has.
fn largest_admission(w: &World, g: &Value) -> AuditEvent {
    match admitted(w, g) {
        AuditEvent::Admitted { issuer, holder, role, package, .. } => AuditEvent::Admitted {
            issuer,
            grant_serial: u64::MAX,
            use_index: u8::MAX,
            holder,
            role,
            package,
        },
        other => other,
    }
}

/// The documented maximum, 512 records per batch, passes even with records of the largest
/// size (the old 64 KiB body limit stopped such batches at about 250 records); 513 records are
/// refused with a message that names the limit, and nothing of them is recorded.
#[tokio::test]
async fn an_audit_batch_of_512_largest_records_passes_and_513_are_refused_clearly() {
    for backend in backends() {
        let server = Server::start(&backend).await;
        let w = World::new(&server).await;
        let g = w.grant().await;
        let event = largest_admission(&w, &g);
        let at = u32::MAX - 1; // the widest time (unmatched: outside any grant's window)

        // 513 records: refused whole, with the limit named.
        let mut log = Log::new(&w, 1, SigningKey::from_seed(w.device.seed()).unwrap());
        for _ in 0..513 {
            log.append(at, event);
        }
        let widest = log.records.iter().map(Vec::len).max().unwrap();
        let body = log.batch(&w.site_id, 0);
        assert!(body.to_string().len() > 64 * 1024, "the test must exceed the old limit");
        let r = call(&w.base, "POST", "/v1/audit-batches", &w.driver, Some(body)).await;
        r.refused(400, "batch_too_large");
        assert!(r.body["message"].as_str().unwrap().contains("512"), "{}", r.body);

        // 512 of them: accepted, every one.
        let mut log = Log::new(&w, 1, SigningKey::from_seed(w.device.seed()).unwrap());
        for _ in 0..512 {
            log.append(at, event);
        }
        let body = log.batch(&w.site_id, 0);
        let b = call(&w.base, "POST", "/v1/audit-batches", &w.driver, Some(body)).await;
        let b = b.ok();
        assert_eq!(
            (b["accepted"].as_u64(), b["complete"].as_bool()),
            (Some(512), Some(true)),
            "{}: records of {widest} bytes",
            backend.name()
        );
    }
}

/// A body over the audit route's (larger) limit is refused with the limit it broke, and every
/// other route keeps the 64 KiB limit.
#[tokio::test]
async fn body_limits_are_per_route_and_name_the_limit() {
    let server = Server::start(&Backend::Sqlite).await;
    let w = World::new(&server).await;
    let huge = format!(
        r#"{{"site_id":"{}","door_number":1,"records":["{}"],"head":""}}"#,
        w.site_id,
        "00".repeat(porter_server::service::BATCH_MAX_BODY_BYTES)
    );
    let r =
        call_raw(&w.base, "POST", "/v1/audit-batches", Some(&w.driver), &[], huge.as_bytes()).await;
    r.refused(400, "payload_too_large");
    let limit = porter_server::service::BATCH_MAX_BODY_BYTES.to_string();
    assert!(r.body["message"].as_str().unwrap().contains(&limit), "{}", r.body);

    let body = json!({"name": "x".repeat(70 * 1024)}).to_string();
    let r =
        call_raw(&w.base, "POST", "/v1/carriers", Some(&w.operator), &[], body.as_bytes()).await;
    r.refused(400, "payload_too_large");
    assert!(r.body["message"].as_str().unwrap().contains("65536"), "{}", r.body);
}
