//! The replay table against a naive model, driven by arbitrary operations.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| porter_protocol::internal::fuzz_replay_window(data));
