//! Work done once per stored value instead of once per grant: verifying an issuer certificate
//! under its site root, opening and expanding an issuer key, decoding a signed door state.
//!
//! Each cache is keyed by the stored bytes themselves (and, for a certificate, the root key it
//! was verified under), never by an id: a changed certificate, key or door state is a new key,
//! so no entry can go stale, whichever process of a shared database changed the row.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

use porter_protocol::{Certificate, DoorState, SigningKey};

/// Entries kept per cache before it is emptied (a site has a handful of each).
const MAX_ENTRIES: usize = 4096;

/// A small content-keyed memo.
#[derive(Debug)]
struct Memo<K, V>(Mutex<HashMap<K, V>>);

impl<K: Hash + Eq, V: Clone> Memo<K, V> {
    fn new() -> Self {
        Memo(Mutex::new(HashMap::new()))
    }

    /// The value for `key`, computed by `make` on a miss (outside the lock). A failed
    /// computation is not kept.
    fn get_or<E>(&self, key: K, make: impl FnOnce() -> Result<V, E>) -> Result<V, E> {
        if let Some(v) = self.0.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
            return Ok(v.clone());
        }
        let value = make()?;
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        map.insert(key, value.clone());
        Ok(value)
    }
}

/// The caches of one process.
#[derive(Debug)]
pub(crate) struct Decoded {
    /// (certificate hex, root key hex) -> the certificate, verified; None if it does not verify.
    certificates: Memo<(String, String), Option<Arc<Certificate>>>,
    /// (issuer public key hex, stored seed) -> the signing key.
    issuer_keys: Memo<(String, String), Arc<SigningKey>>,
    /// Door state hex -> its claims.
    door_states: Memo<String, Option<Arc<DoorState>>>,
}

impl Default for Decoded {
    fn default() -> Self {
        Decoded { certificates: Memo::new(), issuer_keys: Memo::new(), door_states: Memo::new() }
    }
}

impl Decoded {
    /// The certificate `cert_hex`, verified under `root_hex`, or None.
    pub fn certificate(
        &self,
        cert_hex: &str,
        root_hex: &str,
        verify: impl FnOnce() -> Option<Certificate>,
    ) -> Option<Arc<Certificate>> {
        let key = (cert_hex.to_string(), root_hex.to_string());
        self.certificates
            .get_or::<std::convert::Infallible>(key, || Ok(verify().map(Arc::new)))
            .unwrap_or_else(|never| match never {})
    }

    /// The issuer signing key stored as (`public_hex`, `stored_seed`), opened by `open`.
    pub fn issuer_key<E>(
        &self,
        public_hex: &str,
        stored_seed: &str,
        open: impl FnOnce() -> Result<SigningKey, E>,
    ) -> Result<Arc<SigningKey>, E> {
        let key = (public_hex.to_string(), stored_seed.to_string());
        self.issuer_keys.get_or(key, || open().map(Arc::new))
    }

    /// The claims of the door state `state_hex`, or None if it cannot be read.
    pub fn door_state(
        &self,
        state_hex: &str,
        decode: impl FnOnce() -> Option<DoorState>,
    ) -> Option<Arc<DoorState>> {
        self.door_states
            .get_or::<std::convert::Infallible>(
                state_hex.to_string(),
                || Ok(decode().map(Arc::new)),
            )
            .unwrap_or_else(|never| match never {})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_computed_once_per_content_and_a_failure_is_not_kept() {
        let memo: Memo<String, u32> = Memo::new();
        let mut calls = 0;
        for _ in 0..3 {
            let v = memo.get_or::<()>("a".into(), || {
                calls += 1;
                Ok(7)
            });
            assert_eq!(v, Ok(7));
        }
        assert_eq!(calls, 1);
        assert_eq!(memo.get_or("b".into(), || Err("no")), Err("no"));
        assert_eq!(memo.get_or::<()>("b".into(), || Ok(8)), Ok(8));
    }
}
