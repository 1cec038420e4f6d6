//! Ingest errors: what went wrong, where, and what was expected.

use std::fmt;

/// Where in an input a problem is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// A 1-based line (line-oriented formats).
    Line(usize),
    /// A 1-based line and column (JSON documents).
    LineColumn(usize, usize),
    /// A byte offset from the start of the (decompressed) input.
    Byte(usize),
    /// A JSON path inside the document, e.g. `PeerConnections."92-1".stats`.
    Path(String),
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Line(l) => write!(f, "line {l}"),
            Location::LineColumn(l, c) => write!(f, "line {l}, column {c}"),
            Location::Byte(b) => write!(f, "byte {b}"),
            Location::Path(p) => write!(f, "at {p}"),
        }
    }
}

/// Why an input could not be read at all. (Problems confined to part of an input become
/// notes on the result instead: one bad line never rejects a dump.)
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The file could not be read.
    #[error("{source_name}: cannot read the file: {error}")]
    Io {
        /// File name.
        source_name: String,
        /// The OS error.
        #[source]
        error: std::io::Error,
    },
    /// Nothing in the input.
    #[error("{source_name}: the input is empty; expected a WebRTC stats dump")]
    Empty {
        /// File name.
        source_name: String,
    },
    /// The input is larger than the configured limit.
    #[error(
        "{source_name}: the input is {size} bytes, over the {limit}-byte limit; split it or raise the limit"
    )]
    TooLarge {
        /// File name.
        source_name: String,
        /// Size seen so far.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// Not a format we know.
    #[error(
        "{source_name}: unrecognised format ({found}); expected a webrtc-internals dump, an rtcstats dump, a getStats() snapshot or hopscope observations"
    )]
    UnknownFormat {
        /// File name.
        source_name: String,
        /// What the input looked like.
        found: String,
    },
    /// A format we know, broken beyond use.
    #[error("{source_name}: {location}: {problem}; expected {expected}")]
    Malformed {
        /// File name.
        source_name: String,
        /// Where.
        location: Location,
        /// What is wrong.
        problem: String,
        /// What should be there.
        expected: String,
    },
    /// A format we recognise but do not read (yet), with the reason.
    #[error("{source_name}: {format} is recognised but not supported: {reason}")]
    Unsupported {
        /// File name.
        source_name: String,
        /// The format.
        format: String,
        /// Why, and what would be needed.
        reason: String,
    },
}

impl IngestError {
    /// A malformed-input error from a serde_json error in a document.
    pub(crate) fn from_json(source_name: &str, err: &serde_json::Error, expected: &str) -> Self {
        IngestError::Malformed {
            source_name: source_name.to_string(),
            location: Location::LineColumn(err.line(), err.column()),
            problem: json_problem(err),
            expected: expected.to_string(),
        }
    }
}

/// serde_json's message without its trailing "at line X column Y" (we print our own).
pub(crate) fn json_problem(err: &serde_json::Error) -> String {
    let text = err.to_string();
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}
