//! Entry points for the fuzz targets in `fuzz/` (feature `fuzzing`).

use crate::frame::{Progress, Reassembler, StreamDecoder, MAX_MESSAGE_LEN};
use crate::message::{Answer, Request};

/// Arbitrary bytes as a fragment stream (first byte: the MTU; then length-prefixed fragments)
/// into a door-sized reassembler; every message completed, and the raw input, go to both
/// decoders. Panics if an accepted message does not re-encode to its own bytes.
pub fn fuzz_link(data: &[u8]) {
    check(data);
    stream(data);
    let Some((&mtu, mut rest)) = data.split_first() else { return };
    let mut r = Reassembler::new([0u8; MAX_MESSAGE_LEN], usize::from(mtu));
    let mut now = 0u64;
    while let Some((&len, tail)) = rest.split_first() {
        let Some((fragment, tail)) = tail.split_at_checked(usize::from(len).min(tail.len())) else {
            return;
        };
        rest = tail;
        now += 1;
        if let Ok(Progress::Complete { .. }) = r.push(fragment, now) {
            check(r.message());
        }
    }
}

#[allow(clippy::panic, reason = "a fuzz hook: a failed property must crash")]
fn check(bytes: &[u8]) {
    let mut out = [0u8; MAX_MESSAGE_LEN];
    if let Ok(r) = Request::decode(bytes) {
        if r.encode(&mut out).ok() != Some(bytes) {
            panic!("a request does not re-encode to its bytes");
        }
    }
    if let Ok(a) = Answer::decode(bytes) {
        if a.encode(&mut out).ok() != Some(bytes) {
            panic!("an answer does not re-encode to its bytes");
        }
    }
}

/// The same bytes as a serial stream (length-prefixed fragments, `StreamDecoder`) into a
/// reassembler taking any fragment length: what a wired door reads.
fn stream(data: &[u8]) {
    let mut decoder = StreamDecoder::default();
    let mut r = Reassembler::new([0u8; MAX_MESSAGE_LEN], crate::frame::MAX_MTU);
    for (now, &byte) in (0u64..).zip(data) {
        let Some(fragment) = decoder.push(byte) else { continue };
        if let Ok(Progress::Complete { .. }) = r.push(fragment, now) {
            check(r.message());
        }
    }
}
