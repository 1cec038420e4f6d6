//! hopscope diagnose: what a conference's data says, as a [`Diagnosis`].
//!
//! Pure and deterministic: no IO, no clock, no randomness. The same conference gives the
//! same diagnosis, byte for byte once serialised.

pub mod explain;
pub mod report;
pub mod summary;
pub mod text;

pub use report::{Diagnosis, Options, diagnose, diagnose_with};
pub use text::{Detail, render};
