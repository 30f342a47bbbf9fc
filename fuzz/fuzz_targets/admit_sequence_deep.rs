//! Admission over sequences with stand-in signatures (forged grants, certificates, proofs).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| porter_protocol::internal::fuzz_admission_sequence(data));
