//! porter-link's integration tests, one binary (conventions, habit 13).

mod api {
    mod frame;
    mod fuzz_hooks;
    mod message;
    mod props;
    mod session;
    mod vectors;
}
