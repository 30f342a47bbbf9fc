//! porter-demo's tests: the whole story end to end with the real programs, and the failures
//! it must report instead of claiming success.

mod story;
