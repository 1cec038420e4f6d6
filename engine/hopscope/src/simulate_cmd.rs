//! `hopscope simulate`: a scenario in, the participants' (and observing servers') data and
//! the injected faults out; or a corpus of conferences with known faults for backtests.

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context as _, bail};
use hopscope_sim::{DumpFormat, Scenario, Simulation, corpus, simulate};

use crate::cli::{SimulateArgs, SimulateFormat};

pub fn run(args: &SimulateArgs) -> anyhow::Result<ExitCode> {
    let format = match args.format {
        SimulateFormat::Native => DumpFormat::Native,
        SimulateFormat::WebrtcInternals => DumpFormat::WebrtcInternals,
        SimulateFormat::Rtcstats => DumpFormat::Rtcstats,
    };
    if args.stdout && format != DumpFormat::Native {
        bail!(
            "--stdout writes native NDJSON only; use --out for {:?} dumps (one file per participant)",
            args.format
        );
    }
    if let Some(n) = args.corpus {
        let Some(dir) = &args.out else { bail!("--corpus needs --out DIR") };
        return write_corpus(n, args.seed.unwrap_or(0), dir, format);
    }
    let Some(path) = &args.scenario else { bail!("give a scenario file, or --corpus N") };
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read scenario {}", path.display()))?;
    let mut scenario = Scenario::from_yaml(&text).with_context(|| path.display().to_string())?;
    if let Some(seed) = args.seed {
        scenario = scenario.with_seed(seed);
    }
    let simulation = simulate(&scenario);
    if args.stdout {
        out!("{}", simulation.combined_with_servers());
    }
    if let Some(dir) = &args.out {
        for (path, lines) in write_call(&simulation, dir, format)? {
            eprintln!("wrote {} ({lines} lines)", path);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes a simulated call into `dir`: one file per participant in `format`, one NDJSON
/// per observing server, `truth.json`. Returns the files with their line counts.
fn write_call(
    simulation: &Simulation,
    dir: &Path,
    format: DumpFormat,
) -> anyhow::Result<Vec<(String, usize)>> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut written = Vec::new();
    let mut write = |name: String, text: &str| -> anyhow::Result<()> {
        let path = dir.join(name);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        written.push((path.display().to_string(), text.lines().count()));
        Ok(())
    };
    for p in &simulation.participants {
        write(format!("{}{}", file_stem(&p.name), format.extension()), &p.dump(format))?;
    }
    for s in &simulation.servers {
        write(format!("{}.ndjson", file_stem(&s.name)), &s.ndjson)?;
    }
    write("truth.json".into(), &(serde_json::to_string_pretty(&simulation.truth)? + "\n"))?;
    Ok(written)
}

/// Generates, simulates and writes `n` conferences, and an index of them.
fn write_corpus(n: usize, seed: u64, dir: &Path, format: DumpFormat) -> anyhow::Result<ExitCode> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let started = Instant::now();
    let mut index = Vec::with_capacity(n);
    let mut mix: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    for entry in corpus(n, seed) {
        let entry = entry?;
        let call_dir = dir.join(&entry.id);
        let simulation = simulate(&entry.scenario);
        write_call(&simulation, &call_dir, format)?;
        let path = call_dir.join("scenario.yaml");
        std::fs::write(&path, &entry.yaml).with_context(|| format!("cannot write {}", path.display()))?;
        let label = match &entry.planned {
            Some(p) => format!("{} at {}", p.kind.as_str(), p.hop.as_str()),
            None => "healthy".into(),
        };
        *mix.entry(format!("{label} ({})", entry.layout.as_str())).or_default() += 1;
        index.push(serde_json::json!({
            "id": entry.id,
            "layout": entry.layout.as_str(),
            "participants": entry.truth.participants.len(),
            "healthy": entry.truth.is_healthy(),
            "faults": entry.truth.faults.iter().map(|f| {
                serde_json::json!({"kind": f.kind, "hop": f.hop, "direction": f.direction})
            }).collect::<Vec<_>>(),
        }));
    }
    let path = dir.join("corpus.json");
    let body = serde_json::json!({"seed": seed, "count": n, "conferences": index});
    std::fs::write(&path, serde_json::to_string_pretty(&body)? + "\n")
        .with_context(|| format!("cannot write {}", path.display()))?;
    for (label, count) in &mix {
        eprintln!("{count:>5}  {label}");
    }
    eprintln!("wrote {n} conferences to {} in {:.1} s", dir.display(), started.elapsed().as_secs_f64());
    Ok(ExitCode::SUCCESS)
}

/// A participant name as a file name: path separators and other awkward characters become `_`.
fn file_stem(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | '@') { c } else { '_' })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(out: &Path) -> SimulateArgs {
        SimulateArgs {
            scenario: None,
            out: Some(out.to_path_buf()),
            stdout: false,
            seed: Some(4),
            corpus: None,
            format: SimulateFormat::Native,
        }
    }

    #[test]
    fn a_corpus_is_written_with_its_truth_and_scenarios() {
        let dir = tempfile::tempdir().expect("temp dir");
        let out = dir.path().join("corpus");
        let mut a = args(&out);
        a.corpus = Some(3);
        a.format = SimulateFormat::Rtcstats;
        assert_eq!(run(&a).ok(), Some(ExitCode::SUCCESS));
        let index: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("corpus.json")).expect("index"))
                .expect("JSON");
        assert_eq!(index["count"], 3);
        assert_eq!(index["seed"], 4);
        let entries = index["conferences"].as_array().expect("conferences");
        assert_eq!(entries.len(), 3);
        for e in entries {
            let id = e["id"].as_str().expect("id");
            let call = out.join(id);
            let truth: hopscope_sim::Truth =
                serde_json::from_str(&std::fs::read_to_string(call.join("truth.json")).expect("truth"))
                    .expect("truth");
            let yaml = std::fs::read_to_string(call.join("scenario.yaml")).expect("scenario");
            // The scenario file is the call: it simulates to the same truth.
            assert_eq!(Scenario::from_yaml(&yaml).expect("valid").truth(), truth);
            for p in &truth.participants {
                assert!(call.join(format!("{p}.rtcstats")).is_file(), "{id}/{p}");
            }
            for s in truth.servers.iter().filter(|s| s.observed) {
                assert!(call.join(format!("{}.ndjson", s.name)).is_file(), "{id}/{}", s.name);
            }
        }
    }

    #[test]
    fn a_scenario_is_written_in_the_format_asked() {
        let dir = tempfile::tempdir().expect("temp dir");
        let scenario = dir.path().join("s.yaml");
        std::fs::write(
            &scenario,
            "name: s\nduration: 3s\ntopology: sfu\nsfu: {name: sfu-1, observe: true}\nparticipants: [{name: a}, {name: b}]\n",
        )
        .expect("write");
        let out = dir.path().join("call");
        let mut a = args(&out);
        a.scenario = Some(scenario);
        a.format = SimulateFormat::WebrtcInternals;
        assert_eq!(run(&a).ok(), Some(ExitCode::SUCCESS));
        for file in ["a.webrtc-internals.json", "b.webrtc-internals.json", "sfu-1.ndjson", "truth.json"] {
            assert!(out.join(file).is_file(), "{file}");
        }
        a.stdout = true;
        assert!(run(&a).is_err_and(|e| e.to_string().contains("native NDJSON only")));
    }
}
