//! Admission over sequences (real signatures): no grant admitted beyond its uses, a refusal changes nothing.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| porter_protocol::internal::fuzz_admission_sequence(data));
