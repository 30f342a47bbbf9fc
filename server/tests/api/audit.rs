//! Audit ingestion: receipts and log batches verified, admissions matched to grants, residents
//! told; gaps, forks and unmatched admissions raise alarms.

use porter_protocol::{
    record, AuditEvent, AuditRecord, ChainHash, Decision, DoorId, LogHead, LogMask, SigningKey,
    SiteId, Time, MAX_AUDIT_RECORD_LEN, MAX_LOG_HEAD_LEN, MAX_RECEIPT_LEN, VERSION,
};
use serde_json::json;

use crate::grants::door_admits;
use crate::harness::*;

/// A door's log, kept the way the firmware keeps it.
pub struct DoorLog {
    site: SiteId,
    pub records: Vec<Vec<u8>>,
    previous: ChainHash,
    /// The door's log mask, when its enrolment named the site's log key.
    mask: Option<LogMask>,
}

impl DoorLog {
    /// The log of a door enrolled without a log key: holders in clear.
    pub fn new(site: u32) -> DoorLog {
        DoorLog {
            site: SiteId(site),
            records: Vec::new(),
            previous: ChainHash::GENESIS,
            mask: None,
        }
    }

    /// The log of the world's door 1, which masks holders with the site's log key.
    pub fn of(w: &World) -> DoorLog {
        let mask = w.log_key.map(|k| LogMask::for_door(&w.device, &k).unwrap());
        DoorLog { mask, ..DoorLog::new(w.site_number) }
    }

    pub fn append(&mut self, at: u32, event: AuditEvent) -> AuditRecord {
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
        let r = record(self.site, DoorId(1), sequence, Time(at), self.previous, event);
        let mut buf = [0u8; MAX_AUDIT_RECORD_LEN];
        let bytes = r.encode(&mut buf).unwrap().to_vec();
        self.previous = ChainHash::of(&bytes);
        self.records.push(bytes);
        r
    }

    pub fn head(&self, device: &SigningKey) -> String {
        let head = LogHead {
            version: VERSION,
            site: self.site,
            door: DoorId(1),
            length: self.records.len() as u64,
            head: self.previous,
            at: Time(now() as u32),
        };
        let mut buf = [0u8; MAX_LOG_HEAD_LEN];
        hex::encode(head.seal(device, &mut buf).unwrap())
    }

    pub fn batch(
        &self,
        site_id: &str,
        from: usize,
        to: usize,
        device: &SigningKey,
    ) -> serde_json::Value {
        json!({
            "site_id": site_id,
            "door_number": 1,
            "records": self.records[from..to].iter().map(hex::encode).collect::<Vec<_>>(),
            "head": self.head(device),
        })
    }
}

pub fn receipt(r: &AuditRecord, device: &SigningKey) -> String {
    let mut buf = [0u8; MAX_RECEIPT_LEN];
    hex::encode(r.seal_receipt(device, &mut buf).unwrap())
}

pub fn admitted(w: &World, grant: &serde_json::Value) -> AuditEvent {
    let Decision::Admit(a) = door_admits(w, grant, None) else { panic!("the door refused") };
    AuditEvent::Admitted {
        issuer: a.issuer,
        grant_serial: a.grant_serial,
        use_index: a.use_index,
        holder: a.holder,
        role: a.role,
        package: a.package,
    }
}

#[tokio::test]
async fn receipts_and_batches_are_verified_matched_and_notified() {
    for backend in backends() {
        let server = Server::start(&backend).await;
        let w = World::new(&server).await;
        let g = w.grant().await;
        let mut log = DoorLog::of(&w);
        log.append(now() as u32 - 10, AuditEvent::Boot);
        let entry = log.append(now() as u32, admitted(&w, &g));

        // The phone carries the receipt first.
        let r = call(
            &w.base,
            "POST",
            "/v1/receipts",
            &w.driver,
            Some(json!({
                "site_id": w.site_id, "door_number": 1, "receipt": receipt(&entry, &w.device)
            })),
        )
        .await
        .ok();
        assert_eq!(
            (r["matched"].as_bool(), r["grant_id"].as_str()),
            (Some(true), g["id"].as_str())
        );
        // A receipt signed by another key is refused.
        call(
            &w.base,
            "POST",
            "/v1/receipts",
            &w.driver,
            Some(json!({
                "site_id": w.site_id, "door_number": 1, "receipt": receipt(&entry, &new_key())
            })),
        )
        .await
        .refused(400, "invalid_receipt");

        // Then the log up to the head.
        let b = call(
            &w.base,
            "POST",
            "/v1/audit-batches",
            &w.driver,
            Some(log.batch(&w.site_id, 0, 2, &w.device)),
        )
        .await
        .ok();
        assert_eq!(
            (b["accepted"].as_u64(), b["complete"].as_bool(), b["unmatched"].as_u64()),
            (Some(2), Some(true), Some(0))
        );
        // The same batch again changes nothing.
        let b = call(
            &w.base,
            "POST",
            "/v1/audit-batches",
            &w.driver,
            Some(log.batch(&w.site_id, 0, 2, &w.device)),
        )
        .await
        .ok();
        assert_eq!(b["accepted"], 0);

        // The resident was told of the announcement and of the entry, once.
        let notes = call(&w.base, "GET", "/v1/me/notifications", &w.resident, None).await.ok();
        let kinds: Vec<_> = notes["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["kind"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(kinds, ["delivery.announced", "delivery.entered"], "{}", backend.name());
        let entries =
            call(&w.base, "GET", &format!("/v1/sites/{}/entries", w.site_id), &w.resident, None)
                .await
                .ok();
        assert_eq!(entries["items"][0]["carrier"], "Rapid Parcel");
        let delivery =
            call(&w.base, "GET", &format!("/v1/deliveries/{}", w.delivery_id), &w.resident, None)
                .await
                .ok();
        assert!(delivery["entered_at"].as_i64().is_some());
        let alarms =
            call(&w.base, "GET", &format!("/v1/sites/{}/alarms", w.site_id), &w.manager, None)
                .await
                .ok();
        assert_eq!(alarms["items"].as_array().unwrap().len(), 0);
    }
}

#[tokio::test]
async fn gaps_forks_and_unmatched_admissions_raise_alarms() {
    for backend in backends() {
        let server = Server::start(&backend).await;
        let w = World::new(&server).await;
        let g = w.grant().await;
        let device = w.device_token().await;
        // The manager's systems hear of every alarm by webhook (receiver down: queued).
        call(
            &w.base,
            "POST",
            &format!("/v1/sites/{}/webhooks", w.site_id),
            &w.manager,
            Some(json!({"url": "http://127.0.0.1:9/alarms"})),
        )
        .await
        .ok();
        let mut log = DoorLog::of(&w);
        let t0 = now() as u32;
        log.append(t0, AuditEvent::Boot);
        log.append(now() as u32, admitted(&w, &g));
        // An admission naming a serial the server never issued.
        let mut forged = admitted(&w, &g);
        if let AuditEvent::Admitted { grant_serial, .. } = &mut forged {
            *grant_serial += 1000;
        }
        log.append(now() as u32, forged);
        let b = call(
            &w.base,
            "POST",
            "/v1/audit-batches",
            &device,
            Some(log.batch(&w.site_id, 0, 3, &w.device)),
        )
        .await
        .ok();
        assert_eq!((b["admissions"].as_u64(), b["unmatched"].as_u64()), (Some(2), Some(1)));

        // A gap: records 3 and 4 exist, only 4 is sent, anchored by the head: the server
        // resynchronises and records the gap once. (Record 3 is the door's own alarm.)
        log.append(now() as u32, AuditEvent::Alarm(porter_protocol::Alarm::ForcedOpen));
        log.append(now() as u32, AuditEvent::Boot);
        for _ in 0..2 {
            let b = call(
                &w.base,
                "POST",
                "/v1/audit-batches",
                &device,
                Some(log.batch(&w.site_id, 4, 5, &w.device)),
            )
            .await
            .ok();
            assert_eq!(b["next_sequence"], 5);
        }
        // A fork: a different record 1, signed by the real device.
        let mut other = DoorLog::of(&w);
        other.append(t0, AuditEvent::Boot);
        other.append(now() as u32 + 1, AuditEvent::Boot);
        call(
            &w.base,
            "POST",
            "/v1/audit-batches",
            &device,
            Some(other.batch(&w.site_id, 0, 2, &w.device)),
        )
        .await
        .refused(409, "audit_fork");
        // A head that disagrees with the verified log at the same record: the same fork, kept
        // once.
        let mut tampered = log.batch(&w.site_id, 3, 5, &w.device);
        tampered["head"] = json!(other.head(&w.device));
        call(&w.base, "POST", "/v1/audit-batches", &device, Some(tampered))
            .await
            .refused(409, "audit_fork");
        // A receipt the door signed for a record the log later contradicts.
        let w2 = World::new(&server).await;
        let g2 = w2.grant().await;
        let dev2 = w2.device_token().await;
        let mut log2 = DoorLog::of(&w2);
        log2.append(now() as u32, AuditEvent::Boot);
        let claimed = log2.append(now() as u32, admitted(&w2, &g2));
        call(&w2.base, "POST", "/v1/receipts", &dev2, Some(json!({"site_id": w2.site_id, "door_number": 1, "receipt": receipt(&claimed, &w2.device)}))).await.ok();
        let mut log3 = DoorLog::of(&w2);
        log3.append(now() as u32, AuditEvent::Boot);
        log3.append(now() as u32 + 5, admitted(&w2, &g2));
        call(
            &w2.base,
            "POST",
            "/v1/audit-batches",
            &dev2,
            Some(log3.batch(&w2.site_id, 0, 2, &w2.device)),
        )
        .await
        .refused(409, "audit_fork");
        // The missing record 3 arrives after all (anchored by the head): filled in.
        call(
            &w.base,
            "POST",
            "/v1/audit-batches",
            &device,
            Some(log.batch(&w.site_id, 3, 5, &w.device)),
        )
        .await
        .ok();

        // Records the head does not reach are not anchored by any signature: refused.
        log.append(now() as u32, AuditEvent::Boot);
        log.append(now() as u32, AuditEvent::Boot);
        let mut partial = log.batch(&w.site_id, 5, 6, &w.device);
        partial["head"] = json!(log.head(&w.device)); // length 7
        call(&w.base, "POST", "/v1/audit-batches", &device, Some(partial))
            .await
            .refused(409, "unanchored_records");
        let b = call(
            &w.base,
            "POST",
            "/v1/audit-batches",
            &device,
            Some(log.batch(&w.site_id, 5, 7, &w.device)),
        )
        .await
        .ok();
        assert_eq!((b["accepted"].as_u64(), b["complete"].as_bool()), (Some(2), Some(true)));

        let alarms =
            call(&w.base, "GET", &format!("/v1/sites/{}/alarms", w.site_id), &w.manager, None)
                .await
                .ok();
        let mut kinds: Vec<_> = alarms["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["kind"].as_str().unwrap().to_string())
            .collect();
        kinds.sort();
        assert_eq!(
            kinds,
            ["audit_fork", "audit_gap", "door_alarm", "unmatched_admission"],
            "{}",
            backend.name()
        );
        let queued = server.service.store().due_outbox(now() + 1, 100).await.unwrap();
        let mut raised: Vec<String> = queued
            .iter()
            .filter(|m| m.event == porter_server::store::EventKind::AlarmRaised)
            .map(|m| {
                serde_json::from_str::<serde_json::Value>(&m.body).unwrap()["data"]["kind"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        raised.sort();
        assert_eq!(raised, ["audit_fork", "audit_gap", "door_alarm", "unmatched_admission"]);
        // A device token cannot upload for another door.
        let other_device = new_key();
        let enrolment =
            porter_root::enroll_device(&w.root, 2, other_device.public_key(), None, now() as u32)
                .unwrap();
        call(
            &w.base,
            "POST",
            &format!("/v1/sites/{}/doors", w.site_id),
            &w.manager,
            Some(json!({"name": "lobby", "enrolment": hex::encode(enrolment)})),
        )
        .await
        .ok();
        let mut b2 = log.batch(&w.site_id, 0, 1, &other_device);
        b2["door_number"] = json!(2);
        call(&w.base, "POST", "/v1/audit-batches", &device, Some(b2))
            .await
            .refused(404, "not_found");
    }
}

impl World {
    pub async fn device_token(&self) -> String {
        call(
            &self.base,
            "POST",
            "/v1/tokens",
            &self.manager,
            Some(json!({"role": "device", "door_id": self.door_id})),
        )
        .await
        .ok()["token"]
            .as_str()
            .unwrap()
            .to_string()
    }
}

/// Issue 8 item 9: the door masks holders with the site's log key. What anyone reads over the
/// radio does not name the driver; the server unmasks it, matches the admission, counts tallied
/// refusals, alarms on lost admissions and hands the phone the log ack for the door.
#[tokio::test]
async fn masked_logs_are_unmasked_matched_tallied_and_acknowledged() {
    for backend in backends() {
        let server = Server::start(&backend).await;
        let w = World::new(&server).await;
        let site =
            call(&w.base, "GET", &format!("/v1/sites/{}", w.site_id), &w.manager, None).await.ok();
        let log_key = w.log_key.expect("the site record names a log key");
        assert_eq!(site["log_key"].as_str(), Some(hex::encode(log_key.0).as_str()));

        let g = w.grant().await;
        let mut log = DoorLog::of(&w);
        log.append(now() as u32 - 10, AuditEvent::Boot);
        let tally = AuditEvent::Tally {
            refused: 5,
            refused_signature: 2,
            forced_open: 0,
            held_open: 0,
            egress: 3,
            last_reason: 7,
        };
        log.append(now() as u32 - 5, tally);
        log.append(now() as u32 - 4, AuditEvent::Overwritten { admissions: 3, before: 2 });
        let entry = log.append(now() as u32, admitted(&w, &g));
        let AuditEvent::Admitted { holder, .. } = entry.event else { panic!("not an admission") };
        assert_ne!(holder, w.holder.public_key().id(), "the radio record names the driver");

        let b = call(
            &w.base,
            "POST",
            "/v1/audit-batches",
            &w.driver,
            Some(log.batch(&w.site_id, 0, 4, &w.device)),
        )
        .await
        .ok();
        assert_eq!((b["admissions"].as_u64(), b["unmatched"].as_u64()), (Some(1), Some(0)), "{b}");
        assert_eq!((b["refused"].as_u64(), b["admissions_lost"].as_u64()), (Some(5), Some(3)));
        let mask = LogMask::for_door(&w.device, &log_key).unwrap();
        assert_eq!(b["log_ack"].as_str(), Some(hex::encode(mask.ack_tag(4)).as_str()));

        let alarms =
            call(&w.base, "GET", &format!("/v1/sites/{}/alarms", w.site_id), &w.manager, None)
                .await
                .ok();
        let lost: Vec<&serde_json::Value> = alarms["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["kind"] == "admissions_lost")
            .collect();
        assert_eq!(lost.len(), 1, "{alarms}");
        let detail = lost[0]["detail"].as_str().unwrap();
        assert!(detail.contains("overwrote 3 admission"), "{alarms}");
        // The text reads as one sentence (a broken line continuation once left runs of spaces).
        assert!(!detail.contains("  "), "{detail:?}");
    }
}
