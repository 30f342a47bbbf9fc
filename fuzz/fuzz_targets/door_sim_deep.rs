//! The door on the simulator with stand-in signatures: patched presentations still verify, so
//! the fuzzer reaches what lies past them (forged grants, certificates, proofs) with power cuts.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    porter_device::fuzzing::fuzz_door(data, false);
});
