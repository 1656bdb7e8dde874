//! Empty: cargo unifies build-dependency features only for a crate with a build script.

fn main() {}
