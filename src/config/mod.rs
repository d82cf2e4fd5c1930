//! Config rendering: OS-variable substitution in vm.args / sys.config, written where the
//! VM reads it.
//!
//! | file | concept |
//! |---|---|
//! | `subst` | the `${VAR}` grammar and the substitution engine |
//! | `template` | the walker step: read a file, substitute it for its format, collect problems |
//! | `source` | the `.src`-wins rule |
//! | `args_file` | erlexec's args-file tokenizer (and quoting) |
//! | `args_template` | writing values into args files so they arrive as written |
//! | `vm_args` | the `-args_file` include walk |
//! | `vm_args_info` | node name and cookie from the flags |
//! | `erl_terms` | the Erlang-term lexer (and where references stand) |
//! | `terms`, `term_scan` | Erlang terms as `file:consult/1` reads them (parser, scanner) |
//! | `erl_strings` | Erlang string/atom bodies: escaping and decoding |
//! | `erl_template` | writing values into sys.config so they arrive as written |
//! | `sys_config` | the sys.config include planner, `RUNTIME_CONFIG=true` |
//! | `private_dir` | refusing directories someone else can change |
//! | `render` | writing rendered files (temp + rename) |
pub(crate) mod args_file;
mod args_template;
mod erl_strings;
mod erl_template;
mod erl_terms;
mod private_dir;
pub(crate) mod render;
pub(crate) mod source;
pub mod subst;
pub(crate) mod sys_config;
pub(crate) mod template;
pub(crate) mod term_scan;
pub(crate) mod terms;
pub(crate) mod vm_args;
mod vm_args_info;

#[cfg(test)]
mod fuzz_tests;
#[cfg(test)]
pub(crate) mod testing;
