//! The door link on arbitrary fragment streams: reassembly and both decoders never panic, and
//! every accepted message re-encodes to its own bytes.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| porter_link::internal::fuzz_link(data));
