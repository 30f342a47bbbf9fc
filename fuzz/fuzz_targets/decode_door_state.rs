//! Door state, decoded and viewed in place (the two must agree).
#![no_main]
use porter_protocol::internal::*;
libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_decoder(Decoder::DoorState, data));
