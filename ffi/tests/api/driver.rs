//! The driver's flow through the C ABI: key, grant display, presentation (three ways), the
//! door's admission, the receipt and an audit batch passed through unchanged.

use core::ffi::c_void;
use std::ptr;

use porter_ffi::*;

use super::driver_data::DriverData;

fn holder(d: &DriverData) -> *mut porter_holder_key {
    let seed = d.bytes("holder_seed");
    let mut key = ptr::null_mut();
    assert_eq!(porter_holder_key_new(seed.as_ptr(), seed.len(), &mut key), porter_result::Ok);
    assert!(!key.is_null());
    key
}

/// Calls `build` with an output buffer and returns the bytes it wrote.
fn output(build: impl FnOnce(*mut u8, usize, *mut usize) -> porter_result) -> Vec<u8> {
    let mut out = vec![0u8; PORTER_MAX_PRESENTATION_LEN.max(PORTER_MAX_PROOF_MESSAGE_LEN)];
    let mut written = 0;
    assert_eq!(build(out.as_mut_ptr(), out.len(), &mut written), porter_result::Ok);
    out.truncate(written);
    out
}

#[test]
fn holder_key_public_half_matches_the_grant() {
    let d = DriverData::load();
    let key = holder(&d);
    let public = output(|o, l, w| porter_holder_key_public(key, o, l, w));
    assert_eq!(public, d.bytes("holder_public"));
    porter_holder_key_free(key);
}

#[test]
fn grant_shows_what_it_allows() {
    let d = DriverData::load();
    let bytes = d.bytes("grant");
    let mut grant = ptr::null_mut();
    assert_eq!(porter_grant_decode(bytes.as_ptr(), bytes.len(), &mut grant), porter_result::Ok);
    assert_eq!(porter_grant_site(grant), d.number::<u32>("site"));
    assert_eq!(porter_grant_serial(grant), d.number::<u64>("grant_serial"));
    assert_eq!(porter_grant_uses(grant), d.number::<u8>("grant_uses"));
    assert_eq!(porter_grant_role(grant), porter_role::Delivery);
    assert_eq!(porter_grant_not_before(grant), d.number::<u32>("grant_not_before"));
    assert_eq!(porter_grant_not_after(grant), d.number::<u32>("grant_not_after"));
    assert_eq!(porter_grant_door_count(grant), 1);
    let mut doors = [0u16; PORTER_MAX_GRANT_DOORS];
    let mut n = 0;
    assert_eq!(
        porter_grant_doors(grant, doors.as_mut_ptr(), doors.len(), &mut n),
        porter_result::Ok
    );
    assert_eq!(&doors[..n], &[d.number::<u16>("grant_door")]);
    assert_eq!(output(|o, l, w| porter_grant_holder(grant, o, l, w)), d.bytes("holder_public"));
    assert_eq!(output(|o, l, w| porter_grant_package(grant, o, l, w)), d.bytes("grant_package"));
    porter_grant_free(grant);
}

fn inputs(d: &DriverData) -> [Vec<u8>; 4] {
    [d.bytes("challenge"), d.bytes("grant"), d.bytes("certificate"), d.bytes("door_state")]
}

#[test]
fn in_memory_key_builds_the_same_presentation_as_the_core() {
    let d = DriverData::load();
    let key = holder(&d);
    let [c, g, cert, s] = inputs(&d);
    let p = output(|o, l, w| {
        porter_presentation_build(
            key,
            c.as_ptr(),
            c.len(),
            g.as_ptr(),
            g.len(),
            cert.as_ptr(),
            cert.len(),
            s.as_ptr(),
            s.len(),
            o,
            l,
            w,
        )
    });
    assert_eq!(p, d.bytes("presentation"));
    porter_holder_key_free(key);
}

#[test]
fn proof_message_then_external_signature_gives_the_same_presentation() {
    let d = DriverData::load();
    let [c, g, cert, s] = inputs(&d);
    let message = output(|o, l, w| {
        porter_proof_message(
            c.as_ptr(),
            c.len(),
            g.as_ptr(),
            g.len(),
            cert.as_ptr(),
            cert.len(),
            s.as_ptr(),
            s.len(),
            o,
            l,
            w,
        )
    });
    assert_eq!(message, d.bytes("proof_message"));
    let sig = d.bytes("proof_signature");
    let p = output(|o, l, w| {
        porter_presentation_assemble(
            c.as_ptr(),
            c.len(),
            g.as_ptr(),
            g.len(),
            cert.as_ptr(),
            cert.len(),
            s.as_ptr(),
            s.len(),
            sig.as_ptr(),
            sig.len(),
            o,
            l,
            w,
        )
    });
    assert_eq!(p, d.bytes("presentation"));

    // A signature by another key, or over other bytes, is caught on the phone.
    let mut bad = sig.clone();
    bad[10] ^= 1;
    let mut out = vec![0xAAu8; PORTER_MAX_PRESENTATION_LEN];
    let mut written = 12345;
    let r = porter_presentation_assemble(
        c.as_ptr(),
        c.len(),
        g.as_ptr(),
        g.len(),
        cert.as_ptr(),
        cert.len(),
        s.as_ptr(),
        s.len(),
        bad.as_ptr(),
        bad.len(),
        out.as_mut_ptr(),
        out.len(),
        &mut written,
    );
    assert_eq!(r, porter_result::ProofBadSignature);
    assert_eq!(written, 12345, "outputs are written only on success");
    assert!(out.iter().all(|&b| b == 0xAA));
}

/// A stand-in for the platform keystore: returns the signature it was given, after checking
/// it is asked to sign the expected message.
struct Keystore {
    expected_message: Vec<u8>,
    signature: Vec<u8>,
    calls: usize,
    refuse: bool,
}

unsafe extern "C" fn keystore_sign(
    userdata: *mut c_void,
    message: *const u8,
    message_len: usize,
    signature: *mut u8,
) -> u32 {
    // SAFETY: the test passes a live, otherwise unused `Keystore` as userdata.
    let keystore = unsafe { &mut *userdata.cast::<Keystore>() };
    // SAFETY: porter-ffi passes `message_len` readable bytes, as its callback contract says.
    let message = unsafe { std::slice::from_raw_parts(message, message_len) };
    // SAFETY: and a writable 64-byte signature buffer.
    let out = unsafe { std::slice::from_raw_parts_mut(signature, 64) };
    keystore.calls += 1;
    if keystore.refuse || message != keystore.expected_message.as_slice() {
        return 1;
    }
    out.copy_from_slice(&keystore.signature);
    0
}

#[test]
fn signer_callback_builds_the_same_presentation_and_its_refusal_is_reported() {
    let d = DriverData::load();
    let [c, g, cert, s] = inputs(&d);
    let mut keystore = Keystore {
        expected_message: d.bytes("proof_message"),
        signature: d.bytes("proof_signature"),
        calls: 0,
        refuse: false,
    };
    let run = |keystore: &mut Keystore, out: &mut Vec<u8>| {
        let mut written = 0;
        let r = porter_presentation_build_with_signer(
            Some(keystore_sign),
            (keystore as *mut Keystore).cast(),
            c.as_ptr(),
            c.len(),
            g.as_ptr(),
            g.len(),
            cert.as_ptr(),
            cert.len(),
            s.as_ptr(),
            s.len(),
            out.as_mut_ptr(),
            out.len(),
            &mut written,
        );
        out.truncate(written);
        r
    };
    let mut out = vec![0u8; PORTER_MAX_PRESENTATION_LEN];
    assert_eq!(run(&mut keystore, &mut out), porter_result::Ok);
    assert_eq!(out, d.bytes("presentation"));
    assert_eq!(keystore.calls, 1);

    keystore.refuse = true;
    let mut out = vec![0u8; PORTER_MAX_PRESENTATION_LEN];
    assert_eq!(run(&mut keystore, &mut out), porter_result::SignerFailed);
    assert_eq!(keystore.calls, 2);

    // A keystore holding another key: caught before the door sees it.
    keystore.refuse = false;
    keystore.signature[0] ^= 0x80;
    let mut out = vec![0u8; PORTER_MAX_PRESENTATION_LEN];
    assert_eq!(run(&mut keystore, &mut out), porter_result::ProofBadSignature);
}

#[test]
fn another_phones_key_is_refused_before_signing() {
    let d = DriverData::load();
    let seed = [77u8; 32];
    let mut key = ptr::null_mut();
    assert_eq!(porter_holder_key_new(seed.as_ptr(), 32, &mut key), porter_result::Ok);
    let [c, g, cert, s] = inputs(&d);
    let mut out = vec![0u8; PORTER_MAX_PRESENTATION_LEN];
    let mut written = 0;
    let r = porter_presentation_build(
        key,
        c.as_ptr(),
        c.len(),
        g.as_ptr(),
        g.len(),
        cert.as_ptr(),
        cert.len(),
        s.as_ptr(),
        s.len(),
        out.as_mut_ptr(),
        out.len(),
        &mut written,
    );
    assert_eq!(r, porter_result::HolderMismatch);
    porter_holder_key_free(key);
}

#[test]
fn the_door_admits_the_presentation_takes_the_carried_state_and_refuses_a_replay() {
    let d = DriverData::load();
    let config = porter_door_config {
        site: d.number("site"),
        door: d.number("door"),
        root: d.bytes("root").try_into().unwrap(),
        clock_skew: d.number("clock_skew"),
        challenge_lifetime: d.number("challenge_lifetime"),
    };
    let mut memory = vec![0u8; PORTER_MAX_DOOR_MEMORY_LEN];
    let mut len = 0;
    assert_eq!(
        porter_door_memory_init(config.site, 0, memory.as_mut_ptr(), memory.len(), &mut len),
        porter_result::Ok
    );
    let c = d.bytes("challenge");
    let p = d.bytes("presentation");
    let clock: u32 = d.number("clock");
    let admit = |memory: &mut Vec<u8>, len: &mut usize, admission: &mut porter_admission| {
        porter_door_admit(
            &config,
            memory.as_mut_ptr(),
            memory.len(),
            len,
            clock,
            c.as_ptr(),
            c.len(),
            p.as_ptr(),
            p.len(),
            admission,
        )
    };
    let mut admission = porter_admission {
        issuer: [0; 8],
        grant_serial: 0,
        use_index: 0,
        uses: 0,
        role: porter_role::Invalid,
        holder: [0; 8],
        package: [0; 32],
        state_sequence: 0,
        at: 0,
    };
    assert_eq!(admit(&mut memory, &mut len, &mut admission), porter_result::Ok);
    assert_eq!(admission.grant_serial, d.number::<u64>("grant_serial"));
    assert_eq!(admission.use_index, 0);
    assert_eq!(admission.uses, d.number::<u8>("grant_uses"));
    assert_eq!(admission.role, porter_role::Delivery);
    assert_eq!(admission.state_sequence, d.number::<u64>("door_state_sequence"));
    assert_eq!(admission.at, clock);
    assert_eq!(&admission.holder[..], &d.bytes("holder_public")[..8]);

    // The same presentation again spends the grant's second entry; then it is spent.
    assert_eq!(admit(&mut memory, &mut len, &mut admission), porter_result::Ok);
    assert_eq!(admission.use_index, 1);
    let before = memory[..len].to_vec();
    let held = admission;
    assert_eq!(admit(&mut memory, &mut len, &mut admission), porter_result::ReplayDuplicate);
    assert_eq!(memory[..len], before[..]);
    assert_eq!(admission, held, "a refusal writes no admission");
    assert_eq!(porter_result_coarse(porter_result::ReplayDuplicate as u32), porter_coarse::Spent);

    // The carried state is in force now: applying it again is not newer.
    let s = d.bytes("door_state");
    let mut sequence = 0;
    let r = porter_door_apply_state(
        &config,
        memory.as_mut_ptr(),
        memory.len(),
        &mut len,
        s.as_ptr(),
        s.len(),
        &mut sequence,
    );
    assert_eq!(r, porter_result::StateNotNewer);
    let mut now = 0;
    assert_eq!(porter_door_now(memory.as_ptr(), len, 0, &mut now), porter_result::Ok);
    assert_eq!(now, clock - 3600, "the signed state's time raised the floor");
}

#[test]
fn challenge_encoding_matches_the_core() {
    let d = DriverData::load();
    let c = d.bytes("challenge");
    let nonce = [0x42u8; 16];
    let out = output(|o, l, w| {
        porter_challenge_encode(
            d.number("site"),
            d.number("door"),
            nonce.as_ptr(),
            16,
            d.number("clock"),
            o,
            l,
            w,
        )
    });
    assert_eq!(out, c);
}

#[test]
fn receipt_is_checked_under_the_device_key() {
    let d = DriverData::load();
    let receipt = d.bytes("receipt");
    let device = d.bytes("device_public");
    let mut r = ptr::null_mut();
    assert_eq!(
        porter_receipt_check(
            receipt.as_ptr(),
            receipt.len(),
            device.as_ptr(),
            device.len(),
            &mut r
        ),
        porter_result::Ok
    );
    assert_eq!(porter_receipt_event(r), porter_event::Admitted);
    assert_eq!(porter_receipt_site(r), d.number::<u32>("site"));
    assert_eq!(porter_receipt_door(r), d.number::<u16>("door"));
    assert_eq!(porter_receipt_sequence(r), d.number::<u64>("receipt_sequence"));
    assert_eq!(porter_receipt_at(r), d.number::<u32>("clock"));
    assert_eq!(porter_receipt_grant_serial(r), d.number::<u64>("grant_serial"));
    assert_eq!(porter_receipt_use_index(r), 0);
    assert_eq!(porter_receipt_reason(r), 0);
    assert_eq!(output(|o, l, w| porter_receipt_holder(r, o, l, w)), d.bytes("holder_public")[..8]);
    porter_receipt_free(r);

    let root = d.bytes("root");
    let mut r = ptr::null_mut();
    let code = porter_receipt_check(receipt.as_ptr(), receipt.len(), root.as_ptr(), 32, &mut r);
    assert_eq!(code, porter_result::AuditBadSignature);
    assert!(r.is_null(), "outputs are written only on success");
}

#[test]
fn audit_batch_passes_records_through_unchanged_and_refuses_gaps() {
    let d = DriverData::load();
    let records = d.all_bytes("audit");
    assert_eq!(records.len(), 3);
    let mut batch = ptr::null_mut();
    assert_eq!(porter_audit_batch_new(&mut batch), porter_result::Ok);
    let push = |batch, r: &Vec<u8>| porter_audit_batch_push(batch, r.as_ptr(), r.len());
    assert_eq!(push(batch, &records[0]), porter_result::Ok);
    assert_eq!(push(batch, &records[2]), porter_result::AuditGap);
    assert_eq!(push(batch, &records[0]), porter_result::AuditGap);
    let mut relinked = records[1].clone();
    let last = relinked.len() - 1;
    relinked[last - 3] ^= 1; // inside `previous`, before the event tag of a `Boot` record
    assert_eq!(push(batch, &relinked), porter_result::AuditChainBroken);
    assert_eq!(push(batch, &records[1]), porter_result::Ok);
    assert_eq!(push(batch, &records[2]), porter_result::Ok);
    assert_eq!(porter_audit_batch_len(batch), 3);
    for (i, record) in records.iter().enumerate() {
        assert_eq!(&output(|o, l, w| porter_audit_batch_get(batch, i, o, l, w)), record);
    }
    assert_eq!(output(|o, l, w| porter_audit_batch_head(batch, o, l, w)), d.bytes("audit_head"));
    let mut n = 0;
    let mut out = [0u8; 8];
    assert_eq!(
        porter_audit_batch_get(batch, 3, out.as_mut_ptr(), 8, &mut n),
        porter_result::InvalidParameter
    );
    porter_audit_batch_free(batch);
}

/// A third-party door built on the C ABI keeps the very log Porter's firmware keeps: its
/// records and receipt are byte-identical to the core's, and the phone's checks accept them.
#[test]
fn a_door_on_the_c_abi_writes_the_same_records_receipts_and_log_head_as_the_core() {
    let d = DriverData::load();
    let config = porter_door_config {
        site: d.number("site"),
        door: d.number("door"),
        root: d.bytes("root").try_into().unwrap(),
        clock_skew: d.number("clock_skew"),
        challenge_lifetime: d.number("challenge_lifetime"),
    };
    let device_seed = super::driver_data::device().seed();
    assert_eq!(
        output(|o, l, w| porter_device_key_public(device_seed.as_ptr(), 32, o, l, w)),
        d.bytes("device_public")
    );

    // Admit the presentation, then write the admission's record as entry 7 of the log.
    let mut memory = vec![0u8; PORTER_MAX_DOOR_MEMORY_LEN];
    let mut len = 0;
    assert_eq!(
        porter_door_memory_init(config.site, 0, memory.as_mut_ptr(), memory.len(), &mut len),
        porter_result::Ok
    );
    let (c, p) = (d.bytes("challenge"), d.bytes("presentation"));
    let mut admission = std::mem::MaybeUninit::<porter_admission>::uninit();
    let r = porter_door_admit(
        &config,
        memory.as_mut_ptr(),
        memory.len(),
        &mut len,
        d.number("clock"),
        c.as_ptr(),
        c.len(),
        p.as_ptr(),
        p.len(),
        admission.as_mut_ptr(),
    );
    assert_eq!(r, porter_result::Ok);
    // SAFETY: porter_door_admit returned OK, so it wrote the admission.
    let mut admission = unsafe { admission.assume_init() };
    let previous = [9u8; 32];
    let record = output(|o, l, w| {
        porter_audit_record_admitted(&config, 7, previous.as_ptr(), 32, &admission, o, l, w)
    });
    let receipt = output(|o, l, w| {
        porter_receipt_seal(device_seed.as_ptr(), 32, record.as_ptr(), record.len(), o, l, w)
    });
    assert_eq!(receipt, d.bytes("receipt"), "the receipt differs from the core's");

    // Entries 8, 9 and 10, chained: byte for byte the core's.
    let hash = |r: &[u8]| output(|o, l, w| porter_audit_record_hash(r.as_ptr(), r.len(), o, l, w));
    let noon: u32 = d.number("clock");
    let rejected = output(|o, l, w| {
        porter_audit_record_rejected(&config, 8, noon + 8, hash(&record).as_ptr(), 32, 501, o, l, w)
    });
    let boot = output(|o, l, w| {
        porter_audit_record_boot(&config, 9, noon + 9, hash(&rejected).as_ptr(), 32, o, l, w)
    });
    admission.at = noon + 10;
    let admitted = output(|o, l, w| {
        porter_audit_record_admitted(&config, 10, hash(&boot).as_ptr(), 32, &admission, o, l, w)
    });
    assert_eq!(vec![rejected, boot, admitted.clone()], d.all_bytes("audit"));
    assert_eq!(hash(&admitted), d.bytes("audit_head"));

    // The signed head the door hands over with them is accepted against the batch.
    let mut batch = ptr::null_mut();
    assert_eq!(porter_audit_batch_new(&mut batch), porter_result::Ok);
    for r in [record.clone()].iter().chain(&d.all_bytes("audit")) {
        assert_eq!(porter_audit_batch_push(batch, r.as_ptr(), r.len()), porter_result::Ok);
    }
    let head = output(|o, l, w| {
        porter_log_head_seal(
            device_seed.as_ptr(),
            32,
            &config,
            11,
            hash(&admitted).as_ptr(),
            32,
            noon + 11,
            o,
            l,
            w,
        )
    });
    let device = d.bytes("device_public");
    let check = |head: &[u8]| {
        porter_audit_batch_check_head(batch, head.as_ptr(), head.len(), device.as_ptr(), 32)
    };
    assert_eq!(check(&head), porter_result::Ok);
    let short = output(|o, l, w| {
        porter_log_head_seal(
            device_seed.as_ptr(),
            32,
            &config,
            12,
            hash(&admitted).as_ptr(),
            32,
            noon + 11,
            o,
            l,
            w,
        )
    });
    assert_eq!(check(&short), porter_result::AuditGap, "a head counting a record the batch lacks");
    porter_audit_batch_free(batch);

    // Bad inputs give codes.
    let mut n = 0;
    let mut out = [0u8; PORTER_MAX_AUDIT_RECORD_LEN];
    let r = porter_audit_record_rejected(
        &config,
        1,
        0,
        previous.as_ptr(),
        32,
        0,
        out.as_mut_ptr(),
        out.len(),
        &mut n,
    );
    assert_eq!(r, porter_result::InvalidParameter, "reason 0 is not a refusal");
    let r = porter_audit_record_alarm(
        &config,
        1,
        0,
        previous.as_ptr(),
        32,
        99,
        out.as_mut_ptr(),
        out.len(),
        &mut n,
    );
    assert_eq!(r, porter_result::InvalidParameter);
    let r = porter_audit_record_boot(
        &config,
        1,
        0,
        previous.as_ptr(),
        31,
        out.as_mut_ptr(),
        out.len(),
        &mut n,
    );
    assert_eq!(r, porter_result::InvalidParameter);
    let zeros = [0u8; 32];
    let r = porter_receipt_seal(
        zeros.as_ptr(),
        32,
        record.as_ptr(),
        record.len(),
        out.as_mut_ptr(),
        out.len(),
        &mut n,
    );
    assert_eq!(r, porter_result::KeyInvalidSeed);
    let r = porter_receipt_seal(
        device_seed.as_ptr(),
        32,
        c.as_ptr(),
        c.len(),
        out.as_mut_ptr(),
        out.len(),
        &mut n,
    );
    assert_ne!(r, porter_result::Ok, "a challenge is not an audit record");
}

/// The proof a phone sends with `POST /v1/drivers`: the in-memory key, the message for an
/// asynchronous keystore, and the keystore callback all give the signature the server checks.
#[test]
fn registration_proof_is_what_the_server_verifies() {
    let d = DriverData::load();
    let key = holder(&d);
    let challenge = d.bytes("registration_challenge");
    let carrier = d.text("carrier_id").as_bytes().to_vec();
    let signature = output(|out, len, written| {
        porter_holder_key_sign_registration(
            key,
            challenge.as_ptr(),
            challenge.len(),
            carrier.as_ptr(),
            carrier.len(),
            out,
            len,
            written,
        )
    });
    assert_eq!(signature, d.bytes("registration_signature"));
    let holder_public = d.bytes("holder_public");
    let message = d.bytes("registration_message");
    assert!(porter_protocol::verify_raw(
        &holder_public.clone().try_into().unwrap(),
        &message,
        &signature.clone().try_into().unwrap()
    ));
    // The message for a signer elsewhere.
    let made = output(|out, len, written| {
        porter_registration_message(
            challenge.as_ptr(),
            challenge.len(),
            carrier.as_ptr(),
            carrier.len(),
            out,
            len,
            written,
        )
    });
    assert_eq!(made, message);

    // Through the keystore callback, verified under the key being registered.
    let mut keystore = Keystore {
        expected_message: message.clone(),
        signature: signature.clone(),
        calls: 0,
        refuse: false,
    };
    let run = |keystore: &mut Keystore, public: &[u8], out: &mut Vec<u8>| {
        let mut written = 0;
        let r = porter_registration_sign_with_signer(
            Some(keystore_sign),
            (keystore as *mut Keystore).cast(),
            public.as_ptr(),
            public.len(),
            challenge.as_ptr(),
            challenge.len(),
            carrier.as_ptr(),
            carrier.len(),
            out.as_mut_ptr(),
            out.len(),
            &mut written,
        );
        out.truncate(written);
        r
    };
    let mut out = vec![0u8; PORTER_SIGNATURE_LEN];
    assert_eq!(run(&mut keystore, &holder_public, &mut out), porter_result::Ok);
    assert_eq!((out, keystore.calls), (signature.clone(), 1));
    // A keystore that holds another key than the one registered: caught on the phone.
    let other = [0x11u8; 32];
    let other = porter_protocol::SigningKey::from_seed(other).unwrap().public_key().0;
    let mut out = vec![0u8; PORTER_SIGNATURE_LEN];
    assert_eq!(run(&mut keystore, &other, &mut out), porter_result::ProofBadSignature);
    assert!(out.is_empty());
    keystore.refuse = true;
    let mut out = vec![0u8; PORTER_SIGNATURE_LEN];
    assert_eq!(run(&mut keystore, &holder_public, &mut out), porter_result::SignerFailed);

    // Bad inputs: a short challenge, a carrier id that is not UTF-8 or too long, a short buffer.
    let sign = |challenge: &[u8], carrier: &[u8], out_len: usize| {
        let mut out = vec![0u8; 64];
        let mut written = 777;
        let r = porter_holder_key_sign_registration(
            key,
            challenge.as_ptr(),
            challenge.len(),
            carrier.as_ptr(),
            carrier.len(),
            out.as_mut_ptr(),
            out_len,
            &mut written,
        );
        assert_eq!(written, 777, "written on failure");
        r
    };
    assert_eq!(sign(&challenge[..31], &carrier, 64), porter_result::InvalidParameter);
    assert_eq!(sign(&challenge, &[0xff, 0xfe], 64), porter_result::InvalidParameter);
    assert_eq!(
        sign(&challenge, &[b'c'; PORTER_MAX_CARRIER_ID_LEN + 1], 64),
        porter_result::InvalidParameter
    );
    assert_eq!(sign(&challenge, &carrier, 63), porter_result::BufferTooSmall);
    porter_holder_key_free(key);
}
