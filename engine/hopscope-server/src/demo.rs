//! `hopscope serve --demo`: the bundled example conferences, stored and diagnosed in an app
//! of their own, so a newcomer has something to look at straight away.

use std::path::Path;

use hopscope_store::Input;

use crate::{ServerError, State, now_ms};

/// The app the examples go into.
pub const DEMO_APP: &str = "demo";

/// Stores every conference under `examples/conferences/<name>/` (one directory per call,
/// one dump per participant) as conference `<name>` of the demo app, and diagnoses it.
/// Returns the conference ids. Conferences already there are left alone.
pub fn load(state: &State, examples: &Path) -> Result<Vec<String>, ServerError> {
    let read_dir = |p: &Path| {
        std::fs::read_dir(p)
            .map_err(|e| ServerError::Config(format!("demo: cannot read {}: {e}", p.display())))
    };
    state.store.ensure_app(DEMO_APP)?;
    let mut dirs: Vec<_> =
        read_dir(examples)?.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.is_dir()).collect();
    dirs.sort();
    let mut loaded = Vec::new();
    for dir in dirs {
        let Some(id) = dir.file_name().map(|n| n.to_string_lossy().into_owned()) else { continue };
        if state.store.conference(DEMO_APP, &id)?.is_some() {
            loaded.push(id);
            continue;
        }
        let mut files: Vec<_> =
            read_dir(&dir)?.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.is_file()).collect();
        files.sort();
        for file in files {
            let bytes = std::fs::read(&file)
                .map_err(|e| ServerError::Config(format!("demo: cannot read {}: {e}", file.display())))?;
            let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            state.store.store_upload(DEMO_APP, &id, Input { name, bytes }, now_ms())?;
        }
        crate::live::evaluate_conference(state, DEMO_APP, &id, true).map_err(ServerError::Config)?;
        loaded.push(id);
    }
    Ok(loaded)
}

/// A fresh secret key for the demo app (a new one each start: keys are stored hashed, so
/// an old one cannot be shown again).
pub fn secret_key(state: &State) -> Result<String, ServerError> {
    use hopscope_store::KeyKind;
    state.store.ensure_app(DEMO_APP)?;
    let key = crate::auth::generate_key(KeyKind::Secret).map_err(|e| ServerError::Random(e.to_string()))?;
    state.store.add_key(DEMO_APP, KeyKind::Secret, &key, "demo session")?;
    Ok(key)
}
