//! `--stay`: after the story, the server and the door keep running until the person at the
//! terminal presses Ctrl-C (SIGINT) or a supervisor sends SIGTERM; then the demo stops every
//! child and cleans up as after any run.

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use crate::Failure;

/// SIGINT and SIGTERM, caught from the moment this exists (so a Ctrl-C that comes while the
/// links are printed is not lost, and never kills the demo before it stops its children).
pub struct Interrupts {
    signals: Signals,
}

impl Interrupts {
    /// Starts catching SIGINT and SIGTERM.
    pub fn catch() -> Result<Interrupts, Failure> {
        let signals = Signals::new([SIGINT, SIGTERM])
            .map_err(|e| Failure::new(format!("cannot catch Ctrl-C (SIGINT/SIGTERM): {e}")))?;
        Ok(Interrupts { signals })
    }

    /// Blocks until SIGINT or SIGTERM arrives (or has arrived); returns its name.
    pub fn wait(&mut self) -> &'static str {
        loop {
            // `forever` only ends if the handle is closed, which nothing here does.
            if let Some(signal) = self.signals.forever().next() {
                return if signal == SIGTERM { "SIGTERM" } else { "SIGINT" };
            }
        }
    }
}
