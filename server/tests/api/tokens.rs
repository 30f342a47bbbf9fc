//! Token lifecycle: listing and revocation within the creator's scope, expiry, and the tokens
//! of retired drivers and removed residents stop working.

use serde_json::json;

use crate::harness::*;

async fn ids(w: &World, token: &str) -> Vec<String> {
    let r = call(&w.base, "GET", "/v1/tokens?limit=200", token, None).await.ok();
    r["items"].as_array().unwrap().iter().map(|t| t["role"].as_str().unwrap().to_string()).collect()
}

async fn reads(w: &World, token: &str) -> u16 {
    call(&w.base, "GET", &format!("/v1/deliveries/{}", w.delivery_id), token, None).await.status
}

#[tokio::test]
async fn tokens_are_listed_and_revoked_within_their_creators_scope_and_expire() {
    for backend in backends() {
        let server = Server::start(&backend).await;
        let w = World::new(&server).await;
        let other = World::new(&server).await;
        // Each creator sees the roles it makes, of its own scope, and never a secret.
        let mut operator_sees = ids(&w, &w.operator).await;
        operator_sees.sort();
        operator_sees.dedup();
        assert_eq!(operator_sees, ["carrier", "manager"], "{}", backend.name());
        assert_eq!(ids(&w, &w.manager).await, ["resident"]);
        assert_eq!(ids(&w, &w.carrier).await, ["driver"]);
        let listed = call(&w.base, "GET", "/v1/tokens", &w.manager, None).await.ok();
        assert!(!listed.to_string().contains(&w.resident), "a secret was listed");
        let resident_token = listed["items"][0]["id"].as_str().unwrap().to_string();
        assert!(listed["items"][0]["expires_at"].as_i64().unwrap() > now() + 80 * 86_400);

        // Another site's manager can neither see nor revoke it.
        let path = format!("/v1/tokens/{resident_token}/revoke");
        call(&w.base, "POST", &path, &other.manager, None).await.refused(404, "not_found");
        assert_eq!(call(&w.base, "GET", "/v1/me", &w.resident, None).await.status, 200);
        // Its own manager can.
        let revoked = call(&w.base, "POST", &path, &w.manager, None).await.ok();
        assert!(revoked["revoked_at"].as_i64().is_some());
        call(&w.base, "GET", "/v1/me", &w.resident, None).await.refused(401, "unauthenticated");

        // A token can revoke itself.
        let driver_tokens = call(&w.base, "GET", "/v1/tokens", &w.carrier, None).await.ok();
        let driver_token = driver_tokens["items"][0]["id"].as_str().unwrap().to_string();
        call(&w.base, "POST", &format!("/v1/tokens/{driver_token}/revoke"), &w.driver, None)
            .await
            .ok();
        assert_eq!(reads(&w, &w.driver).await, 401);

        // Tokens expire.
        let made = call(
            &w.base,
            "POST",
            "/v1/tokens",
            &w.carrier,
            Some(json!({"role": "driver", "driver_id": w.driver_id, "expires_in_seconds": 120})),
        )
        .await
        .ok();
        let short = made["token"].as_str().unwrap().to_string();
        assert!((made["expires_at"].as_i64().unwrap() - now() - 120).abs() <= 2);
        assert_eq!(reads(&w, &short).await, 200);
        sqlx::query("UPDATE api_tokens SET expires_at = $1 WHERE id = $2")
            .bind(now() - 1)
            .bind(made["id"].as_str().unwrap().to_string())
            .execute(server.service.store().pool())
            .await
            .unwrap();
        assert_eq!(reads(&w, &short).await, 401);
        call(
            &w.base,
            "POST",
            "/v1/tokens",
            &w.carrier,
            Some(json!({"role": "driver", "driver_id": w.driver_id, "expires_in_seconds": 5})),
        )
        .await
        .refused(400, "invalid_lifetime");
    }
}

#[tokio::test]
async fn retiring_a_driver_revokes_its_tokens() {
    for backend in backends() {
        let server = Server::start(&backend).await;
        let w = World::new(&server).await;
        assert_eq!(reads(&w, &w.driver).await, 200);
        call(&w.base, "POST", &format!("/v1/drivers/{}/revoke", w.driver_id), &w.carrier, None)
            .await
            .ok();
        // It reads its carrier's deliveries no more (it did, everywhere, before).
        assert_eq!(reads(&w, &w.driver).await, 401, "{}", backend.name());
        let listed = call(&w.base, "GET", "/v1/tokens", &w.carrier, None).await.ok();
        assert!(listed["items"][0]["revoked_at"].as_i64().is_some());
    }
}

#[tokio::test]
async fn removing_a_resident_revokes_their_tokens_and_forgets_them() {
    for backend in backends() {
        let server = Server::start(&backend).await;
        let w = World::new(&server).await;
        let other = World::new(&server).await;
        let path = format!("/v1/residents/{}", w.resident_id);
        assert_eq!(
            call(&w.base, "GET", "/v1/me/notifications", &w.resident, None).await.status,
            200
        );
        call(&w.base, "DELETE", &path, &other.manager, None).await.refused(404, "not_found");
        call(&w.base, "DELETE", &path, &w.manager, None).await.ok();
        call(&w.base, "GET", "/v1/me", &w.resident, None).await.refused(401, "unauthenticated");
        call(&w.base, "DELETE", &path, &w.manager, None).await.refused(404, "not_found");
        // Later announcements tell nobody.
        w.announce("AFTER-REMOVAL", now() - 60, now() + 3600).await;
        let left: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM notifications WHERE resident_id = $1")
                .bind(w.resident_id.clone())
                .fetch_one(server.service.store().pool())
                .await
                .unwrap();
        assert_eq!(left, 0, "{}", backend.name());
    }
}

/// A token row whose stored role is none the server knows (a hand-edited database) is an
/// internal error for the caller presenting it (named in the log, never a panic, never read as
/// some other role), and the answer says retrying will not help.
#[tokio::test]
async fn a_stored_role_outside_the_enum_is_an_internal_error() {
    for backend in backends() {
        let server = Server::start(&backend).await;
        let w = World::new(&server).await;
        sqlx::query("UPDATE api_tokens SET role = 'janitor' WHERE hash = $1")
            .bind(hex::encode(<sha2::Sha256 as sha2::Digest>::digest(w.manager.as_bytes())))
            .execute(server.service.store().pool())
            .await
            .unwrap();
        let refused =
            call(&w.base, "GET", &format!("/v1/sites/{}/doors", w.site_id), &w.manager, None).await;
        refused.refused(503, "internal");
        assert!(refused.body["message"].as_str().unwrap().contains("ask the operator"));
        // The server still answers everyone else.
        call(&w.base, "GET", "/v1/tokens", &w.carrier, None).await.ok();
    }
}
