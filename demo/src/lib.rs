//! # porter-demo
//!
//! Porter's main job, `./demo.sh`: one whole delivery, played by every actor of the product's
//! flows with the real components, and narrated in plain words.
//!
//! * The property manager runs the real `porter-root` tool offline and `porter serve` on
//!   SQLite ([`procs`]).
//! * The door is the real `porter-door-sim` on a file-backed flash image, reached over its
//!   framed TCP link ([`door`]).
//! * The driver's phone is `porter-ffi`, the library the apps link ([`phone`]).
//! * Everyone else (operator, carrier, resident) uses the server's HTTP API ([`http`]).
//!
//! [`run`] plays the six steps of the delivery, then invites the site's manager and a resident
//! to the web portal and prints their links (step 7; with [`Options::stay`] the server keeps
//! serving them until Ctrl-C). It checks every outcome: it returns an [`Outcome`] only if
//! every actor saw what the product promises, and a [`Failure`] naming the step otherwise.

#![forbid(unsafe_code)]

pub mod door;
mod flow;
pub mod http;
pub mod phone;
mod portal;
pub mod procs;
mod stay;

use std::fmt;
use std::io::Write;
use std::path::PathBuf;

// The public interface is:
pub use crate::flow::{run, Outcome};
pub use crate::portal::PortalLinks;
pub use crate::procs::Programs;

/// What to run and where.
#[derive(Clone, Debug)]
pub struct Options {
    /// The `porter` and `porter-door-sim` binaries.
    pub programs: Programs,
    /// An empty directory for the root key, the server's database and the door's flash.
    pub work_dir: PathBuf,
    /// After the story, keep the server and the door running until SIGINT or SIGTERM.
    pub stay: bool,
}

/// Why the demo stopped: what was expected and what happened instead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// The explanation.
    pub message: String,
}

impl Failure {
    /// A failure with this explanation.
    pub fn new(message: impl Into<String>) -> Failure {
        Failure { message: message.into() }
    }

    /// The same failure, prefixed with where it happened.
    pub fn context(self, what: &str) -> Failure {
        Failure { message: format!("{what}: {}", self.message) }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

/// Prints the story: numbered steps, then one line per thing that happened.
pub struct Narrator {
    out: Box<dyn Write + Send>,
}

impl Narrator {
    /// A narrator writing to `out`.
    pub fn new(out: Box<dyn Write + Send>) -> Narrator {
        Narrator { out }
    }

    /// Starts step `n`.
    pub fn step(&mut self, n: u32, title: &str) {
        let _ = writeln!(self.out, "\n== Step {n}. {title}");
        let _ = self.out.flush();
    }

    /// One thing that happened, said by `who`.
    pub fn say(&mut self, who: &str, text: &str) {
        let _ = writeln!(self.out, "  {who:<22} {text}");
        let _ = self.out.flush();
    }

    /// A detail under the previous line.
    pub fn detail(&mut self, text: &str) {
        let _ = writeln!(self.out, "  {:<22}   {text}", "");
        let _ = self.out.flush();
    }

    /// A line outside the steps.
    pub fn line(&mut self, text: &str) {
        let _ = writeln!(self.out, "{text}");
        let _ = self.out.flush();
    }
}
