//! The load driver: N concurrent clients repeating one operation for a duration or a count,
//! each latency into a histogram, each failure counted by its error code, a live progress bar.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use indicatif::{ProgressBar, ProgressStyle};

/// What one operation came to.
pub enum Done {
    /// Succeeded, carrying `units` items (grants: 1; audit batches: their records).
    Ok {
        /// Items the operation carried.
        units: u64,
    },
    /// Failed with this error code (the API's `code`, `http_<status>` or `transport`).
    Failed(String),
    /// Nothing left to do (the prepared deliveries ran out): the run ends here.
    Exhausted,
}

/// One operation of client `n`.
pub type Op = Arc<dyn Fn(usize) -> Pin<Box<dyn Future<Output = Done> + Send>> + Send + Sync>;

/// How long a run lasts: whichever comes first.
#[derive(Clone, Copy, Debug)]
pub struct Budget {
    /// Wall time.
    pub duration: Duration,
    /// Operations started, if bounded.
    pub count: Option<u64>,
}

/// The measured outcome of a run.
pub struct Outcome {
    /// Operations that succeeded.
    pub ok: u64,
    /// Items they carried.
    pub units: u64,
    /// Failures by code.
    pub errors: BTreeMap<String, u64>,
    /// Latency of successful operations, microseconds.
    pub latency: Histogram<u64>,
    /// Wall time of the run.
    pub elapsed: Duration,
    /// Whether the run ended because the prepared work ran out.
    pub exhausted: bool,
}

impl Outcome {
    /// Successful operations per second.
    pub fn ops_per_second(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
    /// Items per second.
    pub fn units_per_second(&self) -> f64 {
        self.units as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
    /// A latency quantile in milliseconds.
    pub fn ms(&self, quantile: f64) -> f64 {
        self.latency.value_at_quantile(quantile) as f64 / 1000.0
    }
}

struct Client {
    ok: u64,
    units: u64,
    errors: BTreeMap<String, u64>,
    latency: Histogram<u64>,
}

fn histogram() -> Histogram<u64> {
    // 1 µs to 10 minutes at 3 significant digits.
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("valid histogram bounds")
}

/// Runs `op` on `clients` concurrent clients within `budget`, showing `label` and the live
/// throughput on stderr (hidden when stderr is not a terminal).
pub async fn drive(label: &str, clients: usize, budget: Budget, op: Op) -> Outcome {
    let bar = match budget.count {
        Some(n) => ProgressBar::new(n),
        None => ProgressBar::new(budget.duration.as_secs().max(1)),
    };
    let template = match budget.count {
        Some(_) => "{prefix:>14} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}",
        None => "{prefix:>14} [{elapsed_precise}] {bar:30} {pos}/{len} s {msg}",
    };
    bar.set_style(ProgressStyle::with_template(template).expect("a valid template"));
    bar.set_prefix(label.to_string());

    let started = Instant::now();
    let deadline = started + budget.duration;
    let issued = Arc::new(AtomicU64::new(0));
    let finished = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let exhausted = Arc::new(AtomicBool::new(false));

    let mut tasks = Vec::with_capacity(clients);
    for n in 0..clients {
        let (op, issued, finished) = (op.clone(), issued.clone(), finished.clone());
        let (stop, exhausted) = (stop.clone(), exhausted.clone());
        tasks.push(tokio::spawn(async move {
            let mut c = Client { ok: 0, units: 0, errors: BTreeMap::new(), latency: histogram() };
            while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                if let Some(count) = budget.count {
                    if issued.fetch_add(1, Ordering::Relaxed) >= count {
                        break;
                    }
                }
                let at = Instant::now();
                match op(n).await {
                    Done::Ok { units } => {
                        let micros = at.elapsed().as_micros().max(1) as u64;
                        let _ = c.latency.record(micros.min(600_000_000));
                        c.ok += 1;
                        c.units += units;
                    }
                    Done::Failed(code) => *c.errors.entry(code).or_default() += 1,
                    Done::Exhausted => {
                        exhausted.store(true, Ordering::Relaxed);
                        stop.store(true, Ordering::Relaxed);
                        break;
                    }
                }
                finished.fetch_add(1, Ordering::Relaxed);
            }
            c
        }));
    }

    // The live view: throughput over the last half second.
    let ticker = {
        let (bar, finished, stop) = (bar.clone(), finished.clone(), stop.clone());
        tokio::spawn(async move {
            let mut last = (Instant::now(), 0u64);
            while !stop.load(Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_millis(500)).await;
                let now = (Instant::now(), finished.load(Ordering::Relaxed));
                let rate = (now.1 - last.1) as f64 / now.0.duration_since(last.0).as_secs_f64();
                match budget.count {
                    Some(_) => bar.set_position(now.1),
                    None => bar.set_position(started.elapsed().as_secs()),
                }
                bar.set_message(format!("{rate:>8.0} ops/s now, {} done", now.1));
                last = now;
            }
        })
    };

    let mut out = Outcome {
        ok: 0,
        units: 0,
        errors: BTreeMap::new(),
        latency: histogram(),
        elapsed: Duration::ZERO,
        exhausted: false,
    };
    for task in tasks {
        let Ok(c) = task.await else {
            *out.errors.entry("client_panicked".into()).or_default() += 1;
            continue;
        };
        out.ok += c.ok;
        out.units += c.units;
        for (code, n) in c.errors {
            *out.errors.entry(code).or_default() += n;
        }
        let _ = out.latency.add(&c.latency);
    }
    out.elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let _ = ticker.await;
    out.exhausted = exhausted.load(Ordering::Relaxed);
    bar.finish_with_message(format!(
        "{:.0} ops/s, p99 {:.1} ms, {} errors",
        out.ops_per_second(),
        out.ms(0.99),
        out.errors.values().sum::<u64>()
    ));
    out
}
