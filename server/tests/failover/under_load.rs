//! The primary fails under load, twice: its postgres is killed (SIGKILL), then the next
//! primary is cut off (its Patroni agent and its postgres stopped, as when its machine drops
//! off the network). Meanwhile four
//! clients, one site each, keep announcing deliveries, asking for grants and uploading their
//! door's audit log through both porter processes. Afterwards every acknowledged grant is
//! there exactly once with a unique serial, every acknowledged audit record is there, every
//! acknowledged delivery reached the webhook receiver, and a porter process started after
//! the switch migrates and serves.

use std::collections::{HashMap, HashSet};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use porter_protocol::AuditEvent;
use porter_server::ids::{DoorId, GrantId, IssuerId};
use porter_server::Store;
use serde_json::json;

use crate::doorlog::DoorLog;
use crate::harness::*;
use crate::load::{Client, Tally};
use crate::stack::Stack;

const CLIENTS: usize = 4;

/// What one client leaves for the checks: its door and how much of its log was acknowledged.
struct Door {
    site_id: String,
    door_id: String,
    log: DoorLog,
    acknowledged: usize,
}

async fn drive(w: World, mut client: Client, n: usize, stop: Arc<AtomicBool>) -> Door {
    let mut log = DoorLog::new(w.site_number);
    let mut acknowledged = 0;
    let mut delivery: Option<(String, usize)> = None;
    let mut writes = 0;
    while !stop.load(Ordering::Relaxed) {
        writes += 1;
        // A delivery yields at most 4 grants: announce the next one when it is used up.
        if delivery.as_ref().is_none_or(|(_, granted)| *granted == 4) {
            let body = json!({
                "site_id": w.site_id, "unit": "4B", "tracking_number": format!("HA-{n}-{writes}"),
                "window_start": now() - 60, "window_end": now() + 3600
            });
            let key = format!("delivery-{n}-{writes}");
            let answer = client.write(&w.carrier, "/v1/deliveries", &body, Some(&key), true).await;
            if let Some(d) = answer {
                let id = d["id"].as_str().unwrap().to_string();
                client.tally.deliveries.lock().unwrap().push(id.clone());
                delivery = Some((id, 0));
            }
            continue;
        }
        let (id, granted) = delivery.as_mut().unwrap();
        let path = format!("/v1/deliveries/{id}/grants");
        let body = json!({"uses": 1 + writes % 2, "lifetime_minutes": 5});
        let key = format!("grant-{n}-{writes}");
        if let Some(g) = client.write(&w.driver, &path, &body, Some(&key), false).await {
            client.tally.grants.lock().unwrap().push((
                g["id"].as_str().unwrap().to_string(),
                w.issuer_id.clone(),
                g["serial"].as_i64().unwrap(),
                g["uses"].as_i64().unwrap_or(1 + (writes % 2) as i64),
            ));
        }
        *granted += 1;

        log.append(now() as u32, AuditEvent::Boot);
        let batch = log.batch_from(&w.site_id, acknowledged, &w.device);
        if let Some(b) = client.write(&w.driver, "/v1/audit-batches", &batch, None, false).await {
            acknowledged = b["next_sequence"].as_u64().unwrap() as usize;
            assert_eq!(acknowledged, log.records.len(), "{b}");
        }
    }
    Door { site_id: w.site_id.clone(), door_id: w.door_id.clone(), log, acknowledged }
}

/// Waits for steady load (`grants` more acknowledged grants), injects `fault`, and returns
/// the time from the fault to the first successful write sent after it.
async fn failover(tally: &Tally, grants: usize, name: &str, fault: impl FnOnce()) -> Duration {
    let before = tally.grants.lock().unwrap().len();
    let start = Instant::now();
    while tally.grants.lock().unwrap().len() < before + grants {
        assert!(start.elapsed() < Duration::from_secs(60), "{name}: the load does not progress");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The instant is taken once the fault is in place: a write sent just before it may
    // still succeed, and is not a write after the failover.
    fault();
    tally.fault_now();
    let start = Instant::now();
    loop {
        if let Some(t) = tally.failover_time() {
            return t;
        }
        assert!(
            start.elapsed() < Duration::from_secs(90),
            "{name}: no write succeeded after the fault"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

struct Porter(Child);

impl Drop for Porter {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A porter process started after the switch: it migrates the new primary and serves.
fn porter_after_switch(stack: &Stack) -> (Porter, String) {
    use std::io::BufRead;
    let mut child = Command::new(env!("CARGO_BIN_EXE_porter"))
        .arg("serve")
        .env_remove("PORTER_CONFIG")
        .env("PORTER_DATABASE_URL", &stack.database_url)
        .env("PORTER_LISTEN", "127.0.0.1:0")
        .env("PORTER_LOG_LEVEL", "warn")
        .env("PORTER_WEBHOOK_ALLOW_TARGETS", "127.0.0.1")
        .env("PORTER_OUTBOX_INTERVAL_MS", "200")
        .env("PORTER_WEBHOOK_BACKOFF_SECONDS", "1")
        .env("PORTER_WEBHOOK_LEASE_SECONDS", "5")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let base =
        line.trim().strip_prefix("porter listening on ").unwrap_or_else(|| panic!("{line:?}"));
    let base = base.to_string();
    (Porter(child), base)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failover_under_load_loses_no_acknowledged_write() {
    let Some(stack) = Stack::from_env() else {
        eprintln!("note: PORTER_TEST_HA unset (deploy/ha/failover-test.sh sets it): skipped");
        return;
    };
    let rx = Receiver::start(true).await;
    let leader = stack.wait_healthy(Duration::from_secs(60)).await;
    let tally = Arc::new(Tally::default());
    let stop = Arc::new(AtomicBool::new(false));
    let mut clients = Vec::new();
    for n in 0..CLIENTS {
        let base = &stack.porter_urls[n % stack.porter_urls.len()];
        let approval = json!({"max_uses": 4, "max_lifetime_minutes": 15});
        let w = World::setup(base, &stack.operator_token, cert_options(), approval).await;
        call(
            base,
            "POST",
            &format!("/v1/sites/{}/webhooks", w.site_id),
            &w.manager,
            Some(json!({"url": rx.url})),
        )
        .await
        .ok();
        let client = Client::new(stack.porter_urls.clone(), n, tally.clone());
        clients.push(tokio::spawn(drive(w, client, n, stop.clone())));
    }

    // 1. The primary's postgres dies.
    let crash = failover(&tally, 20, "crash", || stack.kill_postgres(&leader)).await;
    let after_crash = stack.wait_healthy_led_by_other_than(&leader, Duration::from_secs(60)).await;
    let retried_crash = tally.retried.load(Ordering::Relaxed);
    println!("crash of {leader}: first write {crash:?} after SIGKILL, {after_crash} now leads");

    // A process started now migrates the new primary (under the advisory lock) and serves.
    let (_third, third) = porter_after_switch(&stack);
    let health = call_raw(&third, "GET", "/healthz", None, &[], b"").await;
    assert_eq!(health.status, 200, "{}", health.body);

    // 2. The new primary is cut off: its agent and its postgres stop answering. Until its
    // lock expires (ttl) no write can succeed; then its synchronous standby takes over.
    let partition = failover(&tally, 20, "partition", || stack.partition(&after_crash, true)).await;
    println!("partition of {after_crash}: first write {partition:?} after it was cut off");
    // It comes back, finds its lock lost, and rejoins as a replica of the new primary.
    stack.partition(&after_crash, false);
    let after_partition =
        stack.wait_healthy_led_by_other_than(&after_crash, Duration::from_secs(90)).await;
    println!("{after_partition} now leads; {after_crash} rejoined as a replica");

    // Some more load on the final primary, then stop.
    let before = tally.grants.lock().unwrap().len();
    while tally.grants.lock().unwrap().len() < before + 20 {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let mut doors = Vec::new();
    for c in clients {
        doors.push(c.await.unwrap());
    }
    let failures = tally.failures.lock().unwrap().clone();
    assert!(failures.is_empty(), "writes failed: {failures:#?}");

    // Every acknowledged grant is stored, exactly once; no serial is used twice.
    let store = Store::connect(&stack.database_url).await.unwrap();
    let acked = tally.grants.lock().unwrap().clone();
    // (This run's sites only: the stack may have served other runs.)
    let sites: HashSet<&str> = doors.iter().map(|d| d.site_id.as_str()).collect();
    let stored: HashMap<GrantId, porter_server::store::GrantRow> = store
        .all_grants()
        .await
        .unwrap()
        .into_iter()
        .filter(|g| sites.contains(g.site_id.as_str()))
        .map(|g| (g.id.clone(), g))
        .collect();
    for (id, _, serial, _) in &acked {
        let g = stored
            .get(&GrantId::from(id.as_str()))
            .unwrap_or_else(|| panic!("acknowledged grant {id} lost"));
        assert_eq!(g.serial, *serial, "grant {id}");
    }
    assert_eq!(stored.len(), acked.len(), "grants stored that no client was given (a duplicate)");
    let mut ranges: HashMap<&IssuerId, Vec<(i64, i64)>> = HashMap::new();
    for g in stored.values() {
        ranges.entry(&g.issuer_id).or_default().push((g.serial, g.uses));
    }
    for (issuer, mut r) in ranges {
        r.sort();
        for pair in r.windows(2) {
            assert!(
                pair[0].0 + pair[0].1 <= pair[1].0,
                "issuer {issuer}: serials overlap {pair:?}"
            );
        }
    }
    // Every acknowledged audit record is stored as the door wrote it.
    let mut records = 0;
    for door in &doors {
        for (seq, bytes) in door.log.records[..door.acknowledged].iter().enumerate() {
            let stored =
                store.audit_record(&DoorId::from(door.door_id.as_str()), seq as i64).await.unwrap();
            let stored =
                stored.unwrap_or_else(|| panic!("door {} record {seq} lost", door.door_id));
            assert_eq!(stored.0, hex::encode(bytes));
        }
        records += door.acknowledged;
    }
    // Every acknowledged delivery reached the webhook receiver at least once.
    let deliveries: HashSet<String> = tally.deliveries.lock().unwrap().iter().cloned().collect();
    let start = Instant::now();
    loop {
        let seen: HashSet<String> = rx
            .received()
            .iter()
            .filter_map(|r| serde_json::from_str::<serde_json::Value>(&r.body).ok())
            .filter(|b| b["type"] == "delivery.announced")
            .filter_map(|b| b["data"]["delivery_id"].as_str().map(String::from))
            .collect();
        let missing: Vec<_> = deliveries.difference(&seen).collect();
        if missing.is_empty() {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "webhooks never delivered: {missing:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stack.wait_healthy(Duration::from_secs(60)).await;
    println!(
        "failover under load: {} writes ({} grants, {} audit records, {} deliveries) by {CLIENTS} clients; \
         crash: first write {:.1} s after SIGKILL; partition: first write {:.1} s after the cut; \
         {} writes needed a retry ({} of them in the crash phase), {} delivery keys abandoned in flight; \
         {} webhooks received for {} deliveries",
        tally.writes.load(Ordering::Relaxed),
        acked.len(),
        records,
        deliveries.len(),
        crash.as_secs_f64(),
        partition.as_secs_f64(),
        tally.retried.load(Ordering::Relaxed),
        retried_crash,
        tally.abandoned.load(Ordering::Relaxed),
        rx.received().len(),
        deliveries.len(),
    );
}
