//! Each app's rules: the built-in pack, the config's `rules_dir` and `overrides`, and the
//! rule files uploaded over the API (YAML rules, Rhai scripts, WASM plugins). A change takes effect only if the whole set still
//! loads; otherwise the last good set stays in force and the upload is refused with the
//! same diagnostics `hopscope rules check` prints.

use std::collections::HashMap;
use std::sync::Arc;

use hopscope_plugin::{Plugin, PluginHost};
use hopscope_rules::diagnostic::Level;
use hopscope_rules::pack::{self, LoadMode, Overrides, RuleSet};
use hopscope_rules::rule::Rule;
use hopscope_script::{Limits as ScriptLimits, ScriptSet};
use hopscope_store::RuleFile;

use crate::{AppConfig, ServerError};

/// What an app's rules are built from besides its uploads.
#[derive(Clone, Debug, Default)]
pub struct AppRuleBase {
    /// Files of the config's `rules_dir`, (name, text).
    pub files: Vec<(String, String)>,
    /// The config's overrides.
    pub overrides: Overrides,
}

/// Reads an app's `rules_dir` and `overrides`.
pub fn base_from_config(app: &AppConfig) -> Result<AppRuleBase, ServerError> {
    let rules_error = |diagnostics: String| ServerError::Rules { app: app.name.clone(), diagnostics };
    let overrides = match &app.overrides {
        Some(path) => pack::read_overrides(path).map_err(|d| rules_error(d.to_string()))?,
        None => Overrides::default(),
    };
    let mut files = Vec::new();
    if let Some(dir) = &app.rules_dir {
        for f in pack::rule_files(dir).map_err(|e| rules_error(format!("{}: {e}", dir.display())))? {
            let text =
                std::fs::read_to_string(&f).map_err(|e| rules_error(format!("{}: {e}", f.display())))?;
            files.push((f.display().to_string(), text));
        }
    }
    Ok(AppRuleBase { files, overrides })
}

/// The name an uploaded file goes by in diagnostics.
pub fn upload_label(name: &str) -> String {
    format!("uploaded:{name}")
}

/// What an uploaded rule file holds, by its name's extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// Declarative rules (`.yaml`, `.yml`).
    Yaml,
    /// A Rhai script rule (`.rhai`).
    Rhai,
    /// A WASM plugin component (`.wasm`).
    Wasm,
}

impl FileKind {
    /// The kind a file name says, if any.
    pub fn of(name: &str) -> Option<FileKind> {
        let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase())?;
        match ext.as_str() {
            "yaml" | "yml" => Some(FileKind::Yaml),
            "rhai" => Some(FileKind::Rhai),
            "wasm" => Some(FileKind::Wasm),
            _ => None,
        }
    }
}

/// An app's rules in force: the YAML rules, then its Rhai scripts, then its WASM plugins
/// (each later kind sees the findings of those before).
#[derive(Debug)]
pub struct AppRules {
    /// Built-in, configured and uploaded YAML rules.
    pub yaml: Vec<Rule>,
    /// Uploaded Rhai scripts.
    pub scripts: ScriptSet,
    /// Uploaded plugins.
    pub plugins: Vec<Plugin>,
}

impl AppRules {
    /// Only YAML rules.
    pub fn yaml_only(yaml: Vec<Rule>, script_limits: ScriptLimits) -> AppRules {
        AppRules { yaml, scripts: ScriptSet::new(script_limits), plugins: Vec::new() }
    }

    /// The ids a file contributes, by its label.
    pub fn ids_from(&self, label: &str) -> Vec<String> {
        self.listing().into_iter().filter(|(_, _, _, file)| file == label).map(|(id, ..)| id).collect()
    }

    /// Every rule in force: (id, version, kind, file).
    pub fn listing(&self) -> Vec<(String, u32, &'static str, String)> {
        let yaml = self.yaml.iter().map(|r| (r.id.clone(), r.version, "yaml", r.origin.file.to_string()));
        let scripts = self
            .scripts
            .scripts()
            .iter()
            .map(|s| (s.meta.id.clone(), s.meta.version, "rhai", s.file.to_string()));
        let plugins = self.plugins.iter().flat_map(|p| {
            p.manifest().rules.iter().map(|r| (r.id.clone(), r.version, "wasm", p.label().to_string()))
        });
        yaml.chain(scripts).chain(plugins).collect()
    }
}

/// What loading an app's files gave: the rules, or why not.
#[derive(Debug)]
pub struct Built {
    /// The YAML part (with its diagnostics, errors and warnings).
    pub yaml: RuleSet,
    /// Scripts and plugins that do not load, one line each.
    pub other_errors: Vec<String>,
    /// The rules, when everything loads.
    pub rules: Option<AppRules>,
}

impl Built {
    /// Whether anything fails to load.
    pub fn has_errors(&self) -> bool {
        self.rules.is_none()
    }

    /// Every error, one line each (what `hopscope rules check` prints).
    pub fn errors(&self) -> Vec<String> {
        errors(&self.yaml).into_iter().chain(self.other_errors.iter().cloned()).collect()
    }

    /// Diagnostics worth showing even when everything loads (YAML warnings).
    pub fn messages(&self) -> Vec<String> {
        self.yaml.diagnostics.iter().map(|d| d.to_string()).chain(self.other_errors.iter().cloned()).collect()
    }
}

/// How scripts and plugins are loaded.
#[derive(Debug)]
pub struct Loaders {
    /// Limits every script runs under.
    pub script_limits: ScriptLimits,
    /// The sandbox host plugins are loaded into.
    pub plugins: PluginHost,
}

/// Loads the built-in pack, the base and the enabled uploads, with `candidate` (name,
/// content) in place of the upload of that name.
pub fn build(
    loaders: &Loaders,
    base: &AppRuleBase,
    uploads: &[RuleFile],
    candidate: Option<(&str, &[u8])>,
) -> Built {
    let mut texts: Vec<(String, String)> =
        pack::BUILTIN.iter().map(|(n, t)| (n.to_string(), t.to_string())).collect();
    texts.extend(base.files.iter().cloned());
    let mut scripts = ScriptSet::new(loaders.script_limits.clone());
    let mut plugins = Vec::new();
    let mut other_errors = Vec::new();
    let files = uploads
        .iter()
        .filter(|f| f.enabled && candidate.is_none_or(|(name, _)| name != f.name))
        .map(|f| (f.name.as_str(), f.content.as_slice()))
        .chain(candidate);
    for (name, content) in files {
        let label = upload_label(name);
        let as_text = || {
            std::str::from_utf8(content)
                .map_err(|e| format!("{label}: not UTF-8 text (byte {})", e.valid_up_to()))
        };
        match FileKind::of(name) {
            Some(FileKind::Yaml) => match as_text() {
                Ok(text) => texts.push((label, text.to_string())),
                Err(e) => other_errors.push(e),
            },
            Some(FileKind::Rhai) => match as_text() {
                Ok(text) => {
                    if let Err(e) = scripts.add(&label, text) {
                        other_errors.push(e.to_string());
                    }
                }
                Err(e) => other_errors.push(e),
            },
            Some(FileKind::Wasm) => match loaders.plugins.load(content, &label) {
                Ok(p) => plugins.push(p),
                Err(e) => other_errors.push(format!("{label}: {e}")),
            },
            None => other_errors.push(format!("{label}: not a rule file (name it .yaml, .rhai or .wasm)")),
        }
    }
    let yaml = pack::load_sources(
        texts.iter().map(|(n, t)| (n.as_str(), t.as_str())),
        &base.overrides,
        LoadMode::Strict,
    );
    let mut rules = (!yaml.has_errors() && other_errors.is_empty()).then(|| AppRules {
        yaml: yaml.rules.clone(),
        scripts,
        plugins,
    });
    // Ids name findings, callbacks and kill switches: unique across the three kinds too
    // (the YAML loader already keeps YAML ids unique, and lists them first).
    if let Some(set) = &rules {
        let mut seen: HashMap<String, String> = HashMap::new();
        for (id, _, _, file) in set.listing() {
            match seen.get(&id) {
                Some(first) => {
                    other_errors.push(format!("{file}: rule id `{id}` is already defined in {first}"))
                }
                None => {
                    seen.insert(id, file);
                }
            }
        }
        if !other_errors.is_empty() {
            rules = None;
        }
    }
    Built { yaml, other_errors, rules }
}

/// Errors of a set, one line each (what `hopscope rules check` prints).
pub fn errors(set: &RuleSet) -> Vec<String> {
    set.diagnostics.iter().filter(|d| d.level == Level::Error).map(|d| d.to_string()).collect()
}

/// The rules in force, per app.
#[derive(Debug, Default)]
pub struct Active {
    by_app: std::sync::RwLock<HashMap<String, Arc<AppRules>>>,
}

impl Active {
    /// The rules of an app, if it has its own.
    pub fn get(&self, app: &str) -> Option<Arc<AppRules>> {
        self.by_app.read().ok().and_then(|m| m.get(app).cloned())
    }

    /// Puts a set in force.
    pub fn set(&self, app: &str, rules: AppRules) {
        if let Ok(mut m) = self.by_app.write() {
            m.insert(app.to_string(), Arc::new(rules));
        }
    }
}
