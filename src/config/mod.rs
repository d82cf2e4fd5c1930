//! Config rendering: OS-variable substitution in vm.args / sys.config, the runtime copy.
pub mod runtime;
pub mod subst;
pub mod vm_args;
