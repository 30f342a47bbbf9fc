//! The baseline every benchmark is divided by: one raw Ed25519 verify of a grant-sized message
//! straight through ed25519-compact, measured in the same run as the figures beside it.

use criterion::measurement::WallTime;
use criterion::BenchmarkGroup;

use crate::Bench;

/// Name of the baseline inside each criterion group (`benches/report.py` divides by it).
pub const BASELINE: &str = "raw_ed25519_verify";

/// Measures [`BASELINE`] in `group`, cycling through the bench's [`crate::SAMPLES`] grants:
/// verification is variable-time, so every figure compares like with like.
pub fn raw_verify(group: &mut BenchmarkGroup<'_, WallTime>, bench: &Bench) {
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
    assert!(signed.iter().all(|(m, s)| key.verify(m, s).is_ok()), "the baseline verifies");
    let mut next = 0;
    group.bench_function(BASELINE, |b| {
        b.iter(|| {
            next = (next + 1) % signed.len();
            let (message, signature) = &signed[next];
            key.verify(std::hint::black_box(message), signature)
        })
    });
}

/// Criterion settings that keep `./bench.sh` to a few minutes: 1 s of warm-up and 2 s of
/// measurement per figure, 50 samples.
pub fn quick() -> criterion::Criterion {
    criterion::Criterion::default()
        .warm_up_time(std::time::Duration::from_secs(1))
        .measurement_time(std::time::Duration::from_secs(2))
        .sample_size(50)
}
