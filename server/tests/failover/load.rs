//! Clients that keep writing through a failover: every write carries its Idempotency-Key
//! (audit batches are idempotent by content) and is sent again, with the same key, after a
//! transport error, a 503 or a 409 "still in flight", alternating between the porter
//! processes. What each write's final answer was is tallied for the checks afterwards.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Everything the clients saw.
#[derive(Default)]
pub struct Tally {
    /// Writes sent (each counted once however often it was retried).
    pub writes: AtomicUsize,
    /// Writes that needed at least one retry.
    pub retried: AtomicUsize,
    /// Writes given up because their key stayed "in flight" (deliveries only: see
    /// `GIVE_UP_IN_FLIGHT`); never acknowledged, so never counted as lost.
    pub abandoned: AtomicUsize,
    /// Acknowledged grants: id, issuer, first serial, uses.
    pub grants: Mutex<Vec<(String, String, i64, i64)>>,
    /// Acknowledged deliveries (each must reach the webhook receiver).
    pub deliveries: Mutex<Vec<String>>,
    /// Answers no retry can fix: the test fails on any.
    pub failures: Mutex<Vec<String>>,
    /// When the current fault was injected, and how long after it the first write that was
    /// sent after it succeeded.
    fault: Mutex<Option<(Instant, Option<Duration>)>>,
}

impl Tally {
    /// Marks the fault's instant: the failover time is measured from here.
    pub fn fault_now(&self) {
        *self.fault.lock().unwrap() = Some((Instant::now(), None));
    }

    /// The time from the fault to the first successful write sent after it, once there is one.
    pub fn failover_time(&self) -> Option<Duration> {
        self.fault.lock().unwrap().and_then(|(_, first)| first)
    }

    fn succeeded(&self, sent: Instant) {
        let done = Instant::now();
        let mut fault = self.fault.lock().unwrap();
        if let Some((at, first @ None)) = fault.as_mut() {
            if sent >= *at {
                *first = Some(done - *at);
            }
        }
    }
}

/// How long a delivery's key may answer "in flight" before the client gives up on it: a
/// creating POST other than a grant reserves its key in a transaction of its own, and when
/// the database dies between the reservation and the answer the key stays in flight for 60 s
/// (server/README.md, Known limits). Grants never give up.
const GIVE_UP_IN_FLIGHT: Duration = Duration::from_secs(5);
/// No write may take longer than this in all, retries included.
const WRITE_DEADLINE: Duration = Duration::from_secs(90);

pub struct Client {
    bases: Vec<String>,
    next: usize,
    pub tally: Arc<Tally>,
}

impl Client {
    pub fn new(bases: Vec<String>, first: usize, tally: Arc<Tally>) -> Client {
        Client { bases, next: first, tally }
    }

    /// POSTs `body` to `path` until an answer that retrying cannot change. Returns the 2xx
    /// answer, or None (the write was abandoned, or failed and was recorded as a failure).
    pub async fn write(
        &mut self,
        token: &str,
        path: &str,
        body: &Value,
        key: Option<&str>,
        give_up_in_flight: bool,
    ) -> Option<Value> {
        let tally = self.tally.clone();
        tally.writes.fetch_add(1, Ordering::Relaxed);
        let body = body.to_string();
        let auth = format!("Bearer {token}");
        let start = Instant::now();
        let mut in_flight_since: Option<Instant> = None;
        let mut attempts = 0;
        loop {
            attempts += 1;
            if attempts == 2 {
                tally.retried.fetch_add(1, Ordering::Relaxed);
            }
            let base = &self.bases[self.next % self.bases.len()];
            self.next += 1;
            let mut headers =
                vec![("Authorization", auth.as_str()), ("Content-Type", "application/json")];
            if let Some(key) = key {
                headers.push(("Idempotency-Key", key));
            }
            let sent = Instant::now();
            let url = format!("{base}{path}");
            let answer = porter_server::client::request(
                "POST",
                &url,
                &headers,
                body.as_bytes(),
                Duration::from_secs(15),
            )
            .await;
            let retry = match &answer {
                Ok(r) if (200..300).contains(&r.status) => {
                    tally.succeeded(sent);
                    return Some(r.json());
                }
                Ok(r) if r.status == 503 => true,
                Ok(r) if r.status == 409 => {
                    let code = r.json()["code"].as_str().unwrap_or_default().to_string();
                    if code == "idempotency_in_flight" || code == "idempotency_race" {
                        let since = *in_flight_since.get_or_insert(sent);
                        if give_up_in_flight && since.elapsed() > GIVE_UP_IN_FLIGHT {
                            tally.abandoned.fetch_add(1, Ordering::Relaxed);
                            return None;
                        }
                        true
                    } else {
                        false
                    }
                }
                Ok(_) => false,
                Err(_) => true, // the process or its connection failed: send again
            };
            if !retry || start.elapsed() > WRITE_DEADLINE {
                let what = match &answer {
                    Ok(r) => format!("{} {}", r.status, String::from_utf8_lossy(&r.body)),
                    Err(e) => e.to_string(),
                };
                tally.failures.lock().unwrap().push(format!("POST {path}: {what}"));
                return None;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}
