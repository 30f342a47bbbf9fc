//! Audit alarms rest on authenticated evidence only: made-up records beside a real signed head
//! raise nothing, real evidence raises one alarm per door, kind and sequence naming its uploader,
//! a door whose ring overwrote records resynchronises, and a repeated grant use is flagged.

use porter_protocol::{record, AuditEvent, ChainHash, DoorId, SiteId, Time, MAX_AUDIT_RECORD_LEN};
use serde_json::{json, Value};

use crate::audit::{admitted, receipt, DoorLog};
use crate::harness::*;

async fn alarms(w: &World) -> Vec<Value> {
    let a = call(&w.base, "GET", &format!("/v1/sites/{}/alarms", w.site_id), &w.manager, None)
        .await
        .ok();
    a["items"].as_array().unwrap().clone()
}

async fn upload(w: &World, batch: Value) -> Reply {
    call(&w.base, "POST", "/v1/audit-batches", &w.driver, Some(batch)).await
}

/// Encodes a record of the test site's door 1.
fn forged(site: u32, sequence: u64, previous: ChainHash, event: AuditEvent) -> Vec<u8> {
    let r = record(SiteId(site), DoorId(1), sequence, Time(now() as u32), previous, event);
    let mut buf = [0u8; MAX_AUDIT_RECORD_LEN];
    r.encode(&mut buf).unwrap().to_vec()
}

#[tokio::test]
async fn made_up_records_beside_a_real_signed_head_raise_no_alarm() {
    for backend in backends() {
        let server = Server::start(&backend).await;
        let w = World::new(&server).await;
        let mut log = DoorLog::of(&w);
        for _ in 0..3 {
            log.append(now() as u32, AuditEvent::Boot);
        }
        upload(&w, log.batch(&w.site_id, 0, 3, &w.device)).await.ok();
        // The door goes on; a phone gets its real signed head (length 5) but not the records.
        log.append(now() as u32, AuditEvent::Boot);
        log.append(now() as u32, AuditEvent::Boot);
        let head = log.head(&w.device);
        let last_verified = ChainHash::of(&log.records[2]);
        let attempts: Vec<(&str, Vec<Vec<u8>>)> = vec![
            // Records that link to the verified chain but are not the door's.
            (
                "linked fakes",
                vec![
                    forged(w.site_number, 3, last_verified, AuditEvent::Boot),
                    forged(w.site_number, 4, ChainHash([7; 32]), AuditEvent::Boot),
                ],
            ),
            // A record far ahead (the old server raised audit_gap).
            ("far ahead", vec![forged(w.site_number, 4000, ChainHash([1; 32]), AuditEvent::Boot)]),
            // A different record 1 (the old server raised audit_fork).
            (
                "rewritten past",
                vec![forged(w.site_number, 1, ChainHash([2; 32]), AuditEvent::Boot)],
            ),
            // A chain-breaking record 3.
            ("broken link", vec![forged(w.site_number, 3, ChainHash([3; 32]), AuditEvent::Boot)]),
        ];
        for round in 0..3 {
            for (what, records) in &attempts {
                let batch = json!({
                    "site_id": w.site_id, "door_number": 1, "head": head,
                    "records": records.iter().map(hex::encode).collect::<Vec<_>>(),
                });
                upload(&w, batch).await.refused(409, "unanchored_records");
                assert!(alarms(&w).await.is_empty(), "{} round {round}: {what}", backend.name());
            }
        }
        // The real records still go in.
        let b = upload(&w, log.batch(&w.site_id, 3, 5, &w.device)).await.ok();
        assert_eq!((b["accepted"].as_u64(), b["complete"].as_bool()), (Some(2), Some(true)));
        assert!(alarms(&w).await.is_empty());
    }
}

#[tokio::test]
async fn real_evidence_raises_one_alarm_naming_its_uploader() {
    for backend in backends() {
        let server = Server::start(&backend).await;
        let w = World::new(&server).await;
        let t0 = now() as u32;
        let mut log = DoorLog::of(&w);
        log.append(t0, AuditEvent::Boot);
        log.append(t0, AuditEvent::Boot);
        upload(&w, log.batch(&w.site_id, 0, 2, &w.device)).await.ok();
        // The same door signed another history (a real fork: the door's key was used twice).
        let mut other = DoorLog::of(&w);
        other.append(t0, AuditEvent::Boot);
        other.append(t0 + 7, AuditEvent::Boot);
        for _ in 0..5 {
            upload(&w, other.batch(&w.site_id, 0, 2, &w.device)).await.refused(409, "audit_fork");
            // Its head alone says the same.
            let mut head_only = log.batch(&w.site_id, 0, 0, &w.device);
            head_only["head"] = json!(other.head(&w.device));
            upload(&w, head_only).await.refused(409, "audit_fork");
        }
        let found = alarms(&w).await;
        assert_eq!(found.len(), 1, "{}: {found:?}", backend.name());
        assert_eq!(found[0]["kind"], "audit_fork");
        let detail = found[0]["detail"].as_str().unwrap();
        assert!(detail.contains(&format!("driver {}", w.driver_id)), "{detail}");
        let store = server.service.store();
        let door = store.door_by_number(&w.site_id.as_str().into(), 1).await.unwrap().unwrap();
        let by = store.record_uploader(&door.id, 0).await.unwrap().unwrap();
        assert!(by.contains(&w.driver_id), "{by}");
    }
}

#[tokio::test]
async fn a_door_whose_ring_overwrote_records_resynchronises_once() {
    for backend in backends() {
        let server = Server::start(&backend).await;
        let w = World::new(&server).await;
        let mut log = DoorLog::of(&w);
        for _ in 0..2 {
            log.append(now() as u32, AuditEvent::Boot);
        }
        upload(&w, log.batch(&w.site_id, 0, 2, &w.device)).await.ok();
        // Nobody uploads for a while; the door's ring keeps only records 6..11.
        for _ in 2..11 {
            log.append(now() as u32, AuditEvent::Boot);
        }
        for _ in 0..3 {
            let b = upload(&w, log.batch(&w.site_id, 6, 11, &w.device)).await.ok();
            assert_eq!(b["next_sequence"], 11, "{}", backend.name());
        }
        let found = alarms(&w).await;
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0]["kind"], "audit_gap");
        assert!(found[0]["detail"].as_str().unwrap().contains("records 2..=5"), "{found:?}");
        // Later batches flow again.
        log.append(now() as u32, AuditEvent::Boot);
        let b = upload(&w, log.batch(&w.site_id, 11, 12, &w.device)).await.ok();
        assert_eq!((b["accepted"].as_u64(), b["next_sequence"].as_u64()), (Some(1), Some(12)));
        assert_eq!(alarms(&w).await.len(), 1);
    }
}

#[tokio::test]
async fn a_second_admission_of_the_same_grant_use_raises_an_alarm() {
    for backend in backends() {
        let server = Server::start(&backend).await;
        let w = World::new(&server).await;
        let g = w.grant().await; // one use
        let entry = admitted(&w, &g);
        let mut log = DoorLog::of(&w);
        log.append(now() as u32, AuditEvent::Boot);
        let first = log.append(now() as u32, entry);
        let again = log.append(now() as u32 + 30, entry);
        let r = call(
            &w.base,
            "POST",
            "/v1/receipts",
            &w.driver,
            Some(json!({"site_id": w.site_id, "door_number": 1, "receipt": receipt(&first, &w.device)})),
        )
        .await
        .ok();
        assert_eq!(r["matched"], true);
        let r = call(
            &w.base,
            "POST",
            "/v1/receipts",
            &w.driver,
            Some(json!({"site_id": w.site_id, "door_number": 1, "receipt": receipt(&again, &w.device)})),
        )
        .await
        .ok();
        assert_eq!((r["matched"].as_bool(), r["grant_id"].as_str()), (Some(false), None));
        let b = upload(&w, log.batch(&w.site_id, 0, 3, &w.device)).await.ok();
        assert_eq!(b["accepted"], 3);
        let found = alarms(&w).await;
        let kinds: Vec<&str> = found.iter().map(|a| a["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["repeated_admission"], "{}", backend.name());
        let entries =
            call(&w.base, "GET", &format!("/v1/sites/{}/entries", w.site_id), &w.manager, None)
                .await
                .ok();
        let matched: Vec<bool> = entries["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["matched"].as_bool().unwrap())
            .collect();
        assert_eq!(matched, [true, false]);
    }
}
