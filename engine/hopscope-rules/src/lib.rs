//! hopscope rules: declarative YAML diagnostics.

pub mod browsers;
pub mod catalogue;
pub mod diagnostic;
pub mod eval;
pub mod finding;
pub mod harness;
pub mod lang;
pub mod pack;
pub mod rule;
pub mod template;
pub mod view;
pub mod yaml;
