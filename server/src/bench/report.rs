//! The bench's report: one JSON document (for machines and CI) and the same figures as
//! Markdown (for `docs/performance.md`).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::drive::Outcome;
use super::server::ProcSample;

/// What the server process spent during a workload (a local server only).
#[derive(Clone, Debug, Serialize)]
pub struct ServerUsage {
    /// CPU time, user plus system, seconds.
    pub cpu_seconds: f64,
    /// CPU time over wall time: 1.0 is one core busy.
    pub cores_busy: f64,
    /// Resident memory at the end, MiB.
    pub rss_mib: f64,
    /// Peak resident memory so far, MiB.
    pub peak_rss_mib: f64,
}

impl ServerUsage {
    /// The usage between two samples over `seconds` of wall time.
    pub fn between(before: ProcSample, after: ProcSample, seconds: f64) -> ServerUsage {
        let cpu = after.cpu_seconds - before.cpu_seconds;
        ServerUsage {
            cpu_seconds: cpu,
            cores_busy: cpu / seconds.max(1e-9),
            rss_mib: after.rss_kib as f64 / 1024.0,
            peak_rss_mib: after.peak_rss_kib as f64 / 1024.0,
        }
    }
}

/// One workload's figures.
#[derive(Clone, Debug, Serialize)]
pub struct Workload {
    /// `grants`, `audit` or `http_ceiling`.
    pub name: String,
    /// Concurrent clients.
    pub clients: usize,
    /// What one operation is.
    pub operation: String,
    /// Successful operations.
    pub ok: u64,
    /// Items they carried (grants, audit records, requests).
    pub units: u64,
    /// Wall time, seconds.
    pub seconds: f64,
    /// Operations per second.
    pub ops_per_second: f64,
    /// Items per second.
    pub units_per_second: f64,
    /// Latency quantiles of successful operations, milliseconds.
    pub p50_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// 99.9th percentile.
    pub p999_ms: f64,
    /// Slowest.
    pub max_ms: f64,
    /// Failures by error code.
    pub errors: BTreeMap<String, u64>,
    /// Whether the prepared work ran out before the budget did.
    pub ran_out: bool,
    /// The server's CPU and memory (a local server only).
    pub server: Option<ServerUsage>,
}

impl Workload {
    /// The figures of `outcome`.
    pub fn of(
        name: &str,
        operation: &str,
        clients: usize,
        outcome: &Outcome,
        server: Option<ServerUsage>,
    ) -> Workload {
        Workload {
            name: name.into(),
            clients,
            operation: operation.into(),
            ok: outcome.ok,
            units: outcome.units,
            seconds: outcome.elapsed.as_secs_f64(),
            ops_per_second: outcome.ops_per_second(),
            units_per_second: outcome.units_per_second(),
            p50_ms: outcome.ms(0.5),
            p99_ms: outcome.ms(0.99),
            p999_ms: outcome.ms(0.999),
            max_ms: outcome.latency.max() as f64 / 1000.0,
            errors: outcome.errors.clone(),
            ran_out: outcome.exhausted,
            server,
        }
    }
}

/// The limits measured in the same run.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Limits {
    /// Grants sealed per second in process, every core.
    pub signing_grants_per_second: Option<f64>,
    /// Single-row durable commits per second of the backend at the bench's concurrency.
    pub backend_commits_per_second: Option<f64>,
    /// The same with one connection (SQLite's one writer).
    pub backend_commits_one_connection: Option<f64>,
    /// Requests per second on `/livez` (no database) at the bench's concurrency.
    pub http_requests_per_second: Option<f64>,
}

/// A whole run.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// When the run started (Unix seconds).
    pub started_at: i64,
    /// The command line.
    pub command: String,
    /// `sqlite` or `postgres` (or `unknown` for a remote server whose database is not given).
    pub backend: String,
    /// The server's URL, and whether the bench started it.
    pub server: String,
    /// Whether the server ran on this machine (its CPU and memory are then reported).
    pub local_server: bool,
    /// CPU cores of this machine.
    pub cores: usize,
    /// The 1-minute load average at the start (other work on the machine).
    pub load_average: Option<f64>,
    /// Setup: deliveries announced, and how long setting up the site took.
    pub setup_seconds: f64,
    /// Deliveries announced for the grant workload.
    pub deliveries: usize,
    /// The workloads.
    pub workloads: Vec<Workload>,
    /// The limits.
    pub limits: Limits,
    /// Failures of any workload (every failure is unexpected: the bench asks only for what
    /// the rules allow).
    pub unexpected_errors: u64,
}

fn ratio(value: f64, limit: Option<f64>) -> String {
    match limit {
        Some(l) if l > 0.0 => format!("{:.0} % of {l:.0}/s", 100.0 * value / l),
        _ => "-".into(),
    }
}

impl Report {
    /// The Markdown rendering (a self-contained section for `docs/performance.md`).
    pub fn markdown(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "## Server throughput\n");
        let _ = writeln!(
            s,
            "Measured by `porter bench` on {} ({} cores, load average {} at the start), \
             server {} ({}).\n\n```sh\n{}\n```\n",
            self.backend,
            self.cores,
            self.load_average.map_or("unknown".into(), |l| format!("{l:.1}")),
            self.server,
            if self.local_server { "started by the bench" } else { "remote" },
            self.command
        );
        let _ = writeln!(
            s,
            "| workload | clients | ok | per second | p50 ms | p99 ms | p99.9 ms | max ms | errors | server CPU (cores) | server RSS MiB |"
        );
        let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|");
        for w in &self.workloads {
            let errors = if w.errors.is_empty() {
                "0".to_string()
            } else {
                w.errors.iter().map(|(c, n)| format!("{c}: {n}")).collect::<Vec<_>>().join(", ")
            };
            let per_second = if w.units != w.ok {
                format!("{:.0} ({:.0} records/s)", w.ops_per_second, w.units_per_second)
            } else {
                format!("{:.0}", w.ops_per_second)
            };
            let (cpu, rss) = match &w.server {
                Some(u) => (format!("{:.2}", u.cores_busy), format!("{:.0}", u.rss_mib)),
                None => ("-".into(), "-".into()),
            };
            let _ = writeln!(
                s,
                "| {} ({}){} | {} | {} | {} | {:.2} | {:.2} | {:.2} | {:.1} | {} | {} | {} |",
                w.name,
                w.operation,
                if w.ran_out { ", ran out of deliveries" } else { "" },
                w.clients,
                w.ok,
                per_second,
                w.p50_ms,
                w.p99_ms,
                w.p999_ms,
                w.max_ms,
                errors,
                cpu,
                rss
            );
        }
        let l = &self.limits;
        let fmt = |v: Option<f64>| v.map_or("not measured".into(), |v| format!("{v:.0}/s"));
        let _ = writeln!(s, "\nLimits measured in the same run:\n");
        let _ = writeln!(
            s,
            "* grant sealing in process (Ed25519, every core): {}",
            fmt(l.signing_grants_per_second)
        );
        let _ = writeln!(
            s,
            "* durable single-row commits of the backend at the same concurrency: {}",
            fmt(l.backend_commits_per_second)
        );
        let _ = writeln!(
            s,
            "* the same with one connection: {}",
            fmt(l.backend_commits_one_connection)
        );
        let _ = writeln!(
            s,
            "* HTTP stack on `/livez` (no database): {}",
            fmt(l.http_requests_per_second)
        );
        if let Some(g) = self.workloads.iter().find(|w| w.name == "grants") {
            let _ = writeln!(
                s,
                "\nGrants/s as a share of each limit: sealing {}, commits {} (one connection: {}), HTTP {}.",
                ratio(g.ops_per_second, l.signing_grants_per_second),
                ratio(g.ops_per_second, l.backend_commits_per_second),
                ratio(g.ops_per_second, l.backend_commits_one_connection),
                ratio(g.ops_per_second, l.http_requests_per_second)
            );
        }
        if let Some(a) = self.workloads.iter().find(|w| w.name == "audit") {
            let _ = writeln!(
                s,
                "Audit batches/s (one transaction each) as a share of the commit limit: {}; of the HTTP limit: {}.",
                ratio(a.ops_per_second, l.backend_commits_per_second),
                ratio(a.ops_per_second, l.http_requests_per_second)
            );
        }
        let _ = writeln!(
            s,
            "\nSetup through the API ({} deliveries announced): {:.1} s. Unexpected errors: {}.",
            self.deliveries, self.setup_seconds, self.unexpected_errors
        );
        s
    }
}
