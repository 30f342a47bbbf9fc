//! The admission decision on arbitrary presentations (seeded with a valid one): never panics,
//! never admits what it cannot verify, and a refusal leaves the door's memory unchanged.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| porter_protocol::internal::fuzz_admission(data));
