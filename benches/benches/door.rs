//! The door's other hot paths beside one raw Ed25519 verify in the same run: the replay
//! window's check and commit on a half-full table, applying signed door state with 16 and 256
//! deny entries, and the server's audit chain verification per record.

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use porter_benches::{baseline, door_state, vectors::Vectors, Bench, NOON};
use porter_protocol::*;

fn door(c: &mut Criterion) {
    let bench = Bench::new().expect("the benchmark site is valid");
    let mut group = c.benchmark_group("door");
    baseline::raw_verify(&mut group, &bench);

    // A table the size the door keeps, half full of live grants from one issuer.
    let issuer = PublicKey(bench.issuer).id();
    let mut table = bench.warm.replay().clone();
    let until = NOON.plus(600);
    for serial in 0..320 {
        let spend = table.check(issuer, 1_000 + serial, 1, until, 60, NOON).expect("room");
        table.commit(&spend).expect("room");
    }
    let mut serial = 0u64;
    group.bench_function("replay_check", |b| {
        b.iter(|| {
            serial = (serial + 7) % 640;
            table.check(issuer, black_box(1_000 + serial), 1, until, 60, NOON)
        })
    });
    let fresh = table.check(issuer, 5_000, 1, until, 60, NOON).expect("room");
    group.bench_function("replay_commit", |b| {
        b.iter_batched_ref(|| table.clone(), |t| t.commit(&fresh), BatchSize::SmallInput)
    });

    for entries in [16, 256] {
        let state = door_state(&bench.site, entries);
        let mut check = bench.warm.clone();
        assert!(check.apply_door_state(&bench.config, &state).is_ok(), "the state applies");
        group.bench_function(format!("apply_door_state_{entries}"), |b| {
            b.iter_batched_ref(
                || bench.warm.clone(),
                |memory| memory.apply_door_state(&bench.config, &state),
                BatchSize::SmallInput,
            )
        });
    }

    // The server follows a door's log record by record (hash link and sequence each).
    // Criterion records the element count; the report divides by it (a figure per record).
    let v = Vectors::load();
    group.throughput(Throughput::Elements(v.chain.len() as u64));
    group.bench_function("audit_chain_per_record", |b| {
        b.iter(|| {
            let mut follower = ChainFollower::new();
            for record in &v.chain {
                let _ = follower.follow(black_box(record));
            }
            follower
        })
    });
    group.finish();
}

criterion_group! { name = benches; config = baseline::quick(); targets = door }
criterion_main!(benches);
