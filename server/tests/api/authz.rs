//! The authorisation matrix: every role against every endpoint, and no data of another site,
//! carrier or unit ever leaks.

use porter_server::http::{endpoints, Endpoint};
use serde_json::json;

use crate::harness::*;

struct Tokens {
    by_role: Vec<(&'static str, String)>,
}

async fn tokens(w: &World) -> Tokens {
    let device = call(
        &w.base,
        "POST",
        "/v1/tokens",
        &w.manager,
        Some(json!({"role": "device", "door_id": w.door_id})),
    )
    .await
    .ok()["token"]
        .as_str()
        .unwrap()
        .to_string();
    Tokens {
        by_role: vec![
            ("operator", w.operator.clone()),
            ("manager", w.manager.clone()),
            ("carrier", w.carrier.clone()),
            ("driver", w.driver.clone()),
            ("resident", w.resident.clone()),
            ("device", device),
        ],
    }
}

/// Whether the route's declaration lets `role` through the gate.
fn allows(e: &Endpoint, role: &str) -> bool {
    e.roles.iter().any(|r| r.as_str() == role)
}

fn fill(path: &str, w: &World) -> String {
    path.replace("{site_id}", &w.site_id)
        .replace("{issuer_id}", &w.issuer_id)
        .replace("{approval_id}", &w.approval_id)
        .replace("{unit_id}", &w.unit_id)
        .replace("{delivery_id}", &w.delivery_id)
        .replace("{driver_id}", &w.driver_id)
}

#[tokio::test]
async fn every_role_against_every_endpoint() {
    for backend in backends() {
        let server = Server::start(&backend).await;
        let w = World::new(&server).await;
        let t = tokens(&w).await;
        // Retiring a driver revokes its tokens: the matrix retires a spare one.
        let spare = w.register_driver("spare").await;
        let mut checked = 0;
        for e in endpoints() {
            for (role, token) in &t.by_role {
                let path = fill(&e.path.replace("{driver_id}", &spare), &w);
                let body = if e.method == "GET" { None } else { Some(json!({})) };
                let r = call(&w.base, e.method, &path, token, body).await;
                let allowed = allows(&e, role);
                if allowed {
                    assert!(
                        ![401, 403].contains(&r.status),
                        "{} {} as {role}: allowed but got {} {}",
                        e.method,
                        e.path,
                        r.status,
                        r.body
                    );
                } else {
                    assert_eq!(
                        r.status, 403,
                        "{} {} as {role}: expected 403, got {} {}",
                        e.method, e.path, r.status, r.body
                    );
                    assert_eq!(r.code(), "forbidden");
                }
                assert!(r.status < 500, "{} {} as {role}: {}", e.method, e.path, r.status);
                checked += 1;
            }
            // No token at all.
            let r = call_raw(&w.base, e.method, &fill(e.path, &w), None, &[], b"{}").await;
            assert_eq!(r.status, 401, "{} {} without a token", e.method, e.path);
            let r = call(&w.base, e.method, &fill(e.path, &w), "pt_not-a-real-token", None).await;
            assert_eq!(r.status, 401);
        }
        assert_eq!(checked, endpoints().len() * 6);
    }
}

#[tokio::test]
async fn nothing_of_another_site_carrier_or_unit_leaks() {
    for backend in backends() {
        let server = Server::start(&backend).await;
        let a = World::new(&server).await;
        let b = World::new(&server).await;
        let ta = tokens(&a).await;
        let secrets = [
            &b.site_id,
            &b.issuer_id,
            &b.approval_id,
            &b.unit_id,
            &b.delivery_id,
            &b.door_id,
            &b.driver_id,
        ];
        for e in endpoints() {
            for (role, token) in &ta.by_role {
                if !allows(&e, role) || *role == "operator" {
                    continue;
                }
                // A's token on B's objects.
                let path = fill(e.path, &b);
                let body = if e.method == "GET" { None } else { Some(json!({})) };
                let r = call(&a.base, e.method, &path, token, body).await;
                let text = String::from_utf8_lossy(&r.raw).to_string();
                let leaked: Vec<_> = secrets.iter().filter(|s| text.contains(s.as_str())).collect();
                assert!(
                    leaked.is_empty() || !e.path.contains('{'),
                    "{} {} as {role} on B's ids leaked {leaked:?}: {text}",
                    e.method,
                    e.path
                );
                if e.path.contains('{') && e.method == "GET" {
                    assert!(
                        r.status == 404 || r.status == 403,
                        "{} {} as {role} on B: {} {text}",
                        e.method,
                        e.path,
                        r.status
                    );
                }
                // A's token on listing endpoints never shows B's objects.
                if !e.path.contains('{') && e.method == "GET" {
                    assert!(leaked.is_empty(), "{} as {role} lists B's objects: {text}", e.path);
                }
            }
        }
        // Body-less actions on B's objects are refused as not found.
        call(
            &a.base,
            "POST",
            &format!("/v1/deliveries/{}/cancel", b.delivery_id),
            &a.carrier,
            None,
        )
        .await
        .refused(404, "not_found");
        call(
            &a.base,
            "POST",
            &format!("/v1/sites/{}/approvals/{}/withdraw", b.site_id, b.approval_id),
            &a.manager,
            None,
        )
        .await
        .refused(404, "not_found");
        call(&a.base, "POST", &format!("/v1/sites/{}/issuers", b.site_id), &a.manager, None)
            .await
            .refused(404, "not_found");
        call(
            &a.base,
            "POST",
            &format!("/v1/sites/{}/units", b.site_id),
            &a.manager,
            Some(json!({"label": "9Z"})),
        )
        .await
        .refused(404, "not_found");
        call(
            &a.base,
            "POST",
            "/v1/tokens",
            &a.manager,
            Some(json!({"role": "resident", "resident_id": b.resident_id})),
        )
        .await
        .refused(404, "not_found");
        call(
            &a.base,
            "POST",
            "/v1/tokens",
            &a.carrier,
            Some(json!({"role": "driver", "driver_id": b.driver_id})),
        )
        .await
        .refused(404, "not_found");
        call(
            &a.base,
            "POST",
            "/v1/tokens",
            &a.manager,
            Some(json!({"role": "manager", "site_id": a.site_id})),
        )
        .await
        .refused(403, "forbidden");
        // Carriers are a directory managers choose from, but a carrier sees only itself.
        let listed = call(&a.base, "GET", "/v1/carriers", &a.carrier, None).await.ok().to_string();
        assert!(listed.contains(&a.carrier_id) && !listed.contains(&b.carrier_id));
        // A resident sees only their unit's deliveries and notifications.
        let mine = call(&a.base, "GET", "/v1/deliveries", &a.resident, None).await.ok();
        assert!(mine["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["unit_id"] == a.unit_id.as_str()));
        let notes =
            call(&a.base, "GET", "/v1/me/notifications", &a.resident, None).await.ok().to_string();
        assert!(notes.contains(&a.delivery_id) && !notes.contains(&b.delivery_id));
    }
}

#[tokio::test]
async fn pagination_and_rate_limits() {
    let server = Server::start_with(&Backend::Sqlite, 10_000).await;
    let w = World::new(&server).await;
    for i in 0..5 {
        w.announce(&format!("PAGE-{i}"), now() - 60, now() + 3600).await;
    }
    let mut seen = Vec::new();
    let mut path = "/v1/deliveries?limit=2".to_string();
    loop {
        let page = call(&w.base, "GET", &path, &w.carrier, None).await.ok();
        for d in page["items"].as_array().unwrap() {
            seen.push(d["id"].as_str().unwrap().to_string());
        }
        match page["next"].as_str() {
            Some(next) => path = format!("/v1/deliveries?limit=2&after={next}"),
            None => break,
        }
    }
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!((seen.len(), sorted.len()), (6, 6));
    call(&w.base, "GET", "/v1/deliveries?limit=0", &w.carrier, None)
        .await
        .refused(400, "invalid_limit");
    call(&w.base, "GET", "/v1/deliveries?limit=x", &w.carrier, None)
        .await
        .refused(400, "invalid_limit");

    let server = Server::start_with(&Backend::Sqlite, 30).await;
    let op = server.operator().await;
    let start = std::time::Instant::now();
    let mut limited = Vec::new();
    for _ in 0..40 {
        let r = call(&server.base, "GET", "/v1/sites", &op, None).await;
        if r.status == 429 {
            limited.push(r);
        }
    }
    // 30 in the bucket, refilled at one every 2 s: at least 10 - (elapsed / 2 s) are refused.
    let refills = start.elapsed().as_secs() as usize / 2 + 1;
    assert!(limited.len() + refills >= 10, "only {} of 40 requests limited", limited.len());
    limited[0].refused(429, "rate_limited");
    // Another token has its own budget.
    let other = server.operator().await;
    call(&server.base, "GET", "/v1/sites", &other, None).await.ok();
}
