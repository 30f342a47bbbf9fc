//! The admission decision beside its baseline, raw Ed25519 verifies, in the same run.
//!
//! `cargo bench -p porter-benches`, then `python3 benches/ratio.py` prints the ratios.
//! Budget: steady-state admission (certificate cached) at most 2.1x one raw verify.

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use porter_benches::{Bench, NOON};
use porter_protocol::{Decision, Grant};

fn admission(c: &mut Criterion) {
    let bench = Bench::new().expect("the benchmark site is valid");
    let mut group = c.benchmark_group("admission");

    // Baseline: verifies of grant-sized messages, straight through ed25519-compact. Every
    // measurement cycles through the same number of different signatures (verification is
    // variable-time), so the ratios compare like with like.
    let key = ed25519_compact::PublicKey::new(bench.issuer);
    let signed: Vec<(Vec<u8>, ed25519_compact::Signature)> = bench
        .grants
        .iter()
        .map(|g| {
            let (body, signature) = g.split_at(g.len() - 64);
            let tagged = [b"porter/v1/grant\0".as_slice(), body].concat();
            (tagged, ed25519_compact::Signature::from_slice(signature).expect("64 bytes"))
        })
        .collect();
    assert!(signed.iter().all(|(m, s)| key.verify(m, s).is_ok()));
    let mut next = 0;
    group.bench_function("raw_ed25519_verify", |b| {
        b.iter(|| {
            next = (next + 1) % signed.len();
            let (message, signature) = &signed[next];
            key.verify(std::hint::black_box(message), signature)
        })
    });

    for (name, fresh) in [("steady_state", &bench.warm), ("cold_certificate", &bench.cold)] {
        let mut next = 0;
        group.bench_function(name, |b| {
            b.iter_batched_ref(
                || {
                    next = (next + 1) % bench.attempts.len();
                    (fresh.clone(), &bench.attempts[next])
                },
                |(memory, attempt)| {
                    let d = memory.admit(
                        &bench.config,
                        NOON,
                        &attempt.challenge,
                        &attempt.presentation,
                    );
                    debug_assert!(matches!(d, Decision::Admit(_)));
                    d
                },
                BatchSize::SmallInput,
            )
        });
    }

    group.bench_function("replayed_presentation", |b| {
        // What a replay costs the door: refused before any signature.
        let attempt = &bench.attempts[0];
        let mut spent = bench.warm.clone();
        let first = spent.admit(&bench.config, NOON, &attempt.challenge, &attempt.presentation);
        assert!(matches!(first, Decision::Admit(_)));
        b.iter(|| spent.admit(&bench.config, NOON, &attempt.challenge, &attempt.presentation))
    });
    group.bench_function("decode_grant", |b| {
        b.iter(|| Grant::decode(std::hint::black_box(&bench.grants[0])))
    });
    group.finish();
}

criterion_group!(benches, admission);
criterion_main!(benches);
