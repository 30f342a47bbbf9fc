//! Admission with stand-in signatures: explores past the signature checks.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| porter_protocol::internal::fuzz_admission(data));
