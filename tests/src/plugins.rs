//! The example and hostile plugins, built from source for `wasm32-wasip2` once per test
//! process (cargo's own lock keeps parallel test binaries from building at once).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use hopscope_model::Conference;

use crate::root;

/// Where the plugin components are built.
pub fn target_dir() -> PathBuf {
    root().join("target/wasm-plugins")
}

/// Builds every crate of `plugins/` (release, locked) and returns the directory holding the
/// `.wasm` components. Panics with cargo's output when the build fails.
pub fn build() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let out = Command::new(cargo)
            // From `plugins/`, so its `.cargo/config.toml` (the plugins' link flags) applies.
            .current_dir(root().join("plugins"))
            .args(["build", "--release", "--locked", "--target", "wasm32-wasip2", "--manifest-path"])
            .arg(root().join("plugins/Cargo.toml"))
            .arg("--target-dir")
            .arg(target_dir())
            // The outer build's flags are for the host, not for wasm.
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .env_remove("CARGO_BUILD_TARGET")
            .output()
            .expect("cargo runs");
        assert!(
            out.status.success(),
            "building the plugins failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        target_dir().join("wasm32-wasip2/release")
    })
}

/// The component of one plugin crate (`jitter-buffer-stress` → `jitter_buffer_stress.wasm`).
pub fn wasm(name: &str) -> PathBuf {
    build().join(format!("{}.wasm", name.replace('-', "_")))
}

/// Loads a fixture case's inputs as the CLI does: dumps are ingested, scenario YAML files
/// are simulated first.
pub fn load_case(paths: &[PathBuf]) -> Result<Conference, String> {
    let mut inputs = Vec::new();
    for p in paths {
        if p.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            let text = std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?;
            let scenario =
                hopscope_sim::Scenario::from_yaml(&text).map_err(|e| format!("{}: {e}", p.display()))?;
            let simulated = hopscope_sim::simulate(&scenario);
            let limits = hopscope_ingest::Limits::default();
            inputs.push(
                hopscope_ingest::ingest(&p.display().to_string(), simulated.combined().as_bytes(), &limits)
                    .map_err(|e| e.to_string())?,
            );
        } else {
            inputs.push(hopscope_ingest::ingest_file(p).map_err(|e| e.to_string())?);
        }
    }
    let mut conferences = hopscope_ingest::assemble(inputs);
    if conferences.len() != 1 {
        return Err(format!("the inputs form {} conferences, not one", conferences.len()));
    }
    Ok(conferences.remove(0))
}
