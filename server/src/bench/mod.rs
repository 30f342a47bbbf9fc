//! `porter bench`: a load generator over the real HTTP API. It sets up a realistic site, drives
//! grant issuance and audit-batch uploads with N concurrent clients, and writes a Markdown and
//! a JSON report with the limits measured in the same run (grant sealing in process, the
//! backend's durable commits, the HTTP stack on a route that does no work).
//!
//! * [`api`]: the JSON client; [`site`]: the site set up through the API;
//! * [`drive`]: N clients, a duration or a count, histograms, the progress bar;
//! * [`workloads`]: the operations; [`limits`]: the limits; [`server`]: a local `porter serve`
//!   and its `/proc` counters; [`report`]: the report.

pub mod api;
pub mod drive;
pub mod limits;
pub mod report;
pub mod server;
pub mod site;
pub mod workloads;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use api::Api;
use drive::{Budget, Op};
use limits::CommitTarget;
use report::{Limits, Report, ServerUsage, Workload};
use server::{LocalServer, ProcSample};

/// What `porter bench` runs.
#[derive(clap::Args, Debug, Clone)]
pub struct BenchArgs {
    /// Database for a server the bench starts (`sqlite://...` or `postgres://...`); default:
    /// SQLite in a fresh temporary directory. With `--server`, the database that server uses
    /// (only to measure its commit limit).
    #[arg(long)]
    pub database_url: Option<String>,
    /// An already running server (`http://host:port`) instead of starting one.
    #[arg(long, requires = "operator_token")]
    pub server: Option<String>,
    /// An operator token of `--server` (`porter operator-token`).
    #[arg(long)]
    pub operator_token: Option<String>,
    /// Concurrent clients.
    #[arg(long, default_value_t = 64)]
    pub clients: usize,
    /// Seconds each workload runs (at most).
    #[arg(long, default_value_t = 10.0)]
    pub seconds: f64,
    /// Operations each workload runs (at most), if bounded.
    #[arg(long)]
    pub count: Option<u64>,
    /// Deliveries to announce before the grant workload (each yields 4 grants); default:
    /// enough for `--count`, or 4000.
    #[arg(long)]
    pub deliveries: Option<usize>,
    /// Records per audit batch (at most 512).
    #[arg(long, default_value_t = 128)]
    pub batch_records: usize,
    /// Workloads to run, in order.
    #[arg(long, value_delimiter = ',', default_value = "grants,audit")]
    pub workloads: Vec<WorkloadKind>,
    /// Seconds each limit is measured for.
    #[arg(long, default_value_t = 3.0)]
    pub limit_seconds: f64,
    /// Skip measuring the limits.
    #[arg(long)]
    pub no_limits: bool,
    /// The log level of a server the bench starts (every request is logged at `info`).
    #[arg(long, default_value = "warn")]
    pub server_log_level: String,
    /// Where the reports go (`bench.md`, `bench.json`).
    #[arg(long, default_value = "bench-report")]
    pub out: PathBuf,
}

/// A workload of the bench.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum WorkloadKind {
    /// Drivers asking for grants.
    Grants,
    /// Doors' uplinks uploading audit batches.
    Audit,
}

/// Runs the bench; the report's path on success.
pub async fn run(args: BenchArgs) -> Result<PathBuf, String> {
    if args.clients == 0 || args.batch_records == 0 || args.batch_records > 512 {
        return Err("--clients must be at least 1 and --batch-records 1..=512".into());
    }
    let started_at = crate::service::now();
    let load_average = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().and_then(|v| v.parse().ok()));
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());

    // The server: ours or theirs.
    let scratch = server::scratch_dir()?;
    let (local, base, operator, database_url) = match (&args.server, &args.operator_token) {
        (Some(base), Some(token)) => (None, base.clone(), token.clone(), args.database_url.clone()),
        _ => {
            let url = args
                .database_url
                .clone()
                .unwrap_or_else(|| format!("sqlite://{}", scratch.join("porter.db").display()));
            eprintln!("porter bench: starting porter serve on {}", redact(&url));
            let s = LocalServer::start(&url, &scratch, &args.server_log_level).await?;
            let (base, operator) = (s.base.clone(), s.operator.clone());
            (Some(s), base, operator, Some(url))
        }
    };
    let backend = match database_url.as_deref() {
        Some(u) if u.starts_with("sqlite:") => "sqlite",
        Some(u) if u.starts_with("postgres") => "postgres",
        _ => "unknown",
    };
    let pid = local.as_ref().map(LocalServer::pid);
    let api = Api::new(&base, args.clients)?;

    // The site.
    let setup = Instant::now();
    let deliveries = args.deliveries.unwrap_or_else(|| match args.count {
        Some(n) => (n as usize).div_ceil(4),
        None => 4000,
    });
    let wants_grants = args.workloads.contains(&WorkloadKind::Grants);
    let shape = site::Shape {
        doors: if args.workloads.contains(&WorkloadKind::Audit) { args.clients } else { 1 },
        drivers: args.clients,
        deliveries: if wants_grants { deliveries } else { 0 },
        units: 16,
        concurrency: args.clients.min(32),
    };
    eprintln!(
        "porter bench: setting up a site ({} doors, {} drivers, {} deliveries)",
        shape.doors, shape.drivers, shape.deliveries
    );
    let site = site::set_up(&api, &operator, &shape).await?;
    let setup_seconds = setup.elapsed().as_secs_f64();

    let budget = Budget { duration: Duration::from_secs_f64(args.seconds), count: args.count };
    let mut workloads = Vec::new();
    for kind in &args.workloads {
        let (name, operation, op): (&str, String, Op) = match kind {
            WorkloadKind::Grants => {
                ("grants", "POST a grant".into(), workloads::grants(&api, &site))
            }
            WorkloadKind::Audit => (
                "audit",
                format!("POST a batch of {} records", args.batch_records),
                workloads::audit(&api, &site, args.batch_records),
            ),
        };
        workloads.push(measure(name, &operation, args.clients, budget, op, pid).await);
    }

    // The limits, while the server is otherwise idle.
    let mut limits = Limits::default();
    if !args.no_limits {
        let limit_budget =
            Budget { duration: Duration::from_secs_f64(args.limit_seconds), count: None };
        let http = measure(
            "http_ceiling",
            "GET /livez",
            args.clients,
            limit_budget,
            workloads::livez(&api),
            pid,
        )
        .await;
        limits.http_requests_per_second = Some(http.ops_per_second);
        workloads.push(http);
        eprintln!("porter bench: sealing grants in process");
        let seconds = Duration::from_secs_f64(args.limit_seconds);
        limits.signing_grants_per_second = Some(
            tokio::task::spawn_blocking(move || limits::signing_rate(seconds))
                .await
                .map_err(|e| e.to_string())?,
        );
        let target = match database_url.as_deref() {
            Some(u) if u.starts_with("sqlite:") => {
                let dir = sqlite_dir(u).unwrap_or_else(|| scratch.clone());
                Some(CommitTarget::Sqlite(dir.join("porter-bench-scratch.db")))
            }
            Some(u) if u.starts_with("postgres") => Some(CommitTarget::Postgres(u.to_string())),
            _ => None,
        };
        if let Some(target) = target {
            eprintln!("porter bench: durable commits of the backend, {} connections", args.clients);
            limits.backend_commits_per_second =
                Some(limits::commit_rate(&target, args.clients, seconds).await?);
            // SQLite has one writer: what one connection commits is its real ceiling.
            limits.backend_commits_one_connection =
                Some(limits::commit_rate(&target, 1, seconds).await?);
        }
    }

    let unexpected_errors = workloads.iter().flat_map(|w| w.errors.values()).sum();
    let report = Report {
        started_at,
        command: command_line(),
        backend: backend.into(),
        server: base.clone(),
        local_server: local.is_some(),
        cores,
        load_average,
        setup_seconds,
        deliveries: site.deliveries.len(),
        workloads,
        limits,
        unexpected_errors,
    };
    drop(local);
    let _ = std::fs::remove_dir_all(&scratch);
    write(&args.out, &report)
}

/// Runs one workload and samples the server around it.
async fn measure(
    name: &str,
    operation: &str,
    clients: usize,
    budget: Budget,
    op: Op,
    pid: Option<u32>,
) -> Workload {
    let before = pid.and_then(ProcSample::read);
    let outcome = drive::drive(name, clients, budget, op).await;
    let after = pid.and_then(ProcSample::read);
    let usage = match (before, after) {
        (Some(b), Some(a)) => Some(ServerUsage::between(b, a, outcome.elapsed.as_secs_f64())),
        _ => None,
    };
    Workload::of(name, operation, clients, &outcome, usage)
}

fn write(dir: &std::path::Path, report: &Report) -> Result<PathBuf, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let json = serde_json::to_string_pretty(report).map_err(|e| e.to_string())?;
    let (md_path, json_path) = (dir.join("bench.md"), dir.join("bench.json"));
    std::fs::write(&json_path, json + "\n")
        .map_err(|e| format!("cannot write {}: {e}", json_path.display()))?;
    std::fs::write(&md_path, report.markdown())
        .map_err(|e| format!("cannot write {}: {e}", md_path.display()))?;
    Ok(md_path)
}

/// The directory of a `sqlite://path/file.db` URL.
fn sqlite_dir(url: &str) -> Option<PathBuf> {
    let path = url.strip_prefix("sqlite://")?.split('?').next()?;
    PathBuf::from(path).parent().map(PathBuf::from)
}

/// A database URL without its password, for the console.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{user}@{}", &url[..scheme + 3], &url[at + 1..])
        }
        _ => url.to_string(),
    }
}

/// The command line as run, without the operator token or a database password.
fn command_line() -> String {
    let mut out = vec!["porter".to_string()];
    let mut secret_next = false;
    for arg in std::env::args().skip(1) {
        out.push(if secret_next { "<token>".into() } else { redact(&arg) });
        secret_next = arg == "--operator-token";
    }
    out.join(" ")
}
