//! `porter-demo` (work in progress).

fn main() {}
