//! Audio jitter-buffer stress: a received audio stream whose jitter buffer swells well past
//! its own calm depth (the 20th percentile of the call, so a storm covering most of the call
//! still stands out) and stays there. The built-in `audio-jitter-buffer-delay` rule fires
//! on an absolute 500 ms; this plugin compares each stream with itself, so it catches a
//! buffer that triples from 40 ms to 150 ms (the listener hears the delay and the
//! time-stretching) long before an absolute threshold would.

use hopscope_plugin_sdk::*;

const RULE: &str = "audio-jitter-buffer-stress";
const VERSION: u32 = 1;
/// Stress is a buffer at least this many times its calm depth ...
const RATIO: f64 = 2.0;
/// ... and at least this deep, ms: below it nobody hears the difference.
const FLOOR_MS: f64 = 100.0;
/// The calm depth: this quantile of the stream's active ticks.
const CALM_QUANTILE: f64 = 0.2;
/// Held at least this long, ms (one late burst is what a jitter buffer is for).
const HOLD_MS: f64 = 5_000.0;
/// From this depth on, the finding is an error rather than a warning, ms.
const SEVERE_MS: f64 = 400.0;

struct JitterBufferStress;

impl Plugin for JitterBufferStress {
    fn manifest() -> Manifest {
        Manifest {
            name: "jitter-buffer-stress".into(),
            version: "0.1.0".into(),
            rules: vec![RuleInfo {
                id: RULE.into(),
                version: VERSION,
                description: "A received audio stream's jitter buffer swells to twice its calm depth (at least 100 ms) for 5 s or more".into(),
            }],
            // Each stream's deepest buffer picks the few worth a look; only those streams'
            // values are read, not every value of thousands of streams.
            metrics: vec![],
            on_request: vec!["stream.jitter_buffer_ms".into(), "stream.active".into()],
            capabilities: vec![],
            // A 50-person SFU call is 5000 streams: the stream table and a summary are about
            // 0.3 MiB, and a storm may single out thousands of streams to read.
            budget: Budget { fuel: 200_000_000, memory_bytes: 32 << 20, wall_ms: 250 },
        }
    }

    fn evaluate(c: &Conference) -> Result<Vec<Finding>, String> {
        let mut findings = Vec::new();
        let end = c.end_ms();
        let Some(deepest) = c.stream_summary("jitter_buffer_ms") else {
            return Ok(findings);
        };
        for s in c.streams() {
            let index = s.index as usize;
            if s.direction != Direction::Inbound || s.kind != Some(MediaKind::Audio) {
                continue;
            }
            // Stress needs a tick at the floor at least, whatever the calm depth: most
            // streams of a healthy call stop here, before their values are even read.
            if deepest.highest_of(index).is_none_or(|d| d < FLOOR_MS) {
                continue;
            }
            let (Some(depth), Some(flowing)) =
                (c.stream_series(index, "jitter_buffer_ms"), c.stream_series(index, "active"))
            else {
                continue;
            };
            if !depth.iter().zip(&flowing).any(|(&v, &a)| a == 1.0 && v >= FLOOR_MS) {
                continue;
            }
            // Only ticks with media: a paused stream's buffer says nothing.
            let active: Vec<f64> =
                depth.iter().zip(&flowing).map(|(&v, &a)| if a == 1.0 { v } else { f64::NAN }).collect();
            let Some(calm) = percentile(&active, CALM_QUANTILE) else { continue };
            let threshold = (calm * RATIO).max(FLOOR_MS);
            for run in runs(&active, |v| v >= threshold) {
                let (Some(&from), Some(&to)) = (c.ticks_ms.get(run.first), c.ticks_ms.get(run.last)) else {
                    continue;
                };
                // A tick stands for the interval that ends at it.
                let step = if run.first > 0 { from - c.ticks_ms[run.first - 1] } else { 1000.0 };
                let held = to - from + step;
                if held < HOLD_MS {
                    continue;
                }
                let raised = (from - step + HOLD_MS).min(to);
                let participant = c.participant_id(s.participant);
                let sender = c.sender_id(&s).unwrap_or("the other side");
                findings.push(Finding {
                    rule: RULE.into(),
                    version: VERSION,
                    severity: if run.worst >= SEVERE_MS { Severity::Error } else { Severity::Warning },
                    category: Category::Jitter,
                    subject: Subject::Stream(s.index),
                    raised_ms: raised,
                    cleared_ms: (to < end).then_some(to),
                    evidence: vec![Evidence {
                        metric: "jitter_buffer_ms".into(),
                        value: Value::Number(run.worst),
                        unit: "ms".into(),
                        at_ms: c.ticks_ms.get(run.worst_tick).copied().unwrap_or(to),
                    }],
                    message: format!(
                        "{participant}'s jitter buffer for audio from {sender} swelled to {:.0} ms, {:.1}x its calm {:.0} ms ({})",
                        run.worst,
                        run.worst / calm.max(1.0),
                        calm,
                        duration_text(held / 1000.0)
                    ),
                    actions: vec![],
                });
            }
        }
        Ok(findings)
    }
}

export_plugin!(JitterBufferStress);
