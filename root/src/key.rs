//! The site root key file: JSON with the seed in hex, mode 0600, never overwritten.

use std::io::Write;
use std::path::Path;

use porter_protocol::{PublicKey, SigningKey};
use serde::{Deserialize, Serialize};

use crate::Error;

/// A site root key and the site it is for.
pub struct RootKey {
    /// The site number.
    pub site: u32,
    /// The private key.
    pub key: SigningKey,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    kind: String,
    site: u32,
    public_key: String,
    seed: String,
}

const KIND: &str = "porter-site-root";

/// Makes a new root key for `site` (random if None) and writes it to `path` with mode 0600.
/// Refuses to overwrite an existing file.
pub fn init(path: &Path, site: Option<u32>) -> Result<RootKey, Error> {
    let key = SigningKey::from_seed(rand::random())
        .map_err(|e| Error::Random(format!("the random source failed: {}", e.message())))?;
    let site = site.unwrap_or_else(|| rand::random::<u32>() | 1);
    let file = KeyFile {
        kind: KIND.into(),
        site,
        public_key: hex::encode(key.public_key().0),
        seed: hex::encode(key.seed()),
    };
    let text = serde_json::to_string_pretty(&file)
        .map_err(|e| Error::KeyFile(format!("cannot encode the key file: {e}")))?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options.open(path).map_err(|e| {
        Error::KeyFile(format!("cannot create {} (it must not exist yet): {e}", path.display()))
    })?;
    f.write_all(text.as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(|e| Error::KeyFile(format!("cannot write {}: {e}", path.display())))?;
    Ok(RootKey { site, key })
}

/// Reads a root key file, refusing one that others may read.
pub fn load(path: &Path) -> Result<RootKey, Error> {
    let unreadable =
        |e: std::io::Error| Error::KeyFile(format!("cannot read root key {}: {e}", path.display()));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(path).map_err(unreadable)?;
        if meta.permissions().mode() & 0o077 != 0 {
            return Err(Error::KeyFile(format!(
                "root key {} is readable by others: run `chmod 600 {}`",
                path.display(),
                path.display()
            )));
        }
    }
    let text = std::fs::read_to_string(path).map_err(unreadable)?;
    let file: KeyFile = serde_json::from_str(&text).map_err(|e| {
        Error::KeyFile(format!("{} is not a Porter root key file: {e}", path.display()))
    })?;
    if file.kind != KIND {
        return Err(Error::KeyFile(format!("{} is not a site root key", path.display())));
    }
    let seed: [u8; 32] =
        hex::decode(&file.seed).ok().and_then(|s| s.try_into().ok()).ok_or_else(|| {
            Error::KeyFile(format!("{}: the seed is not 32 bytes of hex", path.display()))
        })?;
    let key = SigningKey::from_seed(seed)
        .map_err(|_| Error::KeyFile(format!("{}: the seed is not a usable key", path.display())))?;
    if hex::encode(key.public_key().0) != file.public_key {
        return Err(Error::KeyFile(format!(
            "{}: the public key does not match the seed",
            path.display()
        )));
    }
    Ok(RootKey { site: file.site, key })
}

/// Parses a hex public key and checks it is usable.
pub fn parse_key(what: &str, s: &str) -> Result<PublicKey, Error> {
    let bytes: [u8; 32] = hex::decode(s.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| Error::Input(format!("{what} must be 64 hex digits")))?;
    let key = PublicKey(bytes);
    key.validate()
        .map_err(|e| Error::Input(format!("{what} is not a usable Ed25519 key: {e:?}")))?;
    Ok(key)
}
