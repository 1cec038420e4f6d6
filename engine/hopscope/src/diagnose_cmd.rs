//! `hopscope diagnose`.

use std::process::ExitCode;

use hopscope_diagnose::{Detail, Options, diagnose_with, render};
use hopscope_ingest::{Ingested, assemble, ingest_file};
use serde::Serialize;

use crate::cli::{DetailArg, DiagnoseArgs, OutputFormat};

#[derive(Serialize)]
struct JsonOutput {
    conferences: Vec<hopscope_diagnose::Diagnosis>,
    errors: Vec<String>,
}

pub fn run(args: &DiagnoseArgs) -> anyhow::Result<ExitCode> {
    let (rules, scripts) = crate::rules_cmd::load_rules(&args.rules)?;
    let kinds: Vec<&dyn hopscope_rules::harness::RuleKind> =
        if scripts.is_empty() { Vec::new() } else { vec![&scripts] };
    let options = Options { rules: &rules.rules, kinds: &kinds, ..Options::default() };
    let plugins = crate::plugin_cmd::load(&args.plugins)?;
    let mut inputs: Vec<Ingested> = Vec::new();
    let mut errors = Vec::new();
    for path in &args.files {
        match ingest_file(path) {
            Ok(i) => inputs.push(i),
            Err(e) => errors.push(format!("{} ({})", e, path.display())),
        }
    }
    let groups: Vec<Vec<Ingested>> =
        if args.each { inputs.into_iter().map(|i| vec![i]).collect() } else { vec![inputs] };
    let mut diagnoses = Vec::new();
    for group in groups {
        for conference in assemble(group) {
            let mut diagnosis = diagnose_with(&conference, &options);
            errors.extend(crate::plugin_cmd::add_findings(&plugins, &conference, &mut diagnosis.findings));
            diagnoses.push(diagnosis);
        }
    }
    let detail = match args.detail {
        DetailArg::Short => Detail::Short,
        DetailArg::Full => Detail::Full,
    };
    match args.format {
        OutputFormat::Json => {
            let out = JsonOutput { conferences: diagnoses, errors: errors.clone() };
            outln!("{}", serde_json::to_string_pretty(&out)?);
        }
        OutputFormat::Text => {
            for (i, d) in diagnoses.iter().enumerate() {
                if i > 0 {
                    outln!("\n{}\n", "─".repeat(72));
                }
                out!("{}", render(d, detail));
            }
        }
    }
    for e in &errors {
        eprintln!("error: {e}");
    }
    Ok(if errors.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
