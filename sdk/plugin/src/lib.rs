//! The hopscope plugin SDK: write a diagnostic plugin as one [`Plugin`] impl, export it
//! with [`export_plugin!`], build it for `wasm32-wasip2`.
//!
//! ```ignore
//! use hopscope_plugin_sdk::*;
//!
//! struct MyPlugin;
//! impl Plugin for MyPlugin {
//!     fn manifest() -> Manifest { ... }
//!     fn evaluate(c: &Conference) -> Result<Vec<Finding>, String> { ... }
//! }
//! export_plugin!(MyPlugin);
//! ```
//!
//! The world is pure: a plugin sees the conference it is handed, logs through the host,
//! and reads the logical evaluation time. No files, no network, no clock, no randomness
//! (so prefer `BTreeMap` to `HashMap`, whose seed needs randomness).

#![forbid(unsafe_code)]

#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "plugin",
        pub_export_macro: true,
        export_macro_name: "export_raw",
        default_bindings_module: "hopscope_plugin_sdk::bindings",
    });
}

pub use bindings::hopscope::plugin::host::now;
pub use bindings::hopscope::plugin::types::*;

/// What a plugin author implements.
pub trait Plugin {
    /// Who the plugin is, what rules it provides, what it reads and what it may use.
    fn manifest() -> Manifest;
    /// Findings for one conference. An `Err` is reported as the plugin's failure.
    fn evaluate(conference: &Conference) -> Result<Vec<Finding>, String>;
}

/// Exports a [`Plugin`] as the component's `describe` and `evaluate`.
#[macro_export]
macro_rules! export_plugin {
    ($plugin:ty) => {
        struct __HopscopeExport;
        impl $crate::bindings::Guest for __HopscopeExport {
            fn describe() -> $crate::Manifest {
                $crate::install_panic_hook();
                <$plugin as $crate::Plugin>::manifest()
            }
            fn evaluate(conference: $crate::Conference) -> Result<Vec<$crate::Finding>, String> {
                $crate::install_panic_hook();
                <$plugin as $crate::Plugin>::evaluate(&conference)
            }
        }
        $crate::bindings::export_raw!(__HopscopeExport with_types_in $crate::bindings);
    };
}

/// Sends panic messages to the host's log instead of stderr, which the sandbox does not
/// have: the host then reports the message with the trap.
pub fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            bindings::hopscope::plugin::host::log(LogLevel::Error, &format!("panicked: {info}"));
        }))
    });
}

/// Logging through the host (capped per evaluation: keep it for what matters).
pub mod log {
    use super::LogLevel;
    use super::bindings::hopscope::plugin::host::log;

    /// A debug line.
    pub fn debug(message: &str) {
        log(LogLevel::Debug, message)
    }
    /// An informational line.
    pub fn info(message: &str) {
        log(LogLevel::Info, message)
    }
    /// A warning.
    pub fn warn(message: &str) {
        log(LogLevel::Warn, message)
    }
    /// An error.
    pub fn error(message: &str) {
        log(LogLevel::Error, message)
    }
}

impl Metrics {
    /// A numeric metric's values per tick (NaN where unknown), if the manifest asked for it.
    pub fn number(&self, metric: &str) -> Option<&[f64]> {
        self.numbers.iter().find(|s| s.metric == metric).map(|s| s.values.as_slice())
    }

    /// A text metric's values per tick, if the manifest asked for it.
    pub fn text(&self, metric: &str) -> Option<&[Option<String>]> {
        self.texts.iter().find(|s| s.metric == metric).map(|s| s.values.as_slice())
    }

    /// A yes/no metric at a tick: `None` when unknown.
    pub fn flag(&self, metric: &str, tick: usize) -> Option<bool> {
        let v = *self.number(metric)?.get(tick)?;
        (!v.is_nan()).then_some(v != 0.0)
    }
}

/// Which way a stream goes, seen from its endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Received.
    Inbound,
    /// Sent.
    Outbound,
}

/// Audio or video.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MediaKind {
    /// Audio.
    Audio,
    /// Video.
    Video,
}

/// One stream, read from the conference's columns (`conference.streams`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stream {
    /// Its index: the subject of a finding about it, and where its metric values sit.
    pub index: u32,
    /// Index into `conference.participants`.
    pub participant: u32,
    /// Index into `conference.peer_connections`.
    pub peer_connection: u32,
    /// Received or sent.
    pub direction: Direction,
    /// Audio or video, when known.
    pub kind: Option<MediaKind>,
    /// The SSRC, when known.
    pub ssrc: Option<u32>,
    /// Index into `conference.codecs`, when known.
    pub codec: Option<u32>,
    /// For received streams: who sent it (index into `conference.participants`), when the
    /// conference holds the sender's data.
    pub sender: Option<u32>,
}

/// One numeric stream metric for every stream (see [`Conference::stream_numbers`]).
#[derive(Clone, Copy, Debug)]
pub struct StreamNumbers<'c> {
    values: &'c [f64],
    ticks: usize,
}

impl<'c> StreamNumbers<'c> {
    /// Stream `index`'s values per tick, if there is such a stream.
    pub fn of(&self, index: usize) -> Option<&'c [f64]> {
        self.values.get(index.checked_mul(self.ticks)?..(index + 1).checked_mul(self.ticks)?)
    }
}

impl StreamSummary {
    /// Stream `index`'s highest value over the call, if it had any.
    pub fn highest_of(&self, index: usize) -> Option<f64> {
        self.highest.get(index).copied().filter(|v| !v.is_nan())
    }

    /// Stream `index`'s lowest value over the call, if it had any.
    pub fn lowest_of(&self, index: usize) -> Option<f64> {
        self.lowest.get(index).copied().filter(|v| !v.is_nan())
    }
}

/// "None" in the u32 columns.
const NONE: u32 = u32::MAX;

impl Conference {
    /// How many streams the conference holds (none unless the manifest reads a stream
    /// metric).
    pub fn stream_count(&self) -> usize {
        self.streams.participant.len()
    }

    /// Stream `index`, if there is one.
    pub fn stream(&self, index: usize) -> Option<Stream> {
        let t = &self.streams;
        let some = |v: u32| (v != NONE).then_some(v);
        Some(Stream {
            index: u32::try_from(index).ok()?,
            participant: *t.participant.get(index)?,
            peer_connection: *t.peer_connection.get(index)?,
            direction: if *t.direction.get(index)? == 0 { Direction::Inbound } else { Direction::Outbound },
            kind: match t.kind.get(index)? {
                1 => Some(MediaKind::Audio),
                2 => Some(MediaKind::Video),
                _ => None,
            },
            ssrc: u32::try_from(*t.ssrc.get(index)?).ok(),
            codec: some(*t.codec.get(index)?),
            sender: some(*t.sender.get(index)?),
        })
    }

    /// Every stream, in index order.
    pub fn streams(&self) -> impl Iterator<Item = Stream> + '_ {
        (0..self.stream_count()).map_while(|i| self.stream(i))
    }

    /// A stream's values of a numeric metric per tick (a slice of the metric's column), if
    /// the manifest asked for it.
    pub fn stream_number(&self, stream: usize, metric: &str) -> Option<&[f64]> {
        let ticks = self.ticks_ms.len();
        self.stream_metrics.number(metric)?.get(stream * ticks..(stream + 1) * ticks)
    }

    /// A numeric stream metric's whole column, to read stream after stream without
    /// looking the metric up by name each time (what a loop over thousands of streams
    /// would otherwise spend most of its fuel on).
    pub fn stream_numbers(&self, metric: &str) -> Option<StreamNumbers<'_>> {
        Some(StreamNumbers { values: self.stream_metrics.number(metric)?, ticks: self.ticks_ms.len() })
    }

    /// Every stream's highest and lowest value of a stream metric the manifest lists under
    /// `on_request` (or `metrics`), asked of the host: pick the streams worth a closer
    /// look from it, then read their values with [`stream_series`](Self::stream_series).
    pub fn stream_summary(&self, metric: &str) -> Option<StreamSummary> {
        bindings::hopscope::plugin::host::summarise_streams(metric)
    }

    /// One stream's values of such a metric per tick, asked of the host; `None` for any
    /// other metric or stream. Each call costs fuel for the values it reads: read the
    /// streams a summary singles out, not all of them (receiving the metric whole under
    /// `metrics` is cheaper for that).
    pub fn stream_series(&self, stream: usize, metric: &str) -> Option<Vec<f64>> {
        bindings::hopscope::plugin::host::stream_series(metric, u32::try_from(stream).ok()?)
    }

    /// A stream's values of a text metric per tick, if the manifest asked for it.
    pub fn stream_text(&self, stream: usize, metric: &str) -> Option<&[Option<String>]> {
        let ticks = self.ticks_ms.len();
        self.stream_metrics.text(metric)?.get(stream * ticks..(stream + 1) * ticks)
    }

    /// The participant's id.
    pub fn participant_id(&self, index: u32) -> &str {
        self.participants.get(index as usize).map_or("?", |p| p.id.as_str())
    }

    /// The id of who sent a received stream, when the conference holds their data.
    pub fn sender_id(&self, stream: &Stream) -> Option<&str> {
        stream.sender.map(|i| self.participant_id(i))
    }

    /// The codec a stream names (`audio/opus`, ...), when known.
    pub fn codec(&self, stream: &Stream) -> Option<&str> {
        stream.codec.and_then(|i| self.codecs.get(i as usize)).map(String::as_str)
    }

    /// The logical evaluation time, ms.
    pub fn end_ms(&self) -> f64 {
        self.ticks_ms.last().copied().unwrap_or(0.0)
    }
}

/// A stretch of consecutive ticks in which a condition held.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Run {
    /// First tick.
    pub first: usize,
    /// Last tick (inclusive).
    pub last: usize,
    /// Tick of the worst value.
    pub worst_tick: usize,
    /// The worst value.
    pub worst: f64,
}

impl Run {
    /// Ticks in the run.
    pub fn len(&self) -> usize {
        self.last - self.first + 1
    }

    /// Never empty; here for clippy's `len_without_is_empty`.
    pub fn is_empty(&self) -> bool {
        false
    }
}

/// Stretches where `holds(value)` is true for a known value; unknown values end a stretch
/// (an unknown never raises). The worst value is the highest.
pub fn runs(values: &[f64], holds: impl Fn(f64) -> bool) -> Vec<Run> {
    let mut out = Vec::new();
    let mut current: Option<Run> = None;
    for (t, &v) in values.iter().enumerate() {
        if !v.is_nan() && holds(v) {
            let r = current.get_or_insert(Run { first: t, last: t, worst_tick: t, worst: v });
            r.last = t;
            if v > r.worst {
                r.worst = v;
                r.worst_tick = t;
            }
        } else if let Some(r) = current.take() {
            out.push(r);
        }
    }
    out.extend(current);
    out
}

/// The median of the known values, if any.
pub fn median(values: &[f64]) -> Option<f64> {
    percentile(values, 0.5)
}

/// The `p` quantile (0 to 1) of the known values, interpolated; `None` when nothing is known.
pub fn percentile(values: &[f64], p: f64) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let rank = p.clamp(0.0, 1.0) * (v.len() - 1) as f64;
    let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
    Some(v[lo] + (v[hi] - v[lo]) * (rank - lo as f64))
}

/// The mean of the known values, if any.
pub fn mean(values: &[f64]) -> Option<f64> {
    let known: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
    (!known.is_empty()).then(|| known.iter().sum::<f64>() / known.len() as f64)
}

/// A number of seconds as findings word it: `12 s`, `2 min 5 s`.
pub fn duration_text(seconds: f64) -> String {
    let s = seconds.round().max(0.0) as u64;
    if s < 60 {
        format!("{s} s")
    } else if s % 60 == 0 {
        format!("{} min", s / 60)
    } else {
        format!("{} min {} s", s / 60, s % 60)
    }
}
