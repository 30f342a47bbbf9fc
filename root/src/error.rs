//! The one error type of the tool.

use std::fmt;

/// Why the tool refused. Every message says what to do next.
#[derive(Debug)]
pub enum Error {
    /// The key file cannot be created, read or trusted (missing, readable by others, not a
    /// Porter root key, seed and public key disagree). The operator's to fix.
    KeyFile(String),
    /// An argument or an input file is malformed or out of range (a hex key, a door list, the
    /// server's exported JSON). The operator's to fix, or the server's export is from another
    /// version.
    Input(String),
    /// The server's revocation list names two different revoked objects with one deny subject:
    /// a door could not tell them apart, so signing would deny one silently or both by
    /// accident. The server should never have accepted the second key.
    SubjectCollision(String),
    /// What would be signed is refused by the protocol's own checks (a door or the server would
    /// reject it), so nothing is printed.
    WouldBeRefused(String),
    /// The operating system's random source failed.
    Random(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::KeyFile(m)
            | Error::Input(m)
            | Error::SubjectCollision(m)
            | Error::WouldBeRefused(m)
            | Error::Random(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Error {}
