//! Config rendering: OS-variable substitution in vm.args / sys.config, the runtime copy.
pub mod render;
pub mod subst;
pub mod sys_config;
pub mod vm_args;
