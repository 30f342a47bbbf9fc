//! A site's webhook endpoints as a resource: deleting one (which frees its place under the cap
//! and stops its deliveries), and the cap holding under concurrent creates.

use porter_server::outbox::{Outbox, Policy};
use serde_json::json;

use crate::harness::*;

async fn add(w: &World, url: &str) -> Reply {
    call(
        &w.base,
        "POST",
        &format!("/v1/sites/{}/webhooks", w.site_id),
        &w.manager,
        Some(json!({ "url": url })),
    )
    .await
}

fn hook_path(site: &str, hook: &str) -> String {
    format!("/v1/sites/{site}/webhooks/{hook}")
}

/// Many creates at once: exactly ten endpoints exist afterwards. On PostgreSQL each create used
/// to count the others' uncommitted rows as absent, and the site ended with eleven.
#[tokio::test]
async fn concurrent_creates_stop_at_exactly_ten_endpoints() {
    for backend in backends() {
        let server = Server::start(&backend).await;
        let w = World::new(&server).await;
        let replies = futures_util::future::join_all((0..40).map(|n| {
            let w = &w;
            async move { add(w, &format!("https://hooks.example.com/{n}")).await }
        }))
        .await;
        let created = replies.iter().filter(|r| r.status == 201).count();
        for r in replies.iter().filter(|r| r.status != 201) {
            r.refused(409, "too_many_webhooks");
        }
        assert_eq!(created, 10, "{}: endpoints created by 40 concurrent requests", backend.name());
    }
}

/// A manager deletes its site's endpoint: another site's manager cannot (not found), other
/// roles are refused, the deleted endpoint is sent nothing more (also what was queued for it),
/// and its place under the cap is free again.
#[tokio::test]
async fn a_deleted_webhook_endpoint_gets_no_further_deliveries() {
    for backend in backends() {
        let server = Server::start(&backend).await;
        let w = World::new(&server).await;
        let other = World::new(&server).await;
        let rx = Receiver::start(true).await;
        let hook = add(&w, &rx.url).await.ok();
        let id = hook["id"].as_str().unwrap();
        let outbox =
            Outbox::new(server.service.clone(), Policy { backoff_base: 1, lease: 60 }).unwrap();

        // It works: one announcement, one message.
        w.announce("DEL-1", now() - 60, now() + 3600).await;
        outbox.deliver_due().await.unwrap();
        assert_eq!(rx.received().len(), 1, "{}", backend.name());

        // Another site's manager does not see it; a resident of the site may not delete.
        call(&w.base, "DELETE", &hook_path(&other.site_id, id), &other.manager, None)
            .await
            .refused(404, "not_found");
        call(&w.base, "DELETE", &hook_path(&w.site_id, id), &other.manager, None)
            .await
            .refused(404, "not_found");
        call(&w.base, "DELETE", &hook_path(&w.site_id, id), &w.resident, None)
            .await
            .refused(403, "forbidden");

        // Queued for it, then deleted: never sent.
        w.announce("DEL-2", now() - 60, now() + 3600).await;
        let deleted =
            call(&w.base, "DELETE", &hook_path(&w.site_id, id), &w.manager, None).await.ok();
        assert_eq!(
            (deleted["id"].as_str(), deleted["url"].as_str()),
            (Some(id), Some(rx.url.as_str()))
        );
        assert!(deleted.get("secret").is_none(), "{deleted}");
        w.announce("DEL-3", now() - 60, now() + 3600).await;
        outbox.deliver_due().await.unwrap();
        assert_eq!(rx.received().len(), 1, "{}: a deleted endpoint was sent to", backend.name());
        call(&w.base, "DELETE", &hook_path(&w.site_id, id), &w.manager, None)
            .await
            .refused(404, "not_found");

        // Deleting frees a place under the cap.
        let mut ids = Vec::new();
        for n in 0..10 {
            ids.push(add(&w, &format!("https://hooks.example.com/{n}")).await.ok()["id"].clone());
        }
        add(&w, "https://hooks.example.com/full").await.refused(409, "too_many_webhooks");
        let first = ids[0].as_str().unwrap();
        call(&w.base, "DELETE", &hook_path(&w.site_id, first), &w.manager, None).await.ok();
        add(&w, "https://hooks.example.com/again").await.ok();
    }
}
