//! Why a scenario was refused.

/// A scenario that cannot be simulated. Each variant says what is wrong, where, and how to
/// fix it, since the reader is someone editing a YAML file.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// Not YAML, or not the shape of a scenario (unknown field, wrong type, bad unit).
    #[error("scenario does not parse: {message}{}", location.map(|(l, c)| format!(" (line {l}, column {c})")).unwrap_or_default())]
    Parse {
        /// The parser's message, with the field path it was in.
        message: String,
        /// Line and column, 1-based, when known.
        location: Option<(usize, usize)>,
    },
    /// Well-formed, but a value is out of range or contradicts another.
    #[error("scenario field `{field}`: {problem}; {fix}")]
    Invalid {
        /// Where: `participants[1] (bob).ice.fail_at`.
        field: String,
        /// What is wrong with it.
        problem: String,
        /// How to fix it.
        fix: String,
    },
}

impl SimError {
    pub(crate) fn invalid(
        field: impl Into<String>,
        problem: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        SimError::Invalid { field: field.into(), problem: problem.into(), fix: fix.into() }
    }
}

impl From<serde_yaml::Error> for SimError {
    fn from(e: serde_yaml::Error) -> Self {
        let location = e.location().map(|l| (l.line(), l.column()));
        // serde_yaml appends " at line L column C" itself; the location is reported once.
        let mut message = e.to_string();
        if let Some(i) = message.rfind(" at line ") {
            message.truncate(i);
        }
        SimError::Parse { message, location }
    }
}
