//! Webhook delivery from the outbox: failures are retried with doubling back-off until the
//! receiver answers 2xx; the message is signed and carries its event id.

use std::time::Duration;

use porter_server::outbox::{deliver_due, signature, Policy};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::harness::*;

#[tokio::test]
async fn failed_webhooks_are_retried_with_back_off_until_delivered() {
    let server = Server::start(&Backend::Sqlite).await;
    let w = World::new(&server).await;
    // A port nobody listens on (yet).
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let hook = call(
        &w.base,
        "POST",
        &format!("/v1/sites/{}/webhooks", w.site_id),
        &w.manager,
        Some(json!({"url": format!("http://127.0.0.1:{port}/porter")})),
    )
    .await
    .ok();
    call(
        &w.base,
        "POST",
        &format!("/v1/sites/{}/webhooks", w.site_id),
        &w.manager,
        Some(json!({"url": "https://example.invalid/"})),
    )
    .await
    .refused(400, "invalid_url");
    let delivery = w.announce("HOOK-RETRY", now() - 60, now() + 3600).await;
    let store = server.service.store();
    let policy = Policy { backoff_base: 1, lease: 60 };

    // Attempt 1 fails: retried 1 s later. Attempt 2 fails: retried 2 s later.
    for (attempt, wait) in [(1, 1), (2, 2)] {
        let before = now();
        assert_eq!(deliver_due(&server.service, policy).await.unwrap(), 0);
        let after = now();
        let row = store.due_outbox(after + 60, 10).await.unwrap().remove(0);
        assert_eq!(row.attempts, attempt);
        assert!(
            (before + wait..=after + wait).contains(&row.next_attempt_at),
            "attempt {attempt}: next try at {} ({before}..{after})",
            row.next_attempt_at
        );
        tokio::time::sleep(Duration::from_millis(wait as u64 * 1000 + 1100)).await;
    }
    assert_eq!(server.service.metrics().webhooks_failed.get(), 2);

    // The receiver comes up; the next attempt delivers, signed.
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    let received = tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut raw = Vec::new();
        let mut buf = [0u8; 8192];
        loop {
            let n = s.read(&mut buf).await.unwrap();
            raw.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&raw).to_string();
            if let Some(split) = text.find("\r\n\r\n") {
                let len: usize = text[..split]
                    .lines()
                    .find_map(|l| l.strip_prefix("Content-Length: "))
                    .unwrap()
                    .parse()
                    .unwrap();
                if raw.len() >= split + 4 + len {
                    s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n").await.unwrap();
                    return text;
                }
            }
        }
    });
    assert_eq!(deliver_due(&server.service, policy).await.unwrap(), 1);
    let text = received.await.unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let header =
        |name: &str| head.lines().find_map(|l| l.strip_prefix(name)).unwrap().trim().to_string();
    let sig = header("Porter-Signature:");
    let t: i64 = sig.split(',').next().unwrap().strip_prefix("t=").unwrap().parse().unwrap();
    assert_eq!(sig, signature(hook["secret"].as_str().unwrap(), t, body));
    let event: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(
        (event["type"].as_str(), event["data"]["delivery_id"].as_str()),
        (Some("delivery.announced"), Some(delivery.as_str()))
    );
    assert_eq!(header("Porter-Event-Id:"), event["id"].as_str().unwrap());
    assert!(!body.contains("HOOK-RETRY"), "the tracking number must never leave the server");
    assert_eq!(store.outbox_pending().await.unwrap(), 0);
    assert_eq!(deliver_due(&server.service, policy).await.unwrap(), 0);
}
