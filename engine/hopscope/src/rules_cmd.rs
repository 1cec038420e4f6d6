//! `hopscope rules`: check, test, list, and the metric vocabulary.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use hopscope_model::Conference;
use hopscope_rules::catalogue::Scope;
use hopscope_rules::diagnostic::{Diagnostic, Level};
use hopscope_rules::harness::{self, CaseResult, Chain, RuleKind, YamlRules};
use hopscope_rules::pack::{self, LoadMode, Overrides, RuleSet};
use hopscope_script::ScriptSet;
use serde::Serialize;

use crate::cli::{OutputFormat, RuleSourceArgs, RulesCommand};

pub fn run(command: &RulesCommand) -> anyhow::Result<ExitCode> {
    match command {
        RulesCommand::Check { sources, deny_warnings, format } => check(sources, *deny_warnings, *format),
        RulesCommand::Test { dirs, overrides, bless, plugins, format } => {
            test(dirs, overrides.as_deref(), *bless, plugins, *format)
        }
        RulesCommand::List { sources, format } => list(sources, *format),
        RulesCommand::Metrics { scope, format } => metrics(scope.as_deref(), *format),
    }
}

/// The rules a command runs with: the built-in pack unless `--no-builtin`, then the
/// `--rules` paths (YAML rules and Rhai scripts), with `--overrides` applied. Diagnostics
/// go to stderr; `Err` when the rules cannot be used (strict load with errors, unreadable
/// paths).
pub fn load_rules(args: &RuleSourceArgs) -> anyhow::Result<(RuleSet, ScriptSet)> {
    let overrides = read_overrides(args.overrides.as_deref())?;
    let mode = if args.partial { LoadMode::Partial } else { LoadMode::Strict };
    let (set, scripts) = load_all(&args.rules, !args.no_builtin, &overrides, mode)?;
    for d in &set.diagnostics {
        eprintln!("{d}");
    }
    if set.has_errors() && mode == LoadMode::Strict {
        anyhow::bail!(
            "the rules do not load ({} errors above); fix them, or pass --partial to run the rules that check",
            set.diagnostics.iter().filter(|d| d.level == Level::Error).count()
        );
    }
    Ok((set, scripts))
}

/// The YAML rules and Rhai scripts among rule paths, overrides applied to both; the
/// scripts' problems join the YAML rules' diagnostics.
fn load_all(
    paths: &[PathBuf],
    with_builtin: bool,
    overrides: &Overrides,
    mode: LoadMode,
) -> anyhow::Result<(RuleSet, ScriptSet)> {
    let (mut scripts, errors) = hopscope_script::load(paths, &hopscope_script::Limits::default())?;
    let (yaml_overrides, override_problems) = scripts.apply_overrides(overrides);
    let mut set = pack::load(paths, with_builtin, &yaml_overrides, mode)?;
    set.diagnostics.extend(errors.iter().filter_map(|e| e.diagnostic()));
    set.diagnostics.extend(override_problems);
    set.diagnostics.extend(scripts.clashes_with(&set.rules));
    Ok((set, scripts))
}

fn read_overrides(path: Option<&Path>) -> anyhow::Result<Overrides> {
    match path {
        None => Ok(Overrides::default()),
        Some(p) => pack::read_overrides(p).map_err(|d| anyhow::anyhow!("{d}")),
    }
}

#[derive(Serialize)]
struct CheckOutput<'a> {
    ok: bool,
    rules: usize,
    errors: usize,
    warnings: usize,
    diagnostics: &'a [Diagnostic],
}

fn check(args: &RuleSourceArgs, deny_warnings: bool, format: OutputFormat) -> anyhow::Result<ExitCode> {
    let overrides = read_overrides(args.overrides.as_deref())?;
    let (mut set, scripts) = load_all(&args.rules, !args.no_builtin, &overrides, LoadMode::Partial)?;
    set.diagnostics.extend(fires_on_healthy_calls(&set.rules, &scripts));
    let errors = set.diagnostics.iter().filter(|d| d.level == Level::Error).count();
    let warnings = set.diagnostics.len() - errors;
    let ok = errors == 0 && (!deny_warnings || warnings == 0);
    match format {
        OutputFormat::Json => {
            let rules = set.rules.len() + scripts.scripts().len();
            let out = CheckOutput { ok, rules, errors, warnings, diagnostics: &set.diagnostics };
            outln!("{}", serde_json::to_string_pretty(&out)?);
        }
        OutputFormat::Text => {
            for d in &set.diagnostics {
                outln!("{d}");
            }
            let verdict = if ok { "ok" } else { "FAILED" };
            outln!(
                "{verdict}: {} rules check, {errors} error{}, {warnings} warning{}",
                set.rules.len() + scripts.scripts().len(),
                plural(errors),
                plural(warnings)
            );
        }
    }
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// Healthy calls no rule should have anything to say about: two people on good links, and
/// four on a media server with one of them muted (DTX) for a while.
const HEALTHY_CALLS: [(&str, &str); 2] = [
    ("a healthy peer-to-peer call", include_str!("../../../examples/scenarios/p2p-clean.yaml")),
    (
        "a healthy 4-person SFU call with a DTX mute",
        "name: healthy-sfu\nseed: 3\nstart: 2026-03-02T10:00:00Z\nduration: 60s\ntopology: sfu\n\
         participants:\n  - name: alice\n  - name: bob\n    audio: {dtx: true, muted: [[20s, 40s]]}\n\
         \x20 - name: carol\n    browser: firefox/140\n  - name: dave\n    browser: safari/26\n",
    ),
];

/// Warns (H801) about each rule (YAML or script) that raises a finding on a simulated healthy
/// call: a threshold that normal variation crosses, or a condition that matches everything.
fn fires_on_healthy_calls(rules: &[hopscope_rules::rule::Rule], scripts: &ScriptSet) -> Vec<Diagnostic> {
    let quality = hopscope_score::QualityConfig::default();
    let mut out: Vec<Diagnostic> = Vec::new();
    for (what, yaml) in HEALTHY_CALLS {
        let Ok(scenario) = hopscope_sim::Scenario::from_yaml(yaml) else { continue };
        let simulated = hopscope_sim::simulate(&scenario);
        let Ok(input) = hopscope_ingest::ingest(
            what,
            simulated.combined().as_bytes(),
            &hopscope_ingest::Limits::default(),
        ) else {
            continue;
        };
        for conference in hopscope_ingest::assemble(vec![input]) {
            let view = hopscope_rules::view::View::build(&conference, &quality);
            let mut findings = hopscope_rules::eval::evaluate(rules, &view);
            findings.extend(scripts.run(&view, &findings).findings);
            for finding in findings {
                if out.iter().any(|d| d.rule.as_deref() == Some(finding.rule.as_str())) {
                    continue;
                }
                let origin = rules
                    .iter()
                    .find(|r| r.id == finding.rule)
                    .map(|r| (&r.origin.file, r.origin.position))
                    .or_else(|| {
                        let s = scripts.scripts().iter().find(|s| s.meta.id == finding.rule)?;
                        Some((&s.file, s.position))
                    });
                let Some((file, position)) = origin else { continue };
                out.push(
                    Diagnostic::warning(
                        hopscope_rules::diagnostic::Code::H801,
                        file,
                        position,
                        format!("fires on {what} (simulated): \"{}\"", finding.message),
                    )
                    .with_help(
                        "tighten the threshold or `where:`, or require it to hold (`for:`, `samples:`)",
                    )
                    .in_rule(&finding.rule),
                );
            }
        }
    }
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Reads a case's inputs into the one conference they must describe. An input is a dump
/// in any format `diagnose` reads, or a simulation scenario (`*.yaml`), simulated on the
/// spot: fixtures for situations no capture shows stay small and readable.
pub fn load_conference(paths: &[PathBuf]) -> Result<Conference, String> {
    let mut inputs = Vec::new();
    for p in paths {
        let is_scenario = p.extension().is_some_and(|e| e == "yaml" || e == "yml");
        if is_scenario {
            let text = std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?;
            let scenario =
                hopscope_sim::Scenario::from_yaml(&text).map_err(|e| format!("{}: {e}", p.display()))?;
            let simulated = hopscope_sim::simulate(&scenario);
            let name = p.display().to_string();
            let limits = hopscope_ingest::Limits::default();
            inputs.push(
                hopscope_ingest::ingest(&name, simulated.combined().as_bytes(), &limits)
                    .map_err(|e| e.to_string())?,
            );
        } else {
            inputs.push(hopscope_ingest::ingest_file(p).map_err(|e| e.to_string())?);
        }
    }
    let mut conferences = hopscope_ingest::assemble(inputs);
    match conferences.len() {
        1 => Ok(conferences.remove(0)),
        0 => Err("the inputs hold no conference".into()),
        n => Err(format!(
            "the inputs form {n} separate conferences ({}); a case describes one call, so give \
             files that share a conference id, SSRCs or candidate addresses",
            conferences.iter().map(|c| c.id.as_str()).collect::<Vec<_>>().join(", ")
        )),
    }
}

fn test(
    dirs: &[PathBuf],
    overrides: Option<&Path>,
    bless: bool,
    plugin_files: &[PathBuf],
    format: OutputFormat,
) -> anyhow::Result<ExitCode> {
    let overrides = read_overrides(overrides)?;
    let plugins = crate::plugin_cmd::load(plugin_files)?;
    let wasm = hopscope_plugin::PluginRules::new(&plugins);
    let quality = hopscope_score::QualityConfig::default();
    let mut results: Vec<CaseResult> = Vec::new();
    let mut load_errors = Vec::new();
    for dir in dirs {
        let (set, scripts) = load_all(std::slice::from_ref(dir), false, &overrides, LoadMode::Strict)
            .with_context(|| format!("reading the rules in {}", dir.display()))?;
        if set.has_errors() {
            for d in &set.diagnostics {
                eprintln!("{d}");
            }
            load_errors.push(format!("{}: the rules do not load; run `hopscope rules check`", dir.display()));
            continue;
        }
        let yaml = YamlRules(&set.rules);
        // YAML rules first; scripts and plugins run after them and see their findings, as in
        // `diagnose`.
        let mut kinds: Vec<&dyn RuleKind> = Vec::new();
        if !set.rules.is_empty() || (scripts.is_empty() && plugins.is_empty()) {
            kinds.push(&yaml);
        }
        if !scripts.is_empty() {
            kinds.push(&scripts);
        }
        if !plugins.is_empty() {
            kinds.push(&wasm);
        }
        let kind: Box<dyn RuleKind> = Box::new(Chain::new(kinds));
        let fixtures = harness::fixture_files(dir);
        if fixtures.is_empty() {
            load_errors
                .push(format!("{}: no fixtures (expected tests/*.yaml beside the rules)", dir.display()));
        }
        for path in fixtures {
            let fixture = match harness::read_fixture(&path) {
                Ok(f) => f,
                Err(e) => {
                    load_errors.push(e);
                    continue;
                }
            };
            let outcome = harness::run_fixture(&path, &fixture, kind.as_ref(), &load_conference, &quality);
            if bless && outcome.iter().any(|r| !r.passed) {
                harness::bless(&path, &fixture, &outcome).map_err(|e| anyhow::anyhow!(e))?;
                eprintln!("blessed {}", path.display());
            }
            results.extend(outcome);
        }
    }
    for (plugin, e) in wasm.errors() {
        load_errors.push(format!("plugin {plugin}: {e}"));
    }
    let failed = results.iter().filter(|r| !r.passed).count();
    match format {
        OutputFormat::Json => {
            #[derive(Serialize)]
            struct TestOutput<'a> {
                passed: usize,
                failed: usize,
                errors: &'a [String],
                cases: &'a [CaseResult],
            }
            let out =
                TestOutput { passed: results.len() - failed, failed, errors: &load_errors, cases: &results };
            outln!("{}", serde_json::to_string_pretty(&out)?);
        }
        OutputFormat::Text => {
            for r in &results {
                let mark = if r.passed { "ok  " } else { "FAIL" };
                outln!("{mark} {} :: {} ({})", r.fixture, r.case, r.kind);
                if let Some(f) = &r.failure {
                    for line in f.lines() {
                        outln!("       {line}");
                    }
                }
            }
            for e in &load_errors {
                outln!("error: {e}");
            }
            outln!(
                "{}: {} passed, {failed} failed{}",
                if failed == 0 && load_errors.is_empty() { "ok" } else { "FAILED" },
                results.len() - failed,
                if bless && failed > 0 { " (fixtures rewritten with what the rules found)" } else { "" }
            );
        }
    }
    let ok = (failed == 0 || bless) && load_errors.is_empty();
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

#[derive(Serialize)]
struct RuleRow<'a> {
    id: &'a str,
    version: u32,
    scope: &'a str,
    severity: &'a str,
    category: &'a str,
    description: &'a str,
    file: String,
    source: Option<&'a str>,
}

fn list(args: &RuleSourceArgs, format: OutputFormat) -> anyhow::Result<ExitCode> {
    let (set, scripts) = load_rules(args)?;
    let mut rows: Vec<RuleRow<'_>> = set
        .rules
        .iter()
        .map(|r| RuleRow {
            id: &r.id,
            version: r.version,
            scope: r.scope.as_str(),
            severity: r.severity.as_str(),
            category: r.category.as_str(),
            description: &r.description,
            file: format!("{}:{}", r.origin.file, r.origin.position.line),
            source: r.source.as_deref(),
        })
        .collect();
    rows.extend(scripts.scripts().iter().map(|s| RuleRow {
        id: &s.meta.id,
        version: s.meta.version,
        scope: s.meta.scope.as_str(),
        severity: s.meta.severity.as_str(),
        category: s.meta.category.as_str(),
        description: &s.meta.description,
        file: format!("{}:{}", s.file, s.position.line),
        source: s.meta.source.as_deref(),
    }));
    match format {
        OutputFormat::Json => outln!("{}", serde_json::to_string_pretty(&rows)?),
        OutputFormat::Text => {
            let width = rows.iter().map(|r| r.id.len()).max().unwrap_or(0);
            for r in &rows {
                outln!(
                    "{:width$}  v{:<2} {:15} {:8} {:12} {}",
                    r.id,
                    r.version,
                    r.scope,
                    r.severity,
                    r.category,
                    r.description
                );
            }
            outln!("{} rules", rows.len());
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Serialize)]
struct MetricRow {
    scope: &'static str,
    name: &'static str,
    #[serde(rename = "type")]
    ty: String,
    unit: &'static str,
    doc: &'static str,
}

fn metrics(scope: Option<&str>, format: OutputFormat) -> anyhow::Result<ExitCode> {
    let scopes: Vec<Scope> = match scope {
        None => Scope::ALL.to_vec(),
        Some(s) => vec![Scope::parse(s).ok_or_else(|| {
            anyhow::anyhow!(
                "unknown scope `{s}`; one of: {}",
                Scope::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
            )
        })?],
    };
    let mut rows = Vec::new();
    for scope in &scopes {
        for m in scope.metrics() {
            rows.push(MetricRow {
                scope: scope.as_str(),
                name: m.name,
                ty: m.ty.describe(),
                unit: m.unit,
                doc: m.doc,
            });
        }
    }
    match format {
        OutputFormat::Json => outln!("{}", serde_json::to_string_pretty(&rows)?),
        OutputFormat::Text => {
            for scope in &scopes {
                outln!("scope: {}", scope.as_str());
                let width = scope.metrics().iter().map(|m| m.name.len()).max().unwrap_or(0);
                for m in scope.metrics() {
                    let unit = if m.unit.is_empty() { String::new() } else { format!(" [{}]", m.unit) };
                    outln!("  {:width$}  {}{unit}: {}", m.name, m.ty.describe(), m.doc);
                }
                let collections = scope.collections();
                if !collections.is_empty() {
                    let names: Vec<String> =
                        collections.iter().map(|(n, s)| format!("{n} ({})", s.as_str())).collect();
                    outln!("  collections: {}", names.join(", "));
                }
                outln!();
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
