//! Every decoder, on arbitrary bytes: never panics, and whatever decodes re-encodes to the input.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| porter_protocol::internal::fuzz_decoders(data));
