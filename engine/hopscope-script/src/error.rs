//! What can go wrong with a script, one variant per cause: loading problems become
//! diagnostics for `hopscope rules check`, evaluation problems stop that script alone.

use std::sync::Arc;

use hopscope_rules::diagnostic::{Code, Diagnostic, Position};
use rhai::EvalAltResult;

use crate::limits::Limits;

/// A script that cannot load, or an evaluation that failed.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ScriptError {
    /// The file cannot be read, or is too large.
    #[error("{file}: {message}")]
    Read {
        /// The file.
        file: String,
        /// Why.
        message: String,
    },
    /// The script does not compile.
    #[error("{file}:{line}:{col}: the script does not compile: {message}")]
    Compile {
        /// The file.
        file: String,
        /// Line, 1-based.
        line: usize,
        /// Column, 1-based.
        col: usize,
        /// What the compiler said.
        message: String,
    },
    /// The script uses a capability it was not granted.
    #[error("{file}:{line}:{col}: `{symbol}` is not allowed in rule scripts")]
    Forbidden {
        /// The file.
        file: String,
        /// Line, 1-based.
        line: usize,
        /// Column, 1-based.
        col: usize,
        /// `eval` or `import`.
        symbol: String,
    },
    /// `describe()` is missing, fails, or says something invalid.
    #[error("{file}:{line}:{col}: {message}")]
    Metadata {
        /// The file.
        file: String,
        /// Line, 1-based.
        line: usize,
        /// Column, 1-based.
        col: usize,
        /// What is wrong.
        message: String,
    },
    /// A function every script must define is missing.
    #[error("{file}: the script has no `fn {signature}`")]
    MissingFunction {
        /// The file.
        file: String,
        /// What is missing (`evaluate(conf)`).
        signature: &'static str,
    },
    /// The script used more operations than its budget.
    #[error("rule `{rule}`: stopped after {limit} operations (an endless loop, or too much work)")]
    OperationLimit {
        /// The rule.
        rule: String,
        /// The budget.
        limit: u64,
    },
    /// The script ran past its wall-clock deadline.
    #[error("rule `{rule}`: stopped at its {limit_ms} ms deadline")]
    Timeout {
        /// The rule.
        rule: String,
        /// The deadline, ms.
        limit_ms: u64,
    },
    /// Function calls nested deeper than allowed (runaway recursion).
    #[error("rule `{rule}`: {line}:{col}: calls nested deeper than {limit} levels")]
    StackOverflow {
        /// The rule.
        rule: String,
        /// The limit.
        limit: usize,
        /// Line.
        line: usize,
        /// Column.
        col: usize,
    },
    /// A string grew past the limit.
    #[error("rule `{rule}`: {line}:{col}: a string longer than {limit} bytes")]
    StringTooLong {
        /// The rule.
        rule: String,
        /// The limit.
        limit: usize,
        /// Line.
        line: usize,
        /// Column.
        col: usize,
    },
    /// An array grew past the limit.
    #[error("rule `{rule}`: {line}:{col}: an array of more than {limit} elements")]
    ArrayTooLarge {
        /// The rule.
        rule: String,
        /// The limit.
        limit: usize,
        /// Line.
        line: usize,
        /// Column.
        col: usize,
    },
    /// An object map grew past the limit.
    #[error("rule `{rule}`: {line}:{col}: a map of more than {limit} entries")]
    MapTooLarge {
        /// The rule.
        rule: String,
        /// The limit.
        limit: usize,
        /// Line.
        line: usize,
        /// Column.
        col: usize,
    },
    /// Too many variables alive at once.
    #[error("rule `{rule}`: {line}:{col}: more than {limit} variables")]
    TooManyVariables {
        /// The rule.
        rule: String,
        /// The limit.
        limit: usize,
        /// Line.
        line: usize,
        /// Column.
        col: usize,
    },
    /// A capability reached at run time that was not granted (`Fn("eval")`).
    #[error("rule `{rule}`: {line}:{col}: `{symbol}` is not allowed in rule scripts")]
    NotGranted {
        /// The rule.
        rule: String,
        /// `eval`.
        symbol: String,
        /// Line.
        line: usize,
        /// Column.
        col: usize,
    },
    /// Any other error while the script ran (type error, division by zero, unknown metric, ...).
    #[error("rule `{rule}`: {line}:{col}: {message}")]
    Runtime {
        /// The rule.
        rule: String,
        /// Line (0 when unknown).
        line: usize,
        /// Column (0 when unknown).
        col: usize,
        /// What went wrong.
        message: String,
    },
    /// The script returned something that is not a valid finding.
    #[error("rule `{rule}`: finding {index}: {message}")]
    BadFinding {
        /// The rule.
        rule: String,
        /// Index in the returned array.
        index: usize,
        /// What is wrong.
        message: String,
    },
    /// More findings than allowed.
    #[error("rule `{rule}`: returned {count} findings, over the limit of {limit}")]
    TooManyFindings {
        /// The rule.
        rule: String,
        /// How many.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// A bug on our side surfaced as a panic; caught so the other rules carry on.
    #[error("rule `{rule}`: internal error while evaluating: {message}")]
    Internal {
        /// The rule.
        rule: String,
        /// The panic message.
        message: String,
    },
}

impl ScriptError {
    /// The diagnostic for a loading error, as `hopscope rules check` prints it; `None` for
    /// evaluation errors.
    pub fn diagnostic(&self) -> Option<Diagnostic> {
        let at = |line: usize, col: usize| Position { line: line.max(1), column: col.max(1) };
        let d = match self {
            ScriptError::Read { file, message } => {
                Diagnostic::error(Code::H206, &Arc::from(file.as_str()), at(1, 1), message.clone())
            }
            ScriptError::Compile { file, line, col, message } => Diagnostic::error(
                Code::H901,
                &Arc::from(file.as_str()),
                at(*line, *col),
                format!("the script does not compile: {message}"),
            )
            .with_help("see the Rhai book (rhai.rs/book); undefined variables are errors here"),
            ScriptError::Forbidden { file, line, col, symbol } => Diagnostic::error(
                Code::H902,
                &Arc::from(file.as_str()),
                at(*line, *col),
                format!("`{symbol}` is not allowed in rule scripts"),
            )
            .with_help(match symbol.as_str() {
                "import" => "a rule script is one file: define the functions it needs in it",
                _ => "compute the value in the script itself; `eval` runs only where an operator grants it",
            }),
            ScriptError::Metadata { file, line, col, message } => {
                Diagnostic::error(Code::H903, &Arc::from(file.as_str()), at(*line, *col), message.clone())
                    .with_help(
                        "`fn describe()` returns #{ id, version, description, scope, severity, category } \
                         (see rules/README.md, \"Rhai rules\")",
                    )
            }
            ScriptError::MissingFunction { file, signature } => Diagnostic::error(
                Code::H904,
                &Arc::from(file.as_str()),
                at(1, 1),
                format!("the script has no `fn {signature}`"),
            )
            .with_help("add `fn evaluate(conf) { ... }` returning an array of findings"),
            _ => return None,
        };
        Some(d)
    }

    /// The rule an evaluation error is about.
    pub fn rule(&self) -> Option<&str> {
        match self {
            ScriptError::OperationLimit { rule, .. }
            | ScriptError::Timeout { rule, .. }
            | ScriptError::StackOverflow { rule, .. }
            | ScriptError::StringTooLong { rule, .. }
            | ScriptError::ArrayTooLarge { rule, .. }
            | ScriptError::MapTooLarge { rule, .. }
            | ScriptError::TooManyVariables { rule, .. }
            | ScriptError::NotGranted { rule, .. }
            | ScriptError::Runtime { rule, .. }
            | ScriptError::BadFinding { rule, .. }
            | ScriptError::TooManyFindings { rule, .. }
            | ScriptError::Internal { rule, .. } => Some(rule),
            _ => None,
        }
    }

    /// Classifies an error Rhai raised while `rule` ran.
    pub(crate) fn from_eval(rule: &str, limits: &Limits, err: &EvalAltResult) -> ScriptError {
        // Errors inside script functions arrive wrapped in the calls that led there; the
        // innermost is the cause, and its position the line to look at.
        let root = err.unwrap_inner();
        let pos = deepest_position(err);
        let (line, col) = (pos.line().unwrap_or(0), pos.position().unwrap_or(0));
        let rule = rule.to_string();
        match root {
            EvalAltResult::ErrorTooManyOperations(_) => {
                ScriptError::OperationLimit { rule, limit: limits.max_operations }
            }
            EvalAltResult::ErrorTerminated(..) => {
                ScriptError::Timeout { rule, limit_ms: limits.deadline.as_millis() as u64 }
            }
            EvalAltResult::ErrorStackOverflow(_) => {
                ScriptError::StackOverflow { rule, limit: limits.max_call_levels, line, col }
            }
            EvalAltResult::ErrorDataTooLarge(what, _) if what.starts_with("Length of string") => {
                ScriptError::StringTooLong { rule, limit: limits.max_string_size, line, col }
            }
            EvalAltResult::ErrorDataTooLarge(what, _) if what.starts_with("Size of array") => {
                ScriptError::ArrayTooLarge { rule, limit: limits.max_array_size, line, col }
            }
            EvalAltResult::ErrorDataTooLarge(what, _) if what.starts_with("Size of object map") => {
                ScriptError::MapTooLarge { rule, limit: limits.max_map_size, line, col }
            }
            EvalAltResult::ErrorTooManyVariables(_) => {
                ScriptError::TooManyVariables { rule, limit: limits.max_variables, line, col }
            }
            // `Fn("eval")` and friends get past the compiler; the runtime still refuses.
            EvalAltResult::ErrorParsing(rhai::ParseErrorType::Reserved(symbol), _)
                if symbol == "eval" || symbol == "import" =>
            {
                ScriptError::NotGranted { rule, symbol: symbol.clone(), line, col }
            }
            other => ScriptError::Runtime { rule, line, col, message: without_position(other) },
        }
    }
}

/// The innermost known position: limits raised inside Rhai's own functions carry none,
/// the script call that led there does.
fn deepest_position(err: &EvalAltResult) -> rhai::Position {
    let mut best = err.position();
    let mut e = err;
    while let EvalAltResult::ErrorInFunctionCall(.., inner, _) | EvalAltResult::ErrorInModule(.., inner, _) =
        e
    {
        e = inner;
        if !e.position().is_none() {
            best = e.position();
        }
    }
    best
}

/// Rhai's message without the ` (line 3, position 7)` it appends: we report the place apart.
pub(crate) fn without_position(err: &impl std::fmt::Display) -> String {
    let text = err.to_string();
    match text.rfind(" (line ") {
        Some(i) if text.ends_with(')') => text[..i].to_string(),
        _ => text,
    }
}
