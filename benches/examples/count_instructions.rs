//! Runs one operation a given number of times, for instruction counting under valgrind:
//! `count_instructions <raw_verify|steady_state|cold_certificate> <times>`. `bench.sh` runs it
//! with 0 and N repetitions and divides the difference by N, which cancels the setup cost.
//! Instruction counts do not depend on what else the machine is doing, unlike criterion's times.

use porter_benches::{Bench, NOON};
use porter_protocol::Decision;

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(op), Some(times)) = (args.next(), args.next().and_then(|n| n.parse::<u32>().ok()))
    else {
        eprintln!("usage: count_instructions <raw_verify|steady_state|cold_certificate> <times>");
        std::process::exit(2);
    };
    let bench = Bench::new().expect("the benchmark site is valid");
    let (body, signature) = bench.grant.split_at(bench.grant.len() - 64);
    let key = ed25519_compact::PublicKey::new(bench.issuer);
    let signature = ed25519_compact::Signature::from_slice(signature).expect("64 bytes");
    let tagged = [b"porter/v1/grant\0".as_slice(), body].concat();
    let mut memories: Vec<_> = (0..times)
        .map(|_| if op == "cold_certificate" { bench.cold.clone() } else { bench.warm.clone() })
        .collect();
    for memory in &mut memories {
        let ok = match op.as_str() {
            "raw_verify" => key.verify(std::hint::black_box(&tagged), &signature).is_ok(),
            "steady_state" | "cold_certificate" => matches!(
                memory.admit(
                    &bench.config,
                    NOON,
                    &bench.challenge,
                    std::hint::black_box(&bench.presentation)
                ),
                Decision::Admit(_)
            ),
            other => {
                eprintln!("unknown operation {other}");
                std::process::exit(2);
            }
        };
        assert!(ok, "{op} failed");
    }
}
