//! Real `porter serve` processes: two on one PostgreSQL issuing at once; `kill -9` during
//! issuance and during webhook delivery, then a restart: nothing acknowledged is lost.

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use porter_server::Store;
use serde_json::json;

use crate::harness::*;

#[path = "processes_rows.rs"]
mod rows;

struct Proc {
    child: Child,
    base: String,
}

impl Proc {
    fn start(database_url: &str, extra: &[(&str, &str)]) -> Proc {
        Proc::start_env(Some(database_url), extra)
    }

    fn start_env(database_url: Option<&str>, extra: &[(&str, &str)]) -> Proc {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_porter"));
        if let Some(url) = database_url {
            cmd.env("PORTER_DATABASE_URL", url);
        }
        cmd.arg("serve")
            .env_remove("PORTER_CONFIG")
            .env("PORTER_LISTEN", "127.0.0.1:0")
            .env("PORTER_LOG_LEVEL", "warn")
            .env("PORTER_RATE_LIMIT_PER_MINUTE", "100000")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (k, v) in extra {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let base = line
            .trim()
            .strip_prefix("porter listening on ")
            .unwrap_or_else(|| panic!("unexpected: {line:?}"))
            .to_string();
        Proc { child, base }
    }

    fn kill9(mut self) {
        self.child.kill().unwrap(); // SIGKILL
        self.child.wait().unwrap();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn operator_token(database_url: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_porter"))
        .args(["operator-token", "--label", "test"])
        .env("PORTER_DATABASE_URL", database_url)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn postgres() -> Option<Backend> {
    backends().into_iter().find(|b| matches!(b, Backend::Postgres(_)))
}

#[tokio::test]
async fn two_processes_on_one_postgres_never_reuse_a_serial() {
    let Some(pg) = postgres() else { return };
    let url = fresh_database(&pg).await;
    let a = Proc::start(&url, &[]);
    let b = Proc::start(&url, &[]);
    let w = World::setup(
        &a.base,
        &operator_token(&url),
        cert_options(),
        json!({"max_uses": 4, "max_lifetime_minutes": 15}),
    )
    .await;
    // One delivery yields at most MAX_GRANTS_PER_DELIVERY grants: 60 grants need 15 of them.
    let mut deliveries = Vec::new();
    for n in 0..15 {
        deliveries.push(w.announce(&format!("SERIAL-{n}"), now() - 60, now() + 3600).await);
    }
    let mut tasks = Vec::new();
    for i in 0..60 {
        let base = if i % 2 == 0 { a.base.clone() } else { b.base.clone() };
        let (driver, delivery) = (w.driver.clone(), deliveries[i / 4].clone());
        let uses = 1 + (i % 4) as u64;
        tasks.push(tokio::spawn(async move {
            let r = call(
                &base,
                "POST",
                &format!("/v1/deliveries/{delivery}/grants"),
                &driver,
                Some(json!({"uses": uses, "lifetime_minutes": 5})),
            )
            .await;
            (uses, r.ok())
        }));
    }
    let mut ranges = Vec::new();
    for t in tasks {
        let (uses, g) = t.await.unwrap();
        ranges.push((g["serial"].as_u64().unwrap(), uses));
    }
    ranges.sort();
    for pair in ranges.windows(2) {
        assert!(pair[0].0 + pair[0].1 <= pair[1].0, "serial ranges overlap: {pair:?}");
    }
    let store = Store::connect(&url).await.unwrap();
    assert_eq!(store.all_grants().await.unwrap().len(), 60);
}

#[tokio::test]
async fn kill_9_during_issuance_loses_no_acknowledged_grant() {
    for backend in backends() {
        let url = fresh_database(&backend).await;
        let p = Proc::start(&url, &[]);
        let w = World::setup(
            &p.base,
            &operator_token(&url),
            cert_options(),
            json!({"max_uses": 4, "max_lifetime_minutes": 15}),
        )
        .await;
        let acknowledged = Arc::new(Mutex::new(Vec::<(String, u64, u64)>::new()));
        let unanswered = Arc::new(Mutex::new(Vec::<(String, String, String)>::new()));
        // One delivery yields at most MAX_GRANTS_PER_DELIVERY (4) grants: each task gets 30.
        let mut pools = Vec::new();
        for i in 0..4 {
            let mut pool = Vec::new();
            for n in 0..30 {
                pool.push(w.announce(&format!("KILL-{i}-{n}"), now() - 60, now() + 3600).await);
            }
            pools.push(pool);
        }
        let mut tasks = Vec::new();
        for (i, pool) in (0..4u64).zip(pools) {
            let (base, driver, acked) = (p.base.clone(), w.driver.clone(), acknowledged.clone());
            let lost = unanswered.clone();
            tasks.push(tokio::spawn(async move {
                for n in 0..(pool.len() as u64 * 4) {
                    let delivery = pool[(n / 4) as usize].clone();
                    let uses = 1 + (n + i) % 3;
                    let body = json!({"uses": uses, "lifetime_minutes": 5}).to_string();
                    let url = format!("{base}/v1/deliveries/{delivery}/grants");
                    let auth = format!("Bearer {driver}");
                    let key = format!("kill-{i}-{n}");
                    let h = [
                        ("Authorization", auth.as_str()),
                        ("Content-Type", "application/json"),
                        ("Idempotency-Key", key.as_str()),
                    ];
                    match porter_server::client::request(
                        "POST",
                        &url,
                        &h,
                        body.as_bytes(),
                        Duration::from_secs(5),
                    )
                    .await
                    {
                        Ok(r) if r.status == 201 => {
                            let g = r.json();
                            acked.lock().unwrap().push((
                                g["id"].as_str().unwrap().to_string(),
                                g["serial"].as_u64().unwrap(),
                                uses,
                            ));
                        }
                        _ => {
                            lost.lock().unwrap().push((key, body, delivery));
                            return;
                        }
                    }
                }
            }));
        }
        // Let issuance run, then kill the process mid-stream.
        let start = Instant::now();
        while acknowledged.lock().unwrap().len() < 40 && start.elapsed() < Duration::from_secs(60) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        p.kill9();
        for t in tasks {
            t.await.unwrap();
        }
        let acked = acknowledged.lock().unwrap().clone();
        assert!(
            acked.len() >= 40,
            "{}: only {} grants before the kill",
            backend.name(),
            acked.len()
        );

        // Restart on the same database: every acknowledged grant is there, and new serials
        // never overlap old ones.
        let p = Proc::start(&url, &[]);
        let store = Store::connect(&url).await.unwrap();
        for (id, serial, _) in &acked {
            let g = store
                .grant(&id.as_str().into())
                .await
                .unwrap()
                .unwrap_or_else(|| panic!("acknowledged grant {id} lost"));
            assert_eq!(g.serial as u64, *serial);
        }
        // The requests the kill cut off are retried with their keys: each yields exactly one
        // grant, whether or not it had committed before the kill.
        let lost = unanswered.lock().unwrap().clone();
        assert_eq!(lost.len(), 4);
        for (key, body, delivery) in &lost {
            let path = format!("/v1/deliveries/{delivery}/grants");
            let headers = [("Idempotency-Key", key.as_str())];
            let r =
                call_raw(&p.base, "POST", &path, Some(&w.driver), &headers, body.as_bytes()).await;
            assert_eq!(r.status, 201, "{}: retry of {key}: {}", backend.name(), r.body);
        }
        let count = store.all_grants().await.unwrap().len();
        assert_eq!(
            count,
            acked.len() + lost.len(),
            "{}: a retry made a second grant",
            backend.name()
        );
        let g = w.ask_at(&p.base, json!({"uses": 1, "lifetime_minutes": 5})).await;
        let mut all: Vec<(u64, u64)> = store
            .all_grants()
            .await
            .unwrap()
            .iter()
            .map(|g| (g.serial as u64, g.uses as u64))
            .collect();
        all.sort();
        for pair in all.windows(2) {
            assert!(
                pair[0].0 + pair[0].1 <= pair[1].0,
                "{}: serial reused after restart: {pair:?}",
                backend.name()
            );
        }
        assert!(
            g["serial"].as_u64().unwrap() >= acked.iter().map(|(_, s, u)| s + u).max().unwrap()
        );
        store.close().await;
    }
}

#[tokio::test]
async fn kill_9_during_webhook_delivery_loses_no_notification() {
    for backend in backends() {
        let url = fresh_database(&backend).await;
        let settings = [
            ("PORTER_OUTBOX_INTERVAL_MS", "100"),
            ("PORTER_WEBHOOK_BACKOFF_SECONDS", "1"),
            ("PORTER_WEBHOOK_LEASE_SECONDS", "2"),
            ("PORTER_WEBHOOK_ALLOW_TARGETS", "127.0.0.1"),
        ];
        let p = Proc::start(&url, &settings);
        let rx = Receiver::start(false).await;
        let w = World::setup(
            &p.base,
            &operator_token(&url),
            cert_options(),
            json!({"max_uses": 4, "max_lifetime_minutes": 15}),
        )
        .await;
        let hook = call(
            &p.base,
            "POST",
            &format!("/v1/sites/{}/webhooks", w.site_id),
            &w.manager,
            Some(json!({"url": rx.url})),
        )
        .await
        .ok();
        let mut announced = HashSet::new();
        for i in 0..10 {
            let id = w.announce_at(&p.base, &format!("HOOK-{i}")).await;
            announced.insert(id);
        }
        // The receiver hangs, so the worker is mid-delivery when the process dies.
        tokio::time::sleep(Duration::from_millis(500)).await;
        p.kill9();
        rx.healthy.store(true, std::sync::atomic::Ordering::SeqCst);
        let _p = Proc::start(&url, &settings);
        let start = Instant::now();
        loop {
            let seen: HashSet<String> = rx
                .received()
                .iter()
                .filter_map(|r| serde_json::from_str::<serde_json::Value>(&r.body).ok())
                .filter(|b| b["type"] == "delivery.announced")
                .map(|b| b["data"]["delivery_id"].as_str().unwrap().to_string())
                .collect();
            if seen.is_superset(&announced) {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "{}: notifications lost: {:?}",
                backend.name(),
                announced.difference(&seen).collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // Every message is signed with the webhook's keys.
        for r in rx.received() {
            assert!(r.verifies(hook["public_key"].as_str().unwrap()), "{r:?}");
            assert!(r.verifies(hook["secret"].as_str().unwrap()), "{r:?}");
        }
    }
}

#[tokio::test]
async fn two_processes_deliver_every_webhook_once() {
    let Some(pg) = postgres() else { return };
    let url = fresh_database(&pg).await;
    let settings = [
        ("PORTER_OUTBOX_INTERVAL_MS", "20"),
        ("PORTER_WEBHOOK_LEASE_SECONDS", "30"),
        ("PORTER_WEBHOOK_ALLOW_TARGETS", "127.0.0.1"),
    ];
    let a = Proc::start(&url, &settings);
    let b = Proc::start(&url, &settings);
    let rx = Receiver::start(true).await;
    let w = World::setup(
        &a.base,
        &operator_token(&url),
        cert_options(),
        json!({"max_uses": 4, "max_lifetime_minutes": 15}),
    )
    .await;
    call(
        &a.base,
        "POST",
        &format!("/v1/sites/{}/webhooks", w.site_id),
        &w.manager,
        Some(json!({"url": rx.url})),
    )
    .await
    .ok();
    for i in 0..20 {
        let base = if i % 2 == 0 { &a.base } else { &b.base };
        w.announce_at(base, &format!("TWO-{i}")).await;
    }
    let start = Instant::now();
    let distinct = || rx.received().iter().map(|r| r.id.clone()).collect::<HashSet<_>>().len();
    while distinct() < 20 {
        assert!(start.elapsed() < Duration::from_secs(30), "webhooks not delivered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Both workers poll the same outbox; the lease lets only one send each message.
    assert_eq!(rx.received().len(), 20);
}

impl World {
    pub async fn ask_at(&self, base: &str, body: serde_json::Value) -> serde_json::Value {
        call(
            base,
            "POST",
            &format!("/v1/deliveries/{}/grants", self.delivery_id),
            &self.driver,
            Some(body),
        )
        .await
        .ok()
    }

    pub async fn announce_at(&self, base: &str, tracking: &str) -> String {
        call(
            base,
            "POST",
            "/v1/deliveries",
            &self.carrier,
            Some(json!({
                "site_id": self.site_id, "unit": "4B", "tracking_number": tracking,
                "window_start": now() - 60, "window_end": now() + 3600
            })),
        )
        .await
        .ok()["id"]
            .as_str()
            .unwrap()
            .to_string()
    }
}

#[tokio::test]
async fn serve_reads_its_config_speaks_tls_reports_health_and_metrics_and_stops_gracefully() {
    let dir = temp_dir("ops");
    // The default store: SQLite in the data directory, in WAL mode.
    let data = dir.join("data");
    let db = format!("sqlite://{}/porter.db", data.display());
    // A config file; the environment overrides its listen address.
    let config = dir.join("porter.json");
    std::fs::write(
        &config,
        json!({"listen": "127.0.0.1:1", "data_dir": data, "log_format": "json",
               "metrics_token": "scrape-0123456789abcdef"})
        .to_string(),
    )
    .unwrap();
    let p = Proc::start_with_config(&config, &[("PORTER_LISTEN", "127.0.0.1:0")]);
    let health = call_raw(&p.base, "GET", "/healthz", None, &[], b"").await;
    assert_eq!((health.status, health.body["status"].as_str()), (200, Some("ok")));
    assert!(data.join("porter.db-wal").exists(), "SQLite is not in WAL mode");
    let openapi = call_raw(&p.base, "GET", "/v1/openapi.json", None, &[], b"").await;
    let paths: HashSet<&str> = porter_server::http::endpoints().iter().map(|e| e.path).collect();
    // Every declared path, and /healthz, /livez and /metrics.
    assert_eq!(openapi.body["paths"].as_object().unwrap().len(), paths.len() + 3);
    let op = operator_token(&db);
    call(&p.base, "GET", "/v1/sites", &op, None).await.ok();
    crate::holes::library_refusals_carry_code_and_message(&p.base).await;
    // `/metrics` wants the configured token, in any case of the scheme name.
    call_raw(&p.base, "GET", "/metrics", None, &[], b"").await.refused(401, "unauthenticated");
    call_raw(&p.base, "GET", "/metrics", Some(&op), &[], b"").await.refused(401, "unauthenticated");
    let auth = [("Authorization", "bearer scrape-0123456789abcdef")];
    let metrics = call_raw(&p.base, "GET", "/metrics", None, &auth, b"").await;
    assert_eq!(metrics.status, 200);
    let text = String::from_utf8(metrics.raw).unwrap();
    assert!(
        text.contains("porter_grants_issued_total 0") && text.contains("porter_outbox_pending 0"),
        "{text}"
    );
    assert!(text.contains("porter_http_responses_total{class=\"2xx\"}"));

    // SIGTERM: finish and exit cleanly.
    let pid = p.child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let mut p = p;
    let start = Instant::now();
    let status = loop {
        if let Some(s) = p.child.try_wait().unwrap() {
            break s;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "no graceful exit after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}");

    // Out-of-range settings stop the start with a clear message.
    let out = Command::new(env!("CARGO_BIN_EXE_porter"))
        .arg("serve")
        .env("PORTER_DATABASE_URL", &db)
        .env("PORTER_WEBHOOK_LEASE_SECONDS", "0")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("webhook_lease_seconds = 0 is out of range"),
        "{err}"
    );

    // A malformed issuer-key secret stops the start with a clear message.
    let bad = dir.join("secret.hex");
    std::fs::write(&bad, "not hex").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_porter"))
        .arg("serve")
        .env("PORTER_DATABASE_URL", &db)
        .env("PORTER_ISSUER_KEY_SECRET_FILE", &bad)
        .env("PORTER_LISTEN", "127.0.0.1:0")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("64 hex digits"), "{err}");

    // HTTPS with a certificate (self-signed here), checked with curl.
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(Stdio::null())
        .status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("note: openssl unavailable, HTTPS case skipped");
        return;
    }
    let p = Proc::start(
        &db,
        &[("PORTER_TLS_CERT", cert.to_str().unwrap()), ("PORTER_TLS_KEY", key.to_str().unwrap())],
    );
    assert!(p.base.starts_with("https://"), "{}", p.base);
    let out = Command::new("curl").args(["-sk", &format!("{}/healthz", p.base)]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), r#"{"status":"ok"}"#);
    let plain = porter_server::client::request(
        "GET",
        &format!("{}/healthz", p.base.replace("https", "http")),
        &[],
        b"",
        Duration::from_secs(5),
    )
    .await;
    assert!(
        plain.map(|r| r.status != 200).unwrap_or(true),
        "plain HTTP must not be served on the TLS port"
    );
}

impl Proc {
    fn start_with_config(config: &std::path::Path, extra: &[(&str, &str)]) -> Proc {
        let mut all: Vec<(&str, &str)> = vec![("PORTER_CONFIG", config.to_str().unwrap())];
        all.extend_from_slice(extra);
        Proc::start_env(None, &all)
    }
}

/// Each process caches a site's grant facts; a change made through the other process must be
/// seen by the very next grant request (the site's change counter, checked at commit and
/// before a refusal stands).
#[tokio::test]
async fn a_change_through_one_process_binds_the_next_grant_of_the_other() {
    let Some(pg) = postgres() else { return };
    let url = fresh_database(&pg).await;
    let a = Proc::start(&url, &[]);
    let b = Proc::start(&url, &[]);
    let w = World::setup(
        &a.base,
        &operator_token(&url),
        cert_options(),
        json!({"max_uses": 4, "max_lifetime_minutes": 15}),
    )
    .await;
    let body = json!({"uses": 1, "lifetime_minutes": 5});
    let ask_b = |delivery: String| {
        let (base, driver, body) = (b.base.clone(), w.driver.clone(), body.clone());
        async move {
            call(&base, "POST", &format!("/v1/deliveries/{delivery}/grants"), &driver, Some(body))
                .await
        }
    };
    let fresh = || async {
        w.announce(&format!("FACTS-{}", rand::random::<u32>()), now() - 60, now() + 3600).await
    };
    // B issues, so B holds the site's facts.
    ask_b(fresh().await).await.ok();

    // The resident opts out through A: B refuses at once; back in: B issues at once (a
    // refusal on cached facts is confirmed against the counter first).
    let opt = |out: bool| {
        call(&a.base, "PUT", "/v1/me/opt-out", &w.resident, Some(json!({"opted_out": out})))
    };
    opt(true).await.ok();
    ask_b(fresh().await).await.refused(422, "resident_opted_out");
    opt(false).await.ok();
    ask_b(fresh().await).await.ok();

    // The approval is withdrawn through A: B's next grant is refused. (A carrier announces
    // only where it is approved: the delivery comes first.)
    let last = fresh().await;
    call(
        &a.base,
        "POST",
        &format!("/v1/sites/{}/approvals/{}/withdraw", w.site_id, w.approval_id),
        &w.manager,
        None,
    )
    .await
    .ok();
    ask_b(last).await.refused(422, "carrier_not_approved");
}

/// A change made straight in the database (another process, or an operator's SQL) bumps the
/// counter too: a driver revoked by a row inserted by hand is refused by the next grant.
#[tokio::test]
async fn a_revocation_written_in_sql_binds_the_next_grant() {
    for backend in backends() {
        let url = fresh_database(&backend).await;
        let p = Proc::start(&url, &[]);
        let w = World::setup(
            &p.base,
            &operator_token(&url),
            cert_options(),
            json!({"max_uses": 4, "max_lifetime_minutes": 15}),
        )
        .await;
        let body = json!({"uses": 1, "lifetime_minutes": 5});
        let d1 = w.announce("SQL-1", now() - 60, now() + 3600).await;
        let d2 = w.announce("SQL-2", now() - 60, now() + 3600).await;
        w.ask(&d1, body.clone()).await.ok();
        let store = Store::connect(&url).await.unwrap();
        sqlx::query(
            "INSERT INTO revocations (id, site_id, kind, target_id, subject, until, epoch, created_at)
             VALUES ('rev_by_hand', $1, 'driver', $2, '00', 0, NULL, 0)",
        )
        .bind(w.site_id.clone())
        .bind(w.driver_id.clone())
        .execute(store.pool())
        .await
        .unwrap();
        w.ask(&d2, body).await.refused(422, "driver_revoked");
    }
}
