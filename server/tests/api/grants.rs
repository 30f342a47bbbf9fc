//! Every grant rule and its refusal, on every backend; a grant the server issues opens the door.

use porter_protocol::{
    present, Challenge, Decision, DoorConfig, DoorId, DoorMemory, SiteId, Time,
    MAX_PRESENTATION_LEN,
};
use porter_root as root;
use serde_json::json;

use crate::harness::*;

/// The door's verdict on a grant the server issued, presented by the driver's key.
pub fn door_admits(w: &World, grant: &serde_json::Value, door_state: Option<&[u8]>) -> Decision {
    let config = DoorConfig {
        site: SiteId(w.site_number),
        door: DoorId(1),
        root: w.root.key.public_key(),
        clock_skew: 60,
        challenge_lifetime: 30,
    };
    let mut memory: DoorMemory = DoorMemory::new(SiteId(w.site_number), Time(0));
    let at = Time(now() as u32);
    let challenge = Challenge::new(SiteId(w.site_number), DoorId(1), rand::random(), at);
    let grant_bytes = hex::decode(grant["grant"].as_str().unwrap()).unwrap();
    let cert = hex::decode(grant["certificate"].as_str().unwrap()).unwrap();
    let mut buf = vec![0u8; MAX_PRESENTATION_LEN];
    let p = present(&w.holder, &challenge, &grant_bytes, &cert, door_state, &mut buf).unwrap();
    memory.admit(&config, at, &challenge, p)
}

#[tokio::test]
async fn an_issued_grant_opens_the_door_and_serials_never_overlap() {
    for backend in backends() {
        let server = Server::start(&backend).await;
        let w = World::new(&server).await;
        let g = w.grant().await;
        assert!(matches!(door_admits(&w, &g, None), Decision::Admit(_)), "{}", backend.name());
        assert_eq!(g["doors"], json!([1]));
        assert!(g["not_after"].as_u64().unwrap() - g["not_before"].as_u64().unwrap() <= 600);

        // Residents see the building's delivery-access policy.
        let policy =
            call(&w.base, "GET", &format!("/v1/sites/{}/policy", w.site_id), &w.resident, None)
                .await
                .ok();
        assert_eq!(
            policy,
            json!([{"carrier": "Rapid Parcel", "doors": [1], "max_uses": 4, "max_lifetime_minutes": 15, "hours": [127, 0, 1440]}])
        );

        // A grant with `uses` entries owns serial .. serial + uses.
        let a = w.ask(&w.delivery_id, json!({"uses": 3, "lifetime_minutes": 5})).await.ok();
        let b = w.ask(&w.delivery_id, json!({"uses": 2, "lifetime_minutes": 5})).await.ok();
        let (s0, sa, sb) = (
            g["serial"].as_u64().unwrap(),
            a["serial"].as_u64().unwrap(),
            b["serial"].as_u64().unwrap(),
        );
        assert_eq!((sa, sb), (s0 + 1, s0 + 4), "{}", backend.name());
    }
}

#[tokio::test]
async fn grants_are_refused_outside_the_rules() {
    for backend in backends() {
        let server = Server::start(&backend).await;
        let w = World::new(&server).await;
        let n = backend.name();
        // Limits of the approval (4 uses, 15 minutes, door 1).
        w.ask(&w.delivery_id, json!({"uses": 5, "lifetime_minutes": 5}))
            .await
            .refused(422, "too_many_uses");
        w.ask(&w.delivery_id, json!({"uses": 0, "lifetime_minutes": 5}))
            .await
            .refused(422, "too_many_uses");
        w.ask(&w.delivery_id, json!({"uses": 1, "lifetime_minutes": 16}))
            .await
            .refused(422, "lifetime_too_long");
        w.ask(&w.delivery_id, json!({"uses": 1, "lifetime_minutes": 0}))
            .await
            .refused(422, "lifetime_too_long");
        w.ask(&w.delivery_id, json!({"uses": 1, "lifetime_minutes": 5, "doors": [2]}))
            .await
            .refused(422, "door_not_allowed");
        w.ask(&w.delivery_id, json!({"uses": 1, "lifetime_minutes": 5, "doors": [1, 2, 3, 4, 5]}))
            .await
            .refused(400, "too_many_doors");

        // Windows that make no sense, down to the extremes of the integer range.
        for (start, end) in
            [(i64::MIN, i64::MAX), (now() + 10, now()), (now() - 10, now() + 8 * 86_400), (0, 1)]
        {
            call(&w.base, "POST", "/v1/deliveries", &w.carrier, Some(json!({
                "site_id": w.site_id, "unit": "4B", "tracking_number": "W", "window_start": start, "window_end": end
            })))
            .await
            .refused(400, "invalid_window");
        }

        // Not in its window yet, and over.
        let later = w.announce("LATER-1", now() + 3600, now() + 7200).await;
        w.ask(&later, json!({"uses": 1, "lifetime_minutes": 5}))
            .await
            .refused(422, "outside_delivery_window");

        // Cancelled.
        let cancelled = w.announce("CANCEL-1", now() - 60, now() + 3600).await;
        call(&w.base, "POST", &format!("/v1/deliveries/{cancelled}/cancel"), &w.carrier, None)
            .await
            .ok();
        w.ask(&cancelled, json!({"uses": 1, "lifetime_minutes": 5}))
            .await
            .refused(422, "delivery_not_open");

        // The resident opted out, then back in.
        call(&w.base, "PUT", "/v1/me/opt-out", &w.resident, Some(json!({"opted_out": true})))
            .await
            .ok();
        w.ask(&w.delivery_id, json!({"uses": 1, "lifetime_minutes": 5}))
            .await
            .refused(422, "resident_opted_out");
        call(&w.base, "PUT", "/v1/me/opt-out", &w.resident, Some(json!({"opted_out": false})))
            .await
            .ok();
        w.ask(&w.delivery_id, json!({"uses": 1, "lifetime_minutes": 5})).await.ok();

        // Another carrier's driver cannot even see the delivery.
        let other =
            call(&w.base, "POST", "/v1/carriers", &w.operator, Some(json!({"name": "Other"})))
                .await
                .ok();
        let other_tok = call(
            &w.base,
            "POST",
            "/v1/tokens",
            &w.operator,
            Some(json!({"role": "carrier", "carrier_id": other["id"]})),
        )
        .await
        .ok()["token"]
            .as_str()
            .unwrap()
            .to_string();
        let k = new_key();
        let d = register_driver(&w.base, &other_tok, &k, "x").await.ok();
        let dtok = call(
            &w.base,
            "POST",
            "/v1/tokens",
            &other_tok,
            Some(json!({"role": "driver", "driver_id": d["id"]})),
        )
        .await
        .ok()["token"]
            .as_str()
            .unwrap()
            .to_string();
        call(
            &w.base,
            "POST",
            &format!("/v1/deliveries/{}/grants", w.delivery_id),
            &dtok,
            Some(json!({"uses": 1, "lifetime_minutes": 5})),
        )
        .await
        .refused(404, "not_found");

        // Another carrier cannot retire our driver.
        call(&w.base, "POST", &format!("/v1/drivers/{}/revoke", w.driver_id), &other_tok, None)
            .await
            .refused(404, "not_found");
        w.ask(&w.delivery_id, json!({"uses": 1, "lifetime_minutes": 5})).await.ok();

        // The manager finds the driver through the site's grants (no names there).
        let grants =
            call(&w.base, "GET", &format!("/v1/sites/{}/grants", w.site_id), &w.manager, None)
                .await
                .ok();
        assert!(grants["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|g| g["driver_id"] == w.driver_id.as_str()));
        assert!(!grants.to_string().contains("van 7"));

        // Revoking the driver at the site stops grants at once.
        call(
            &w.base,
            "POST",
            &format!("/v1/sites/{}/revocations", w.site_id),
            &w.manager,
            Some(json!({"kind": "driver", "id": w.driver_id})),
        )
        .await
        .ok();
        w.ask(&w.delivery_id, json!({"uses": 1, "lifetime_minutes": 5}))
            .await
            .refused(422, "driver_revoked");
        // Retired by its own carrier: refused at every site, its tokens revoked with it.
        let w2 = World::new(&server).await;
        call(&w2.base, "POST", &format!("/v1/drivers/{}/revoke", w2.driver_id), &w2.carrier, None)
            .await
            .ok();
        w2.ask(&w2.delivery_id, json!({"uses": 1, "lifetime_minutes": 5}))
            .await
            .refused(401, "unauthenticated");
        eprintln!("{n}: refusals ok");
    }
}

/// The site's manager withdraws the world's carrier approval.
async fn withdraw_approval(w: &World) {
    let path = format!("/v1/sites/{}/approvals/{}/withdraw", w.site_id, w.approval_id);
    call(&w.base, "POST", &path, &w.manager, None).await.ok();
}

#[tokio::test]
async fn revoked_issuers_and_withdrawn_approvals_issue_nothing() {
    for backend in backends() {
        let server = Server::start(&backend).await;
        let w = World::new(&server).await;
        call(
            &w.base,
            "POST",
            &format!("/v1/sites/{}/revocations", w.site_id),
            &w.manager,
            Some(json!({"kind": "issuer", "id": w.issuer_id})),
        )
        .await
        .ok();
        w.ask(&w.delivery_id, json!({"uses": 1, "lifetime_minutes": 5}))
            .await
            .refused(422, "issuer_revoked");

        let w = World::new(&server).await;
        withdraw_approval(&w).await;
        w.ask(&w.delivery_id, json!({"uses": 1, "lifetime_minutes": 5}))
            .await
            .refused(422, "carrier_not_approved");
    }
}

#[tokio::test]
async fn an_approval_is_withdrawn_at_a_site_with_more_than_a_thousand() {
    // The withdrawal looked for the approval among the site's first 1,000 in id order: at a
    // busy site a later approval was "not found", and its carrier kept getting grants.
    for backend in backends() {
        let server = Server::start(&backend).await;
        let w = World::new(&server).await;
        let pool = server.service.store().pool();
        for i in 0..1000 {
            // Ids that sort before the world's `apr_...` approval.
            let carrier = format!("aaa_carrier_{i:04}");
            sqlx::query("INSERT INTO carriers (id, name, created_at) VALUES ($1, $1, 0)")
                .bind(carrier.clone())
                .execute(pool)
                .await
                .unwrap();
            sqlx::query(
                "INSERT INTO approvals (id, site_id, carrier_id, issuer_id, doors, max_uses,
                     max_lifetime_minutes, revoked_at, created_at)
                 SELECT $1, site_id, $2, issuer_id, doors, max_uses, max_lifetime_minutes, NULL,
                     created_at
                 FROM approvals WHERE id = $3",
            )
            .bind(format!("aaa_approval_{i:04}"))
            .bind(carrier)
            .bind(w.approval_id.clone())
            .execute(pool)
            .await
            .unwrap();
        }
        withdraw_approval(&w).await;
        w.ask(&w.delivery_id, json!({"uses": 1, "lifetime_minutes": 5}))
            .await
            .refused(422, "carrier_not_approved");
    }
}

#[tokio::test]
async fn the_certificate_bounds_every_grant() {
    for backend in backends() {
        let server = Server::start(&backend).await;
        // Certificate tighter than the approval: 2 uses, 5 minutes.
        let mut cert = cert_options();
        cert.max_uses = 2;
        cert.max_grant_lifetime = 300;
        let w =
            World::with(&server, cert, json!({"max_uses": 4, "max_lifetime_minutes": 15})).await;
        w.ask(&w.delivery_id, json!({"uses": 3, "lifetime_minutes": 5}))
            .await
            .refused(422, "too_many_uses");
        w.ask(&w.delivery_id, json!({"uses": 2, "lifetime_minutes": 6}))
            .await
            .refused(422, "lifetime_too_long");
        w.ask(&w.delivery_id, json!({"uses": 2, "lifetime_minutes": 5})).await.ok();

        // Hours: every day but today.
        let mut cert = cert_options();
        cert.weekdays = 0x7f & !today_bit();
        let w =
            World::with(&server, cert, json!({"max_uses": 4, "max_lifetime_minutes": 15})).await;
        w.ask(&w.delivery_id, json!({"uses": 1, "lifetime_minutes": 5}))
            .await
            .refused(422, "outside_hours");

        // Doors: the certificate allows door 2 only.
        let mut cert = cert_options();
        cert.doors = Some(vec![2]);
        let w =
            World::with(&server, cert, json!({"max_uses": 4, "max_lifetime_minutes": 15})).await;
        w.ask(&w.delivery_id, json!({"uses": 1, "lifetime_minutes": 5, "doors": [1]}))
            .await
            .refused(422, "door_not_allowed");

        // Expired certificate.
        let mut cert = cert_options();
        cert.not_before = now() as u32 - 7200;
        cert.not_after = now() as u32 - 3600;
        let w =
            World::with(&server, cert, json!({"max_uses": 4, "max_lifetime_minutes": 15})).await;
        w.ask(&w.delivery_id, json!({"uses": 1, "lifetime_minutes": 5}))
            .await
            .refused(422, "certificate_expired");
    }
}

#[tokio::test]
async fn signed_door_state_binds_the_server_and_travels_with_the_grant() {
    for backend in backends() {
        let server = Server::start(&backend).await;
        let w = World::new(&server).await;
        let g = w.grant().await;
        // Revoke the grant, sign the next state offline from the server's list, upload it.
        call(
            &w.base,
            "POST",
            &format!("/v1/sites/{}/revocations", w.site_id),
            &w.manager,
            Some(json!({"kind": "grant", "id": g["id"]})),
        )
        .await
        .ok();
        let list =
            call(&w.base, "GET", &format!("/v1/sites/{}/revocations", w.site_id), &w.manager, None)
                .await
                .ok();
        let list: porter_root::RevocationList = serde_json::from_value(list).unwrap();
        let (state, raised) = root::sign_state(&w.root, &list, None, now() as u32).unwrap();
        assert!(raised.is_empty());
        call(
            &w.base,
            "POST",
            &format!("/v1/sites/{}/door-states", w.site_id),
            &w.manager,
            Some(json!({"state": hex::encode(&state)})),
        )
        .await
        .ok();
        // The same sequence again, and a state signed by another root, are refused.
        call(
            &w.base,
            "POST",
            &format!("/v1/sites/{}/door-states", w.site_id),
            &w.manager,
            Some(json!({"state": hex::encode(&state)})),
        )
        .await
        .refused(409, "state_not_newer");
        let stranger = root::init(&temp_dir("r").join("k"), Some(w.site_number)).unwrap();
        let (forged, _) = root::sign_state(&stranger, &list, Some(9), now() as u32).unwrap();
        call(
            &w.base,
            "POST",
            &format!("/v1/sites/{}/door-states", w.site_id),
            &w.manager,
            Some(json!({"state": hex::encode(forged)})),
        )
        .await
        .refused(400, "invalid_state");

        // The driver's phone fetches the newest state; the door refuses the revoked grant.
        let latest = call(
            &w.base,
            "GET",
            &format!("/v1/sites/{}/door-states/latest", w.site_id),
            &w.driver,
            None,
        )
        .await
        .ok();
        assert_eq!(latest["sequence"], 1);
        let carried = hex::decode(latest["state"].as_str().unwrap()).unwrap();
        assert_eq!(
            door_admits(&w, &g, Some(&carried)),
            Decision::Reject(porter_protocol::Error::GrantRevoked)
        );
        // A new grant comes with the state and still opens the door.
        let g2 = w.grant().await;
        assert_eq!(g2["door_state"].as_str().unwrap(), latest["state"].as_str().unwrap());
        assert!(matches!(door_admits(&w, &g2, Some(&carried)), Decision::Admit(_)));

        // A certificate epoch fence above the issuer's epoch (1) stops issuance until the
        // root certifies the issuer again.
        let mut epoch_fenced = list.clone();
        epoch_fenced.cert_epoch_fence = 2;
        epoch_fenced.current_sequence = 1;
        let (state, _) = root::sign_state(&w.root, &epoch_fenced, Some(2), now() as u32).unwrap();
        call(
            &w.base,
            "POST",
            &format!("/v1/sites/{}/door-states", w.site_id),
            &w.manager,
            Some(json!({"state": hex::encode(state)})),
        )
        .await
        .ok();
        w.ask(&w.delivery_id, json!({"uses": 1, "lifetime_minutes": 5}))
            .await
            .refused(422, "certificate_fenced");
        let mut recert = cert_options();
        recert.epoch = 2;
        let cert = root::certify_issuer(&w.root, w.issuer_key, &recert).unwrap();
        call(
            &w.base,
            "PUT",
            &format!("/v1/sites/{}/issuers/{}/certificate", w.site_id, w.issuer_id),
            &w.manager,
            Some(json!({"certificate": hex::encode(cert)})),
        )
        .await
        .ok();
        w.ask(&w.delivery_id, json!({"uses": 1, "lifetime_minutes": 5})).await.ok();

        // A grant fence in the future stops all issuance.
        let mut fenced = list.clone();
        fenced.grant_fence = now() + 3600;
        fenced.cert_epoch_fence = 2;
        fenced.current_sequence = 2;
        let (state, _) = root::sign_state(&w.root, &fenced, None, now() as u32).unwrap();
        call(
            &w.base,
            "POST",
            &format!("/v1/sites/{}/door-states", w.site_id),
            &w.manager,
            Some(json!({"state": hex::encode(state)})),
        )
        .await
        .ok();
        w.ask(&w.delivery_id, json!({"uses": 1, "lifetime_minutes": 5}))
            .await
            .refused(422, "grant_fenced");
    }
}

#[tokio::test]
async fn idempotency_keys_replay_the_first_answer() {
    for backend in backends() {
        let server = Server::start(&backend).await;
        let w = World::new(&server).await;
        let path = format!("/v1/deliveries/{}/grants", w.delivery_id);
        let body = json!({"uses": 1, "lifetime_minutes": 5}).to_string();
        let first = call_raw(
            &w.base,
            "POST",
            &path,
            Some(&w.driver),
            &[("Idempotency-Key", "k-1")],
            body.as_bytes(),
        )
        .await;
        let again = call_raw(
            &w.base,
            "POST",
            &path,
            Some(&w.driver),
            &[("Idempotency-Key", "k-1")],
            body.as_bytes(),
        )
        .await;
        assert_eq!(first.status, 201);
        assert_eq!(first.body, again.body, "{}", backend.name());
        let other = json!({"uses": 2, "lifetime_minutes": 5}).to_string();
        call_raw(
            &w.base,
            "POST",
            &path,
            Some(&w.driver),
            &[("Idempotency-Key", "k-1")],
            other.as_bytes(),
        )
        .await
        .refused(409, "idempotency_key_reused");
        let fresh = call_raw(
            &w.base,
            "POST",
            &path,
            Some(&w.driver),
            &[("Idempotency-Key", "k-2")],
            body.as_bytes(),
        )
        .await
        .ok();
        assert_ne!(fresh["serial"], first.body["serial"]);
    }
}

#[tokio::test]
async fn weak_holder_keys_are_refused_and_tracking_numbers_are_never_stored() {
    let server = Server::start(&Backend::Sqlite).await;
    let w = World::new(&server).await;
    // The identity point and a non-canonical encoding.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    for key in [hex::encode(identity), "ff".repeat(32), "00".repeat(31)] {
        let r = call(
            &w.base,
            "POST",
            "/v1/drivers",
            &w.carrier,
            Some(json!({
                "holder_key": key, "label": "x",
                "challenge": "00".repeat(32), "signature": "00".repeat(64)
            })),
        )
        .await;
        assert_eq!(r.status, 400, "{key}: {}", r.body);
    }
    let tracking = "TRACK-SECRET-0042";
    w.announce(tracking, now() - 60, now() + 3600).await;
    let url = server.database_url.strip_prefix("sqlite://").unwrap().to_string();
    let dir = std::path::Path::new(&url).parent().unwrap();
    for entry in std::fs::read_dir(dir).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        assert!(!bytes.windows(tracking.len()).any(|w| w == tracking.as_bytes()));
    }
}

#[tokio::test]
async fn issuer_keys_are_sealed_at_rest_when_a_secret_is_configured() {
    for backend in backends() {
        let url = fresh_database(&backend).await;
        let server = Server::on(&backend, &url, 10_000, Some([7; 32])).await;
        let w = World::new(&server).await;
        w.grant().await;
        let issuer =
            server.service.store().issuer(&w.issuer_id.as_str().into()).await.unwrap().unwrap();
        assert!(issuer.secret_seed.starts_with("enc1:"), "{}", issuer.secret_seed);
        // The same database without the secret, or with another, signs nothing.
        for secret in [None, Some([8; 32])] {
            let other = Server::on(&backend, &url, 10_000, secret).await;
            let r = call(
                &other.base,
                "POST",
                &format!("/v1/deliveries/{}/grants", w.delivery_id),
                &w.driver,
                Some(json!({"uses": 1, "lifetime_minutes": 5})),
            )
            .await;
            r.refused(503, "issuer_key_locked");
        }
    }
}

/// Grant issuance rate, printed (run with `--ignored --nocapture`): sequential and 8 at a time.
#[tokio::test]
#[ignore = "a measurement, not a check"]
async fn measure_grant_issuance_rate() {
    for backend in backends() {
        let server = Server::start(&backend).await;
        let w = World::new(&server).await;
        let n: usize = 200;
        // A delivery yields at most MAX_GRANTS_PER_DELIVERY (4) grants: announce enough first.
        let mut deliveries = Vec::new();
        let per_task = (n / 8).div_ceil(4);
        for k in 0..n / 4 + 8 * per_task {
            deliveries.push(w.announce(&format!("MEASURE-{k}"), now() - 60, now() + 3600).await);
        }
        let start = std::time::Instant::now();
        for k in 0..n {
            w.ask(&deliveries[k / 4], json!({"uses": 1, "lifetime_minutes": 5})).await.ok();
        }
        let sequential = n as f64 / start.elapsed().as_secs_f64();
        let start = std::time::Instant::now();
        let mut tasks = Vec::new();
        for t in 0..8 {
            let (base, driver) = (w.base.clone(), w.driver.clone());
            let mine: Vec<String> =
                deliveries[n / 4 + t * per_task..n / 4 + (t + 1) * per_task].to_vec();
            tasks.push(tokio::spawn(async move {
                for k in 0..n / 8 {
                    let delivery = &mine[k / 4];
                    call(
                        &base,
                        "POST",
                        &format!("/v1/deliveries/{delivery}/grants"),
                        &driver,
                        Some(json!({"uses": 1, "lifetime_minutes": 5})),
                    )
                    .await
                    .ok();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let parallel = n as f64 / start.elapsed().as_secs_f64();
        println!(
            "{}: {sequential:.0} grants/s one at a time, {parallel:.0} grants/s 8 at a time",
            backend.name()
        );
    }
}
