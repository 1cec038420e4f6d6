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
