//! Diagnostics for rule authors: a code, a place, what is wrong and how to fix it.
//!
//! Codes are stable and never reused. `H2xx`: rule file syntax and shape. `H3xx`: meaning
//! (unknown metric, unit mismatch, template field, unreachable condition). `H8xx`: warnings.
//! `H9xx`: Rhai script rules.

use std::fmt;
use std::sync::Arc;

use serde::Serialize;

/// A position in a source file, 1-based.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Default)]
pub struct Position {
    /// Line, 1-based.
    pub line: usize,
    /// Column, 1-based (in characters).
    pub column: usize,
}

/// A stable diagnostic code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Code {
    /// YAML that does not parse.
    H201,
    /// A field of the wrong shape (a list where a map is expected, ...).
    H202,
    /// A required field is missing.
    H203,
    /// An unknown field in a rule.
    H204,
    /// An anchor or alias (refused: they make YAML bombs).
    H205,
    /// The file is larger than allowed.
    H206,
    /// An expression does not parse.
    H210,
    /// A duration or number that does not parse.
    H211,
    /// Duplicate rule id.
    H220,
    /// Unknown metric or attribute.
    H301,
    /// Wrong type (a number where a yes/no is needed, ...).
    H302,
    /// Units that do not match.
    H303,
    /// Unknown function or wrong arguments.
    H304,
    /// Template field that does not exist.
    H305,
    /// Unknown parameter.
    H306,
    /// A condition that can never be true (or is always true).
    H307,
    /// Unknown scope, severity or category.
    H308,
    /// An override that names no rule.
    H309,
    /// Warning: a rule that fires on every sample of a healthy call.
    H801,
    /// A Rhai script that does not compile (syntax, undefined variable, a limit at parse).
    H901,
    /// A Rhai script using a capability it was not granted (`eval`, `import`).
    H902,
    /// A Rhai script whose `describe()` is missing or says something invalid.
    H903,
    /// A Rhai script without `fn evaluate(conf)`.
    H904,
}

impl Code {
    /// The code as text (`H301`).
    pub fn as_str(self) -> &'static str {
        match self {
            Code::H201 => "H201",
            Code::H202 => "H202",
            Code::H203 => "H203",
            Code::H204 => "H204",
            Code::H205 => "H205",
            Code::H206 => "H206",
            Code::H210 => "H210",
            Code::H211 => "H211",
            Code::H220 => "H220",
            Code::H301 => "H301",
            Code::H302 => "H302",
            Code::H303 => "H303",
            Code::H304 => "H304",
            Code::H305 => "H305",
            Code::H306 => "H306",
            Code::H307 => "H307",
            Code::H308 => "H308",
            Code::H309 => "H309",
            Code::H801 => "H801",
            Code::H901 => "H901",
            Code::H902 => "H902",
            Code::H903 => "H903",
            Code::H904 => "H904",
        }
    }
}

/// How serious.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// The rule cannot be loaded.
    Error,
    /// The rule loads, but something is probably wrong.
    Warning,
}

/// One problem in a rule file.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Diagnostic {
    /// Error or warning.
    pub level: Level,
    /// Stable code.
    pub code: Code,
    /// The file.
    pub file: Arc<str>,
    /// Where in it.
    pub position: Position,
    /// What is wrong (lower case, no final period).
    pub message: String,
    /// How to fix it, when we can tell.
    pub help: Option<String>,
    /// The rule it concerns, when known.
    pub rule: Option<String>,
}

impl Diagnostic {
    /// An error.
    pub fn error(code: Code, file: &Arc<str>, position: Position, message: impl Into<String>) -> Self {
        Diagnostic {
            level: Level::Error,
            code,
            file: file.clone(),
            position,
            message: message.into(),
            help: None,
            rule: None,
        }
    }

    /// A warning.
    pub fn warning(code: Code, file: &Arc<str>, position: Position, message: impl Into<String>) -> Self {
        Diagnostic { level: Level::Warning, ..Diagnostic::error(code, file, position, message) }
    }

    /// Adds help text.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Names the rule.
    pub fn in_rule(mut self, rule: &str) -> Self {
        self.rule = Some(rule.to_string());
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.level {
            Level::Error => "error",
            Level::Warning => "warning",
        };
        write!(
            f,
            "{}:{}:{}: {level}[{}]: {}",
            self.file,
            self.position.line,
            self.position.column,
            self.code.as_str(),
            self.message
        )?;
        if let Some(rule) = &self.rule {
            write!(f, " (rule `{rule}`)")?;
        }
        if let Some(help) = &self.help {
            write!(f, "\n  help: {help}")?;
        }
        Ok(())
    }
}

/// Levenshtein distance, for "did you mean".
pub fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j + 1] + 1).min(cur[j] + 1).min(prev[j] + cost);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The closest candidate to `name`: a typo (small edit distance) first, else the
/// candidate sharing the most words (`packet_loss` → `loss_percent`), shortest first.
pub fn did_you_mean<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let candidates: Vec<&str> = candidates.collect();
    let limit = (name.len() / 3).max(2);
    let typo = candidates
        .iter()
        .map(|c| (distance(name, c), *c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, c)| (*d, *c))
        .map(|(_, c)| c);
    typo.or_else(|| {
        // Units and generic nouns say little about which metric was meant.
        const GENERIC: [&str; 7] = ["percent", "kbps", "packet", "packets", "rate", "count", "total"];
        let words: Vec<&str> =
            name.split(['_', '-']).filter(|w| w.len() >= 3 && !GENERIC.contains(w)).collect();
        candidates
            .iter()
            .map(|c| (c.split(['_', '-']).filter(|w| words.contains(w)).count(), *c))
            .filter(|(shared, _)| *shared > 0)
            .min_by_key(|(shared, c)| (std::cmp::Reverse(*shared), c.len(), *c))
            .map(|(_, c)| c)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typo_suggestions() {
        let names = ["loss_percent", "jitter_ms", "rtt_ms"];
        assert_eq!(did_you_mean("los_percent", names.iter().copied()), Some("loss_percent"));
        assert_eq!(did_you_mean("jiter_ms", names.iter().copied()), Some("jitter_ms"));
        assert_eq!(did_you_mean("frobnicate", names.iter().copied()), None);
    }

    #[test]
    fn a_shared_word_suggests_the_metric_meant() {
        let names = ["loss_percent", "media_loss_percent", "packet_rate", "rtt_ms"];
        assert_eq!(did_you_mean("packet_loss", names.iter().copied()), Some("loss_percent"));
        assert_eq!(did_you_mean("round_trip_rtt", names.iter().copied()), Some("rtt_ms"));
        assert_eq!(did_you_mean("packet_count", names.iter().copied()), None);
    }
}
