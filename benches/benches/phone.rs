//! The phone's and the server's signing paths beside one raw Ed25519 verify in the same run:
//! building a presentation, the phone session's full exchange (porter-link's `PhoneSession`
//! against its reference door over a lossless simulated radio: challenge, presentation, receipt,
//! log head and log; both sides' work), and sealing a grant (the core call the server makes).

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use porter_benches::{baseline, Bench, NOON};
use porter_link::door_model::{DoorModel, Radio};
use porter_link::{Buffers, Holder, Outcome, PhoneSession, SessionConfig, Status};
use porter_protocol::*;

fn phone(c: &mut Criterion) {
    let bench = Bench::new().expect("the benchmark site is valid");
    let site = &bench.site;
    let mut group = c.benchmark_group("phone");
    baseline::raw_verify(&mut group, &bench);

    let challenge = &bench.attempts[0].challenge;
    let mut out = vec![0u8; MAX_PRESENTATION_LEN];
    group.bench_function("build_presentation", |b| {
        b.iter(|| {
            present(
                &site.holder,
                black_box(challenge),
                &bench.grants[0],
                &bench.certificate,
                None,
                &mut out,
            )
            .map(<[u8]>::len)
        })
    });

    let device = || SigningKey::from_seed([4; 32]).expect("a valid seed");
    let device_key = device().public_key();
    let (mut request, mut answer, mut log) = (
        vec![0u8; porter_link::MAX_REQUEST_LEN],
        vec![0u8; porter_link::MAX_ANSWER_LEN],
        vec![0u8; 4096],
    );
    let mut exchange = |door: &mut DoorModel| {
        let mut cfg = SessionConfig::new(&bench.grants[0], &bench.certificate);
        cfg.device_key = Some(device_key);
        cfg.log_from = Some(0);
        let buffers = Buffers { request: &mut request, answer: &mut answer, log: &mut log };
        let mut session = PhoneSession::new(cfg, Holder::Key(&site.holder), buffers, 0);
        Radio::default().run(&mut session, door, None)
    };
    let new_door =
        || DoorModel::new(bench.config.clone(), device(), porter_link::frame::BLE_MTU, NOON);
    assert_eq!(exchange(&mut new_door()), Status::Done(Outcome::Admitted), "the exchange admits");
    group.bench_function("session_exchange", |b| {
        b.iter_batched_ref(new_door, |door| exchange(door), BatchSize::SmallInput)
    });

    let grant = site.grant_body(7, 1);
    let mut sealed = [0u8; MAX_GRANT_LEN];
    group.bench_function("seal_grant", |b| {
        b.iter(|| black_box(&grant).seal(&site.issuer, &mut sealed).map(<[u8]>::len))
    });
    group.finish();
}

criterion_group! { name = benches; config = baseline::quick(); targets = phone }
criterion_main!(benches);
