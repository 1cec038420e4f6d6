//! hopscope script: diagnostic rules written in [Rhai](https://rhai.rs), for diagnostics too
//! rich for the YAML rule language.
//!
//! A script declares its metadata in `fn describe()` and its logic in `fn evaluate(conf)`,
//! reads the conference through a small read-only API ([`api`]) and returns findings in the
//! same shape as YAML rules. Scripts are customer code: every limit Rhai has is set
//! explicitly ([`Limits`]), `eval` and `import` are off, no clock, file or network function
//! exists, and each limit a script hits is its own [`ScriptError`] while the other scripts
//! carry on. `rules/README.md` ("Rhai rules") is the author's guide.
//!
//! ```
//! use hopscope_script::{Limits, ScriptSet};
//!
//! let text = r#"
//!     fn describe() {
//!         #{ id: "too-many-people", version: 1, scope: "conference", severity: "info",
//!            category: "quality", description: "A big call" }
//!     }
//!     fn evaluate(conf) {
//!         let n = conf.participants().len();
//!         if n > 40 { [#{ about: conf, message: `${n} people in the call` }] } else { [] }
//!     }
//! "#;
//! let mut set = ScriptSet::new(Limits::default());
//! set.add("big.rhai", text).expect("compiles");
//! assert_eq!(set.scripts()[0].meta.id, "too-many-people");
//! ```

pub mod api;
mod error;
mod limits;
mod output;
mod script;

pub use error::ScriptError;
pub use limits::Limits;
pub use script::{Meta, RuleRun, Run, Script, ScriptSet, load, script_files};
