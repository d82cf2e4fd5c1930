//! Usage texts.
pub fn text(prog: &str) -> String {
    format!("Usage: {prog} COMMAND [ARGS]\n")
}
