//! The phone session against an honest door over a hostile radio (real signatures): never
//! panics, never reports admitted unless the door opened and its receipt verifies.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    porter_link::internal::fuzz_phone_session(data, true);
});
