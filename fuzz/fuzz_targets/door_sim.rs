//! The door controller on the simulator's hardware, scripted (attempts, raw fragments, clock,
//! door switch, door states, reboots, power cuts at any flash operation), real signatures:
//! never panics, never opens for a grant beyond its uses across reboots, a refusal changes no
//! admission memory, every boot after a cut recovers.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    porter_device::fuzzing::fuzz_door(data, true);
});
