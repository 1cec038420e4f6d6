//! Sandboxed WASM plugins: components of the `hopscope:plugin@0.4.0` world
//! (`sdk/wit/plugin.wit`) run by wasmtime, each evaluation in a fresh instance with its own
//! fuel, wall-clock deadline and memory limit.
//!
//! ```text
//! PluginHost::new(limits)          one engine (fuel + epochs, pooling allocator), one ticker
//!   └─ host.load(bytes)             compile once, check imports, pre-link (InstancePre),
//!        └─ Plugin                  call describe() and check the manifest
//!             └─ plugin.evaluate(view, earlier findings)
//!                  fresh Store → instance → evaluate(conference) → checked Findings
//! ```
//!
//! Nothing a plugin does makes the host panic: every way a plugin can fail is a
//! [`PluginError`] variant, and a plugin that fails [`Limits::quarantine_after`] times in a
//! row is quarantined.

mod convert;
mod error;
mod host;
mod input;
mod manifest;
mod rule_kind;

pub use error::PluginError;
pub use host::{Evaluation, Limits, LogLine, Plugin, PluginHost};
pub use input::SharedInput;
pub use manifest::{Budget, Manifest, RuleInfo};
pub use rule_kind::PluginRules;

/// The WIT package this host implements.
pub const WIT_PACKAGE: &str = "hopscope:plugin@0.4.0";

/// The generated types of the WIT world (host side).
mod bindings {
    wasmtime::component::bindgen!({
        path: "../../sdk/wit",
        world: "plugin",
    });
}
