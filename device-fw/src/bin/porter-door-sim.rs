//! The host simulator binary (being written).
fn main() {}
