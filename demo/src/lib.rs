//! # porter-demo
//!
//! Porter's main job (work in progress).
