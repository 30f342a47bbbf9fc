//! The HA stack started by `deploy/ha/up.sh`: its addresses (from `stack.env`), which member
//! leads, and the two faults: SIGKILL of the primary's postgres, and its Patroni agent
//! stopped (the member cut off from etcd while its postgres runs on).

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

pub struct Stack {
    pub dir: PathBuf,
    pub porter_urls: Vec<String>,
    pub database_url: String,
    pub operator_token: String,
    base_port: u16,
    members: usize,
}

/// One member as Patroni's `GET /cluster` reports it.
#[derive(Debug, Clone)]
pub struct Member {
    pub name: String,
    /// `leader`, `sync_standby` or `replica`.
    pub role: String,
    /// `running`, `streaming`, `stopped`, ...
    pub state: String,
}

impl Stack {
    /// The stack `PORTER_TEST_HA` names, if any.
    pub fn from_env() -> Option<Stack> {
        let dir = PathBuf::from(std::env::var("PORTER_TEST_HA").ok()?);
        let text = std::fs::read_to_string(dir.join("stack.env")).unwrap_or_else(|e| {
            panic!("{}/stack.env: {e} (start it with deploy/ha/up.sh)", dir.display())
        });
        let env: HashMap<&str, &str> = text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.split_once('='))
            .collect();
        Some(Stack {
            porter_urls: env["HA_PORTER_URLS"].split(',').map(String::from).collect(),
            database_url: env["HA_DATABASE_URL"].to_string(),
            operator_token: env["HA_OPERATOR_TOKEN"].to_string(),
            base_port: env["HA_BASE_PORT"].parse().unwrap(),
            members: env["HA_PG_MEMBERS"].parse().unwrap(),
            dir,
        })
    }

    fn rest(&self, member: usize) -> String {
        format!("http://127.0.0.1:{}", self.base_port as usize + 200 + member)
    }

    /// The cluster as the first member that answers sees it.
    pub async fn cluster(&self) -> Vec<Member> {
        for i in 1..=self.members {
            let url = format!("{}/cluster", self.rest(i));
            let Ok(r) =
                porter_server::client::request("GET", &url, &[], b"", Duration::from_secs(1)).await
            else {
                continue;
            };
            let Some(members) = r.json()["members"].as_array().cloned() else { continue };
            return members
                .iter()
                .map(|m| Member {
                    name: m["name"].as_str().unwrap_or_default().to_string(),
                    role: m["role"].as_str().unwrap_or_default().to_string(),
                    state: m["state"].as_str().unwrap_or_default().to_string(),
                })
                .collect();
        }
        Vec::new()
    }

    /// Waits until one member leads and another is its synchronous standby, streaming (so
    /// that the next failover has a candidate that holds every acknowledged commit).
    pub async fn wait_healthy(&self, within: Duration) -> String {
        let start = Instant::now();
        loop {
            let members = self.cluster().await;
            let leader = members.iter().find(|m| m.role == "leader" && m.state == "running");
            let sync = members.iter().any(|m| {
                m.role == "sync_standby" && (m.state == "streaming" || m.state == "running")
            });
            if let (Some(leader), true) = (leader, sync) {
                return leader.name.clone();
            }
            assert!(
                start.elapsed() < within,
                "no leader with a synchronous standby after {within:?}: {members:?} (logs in {}/logs)",
                self.dir.display()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// SIGKILL to the postmaster of `member` (e.g. `pg1`).
    pub fn kill_postgres(&self, member: &str) {
        let pidfile = self.dir.join("pg").join(member).join("data/postmaster.pid");
        let text = std::fs::read_to_string(&pidfile)
            .unwrap_or_else(|e| panic!("{}: {e}", pidfile.display()));
        let pid = text.lines().next().unwrap().trim().to_string();
        signal("KILL", &pid);
    }

    /// SIGSTOP (`stop`) or SIGCONT to the Patroni agent of `member`: stopped, it neither
    /// renews its leader lock nor answers its REST API, while its postgres runs on.
    pub fn patroni_agent(&self, member: &str, stop: bool) {
        let n = member.trim_start_matches("pg");
        let pid = std::fs::read_to_string(self.dir.join(format!("pids/patroni{n}.pid"))).unwrap();
        // up.sh started the agent as a process group leader (setsid); postgres runs in a
        // session of its own, so only the agent stops.
        signal(if stop { "STOP" } else { "CONT" }, &format!("-{}", pid.trim()));
    }
}

fn signal(name: &str, target: &str) {
    let status = Command::new("kill").args([&format!("-{name}"), "--", target]).status().unwrap();
    assert!(status.success(), "kill -{name} {target} failed");
}
