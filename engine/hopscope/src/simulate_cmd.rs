//! `hopscope simulate`: a scenario in, the participants' observation NDJSON out.

use std::process::ExitCode;

use anyhow::Context as _;
use hopscope_sim::{Scenario, simulate};

use crate::cli::SimulateArgs;

pub fn run(args: &SimulateArgs) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(&args.scenario)
        .with_context(|| format!("cannot read scenario {}", args.scenario.display()))?;
    let mut scenario = Scenario::from_yaml(&text).with_context(|| args.scenario.display().to_string())?;
    if let Some(seed) = args.seed {
        scenario = scenario.with_seed(seed);
    }
    let simulation = simulate(&scenario);
    if args.stdout {
        out!("{}", simulation.combined());
    }
    if let Some(dir) = &args.out {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        for p in &simulation.participants {
            let path = dir.join(format!("{}.ndjson", file_stem(&p.name)));
            std::fs::write(&path, &p.ndjson).with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!("wrote {} ({} lines)", path.display(), p.ndjson.lines().count());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A participant name as a file name: path separators and other awkward characters become `_`.
fn file_stem(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | '@') { c } else { '_' })
        .collect()
}
