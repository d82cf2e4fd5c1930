//! `check`: a preflight that starts no VM, and readable boot errors.
pub(crate) mod elf;
pub(crate) mod ldso;
#[cfg(test)]
pub(crate) mod testing;
