//! A revocation from the manager's pages to "taken by door 1": revoke the driver (form),
//! download the list (the file `porter-root sign-state` reads), sign it with the root's
//! library, upload the signed state (form), then the door's log, carried by a phone, says the
//! door applied it, and the pages show it taken.

use porter_protocol::{
    record, AuditEvent, ChainHash, DoorId, LogHead, SiteId, Time, MAX_AUDIT_RECORD_LEN,
    MAX_LOG_HEAD_LEN, VERSION,
};
use serde_json::json;

use super::harness::{call, now};
use super::{world, PortalServer};

#[tokio::test]
async fn a_revocation_reaches_door_1_and_the_pages_say_so() {
    for backend in super::harness::backends() {
        revocation_on(&backend).await;
    }
}

async fn revocation_on(backend: &super::harness::Backend) {
    let server = PortalServer::on(backend).await;
    let w = world(&server).await;
    let manager = server.sign_in(&w.manager, "Maud").await;

    let revoked = server
        .post(
            "/portal/manager/revocations/revoke",
            &manager,
            &[("csrf", &manager.csrf), ("kind", "driver"), ("id", &w.driver_id)],
        )
        .await;
    assert_eq!(revoked.status, 303, "{}", revoked.body);
    // The server stops issuing at once.
    let refused = w.ask(&w.delivery_id, json!({"uses": 1, "lifetime_minutes": 10})).await;
    assert_eq!(refused.code(), "driver_revoked", "{}", refused.body);

    let list = server.get("/portal/manager/revocations/list.json", Some(&manager), "en").await;
    let list: porter_root::RevocationList = serde_json::from_str(&list.body).unwrap();
    let (state, _) = porter_root::sign_state(&w.root, &list, None, now() as u32).unwrap();
    let state_hex = hex::encode(&state);
    let forged = server
        .post(
            "/portal/manager/revocations/door-state",
            &manager,
            &[("csrf", "x"), ("state", &state_hex)],
        )
        .await;
    assert_eq!(forged.status, 403);
    let uploaded = server
        .post(
            "/portal/manager/revocations/door-state",
            &manager,
            &[("csrf", &manager.csrf), ("state", &state_hex)],
        )
        .await;
    assert_eq!(uploaded.status, 303, "{}", uploaded.body);
    let page = server.get("/portal/manager/revocations", Some(&manager), "en").await.body;
    assert!(
        page.contains("behind the latest") || page.contains("no signed state applied"),
        "{page}"
    );
    assert!(!page.contains("taken: state 1"), "{page}");

    // Door 1 applies state 1 and logs it; a phone uploads the log with the door's signed head.
    let site = SiteId(w.site_number);
    let mut previous = ChainHash::GENESIS;
    let mut records = Vec::new();
    for (sequence, event) in
        [AuditEvent::Boot, AuditEvent::DoorStateApplied { sequence: 1 }].into_iter().enumerate()
    {
        let r = record(site, DoorId(1), sequence as u64, Time(now() as u32), previous, event);
        let mut buf = [0u8; MAX_AUDIT_RECORD_LEN];
        let bytes = r.encode(&mut buf).unwrap().to_vec();
        previous = ChainHash::of(&bytes);
        records.push(hex::encode(bytes));
    }
    let head = LogHead {
        version: VERSION,
        site,
        door: DoorId(1),
        length: records.len() as u64,
        head: previous,
        at: Time(now() as u32),
    };
    let mut buf = [0u8; MAX_LOG_HEAD_LEN];
    let head = hex::encode(head.seal(&w.device, &mut buf).unwrap());
    let batch = json!({"site_id": w.site_id, "door_number": 1, "records": records, "head": head});
    let other_driver = w.register_driver("second phone").await;
    let token = call(
        &w.base,
        "POST",
        "/v1/tokens",
        &w.carrier,
        Some(json!({"role": "driver", "driver_id": other_driver})),
    )
    .await
    .ok();
    call(&w.base, "POST", "/v1/audit-batches", token["token"].as_str().unwrap(), Some(batch))
        .await
        .ok();

    let page = server.get("/portal/manager/revocations", Some(&manager), "en").await.body;
    assert!(page.contains("taken: state 1"), "{page}");
    let doors = server.get("/portal/manager", Some(&manager), "en").await.body;
    assert!(doors.contains("state 1 applied") && !doors.contains("behind the latest"), "{doors}");
}
