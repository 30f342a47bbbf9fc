//! The real programs the demo drives: `porter-root` (the offline root tool), `porter serve`,
//! and `porter-door-sim`. Every child is killed when its handle is dropped, so the demo never
//! leaves a process behind, even when a step fails.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use crate::Failure;

/// Where the demo finds the programs it runs.
#[derive(Clone, Debug)]
pub struct Programs {
    /// The `porter` binary (the server).
    pub porter: PathBuf,
    /// The `porter-root` binary (the site root's offline tool).
    pub porter_root: PathBuf,
    /// The `porter-door-sim` binary.
    pub door_sim: PathBuf,
}

impl Programs {
    /// The three programs in `dir` (a cargo target profile directory).
    pub fn in_dir(dir: &Path) -> Programs {
        Programs {
            porter: dir.join("porter"),
            porter_root: dir.join("porter-root"),
            door_sim: dir.join("porter-door-sim"),
        }
    }

    /// Checks that all three exist, saying how to build them if not.
    pub fn check(&self) -> Result<(), Failure> {
        for p in [&self.porter, &self.porter_root, &self.door_sim] {
            if !p.is_file() {
                return Err(Failure::new(format!(
                    "{} is missing: build it with `cargo build --release -p porter-server --bin \
                     porter -p porter-root --bin porter-root` and `cargo build --release -p porter-device --features std --bin \
                     porter-door-sim` (./demo.sh does)",
                    p.display()
                )));
            }
        }
        Ok(())
    }

    /// Runs `porter <args>` to completion; returns its standard output, or its error.
    pub fn porter(&self, args: &[&str], env: &[(&str, &str)]) -> Result<String, Failure> {
        run(&self.porter, args, env)
    }

    /// Runs `porter-root <args>` to completion; returns its standard output, or its error.
    pub fn root(&self, args: &[&str]) -> Result<String, Failure> {
        run(&self.porter_root, args, &[])
    }
}

/// Runs `program <args>` to completion; returns its standard output, or its error.
fn run(program: &Path, args: &[&str], env: &[(&str, &str)]) -> Result<String, Failure> {
    let name = program.file_name().map_or("?".into(), |n| n.to_string_lossy().into_owned());
    let mut cmd = Command::new(program);
    // The demo's own settings only: never a database or config from the caller's shell.
    cmd.args(args)
        .stdin(Stdio::null())
        .env_remove("PORTER_DATABASE_URL")
        .env_remove("PORTER_CONFIG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out =
        cmd.output().map_err(|e| Failure::new(format!("cannot run {}: {e}", program.display())))?;
    if !out.status.success() {
        return Err(Failure::new(format!(
            "`{name} {}` failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    String::from_utf8(out.stdout)
        .map_err(|_| Failure::new(format!("`{name} {}` printed non-UTF-8", args.join(" "))))
}

/// The value after `prefix` on the first line of `text` that starts with it.
pub fn field(text: &str, prefix: &str) -> Result<String, Failure> {
    text.lines()
        .find_map(|l| l.strip_prefix(prefix))
        .map(|v| v.trim().to_string())
        .ok_or_else(|| Failure::new(format!("expected a line `{prefix}...` in {text:?}")))
}

/// A child process whose output lines arrive on a channel.
struct Lines {
    child: Child,
    lines: Receiver<String>,
}

impl Lines {
    fn spawn(mut cmd: Command, what: &str) -> Result<Lines, Failure> {
        cmd.stdout(Stdio::piped()).stderr(Stdio::inherit());
        let mut child =
            cmd.spawn().map_err(|e| Failure::new(format!("cannot start {what}: {e}")))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| Failure::new(format!("{what} has no standard output")))?;
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Ok(Lines { child, lines })
    }

    /// Waits up to `timeout` for a line starting with `prefix`; returns the rest of it.
    fn wait_for(&mut self, prefix: &str, timeout: Duration, what: &str) -> Result<String, Failure> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    if let Some(rest) = line.strip_prefix(prefix) {
                        return Ok(rest.trim().to_string());
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    return Err(Failure::new(format!(
                        "{what} did not print `{prefix}` within {timeout:?}"
                    )))
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = self.child.wait().map(|s| s.to_string()).unwrap_or_default();
                    return Err(Failure::new(format!(
                        "{what} exited ({status}) before printing `{prefix}`"
                    )));
                }
            }
        }
    }
}

impl Drop for Lines {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A running `porter serve`.
pub struct Server {
    proc: Lines,
    /// `http://127.0.0.1:port`.
    pub base: String,
}

impl Server {
    /// Starts `porter serve` on SQLite in `data_dir`, on a free loopback port.
    pub fn start(programs: &Programs, data_dir: &Path) -> Result<Server, Failure> {
        let mut cmd = Command::new(&programs.porter);
        cmd.arg("serve")
            .env("PORTER_DATA_DIR", data_dir)
            .env_remove("PORTER_DATABASE_URL")
            .env_remove("PORTER_CONFIG")
            .env_remove("PORTER_TLS_CERT")
            .env_remove("PORTER_TLS_KEY")
            .env("PORTER_LISTEN", "127.0.0.1:0")
            .env("PORTER_LOG_LEVEL", "error")
            .env("PORTER_SHUTDOWN_GRACE_SECONDS", "2")
            .stdin(Stdio::null());
        let mut proc = Lines::spawn(cmd, "porter serve")?;
        let base =
            proc.wait_for("porter listening on ", Duration::from_secs(30), "porter serve")?;
        Ok(Server { proc, base })
    }

    /// Stops the server: SIGTERM (graceful), then SIGKILL after a few seconds.
    pub fn stop(mut self) -> Result<(), Failure> {
        let pid = self.proc.child.id().to_string();
        let signalled = Command::new("kill")
            .args(["-TERM", &pid])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !signalled {
            // No `kill` program here: stop it the hard way (SQLite survives that too).
            let _ = self.proc.child.kill();
            let _ = self.proc.child.wait();
            return Ok(());
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.proc.child.try_wait() {
                return if status.success() {
                    Ok(())
                } else {
                    Err(Failure::new(format!("porter serve stopped with {status}")))
                };
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(Failure::new("porter serve did not stop within 5 s of SIGTERM (killed)"))
    }
}

/// A running `porter-door-sim`: its TCP address, its device key and its event lines.
pub struct DoorSim {
    proc: Lines,
    stdin: ChildStdin,
    /// The loopback address phones connect to.
    pub addr: String,
    /// The device public key it made on first boot, hex.
    pub device_key: String,
}

impl DoorSim {
    /// Boots the simulator on the flash image `flash` (created blank if missing), in real time.
    pub fn start(programs: &Programs, flash: &Path) -> Result<DoorSim, Failure> {
        let mut cmd = Command::new(&programs.door_sim);
        cmd.arg("--flash").arg(flash).args(["--listen", "127.0.0.1:0"]).stdin(Stdio::piped());
        let mut proc = Lines::spawn(cmd, "porter-door-sim")?;
        let stdin = proc
            .child
            .stdin
            .take()
            .ok_or_else(|| Failure::new("porter-door-sim has no standard input"))?;
        let t = Duration::from_secs(15);
        let addr = proc.wait_for("listening ", t, "porter-door-sim")?;
        let device_key = proc.wait_for("device-key ", t, "porter-door-sim")?;
        Ok(DoorSim { proc, stdin, addr, device_key })
    }

    /// Waits up to `timeout` for the event line `event` (e.g. `relay released`).
    pub fn expect_event(&mut self, event: &str, timeout: Duration) -> Result<(), Failure> {
        self.proc.wait_for(event, timeout, "the door").map(|_| ())
    }

    /// Sends a control command (`status`, `open`, `close`, ...).
    pub fn command(&mut self, command: &str) -> Result<(), Failure> {
        writeln!(self.stdin, "{command}")
            .and_then(|()| self.stdin.flush())
            .map_err(|e| Failure::new(format!("the door's control input: {e}")))
    }

    /// Asks for a status line and returns it (`enrolled=.. log=.. ...`).
    pub fn status(&mut self) -> Result<String, Failure> {
        self.command("status")?;
        self.proc.wait_for("status ", Duration::from_secs(5), "the door")
    }

    /// Powers the door off (`quit`), waiting for a clean exit. A door the terminal's Ctrl-C
    /// already stopped (it reaches the whole foreground process group) counts as stopped.
    pub fn stop(mut self) -> Result<(), Failure> {
        if let Ok(Some(status)) = self.proc.child.try_wait() {
            return if interrupted(status) {
                Ok(())
            } else {
                Err(Failure::new(format!("porter-door-sim had stopped with {status}")))
            };
        }
        self.command("quit")?;
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.proc.child.try_wait() {
                return if status.success() {
                    Ok(())
                } else {
                    Err(Failure::new(format!("porter-door-sim stopped with {status}")))
                };
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Err(Failure::new("porter-door-sim did not quit within 5 s (killed)"))
    }
}

/// Whether a child ended by SIGINT or SIGTERM (the terminal's Ctrl-C, or a supervisor).
fn interrupted(status: ExitStatus) -> bool {
    matches!(status.signal(), Some(2 | 15))
}
