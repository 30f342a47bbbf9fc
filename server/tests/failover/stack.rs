//! The HA stack started by `deploy/ha/up.sh`: its addresses (from `stack.env`), which member
//! leads, and the two faults: SIGKILL of the primary's postgres, and its Patroni agent
//! and postgres stopped (the member cut off, as when its machine leaves the network).

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

    /// Waits until one member leads, another is its synchronous standby and every member
    /// runs (so that the next failover has a candidate holding every acknowledged commit, and
    /// the promoted one a synchronous standby of its own: in strict mode writes wait for one).
    pub async fn wait_healthy(&self, within: Duration) -> String {
        self.wait_healthy_led_by_other_than("", within).await
    }

    /// [`Stack::wait_healthy`], with a leader other than `old`.
    pub async fn wait_healthy_led_by_other_than(&self, old: &str, within: Duration) -> String {
        let start = Instant::now();
        loop {
            let members = self.cluster().await;
            let leader = members
                .iter()
                .find(|m| m.role == "leader" && m.state == "running" && m.name != old);
            let sync = members.iter().any(|m| {
                m.role == "sync_standby" && (m.state == "streaming" || m.state == "running")
            });
            let all = members.len() == self.members
                && members.iter().all(|m| m.state == "running" || m.state == "streaming");
            if let (Some(leader), true, true) = (leader, sync, all) {
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
        signal("KILL", &self.postmaster(member));
    }

    /// Cuts `member` off (`cut`: SIGSTOP) or brings it back (SIGCONT): its Patroni agent and
    /// its postgres both stop answering, as when the machine drops off the network. The agent
    /// no longer renews the leader lock, so another member takes over when it expires (`ttl`);
    /// HAProxy's health check fails and it cuts the member's sessions. Back, the agent finds
    /// the lock lost, demotes its postgres and rejoins as a replica.
    pub fn partition(&self, member: &str, cut: bool) {
        let n = member.trim_start_matches("pg");
        let agent = std::fs::read_to_string(self.dir.join(format!("pids/patroni{n}.pid"))).unwrap();
        let sig = if cut { "STOP" } else { "CONT" };
        // up.sh started the agent as a process group leader (setsid): signal its group.
        // PostgreSQL puts every backend in a process group of its own: signal the postmaster
        // first (it forks no more), then each of its children.
        signal(sig, &format!("-{}", agent.trim()));
        let postmaster = self.postmaster(member);
        signal(sig, &postmaster);
        let out = Command::new("ps").args(["-o", "pid=", "--ppid", &postmaster]).output().unwrap();
        for child in String::from_utf8_lossy(&out.stdout).split_whitespace() {
            // A child may exit meanwhile: that is fine.
            let _ = Command::new("kill").args([&format!("-{sig}"), child]).status();
        }
    }

    fn postmaster(&self, member: &str) -> String {
        let pidfile = self.dir.join("pg").join(member).join("data/postmaster.pid");
        let text = std::fs::read_to_string(&pidfile)
            .unwrap_or_else(|e| panic!("{}: {e}", pidfile.display()));
        text.lines().next().unwrap().trim().to_string()
    }
}

fn signal(name: &str, target: &str) {
    let status = Command::new("kill").args([&format!("-{name}"), "--", target]).status().unwrap();
    assert!(status.success(), "kill -{name} {target} failed");
}
