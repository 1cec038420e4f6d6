//! The budget every script runs under. Rhai leaves each of these off or lax by default
//! (and some differ between debug and release builds), so all are set explicitly.

use std::time::Duration;

/// Limits for loading and running scripts.
#[derive(Clone, Debug, PartialEq)]
pub struct Limits {
    /// Operations per evaluation (roughly: expression nodes, loop iterations, calls).
    pub max_operations: u64,
    /// Nested function calls.
    pub max_call_levels: usize,
    /// Expression nesting at top level (checked when the script compiles).
    pub max_expr_depth: usize,
    /// Expression nesting inside functions.
    pub max_fn_expr_depth: usize,
    /// Bytes in one string.
    pub max_string_size: usize,
    /// Elements in one array (a series has one per tick, up to 7,201; `conf.streams()` one per
    /// stream, about 100 per participant on a media server).
    pub max_array_size: usize,
    /// Entries in object maps, counted across every map inside one value (how Rhai checks):
    /// a returned array of findings counts them all.
    pub max_map_size: usize,
    /// Variables alive at once.
    pub max_variables: usize,
    /// Functions a script may define.
    pub max_functions: usize,
    /// CPU time per evaluation, counted on the evaluating thread (checked every few hundred
    /// operations): time the thread waits for a CPU does not count.
    pub deadline: Duration,
    /// Findings one evaluation may return.
    pub max_findings: usize,
    /// Bytes of one script file.
    pub max_script_bytes: usize,
    /// Let scripts compile and run strings as code (`eval`); still under every limit.
    pub allow_eval: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            // Rhai runs ~5-10 M simple operations a second: about 50-100 ms at worst.
            max_operations: 500_000,
            max_call_levels: 32,
            max_expr_depth: 64,
            max_fn_expr_depth: 32,
            max_string_size: 64 * 1024,
            max_array_size: 100_000,
            max_map_size: 10_000,
            max_variables: 256,
            max_functions: 64,
            deadline: Duration::from_millis(250),
            max_findings: 1_000,
            max_script_bytes: 256 * 1024,
            allow_eval: false,
        }
    }
}
