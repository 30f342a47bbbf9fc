//! Every decoder a door, phone or server runs on bytes from outside, beside one raw Ed25519
//! verify in the same run. Signed messages that only decode verified (enrolment, receipt, log
//! head) include their signature check: that is what a caller pays.

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use porter_benches::{baseline, vectors::Vectors, Bench};
use porter_link::{Answer, Request};
use porter_protocol::*;

fn decoders(c: &mut Criterion) {
    let bench = Bench::new().expect("the benchmark site is valid");
    let v = Vectors::load();
    let site = &bench.site;
    let attempt = &bench.attempts[0];
    let mut challenge = [0u8; MAX_CHALLENGE_LEN];
    let challenge = attempt.challenge.encode(&mut challenge).expect("encodes").to_vec();
    let state16 = porter_benches::door_state(site, 16);
    let record = &v.chain[v.chain.len() - 1];
    let root = site.root.public_key();

    let mut group = c.benchmark_group("decode");
    baseline::raw_verify(&mut group, &bench);
    group.bench_function("certificate", |b| {
        b.iter(|| Certificate::decode(black_box(&bench.certificate)))
    });
    group.bench_function("certificate_verified", |b| {
        b.iter(|| Certificate::decode_verified(black_box(&bench.certificate), &root))
    });
    group.bench_function("grant", |b| b.iter(|| Grant::decode(black_box(&bench.grants[0]))));
    group.bench_function("challenge", |b| b.iter(|| Challenge::decode(black_box(&challenge))));
    group.bench_function("presentation", |b| {
        b.iter(|| Presentation::decode(black_box(&attempt.presentation)))
    });
    group.bench_function("door_state_16", |b| b.iter(|| DoorState::decode(black_box(&state16))));
    group.bench_function("door_state_view_16", |b| {
        b.iter(|| DoorStateView::parse(black_box(&state16)))
    });
    let (enrolment, key) = (&v.enrolment.0, PublicKey(v.enrolment.1));
    assert!(Enrolment::decode_verified(enrolment, &key).is_ok(), "the vector verifies");
    group.bench_function("enrolment_verified", |b| {
        b.iter(|| Enrolment::decode_verified(black_box(enrolment), &key))
    });
    let (receipt, key) = (&v.receipt.0, PublicKey(v.receipt.1));
    assert!(AuditRecord::decode_receipt(receipt, &key).is_ok(), "the vector verifies");
    group.bench_function("receipt_verified", |b| {
        b.iter(|| AuditRecord::decode_receipt(black_box(receipt), &key))
    });
    group.bench_function("audit_record", |b| b.iter(|| AuditRecord::decode(black_box(record))));
    let (head, key) = (&v.log_head.0, PublicKey(v.log_head.1));
    assert!(LogHead::decode_verified(head, &key).is_ok(), "the vector verifies");
    group.bench_function("log_head_verified", |b| {
        b.iter(|| LogHead::decode_verified(black_box(head), &key))
    });
    assert!(Request::decode(&v.request).is_ok() && Answer::decode(&v.answer).is_ok());
    group.bench_function("link_request", |b| b.iter(|| Request::decode(black_box(&v.request))));
    group.bench_function("link_answer", |b| b.iter(|| Answer::decode(black_box(&v.answer))));
    group.finish();
}

criterion_group! { name = benches; config = baseline::quick(); targets = decoders }
criterion_main!(benches);
