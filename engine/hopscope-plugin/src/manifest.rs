//! The plugin's manifest as the host keeps it, checked.

use serde::Serialize;

use hopscope_rules::catalogue::{MetricId, Scope, ValueType};

use crate::bindings::hopscope::plugin::types as wit;
use crate::error::PluginError;
use crate::host::Limits;

/// One rule a plugin provides.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RuleInfo {
    /// Id, as findings and fixtures name it.
    pub id: String,
    /// Version.
    pub version: u32,
    /// What it detects.
    pub description: String,
}

/// What one evaluation may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Budget {
    /// Fuel units (roughly wasm instructions).
    pub fuel: u64,
    /// Linear memory, bytes.
    pub memory_bytes: u64,
    /// Wall clock, ms.
    pub wall_ms: u32,
}

/// A checked manifest.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Manifest {
    /// Plugin name.
    pub name: String,
    /// Plugin version.
    pub version: String,
    /// Its rules.
    pub rules: Vec<RuleInfo>,
    /// The metrics it reads (`scope.metric`).
    pub metrics: Vec<String>,
    /// The stream metrics it reads on request (summaries, one stream's values) instead of whole.
    pub on_request: Vec<String>,
    /// Capabilities it requested (all refused by this host, so always empty once loaded).
    pub capabilities: Vec<String>,
    /// Its budget: what it declared, capped by the host's limits.
    pub budget: Budget,
    /// The WIT package it was built against.
    pub wit: &'static str,
}

/// A metric a plugin reads, resolved against the catalogue.
#[derive(Clone, Debug)]
pub(crate) struct Wanted {
    pub scope: Scope,
    pub id: MetricId,
    pub name: &'static str,
    pub text: bool,
    /// A yes/no metric (sent as 1 and 0).
    pub flag: bool,
    /// Read on request (`on-request`), not received whole (`metrics`).
    pub on_request: bool,
}

impl Wanted {
    /// Whether the plugin receives every value of this stream metric in its input.
    pub fn is_stream_column(&self) -> bool {
        self.scope == Scope::Stream && !self.on_request
    }
}

const MAX_NAME: usize = 64;
const MAX_RULES: usize = 64;
const MAX_METRICS: usize = 128;

fn bad(reason: impl Into<String>) -> PluginError {
    PluginError::BadManifest { reason: reason.into() }
}

fn is_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_NAME
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

fn capability_name(c: wit::Capability) -> &'static str {
    match c {
        wit::Capability::WasiClocks => "wasi-clocks",
        wit::Capability::WasiRandom => "wasi-random",
        wit::Capability::WasiStdio => "wasi-stdio",
        wit::Capability::WasiFilesystem => "wasi-filesystem",
        wit::Capability::WasiSockets => "wasi-sockets",
    }
}

/// Checks what `describe()` returned against the host's limits.
pub(crate) fn check(m: wit::Manifest, limits: &Limits) -> Result<(Manifest, Vec<Wanted>), PluginError> {
    if !is_id(&m.name) {
        return Err(bad(format!(
            "the name must be 1-{MAX_NAME} lowercase letters, digits, `-` or `_` (got {:?})",
            truncate(&m.name, 80)
        )));
    }
    if m.version.is_empty() || m.version.len() > 32 {
        return Err(bad("the version must be 1-32 characters"));
    }
    if m.rules.is_empty() || m.rules.len() > MAX_RULES {
        return Err(bad(format!("a plugin provides 1-{MAX_RULES} rules (got {})", m.rules.len())));
    }
    let mut rules: Vec<RuleInfo> = Vec::with_capacity(m.rules.len());
    for r in m.rules {
        if !is_id(&r.id) {
            return Err(bad(format!(
                "rule id {:?} is not 1-{MAX_NAME} lowercase letters, digits, `-` or `_`",
                truncate(&r.id, 80)
            )));
        }
        if rules.iter().any(|x| x.id == r.id) {
            return Err(bad(format!("rule id `{}` appears twice", r.id)));
        }
        if r.description.len() > limits.max_string_bytes {
            return Err(bad(format!("rule `{}`: description over {} bytes", r.id, limits.max_string_bytes)));
        }
        rules.push(RuleInfo { id: r.id, version: r.version, description: r.description });
    }
    if m.metrics.len() > MAX_METRICS {
        return Err(bad(format!("at most {MAX_METRICS} metrics (got {})", m.metrics.len())));
    }
    if m.on_request.len() > MAX_METRICS {
        return Err(bad(format!("at most {MAX_METRICS} on-request metrics (got {})", m.on_request.len())));
    }
    let mut wanted: Vec<Wanted> = Vec::with_capacity(m.metrics.len() + m.on_request.len());
    for (name, on_request) in
        m.metrics.iter().map(|n| (n, false)).chain(m.on_request.iter().map(|n| (n, true)))
    {
        let w = resolve(name, on_request)?;
        // A metric received whole can be read on request too: listing it twice adds nothing.
        if !wanted.iter().any(|x| x.scope == w.scope && x.id == w.id) {
            wanted.push(w);
        }
    }
    if let Some(c) = m.capabilities.first() {
        return Err(PluginError::CapabilityDenied { capability: capability_name(*c).to_string() });
    }
    // Declared budgets are capped by the operator's ceilings: a plugin never gets more
    // than the host allows, whatever it asks for.
    let b = m.budget;
    if b.fuel == 0 || b.memory_bytes == 0 || b.wall_ms == 0 {
        return Err(bad("a budget of zero fuel, memory or time can never evaluate anything"));
    }
    let budget = Budget {
        fuel: b.fuel.min(limits.max_fuel),
        memory_bytes: b.memory_bytes.min(limits.max_memory_bytes as u64),
        wall_ms: b.wall_ms.min(limits.max_wall_ms),
    };
    let manifest = Manifest {
        name: m.name,
        version: m.version,
        rules,
        metrics: m.metrics,
        on_request: m.on_request,
        capabilities: Vec::new(),
        budget,
        wit: crate::WIT_PACKAGE,
    };
    Ok((manifest, wanted))
}

/// A `scope.metric` name of the manifest, resolved against the catalogue; `on_request` for
/// an entry of `on-request`, which only numeric stream metrics can be.
fn resolve(name: &str, on_request: bool) -> Result<Wanted, PluginError> {
    let Some((scope, metric)) = name.split_once('.') else {
        return Err(bad(format!("metric {:?} is not `scope.metric`", truncate(name, 80))));
    };
    let scope = Scope::parse(scope)
        .ok_or_else(|| bad(format!("metric {:?}: no scope `{}`", truncate(name, 80), truncate(scope, 40))))?;
    let (id, def) = scope.metric(metric).ok_or_else(|| {
        bad(format!(
            "metric {:?}: `{}` has no metric `{}` (see `hopscope rules metrics`)",
            truncate(name, 80),
            scope.as_str(),
            truncate(metric, 40)
        ))
    })?;
    let text = matches!(def.ty, ValueType::Text);
    if on_request && (scope != Scope::Stream || text) {
        return Err(bad(format!(
            "on-request metric {:?}: only numeric stream metrics are read on request (`stream.jitter_buffer_ms`); list other metrics under `metrics`",
            truncate(name, 80)
        )));
    }
    Ok(Wanted { scope, id, name: def.name, text, flag: matches!(def.ty, ValueType::Bool), on_request })
}

/// At most `max` bytes of `s`, cut at a character boundary.
pub(crate) fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> wit::Manifest {
        wit::Manifest {
            name: "p".into(),
            version: "1.0.0".into(),
            rules: vec![wit::RuleInfo { id: "r-1".into(), version: 2, description: "d".into() }],
            metrics: vec![
                "stream.jitter_buffer_ms".into(),
                "hop.from".into(),
                "stream.jitter_buffer_ms".into(),
            ],
            on_request: vec!["stream.jitter_buffer_ms".into(), "stream.active".into()],
            capabilities: vec![],
            budget: wit::Budget { fuel: 1_000, memory_bytes: 1 << 20, wall_ms: 10 },
        }
    }

    fn reason(m: wit::Manifest) -> String {
        match check(m, &Limits::default()) {
            Err(PluginError::BadManifest { reason }) => reason,
            other => panic!("expected a bad manifest, got {other:?}"),
        }
    }

    #[test]
    fn a_good_manifest_resolves_its_metrics_once() {
        let (m, wanted) = check(manifest(), &Limits::default()).expect("valid");
        assert_eq!(m.rules, [RuleInfo { id: "r-1".into(), version: 2, description: "d".into() }]);
        assert_eq!(m.budget, Budget { fuel: 1_000, memory_bytes: 1 << 20, wall_ms: 10 });
        let names: Vec<(Scope, &str, bool, bool)> =
            wanted.iter().map(|w| (w.scope, w.name, w.text, w.on_request)).collect();
        assert_eq!(
            names,
            [
                (Scope::Stream, "jitter_buffer_ms", false, false),
                (Scope::Hop, "from", true, false),
                (Scope::Stream, "active", false, true)
            ]
        );
    }

    #[test]
    fn budgets_are_capped_by_the_host() {
        let mut m = manifest();
        m.budget = wit::Budget { fuel: u64::MAX, memory_bytes: u64::MAX, wall_ms: u32::MAX };
        let limits = Limits::default();
        let (m, _) = check(m, &limits).expect("valid");
        assert_eq!(
            m.budget,
            Budget {
                fuel: limits.max_fuel,
                memory_bytes: limits.max_memory_bytes as u64,
                wall_ms: limits.max_wall_ms
            }
        );
    }

    #[test]
    fn bad_manifests_say_why() {
        let mut m = manifest();
        m.metrics = vec!["stream.telepathy".into()];
        assert_eq!(
            reason(m),
            "metric \"stream.telepathy\": `stream` has no metric `telepathy` (see `hopscope rules metrics`)"
        );
        let mut m = manifest();
        m.on_request = vec!["hop.from".into()];
        assert!(reason(m).starts_with("on-request metric \"hop.from\": only numeric stream metrics"));
        let mut m = manifest();
        m.on_request = vec!["peer_connection.rtt_ms".into()];
        assert!(reason(m).starts_with("on-request metric \"peer_connection.rtt_ms\": only numeric"));
        let mut m = manifest();
        m.metrics = vec!["galaxy.rtt_ms".into()];
        assert_eq!(reason(m), "metric \"galaxy.rtt_ms\": no scope `galaxy`");
        let mut m = manifest();
        m.rules.push(m.rules[0].clone());
        assert_eq!(reason(m), "rule id `r-1` appears twice");
        let mut m = manifest();
        m.rules[0].id = "Has Spaces".into();
        assert!(reason(m).starts_with("rule id \"Has Spaces\" is not"));
        let mut m = manifest();
        m.rules.clear();
        assert_eq!(reason(m), "a plugin provides 1-64 rules (got 0)");
        let mut m = manifest();
        m.budget.fuel = 0;
        assert_eq!(reason(m), "a budget of zero fuel, memory or time can never evaluate anything");
        let mut m = manifest();
        m.name = "x".repeat(100);
        assert!(reason(m).starts_with("the name must be"));
    }

    #[test]
    fn capabilities_are_refused() {
        let mut m = manifest();
        m.capabilities = vec![wit::Capability::WasiFilesystem];
        assert_eq!(
            check(m, &Limits::default()).expect_err("refused"),
            PluginError::CapabilityDenied { capability: "wasi-filesystem".into() }
        );
    }

    #[test]
    fn truncation_respects_characters() {
        assert_eq!(truncate("héllo", 2), "h");
        assert_eq!(truncate("héllo", 3), "hé");
        assert_eq!(truncate("abc", 10), "abc");
    }
}
