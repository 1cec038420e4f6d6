//! Shared helpers for hopscope's integration tests: where fixtures live, loading them
//! through the real pipeline, and the real-data corpus beside the repository.

use std::path::{Path, PathBuf};

use hopscope_ingest::{Ingested, assemble, ingest_file};
use hopscope_model::Conference;

pub mod plugins;

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
}

/// A file under `tests/fixtures/`.
pub fn fixture(relative: &str) -> PathBuf {
    root().join("tests/fixtures").join(relative)
}

/// Ingests files, panicking with the error (tests want to see it).
pub fn ingest_all(paths: &[PathBuf]) -> Vec<Ingested> {
    paths
        .iter()
        .map(|p| match ingest_file(p) {
            Ok(i) => i,
            Err(e) => panic!("{} failed to ingest: {e}", p.display()),
        })
        .collect()
}

/// Ingests and joins files into conferences.
pub fn conferences(paths: &[PathBuf]) -> Vec<Conference> {
    assemble(ingest_all(paths))
}

/// Ingests files expected to form exactly one conference.
pub fn conference(paths: &[PathBuf]) -> Conference {
    let mut all = conferences(paths);
    assert_eq!(all.len(), 1, "expected one conference from {paths:?}");
    all.remove(0)
}

/// The real-data corpus (`../shared/data/real` beside the repository, or
/// `HOPSCOPE_CORPUS`). `None` when absent, unless `HOPSCOPE_REQUIRE_CORPUS` is set (CI sets
/// it), in which case its absence is a failure.
pub fn corpus() -> Option<PathBuf> {
    let dir = std::env::var_os("HOPSCOPE_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("../shared/data/real"));
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var_os("HOPSCOPE_REQUIRE_CORPUS").is_none(),
        "HOPSCOPE_REQUIRE_CORPUS is set but the corpus is missing at {}",
        dir.display()
    );
    eprintln!("real-data corpus not found at {}: corpus checks skipped", dir.display());
    None
}

/// Seconds of the 50-person call the benchmarks simulate: enough history for 10 s windows.
pub const BENCH_CALL_SECONDS: f64 = 30.0;

/// The benchmarks' 50-participant SFU conference (`examples/scenarios/sfu-50.yaml`, the
/// first [`BENCH_CALL_SECONDS`]), simulated and read through the real ingest.
pub fn sfu_50_conference() -> Conference {
    let path = root().join("examples/scenarios/sfu-50.yaml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let scenario = hopscope_sim::Scenario::from_yaml(&text)
        .unwrap_or_else(|e| panic!("sfu-50 scenario: {e}"))
        .truncated(BENCH_CALL_SECONDS);
    let sim = hopscope_sim::simulate(&scenario);
    let inputs: Vec<Ingested> = sim
        .participants
        .iter()
        .map(|p| {
            hopscope_ingest::ingest(&p.name, p.ndjson.as_bytes(), &hopscope_ingest::Limits::default())
                .unwrap_or_else(|e| panic!("{}: {e}", p.name))
        })
        .collect();
    assemble(inputs).remove(0)
}

/// The `p` quantile (0–1) of sorted durations.
pub fn percentile(sorted: &[std::time::Duration], p: f64) -> std::time::Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}
