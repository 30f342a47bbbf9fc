//! A process decides a grant on the caller's token, the driver and the delivery as it read
//! them for an earlier grant: a change made through another process, or by hand in SQL, binds
//! the very next grant request all the same (the group commit confirms the token and driver
//! and claims the delivery under its row lock; a refusal decided on remembered rows is decided
//! again on fresh ones).

use porter_server::Store;
use serde_json::json;

use super::{operator_token, postgres, Proc};
use crate::harness::*;

fn grant_body() -> serde_json::Value {
    json!({"uses": 1, "lifetime_minutes": 5})
}

async fn ask(base: &str, driver: &str, delivery: &str, idem: Option<&str>) -> Reply {
    let path = format!("/v1/deliveries/{delivery}/grants");
    let headers: Vec<(&str, &str)> = idem.map(|k| ("Idempotency-Key", k)).into_iter().collect();
    let body = grant_body().to_string().into_bytes();
    call_raw(base, "POST", &path, Some(driver), &headers, &body).await
}

async fn setup(base: &str, url: &str) -> World {
    World::setup(
        base,
        &operator_token(url),
        cert_options(),
        json!({"max_uses": 4, "max_lifetime_minutes": 15}),
    )
    .await
}

#[tokio::test]
async fn a_delivery_cancelled_or_a_token_revoked_through_one_process_binds_the_other_at_once() {
    let Some(pg) = postgres() else { return };
    let url = fresh_database(&pg).await;
    let a = Proc::start(&url, &[]);
    let b = Proc::start(&url, &[]);
    let w = setup(&a.base, &url).await;
    let d1 = w.announce("ROWS-1", now() - 60, now() + 3600).await;
    let d2 = w.announce("ROWS-2", now() - 60, now() + 3600).await;
    // B issues: it now remembers the token, the driver and the delivery.
    ask(&b.base, &w.driver, &d1, None).await.ok();

    // Cancelled through A: B refuses with the delivery's real state, not a stale "exhausted".
    call(&a.base, "POST", &format!("/v1/deliveries/{d1}/cancel"), &w.carrier, None).await.ok();
    ask(&b.base, &w.driver, &d1, None).await.refused(422, "delivery_not_open");

    // The driver's token revoked through A: B's very next request is unauthenticated.
    ask(&b.base, &w.driver, &d2, None).await.ok();
    let tokens = call(&a.base, "GET", "/v1/tokens?limit=100", &w.carrier, None).await.ok();
    let token = tokens["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["driver_id"] == w.driver_id.as_str())
        .expect("the driver's token is in its carrier's scope")["id"]
        .as_str()
        .unwrap()
        .to_string();
    call(&a.base, "POST", &format!("/v1/tokens/{token}/revoke"), &w.carrier, None).await.ok();
    ask(&b.base, &w.driver, &d2, None).await.refused(401, "unauthenticated");
    let store = Store::connect(&url).await.unwrap();
    assert_eq!(store.all_grants().await.unwrap().len(), 2, "nothing issued after the change");
}

#[tokio::test]
async fn a_driver_or_token_revoked_in_sql_binds_the_next_grant_and_replay() {
    for backend in backends() {
        let url = fresh_database(&backend).await;
        let p = Proc::start(&url, &[]);
        let w = setup(&p.base, &url).await;
        let (d1, d2) = (
            w.announce("BYHAND-1", now() - 60, now() + 3600).await,
            w.announce("BYHAND-2", now() - 60, now() + 3600).await,
        );
        ask(&p.base, &w.driver, &d1, Some("key-1")).await.ok();
        let store = Store::connect(&url).await.unwrap();
        let sql = |statement: &'static str| {
            let (pool, driver) = (store.pool().clone(), w.driver_id.clone());
            async move { sqlx::query(statement).bind(driver).execute(&pool).await.unwrap() }
        };
        // The driver retired by hand (its token left live): refused as revoked.
        sql("UPDATE drivers SET revoked_at = 1 WHERE id = $1").await;
        ask(&p.base, &w.driver, &d2, None).await.refused(422, "driver_revoked");
        // Reinstated by hand: the refusal was not remembered.
        sql("UPDATE drivers SET revoked_at = NULL WHERE id = $1").await;
        ask(&p.base, &w.driver, &d2, None).await.ok();
        // The token revoked by hand: no replay of an earlier grant, and no new one either.
        sql("UPDATE api_tokens SET revoked_at = 1 WHERE driver_id = $1").await;
        ask(&p.base, &w.driver, &d1, Some("key-1")).await.refused(401, "unauthenticated");
        ask(&p.base, &w.driver, &d2, None).await.refused(401, "unauthenticated");
        assert_eq!(store.all_grants().await.unwrap().len(), 2, "{}", backend.name());
    }
}

/// A process remembers a delivery it announced (the driver's first grant then needs no read of
/// it): the delivery cancelled or entered by hand afterwards still binds that first grant.
#[tokio::test]
async fn a_delivery_changed_in_sql_after_this_process_announced_it_binds_the_first_grant() {
    for backend in backends() {
        let url = fresh_database(&backend).await;
        let p = Proc::start(&url, &[]);
        let w = setup(&p.base, &url).await;
        let (cancelled, entered) = (
            w.announce("KEPT-1", now() - 60, now() + 3600).await,
            w.announce("KEPT-2", now() - 60, now() + 3600).await,
        );
        let store = Store::connect(&url).await.unwrap();
        let sql = |statement: &'static str, id: String| {
            let pool = store.pool().clone();
            async move { sqlx::query(statement).bind(id).execute(&pool).await.unwrap() }
        };
        sql("UPDATE deliveries SET status = 'cancelled' WHERE id = $1", cancelled.clone()).await;
        sql("UPDATE deliveries SET entered_at = 1 WHERE id = $1", entered.clone()).await;
        ask(&p.base, &w.driver, &cancelled, None).await.refused(422, "delivery_not_open");
        ask(&p.base, &w.driver, &entered, None).await.refused(422, "delivery_entered");
        assert_eq!(store.all_grants().await.unwrap().len(), 0, "{}", backend.name());
    }
}
