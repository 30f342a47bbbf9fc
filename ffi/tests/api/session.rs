//! The phone session and the link through the C ABI: `spec/vectors/link.json` (framing through
//! `porter_link_reassembler_*`, messages through `porter_link_*_validate`, transcripts through
//! `porter_session_*`, byte for byte), and whole visits against porter-link's reference door.

use std::ptr::{null, null_mut};

use porter_ffi::*;
use porter_link::door_model::DoorModel;
use porter_protocol::{Domain, SigningKey, MAX_PROOF_MESSAGE_LEN, MAX_RECEIPT_LEN};
use porter_testkit::{key, Site, NOON};
use serde_json::Value;

const OK: porter_result = porter_result::Ok;

fn vectors() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../spec/vectors/link.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn bytes(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap()).unwrap()
}

/// `LinkError` names as the vectors spell them, from our result codes.
fn link_name(r: porter_result) -> String {
    format!("{r:?}").strip_prefix("Link").unwrap_or("not a link error").to_string()
}

#[test]
fn framing_vectors_replay_through_the_reassembler() {
    let v = vectors();
    let cases = v["framing"].as_array().unwrap();
    assert!(cases.len() >= 10);
    for c in cases {
        let name = c["name"].as_str().unwrap();
        let mut r = null_mut();
        assert_eq!(porter_link_reassembler_new(c["mtu"].as_u64().unwrap() as u16, &mut r), OK);
        let mut completed = None;
        for (f, want) in
            c["fragments"].as_array().unwrap().iter().zip(c["expect"].as_array().unwrap())
        {
            let f = bytes(f);
            let mut progress = porter_link_progress::Partial;
            let got = match porter_link_reassembler_push(r, f.as_ptr(), f.len(), 0, &mut progress) {
                OK if progress == porter_link_progress::Partial => "partial".to_string(),
                OK => {
                    let mut m = vec![0u8; PORTER_MAX_LINK_MESSAGE_LEN];
                    let mut n = 0;
                    assert_eq!(
                        porter_link_reassembler_message(r, m.as_mut_ptr(), m.len(), &mut n),
                        OK
                    );
                    completed = Some(m[..n].to_vec());
                    "complete".to_string()
                }
                error => link_name(error),
            };
            assert_eq!(got, want.as_str().unwrap(), "{name}");
        }
        if let Some(m) = completed {
            assert_eq!(m, bytes(&c["message"]), "{name}");
        }
        porter_link_reassembler_free(r);
    }
    let mut r = null_mut();
    assert_eq!(porter_link_reassembler_new(19, &mut r), porter_result::LinkBadMtu);
    assert!(r.is_null());
}

#[test]
fn message_vectors_replay_through_validate() {
    let v = vectors();
    let cases = v["messages"].as_array().unwrap();
    assert!(cases.len() >= 20);
    for c in cases {
        let b = bytes(&c["hex"]);
        // A valid pointer even for the empty message: NULL is refused, empty is decoded.
        let ptr = if b.is_empty() { [0u8; 1].as_ptr() } else { b.as_ptr() };
        let got = match c["direction"].as_str().unwrap() {
            "request" => porter_link_request_validate(ptr, b.len()),
            _ => porter_link_answer_validate(ptr, b.len()),
        };
        let got = if got == OK { "ok".to_string() } else { link_name(got) };
        assert_eq!(got, c["expect"].as_str().unwrap(), "{}", c["hex"]);
    }
}

fn options(mtu: u16, log_from: Option<u64>) -> porter_session_options {
    let mut o = default_options();
    o.mtu = mtu;
    if let Some(from) = log_from {
        o.carry_log = 1;
        o.log_from = from;
        o.log_capacity = 8192;
    }
    o
}

fn default_options() -> porter_session_options {
    let mut o = porter_session_options {
        mtu: 0,
        max_retries: 0,
        carry_log: 0,
        answer_timeout_ms: 0,
        log_from: 0,
        log_capacity: 0,
        expected_site: 0,
        expected_door: 0,
        check_door: 0,
    };
    assert_eq!(porter_session_options_default(&mut o), OK);
    o
}

fn holder_key(seed: u8) -> *mut porter_holder_key {
    let mut k = null_mut();
    assert_eq!(porter_holder_key_new([seed; 32].as_ptr(), 32, &mut k), OK);
    k
}

fn new_session(
    o: &porter_session_options,
    grant: &[u8],
    cert: &[u8],
    device: Option<&[u8]>,
    key: *const porter_holder_key,
) -> Result<*mut porter_session, porter_result> {
    let mut s = null_mut();
    let (dk, dk_len) = device.map_or((null(), 0), |d| (d.as_ptr(), d.len()));
    let r = porter_session_new(
        o,
        grant.as_ptr(),
        grant.len(),
        cert.as_ptr(),
        cert.len(),
        null(),
        0,
        dk,
        dk_len,
        key,
        0,
        &mut s,
    );
    if r == OK {
        Ok(s)
    } else {
        Err(r)
    }
}

fn transmit(s: *mut porter_session, now: u64) -> Vec<u8> {
    let mut out = [0u8; PORTER_MAX_LINK_MTU];
    let mut n = 0;
    assert_eq!(porter_session_transmit(s, now, out.as_mut_ptr(), out.len(), &mut n), OK);
    out[..n].to_vec()
}

#[test]
fn transcript_vectors_replay_through_the_session() {
    let v = vectors();
    let cases = v["transcripts"].as_array().unwrap();
    assert!(cases.len() >= 10);
    for c in cases {
        let name = c["name"].as_str().unwrap();
        let mut o = options(c["mtu"].as_u64().unwrap() as u16, c["log_from"].as_u64());
        o.answer_timeout_ms = c["answer_timeout_ms"].as_u64().unwrap() as u32;
        o.max_retries = c["max_retries"].as_u64().unwrap() as u8;
        let device = c["device_key"].as_str().map(|k| hex::decode(k).unwrap());
        let key = holder_key(c["holder_seed"].as_u64().unwrap() as u8);
        let s =
            new_session(&o, &bytes(&c["grant"]), &bytes(&c["certificate"]), device.as_deref(), key)
                .unwrap();
        porter_holder_key_free(key); // the session keeps its own copy
        for (i, step) in c["steps"].as_array().unwrap().iter().enumerate() {
            let at = step["at_ms"].as_u64().unwrap();
            match step["dir"].as_str().unwrap() {
                "up" => assert_eq!(
                    hex::encode(transmit(s, at)),
                    step["hex"].as_str().unwrap(),
                    "{name} step {i}"
                ),
                "down" if step["delivered"] == true => {
                    let f = bytes(&step["hex"]);
                    assert_eq!(porter_session_receive(s, at, f.as_ptr(), f.len()), OK);
                }
                "down" => {}
                "reconnect" => assert_eq!(porter_session_reconnected(s, at), OK),
                other => panic!("{name}: unknown step {other}"),
            }
        }
        let e = &c["expect"];
        assert_eq!(porter_session_status(s), porter_session_state::Done, "{name}");
        let outcome = porter_session_outcome(s);
        assert_eq!(outcome as u64, e["code"].as_u64().unwrap(), "{name}");
        assert_eq!(format!("{outcome:?}"), e["outcome"].as_str().unwrap(), "{name}");
        assert_eq!(
            porter_session_log_count(s) as u64,
            e["log_records"].as_u64().unwrap(),
            "{name}"
        );
        let mut receipt = [0u8; MAX_RECEIPT_LEN];
        let mut n = 0;
        assert_eq!(porter_session_receipt(s, receipt.as_mut_ptr(), receipt.len(), &mut n), OK);
        assert_eq!(n > 0, e["receipt"].as_bool().unwrap(), "{name}");
        porter_session_free(s);
    }
}

struct Visit {
    outcome: porter_outcome,
    requests: usize,
    records: Vec<Vec<u8>>,
    head: Vec<u8>,
    receipt: Vec<u8>,
}

/// Drives `s` against `door` until it ends, over a stream link (length-prefixed fragments,
/// delivered in odd-sized chunks as TCP may), signing with `external` when asked.
fn visit(s: *mut porter_session, door: &mut DoorModel, external: Option<&SigningKey>) -> Visit {
    let mut now = 0u64;
    let mut requests = 0;
    for _ in 0..1000 {
        loop {
            let mut out = [0u8; PORTER_MAX_LINK_MTU + 1];
            let mut n = 0;
            assert_eq!(
                porter_session_transmit_stream(s, now, out.as_mut_ptr(), out.len(), &mut n),
                OK
            );
            if n == 0 {
                break;
            }
            assert_eq!(usize::from(out[0]), n - 1, "the length byte");
            requests += usize::from(out[2] == 0); // fragment index 0 starts a request
            now += 5;
            for answer in door.receive(now, &out[1..n]) {
                let mut framed = vec![answer.len() as u8];
                framed.extend_from_slice(&answer);
                for chunk in framed.chunks(7) {
                    assert_eq!(
                        porter_session_receive_stream(s, now, chunk.as_ptr(), chunk.len()),
                        OK
                    );
                }
            }
        }
        match porter_session_status(s) {
            porter_session_state::Done => break,
            porter_session_state::NeedSignature => {
                let signer = external.expect("asked for a signature");
                let mut m = vec![0u8; MAX_PROOF_MESSAGE_LEN];
                let mut n = 0;
                assert_eq!(porter_session_proof_message(s, m.as_mut_ptr(), m.len(), &mut n), OK);
                let tag = Domain::HolderProof.tag();
                let sig = signer
                    .sign_parts_in::<MAX_PROOF_MESSAGE_LEN>(
                        Domain::HolderProof,
                        &[&m[tag.len()..n]],
                    )
                    .unwrap();
                // Another key's signature is refused and the session still waits.
                let wrong = key(9)
                    .sign_parts_in::<MAX_PROOF_MESSAGE_LEN>(
                        Domain::HolderProof,
                        &[&m[tag.len()..n]],
                    )
                    .unwrap();
                assert_eq!(
                    porter_session_provide_signature(s, now, wrong.0.as_ptr(), 64),
                    porter_result::ProofBadSignature
                );
                assert_eq!(porter_session_status(s), porter_session_state::NeedSignature);
                assert_eq!(porter_session_provide_signature(s, now, sig.0.as_ptr(), 64), OK);
            }
            porter_session_state::Running => {
                let deadline = porter_session_deadline(s);
                assert_ne!(deadline, PORTER_SESSION_NO_DEADLINE, "running with no timer");
                now = now.max(deadline);
                assert_eq!(porter_session_tick(s, now), OK);
            }
            porter_session_state::Invalid => unreachable!(),
        }
    }
    let mut records = Vec::new();
    for i in 0..porter_session_log_count(s) {
        let mut r = [0u8; PORTER_MAX_AUDIT_RECORD_LEN];
        let mut n = 0;
        assert_eq!(porter_session_log_record(s, i, r.as_mut_ptr(), r.len(), &mut n), OK);
        records.push(r[..n].to_vec());
    }
    let mut r = [0u8; PORTER_MAX_AUDIT_RECORD_LEN];
    let mut n = 0;
    let past = porter_session_log_record(s, records.len(), r.as_mut_ptr(), r.len(), &mut n);
    assert_eq!(past, porter_result::InvalidParameter);
    let mut head = [0u8; PORTER_MAX_LOG_HEAD_LEN];
    assert_eq!(porter_session_log_head(s, head.as_mut_ptr(), head.len(), &mut n), OK);
    let head = head[..n].to_vec();
    let mut receipt = [0u8; PORTER_MAX_RECEIPT_LEN];
    assert_eq!(porter_session_receipt(s, receipt.as_mut_ptr(), receipt.len(), &mut n), OK);
    Visit {
        outcome: porter_session_outcome(s),
        requests,
        records,
        head,
        receipt: receipt[..n].to_vec(),
    }
}

/// A whole visit against the reference door, through the C ABI: admitted in two round trips
/// (then the log head and one read), the receipt checks under the device key, the carried
/// records push into an audit batch and the batch checks against the signed head. A second
/// visit with a one-use grant is refused as spent.
#[test]
fn a_session_opens_the_reference_door_and_carries_its_log() {
    for external in [false, true] {
        let site = Site::new();
        let grant = site.seal_grant(&site.grant_body(10, 1));
        let cert = site.seal_cert(&site.certificate_body());
        let device = key(4);
        let device_public = device.public_key().0;
        let mut door = DoorModel::new(site.config.clone(), key(4), 64, NOON);
        let mut o = options(64, Some(0));
        o.check_door = 1;
        o.expected_site = site.config.site.0;
        o.expected_door = site.config.door.0;
        let holder = holder_key(3);
        assert_eq!(site.holder.public_key(), key(3).public_key(), "the fixture's holder is key(3)");
        let signer = if external { null() } else { holder.cast_const() };
        let s = new_session(&o, &grant, &cert, Some(&device_public), signer).unwrap();
        let v = visit(s, &mut door, external.then_some(&site.holder));
        assert_eq!(v.outcome, porter_outcome::Admitted, "external signer: {external}");
        assert_eq!(door.releases, 1);
        assert_eq!(v.requests, 4, "challenge, present, log head, one log read");
        assert_eq!(porter_session_log_complete(s), 1);
        porter_session_free(s);

        let mut rc = null_mut();
        assert_eq!(
            porter_receipt_check(
                v.receipt.as_ptr(),
                v.receipt.len(),
                device_public.as_ptr(),
                32,
                &mut rc
            ),
            OK
        );
        porter_receipt_free(rc);
        let mut batch = null_mut();
        assert_eq!(porter_audit_batch_new(&mut batch), OK);
        for r in &v.records {
            assert_eq!(porter_audit_batch_push(batch, r.as_ptr(), r.len()), OK);
        }
        assert_eq!(
            porter_audit_batch_check_head(
                batch,
                v.head.as_ptr(),
                v.head.len(),
                device_public.as_ptr(),
                32
            ),
            OK
        );
        porter_audit_batch_free(batch);

        // The same one-use grant again: spent, and the door did not open.
        let s = new_session(&o, &grant, &cert, Some(&device_public), signer).unwrap();
        let again = visit(s, &mut door, external.then_some(&site.holder));
        assert_eq!(again.outcome, porter_outcome::DeniedSpent);
        assert!(again.receipt.is_empty());
        assert_eq!(door.releases, 1);
        porter_session_free(s);
        porter_holder_key_free(holder);
    }
}

#[test]
fn session_inputs_are_checked_before_anything_is_sent() {
    let site = Site::new();
    let grant = site.seal_grant(&site.grant_body(10, 1));
    let cert = site.seal_cert(&site.certificate_body());
    let o = options(64, None);
    let other = holder_key(7);
    assert_eq!(
        new_session(&o, &grant, &cert, None, other).unwrap_err(),
        porter_result::HolderMismatch
    );
    porter_holder_key_free(other);
    assert_eq!(new_session(&o, &grant[1..], &cert, None, null()).unwrap_err() as u32 / 100, 1);
    assert_eq!(
        new_session(&o, &grant, &cert, Some(&[0u8; 31]), null()).unwrap_err(),
        porter_result::InvalidParameter
    );
    assert_eq!(
        new_session(&options(19, None), &grant, &cert, None, null()).unwrap_err(),
        porter_result::InvalidParameter
    );
    let mut big = o;
    big.carry_log = 1;
    big.log_capacity = PORTER_MAX_SESSION_LOG_LEN as u32 + 1;
    assert_eq!(
        new_session(&big, &grant, &cert, None, null()).unwrap_err(),
        porter_result::InvalidParameter
    );

    // A running session: too small a buffer takes nothing; no signature is wanted yet.
    let s = new_session(&o, &grant, &cert, None, null()).unwrap();
    let mut out = [0u8; 63];
    let mut n = 7;
    assert_eq!(
        porter_session_transmit(s, 0, out.as_mut_ptr(), out.len(), &mut n),
        porter_result::BufferTooSmall
    );
    assert_eq!(n, 7, "nothing written on error");
    assert_eq!(
        hex::encode(transmit(s, 0)),
        "010001010001",
        "the info request (no device key given), whole"
    );
    let mut m = [0u8; 16];
    assert_eq!(
        porter_session_proof_message(s, m.as_mut_ptr(), m.len(), &mut n),
        porter_result::WrongState
    );
    assert_eq!(
        porter_session_provide_signature(s, 0, [0u8; 64].as_ptr(), 64),
        porter_result::WrongState
    );
    assert_eq!(porter_session_outcome(s), porter_outcome::Pending);
    assert_eq!(porter_session_verdict(s), porter_outcome::Pending);
    porter_session_free(s);
    assert_eq!(porter_session_status(null()), porter_session_state::Invalid);
    assert_eq!(porter_session_outcome(null()), porter_outcome::Invalid);
    assert_eq!(porter_session_deadline(null()), PORTER_SESSION_NO_DEADLINE);
    porter_session_free(null_mut());
}
