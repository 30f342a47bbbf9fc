//! The server under test when the bench starts it: a `porter serve` child process on a database
//! of the bench's choosing, and its CPU and memory read from `/proc`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{Service, Store};

/// A `porter serve` the bench started (stopped on drop).
pub struct LocalServer {
    child: Child,
    /// Its base URL.
    pub base: String,
    /// An operator token made for the bench.
    pub operator: String,
}

impl LocalServer {
    /// Starts `porter serve` (this very executable) on `database_url` with its data in
    /// `data_dir`, rate limits out of the way, and waits until `/healthz` answers.
    pub async fn start(
        database_url: &str,
        data_dir: &Path,
        log_level: &str,
    ) -> Result<LocalServer, String> {
        // Migrate and make the operator token first, in process, as `porter operator-token`.
        let store = Store::connect(database_url)
            .await
            .map_err(|e| format!("cannot open the database {database_url}: {e}"))?;
        let operator =
            Service::bootstrap_operator(&store, "bench").await.map_err(|e| e.to_string())?.token;
        store.close().await;

        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        let exe = std::env::current_exe().map_err(|e| format!("cannot find porter: {e}"))?;
        let log = std::fs::File::create(data_dir.join("server.log"))
            .map_err(|e| format!("cannot write the server log in {}: {e}", data_dir.display()))?;
        let child = Command::new(exe)
            .arg("serve")
            .env_remove("PORTER_CONFIG")
            .env("PORTER_LISTEN", format!("127.0.0.1:{port}"))
            .env("PORTER_DATA_DIR", data_dir)
            .env("PORTER_DATABASE_URL", database_url)
            // The bench's clients would otherwise be throttled like one phone each (the most allowed).
            .env("PORTER_RATE_LIMIT_PER_MINUTE", "1000000")
            .env("PORTER_LOG_LEVEL", log_level)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot start porter serve: {e}"))?;
        let mut server = LocalServer { child, base: format!("http://127.0.0.1:{port}"), operator };
        server.wait_ready().await?;
        Ok(server)
    }

    async fn wait_ready(&mut self) -> Result<(), String> {
        let api = super::api::Api::new(&self.base, 1)?;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("porter serve exited at start ({status}): see server.log"));
            }
            if api.call("GET", "/healthz", None, None).await.is_ok_and(|a| a.status == 200) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err("porter serve did not answer /healthz within 30 s".into());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// CPU time and memory of a process, from `/proc/<pid>`.
#[derive(Clone, Copy, Debug, Default)]
pub struct ProcSample {
    /// User plus system CPU time, seconds.
    pub cpu_seconds: f64,
    /// Resident memory, KiB.
    pub rss_kib: u64,
    /// Peak resident memory, KiB.
    pub peak_rss_kib: u64,
}

/// Clock ticks per second of `/proc/<pid>/stat` (USER_HZ: 100 on every Linux architecture
/// we run on).
const TICKS_PER_SECOND: f64 = 100.0;

impl ProcSample {
    /// Reads `pid`'s counters; None if the process is not local or `/proc` is missing.
    pub fn read(pid: u32) -> Option<ProcSample> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // Fields after the command name (which may hold spaces) start at field 3.
        let rest = stat.rsplit_once(')')?.1;
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let utime: f64 = fields.get(11)?.parse().ok()?;
        let stime: f64 = fields.get(12)?.parse().ok()?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let kib = |key: &str| {
            status
                .lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        Some(ProcSample {
            cpu_seconds: (utime + stime) / TICKS_PER_SECOND,
            rss_kib: kib("VmRSS:"),
            peak_rss_kib: kib("VmHWM:"),
        })
    }
}

/// A fresh directory for a local server's SQLite database and log.
pub fn scratch_dir() -> Result<PathBuf, String> {
    let dir = std::env::temp_dir().join(format!("porter-bench-{:016x}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    Ok(dir)
}
