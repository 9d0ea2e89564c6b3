//! Declares the `loom` cfg so `RUSTFLAGS="--cfg loom"` builds the model tests without warnings.
fn main() {
    println!("cargo::rustc-check-cfg=cfg(loom)");
}
