//! Door state viewed in place, seeded apart from the decoder.
#![no_main]
use porter_protocol::internal::*;
libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_decoder(Decoder::DoorStateView, data));
