//! `beamrc` entry point: everything lives in the library so it can be unit-tested.
fn main() {
    std::process::exit(beamrc::edge::main());
}
