//! The integration tests of porter-ffi, in one binary: the exported functions called from Rust
//! exactly as C calls them (raw pointers and lengths), against the shared vectors and the
//! driver-flow data file that the C, Kotlin and Swift tests read too.

mod api {
    mod boundaries;
    mod conventions;
    mod driver;
    pub mod driver_data;
    #[path = "../../../core-protocol/tests/api/fixture.rs"]
    #[allow(dead_code, reason = "the protocol core's fixture, shared; not every builder is used")]
    pub mod fixture;
    mod vectors;
}
