//! Loading scripts (compile, read `describe()`, check) and evaluating them under their
//! limits, each on its own: one script failing never stops the others.

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hopscope_model::Conference;
use hopscope_rules::catalogue::Scope;
use hopscope_rules::diagnostic::{Code, Diagnostic, Position, did_you_mean};
use hopscope_rules::finding::Finding;
use hopscope_rules::harness::RuleKind;
use hopscope_rules::pack::Overrides;
use hopscope_rules::rule::{Category, Rule, Severity};
use hopscope_rules::view::{EntityRef, View};
use rhai::packages::{
    BasicArrayPackage, BasicMapPackage, BasicMathPackage, BasicStringPackage, CorePackage, LogicPackage,
    MoreStringPackage, Package,
};
use rhai::{
    AST, CallFnOptions, Dynamic, Engine, EvalAltResult, FuncArgs, Map, ParseError, Scope as RhaiScope,
};

use crate::api::{self, Entity, clip_name};
use crate::error::{ScriptError, without_position};
use crate::limits::Limits;
use crate::output;

/// What a script says about itself in `describe()`: the YAML rule's fields.
#[derive(Clone, Debug, PartialEq)]
pub struct Meta {
    /// Unique id across every loaded rule.
    pub id: String,
    /// Bumped when the meaning changes.
    pub version: u32,
    /// What it detects, for people.
    pub description: String,
    /// What its findings are about.
    pub scope: Scope,
    /// Default severity of its findings.
    pub severity: Severity,
    /// Category.
    pub category: Category,
    /// Callbacks to trigger.
    pub actions: Vec<String>,
    /// Where its thresholds come from.
    pub source: Option<String>,
}

/// A loaded script.
#[derive(Debug)]
pub struct Script {
    /// Its metadata.
    pub meta: Meta,
    /// The file.
    pub file: Arc<str>,
    /// Where `fn describe` is.
    pub position: Position,
    ast: AST,
}

/// Scripts compiled once against one sandboxed engine; evaluations share both, so a set can
/// serve many threads at once.
#[derive(Debug)]
pub struct ScriptSet {
    engine: Engine,
    scripts: Vec<Script>,
    limits: Limits,
}

/// One script's evaluation.
#[derive(Clone, Debug, PartialEq)]
pub struct RuleRun {
    /// The rule.
    pub rule: String,
    /// Rhai operations it used.
    pub operations: u64,
    /// Wall-clock time.
    pub elapsed: Duration,
    /// Findings it returned.
    pub findings: usize,
    /// Why it failed, if it did (its findings are then dropped).
    pub error: Option<ScriptError>,
}

/// Every script's evaluation over one conference.
#[derive(Clone, Debug, Default)]
pub struct Run {
    /// Findings of the scripts that succeeded, by time, then rule, then id.
    pub findings: Vec<Finding>,
    /// Per script, in load order.
    pub rules: Vec<RuleRun>,
}

impl Run {
    /// The errors, one per failed script.
    pub fn errors(&self) -> impl Iterator<Item = &ScriptError> {
        self.rules.iter().filter_map(|r| r.error.as_ref())
    }
}

thread_local! {
    /// The thread's CPU time at which the evaluation running on it must stop.
    static DEADLINE: Cell<Option<Duration>> = const { Cell::new(None) };
    /// Operations the evaluation running on this thread has used so far.
    static OPERATIONS: Cell<u64> = const { Cell::new(0) };
}

/// The CPU time the calling thread has used. A script's deadline counts this rather than
/// the wall clock: live evaluations run on idle CPU, and a busy server may not run them for
/// longer than a deadline, which must not stop a script that has barely started.
fn thread_cpu_time() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Duration::new(u64::try_from(t.tv_sec).unwrap_or(0), u32::try_from(t.tv_nsec).unwrap_or(0))
}

/// What `on_progress` returns to stop a script at its deadline.
const TIMEOUT_TOKEN: &str = "deadline";

/// The sandboxed engine: only the packages a rule needs (no time package, so no clock),
/// no modules, no `eval` unless granted, every limit set.
fn engine(limits: &Limits) -> Engine {
    let mut e = Engine::new_raw();
    e.register_global_module(CorePackage::new().as_shared_module());
    e.register_global_module(LogicPackage::new().as_shared_module());
    e.register_global_module(BasicMathPackage::new().as_shared_module());
    e.register_global_module(BasicStringPackage::new().as_shared_module());
    e.register_global_module(MoreStringPackage::new().as_shared_module());
    e.register_global_module(BasicArrayPackage::new().as_shared_module());
    e.register_global_module(BasicMapPackage::new().as_shared_module());
    e.set_max_operations(limits.max_operations)
        .set_max_call_levels(limits.max_call_levels)
        .set_max_expr_depths(limits.max_expr_depth, limits.max_fn_expr_depth)
        .set_max_string_size(limits.max_string_size)
        .set_max_array_size(limits.max_array_size)
        .set_max_map_size(limits.max_map_size)
        .set_max_variables(limits.max_variables)
        .set_max_functions(limits.max_functions)
        .set_max_modules(0)
        .set_module_resolver(rhai::module_resolvers::DummyModuleResolver::new())
        .set_strict_variables(true);
    e.disable_symbol("import");
    e.disable_symbol("export");
    if !limits.allow_eval {
        e.disable_symbol("eval");
    }
    // print/debug go to the log, cut short: a script must not flood it.
    e.on_print(|s| tracing::debug!(target: "hopscope_script", "print: {}", clip(s)));
    e.on_debug(|s, _, pos| tracing::debug!(target: "hopscope_script", "debug at {pos}: {}", clip(s)));
    e.on_progress(|ops| {
        OPERATIONS.set(ops);
        // The thread's CPU clock is a syscall (about 0.2 µs); 1,024 operations are
        // 100–200 µs of a script, so this costs about 0.1 % and stops one within a
        // fraction of a millisecond of its deadline.
        if ops % 1024 == 0 && DEADLINE.get().is_some_and(|d| thread_cpu_time() >= d) {
            return Some(Dynamic::from(TIMEOUT_TOKEN));
        }
        None
    });
    api::register(&mut e);
    e
}

fn clip(s: &str) -> &str {
    let mut end = s.len().min(200);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The YAML spelling of a severity.
pub(crate) fn parse_severity(s: &str) -> Option<Severity> {
    [Severity::Info, Severity::Warning, Severity::Error, Severity::Critical]
        .into_iter()
        .find(|x| x.as_str() == s)
}

const META_FIELDS: [&str; 8] =
    ["id", "version", "description", "scope", "severity", "category", "actions", "source"];

impl ScriptSet {
    /// An empty set.
    pub fn new(limits: Limits) -> ScriptSet {
        ScriptSet { engine: engine(&limits), scripts: Vec::new(), limits }
    }

    /// The loaded scripts, in load order.
    pub fn scripts(&self) -> &[Script] {
        &self.scripts
    }

    /// Whether no script is loaded.
    pub fn is_empty(&self) -> bool {
        self.scripts.is_empty()
    }

    /// The limits scripts run under.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Compiles a script, reads its `describe()` and adds it.
    pub fn add(&mut self, file: &str, text: &str) -> Result<(), ScriptError> {
        if text.len() > self.limits.max_script_bytes {
            return Err(ScriptError::Read {
                file: file.into(),
                message: format!(
                    "the script is {} bytes, over the {}-byte limit",
                    text.len(),
                    self.limits.max_script_bytes
                ),
            });
        }
        let ast = self.engine.compile(text).map_err(|e| compile_error(file, &e))?;
        let has = |name: &str, arity: usize| {
            ast.iter_functions().any(|f| f.name == name && f.params.len() == arity)
        };
        let position = find(text, "fn describe").unwrap_or(Position { line: 1, column: 1 });
        let meta_error = |message: String| ScriptError::Metadata {
            file: file.into(),
            line: position.line,
            col: position.column,
            message,
        };
        if !has("describe", 0) {
            return Err(meta_error("the script has no `fn describe()` saying what rule it is".into()));
        }
        if !has("evaluate", 1) {
            return Err(ScriptError::MissingFunction { file: file.into(), signature: "evaluate(conf)" });
        }
        let described = {
            let (out, _) = self.call(&ast, "describe", ());
            out.map_err(|e| meta_error(format!("`describe()` failed: {}", without_position(&e))))?
        };
        let meta = read_meta(described).map_err(meta_error)?;
        if let Some(other) = self.scripts.iter().find(|s| s.meta.id == meta.id) {
            return Err(meta_error(format!(
                "duplicate rule id `{}` (first defined in {}:{})",
                meta.id, other.file, other.position.line
            )));
        }
        self.scripts.push(Script { meta, file: Arc::from(file), position, ast });
        Ok(())
    }

    /// Applies the overrides naming scripts (`enabled`, `severity`; scripts take no
    /// parameters) and returns the others, for the YAML rules, with problems found.
    pub fn apply_overrides(&mut self, overrides: &Overrides) -> (Overrides, Vec<Diagnostic>) {
        let mut rest = Overrides::default();
        let mut diagnostics = Vec::new();
        for (id, o) in &overrides.rules {
            let Some(i) = self.scripts.iter().position(|s| &s.meta.id == id) else {
                rest.rules.insert(id.clone(), o.clone());
                continue;
            };
            if !o.params.is_empty() {
                let names: Vec<&str> = o.params.keys().map(String::as_str).collect();
                diagnostics.push(
                    Diagnostic::error(
                        Code::H306,
                        &Arc::from("overrides"),
                        Position { line: 1, column: 1 },
                        format!(
                            "`{id}` is a script and takes no parameters (the overrides set {})",
                            names.join(", ")
                        ),
                    )
                    .with_help("change the script's constants (functions returning them) instead")
                    .in_rule(id),
                );
            }
            if let Some(severity) = o.severity {
                self.scripts[i].meta.severity = severity;
            }
            if o.enabled == Some(false) {
                self.scripts.remove(i);
            }
        }
        (rest, diagnostics)
    }

    /// Diagnostics (H220) for script ids that YAML rules already use.
    pub fn clashes_with(&self, rules: &[Rule]) -> Vec<Diagnostic> {
        self.scripts
            .iter()
            .filter_map(|s| {
                let r = rules.iter().find(|r| r.id == s.meta.id)?;
                Some(
                    Diagnostic::error(
                        Code::H220,
                        &s.file,
                        s.position,
                        format!("duplicate rule id `{}`", s.meta.id),
                    )
                    .with_help(format!(
                        "first defined at {}:{}:{}",
                        r.origin.file, r.origin.position.line, r.origin.position.column
                    ))
                    .in_rule(&s.meta.id),
                )
            })
            .collect()
    }

    /// Calls a script function under the limits; returns its result and the operations used.
    fn call(&self, ast: &AST, name: &str, args: impl FuncArgs) -> (Result<Dynamic, Box<EvalAltResult>>, u64) {
        DEADLINE.set(Some(thread_cpu_time() + self.limits.deadline));
        OPERATIONS.set(0);
        let mut scope = RhaiScope::new();
        // Top-level statements never run: a script is its functions.
        let options = CallFnOptions::new().eval_ast(false);
        let out = self.engine.call_fn_with_options::<Dynamic>(options, &mut scope, ast, name, args);
        DEADLINE.set(None);
        (out, OPERATIONS.get())
    }

    /// Evaluates every script over a conference's view, given the findings of the rules run
    /// before (YAML). Deterministic, apart from which scripts hit their deadline.
    pub fn run(&self, view: &View, earlier: &[Finding]) -> Run {
        let mut run = Run::default();
        if view.ticks.is_empty() {
            return run;
        }
        let earlier = api::earlier_findings(view, earlier);
        api::lend(view, &earlier, || {
            for script in &self.scripts {
                let (result, rule) = self.run_one(script, view);
                match result {
                    Ok(found) => run.findings.extend(found),
                    Err(e) => tracing::warn!(rule = %script.meta.id, "rule script failed: {e}"),
                }
                run.rules.push(rule);
            }
        });
        run.findings.sort_by(|a, b| {
            a.raised_ms
                .total_cmp(&b.raised_ms)
                .then_with(|| a.rule.cmp(&b.rule))
                .then_with(|| a.id.cmp(&b.id))
        });
        run
    }

    fn run_one(&self, script: &Script, view: &View) -> (Result<Vec<Finding>, ScriptError>, RuleRun) {
        let started = Instant::now();
        let id = &script.meta.id;
        let call = Dynamic::from(Entity(EntityRef::Conference));
        // Our API returns errors rather than panicking; this is the belt to those braces.
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let (out, ops) = self.call(&script.ast, "evaluate", (call,));
            let found = match out {
                Ok(value) => self.findings(script, view, value),
                Err(e) => Err(ScriptError::from_eval(id, &self.limits, &e)),
            };
            (found, ops)
        }));
        let (result, operations) = match caught {
            Ok(x) => x,
            Err(panic) => {
                let message = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                (Err(ScriptError::Internal { rule: id.clone(), message }), OPERATIONS.get())
            }
        };
        let report = RuleRun {
            rule: id.clone(),
            operations,
            elapsed: started.elapsed(),
            findings: result.as_ref().map_or(0, Vec::len),
            error: result.as_ref().err().cloned(),
        };
        (result, report)
    }

    fn findings(&self, script: &Script, view: &View, value: Dynamic) -> Result<Vec<Finding>, ScriptError> {
        let rule = &script.meta.id;
        let type_name = value.type_name();
        let Some(items) = value.try_cast::<rhai::Array>() else {
            return Err(ScriptError::BadFinding {
                rule: rule.clone(),
                index: 0,
                message: format!("`evaluate` must return an array of findings, it returned {type_name}"),
            });
        };
        if items.len() > self.limits.max_findings {
            return Err(ScriptError::TooManyFindings {
                rule: rule.clone(),
                count: items.len(),
                limit: self.limits.max_findings,
            });
        }
        items
            .into_iter()
            .enumerate()
            .map(|(index, item)| {
                output::finding(&script.meta, view, item).map_err(|message| ScriptError::BadFinding {
                    rule: rule.clone(),
                    index,
                    message,
                })
            })
            .collect()
    }
}

impl RuleKind for ScriptSet {
    fn kind(&self) -> &str {
        "rhai"
    }
    fn rule_ids(&self) -> Vec<String> {
        self.scripts.iter().map(|s| s.meta.id.clone()).collect()
    }
    fn evaluate(&self, _conference: &Conference, view: &View) -> Vec<Finding> {
        self.run(view, &[]).findings
    }
    fn evaluate_after(&self, _conference: &Conference, view: &View, earlier: &[Finding]) -> Vec<Finding> {
        self.run(view, earlier).findings
    }
}

fn compile_error(file: &str, e: &ParseError) -> ScriptError {
    let (line, col) = (e.1.line().unwrap_or(1), e.1.position().unwrap_or(1));
    let message = without_position(e);
    for symbol in ["eval", "import", "export"] {
        // A disabled keyword reads as reserved, or as disabled, depending on where it stands.
        if message.contains(&format!("'{symbol}' is disabled"))
            || message.contains(&format!("'{symbol}' is a reserved"))
        {
            return ScriptError::Forbidden { file: file.into(), line, col, symbol: symbol.into() };
        }
    }
    ScriptError::Compile { file: file.into(), line, col, message }
}

/// Where `needle` first appears in `text`.
fn find(text: &str, needle: &str) -> Option<Position> {
    text.lines().enumerate().find_map(|(i, l)| {
        l.find(needle).map(|c| Position { line: i + 1, column: l[..c].chars().count() + 1 })
    })
}

fn read_meta(value: Dynamic) -> Result<Meta, String> {
    let type_name = value.type_name();
    let Some(map) = value.try_cast::<Map>() else {
        return Err(format!(
            "`describe()` must return a map like #{{ id: \"...\", ... }}, it returned {type_name}"
        ));
    };
    if let Some(k) = map.keys().find(|k| !META_FIELDS.contains(&k.as_str())) {
        let hint = (k.len() <= 64)
            .then(|| did_you_mean(k, META_FIELDS.iter().copied()))
            .flatten()
            .map(|s| format!("; did you mean `{s}`?"))
            .unwrap_or_default();
        return Err(format!("unknown field `{k}` in `describe()`{hint}"));
    }
    let text = |key: &str| -> Result<String, String> {
        match map.get(key) {
            None => Err(format!("`describe()` has no `{key}`")),
            Some(d) => d.clone().into_string().map_err(|t| format!("`{key}` must be text, found {t}")),
        }
    };
    let id = text("id")?;
    if id.is_empty()
        || !id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
    {
        return Err(format!("rule id `{id}`: use lower-case letters, digits, `-` and `_`"));
    }
    let version = match map.get("version") {
        None => return Err("`describe()` has no `version`".into()),
        Some(d) => d.as_int().ok().and_then(|v| u32::try_from(v).ok()).filter(|v| *v >= 1),
    }
    .ok_or("`version` must be a whole number ≥ 1")?;
    let scope_text = text("scope")?;
    let scope = Scope::parse(&scope_text).ok_or_else(|| {
        format!(
            "unknown scope `{scope_text}` (one of: {})",
            Scope::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
        )
    })?;
    let severity_text = text("severity")?;
    let severity = parse_severity(&severity_text).ok_or_else(|| {
        format!("unknown severity `{}` (one of: info, warning, error, critical)", clip_name(&severity_text))
    })?;
    let category_text = text("category")?;
    let category = Category::ALL.into_iter().find(|c| c.as_str() == category_text).ok_or_else(|| {
        let hint = (category_text.len() <= 64)
            .then(|| did_you_mean(&category_text, Category::ALL.iter().map(|c| c.as_str())))
            .flatten()
            .map(|s| format!("; did you mean `{s}`?"))
            .unwrap_or_default();
        format!("unknown category `{}`{hint}", clip_name(&category_text))
    })?;
    let actions = match map.get("actions") {
        None => Vec::new(),
        Some(d) => d
            .clone()
            .into_typed_array::<rhai::ImmutableString>()
            .map_err(|_| "`actions` must be an array of names".to_string())?
            .iter()
            .map(|s| s.to_string())
            .collect(),
    };
    let source = map.contains_key("source").then(|| text("source")).transpose()?;
    Ok(Meta { id, version, description: text("description")?, scope, severity, category, actions, source })
}

/// Script files under a directory (`*.rhai`, recursively, in name order), skipping `tests/`
/// folders and hidden ones, as the YAML loader does.
pub fn script_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d)? {
            let p = entry?.path();
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            if p.is_dir() {
                if name != "tests" && !name.starts_with('.') {
                    stack.push(p);
                }
            } else if name.ends_with(".rhai") {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Loads the scripts among `paths` (directories are searched; other files count only when
/// they end in `.rhai`). A script that does not load is reported and left out.
pub fn load(paths: &[PathBuf], limits: &Limits) -> std::io::Result<(ScriptSet, Vec<ScriptError>)> {
    let mut set = ScriptSet::new(limits.clone());
    let mut errors = Vec::new();
    for path in paths {
        let files = if path.is_dir() {
            script_files(path)?
        } else if path.extension().is_some_and(|e| e == "rhai") {
            vec![path.clone()]
        } else {
            Vec::new()
        };
        for f in files {
            let name = f.display().to_string();
            let size = std::fs::metadata(&f)?.len();
            if size > limits.max_script_bytes as u64 {
                errors.push(ScriptError::Read {
                    file: name,
                    message: format!(
                        "the script is {size} bytes, over the {}-byte limit",
                        limits.max_script_bytes
                    ),
                });
                continue;
            }
            let text = std::fs::read_to_string(&f)
                .map_err(|e| std::io::Error::new(e.kind(), format!("{name}: {e}")))?;
            if let Err(e) = set.add(&name, &text) {
                errors.push(e);
            }
        }
    }
    Ok((set, errors))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The deadline's clock counts the thread's own work, not time it spends off the CPU.
    #[test]
    fn the_deadline_clock_counts_work_not_waiting() {
        let before = thread_cpu_time();
        std::thread::sleep(Duration::from_millis(100));
        let slept = thread_cpu_time().saturating_sub(before);
        assert!(slept < Duration::from_millis(20), "{slept:?} counted while sleeping");
        let before = thread_cpu_time();
        let started = Instant::now();
        let mut x = 0u64;
        while started.elapsed() < Duration::from_millis(60) {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
        }
        let worked = thread_cpu_time().saturating_sub(before);
        assert!(worked > Duration::from_millis(5), "{worked:?} counted for 60 ms of spinning");
    }
}
