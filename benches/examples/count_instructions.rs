//! Runs one operation over the benchmark's samples a given number of rounds, for instruction
//! counting under valgrind: `count_instructions
//! <raw_verify|steady_state|cold_certificate|readmission> <rounds>`. `benches/instructions.sh` runs it with 0 and N rounds and divides the difference
//! by N x SAMPLES, which cancels the setup cost. Instruction counts do not depend on what else
//! the machine is doing, unlike criterion's times.

use porter_benches::{Bench, NOON};
use porter_protocol::Decision;

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(op), Some(rounds)) = (args.next(), args.next().and_then(|n| n.parse::<u32>().ok()))
    else {
        eprintln!(
            "usage: count_instructions <raw_verify|steady_state|cold_certificate|readmission> \
             <rounds>"
        );
        std::process::exit(2);
    };
    let bench = Bench::new().expect("the benchmark site is valid");
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
    let fresh = if op == "cold_certificate" { &bench.cold } else { &bench.warm };
    let samples = bench.attempts.len();
    let mut memories: Vec<_> = (0..rounds as usize * samples)
        .map(|i| match op.as_str() {
            // A door that admitted this multi-use grant once already.
            "readmission" => bench.readmissions[i % samples].0.clone(),
            _ => fresh.clone(),
        })
        .collect();
    for (i, memory) in memories.iter_mut().enumerate() {
        let sample = i % bench.attempts.len();
        let ok = match op.as_str() {
            "raw_verify" => {
                let (message, signature) = &signed[sample];
                key.verify(std::hint::black_box(message), signature).is_ok()
            }
            "steady_state" | "cold_certificate" => {
                let attempt = &bench.attempts[sample];
                matches!(
                    memory.admit(
                        &bench.config,
                        NOON,
                        &attempt.challenge,
                        std::hint::black_box(&attempt.presentation)
                    ),
                    Decision::Admit(_)
                )
            }
            "readmission" => {
                let attempt = &bench.readmissions[sample].1;
                matches!(
                    memory.admit(
                        &bench.config,
                        attempt.challenge.issued_at,
                        &attempt.challenge,
                        std::hint::black_box(&attempt.presentation)
                    ),
                    Decision::Admit(_)
                )
            }
            other => {
                eprintln!("unknown operation {other}");
                std::process::exit(2);
            }
        };
        assert!(ok, "{op} failed");
    }
}
