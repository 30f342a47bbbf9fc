//! The audit chain follower on arbitrary record sequences: never panics, never moves on error.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| porter_protocol::internal::fuzz_audit_chain(data));
