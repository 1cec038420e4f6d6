//! Rule evaluation figures: the built-in pack on a 50-participant SFU conference snapshot
//! (target: p99 under 2 ms on one core) and load-time validation of a 500-rule bundle
//! (target: under 1 s). A bench binary rather than criterion because the target is a
//! percentile: it prints p50/p99/max over many timed snapshots.
//!
//! cargo bench -p hopscope-tests --bench rules

use std::time::{Duration, Instant};

use cpu_time::ThreadTime;

use hopscope_rules::eval::{Evaluator, evaluate};
use hopscope_rules::pack::{BUILTIN, LoadMode, Overrides, builtin_default, load_sources};
use hopscope_rules::view::View;
use hopscope_score::QualityConfig;
use hopscope_tests::{percentile, sfu_50_conference};

fn snapshots() -> usize {
    std::env::var("HOPSCOPE_BENCH_SNAPSHOTS").ok().and_then(|s| s.parse().ok()).unwrap_or(300)
}
const BUNDLE_RULES: usize = 500;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn snapshot() {
    let conference = sfu_50_conference();
    let rules = &builtin_default().rules;

    let started = Instant::now();
    let view = View::build(&conference, &QualityConfig::default());
    let build = started.elapsed();

    let mut evaluator = Evaluator::new(rules, &view);
    let last = view.ticks.len() - 1;
    let mut sink = Vec::new();
    for tick in 0..last {
        evaluator.step(&view, tick, &mut sink);
    }
    // For a profiler: step the same evaluator over and over, nothing else.
    if std::env::var_os("HOPSCOPE_BENCH_PROFILE_STEP").is_some() {
        let mut e = evaluator.clone();
        let mut out = Vec::new();
        for _ in 0..3000 {
            e.step(&view, last, &mut out);
            out.clear();
        }
    }
    let mut step_times = Vec::new();
    let mut cpu_times = Vec::new();
    let mut times: Vec<Duration> = (0..snapshots())
        .map(|_| {
            let mut e = evaluator.clone();
            let mut out = Vec::new();
            let started_cpu = ThreadTime::now();
            let started = Instant::now();
            e.step(&view, last, &mut out);
            step_times.push(started.elapsed());
            let open = e.open(&view, last);
            let took = started.elapsed();
            cpu_times.push(started_cpu.elapsed());
            std::hint::black_box((out, open));
            took
        })
        .collect();
    times.sort();
    step_times.sort();
    cpu_times.sort();

    let started = Instant::now();
    let findings = evaluate(rules, &view);
    let whole = started.elapsed();

    println!(
        "50-participant SFU snapshot: {} participants, {} streams, {} peer connections, {} hops, {} rules, {} (rule, entity) tracks",
        view.participants.len(),
        view.streams.len(),
        view.pcs.len(),
        view.hops.len(),
        rules.len(),
        evaluator.tracked()
    );
    println!(
        "  one snapshot (every rule, one tick, open findings rendered): p50 {:.3} ms, p90 {:.3} ms, p99 {:.3} ms, max {:.3} ms over {} runs (target p99 < 2 ms)",
        ms(percentile(&times, 0.5)),
        ms(percentile(&times, 0.9)),
        ms(percentile(&times, 0.99)),
        ms(times[times.len() - 1]),
        times.len()
    );
    println!(
        "  the same in CPU time of the evaluating thread (what preemption on a busy machine does not inflate): p50 {:.3} ms, p99 {:.3} ms",
        ms(percentile(&cpu_times, 0.5)),
        ms(percentile(&cpu_times, 0.99))
    );
    println!(
        "  of which stepping the rules: p50 {:.3} ms, p99 {:.3} ms; rendering the open findings the rest",
        ms(percentile(&step_times, 0.5)),
        ms(percentile(&step_times, 0.99))
    );
    println!(
        "  view build {:.1} ms; whole call ({} ticks) evaluated in {:.1} ms, {} findings",
        ms(build),
        view.ticks.len(),
        ms(whole),
        findings.len()
    );
}

/// 500 distinct rules: the built-in pack's rules renamed and re-thresholded, so the bundle
/// exercises every scope, function and template the pack uses.
fn bundle() -> Vec<(String, String)> {
    let mut files = Vec::new();
    let mut count = 0;
    let mut copy = 0;
    while count < BUNDLE_RULES {
        for (name, text) in BUILTIN {
            let renamed = text.replace("  - id: ", &format!("  - id: c{copy}-"));
            count += renamed.matches("  - id: ").count();
            files.push((format!("bundle/{copy}/{name}"), renamed));
        }
        copy += 1;
    }
    files
}

fn validation() {
    let files = bundle();
    let mut times = Vec::new();
    let mut rules = 0;
    for _ in 0..10 {
        let started = Instant::now();
        let set = load_sources(
            files.iter().map(|(n, t)| (n.as_str(), t.as_str())),
            &Overrides::default(),
            LoadMode::Strict,
        );
        times.push(started.elapsed());
        assert!(!set.has_errors(), "{:?}", set.diagnostics.first());
        rules = set.rules.len();
    }
    times.sort();
    let bytes: usize = files.iter().map(|(_, t)| t.len()).sum();
    println!(
        "{rules}-rule bundle ({} files, {} KiB) parsed and checked: median {:.1} ms, max {:.1} ms (target < 1 s)",
        files.len(),
        bytes / 1024,
        ms(times[times.len() / 2]),
        ms(times[times.len() - 1])
    );
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing else we need.
    snapshot();
    validation();
}
