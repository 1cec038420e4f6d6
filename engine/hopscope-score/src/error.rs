//! Error types.
//!
//! The math core ([`crate::emodel`], [`crate::video`]) is total over finite inputs and only
//! fails where a formula has no value (for example MOS → R outside the MOS range). The
//! command-line entry points in [`crate::params`] validate every parameter up front and
//! report which one is wrong, its valid range and the value given.

use thiserror::Error;

/// A model formula was asked for a value outside its domain.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ModelError {
    /// G.107 Appendix I inverts the Annex B curve only for 1 ≤ MOS ≤ 4.5.
    #[error("MOS must be a finite number in [1, 4.5] for the G.107 Appendix I inverse, got {mos}")]
    MosOutOfRange {
        /// The MOS that was given.
        mos: f64,
    },
}

/// A codec id or WebRTC mime type that the codec tables do not know.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("unknown {kind} codec {given:?}; valid ids: {valid}")]
pub struct UnknownCodecError {
    /// "audio" or "video".
    pub kind: &'static str,
    /// What was given.
    pub given: String,
    /// Comma-separated list of valid ids.
    pub valid: String,
}

/// A command-line parameter failed validation.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ParamError {
    /// A numeric parameter is outside its valid range (or not a finite number).
    #[error("{param} must be {range}, got {value}")]
    OutOfRange {
        /// Parameter name as the command line spells it.
        param: &'static str,
        /// Human-readable valid range, e.g. "0–100 %".
        range: &'static str,
        /// The value that was given.
        value: f64,
    },
    /// The codec id is not in the table.
    #[error(transparent)]
    UnknownCodec(#[from] UnknownCodecError),
    /// One of a pair of parameters was given without the other.
    #[error("{param} requires {requires} to be given as well")]
    Incomplete {
        /// The parameter that was given.
        param: &'static str,
        /// The parameter that is missing.
        requires: &'static str,
    },
}
