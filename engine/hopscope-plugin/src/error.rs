//! Everything that can go wrong with a plugin, each limit with its own variant, so callers
//! (and the attack suite) can tell an infinite loop from a memory bomb.

use thiserror::Error;

/// Why a plugin could not be loaded or could not evaluate.
#[derive(Debug, Clone, Error, PartialEq)]
pub enum PluginError {
    /// The bytes are not a valid component (or not one this host can compile).
    #[error("not a valid WebAssembly component: {reason}")]
    Malformed {
        /// What the validator or compiler said.
        reason: String,
    },
    /// The component imports something the sandbox does not offer.
    #[error("the component imports `{name}`, which hopscope does not offer a plugin")]
    UnknownImport {
        /// The import's full name (`wasi:filesystem/types@0.2.0`).
        name: String,
    },
    /// The component was built against another version of the plugin world.
    #[error(
        "the plugin was built against {found}, and this host speaks {expected}: rebuild it with the current hopscope-plugin-sdk"
    )]
    WitVersion {
        /// The world the component imports (`hopscope:plugin@0.2.0`).
        found: String,
        /// The world this host offers.
        expected: String,
    },
    /// The component does not export the plugin world's functions with their types.
    #[error("the component is not a hopscope:plugin plugin: {reason}")]
    BadExport {
        /// What is missing or mistyped.
        reason: String,
    },
    /// `describe()` returned a manifest the host refuses.
    #[error("bad manifest: {reason}")]
    BadManifest {
        /// What is wrong with it.
        reason: String,
    },
    /// The manifest asks for a capability the operator has not granted.
    #[error(
        "the manifest requests `{capability}`, which the operator has not granted (this host grants no WASI capability)"
    )]
    CapabilityDenied {
        /// The capability.
        capability: String,
    },
    /// The evaluation used its whole fuel budget.
    #[error("out of fuel: used the whole budget of {budget} units")]
    OutOfFuel {
        /// The budget.
        budget: u64,
    },
    /// The evaluation ran past its wall-clock deadline.
    #[error("deadline: still running after {ms} ms")]
    Deadline {
        /// The deadline, ms.
        ms: u32,
    },
    /// The plugin tried to grow its memory (or tables) past its limit.
    #[error("memory limit: tried to grow past {limit_bytes} bytes")]
    MemoryLimit {
        /// The limit, bytes.
        limit_bytes: u64,
    },
    /// The plugin's call stack overflowed (unbounded recursion).
    #[error("stack overflow (unbounded recursion?)")]
    StackOverflow,
    /// The plugin trapped: a panic, `unreachable`, a bad memory access, a forbidden call.
    #[error("trapped: {message}")]
    Trap {
        /// The trap, and the plugin's panic message when it logged one.
        message: String,
    },
    /// `evaluate` returned an error of its own.
    #[error("the plugin reported an error: {message}")]
    Failed {
        /// Its message (truncated to the host's string cap).
        message: String,
    },
    /// The output went over a cap (findings, evidence, actions, string lengths).
    #[error("output too large: {what}")]
    OutputTooLarge {
        /// Which cap.
        what: String,
    },
    /// The output is well-typed but wrong: an undeclared rule, an index out of range, a time
    /// off the grid, an action the host refuses.
    #[error("bad output: {reason}")]
    BadOutput {
        /// What is wrong.
        reason: String,
    },
    /// The host could not set up an instance (e.g. every pooled slot is busy).
    #[error("could not instantiate: {reason}")]
    Instantiate {
        /// Why.
        reason: String,
    },
    /// The plugin failed too many times in a row and no longer runs.
    #[error("quarantined after {failures} failures in a row; last: {last}")]
    Quarantined {
        /// Failures in a row.
        failures: u32,
        /// The last failure.
        last: String,
    },
    /// The plugin file could not be read.
    #[error("{path}: {reason}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The engine could not be configured (an operator error, not a plugin's).
    #[error("plugin engine: {reason}")]
    Engine {
        /// Why.
        reason: String,
    },
}

impl PluginError {
    /// A short machine-readable name of the variant, for reports and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            PluginError::Malformed { .. } => "malformed",
            PluginError::UnknownImport { .. } => "unknown-import",
            PluginError::WitVersion { .. } => "wit-version",
            PluginError::BadExport { .. } => "bad-export",
            PluginError::BadManifest { .. } => "bad-manifest",
            PluginError::CapabilityDenied { .. } => "capability-denied",
            PluginError::OutOfFuel { .. } => "out-of-fuel",
            PluginError::Deadline { .. } => "deadline",
            PluginError::MemoryLimit { .. } => "memory-limit",
            PluginError::StackOverflow => "stack-overflow",
            PluginError::Trap { .. } => "trap",
            PluginError::Failed { .. } => "failed",
            PluginError::OutputTooLarge { .. } => "output-too-large",
            PluginError::BadOutput { .. } => "bad-output",
            PluginError::Instantiate { .. } => "instantiate",
            PluginError::Quarantined { .. } => "quarantined",
            PluginError::Io { .. } => "io",
            PluginError::Engine { .. } => "engine",
        }
    }
}
