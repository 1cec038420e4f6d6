//! Rhai script rules on the 50-participant SFU conference of the rules bench: 20 scripts (the
//! two examples and 18 of the shapes customers write: thresholds over streams, peer
//! connections, participants and hops, counts over time, roll-ups of the YAML findings), every
//! one run over the whole call per evaluation, after the built-in YAML rules. Prints p50/p99
//! of one evaluation of all 20 and, per rule, the operations it used and its median time.
//! A bench binary rather than criterion, like the rules bench, because the targets are
//! percentiles (issue 6: p99 under 5 ms on one core for 20 scripts and 5 WASM plugins).
//!
//! cargo bench -p hopscope-tests --bench rhai

use std::time::{Duration, Instant};

use hopscope_rules::pack::builtin_default;
use hopscope_rules::view::View;
use hopscope_score::QualityConfig;
use hopscope_script::{Limits, ScriptSet};
use hopscope_tests::{percentile, root, sfu_50_conference};

fn runs() -> usize {
    std::env::var("HOPSCOPE_BENCH_SNAPSHOTS").ok().and_then(|s| s.parse().ok()).unwrap_or(200)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn header(id: &str, scope: &str, category: &str) -> String {
    format!(
        "fn describe() {{ #{{ id: \"{id}\", version: 1, description: \"bench\", scope: \"{scope}\", \
         severity: \"warning\", category: \"{category}\" }} }}\n"
    )
}

/// The worst of a metric per entity of a collection, through the native summary.
fn threshold(id: &str, scope: &str, collection: &str, metric: &str, above: f64) -> String {
    format!(
        "{}fn evaluate(conf) {{
    let out = [];
    for e in conf.{collection} {{
        let s = e.summary(\"{metric}\");
        if s.max != () && s.max > {above} {{
            out.push(#{{ about: e, raised: s.max_at, evidence: [\"{metric}\"],
                        message: `${{e.name}}: {metric} up to ${{s.max.round()}}` }});
        }}
    }}
    out
}}\n",
        header(id, scope, "quality")
    )
}

/// Ticks below a floor per participant, read tick by tick in the script.
fn count_below(id: &str, metric: &str, floor: f64, ticks: i64) -> String {
    format!(
        "{}fn evaluate(conf) {{
    let out = [];
    for p in conf.participants() {{
        let n = 0;
        let first = ();
        let t = 0;
        for v in p.series(\"{metric}\") {{
            if v != () && v < {floor} {{ n += 1; if first == () {{ first = t; }} }}
            t += 1;
        }}
        if n >= {ticks} {{ out.push(#{{ about: p, raised: first, samples: n, message: `${{p.id}}: {metric} below {floor} for ${{n}} ticks` }}); }}
    }}
    out
}}\n",
        header(id, "participant", "quality")
    )
}

/// The YAML findings rolled up per participant.
fn rollup(id: &str, at_least: i64) -> String {
    format!(
        "{}fn evaluate(conf) {{
    let per = #{{}};
    for f in conf.findings() {{
        if f.participant == () {{ continue; }}
        let k = f.participant;
        per[k] = (per[k] ?? 0) + 1;
    }}
    let out = [];
    for p in conf.participants() {{
        let n = per[p.id] ?? 0;
        if n >= {at_least} {{ out.push(#{{ about: p, message: `${{p.id}}: ${{n}} findings` }}); }}
    }}
    out
}}\n",
        header(id, "participant", "quality")
    )
}

fn scripts() -> Vec<(String, String)> {
    let inbound = "streams(\"inbound\")";
    let video_in = "streams(\"inbound\", \"video\")";
    let audio_in = "streams(\"inbound\", \"audio\")";
    let outbound = "streams(\"outbound\")";
    let mut out: Vec<(String, String)> = ["lone-audio-concealer.rhai", "sla-heard-audio.rhai"]
        .iter()
        .map(|n| {
            let path = root().join("rules/examples/rhai").join(n);
            (n.to_string(), std::fs::read_to_string(&path).expect("example script"))
        })
        .collect();
    let generated = [
        threshold("s-loss", "stream", inbound, "loss_percent", 5.0),
        threshold("s-jitter", "stream", inbound, "jitter_ms", 30.0),
        threshold("s-conceal", "stream", audio_in, "concealment_percent", 5.0),
        threshold("s-frozen", "stream", video_in, "frozen_percent", 10.0),
        threshold("s-jbuf", "stream", audio_in, "jitter_buffer_ms", 200.0),
        threshold("s-rtt", "stream", outbound, "rtt_ms", 300.0),
        threshold("s-retx", "stream", outbound, "retransmit_percent", 10.0),
        threshold("s-cpu", "stream", outbound, "cpu_limited_percent", 50.0),
        threshold("pc-rtt", "peer_connection", "peer_connections()", "rtt_ms", 300.0),
        threshold("pc-reconnect", "peer_connection", "peer_connections()", "reconnections", 0.0),
        threshold("hop-loss", "hop", "hops()", "loss_percent", 3.0),
        threshold("hop-jitter", "hop", "hops()", "jitter_ms", 30.0),
        threshold("hop-rtt", "hop", "hops()", "rtt_ms", 250.0),
        threshold("p-heard-loss", "participant", "participants()", "heard_loss_percent", 3.0),
        count_below("p-mos", "heard_mos", 3.6, 3),
        count_below("p-video", "seen_video_quality", 3.0, 3),
        rollup("p-rollup", 3),
        rollup("p-rollup-any", 1),
    ];
    out.extend(generated.into_iter().enumerate().map(|(i, text)| (format!("generated-{i}.rhai"), text)));
    out
}

fn main() {
    let conference = sfu_50_conference();
    let view = View::build(&conference, &QualityConfig::default());
    let earlier = hopscope_rules::eval::evaluate(&builtin_default().rules, &view);

    let started = Instant::now();
    let mut set = ScriptSet::new(Limits::default());
    for (name, text) in scripts() {
        set.add(&name, &text).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    let load = started.elapsed();

    let first = set.run(&view, &earlier);
    for r in &first.rules {
        assert!(r.error.is_none(), "{}: {:?}", r.rule, r.error);
    }
    let mut times = Vec::new();
    let mut per_rule: Vec<Vec<Duration>> = vec![Vec::new(); first.rules.len()];
    for _ in 0..runs() {
        let started = Instant::now();
        let run = set.run(&view, &earlier);
        times.push(started.elapsed());
        for (i, r) in run.rules.iter().enumerate() {
            per_rule[i].push(r.elapsed);
        }
        std::hint::black_box(run);
    }
    times.sort();
    println!(
        "50-participant SFU conference: {} participants, {} streams, {} peer connections, {} hops, {} ticks, {} YAML findings in",
        view.participants.len(),
        view.streams.len(),
        view.pcs.len(),
        view.hops.len(),
        view.ticks.len(),
        earlier.len()
    );
    println!("  20 Rhai scripts compiled and described in {:.1} ms", ms(load));
    println!(
        "  one evaluation of all {} scripts over the whole call: p50 {:.3} ms, p90 {:.3} ms, p99 {:.3} ms, max {:.3} ms over {} runs, {} findings (target p99 < 5 ms)",
        set.scripts().len(),
        ms(percentile(&times, 0.5)),
        ms(percentile(&times, 0.9)),
        ms(percentile(&times, 0.99)),
        ms(times[times.len() - 1]),
        times.len(),
        first.findings.len()
    );
    let total: u64 = first.rules.iter().map(|r| r.operations).sum();
    println!("  operations per rule (budget {}), total {total}:", set.limits().max_operations);
    for (i, r) in first.rules.iter().enumerate() {
        per_rule[i].sort();
        println!(
            "    {:24} {:>8} ops  p50 {:.3} ms  p99 {:.3} ms  {} findings",
            r.rule,
            r.operations,
            ms(percentile(&per_rule[i], 0.5)),
            ms(percentile(&per_rule[i], 0.99)),
            r.findings
        );
    }
}
