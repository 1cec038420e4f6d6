//! The example plugins, built from source for wasm32-wasip2, through the shared rule
//! harness and the plugin host.

use std::path::PathBuf;

use hopscope_plugin::{Limits, PluginHost, PluginRules};
use hopscope_rules::catalogue::Scope;
use hopscope_rules::finding::EvidenceValue;
use hopscope_rules::harness;
use hopscope_rules::rule::{Category, Severity};
use hopscope_rules::view::View;
use hopscope_score::QualityConfig;
use hopscope_tests::plugins::{load_case, wasm};
use hopscope_tests::root;

fn host() -> PluginHost {
    PluginHost::new(Limits::default()).expect("the engine starts")
}

fn view_of(inputs: &[&str]) -> View {
    let paths: Vec<PathBuf> = inputs.iter().map(|p| root().join(p)).collect();
    let conference = load_case(&paths).expect("inputs load");
    View::build(&conference, &QualityConfig::default())
}

/// Every fixture of a plugin passes; with `HOPSCOPE_BLESS=1` the fixtures are rewritten.
fn run_fixtures(plugin: &str) -> usize {
    let host = host();
    let plugins = vec![host.load_file(&wasm(plugin)).expect("the plugin loads")];
    let kind = PluginRules::new(&plugins);
    let files = harness::fixture_files(&root().join("plugins").join(plugin));
    assert!(!files.is_empty(), "{plugin} has fixtures");
    let mut cases = 0;
    let mut failures = Vec::new();
    for path in files {
        let fixture = harness::read_fixture(&path).expect("a fixture");
        let results = harness::run_fixture(&path, &fixture, &kind, &load_case, &QualityConfig::default());
        if std::env::var_os("HOPSCOPE_BLESS").is_some() {
            harness::bless(&path, &fixture, &results).expect("blessed");
        }
        cases += results.len();
        for r in results.iter().filter(|r| !r.passed) {
            failures.push(format!("{} :: {}\n{}", r.fixture, r.case, r.failure.as_deref().unwrap_or("")));
        }
    }
    assert!(kind.errors().is_empty(), "plugin errors: {:?}", kind.errors());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    cases
}

#[test]
fn jitter_buffer_stress_fixtures() {
    assert_eq!(run_fixtures("jitter-buffer-stress"), 5);
}

#[test]
fn sla_check_fixtures() {
    assert_eq!(run_fixtures("sla-check"), 5);
}

#[test]
fn sender_freeze_fixtures() {
    assert_eq!(run_fixtures("sender-freeze"), 4);
}

#[test]
fn manifests_are_read_and_checked() {
    let host = host();
    let p = host.load_file(&wasm("jitter-buffer-stress")).expect("loads");
    let m = p.manifest();
    assert_eq!(m.name, "jitter-buffer-stress");
    assert_eq!(m.rules.len(), 1);
    assert_eq!(m.rules[0].id, "audio-jitter-buffer-stress");
    assert_eq!(m.rules[0].version, 1);
    assert!(m.metrics.is_empty());
    assert_eq!(m.on_request, ["stream.jitter_buffer_ms", "stream.active"]);
    assert_eq!(m.budget.fuel, 200_000_000);
    assert_eq!(m.budget.memory_bytes, 32 << 20);
    assert_eq!(m.budget.wall_ms, 250);
    assert!(m.capabilities.is_empty());

    let sla = host.load_file(&wasm("sla-check")).expect("loads");
    let ids: Vec<&str> = sla.manifest().rules.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["sla-audio-mos", "sla-round-trip"]);
}

#[test]
fn jitter_storm_finding_is_complete_and_deterministic() {
    let host = host();
    let p = host.load_file(&wasm("jitter-buffer-stress")).expect("loads");
    let view = view_of(&["rules/builtin/tests/scenarios/jitter-storm.yaml"]);
    let a = p.evaluate(&view, &[]).expect("evaluates");
    let b = p.evaluate(&view, &[]).expect("evaluates again");
    assert_eq!(a.findings, b.findings, "same input, same findings, ids included");
    assert_eq!(a.fuel_used, b.fuel_used, "fuel is deterministic");
    assert!(a.fuel_used > 10_000 && a.fuel_used < 5_000_000, "fuel {}", a.fuel_used);
    assert!(!a.findings.is_empty());
    for f in &a.findings {
        assert_eq!(f.rule, "audio-jitter-buffer-stress");
        assert_eq!(f.category, Category::Jitter);
        assert!(matches!(f.severity, Severity::Warning | Severity::Error));
        assert_eq!(f.scope.scope, Scope::Stream);
        assert_eq!(f.scope.kind.as_deref(), Some("audio"));
        assert_eq!(f.scope.direction.as_deref(), Some("inbound"));
        assert_eq!(f.id.len(), 16);
        let Some(EvidenceValue::Num(depth)) = f.evidence.first().map(|e| e.value.clone()) else {
            panic!("numeric evidence expected: {:?}", f.evidence)
        };
        assert!(depth >= 100.0, "a stressed buffer is at least 100 ms deep, got {depth}");
        assert!(f.duration_s >= 0.0);
        assert!(f.raised_ms >= view.ticks[0].epoch_ms());
    }
}

/// Plugins evaluated in one pass share the stream table and columns (lent to each in turn,
/// then taken back): every plugin sees exactly what it sees alone, also after a plugin of
/// the pass failed, and a plugin that reads no stream gets none.
#[test]
fn plugins_of_one_pass_share_their_input_and_see_what_they_see_alone() {
    let host = host();
    let load = |name: &str| host.load_file(&wasm(name)).expect("loads");
    let (jitter, sla, copy) = (load("jitter-buffer-stress"), load("sla-check"), load("hostile"));
    let view = view_of(&["rules/builtin/tests/scenarios/jitter-storm.yaml"]);
    // What the built-in rules found first, which every plugin of the pass reads.
    let earlier = hopscope_rules::eval::evaluate(&hopscope_rules::pack::builtin_default().rules, &view);
    assert!(!earlier.is_empty());
    let alone: Vec<_> = [&jitter, &sla, &copy]
        .iter()
        .map(|p| p.evaluate(&view, &earlier).expect("evaluates").findings)
        .collect();
    assert!(!alone[0].is_empty(), "the storm is found");
    assert!(
        alone[2][0].message.contains(&format!("{} streams", view.streams.len()))
            && alone[2][0].message.ends_with(&format!("{} earlier findings", earlier.len())),
        "{}",
        alone[2][0].message
    );
    let mut shared = hopscope_plugin::SharedInput::new(&view, &earlier);
    for round in 0..2 {
        for (i, p) in [&jitter, &sla, &copy, &jitter].iter().enumerate() {
            let e = p.evaluate_shared(&mut shared).expect("evaluates");
            assert_eq!(e.findings, alone[i % 3], "round {round}, plugin {i}");
        }
    }
    // A failing plugin in the middle of the pass takes nothing away from the next ones.
    let mut attack = view_of(&["rules/builtin/tests/scenarios/jitter-storm.yaml"]);
    attack.conference = "hostile:panic".into();
    let expected = jitter.evaluate(&attack, &earlier).expect("evaluates").findings;
    let mut shared = hopscope_plugin::SharedInput::new(&attack, &earlier);
    jitter.evaluate_shared(&mut shared).expect("evaluates");
    assert!(copy.evaluate_shared(&mut shared).is_err(), "the hostile plugin panics");
    assert_eq!(jitter.evaluate_shared(&mut shared).expect("evaluates").findings, expected);
}

#[test]
fn sla_breach_proposes_the_callback() {
    let host = host();
    let p = host.load_file(&wasm("sla-check")).expect("loads");
    let view = view_of(&[
        "tests/fixtures/chromium/p2p-lossy/alice.rtcstats",
        "tests/fixtures/chromium/p2p-lossy/bob.rtcstats",
    ]);
    let e = p.evaluate(&view, &[]).expect("evaluates");
    let mos: Vec<_> = e.findings.iter().filter(|f| f.rule == "sla-audio-mos").collect();
    assert!(!mos.is_empty(), "{:?}", e.findings);
    for f in mos {
        assert_eq!(f.severity, Severity::Error);
        assert_eq!(f.scope.scope, Scope::Participant);
        assert_eq!(f.actions, ["sla-breach"]);
        // Raised at the logical evaluation time: the end of the data.
        assert_eq!(f.raised_ms, view.ticks.last().expect("ticks").epoch_ms());
        assert!(f.open_at_end);
    }
}
