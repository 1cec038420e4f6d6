//! Rule packs: directories of rule files, the built-in pack, and user overrides.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;

use crate::diagnostic::{Code, Diagnostic, Level, Position};
use crate::rule::{Override, Rule, Severity, read_file};
use crate::yaml;

/// The built-in pack, compiled in so it is always there.
pub const BUILTIN: &[(&str, &str)] = &[
    ("rules/builtin/network.yaml", include_str!("../../../rules/builtin/network.yaml")),
    ("rules/builtin/media.yaml", include_str!("../../../rules/builtin/media.yaml")),
    ("rules/builtin/connectivity.yaml", include_str!("../../../rules/builtin/connectivity.yaml")),
    ("rules/builtin/endpoint.yaml", include_str!("../../../rules/builtin/endpoint.yaml")),
    ("rules/builtin/call.yaml", include_str!("../../../rules/builtin/call.yaml")),
];

/// Whether one bad rule stops the whole load.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoadMode {
    /// Any error rejects the set (what CI and uploads want).
    Strict,
    /// Keep every rule that checks; report the rest.
    Partial,
}

/// Loaded rules and everything said about them.
#[derive(Clone, Debug, Default)]
pub struct RuleSet {
    /// Rules that checked cleanly (none in strict mode when there are errors).
    pub rules: Vec<Rule>,
    /// Errors and warnings, in file order.
    pub diagnostics: Vec<Diagnostic>,
}

impl RuleSet {
    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(|d| d.level == Level::Error)
    }
}

/// User overrides: `overrides: {rule-id: {enabled, params, severity}}`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Overrides {
    /// By rule id.
    pub rules: BTreeMap<String, Override>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OverridesFile {
    #[serde(default)]
    overrides: BTreeMap<String, OverrideEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OverrideEntry {
    enabled: Option<bool>,
    #[serde(default)]
    params: BTreeMap<String, serde_yaml::Value>,
    severity: Option<String>,
}

impl Overrides {
    /// Parses an overrides file.
    pub fn parse(file: &str, text: &str) -> Result<Overrides, Diagnostic> {
        let name: Arc<str> = Arc::from(file);
        let parsed: OverridesFile = serde_yaml::from_str(text).map_err(|e| {
            let pos = e.location().map_or(Position { line: 1, column: 1 }, |l| Position { line: l.line(), column: l.column() });
            Diagnostic::error(Code::H202, &name, pos, format!("the overrides file does not read: {e}"))
                .with_help("expected `overrides: {rule-id: {enabled: false, params: {name: value}, severity: error}}`")
        })?;
        let mut rules = BTreeMap::new();
        for (id, entry) in parsed.overrides {
            let severity = match entry.severity.as_deref() {
                None => None,
                Some("info") => Some(Severity::Info),
                Some("warning") => Some(Severity::Warning),
                Some("error") => Some(Severity::Error),
                Some("critical") => Some(Severity::Critical),
                Some(other) => {
                    return Err(Diagnostic::error(
                        Code::H308,
                        &name,
                        Position { line: 1, column: 1 },
                        format!("unknown severity `{other}` for `{id}`"),
                    )
                    .with_help("one of: info, warning, error, critical"));
                }
            };
            let params = entry
                .params
                .into_iter()
                .map(|(k, v)| {
                    let text = match v {
                        serde_yaml::Value::String(s) => s,
                        serde_yaml::Value::Number(n) => n.to_string(),
                        serde_yaml::Value::Bool(b) => b.to_string(),
                        other => serde_yaml::to_string(&other).unwrap_or_default().trim().to_string(),
                    };
                    (k, text)
                })
                .collect();
            rules.insert(id, Override { enabled: entry.enabled, params, severity });
        }
        Ok(Overrides { rules })
    }
}

/// Loads rule files given as (name, text).
pub fn load_sources<'a>(
    sources: impl IntoIterator<Item = (&'a str, &'a str)>,
    overrides: &Overrides,
    mode: LoadMode,
) -> RuleSet {
    let mut set = RuleSet::default();
    let mut seen: BTreeMap<String, (Arc<str>, Position)> = BTreeMap::new();
    let mut known_ids = Vec::new();
    for (name, text) in sources {
        let file: Arc<str> = Arc::from(name);
        let root = match yaml::parse(&file, text) {
            Ok(r) => r,
            Err(d) => {
                set.diagnostics.push(d);
                continue;
            }
        };
        let (rules, mut diags) = read_file(&file, &root, &overrides.rules);
        diags.sort_by_key(|d| (d.position.line, d.position.column));
        set.diagnostics.extend(diags);
        known_ids.extend(rule_ids(&root));
        for rule in rules {
            if let Some((f, p)) = seen.get(&rule.id) {
                set.diagnostics.push(
                    Diagnostic::error(
                        Code::H220,
                        &rule.origin.file,
                        rule.origin.position,
                        format!("duplicate rule id `{}`", rule.id),
                    )
                    .with_help(format!("first defined at {f}:{}:{}", p.line, p.column))
                    .in_rule(&rule.id),
                );
                continue;
            }
            seen.insert(rule.id.clone(), (rule.origin.file.clone(), rule.origin.position));
            set.rules.push(rule);
        }
    }
    for id in overrides.rules.keys() {
        if !known_ids.iter().any(|k| k == id) {
            let file: Arc<str> = Arc::from("overrides");
            set.diagnostics.push(Diagnostic::error(
                Code::H309,
                &file,
                Position { line: 1, column: 1 },
                format!("the overrides name `{id}`, which no rule file defines"),
            ));
        }
    }
    if mode == LoadMode::Strict && set.has_errors() {
        set.rules.clear();
    }
    set
}

/// Every rule id a file mentions, even of rules that did not check (for override checks).
fn rule_ids(root: &yaml::Node) -> Vec<String> {
    let yaml::NodeKind::Map(top) = &root.kind else { return Vec::new() };
    top.iter()
        .filter(|(k, _)| k.as_str() == Some("rules"))
        .flat_map(|(_, v)| match &v.kind {
            yaml::NodeKind::Seq(items) => items.clone(),
            _ => Vec::new(),
        })
        .filter_map(|item| match &item.kind {
            yaml::NodeKind::Map(fields) => fields
                .iter()
                .find(|(k, _)| k.as_str() == Some("id"))
                .and_then(|(_, v)| v.as_str().map(String::from)),
            _ => None,
        })
        .collect()
}

/// The built-in pack.
pub fn builtin(overrides: &Overrides) -> RuleSet {
    load_sources(BUILTIN.iter().copied(), overrides, LoadMode::Strict)
}

/// The built-in pack without overrides, loaded once.
pub fn builtin_default() -> &'static RuleSet {
    static PACK: std::sync::OnceLock<RuleSet> = std::sync::OnceLock::new();
    PACK.get_or_init(|| builtin(&Overrides::default()))
}

/// Rule files under a directory (`*.yaml`, `*.yml`, recursively, in name order), skipping
/// `tests/` folders (fixtures) and `overrides.yaml`.
pub fn rule_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let mut entries: Vec<PathBuf> =
            std::fs::read_dir(&d)?.filter_map(|e| e.ok().map(|e| e.path())).collect();
        entries.sort();
        for p in entries {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            if p.is_dir() {
                if name != "tests" && !name.starts_with('.') {
                    stack.push(p);
                }
            } else if (name.ends_with(".yaml") || name.ends_with(".yml")) && name != "overrides.yaml" {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Loads every rule file under `dir`.
pub fn load_dir(dir: &Path, overrides: &Overrides, mode: LoadMode) -> std::io::Result<RuleSet> {
    load(&[dir.to_path_buf()], false, overrides, mode)
}

/// Largest rule file read from disk; the YAML reader refuses more anyway, this keeps a
/// mistaken path (a video, a dump) from being read whole.
const MAX_RULE_FILE: u64 = 1 << 20;

/// Loads rules from files and directories (see [`rule_files`]), after the built-in pack
/// when `with_builtin`. Ids must be unique across all of them; overrides apply to all.
pub fn load(
    paths: &[PathBuf],
    with_builtin: bool,
    overrides: &Overrides,
    mode: LoadMode,
) -> std::io::Result<RuleSet> {
    let mut texts: Vec<(String, String)> = Vec::new();
    if with_builtin {
        texts.extend(BUILTIN.iter().map(|(n, t)| (n.to_string(), t.to_string())));
    }
    let mut too_large = Vec::new();
    for path in paths {
        let files = if path.is_dir() {
            rule_files(path)?
        } else if path.extension().is_some_and(|e| e == "rhai") {
            Vec::new() // a script: hopscope-script loads it
        } else {
            vec![path.clone()]
        };
        for f in files {
            let size = std::fs::metadata(&f).map_err(|e| with_path(&f, e))?.len();
            if size > MAX_RULE_FILE {
                too_large.push((f.display().to_string(), size));
                continue;
            }
            let text = std::fs::read_to_string(&f).map_err(|e| with_path(&f, e))?;
            texts.push((f.display().to_string(), text));
        }
    }
    let mut set = load_sources(texts.iter().map(|(n, t)| (n.as_str(), t.as_str())), overrides, mode);
    for (name, size) in too_large {
        let file: Arc<str> = Arc::from(name.as_str());
        set.diagnostics.push(
            Diagnostic::error(
                Code::H206,
                &file,
                Position { line: 1, column: 1 },
                format!("the file is {size} bytes, over the {MAX_RULE_FILE}-byte limit for a rule file"),
            )
            .with_help("split the rules over several files"),
        );
        if mode == LoadMode::Strict {
            set.rules.clear();
        }
    }
    Ok(set)
}

fn with_path(path: &Path, e: std::io::Error) -> std::io::Error {
    std::io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

/// Reads an overrides file.
pub fn read_overrides(path: &Path) -> Result<Overrides, Diagnostic> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        Diagnostic::error(
            Code::H201,
            &Arc::from(name.as_str()),
            Position { line: 1, column: 1 },
            format!("cannot read the overrides file: {e}"),
        )
    })?;
    Overrides::parse(&name, &text)
}
