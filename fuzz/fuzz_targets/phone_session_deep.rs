//! The phone session with stand-in signatures: forged receipts verify, so the fuzzer reaches
//! every answer; the session still never reports admitted without a receipt that verifies.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    porter_link::internal::fuzz_phone_session(data, false);
});
