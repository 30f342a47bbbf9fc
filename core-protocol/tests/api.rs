//! The integration tests of porter-protocol, in one binary (one link step on two cores).

mod api {
    mod admission;
    pub mod fixture;
}
