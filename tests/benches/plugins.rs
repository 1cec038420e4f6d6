//! WASM plugin figures: the fixed cost of a fresh sandbox per evaluation (target: p99 under
//! 50 µs) and a 50-participant SFU conference through the example plugins, with the fuel
//! each one uses (reads through the host included). Percentiles are printed first (the targets are percentiles), then
//! criterion measures the same calls.
//!
//! cargo bench -p hopscope-tests --bench plugins

use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use hopscope_plugin::{Limits, Plugin, PluginHost, PluginRules};
use hopscope_rules::view::View;
use hopscope_score::QualityConfig;
use hopscope_tests::plugins::wasm;
use hopscope_tests::{percentile, sfu_50_conference};

const SAMPLES: usize = 2_000;

fn report(what: &str, mut times: Vec<Duration>) {
    times.sort();
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    println!(
        "{what}: p50 {:.1} µs, p99 {:.1} µs, max {:.1} µs ({} runs)",
        us(percentile(&times, 0.5)),
        us(percentile(&times, 0.99)),
        us(times[times.len() - 1]),
        times.len()
    );
}

fn sfu_50() -> View {
    View::build(&sfu_50_conference(), &QualityConfig::default())
}

fn timed(n: usize, mut f: impl FnMut()) -> Vec<Duration> {
    (0..n)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect()
}

fn benches(c: &mut Criterion) {
    let host = PluginHost::new(Limits::default()).expect("engine");
    let plugins: Vec<Plugin> = ["jitter-buffer-stress", "sla-check", "sender-freeze"]
        .iter()
        .map(|name| host.load_file(&wasm(name)).expect("loads"))
        .collect();
    let mut view = sfu_50();
    println!(
        "sfu-50: {} participants, {} peer connections, {} streams, {} ticks",
        view.participants.len(),
        view.pcs.len(),
        view.streams.len(),
        view.ticks.len()
    );

    for p in &plugins {
        // Warm the pool's slots and the copy-on-write images first.
        p.fresh_instance().expect("instantiates");
        report(
            &format!("fresh instance ({})", p.manifest().name),
            timed(SAMPLES, || p.fresh_instance().expect("instantiates")),
        );
    }
    for p in &plugins {
        let e = p.evaluate(&view, &[]).expect("evaluates");
        println!(
            "{}: {} findings, fuel {} of {} budgeted ({} of it for reads through the host)",
            p.manifest().name,
            e.findings.len(),
            e.fuel_used,
            p.manifest().budget.fuel,
            e.read_fuel
        );
        report(
            &format!("sfu-50 through {}", p.manifest().name),
            timed(200, || {
                // Each run pays for what a fresh view's first reader pays for.
                view.forget_memos();
                p.evaluate(&view, &[]).expect("evaluates");
            }),
        );
    }
    // The hostile plugin's benign path reads one stream series and does next to nothing
    // with it: what is left is the cost of copying the conference into a sandbox.
    let copy_only = host.load_file(&wasm("hostile")).expect("loads");
    let e = copy_only.evaluate(&view, &[]).expect("evaluates");
    println!("copy only (all 5000 streams, one series): fuel {}", e.fuel_used);
    report(
        "sfu-50 copied into a sandbox (one stream series)",
        timed(200, || {
            view.forget_memos();
            copy_only.evaluate(&view, &[]).expect("evaluates");
        }),
    );
    // The same component reading every stream's series one call at a time: the worst case
    // of reading on request, against taking the metric whole just above.
    let conference = std::mem::replace(&mut view.conference, "hostile:series-all".into());
    let e = copy_only.evaluate(&view, &[]).expect("evaluates");
    println!("{}: fuel {}, {} of it for the reads", e.findings[0].message, e.fuel_used, e.read_fuel);
    report(
        "sfu-50, every stream's series read on request (5000 calls)",
        timed(200, || {
            copy_only.evaluate(&view, &[]).expect("evaluates");
        }),
    );
    view.conference = conference;
    report(
        "sfu-50 through the three examples, one pass",
        timed(200, || {
            view.forget_memos();
            let pass = PluginRules::new(&plugins);
            std::hint::black_box(pass.evaluate_view(&view, &[]));
            assert!(pass.errors().is_empty());
        }),
    );

    let mut g = c.benchmark_group("plugins");
    g.bench_function("fresh instance", |b| b.iter(|| plugins[0].fresh_instance().expect("instantiates")));
    g.sample_size(20);
    g.bench_function("sfu-50 through the three examples", |b| {
        b.iter(|| {
            view.forget_memos();
            std::hint::black_box(PluginRules::new(&plugins).evaluate_view(&view, &[]));
        })
    });
    g.finish();
}

criterion_group!(plugin_benches, benches);
criterion_main!(plugin_benches);
