//! `hopscope plugin check`, and the `--plugin` option of `rules test` and `diagnose`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use hopscope_model::Conference;
use hopscope_plugin::{Limits, Plugin, PluginHost};
use hopscope_rules::finding::Finding;
use hopscope_rules::view::View;
use serde::Serialize;

use crate::cli::{OutputFormat, PluginCommand};

pub fn run(command: &PluginCommand) -> anyhow::Result<ExitCode> {
    match command {
        PluginCommand::Check { file, format } => check(file, *format),
    }
}

/// Loads `--plugin` files into one host; the first that does not load is an error.
pub fn load(paths: &[PathBuf]) -> anyhow::Result<Vec<Plugin>> {
    if paths.is_empty() {
        return Ok(Vec::new());
    }
    let host = PluginHost::new(Limits::default())?;
    paths
        .iter()
        .map(|p| host.load_file(p).map_err(|e| anyhow::anyhow!("plugin {}: {e}", p.display())))
        .collect()
}

#[derive(Serialize)]
struct CheckOutput<'a> {
    file: String,
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    manifest: Option<&'a hopscope_plugin::Manifest>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<&'static str>,
}

fn check(file: &Path, format: OutputFormat) -> anyhow::Result<ExitCode> {
    let host = PluginHost::new(Limits::default())?;
    let loaded = host.load_file(file);
    match format {
        OutputFormat::Json => {
            let out = CheckOutput {
                file: file.display().to_string(),
                ok: loaded.is_ok(),
                manifest: loaded.as_ref().ok().map(Plugin::manifest),
                error: loaded.as_ref().err().map(ToString::to_string),
                code: loaded.as_ref().err().map(|e| e.code()),
            };
            outln!("{}", serde_json::to_string_pretty(&out)?);
        }
        OutputFormat::Text => match &loaded {
            Ok(p) => {
                let m = p.manifest();
                outln!("ok: {} {} ({}, {})", m.name, m.version, file.display(), m.wit);
                outln!("rules:");
                for r in &m.rules {
                    outln!("  {} v{}: {}", r.id, r.version, r.description);
                }
                match (m.metrics.is_empty(), m.on_request.is_empty()) {
                    (true, true) => outln!("reads: nothing"),
                    (false, _) => outln!("reads: {}", m.metrics.join(", ")),
                    (true, false) => {}
                }
                if !m.on_request.is_empty() {
                    outln!("reads on request: {}", m.on_request.join(", "));
                }
                outln!("capabilities: none");
                outln!(
                    "budget per evaluation: {} fuel, {} MiB memory, {} ms",
                    m.budget.fuel,
                    m.budget.memory_bytes as f64 / (1024.0 * 1024.0),
                    m.budget.wall_ms
                );
            }
            Err(e) => outln!("error [{}]: {}: {e}", e.code(), file.display()),
        },
    }
    Ok(if loaded.is_ok() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// Plugin findings for a conference already diagnosed: they join the diagnosis's findings
/// (which plugins see as earlier findings); failures come back as messages.
pub fn add_findings(plugins: &[Plugin], conference: &Conference, findings: &mut Vec<Finding>) -> Vec<String> {
    if plugins.is_empty() {
        return Vec::new();
    }
    let view = View::build(conference, &hopscope_score::QualityConfig::default());
    let mut errors = Vec::new();
    let mut extra = Vec::new();
    for p in plugins {
        match p.evaluate(&view, findings) {
            Ok(e) => extra.extend(e.findings),
            Err(e) => errors.push(format!("plugin {}: {e}", p.manifest().name)),
        }
    }
    findings.extend(extra);
    // The diagnosis's order: most severe first, then by time.
    findings.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.raised_ms.total_cmp(&b.raised_ms)));
    errors
}
