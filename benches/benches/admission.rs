//! The admission decision beside its baseline, raw Ed25519 verifies, in the same run.
//!
//! `./bench.sh` runs every bench and writes docs/performance.md (`benches/report.py`).
//! Budgets: steady-state admission (certificate cached) at most 2.1x one raw verify;
//! re-admission of a multi-use grant at most 1.05x (issue 14 item 6, on the door's own count).

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use porter_benches::{baseline, Bench, NOON};
use porter_protocol::Decision;

fn admission(c: &mut Criterion) {
    let bench = Bench::new().expect("the benchmark site is valid");
    let mut group = c.benchmark_group("admission");
    baseline::raw_verify(&mut group, &bench);

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

    // The second use of a multi-use grant whose first use this door admitted.
    let mut next = 0;
    group.bench_function("readmission", |b| {
        b.iter_batched_ref(
            || {
                next = (next + 1) % bench.readmissions.len();
                let (memory, attempt) = &bench.readmissions[next];
                (memory.clone(), attempt)
            },
            |(memory, attempt)| {
                let d = memory.admit(
                    &bench.config,
                    attempt.challenge.issued_at,
                    &attempt.challenge,
                    &attempt.presentation,
                );
                debug_assert!(matches!(d, Decision::Admit(_)));
                d
            },
            BatchSize::SmallInput,
        )
    });

    group.bench_function("replayed_presentation", |b| {
        // What a replay costs the door: refused before any signature.
        let attempt = &bench.attempts[0];
        let mut spent = bench.warm.clone();
        let first = spent.admit(&bench.config, NOON, &attempt.challenge, &attempt.presentation);
        assert!(matches!(first, Decision::Admit(_)));
        b.iter(|| spent.admit(&bench.config, NOON, &attempt.challenge, &attempt.presentation))
    });
    group.finish();
}

criterion_group! { name = benches; config = baseline::quick(); targets = admission }
criterion_main!(benches);
