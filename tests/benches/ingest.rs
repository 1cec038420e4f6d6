//! Where a stats report's CPU goes on its way in (issue 7: 20,000 reports/s ingested and
//! evaluated on 2 cores): the ingest check, the durable store (compression, SQLite, group
//! commit) and the live evaluation's parse of it. The figures are CPU time per report, so
//! they add up to cores at a given rate, which `hopscope loadgen`'s end-to-end figures on a
//! noisy machine cannot show part by part. A bench binary that prints figures, not a timed
//! test.
//!
//! cargo bench -p hopscope-tests --bench ingest

use std::sync::mpsc;
use std::time::{Duration, Instant};

use cpu_time::{ProcessTime, ThreadTime};
use hopscope_ingest::{Limits, LiveIngest};
use hopscope_server::batch::{BatchLimits, check};
use hopscope_store::{Batch, BatchPart, SqliteStore, Store};
use hopscope_tests::root;

/// One report as a collector sends it: its conference, its time and its NDJSON line
/// (newline included), the request body it travels in.
struct Report {
    conference: String,
    timestamp_ms: f64,
    body: String,
}

/// The 4-party SFU call `hopscope loadgen` plays (60 s), every collector's reports.
fn reports() -> Vec<Report> {
    let path = root().join("examples/scenarios/sfu-wifi-loss.yaml");
    let text = std::fs::read_to_string(&path).expect("the loadgen scenario");
    let scenario = hopscope_sim::Scenario::from_yaml(&text).expect("scenario");
    let sim = hopscope_sim::simulate(&scenario);
    let outputs = sim.participants.iter().map(|p| &p.ndjson).chain(sim.servers.iter().map(|s| &s.ndjson));
    let mut out = Vec::new();
    for ndjson in outputs {
        for line in ndjson.lines() {
            let v: serde_json::Value = serde_json::from_str(line).expect("simulated JSON");
            out.push(Report {
                conference: v["conference"].as_str().unwrap_or("room").to_string(),
                timestamp_ms: v["timestamp"].as_f64().unwrap_or(0.0),
                body: format!("{line}\n"),
            });
        }
    }
    out
}

fn rounds() -> usize {
    std::env::var("HOPSCOPE_BENCH_ROUNDS").ok().and_then(|s| s.parse().ok()).unwrap_or(20)
}

fn us_per(d: Duration, n: usize) -> f64 {
    d.as_secs_f64() * 1e6 / n.max(1) as f64
}

/// The server's check of each report as its own request body.
fn time_check(reports: &[Report]) -> Duration {
    let limits = BatchLimits { max_bytes: 8 << 20, max_observations: 1000, max_skew_ms: 86_400_000.0 };
    let started = ThreadTime::now();
    for _ in 0..rounds() {
        for r in reports {
            let checked =
                check(r.body.as_bytes(), "bench", r.timestamp_ms as i64, &limits).expect("a valid report");
            std::hint::black_box(checked);
        }
    }
    started.elapsed()
}

/// Durable appends of one report each, `in_flight` at a time as concurrent requests send
/// them (the writer commits them in groups): the whole process's CPU time, and the wall time.
fn time_store(reports: &[Report], in_flight: usize) -> (Duration, Duration) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = SqliteStore::open(dir.path()).expect("store");
    store.ensure_app("bench").expect("app");
    let (cpu, wall) = (ProcessTime::now(), Instant::now());
    let mut n = 0usize;
    for round in 0..rounds() {
        for chunk in reports.chunks(in_flight) {
            let (done, answers) = mpsc::channel();
            for r in chunk {
                n += 1;
                let batch = Batch {
                    app: "bench".into(),
                    batch_id: format!("key:{round}-{n}"),
                    received_ms: r.timestamp_ms as i64,
                    parts: vec![BatchPart {
                        conference: format!("{}-{round}", r.conference),
                        ndjson: r.body.clone().into_bytes(),
                        observations: 1,
                        users: Vec::new(),
                    }],
                    unfiled: Vec::new(),
                    unfiled_observations: 0,
                };
                let done = done.clone();
                store.append_then(
                    batch,
                    Box::new(move |result| {
                        let _ = done.send(result.is_ok());
                    }),
                );
            }
            drop(done);
            assert!(answers.iter().all(|stored| stored), "every append is stored");
        }
    }
    (cpu.elapsed(), wall.elapsed())
}

/// A live evaluation's reading of the call, report by report as they arrive.
fn time_parse(reports: &[Report]) -> Duration {
    let started = ThreadTime::now();
    for _ in 0..rounds() {
        let mut live = LiveIngest::new("observations.ndjson", &Limits::default());
        for r in reports {
            live.read(r.body.as_bytes()).expect("a valid report");
        }
        std::hint::black_box(live.ingested().expect("ingested"));
    }
    started.elapsed()
}

fn main() {
    let reports = reports();
    let n = reports.len() * rounds();
    let bytes: usize = reports.iter().map(|r| r.body.len()).sum();
    println!(
        "sfu-wifi-loss (4 people through an SFU, 60 s, as loadgen plays it): {} reports, mean {:.1} KB, {} rounds",
        reports.len(),
        bytes as f64 / reports.len() as f64 / 1000.0,
        rounds()
    );
    let check_us = us_per(time_check(&reports), n);
    let (store_cpu, store_wall) = time_store(&reports, 64);
    let store_us = us_per(store_cpu, n);
    let parse_us = us_per(time_parse(&reports), n);
    println!("  ingest check, one report per request: {check_us:.1} µs CPU per report");
    println!(
        "  durable store, 64 requests in flight: {store_us:.1} µs CPU per report (compression, SQLite, group commit), {:.0} reports/s through the writer",
        n as f64 / store_wall.as_secs_f64()
    );
    println!("  live evaluation's parse, report by report: {parse_us:.1} µs CPU per report");
    let cores = |us: f64| us * 20_000.0 / 1e6;
    println!(
        "  at 20,000 reports/s: ingest {:.2} cores (check {:.2}, store {:.2}), parse {:.2} cores, before diagnosing",
        cores(check_us + store_us),
        cores(check_us),
        cores(store_us),
        cores(parse_us)
    );
}
