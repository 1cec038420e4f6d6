//! Describes itself with a manifest the host must refuse: a metric that does not exist, a
//! duplicated rule id, and a budget of zero time.

use hopscope_plugin_sdk::*;

struct BadManifest;

impl Plugin for BadManifest {
    fn manifest() -> Manifest {
        let rule = RuleInfo { id: "twice".into(), version: 1, description: String::new() };
        Manifest {
            name: "hostile-manifest".into(),
            version: "0.1.0".into(),
            rules: vec![rule.clone(), rule],
            metrics: vec!["stream.mind_reading_percent".into()],
            on_request: vec![],
            capabilities: vec![],
            budget: Budget { fuel: u64::MAX, memory_bytes: u64::MAX, wall_ms: 0 },
        }
    }

    fn evaluate(_c: &Conference) -> Result<Vec<Finding>, String> {
        Ok(vec![])
    }
}

export_plugin!(BadManifest);
