//! porter-demo's one integration-test binary: the whole story end to end with the real
//! programs, the failure it must report instead of claiming success, and `--stay`.

#[path = "api/stay.rs"]
mod stay;
#[path = "api/story.rs"]
mod story;
