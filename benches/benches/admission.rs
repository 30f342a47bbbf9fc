//! The admission decision beside its baseline, one raw Ed25519 verify, in the same run.
//!
//! `cargo bench -p porter-benches`, then `python3 benches/ratio.py` prints the ratios.
//! Budget: steady-state admission (certificate cached) at most 2.1x one raw verify.

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use porter_benches::Bench;
use porter_protocol::{Decision, Grant};

fn admission(c: &mut Criterion) {
    let bench = Bench::new().expect("the benchmark site is valid");
    let mut group = c.benchmark_group("admission");

    // Baseline: one verify of a grant-sized message, straight through ed25519-compact.
    let (body, signature) = bench.grant.split_at(bench.grant.len() - 64);
    let key = ed25519_compact::PublicKey::new(bench.issuer);
    let signature = ed25519_compact::Signature::from_slice(signature).expect("64 bytes");
    assert!(
        key.verify(body, &signature).is_err(),
        "the grant is domain-tagged, so a raw verify of its body fails"
    );
    let mut tagged = b"porter/v1/grant\0".to_vec();
    tagged.extend_from_slice(body);
    assert!(key.verify(&tagged, &signature).is_ok());
    group.bench_function("raw_ed25519_verify", |b| {
        b.iter(|| key.verify(std::hint::black_box(&tagged), &signature))
    });

    group.bench_function("steady_state", |b| {
        b.iter_batched_ref(
            || bench.warm.clone(),
            |memory| {
                let d = memory.admit(
                    &bench.config,
                    porter_benches::NOON,
                    &bench.challenge,
                    &bench.presentation,
                );
                debug_assert!(matches!(d, Decision::Admit(_)));
                d
            },
            BatchSize::SmallInput,
        )
    });
    group.bench_function("cold_certificate", |b| {
        b.iter_batched_ref(
            || bench.cold.clone(),
            |memory| {
                memory.admit(
                    &bench.config,
                    porter_benches::NOON,
                    &bench.challenge,
                    &bench.presentation,
                )
            },
            BatchSize::SmallInput,
        )
    });
    group.bench_function("replayed_presentation", |b| {
        // What a replay costs the door: refused before any signature.
        let mut spent = bench.warm.clone();
        let first =
            spent.admit(&bench.config, porter_benches::NOON, &bench.challenge, &bench.presentation);
        assert!(matches!(first, Decision::Admit(_)));
        b.iter(|| {
            spent.admit(&bench.config, porter_benches::NOON, &bench.challenge, &bench.presentation)
        })
    });
    group.bench_function("decode_grant", |b| {
        b.iter(|| Grant::decode(std::hint::black_box(&bench.grant)))
    });
    group.finish();
}

criterion_group!(benches, admission);
criterion_main!(benches);
