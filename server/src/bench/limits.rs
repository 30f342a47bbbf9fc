//! The limits the server is compared against, measured in the same run on the same machine:
//! the protocol core sealing grants in process, and the backend's durable commits of one
//! small row at the bench's concurrency (the SQLite settings the server uses, or the same
//! PostgreSQL database).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use porter_protocol::{
    DoorId, Grant, PackageCommitment, Role, SigningKey, SiteId, Time, MAX_GRANT_LEN, VERSION,
};
use sqlx::any::AnyPoolOptions;
use sqlx::Executor;

/// Grants sealed per second by the protocol core on every core of this machine (Ed25519
/// signing and encoding, nothing else), over `duration`.
pub fn signing_rate(duration: Duration) -> f64 {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let done = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let (done, stop) = (done.clone(), stop.clone());
            std::thread::spawn(move || {
                let key = SigningKey::from_seed(rand::random()).expect("a random seed makes a key");
                let holder = SigningKey::from_seed(rand::random()).expect("a key").public_key();
                let mut grant = Grant {
                    version: VERSION,
                    site: SiteId(7),
                    serial: 0,
                    uses: 1,
                    role: Role::Delivery,
                    doors: [DoorId(1)].into_iter().collect(),
                    not_before: Time(1_800_000_000),
                    not_after: Time(1_800_000_600),
                    holder,
                    package: PackageCommitment([7; 32]),
                };
                let mut buf = [0u8; MAX_GRANT_LEN];
                while !stop.load(Ordering::Relaxed) {
                    grant.serial += 1;
                    let sealed = grant.seal(&key, &mut buf).expect("a grant fits its maximum");
                    std::hint::black_box(sealed);
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    std::thread::sleep(duration);
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        let _ = w.join();
    }
    done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

/// Where to measure durable commits.
pub enum CommitTarget {
    /// A scratch SQLite file (in the server's data directory: the same file system), with the
    /// server's settings: WAL, `synchronous = FULL`.
    Sqlite(std::path::PathBuf),
    /// A scratch table in the server's PostgreSQL database (dropped afterwards).
    Postgres(String),
}

/// Single-row insert-and-commit transactions per second with `clients` concurrent
/// connections, over `duration`.
pub async fn commit_rate(
    target: &CommitTarget,
    clients: usize,
    duration: Duration,
) -> Result<f64, String> {
    sqlx::any::install_default_drivers();
    let table = format!("porter_bench_scratch_{:08x}", rand::random::<u32>());
    let pool = match target {
        CommitTarget::Sqlite(path) => {
            AnyPoolOptions::new()
                .max_connections(clients as u32)
                .after_connect(|conn, _| {
                    Box::pin(async move {
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute("PRAGMA synchronous = FULL").await?;
                        conn.execute("PRAGMA busy_timeout = 5000").await?;
                        Ok(())
                    })
                })
                .connect(&format!("sqlite://{}?mode=rwc", path.display()))
                .await
        }
        CommitTarget::Postgres(url) => {
            AnyPoolOptions::new().max_connections(clients as u32).connect(url).await
        }
    }
    .map_err(|e| format!("limits: cannot open the scratch database: {e}"))?;
    let create = format!("CREATE TABLE {table} (id BIGINT PRIMARY KEY, body TEXT NOT NULL)");
    pool.execute(create.as_str()).await.map_err(|e| format!("limits: {e}"))?;

    let next = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + duration;
    let started = Instant::now();
    let insert = format!("INSERT INTO {table} (id, body) VALUES ($1, $2)");
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let (pool, next, failed, insert) =
                (pool.clone(), next.clone(), failed.clone(), insert.clone());
            tokio::spawn(async move {
                let mut done = 0u64;
                while Instant::now() < deadline {
                    let id = next.fetch_add(1, Ordering::Relaxed) as i64;
                    let one = async {
                        let mut tx = pool.begin().await?;
                        sqlx::query(&insert)
                            .bind(id)
                            .bind("a grant's worth of bytes".repeat(8))
                            .execute(&mut *tx)
                            .await?;
                        tx.commit().await
                    };
                    match one.await {
                        Ok(()) => done += 1,
                        Err(_) => {
                            failed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                done
            })
        })
        .collect();
    let mut committed = 0;
    for t in tasks {
        committed += t.await.unwrap_or(0);
    }
    let rate = committed as f64 / started.elapsed().as_secs_f64();
    let _ = pool.execute(format!("DROP TABLE {table}").as_str()).await;
    pool.close().await;
    if let CommitTarget::Sqlite(path) = target {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }
    let failed = failed.load(Ordering::Relaxed);
    if failed > 0 {
        tracing::warn!(failed, "limits: some scratch commits failed (busy)");
    }
    Ok(rate)
}
