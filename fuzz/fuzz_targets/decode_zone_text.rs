//! POSIX time zone text (round trip through its canonical text and binary form).
#![no_main]
use porter_protocol::internal::*;
libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_decoder(Decoder::ZoneText, data));
