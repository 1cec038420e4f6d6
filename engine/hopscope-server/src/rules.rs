//! Each app's rules: the built-in pack, the config's `rules_dir` and `overrides`, and the
//! rule files uploaded over the API. A change takes effect only if the whole set still
//! loads; otherwise the last good set stays in force and the upload is refused with the
//! same diagnostics `hopscope rules check` prints.

use std::collections::HashMap;
use std::sync::Arc;

use hopscope_rules::diagnostic::Level;
use hopscope_rules::pack::{self, LoadMode, Overrides, RuleSet};
use hopscope_rules::rule::Rule;
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

/// Loads the built-in pack, the base and the enabled uploads, with `candidate` (name,
/// text) in place of the upload of that name.
pub fn build(base: &AppRuleBase, uploads: &[RuleFile], candidate: Option<(&str, &str)>) -> RuleSet {
    let mut texts: Vec<(String, String)> =
        pack::BUILTIN.iter().map(|(n, t)| (n.to_string(), t.to_string())).collect();
    texts.extend(base.files.iter().cloned());
    for f in uploads {
        if f.enabled && candidate.is_none_or(|(name, _)| name != f.name) {
            texts.push((upload_label(&f.name), f.text.clone()));
        }
    }
    if let Some((name, text)) = candidate {
        texts.push((upload_label(name), text.to_string()));
    }
    pack::load_sources(texts.iter().map(|(n, t)| (n.as_str(), t.as_str())), &base.overrides, LoadMode::Strict)
}

/// Errors of a set, one line each (what `hopscope rules check` prints).
pub fn errors(set: &RuleSet) -> Vec<String> {
    set.diagnostics.iter().filter(|d| d.level == Level::Error).map(|d| d.to_string()).collect()
}

/// The rules in force, per app.
#[derive(Debug, Default)]
pub struct Active {
    by_app: std::sync::RwLock<HashMap<String, Arc<Vec<Rule>>>>,
}

impl Active {
    /// The rules of an app, if it has its own.
    pub fn get(&self, app: &str) -> Option<Arc<Vec<Rule>>> {
        self.by_app.read().ok().and_then(|m| m.get(app).cloned())
    }

    /// Puts a set in force.
    pub fn set(&self, app: &str, rules: Vec<Rule>) {
        if let Ok(mut m) = self.by_app.write() {
            m.insert(app.to_string(), Arc::new(rules));
        }
    }
}
