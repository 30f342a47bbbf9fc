//! Standard Webhooks signatures (<https://www.standardwebhooks.com>): every message carries
//! `webhook-id`, `webhook-timestamp` and `webhook-signature`, the last holding two signatures
//! of `{id}.{timestamp}.{body}`, space separated:
//!
//! * `v1a,<base64 Ed25519 signature>`: receivers verify with the endpoint's public key
//!   (`whpk_` + base64 of its 32 bytes) and hold no secret;
//! * `v1,<base64 HMAC-SHA256>`: receivers verify with the endpoint's secret (`whsec_` + base64
//!   of its 32 bytes).
//!
//! Both keys of an endpoint are derived from one 32-byte seed stored with the endpoint, by
//! HMAC-SHA256 under distinct labels: holding the `whsec_` secret reveals nothing of the Ed25519
//! key, so a receiver that only trusts `v1a` cannot be forged by another holder of the secret.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use ed25519_compact::{KeyPair, PublicKey, Seed, Signature};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Labels separating the two keys derived from an endpoint's seed.
const HMAC_LABEL: &[u8] = b"porter webhook v1 hmac-sha256 secret";
const ED25519_LABEL: &[u8] = b"porter webhook v1a ed25519 seed";

fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

/// An endpoint's signing keys.
pub struct EndpointKeys {
    secret: [u8; 32],
    pair: KeyPair,
}

impl EndpointKeys {
    /// The keys derived from an endpoint's stored seed (64 hex digits).
    pub fn from_seed_hex(seed_hex: &str) -> Result<EndpointKeys, String> {
        let seed: [u8; 32] = hex::decode(seed_hex)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or("the webhook's stored seed is not 64 hex digits")?;
        Ok(EndpointKeys::from_seed(&seed))
    }

    /// The keys derived from an endpoint's seed.
    pub fn from_seed(seed: &[u8; 32]) -> EndpointKeys {
        let secret = hmac(seed, &[HMAC_LABEL]);
        let pair = KeyPair::from_seed(Seed::new(hmac(seed, &[ED25519_LABEL])));
        EndpointKeys { secret, pair }
    }

    /// The HMAC secret as receivers configure it: `whsec_...`.
    pub fn secret(&self) -> String {
        format!("whsec_{}", BASE64.encode(self.secret))
    }

    /// The Ed25519 public key as receivers configure it: `whpk_...`.
    pub fn public_key(&self) -> String {
        format!("whpk_{}", BASE64.encode(*self.pair.pk))
    }

    /// The `webhook-signature` header for one attempt: `v1a,<sig> v1,<sig>`.
    pub fn signature_header(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let content = signed_content(id, timestamp, body);
        let ed = self.pair.sk.sign(&content, None);
        let mac = hmac(&self.secret, &[&content]);
        format!("v1a,{} v1,{}", BASE64.encode(*ed), BASE64.encode(mac))
    }
}

fn signed_content(id: &str, timestamp: i64, body: &[u8]) -> Vec<u8> {
    let mut content = format!("{id}.{timestamp}.").into_bytes();
    content.extend_from_slice(body);
    content
}

/// What a receiver does: true if one signature of `header` verifies under `key` (a `whpk_`
/// public key checks `v1a` signatures, a `whsec_` secret `v1` ones). The caller also checks
/// that `timestamp` is recent and that `id` was not seen before.
pub fn verify(key: &str, id: &str, timestamp: i64, body: &[u8], header: &str) -> bool {
    let content = signed_content(id, timestamp, body);
    let decode = |s: &str| BASE64.decode(s).ok();
    if let Some(pk) = key.strip_prefix("whpk_").and_then(decode) {
        let Ok(pk) = PublicKey::from_slice(&pk) else { return false };
        return header.split(' ').filter_map(|s| s.strip_prefix("v1a,")).any(|sig| {
            decode(sig)
                .and_then(|sig| Signature::from_slice(&sig).ok())
                .is_some_and(|sig| pk.verify(&content, &sig).is_ok())
        });
    }
    if let Some(secret) = key.strip_prefix("whsec_").and_then(decode) {
        return header.split(' ').filter_map(|s| s.strip_prefix("v1,")).any(|sig| {
            let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&secret)
                .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
            mac.update(&content);
            // `verify_slice` compares in constant time.
            decode(sig).is_some_and(|sig| mac.verify_slice(&sig).is_ok())
        });
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_schemes_verify_and_neither_key_forges_the_other() {
        let keys = EndpointKeys::from_seed(&[7; 32]);
        let (id, t, body) = ("evt_1", 1_700_000_000, br#"{"type":"delivery.announced"}"#);
        let header = keys.signature_header(id, t, body);
        assert!(header.starts_with("v1a,") && header.contains(" v1,"), "{header}");
        assert!(verify(&keys.public_key(), id, t, body, &header));
        assert!(verify(&keys.secret(), id, t, body, &header));
        // Any change to id, time or body breaks both.
        for (i, tt, b) in [("evt_2", t, &body[..]), (id, t + 1, &body[..]), (id, t, b"{}")] {
            assert!(!verify(&keys.public_key(), i, tt, b, &header));
            assert!(!verify(&keys.secret(), i, tt, b, &header));
        }
        // Another endpoint's keys do not verify.
        let other = EndpointKeys::from_seed(&[8; 32]);
        assert!(!verify(&other.public_key(), id, t, body, &header));
        assert!(!verify(&other.secret(), id, t, body, &header));
        // A v1 signature made with the secret is no v1a signature.
        let mac_only =
            header.split(' ').find(|s| s.starts_with("v1,")).unwrap().replace("v1,", "v1a,");
        assert!(!verify(&keys.public_key(), id, t, body, &mac_only));
        // The secret and the public key are independent derivations of the seed.
        assert_ne!(keys.secret[..], keys.pair.pk[..]);
        assert!(keys.secret().starts_with("whsec_") && keys.public_key().starts_with("whpk_"));
    }
}
