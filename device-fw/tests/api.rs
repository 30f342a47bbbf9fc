//! The integration tests of porter-device, in one binary (one link step on two cores).

mod api {
    pub mod door;
    #[path = "../../../core-protocol/tests/api/fixture.rs"]
    #[allow(dead_code)]
    pub mod fixture;
    mod frames;
    mod log_noise;
    mod power_cut;
    mod props;
    mod qemu;
    mod scenarios;
    mod sim_binary;
    pub mod vectors;
}
