//! The attack suite: hostile plugins (plugins/hostile*, built from source) must each die
//! with their own typed error while the host keeps serving the good ones.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use hopscope_plugin::{Limits, Plugin, PluginError, PluginHost};
use hopscope_rules::catalogue::Scope;
use hopscope_rules::finding::Finding;
use hopscope_rules::view::{EntityRef, View};
use hopscope_score::QualityConfig;
use hopscope_tests::plugins::{load_case, wasm};
use hopscope_tests::root;

fn view_of(inputs: &[&str]) -> View {
    let paths: Vec<PathBuf> = inputs.iter().map(|p| root().join(p)).collect();
    View::build(&load_case(&paths).expect("inputs load"), &QualityConfig::default())
}

/// A small clean call; the hostile plugin reads its behaviour from the conference id.
fn direct_call() -> &'static View {
    static VIEW: OnceLock<View> = OnceLock::new();
    VIEW.get_or_init(|| {
        view_of(&[
            "tests/fixtures/chromium/p2p-direct/alice.rtcstats",
            "tests/fixtures/chromium/p2p-direct/bob.rtcstats",
        ])
    })
}

fn attack(behaviour: &str) -> View {
    let base = direct_call();
    let mut v = view_of(&[
        "tests/fixtures/chromium/p2p-direct/alice.rtcstats",
        "tests/fixtures/chromium/p2p-direct/bob.rtcstats",
    ]);
    assert_eq!(v.ticks.len(), base.ticks.len());
    v.conference = format!("hostile:{behaviour}").into();
    v
}

fn host_with(limits: Limits) -> PluginHost {
    PluginHost::new(limits).expect("the engine starts")
}

fn hostile(host: &PluginHost) -> Plugin {
    host.load_file(&wasm("hostile")).expect("the hostile plugin loads: it only misbehaves when run")
}

/// The benign answer of the hostile plugin on the direct call, with no earlier findings.
fn benign_message(view: &View) -> String {
    format!(
        "{} participants, {} streams, {} ticks, 0 earlier findings",
        view.participants.len(),
        view.streams.len(),
        view.ticks.len()
    )
}

fn jitter_storm() -> &'static (View, Vec<Finding>) {
    static STORM: OnceLock<(View, Vec<Finding>)> = OnceLock::new();
    STORM.get_or_init(|| {
        let view = view_of(&["rules/builtin/tests/scenarios/jitter-storm.yaml"]);
        let host = host_with(Limits::default());
        let good = host.load_file(&wasm("jitter-buffer-stress")).expect("loads");
        let findings = good.evaluate(&view, &[]).expect("evaluates").findings;
        assert!(!findings.is_empty());
        (view, findings)
    })
}

/// After an attack the same host still evaluates a good plugin correctly.
fn still_serves(host: &PluginHost) {
    let (view, expected) = jitter_storm();
    let good = host.load_file(&wasm("jitter-buffer-stress")).expect("loads");
    assert_eq!(&good.evaluate(view, &[]).expect("a good plugin still runs").findings, expected);
}

#[test]
fn infinite_loop_hits_the_wall_clock_deadline() {
    // Fuel for minutes of looping: the 250 ms deadline must stop it first.
    let host = host_with(Limits { max_fuel: 1 << 40, ..Limits::default() });
    let p = hostile(&host);
    let started = std::time::Instant::now();
    assert_eq!(
        p.evaluate(&attack("loop"), &[]).expect_err("the attack must fail"),
        PluginError::Deadline { ms: 250 }
    );
    assert!(started.elapsed().as_secs_f64() < 5.0, "stopped in {:?}", started.elapsed());
    still_serves(&host);
}

#[test]
fn infinite_loop_runs_out_of_fuel_under_a_lower_ceiling() {
    let host = host_with(Limits { max_fuel: 5_000_000, ..Limits::default() });
    let p = hostile(&host);
    assert_eq!(p.manifest().budget.fuel, 5_000_000, "the ceiling caps the declared budget");
    assert_eq!(
        p.evaluate(&attack("loop"), &[]).expect_err("the attack must fail"),
        PluginError::OutOfFuel { budget: 5_000_000 }
    );
    still_serves(&host);
}

/// Reading through the host (`stream-series`) costs fuel: a plugin that reads without end
/// runs out of it, at the same fuel ceiling as the busy loop, long before its deadline.
#[test]
fn endless_reads_through_the_host_run_out_of_fuel() {
    let host = host_with(Limits { max_fuel: 5_000_000, ..Limits::default() });
    let p = hostile(&host);
    let started = std::time::Instant::now();
    assert_eq!(
        p.evaluate(&attack("series-flood"), &[]).expect_err("the attack must fail"),
        PluginError::OutOfFuel { budget: 5_000_000 }
    );
    assert!(started.elapsed().as_secs_f64() < 5.0, "stopped in {:?}", started.elapsed());
    still_serves(&host);
}

/// A plugin reads on request only what its manifest lists, of streams that exist, and what
/// it reads is what the rules read.
#[test]
fn reads_on_request_serve_the_manifest_metrics_only() {
    let host = host_with(Limits::default());
    let p = hostile(&host);
    let view = attack("series-probe");
    let (id, _) = Scope::Stream.metric("jitter_buffer_ms").expect("a metric");
    let stream = (0..view.streams.len())
        .find(|&i| view.extreme(EntityRef::Stream(i), id, true).is_some())
        .expect("a stream with a jitter buffer");
    let mut expected = Vec::new();
    view.stream_numbers_into(stream, id, &mut expected);
    let highest = view.extreme(EntityRef::Stream(stream), id, true).expect("a value");
    let e = p.evaluate(&view, &[]).expect("evaluates");
    let message = &e.findings[0].message;
    // Another metric, a stream past the last, a name no metric has: nothing.
    let (head, values) = message.split_once(" | ").expect("the probe's answer");
    assert_eq!(head, format!("None None None {stream} {highest}"));
    // Two reads were served, and paid for in fuel: the summary read every stream's every
    // tick, the series one stream's; the refused ones cost nothing.
    let (streams, ticks) = (view.streams.len() as u64, view.ticks.len() as u64);
    assert_eq!(e.read_fuel, (1_000 + 8 * streams * ticks) + (1_000 + 8 * ticks));
    assert!(e.fuel_used > e.read_fuel);
    let read: Vec<f64> = values.split(',').map(|v| v.parse().expect("a number")).collect();
    assert_eq!(read.len(), view.ticks.len());
    for (a, b) in read.iter().zip(&expected) {
        assert!(a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()), "{a} != {b}");
    }
}

#[test]
fn memory_bomb_hits_the_memory_limit() {
    let host = host_with(Limits::default());
    let p = hostile(&host);
    assert_eq!(
        p.evaluate(&attack("memory"), &[]).expect_err("the attack must fail"),
        PluginError::MemoryLimit { limit_bytes: 32 << 20 }
    );
    still_serves(&host);
}

#[test]
fn unbounded_recursion_overflows_the_stack() {
    let host = host_with(Limits::default());
    let p = hostile(&host);
    assert_eq!(
        p.evaluate(&attack("recursion"), &[]).expect_err("the attack must fail"),
        PluginError::StackOverflow
    );
    still_serves(&host);
}

#[test]
fn panic_and_trap_are_traps_with_their_message() {
    // Four failures in a row here: keep quarantine out of it.
    let host = host_with(Limits { quarantine_after: 10, ..Limits::default() });
    let p = hostile(&host);
    match p.evaluate(&attack("panic"), &[]).expect_err("the attack must fail") {
        PluginError::Trap { message } => {
            assert!(message.contains("the hostile plugin gives up on purpose"), "{message}")
        }
        other => panic!("expected a trap, got {other:?}"),
    }
    match p.evaluate(&attack("trap"), &[]).expect_err("the attack must fail") {
        PluginError::Trap { message } => assert!(message.contains("unreachable"), "{message}"),
        other => panic!("expected a trap, got {other:?}"),
    }
    match p.evaluate(&attack("print"), &[]).expect_err("the attack must fail") {
        PluginError::Trap { message } => {
            assert!(
                message.contains("wasi:cli/stdout") && message.contains("the sandbox grants no WASI"),
                "{message}"
            )
        }
        other => panic!("expected a trap, got {other:?}"),
    }
    assert_eq!(
        p.evaluate(&attack("error"), &[]).expect_err("the attack must fail"),
        PluginError::Failed { message: "the hostile plugin refuses this conference".into() }
    );
    still_serves(&host);
}

#[test]
fn gigantic_output_is_refused() {
    let host = host_with(Limits::default());
    let p = hostile(&host);
    assert_eq!(
        p.evaluate(&attack("many"), &[]).expect_err("the attack must fail"),
        PluginError::OutputTooLarge { what: "5000 findings (at most 1000)".into() }
    );
    assert_eq!(
        p.evaluate(&attack("long"), &[]).expect_err("the attack must fail"),
        PluginError::OutputTooLarge { what: format!("a message of {} bytes (at most 4096)", 4 << 20) }
    );
    still_serves(&host);
}

#[test]
fn wrong_output_is_refused() {
    let host = host_with(Limits::default());
    let p = hostile(&host);
    let reason = |b: &str| match p.evaluate(&attack(b), &[]).expect_err("the attack must fail") {
        PluginError::BadOutput { reason } => reason,
        other => panic!("{b}: expected bad output, got {other:?}"),
    };
    assert_eq!(
        reason("undeclared"),
        "a finding of rule `not-in-the-manifest`, which the manifest does not declare"
    );
    assert!(reason("out-of-range").starts_with("stream 4294967295 does not exist"));
    assert_eq!(reason("bad-action"), "cap-bitrate on stream 0, which is not an outbound stream");
    still_serves(&host);
}

#[test]
fn log_flood_is_capped_and_counted() {
    let host = host_with(Limits::default());
    let p = hostile(&host);
    let e = p.evaluate(&attack("log-flood"), &[]).expect("flooding the log is not a failure");
    assert_eq!(e.logs.len(), 32);
    assert_eq!(e.logs_dropped, 10_000 - 32);
    assert!(e.logs.iter().all(|l| l.message.len() <= 1024 && l.level == "info"));
    assert!(e.logs[0].message.starts_with("line 0 yyy"));
    assert_eq!(e.findings.len(), 1);
}

#[test]
fn forbidden_imports_are_refused_at_load() {
    let host = host_with(Limits::default());
    match host.load_file(&wasm("hostile-import")).expect_err("the attack must fail") {
        PluginError::UnknownImport { name } => assert!(
            ["wasi:filesystem/", "wasi:sockets/", "wasi:clocks/"].iter().any(|p| name.starts_with(p)),
            "{name}"
        ),
        other => panic!("expected an unknown import, got {other:?}"),
    }
    still_serves(&host);
}

/// A plugin built with an older SDK imports the old world's interfaces: refused at load
/// with both versions named and the fix, not as an unknown import.
#[test]
fn plugins_of_an_older_world_are_refused_with_the_versions() {
    let host = host_with(Limits::default());
    // The smallest such component: one import of the old host interface, nothing else.
    let mut types = wasm_encoder::ComponentTypeSection::new();
    types.instance(&wasm_encoder::InstanceType::new());
    let mut imports = wasm_encoder::ComponentImportSection::new();
    imports.import("hopscope:plugin/host@0.2.0", wasm_encoder::ComponentTypeRef::Instance(0));
    let mut old_world = wasm_encoder::Component::new();
    old_world.section(&types).section(&imports);
    match host.load(&old_world.finish(), "old.wasm").expect_err("an old world must not load") {
        e @ PluginError::WitVersion { .. } => {
            let text = e.to_string();
            assert!(text.contains("built against hopscope:plugin@0.2.0"), "{text}");
            assert!(text.contains(&format!("this host speaks {}", hopscope_plugin::WIT_PACKAGE)), "{text}");
            assert!(text.contains("rebuild it"), "{text}");
        }
        other => panic!("expected a WIT version error, got {other:?}"),
    }
    still_serves(&host);
}

#[test]
fn bad_manifest_is_refused_at_load() {
    let host = host_with(Limits::default());
    match host.load_file(&wasm("hostile-manifest")).expect_err("the attack must fail") {
        PluginError::BadManifest { reason } => assert_eq!(reason, "rule id `twice` appears twice"),
        other => panic!("expected a bad manifest, got {other:?}"),
    }
    still_serves(&host);
}

#[test]
fn malformed_components_are_refused_at_load() {
    let host = host_with(Limits::default());
    let good = std::fs::read(wasm("jitter-buffer-stress")).expect("built");
    let cases: [(&str, Vec<u8>); 4] = [
        ("empty", Vec::new()),
        ("not wasm", b"#!/bin/sh\nrm -rf /\n".to_vec()),
        ("a core module, not a component", b"\0asm\x01\0\0\0".to_vec()),
        ("truncated", good[..good.len() / 2].to_vec()),
    ];
    for (what, bytes) in cases {
        match host.load(&bytes, what).expect_err("the attack must fail") {
            PluginError::Malformed { reason } => assert!(!reason.is_empty(), "{what}"),
            other => panic!("{what}: expected malformed, got {other:?}"),
        }
    }
    still_serves(&host);
}

#[test]
fn repeated_failures_quarantine_the_plugin() {
    let host = host_with(Limits { quarantine_after: 3, ..Limits::default() });
    let p = hostile(&host);
    let view = attack("panic");
    for _ in 0..3 {
        assert!(matches!(
            p.evaluate(&view, &[]).expect_err("the attack must fail"),
            PluginError::Trap { .. }
        ));
    }
    assert!(p.is_quarantined());
    match p.evaluate(direct_call(), &[]).expect_err("the attack must fail") {
        PluginError::Quarantined { failures, last } => {
            assert_eq!(failures, 3);
            assert!(last.contains("gives up on purpose"), "{last}");
        }
        other => panic!("expected quarantine, got {other:?}"),
    }
    // Another instance of the same component is unaffected, and so is the host.
    let other = hostile(&host);
    assert_eq!(
        other.evaluate(direct_call(), &[]).expect("runs").findings[0].message,
        benign_message(direct_call())
    );
    // A success in between resets the count; the operator can release a quarantine.
    p.release();
    assert!(p.evaluate(&view, &[]).is_err());
    assert!(p.evaluate(direct_call(), &[]).is_ok());
    assert!(p.evaluate(&view, &[]).is_err());
    assert!(p.evaluate(&view, &[]).is_err());
    assert!(!p.is_quarantined(), "two failures in a row after a success are not three");
    still_serves(&host);
}

#[test]
fn many_evaluations_at_once_with_hostile_plugins_mixed_in() {
    let host = host_with(Limits { quarantine_after: u32::MAX, ..Limits::default() });
    let good = Arc::new(host.load_file(&wasm("jitter-buffer-stress")).expect("loads"));
    let sla = Arc::new(host.load_file(&wasm("sla-check")).expect("loads"));
    let bad = Arc::new(hostile(&host));
    let (storm, expected) = jitter_storm();
    let sla_expected = Arc::new(sla.evaluate(storm, &[]).expect("evaluates").findings);
    let attacks: Vec<(View, &str)> = [
        ("memory", "memory-limit"),
        ("recursion", "stack-overflow"),
        ("panic", "trap"),
        ("many", "output-too-large"),
        ("undeclared", "bad-output"),
    ]
    .into_iter()
    .map(|(b, code)| (attack(b), code))
    .collect();
    let attacks = Arc::new(attacks);
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let (good, sla, bad, attacks) = (good.clone(), sla.clone(), bad.clone(), attacks.clone());
            let sla_expected = sla_expected.clone();
            std::thread::spawn(move || {
                let mut good_runs = 0;
                for i in 0..12 {
                    match (t + i) % 3 {
                        0 => {
                            assert_eq!(&good.evaluate(storm, &[]).expect("good").findings, expected);
                            good_runs += 1;
                        }
                        1 => {
                            assert_eq!(sla.evaluate(storm, &[]).expect("good").findings, *sla_expected);
                            let benign = bad.evaluate(direct_call(), &[]).expect("benign");
                            assert_eq!(benign.findings[0].message, benign_message(direct_call()));
                            good_runs += 2;
                        }
                        _ => {
                            let (view, code) = &attacks[(t + i) % attacks.len()];
                            assert_eq!(
                                bad.evaluate(view, &[]).expect_err("the attack must fail").code(),
                                *code
                            );
                        }
                    }
                }
                good_runs
            })
        })
        .collect();
    let good_runs: usize = threads.into_iter().map(|t| t.join().expect("no thread panicked")).sum();
    assert_eq!(good_runs, 8 * 12 / 3 * 3);
    still_serves(&host);
}
