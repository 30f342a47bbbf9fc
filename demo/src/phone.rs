//! The driver's phone, built on `porter-ffi`: the very C ABI a Kotlin or Swift app links, called
//! here from safe Rust (the functions take pointers but are not `unsafe` to call; the demo only
//! passes pointers to live buffers it owns). The key, the presentation and the receipt check
//! are the app's, not a re-implementation.

use std::ptr;

use porter_ffi::{
    porter_event, porter_grant, porter_grant_decode, porter_grant_free, porter_grant_not_after,
    porter_grant_serial, porter_grant_uses, porter_holder_key, porter_holder_key_free,
    porter_holder_key_new, porter_holder_key_public, porter_holder_key_sign_registration,
    porter_presentation_build, porter_receipt, porter_receipt_check, porter_receipt_event,
    porter_receipt_free, porter_receipt_grant_serial, porter_receipt_sequence, porter_result,
    PORTER_MAX_PRESENTATION_LEN, PORTER_SIGNATURE_LEN,
};
use porter_protocol::Error;

use crate::Failure;

fn check(what: &str, r: porter_result) -> Result<(), Failure> {
    if r == porter_result::Ok {
        return Ok(());
    }
    let code = r as u32;
    let name = u16::try_from(code).ok().and_then(Error::from_code).map_or("", Error::name);
    Err(Failure::new(format!("the phone's {what} failed: porter_result {code} {name}")))
}

/// A driver's holder key, living in the phone library.
pub struct HolderKey {
    key: *mut porter_holder_key,
}

impl HolderKey {
    /// A key from 32 bytes of the phone's entropy.
    pub fn new(seed: &[u8; 32]) -> Result<HolderKey, Failure> {
        let mut key: *mut porter_holder_key = ptr::null_mut();
        check("holder key", porter_holder_key_new(seed.as_ptr(), seed.len(), &mut key))?;
        Ok(HolderKey { key })
    }

    /// The public half, what the carrier registers with the server.
    pub fn public(&self) -> Result<[u8; 32], Failure> {
        let mut out = [0u8; 32];
        let mut written = 0usize;
        check(
            "public key",
            porter_holder_key_public(self.key, out.as_mut_ptr(), out.len(), &mut written),
        )?;
        if written != 32 {
            return Err(Failure::new(format!("the phone wrote a {written}-byte public key")));
        }
        Ok(out)
    }

    /// Signs the proof that registers this key with the server (`POST /v1/drivers`) for the
    /// carrier `carrier_id`, over the server's 32-byte `challenge`.
    pub fn sign_registration(
        &self,
        challenge: &[u8],
        carrier_id: &str,
    ) -> Result<[u8; PORTER_SIGNATURE_LEN], Failure> {
        let mut out = [0u8; PORTER_SIGNATURE_LEN];
        let mut written = 0usize;
        check(
            "registration proof",
            porter_holder_key_sign_registration(
                self.key,
                challenge.as_ptr(),
                challenge.len(),
                carrier_id.as_ptr(),
                carrier_id.len(),
                out.as_mut_ptr(),
                out.len(),
                &mut written,
            ),
        )?;
        if written != PORTER_SIGNATURE_LEN {
            return Err(Failure::new(format!("the phone wrote a {written}-byte signature")));
        }
        Ok(out)
    }

    /// Answers the door's challenge with the grant, the issuer certificate and (if any) the
    /// newest signed door state, all exactly as received.
    pub fn present(
        &self,
        challenge: &[u8],
        grant: &[u8],
        certificate: &[u8],
        door_state: Option<&[u8]>,
    ) -> Result<Vec<u8>, Failure> {
        let mut out = vec![0u8; PORTER_MAX_PRESENTATION_LEN];
        let mut written = 0usize;
        let (state_ptr, state_len) = door_state.map_or((ptr::null(), 0), |s| (s.as_ptr(), s.len()));
        check(
            "presentation",
            porter_presentation_build(
                self.key,
                challenge.as_ptr(),
                challenge.len(),
                grant.as_ptr(),
                grant.len(),
                certificate.as_ptr(),
                certificate.len(),
                state_ptr,
                state_len,
                out.as_mut_ptr(),
                out.len(),
                &mut written,
            ),
        )?;
        out.truncate(written);
        Ok(out)
    }
}

impl Drop for HolderKey {
    fn drop(&mut self) {
        porter_holder_key_free(self.key);
    }
}

/// What the app shows the driver about a grant.
#[derive(Clone, Copy, Debug)]
pub struct GrantSummary {
    /// First serial.
    pub serial: u64,
    /// Entries.
    pub uses: u8,
    /// End of validity.
    pub not_after: u32,
}

/// Decodes a grant as the app does before going to the door.
pub fn read_grant(grant: &[u8]) -> Result<GrantSummary, Failure> {
    let mut g: *mut porter_grant = ptr::null_mut();
    check("grant decoding", porter_grant_decode(grant.as_ptr(), grant.len(), &mut g))?;
    let summary = GrantSummary {
        serial: porter_grant_serial(g),
        uses: porter_grant_uses(g),
        not_after: porter_grant_not_after(g),
    };
    porter_grant_free(g);
    Ok(summary)
}

/// A receipt the app checked under the door's device key.
#[derive(Clone, Copy, Debug)]
pub struct ReceiptSummary {
    /// The record's log sequence.
    pub sequence: u64,
    /// Whether it records an admission.
    pub admitted: bool,
    /// The grant's first serial.
    pub grant_serial: u64,
}

/// Verifies a receipt as the app does, before carrying it to the server.
pub fn check_receipt(receipt: &[u8], device_key: &[u8; 32]) -> Result<ReceiptSummary, Failure> {
    let mut r: *mut porter_receipt = ptr::null_mut();
    check(
        "receipt check",
        porter_receipt_check(receipt.as_ptr(), receipt.len(), device_key.as_ptr(), 32, &mut r),
    )?;
    let summary = ReceiptSummary {
        sequence: porter_receipt_sequence(r),
        admitted: porter_receipt_event(r) == porter_event::Admitted,
        grant_serial: porter_receipt_grant_serial(r),
    };
    porter_receipt_free(r);
    Ok(summary)
}
