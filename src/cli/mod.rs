//! The thin command-line layer: dispatch on argv[0], run, map errors to exit codes.
pub mod usage;

pub fn main() -> i32 {
    0
}
