//! Loaded plugins in the shared rule test harness ([`RuleKind`]), so plugin fixtures use the
//! same format and runner as YAML rules.

use std::sync::Mutex;

use hopscope_model::Conference;
use hopscope_rules::finding::Finding;
use hopscope_rules::harness::RuleKind;
use hopscope_rules::view::View;

use crate::error::PluginError;
use crate::host::Plugin;
use crate::input::SharedInput;

/// Plugins as one rule kind (`wasm`). A plugin that fails contributes no findings; its
/// error is kept for the caller ([`PluginRules::errors`]) and logged.
#[derive(Debug)]
pub struct PluginRules<'a> {
    plugins: &'a [Plugin],
    errors: Mutex<Vec<(String, PluginError)>>,
}

impl<'a> PluginRules<'a> {
    /// These plugins.
    pub fn new(plugins: &'a [Plugin]) -> Self {
        PluginRules { plugins, errors: Mutex::new(Vec::new()) }
    }

    /// Failures so far: plugin name and error.
    pub fn errors(&self) -> Vec<(String, PluginError)> {
        self.errors.lock().map(|e| e.clone()).unwrap_or_default()
    }

    /// Findings of every plugin for a view; failures are collected, not fatal.
    pub fn evaluate_view(&self, view: &View, earlier: &[Finding]) -> Vec<Finding> {
        let mut out = Vec::new();
        let mut shared = SharedInput::new(view, earlier);
        for p in self.plugins {
            match p.evaluate_shared(&mut shared) {
                Ok(e) => out.extend(e.findings),
                Err(e) => {
                    if let Ok(mut errors) = self.errors.lock() {
                        errors.push((p.manifest().name.clone(), e));
                    }
                }
            }
        }
        out.sort_by(|a, b| a.raised_ms.total_cmp(&b.raised_ms).then_with(|| a.id.cmp(&b.id)));
        out
    }
}

impl RuleKind for PluginRules<'_> {
    fn kind(&self) -> &str {
        "wasm"
    }

    fn rule_ids(&self) -> Vec<String> {
        self.plugins.iter().flat_map(|p| p.manifest().rules.iter().map(|r| r.id.clone())).collect()
    }

    fn evaluate(&self, _conference: &Conference, view: &View) -> Vec<Finding> {
        self.evaluate_view(view, &[])
    }

    /// Plugins read what the kinds before them found (`earlier-findings`).
    fn evaluate_after(&self, _conference: &Conference, view: &View, earlier: &[Finding]) -> Vec<Finding> {
        self.evaluate_view(view, earlier)
    }
}
