//! The server's own health, in Prometheus text format at `/metrics`.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

type Labels = Vec<(String, String)>;

/// Every metric the server keeps.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Ingest requests by result (stored, duplicate, rejected, throttled).
    pub batches: Family<Labels, Counter>,
    /// Observations stored.
    pub observations: Counter,
    /// Ingest request latency (checks + durable commit), seconds.
    pub ingest_seconds: Histogram,
    /// Ingest requests being processed.
    pub ingest_in_flight: Gauge,
    /// Conference evaluation latency, seconds.
    pub evaluation_seconds: Histogram,
    /// Evaluations that failed.
    pub evaluation_errors: Counter,
    /// Evaluations waiting for a worker.
    pub evaluations_queued: Gauge,
    /// Conferences receiving data.
    pub live_conferences: Gauge,
    /// How long the oldest data not yet in a live evaluation has waited, seconds: how far
    /// behind live views are (0 when every live conference is evaluated up to date).
    pub evaluation_lag_seconds: Gauge<f64, AtomicU64>,
    /// Live evaluations by how they read the conference: `continued` (only what arrived
    /// since the last, the rest kept), `started` (from the start, now kept), `whole` (from
    /// the start, not kept: over the read budget, or the conference ended).
    pub live_reads: Family<Labels, Counter>,
    /// Bytes kept of what live evaluations have read (bounded by `live_read_cache_mib`).
    pub live_read_kept_bytes: Gauge,
    /// Rule files that failed to load (the previous good set stays in use).
    pub rule_errors: Counter,
    /// The process's resident memory, bytes (read at each scrape).
    pub resident_bytes: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("hopscope");
        let batches = Family::<Labels, Counter>::default();
        let observations = Counter::default();
        let ingest_seconds = Histogram::new(exponential_buckets(0.0005, 2.0, 14));
        let ingest_in_flight = Gauge::default();
        let evaluation_seconds = Histogram::new(exponential_buckets(0.001, 2.0, 16));
        let evaluation_errors = Counter::default();
        let evaluations_queued = Gauge::default();
        let live_conferences = Gauge::default();
        let evaluation_lag_seconds = Gauge::<f64, AtomicU64>::default();
        let rule_errors = Counter::default();
        let live_reads = Family::<Labels, Counter>::default();
        let live_read_kept_bytes = Gauge::default();
        let resident_bytes = Gauge::default();
        registry.register(
            "process_resident_bytes",
            "Resident memory of the server process",
            resident_bytes.clone(),
        );
        registry.register("ingest_batches", "Ingest requests by result", batches.clone());
        registry.register("ingest_observations", "Observations stored", observations.clone());
        registry.register(
            "ingest_seconds",
            "Ingest latency including the durable commit",
            ingest_seconds.clone(),
        );
        registry.register("ingest_in_flight", "Ingest requests being processed", ingest_in_flight.clone());
        registry.register("evaluation_seconds", "Time to evaluate a conference", evaluation_seconds.clone());
        registry.register("evaluation_errors", "Evaluations that failed", evaluation_errors.clone());
        registry.register(
            "evaluations_queued",
            "Evaluations waiting for a worker",
            evaluations_queued.clone(),
        );
        registry.register("live_conferences", "Conferences receiving data", live_conferences.clone());
        registry.register(
            "evaluation_lag_seconds",
            "How long the oldest data not yet in a live evaluation has waited",
            evaluation_lag_seconds.clone(),
        );
        registry.register(
            "live_reads",
            "Live evaluations by how they read the conference (continued, started, whole)",
            live_reads.clone(),
        );
        registry.register(
            "live_read_kept_bytes",
            "Memory kept of what live evaluations have read, bytes",
            live_read_kept_bytes.clone(),
        );
        registry.register(
            "rule_errors",
            "Rule files that failed to load, and scripts or plugins that failed on a conference",
            rule_errors.clone(),
        );
        Metrics {
            registry,
            batches,
            observations,
            ingest_seconds,
            ingest_in_flight,
            evaluation_seconds,
            evaluation_errors,
            evaluations_queued,
            live_conferences,
            evaluation_lag_seconds,
            live_reads,
            live_read_kept_bytes,
            rule_errors,
            resident_bytes,
        }
    }
}

impl Metrics {
    /// Counts an ingest request's result.
    pub fn batch(&self, result: &str) {
        self.batches.get_or_create(&vec![("result".to_string(), result.to_string())]).inc();
    }

    /// Counts how a live evaluation read its conference.
    pub fn live_read(&self, how: &str) {
        self.live_reads.get_or_create(&vec![("read".to_string(), how.to_string())]).inc();
    }

    /// The exposition text.
    pub fn render(&self) -> String {
        if let Some(bytes) = resident_bytes() {
            self.resident_bytes.set(bytes);
        }
        let mut out = String::new();
        if encode(&mut out, &self.registry).is_err() {
            tracing::error!("metrics could not be encoded");
        }
        out
    }
}

/// VmRSS of this process (Linux); `None` elsewhere.
fn resident_bytes() -> Option<i64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: i64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
