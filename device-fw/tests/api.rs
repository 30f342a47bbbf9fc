//! The integration tests of porter-device, in one binary (one link step on two cores).

mod api {
    pub mod door;
    pub use porter_testkit as fixture;
    mod frames;
    mod fuzz_hook;
    mod link_vectors;
    mod log_noise;
    mod power_cut;
    mod props;
    mod qemu;
    mod qemu_link;
    mod radio;
    mod replay_full;
    mod scenarios;
    mod sim_binary;
    mod stream;
    pub mod vectors;
}
