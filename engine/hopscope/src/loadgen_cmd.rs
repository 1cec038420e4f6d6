//! `hopscope loadgen`: many simulated conferences played at once, in real time, against a
//! running server. Each participant (and each observing media server) sends what it
//! collected every `--batch-every` seconds, as a collector SDK would.

use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::cli::{LoadgenArgs, OutputFormat};

/// One collector's batches: (seconds into the call, NDJSON body, reports, stats objects).
type Batches = Vec<(f64, String, usize, usize)>;

#[derive(Debug, Default, Serialize)]
struct Report {
    conferences: usize,
    duration_s: f64,
    requests: usize,
    accepted: usize,
    failed: usize,
    failures: Vec<String>,
    reports_sent: usize,
    stats_objects_sent: usize,
    reports_per_s: f64,
    stats_objects_per_s: f64,
    megabytes_per_s: f64,
    latency_ms_p50: f64,
    latency_ms_p95: f64,
    latency_ms_p99: f64,
    latency_ms_max: f64,
    server: Option<ServerFigures>,
}

#[derive(Debug, Default, Serialize)]
struct ServerFigures {
    evaluations: f64,
    evaluation_ms_mean: f64,
    /// How long the oldest data not yet evaluated had waited when the run ended.
    evaluation_lag_s: f64,
    live_conferences: f64,
    resident_mib_before: f64,
    resident_mib_after: f64,
    resident_kib_per_live_conference: f64,
    /// Live evaluations that read only what arrived since the last one.
    reads_continued: f64,
    /// Live evaluations that read their conference from the start.
    reads_from_start: f64,
    /// Memory kept of what live evaluations read, at the end.
    read_kept_mib: f64,
}

fn now_ms() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as f64)
        .unwrap_or(0.0)
}

/// Simulates the scenario starting now and cuts each collector's lines into batches.
fn collectors(args: &LoadgenArgs) -> anyhow::Result<(String, Vec<Batches>)> {
    let text = std::fs::read_to_string(&args.scenario)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", args.scenario.display()))?;
    let start = hopscope_model::Timestamp::from_epoch_ms((now_ms() / 1000.0).ceil() * 1000.0)
        .ok_or_else(|| anyhow::anyhow!("the clock is not a time"))?
        .to_rfc3339();
    // Replace (or add) the scenario's start so its timestamps are now.
    let mut lines: Vec<String> =
        text.lines().filter(|l| !l.starts_with("start:")).map(str::to_string).collect();
    lines.insert(0, format!("start: {start}"));
    let scenario = hopscope_sim::Scenario::from_yaml(&lines.join("\n"))?;
    let sim = hopscope_sim::simulate(&scenario);
    let t0 = hopscope_model::Timestamp::parse_rfc3339(&start).map(|t| t.epoch_ms()).unwrap_or(0.0);
    let mut conference = String::new();
    let outputs = sim.participants.iter().map(|p| &p.ndjson).chain(sim.servers.iter().map(|s| &s.ndjson));
    let mut all = Vec::new();
    for ndjson in outputs {
        let mut batches: Batches = Vec::new();
        for line in ndjson.lines() {
            let v: serde_json::Value = serde_json::from_str(line)?;
            if conference.is_empty()
                && let Some(c) = v["conference"].as_str()
            {
                conference = c.to_string();
            }
            let at = (v["timestamp"].as_f64().unwrap_or(t0) - t0) / 1000.0;
            if at > args.duration {
                break;
            }
            let objects = v["stats"]
                .as_array()
                .map(Vec::len)
                .or_else(|| v["stats"].as_object().map(|o| o.len()))
                .unwrap_or(0);
            let slot = ((at / args.batch_every).floor() + 1.0) * args.batch_every;
            match batches.last_mut() {
                Some(b) if b.0 == slot => {
                    b.1.push_str(line);
                    b.1.push('\n');
                    b.2 += 1;
                    b.3 += objects;
                }
                _ => batches.push((slot, format!("{line}\n"), 1, objects)),
            }
        }
        all.push(batches);
    }
    Ok((conference, all))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

async fn scrape(client: &reqwest::Client, url: &str) -> Option<std::collections::HashMap<String, f64>> {
    let text = client.get(format!("{url}/metrics")).send().await.ok()?.text().await.ok()?;
    Some(
        text.lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let (k, v) = l.rsplit_once(' ')?;
                Some((k.to_string(), v.parse().ok()?))
            })
            .collect(),
    )
}

pub fn run(args: &LoadgenArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        args.batch_every > 0.0 && args.duration > 0.0,
        "--batch-every and --duration must be positive"
    );
    let (template_conference, collectors) = collectors(args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let report = runtime.block_on(play(args, template_conference, collectors))?;
    match args.format {
        OutputFormat::Json => outln!("{}", serde_json::to_string_pretty(&report)?),
        OutputFormat::Text => {
            outln!(
                "{} conferences for {:.0} s: {} requests, {} accepted, {} failed",
                report.conferences,
                report.duration_s,
                report.requests,
                report.accepted,
                report.failed
            );
            for f in report.failures.iter().take(5) {
                outln!("  failure: {f}");
            }
            outln!(
                "sent {} getStats reports ({:.0}/s) holding {} stats objects ({:.0}/s), {:.1} MB/s",
                report.reports_sent,
                report.reports_per_s,
                report.stats_objects_sent,
                report.stats_objects_per_s,
                report.megabytes_per_s
            );
            outln!(
                "ingest latency (from when each batch was due to its durable commit): p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
                report.latency_ms_p50,
                report.latency_ms_p95,
                report.latency_ms_p99,
                report.latency_ms_max
            );
            if let Some(s) = &report.server {
                outln!(
                    "server: {:.0} evaluations, mean {:.1} ms, live views {:.1} s behind at the end; {:.0} live conferences; resident {:.1} → {:.1} MiB ({:.0} KiB per live conference)",
                    s.evaluations,
                    s.evaluation_ms_mean,
                    s.evaluation_lag_s,
                    s.live_conferences,
                    s.resident_mib_before,
                    s.resident_mib_after,
                    s.resident_kib_per_live_conference
                );
                outln!(
                    "live reads: {:.0} of only what was new, {:.0} from the start of the call; {:.1} MiB kept (live_read_cache_mib)",
                    s.reads_continued,
                    s.reads_from_start,
                    s.read_kept_mib
                );
            }
        }
    }
    Ok(if report.failed == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// One batch due to be sent: when (seconds from the start), by which collector of which
/// conference, and which of its batches.
#[derive(Clone, Copy)]
struct Due {
    at: f64,
    conference: usize,
    collector: usize,
    batch: usize,
}

/// A template body cut where it names the template conference, so each conference's body
/// is the pieces joined by its own name: one copy, no search, per request.
fn cut(body: &str, template: &str) -> Vec<String> {
    body.split(template).map(str::to_string).collect()
}

async fn play(args: &LoadgenArgs, template: String, collectors: Vec<Batches>) -> anyhow::Result<Report> {
    anyhow::ensure!(args.connections > 0, "--connections must be at least 1");
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(args.connections)
        .build()?;
    let url = args.url.trim_end_matches('/').to_string();
    let before = scrape(&client, &url).await;
    let run_id = format!("{:x}", now_ms() as u64);
    let from = format!("\"conference\":\"{template}\"");
    let pieces: Arc<Vec<Vec<Vec<String>>>> =
        Arc::new(collectors.iter().map(|c| c.iter().map(|b| cut(&b.1, &from)).collect()).collect());
    // Every batch of every collector of every conference, in the order they fall due;
    // collectors are spread over the batch interval, as real clients are.
    let senders = collectors.len();
    let mut schedule: Vec<Due> = Vec::new();
    for conference in 0..args.conferences {
        for (collector, batches) in collectors.iter().enumerate() {
            let jitter = args.batch_every * ((conference * senders + collector) % 997) as f64 / 997.0;
            for (batch, b) in batches.iter().enumerate() {
                schedule.push(Due { at: b.0 + jitter, conference, collector, batch });
            }
        }
    }
    schedule.sort_by(|a, b| a.at.total_cmp(&b.at));
    let schedule = Arc::new(schedule);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let latencies: Arc<Mutex<Vec<f64>>> = Arc::default();
    let failures: Arc<Mutex<Vec<String>>> = Arc::default();
    let sent: Arc<Mutex<(usize, usize, usize, usize)>> = Arc::default();
    let collectors = Arc::new(collectors);
    let started = Instant::now();
    let mut tasks = Vec::new();
    // Each connection takes the next due batch, waits for its time, sends it and reads
    // the answer. When the server falls behind, batches wait for a connection, and that
    // wait is part of their latency (measured from when they were due, so a slow server
    // cannot hide behind a slowed-down load).
    for _ in 0..args.connections {
        let (client, url, key, run_id) = (client.clone(), url.clone(), args.key.clone(), run_id.clone());
        let (latencies, failures, sent, collectors, pieces, schedule, next) = (
            latencies.clone(),
            failures.clone(),
            sent.clone(),
            collectors.clone(),
            pieces.clone(),
            schedule.clone(),
            next.clone(),
        );
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(&Due { at, conference, collector, batch }) = schedule.get(i) else { break };
                let due = started + Duration::from_secs_f64(at);
                tokio::time::sleep_until(due.into()).await;
                let to = format!("\"conference\":\"load-{run_id}-{conference}\"");
                let body = pieces[collector][batch].join(&to);
                let (_, _, reports, objects) = collectors[collector][batch];
                let resp = client
                    .post(format!("{url}/v1/observations"))
                    .bearer_auth(&key)
                    .header("Idempotency-Key", format!("{to}-{collector}-{batch}"))
                    .body(body)
                    .send()
                    .await;
                let ok = matches!(&resp, Ok(r) if r.status().is_success());
                let why = match resp {
                    Ok(r) if ok => {
                        // Read the answer so the connection is free for the next batch.
                        let _ = r.bytes().await;
                        None
                    }
                    Ok(r) => Some(format!("{} {}", r.status(), r.text().await.unwrap_or_default())),
                    Err(e) => Some(e.to_string()),
                };
                let ms = due.elapsed().as_secs_f64() * 1000.0;
                if let Ok(mut l) = latencies.lock() {
                    l.push(ms);
                }
                if let Ok(mut n) = sent.lock() {
                    n.0 += 1;
                    if ok {
                        n.1 += 1;
                        n.2 += reports;
                        n.3 += objects;
                    }
                }
                if let Some(why) = why
                    && let Ok(mut f) = failures.lock()
                {
                    f.push(why);
                }
            }
        }));
    }
    let total_bytes: usize = collectors.iter().flatten().map(|b| b.1.len()).sum::<usize>() * args.conferences;
    for t in tasks {
        let _ = t.await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let after = scrape(&client, &url).await;
    let mut lat = latencies.lock().map(|l| l.clone()).unwrap_or_default();
    lat.sort_by(f64::total_cmp);
    let (requests, accepted, reports, objects) = sent.lock().map(|n| *n).unwrap_or_default();
    let failures = failures.lock().map(|f| f.clone()).unwrap_or_default();
    let server = match (before, after) {
        (Some(b), Some(a)) => {
            let get = |m: &std::collections::HashMap<String, f64>, k: &str| m.get(k).copied().unwrap_or(0.0);
            let reads = |m: &std::collections::HashMap<String, f64>, how: &str| {
                get(m, &format!("hopscope_live_reads_total{{read=\"{how}\"}}"))
            };
            let evaluations =
                get(&a, "hopscope_evaluation_seconds_count") - get(&b, "hopscope_evaluation_seconds_count");
            let eval_s =
                get(&a, "hopscope_evaluation_seconds_sum") - get(&b, "hopscope_evaluation_seconds_sum");
            let live = get(&a, "hopscope_live_conferences");
            let (rb, ra) =
                (get(&b, "hopscope_process_resident_bytes"), get(&a, "hopscope_process_resident_bytes"));
            Some(ServerFigures {
                evaluations,
                evaluation_ms_mean: if evaluations > 0.0 { eval_s / evaluations * 1000.0 } else { 0.0 },
                evaluation_lag_s: get(&a, "hopscope_evaluation_lag_seconds"),
                live_conferences: live,
                resident_mib_before: rb / 1048576.0,
                resident_mib_after: ra / 1048576.0,
                resident_kib_per_live_conference: if live > 0.0 { (ra - rb) / live / 1024.0 } else { 0.0 },
                reads_continued: reads(&a, "continued") - reads(&b, "continued"),
                reads_from_start: ["started", "whole"].iter().map(|r| reads(&a, r) - reads(&b, r)).sum(),
                read_kept_mib: get(&a, "hopscope_live_read_kept_bytes") / 1048576.0,
            })
        }
        _ => None,
    };
    Ok(Report {
        conferences: args.conferences,
        duration_s: elapsed,
        requests,
        accepted,
        failed: requests - accepted,
        failures,
        reports_sent: reports,
        stats_objects_sent: objects,
        reports_per_s: reports as f64 / elapsed,
        stats_objects_per_s: objects as f64 / elapsed,
        megabytes_per_s: total_bytes as f64 / elapsed / 1e6,
        latency_ms_p50: percentile(&lat, 0.50),
        latency_ms_p95: percentile(&lat, 0.95),
        latency_ms_p99: percentile(&lat, 0.99),
        latency_ms_max: lat.last().copied().unwrap_or(0.0),
        server,
    })
}
