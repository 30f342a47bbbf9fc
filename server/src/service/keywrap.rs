//! Issuer private keys at rest: sealed with ChaCha20-Poly1305 under a key the operator keeps
//! outside the database, bound to the issuer's public key, so that a database dump alone mints
//! no grants.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};

/// The prefix of a sealed seed in the store.
const SEALED: &str = "enc1:";

/// Seals and opens issuer seeds.
pub struct KeyWrap(ChaCha20Poly1305);

impl std::fmt::Debug for KeyWrap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyWrap(..)")
    }
}

impl KeyWrap {
    /// A wrap under a 32-byte secret.
    pub fn new(secret: [u8; 32]) -> KeyWrap {
        KeyWrap(ChaCha20Poly1305::new(Key::from_slice(&secret)))
    }

    /// `enc1:` + hex(nonce || ciphertext), with the public key as associated data.
    pub fn seal(&self, public_hex: &str, seed: &[u8; 32]) -> Option<String> {
        let nonce: [u8; 12] = rand::random();
        let sealed = self
            .0
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: seed, aad: public_hex.as_bytes() })
            .ok()?;
        Some(format!("{SEALED}{}{}", hex::encode(nonce), hex::encode(sealed)))
    }

    /// The seed, if `stored` was sealed under this secret for this public key.
    pub fn open(&self, public_hex: &str, stored: &str) -> Option<[u8; 32]> {
        let bytes = hex::decode(stored.strip_prefix(SEALED)?).ok()?;
        let (nonce, sealed) = bytes.split_at_checked(12)?;
        let seed = self
            .0
            .decrypt(Nonce::from_slice(nonce), Payload { msg: sealed, aad: public_hex.as_bytes() })
            .ok()?;
        seed.try_into().ok()
    }

    /// Whether a stored seed is sealed.
    pub fn is_sealed(stored: &str) -> bool {
        stored.starts_with(SEALED)
    }
}
