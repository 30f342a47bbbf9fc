//! The door's memory as persisted (decode and decode_into agree).
#![no_main]
use porter_protocol::internal::*;
libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_decoder(Decoder::DoorMemory, data));
