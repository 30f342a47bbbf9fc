//! A cheap, deterministic stand-in for Ed25519 (feature `fuzzing-stand-in-crypto`), so that
//! the fuzz targets explore what lies past the signatures, as rustls does with its fuzzing
//! provider. NEVER in a door, a phone or a server: with it, anyone can forge any signature.
//!
//! A stand-in signature is the signer's public key followed by 32 zero bytes. It binds the key
//! (a grant "signed" by another issuer still fails) but not the message, so a fuzzer that
//! mutates a signed body keeps a valid signature. The all-zero key stands for a weak key.
//!
//! Guard: the feature refuses to compile unless the build is a cargo-fuzz build (which passes
//! `--cfg fuzzing`), so turning it on in a firmware or server build by accident (a stray
//! `--all-features`, a feature unified in from another crate) is a compile error.

#![allow(unexpected_cfgs)] // Reason: `fuzzing` is the cfg cargo-fuzz sets; unknown to cargo.

#[cfg(not(fuzzing))]
compile_error!(
    "feature `fuzzing-stand-in-crypto` replaces Ed25519 with a forgeable stand-in: it builds \
     only under cargo-fuzz (`cargo fuzz run --features stand-in-crypto <target>` in fuzz/). \
     Remove it from this build."
);

use crate::keys::VerifyError;

/// The stand-in signature by the key `public`.
pub(crate) fn sign(public: &[u8; 32]) -> [u8; 64] {
    let mut signature = [0u8; 64];
    signature[..32].copy_from_slice(public);
    signature
}

/// Accepts exactly [`sign`]'s output for `key`; the all-zero key is weak.
pub(crate) fn verify(key: &[u8; 32], signature: &[u8; 64]) -> Result<(), VerifyError> {
    if *key == [0; 32] {
        return Err(VerifyError::WeakKey);
    }
    if signature[..] != sign(key)[..] {
        return Err(VerifyError::BadSignature);
    }
    Ok(())
}
