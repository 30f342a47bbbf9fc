//! The integration tests of porter-ffi, in one binary: the exported functions called from Rust
//! exactly as C calls them (raw pointers and lengths), against the shared vectors and the
//! driver-flow data file that the C, Kotlin and Swift tests read too.

mod api {
    mod boundaries;
    mod conventions;
    mod driver;
    pub mod driver_data;
    pub use porter_testkit as fixture;
    mod session;
    mod vectors;
}
