//! Puts memory.x where the linker finds it (cortex-m-rt's link.x includes it), and an empty
//! device.x: the board binds no device interrupt (see `__INTERRUPTS` in main.rs).
use std::{env, fs, path::PathBuf};

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    fs::write(out.join("memory.x"), include_bytes!("memory.x")).expect("OUT_DIR is writable");
    fs::write(out.join("device.x"), "/* no device interrupt handlers */\n")
        .expect("OUT_DIR is writable");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=memory.x");
}
