//! `beamrc` entry point: everything lives in the library so it can be unit-tested.

/// See `arena.rs`: a launch's few allocations without musl's mmap/munmap churn.
#[global_allocator]
static ALLOC: beamrc::arena::Arena = beamrc::arena::Arena::global();

fn main() {
    std::process::exit(beamrc::edge::main());
}
