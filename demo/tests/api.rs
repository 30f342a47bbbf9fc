//! porter-demo's one integration-test binary: the whole story end to end with the real
//! programs, and the failure it must report instead of claiming success.

#[path = "api/story.rs"]
mod story;
