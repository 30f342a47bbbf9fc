//! The integration tests of porter-protocol, in one binary (one link step on two cores).

mod api {
    mod admission;
    mod audit;
    mod clock_reset;
    mod ed25519_vectors;
    pub use porter_testkit as fixture;
    mod properties;
    mod readmission;
    mod reasons;
    mod replay;
    mod rules;
    mod vectors;
}
