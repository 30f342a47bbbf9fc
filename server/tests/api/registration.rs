//! Driver registration: the phone proves it holds its holder key by signing a one-time server
//! challenge, and a key whose deny-list subject equals an existing driver's or issuer's is
//! refused (a door could not revoke one without the other).

use porter_protocol::DenySubject;
use serde_json::json;

use crate::harness::*;

#[tokio::test]
async fn a_driver_key_is_registered_only_with_proof_of_possession() {
    for backend in backends() {
        let server = Server::start(&backend).await;
        let w = World::new(&server).await;
        let other = World::new(&server).await;
        let phone = new_key();
        let register = |body: serde_json::Value| {
            let (base, carrier) = (w.base.clone(), w.carrier.clone());
            async move { call(&base, "POST", "/v1/drivers", &carrier, Some(body)).await }
        };
        // Any key without a proof (the old server took it).
        let r = register(json!({"holder_key": hex_key(&phone), "label": "x"})).await;
        assert_eq!(r.status, 400, "{}: {}", backend.name(), r.body);
        // A proof made by another key.
        let mut proof = possession_proof(&w.base, &w.carrier, &new_key()).await;
        proof["holder_key"] = json!(hex_key(&phone));
        proof["label"] = json!("x");
        register(proof.clone()).await.refused(400, "invalid_proof");
        // The challenge was spent by that attempt.
        let mut good = possession_proof(&w.base, &w.carrier, &phone).await;
        let spent = proof["challenge"].clone();
        let mut reused = good.clone();
        reused["challenge"] = spent;
        reused["holder_key"] = json!(hex_key(&phone));
        reused["label"] = json!("x");
        register(reused).await.refused(400, "invalid_challenge");
        // Another carrier's challenge, signed properly for it, does not serve this carrier.
        let mut foreign = possession_proof(&w.base, &other.carrier, &phone).await;
        foreign["holder_key"] = json!(hex_key(&phone));
        foreign["label"] = json!("x");
        register(foreign).await.refused(400, "invalid_challenge");
        // The real phone, on a fresh challenge.
        good["holder_key"] = json!(hex_key(&phone));
        good["label"] = json!("x");
        register(good.clone()).await.ok();
        register(good).await.refused(400, "invalid_challenge");
    }
}

#[tokio::test]
async fn a_key_whose_deny_subject_is_taken_is_refused() {
    for backend in backends() {
        let server = Server::start(&backend).await;
        let w = World::new(&server).await;
        // The same key again: its subject is the first driver's.
        let r = register_driver(&w.base, &w.carrier, &w.holder, "again").await;
        r.refused(409, "deny_subject_collision");
        assert!(r.body["message"].as_str().unwrap().contains(&w.driver_id), "{}", r.body);

        // An issuer key the test holds (inserted as the server would store it).
        let issuer = new_key();
        sqlx::query(
            "INSERT INTO issuers (id, site_id, public_key, key_id, secret_seed, next_serial,
             created_at) VALUES ($1, $2, $3, $4, $5, 1, $6)",
        )
        .bind("iss_test_collision".to_string())
        .bind(w.site_id.clone())
        .bind(hex_key(&issuer))
        .bind(hex::encode(issuer.public_key().id().0))
        .bind(hex::encode(issuer.seed()))
        .bind(now())
        .execute(server.service.store().pool())
        .await
        .unwrap();
        let r = register_driver(&w.base, &w.carrier, &issuer, "issuer key").await;
        // Whether an issuer's and a holder's subject coincide for one key is the core's rule.
        if DenySubject::issuer(&issuer.public_key()) == DenySubject::holder(&issuer.public_key()) {
            r.refused(409, "deny_subject_collision");
            assert!(r.body["message"].as_str().unwrap().contains("iss_test_collision"));
        } else {
            assert_eq!(r.status, 201, "{}", r.body);
        }
    }
}
